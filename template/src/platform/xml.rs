//! XML bodies (PROC-04), read in one pass over quick-xml's pull reader
//! straight into any serde type: the root element is the value, its child
//! elements are fields, an element's text is a scalar.
//!
//! Every DOCTYPE is refused, so no entity can be declared, fetched or
//! expanded: only XML's five predefined entities and character references
//! are resolved. Nesting is bounded, and the body's size is bounded before it
//! gets here. quick-xml's own serde layer accepts a DOCTYPE silently and
//! needed a second pass for these checks; this reader is one pass, more than
//! twice as fast (BENCHMARKS.md, item 3).
use std::{borrow::Cow, fmt};

use quick_xml::{
    Reader,
    escape::resolve_predefined_entity,
    events::{BytesRef, BytesStart, BytesText, Event},
};
use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, MapAccess, Visitor};

use crate::error::ApiError;

/// Deepest element nesting accepted; orders need two levels.
pub const MAX_DEPTH: usize = 8;

/// Parses `body` into `T`: 400 for XML that is malformed or refused, 422 for
/// XML that does not fit `T`.
pub fn from_str<T: DeserializeOwned>(body: &str) -> Result<T, ApiError> {
    let mut document = Document {
        reader: Reader::from_str(body),
        depth: 0,
    };
    let parsed = document
        .root()
        .and_then(|root| T::deserialize(root))
        .and_then(|value| document.end().map(|()| value));
    parsed.map_err(|error| match error {
        Error::Refused(detail) => ApiError::BadRequest(detail),
        Error::Invalid(detail) => ApiError::Invalid(format!("invalid XML body: {detail}")),
    })
}

#[derive(Debug)]
enum Error {
    /// Not well-formed, or refused whatever the target type: 400.
    Refused(String),
    /// Well-formed, but not what the target type expects: 422.
    Invalid(String),
}

impl de::Error for Error {
    fn custom<T: fmt::Display>(message: T) -> Self {
        Self::Invalid(message.to_string())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Refused(detail) | Self::Invalid(detail) => f.write_str(detail),
        }
    }
}

impl std::error::Error for Error {}

fn malformed(error: impl fmt::Display) -> Error {
    Error::Refused(format!("malformed XML: {error}"))
}

fn invalid(detail: &str) -> Error {
    Error::Invalid(detail.to_owned())
}

/// The reader, with the checks every event goes through.
struct Document<'a> {
    reader: Reader<&'a [u8]>,
    depth: usize,
}

impl<'a> Document<'a> {
    fn next(&mut self) -> Result<Event<'a>, Error> {
        let event = self.reader.read_event().map_err(malformed)?;
        match &event {
            Event::DocType(_) => {
                tracing::warn!(event = "input.rejected", reason = "xml_doctype");
                return Err(Error::Refused("XML with a DOCTYPE is not accepted".into()));
            }
            Event::Start(_) => self.depth += 1,
            Event::End(_) => self.depth -= 1,
            _ => {}
        }
        let depth = self.depth + usize::from(matches!(event, Event::Empty(_)));
        if depth > MAX_DEPTH {
            return Err(Error::Refused(format!(
                "XML nested deeper than {MAX_DEPTH} levels is not accepted"
            )));
        }
        Ok(event)
    }

    /// Skips the prolog and opens the root element.
    fn root(&mut self) -> Result<Element<'_, 'a>, Error> {
        loop {
            match self.next()? {
                Event::Start(start) => return Element::open(self, &start, false),
                Event::Empty(start) => return Element::open(self, &start, true),
                Event::Text(text) if is_blank(&text) => {}
                Event::Decl(_) | Event::Comment(_) | Event::PI(_) => {}
                Event::Eof => return Err(Error::Refused("the XML body is empty".into())),
                _ => {
                    return Err(Error::Refused("XML must have one root element".into()));
                }
            }
        }
    }

    /// After the root element: nothing but blanks, comments and instructions.
    fn end(&mut self) -> Result<(), Error> {
        loop {
            match self.next()? {
                Event::Eof => return Ok(()),
                Event::Text(text) if is_blank(&text) => {}
                Event::Comment(_) | Event::PI(_) => {}
                _ => {
                    return Err(Error::Refused("XML must have one root element".into()));
                }
            }
        }
    }
}

