//! XML against JSON for ci/bench: the service's safe XML parser (one pass
//! over quick-xml's reader, DOCTYPE refused, nesting bounded) and serde_json
//! reading the same order, into the same shape. Prints orders parsed per
//! second for each, as JSON.
use std::hint::black_box;
use std::time::Instant;

use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct NewOrder {
    item: String,
    quantity: u32,
    note: Option<String>,
    shipping_address: Option<String>,
}

const JSON: &str = r#"{"item":"coffee beans, 1 kg","quantity":3,"note":"Leave at the front desk, please.","shipping_address":"1 Example Street, 12345 Exampleton"}"#;
const XML: &str = "<order><item>coffee beans, 1 kg</item><quantity>3</quantity>\
<note>Leave at the front desk, please.</note>\
<shipping_address>1 Example Street, 12345 Exampleton</shipping_address></order>";

fn rate(iterations: u32, parse: impl Fn() -> NewOrder) -> f64 {
    let started = Instant::now();
    for _ in 0..iterations {
        black_box(parse());
    }
    f64::from(iterations) / started.elapsed().as_secs_f64()
}

fn main() {
    let iterations: u32 = std::env::args()
        .nth(1)
        .map_or(200_000, |n| n.parse().expect("iterations is a number"));
    let json = rate(iterations, || {
        serde_json::from_str(black_box(JSON)).expect("valid JSON")
    });
    let xml = rate(iterations, || {
        SERVICE_CRATE::xml::from_str(black_box(XML)).unwrap_or_else(|_| panic!("valid XML"))
    });
    println!("{{\"json_per_sec\":{json:.0},\"xml_per_sec\":{xml:.0}}}");
}
