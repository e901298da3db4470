//! XML bodies (PROC-04). quick-xml's serde layer never fetches external
//! entities, but it silently accepts a DOCTYPE and parameter entities, so
//! every DOCTYPE is refused in a first pass, along with deep nesting.
use quick_xml::{Reader, events::Event};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// Deepest element nesting accepted; orders need two levels.
pub const MAX_DEPTH: usize = 8;

/// Parses `body` into `T` after refusing DOCTYPEs and deep nesting.
pub fn from_str<T: DeserializeOwned>(body: &str) -> Result<T, ApiError> {
    check_structure(body)?;
    quick_xml::de::from_str(body).map_err(|e| ApiError::Invalid(format!("invalid XML order: {e}")))
}

fn check_structure(body: &str) -> Result<(), ApiError> {
    let mut reader = Reader::from_str(body);
    let mut depth = 0usize;
    loop {
        match reader.read_event() {
            Ok(Event::DocType(_)) => {
                tracing::warn!(event = "input.rejected", reason = "xml_doctype");
                return Err(ApiError::BadRequest(
                    "XML with a DOCTYPE is not accepted".into(),
                ));
            }
            Ok(Event::Start(_)) => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(ApiError::BadRequest(format!(
                        "XML nested deeper than {MAX_DEPTH} levels is not accepted"
                    )));
                }
            }
            Ok(Event::End(_)) => depth = depth.saturating_sub(1),
            Ok(Event::Eof) => return Ok(()),
            Ok(_) => {}
            Err(e) => return Err(ApiError::BadRequest(format!("malformed XML: {e}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct Order {
        item: String,
    }

    // PROC-04: an XXE payload is refused before any entity could be resolved.
    #[test]
    fn proc_04_doctype_refused() {
        let xxe = r#"<?xml version="1.0"?><!DOCTYPE o [<!ENTITY x SYSTEM "file:///etc/passwd">]><order><item>&x;</item></order>"#;
        assert!(matches!(
            from_str::<Order>(xxe),
            Err(ApiError::BadRequest(_))
        ));
        let unused = r#"<!DOCTYPE o [<!ENTITY x "y">]><order><item>a</item></order>"#;
        assert!(matches!(
            from_str::<Order>(unused),
            Err(ApiError::BadRequest(_))
        ));
    }

    // PROC-04: nesting depth is bounded.
    #[test]
    fn proc_04_depth_bounded() {
        let deep = format!(
            "{}{}",
            "<a>".repeat(MAX_DEPTH + 1),
            "</a>".repeat(MAX_DEPTH + 1)
        );
        assert!(matches!(
            from_str::<Order>(&deep),
            Err(ApiError::BadRequest(_))
        ));
    }

    #[test]
    fn plain_xml_parses() {
        let order: Order = from_str("<order><item>tea</item></order>").unwrap();
        assert_eq!(order.item, "tea");
    }
}