/// XML's whitespace: space, tab, carriage return and line feed.
fn is_blank(text: &BytesText) -> bool {
    text.bytes()
        .all(|byte| matches!(byte, b' ' | b'\t' | b'\r' | b'\n'))
}

/// The text an entity or character reference stands for.
fn resolve(reference: &BytesRef) -> Result<Cow<'static, str>, Error> {
    if let Some(ch) = reference.resolve_char_ref().map_err(malformed)? {
        return Ok(Cow::Owned(ch.to_string()));
    }
    let entity = reference.xml10_content();
    resolve_predefined_entity(&entity)
        .map(Cow::Borrowed)
        .ok_or_else(|| Error::Refused(format!("XML entity &{entity}; is not defined")))
}

fn append<'a>(text: &mut Cow<'a, str>, more: Cow<'a, str>) {
    if text.is_empty() {
        *text = more;
    } else {
        text.to_mut().push_str(&more);
    }
}

/// Attributes have no field to go to; namespace declarations are allowed.
fn refuse_attributes(start: &BytesStart) -> Result<(), Error> {
    for attribute in start.attributes() {
        let attribute = attribute.map_err(malformed)?;
        if attribute.key.as_namespace_binding().is_none() {
            return Err(invalid("XML attributes are not accepted"));
        }
    }
    Ok(())
}

/// An element whose start tag has been read: the deserializer of one value.
struct Element<'d, 'a> {
    document: &'d mut Document<'a>,
    /// `<name/>`: no content and no end tag to read.
    empty: bool,
}

impl<'d, 'a> Element<'d, 'a> {
    fn open(
        document: &'d mut Document<'a>,
        start: &BytesStart,
        empty: bool,
    ) -> Result<Self, Error> {
        refuse_attributes(start)?;
        Ok(Self { document, empty })
    }

    /// The element's text up to its end tag, references resolved.
    fn text(self) -> Result<Cow<'a, str>, Error> {
        let mut text = Cow::Borrowed("");
        if self.empty {
            return Ok(text);
        }
        loop {
            match self.document.next()? {
                Event::Text(more) => append(&mut text, more.xml10_content()),
                Event::CData(more) => append(&mut text, more.xml10_content()),
                Event::GeneralRef(reference) => text.to_mut().push_str(&resolve(&reference)?),
                Event::Comment(_) | Event::PI(_) => {}
                Event::End(_) => return Ok(text),
                Event::Start(_) | Event::Empty(_) => {
                    return Err(invalid("expected text, found an element"));
                }
                _ => return Err(malformed("unexpected end of the document")),
            }
        }
    }

    /// Reads past the element's end tag, whatever it holds.
    fn skip(self) -> Result<(), Error> {
        if self.empty {
            return Ok(());
        }
        let depth = self.document.depth;
        loop {
            match self.document.next()? {
                Event::End(_) if self.document.depth < depth => return Ok(()),
                Event::Eof => return Err(malformed("unexpected end of the document")),
                _ => {}
            }
        }
    }

    fn parse<T: std::str::FromStr>(self, expected: &str) -> Result<T, Error> {
        let text = self.text()?;
        text.trim()
            .parse()
            .map_err(|_| Error::Invalid(format!("expected {expected}")))
    }
}

macro_rules! numbers {
    ($($method:ident => $visit:ident: $type:ty, $expected:literal;)*) => {$(
        fn $method<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, Error> {
            visitor.$visit(self.parse::<$type>($expected)?)
        }
    )*};
}

macro_rules! unsupported {
    ($($method:ident($($arg:ty),*);)*) => {$(
        fn $method<V: Visitor<'a>>(self, $(_: $arg,)* _: V) -> Result<V::Value, Error> {
            Err(invalid("lists are not accepted in XML bodies"))
        }
    )*};
}

impl<'a> de::Deserializer<'a> for Element<'_, 'a> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_str<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.text()? {
            Cow::Borrowed(text) => visitor.visit_borrowed_str(text),
            Cow::Owned(text) => visitor.visit_string(text),
        }
    }

    fn deserialize_string<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_identifier<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_char<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_char(self.parse("one character")?)
    }

    fn deserialize_bytes<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_bytes(self.text()?.as_bytes())
    }

    fn deserialize_byte_buf<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_bool<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.text()?.trim() {
            "true" | "1" => visitor.visit_bool(true),
            "false" | "0" => visitor.visit_bool(false),
            _ => Err(invalid("expected true or false")),
        }
    }

    numbers! {
        deserialize_i8 => visit_i8: i8, "a whole number";
        deserialize_i16 => visit_i16: i16, "a whole number";
        deserialize_i32 => visit_i32: i32, "a whole number";
        deserialize_i64 => visit_i64: i64, "a whole number";
        deserialize_u8 => visit_u8: u8, "a whole number";
        deserialize_u16 => visit_u16: u16, "a whole number";
        deserialize_u32 => visit_u32: u32, "a whole number";
        deserialize_u64 => visit_u64: u64, "a whole number";
        deserialize_f32 => visit_f32: f32, "a number";
        deserialize_f64 => visit_f64: f64, "a number";
    }

    /// A present element is `Some`, even when empty; an absent one is `None`.
    fn deserialize_option<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_some(self)
    }

    fn deserialize_unit<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, Error> {
        if self.text()?.is_empty() {
            visitor.visit_unit()
        } else {
            Err(invalid("expected an empty element"))
        }
    }

    fn deserialize_unit_struct<V: Visitor<'a>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'a>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_map<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_map(Fields {
            document: self.document,
            open: !self.empty,
            child_empty: false,
        })
    }

    fn deserialize_struct<V: Visitor<'a>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_map(visitor)
    }

    /// Unit variants only, named by the element's text.
    fn deserialize_enum<V: Visitor<'a>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        let text: String = self.text()?.into_owned();
        visitor.visit_enum(text.into_deserializer())
    }

    fn deserialize_ignored_any<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, Error> {
        self.skip()?;
        visitor.visit_unit()
    }

    unsupported! {
        deserialize_seq();
        deserialize_tuple(usize);
        deserialize_tuple_struct(&'static str, usize);
    }
}

/// The child elements of a struct or map, one field each.
struct Fields<'d, 'a> {
    document: &'d mut Document<'a>,
    /// Until the end tag of the parent has been read.
    open: bool,
    child_empty: bool,
}

impl<'a> MapAccess<'a> for Fields<'_, 'a> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'a>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        while self.open {
            let (start, empty) = match self.document.next()? {
                Event::Start(start) => (start, false),
                Event::Empty(start) => (start, true),
                Event::End(_) => {
                    self.open = false;
                    break;
                }
                Event::Text(text) if is_blank(&text) => continue,
                Event::Comment(_) | Event::PI(_) => continue,
                Event::Eof => return Err(malformed("unexpected end of the document")),
                _ => return Err(invalid("expected elements, found text")),
            };
            refuse_attributes(&start)?;
            self.child_empty = empty;
            // The field is the element's name without its namespace prefix.
            let field = start.local_name().into_inner();
            return seed.deserialize(field.into_deserializer()).map(Some);
        }
        Ok(None)
    }

    fn next_value_seed<V: DeserializeSeed<'a>>(&mut self, seed: V) -> Result<V::Value, Error> {
        seed.deserialize(Element {
            document: self.document,
            empty: self.child_empty,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Order {
        item: String,
        quantity: Option<u32>,
        gift: Option<bool>,
        to: Option<Address>,
    }

    #[derive(Debug, PartialEq, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Address {
        city: String,
    }

    fn is_refused(body: &str) -> bool {
        matches!(from_str::<Order>(body), Err(ApiError::BadRequest(_)))
    }

    fn is_invalid(body: &str) -> bool {
        matches!(from_str::<Order>(body), Err(ApiError::Invalid(_)))
    }

    // PROC-04: an XXE payload is refused before any entity could be resolved.
    #[test]
    fn proc_04_doctype_refused() {
        let xxe = r#"<?xml version="1.0"?><!DOCTYPE o [<!ENTITY x SYSTEM "file:///etc/passwd">]><order><item>&x;</item></order>"#;
        assert!(is_refused(xxe));
        let unused = r#"<!DOCTYPE o [<!ENTITY x "y">]><order><item>a</item></order>"#;
        assert!(is_refused(unused));
        assert!(
            is_refused("<order><item>&x;</item></order>"),
            "undeclared entity"
        );
    }

    // PROC-04: nesting depth is bounded, for open and for empty elements,
    // even where a type would skip what it does not know.
    #[test]
    fn proc_04_depth_bounded() {
        #[derive(serde::Deserialize)]
        struct Lenient {}
        let is_refused =
            |body: &str| matches!(from_str::<Lenient>(body), Err(ApiError::BadRequest(_)));
        let nested = |depth: usize, inner: &str| {
            format!("{}{inner}{}", "<a>".repeat(depth), "</a>".repeat(depth))
        };
        assert!(from_str::<Lenient>(&nested(MAX_DEPTH, "")).is_ok());
        assert!(is_refused(&nested(MAX_DEPTH + 1, "")));
        assert!(from_str::<Lenient>(&nested(MAX_DEPTH - 1, "<a/>")).is_ok());
        assert!(is_refused(&nested(MAX_DEPTH, "<a/>")));
    }

    #[test]
    fn fields_scalars_and_nested_structs_parse() {
        let body = "<?xml version=\"1.0\"?>\n<order xmlns=\"urn:example\">\n  <item>fish &amp; chips &#233;<![CDATA[ <raw> ]]></item>\n  <quantity> 3 </quantity>\n  <gift>true</gift>\n  <to><city>Ghent</city></to>\n</order>\n<!-- done -->";
        let order: Order = from_str(body).unwrap();
        assert_eq!(
            order,
            Order {
                item: "fish & chips \u{e9} <raw> ".into(),
                quantity: Some(3),
                gift: Some(true),
                to: Some(Address {
                    city: "Ghent".into()
                }),
            }
        );
        let minimal: Order = from_str("<order><item/></order>").unwrap();
        assert_eq!((minimal.item.as_str(), minimal.quantity), ("", None));
    }

    #[test]
    fn documents_that_do_not_fit_are_invalid() {
        assert!(is_invalid("<order><item>x</item><price>1</price></order>"));
        assert!(
            is_invalid("<order><quantity>1</quantity></order>"),
            "missing item"
        );
        assert!(is_invalid(
            "<order><item>x</item><quantity>three</quantity></order>"
        ));
        assert!(is_invalid(
            "<order><item>x</item><quantity>-1</quantity></order>"
        ));
        assert!(is_invalid("<order><item><b>x</b></item></order>"));
        assert!(is_invalid("<order>text<item>x</item></order>"));
        assert!(is_invalid(r#"<order id="1"><item>x</item></order>"#));
        assert!(
            is_invalid("<order><item>x</item><item>y</item></order>"),
            "duplicate"
        );
    }

    #[test]
    fn malformed_documents_are_refused() {
        assert!(is_refused(""));
        assert!(is_refused("<order><item>x</item>"));
        assert!(is_refused("<order><item>x</order></item>"));
        assert!(is_refused("<order><item>x</item></order><order/>"));
        assert!(is_refused("text<order><item>x</item></order>"));
    }
}

#[cfg(test)]
mod proptests {
    use proptest::prelude::*;

    use super::*;

    #[derive(Debug, PartialEq, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Order {
        item: String,
        quantity: Option<u32>,
        to: Option<Address>,
    }

    #[derive(Debug, PartialEq, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Address {
        city: String,
    }

    /// Only the outcomes `from_str` promises: a value, a 400 or a 422.
    fn parse(body: &str) -> Result<Option<Order>, TestCaseError> {
        match from_str::<Order>(body) {
            Ok(order) => Ok(Some(order)),
            Err(ApiError::BadRequest(_) | ApiError::Invalid(_)) => Ok(None),
            Err(other) => Err(TestCaseError::fail(format!("{other:?} for {body:?}"))),
        }
    }

    /// Text as XML character data; a carriage return as a reference, since
    /// XML turns a bare one into a line feed.
    fn escape(text: &str) -> String {
        text.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('\r', "&#13;")
    }

    /// Pieces of markup, well-formed or not, to build documents from.
    fn markup() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            Just("<order>".to_owned()),
            Just("</order>".to_owned()),
            Just("<item>".to_owned()),
            Just("</item>".to_owned()),
            Just("<quantity>7</quantity>".to_owned()),
            Just("<to><city>c</city></to>".to_owned()),
            Just("<a/>".to_owned()),
            Just("<!DOCTYPE order [<!ENTITY x \"y\">]>".to_owned()),
            Just("&x;".to_owned()),
            Just("&#x110000;".to_owned()),
            Just("&amp;".to_owned()),
            Just("<![CDATA[".to_owned()),
            Just("]]>".to_owned()),
            Just("<!--".to_owned()),
            Just("-->".to_owned()),
            Just("<?xml version=\"1.0\"?>".to_owned()),
            Just("<?pi x?>".to_owned()),
            Just(" id=\"1\"".to_owned()),
            "[a-z <>&;/\"'=!?-]{0,6}",
        ];
        proptest::collection::vec(piece, 0..16).prop_map(|pieces| pieces.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(384))]

        // PROC-04: any text, and any jumble of markup, is parsed, refused
        // (400) or found unfit (422): nothing else, and never a panic. A
        // DOCTYPE is never accepted.
        #[test]
        fn proc_04_any_body_is_parsed_or_refused(text in any::<String>(), jumble in markup()) {
            parse(&text)?;
            let parsed = parse(&jumble)?;
            prop_assert!(parsed.is_none() || !jumble.contains("<!DOCTYPE"), "{jumble}");
        }

        // PROC-04: any item text, escaped, parses back to exactly itself.
        #[test]
        fn proc_04_escaped_text_round_trips(
            item in any::<String>().prop_filter("XML 1.0 characters", |s| {
                s.chars().all(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r'))
                    && !s.contains(['\u{fffe}', '\u{ffff}'])
            }),
            quantity in any::<Option<u32>>(),
        ) {
            let quantity_xml = quantity.map(|q| format!("<quantity>{q}</quantity>")).unwrap_or_default();
            let body = format!("<order><item>{}</item>{quantity_xml}</order>", escape(&item));
            let order = parse(&body)?;
            prop_assert_eq!(order, Some(Order { item, quantity, to: None }));
        }

        // PROC-04: nesting beyond MAX_DEPTH is refused, whatever the names.
        #[test]
        fn proc_04_depth_is_bounded(depth in 1..20usize, name in "[a-z]{1,3}") {
            let body = format!("{}{}", format!("<{name}>").repeat(depth), format!("</{name}>").repeat(depth));
            let refused = matches!(from_str::<serde::de::IgnoredAny>(&body), Err(ApiError::BadRequest(_)));
            prop_assert_eq!(refused, depth > MAX_DEPTH);
        }
    }
}
