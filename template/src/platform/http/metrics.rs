//! Request metrics (OPS-03), rendered in Prometheus text format on the admin
//! listener. A registry of fixed-size series: memory stays flat however long
//! nobody scrapes, and the hot path takes one short lock.
use std::{collections::BTreeMap, fmt::Write, sync::Mutex, time::Instant};

use axum::{
    extract::MatchedPath,
    extract::Request,
    http::{Method, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

use crate::telemetry::Counter;

/// Upper bounds of the latency histogram's buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

#[derive(Default)]
struct Series {
    count: u64,
    sum: f64,
    /// Per bucket, not cumulative; rendering adds them up.
    buckets: [u64; BUCKETS.len()],
}

/// Series by route template, then by (method label, status): routes are
/// looked up by `&str`, so a request allocates only when it opens a new
/// series. Every key is bounded: routes by the router, methods by
/// [`method_label`], statuses by HTTP.
type Registry = BTreeMap<String, Vec<(&'static str, u16, Series)>>;

/// The methods that get a label of their own; any other is `OTHER`. Any
/// token is a method to hyper, and made-up ones, each a new label, would
/// grow every route's series without bound (on 404, 405 and 429 too).
const METHODS: [&str; 9] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT",
];

fn method_label(method: &Method) -> &'static str {
    METHODS
        .into_iter()
        .find(|known| *known == method.as_str())
        .unwrap_or("OTHER")
}

static REQUESTS: Mutex<Registry> = Mutex::new(BTreeMap::new());

/// Counts requests and their latency by route template (never the raw path,
/// which would let callers create unbounded label values).
pub async fn record(request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().cloned();
    let method = method_label(request.method());
    let started = Instant::now();
    let response = next.run(request).await;
    let seconds = started.elapsed().as_secs_f64();
    let route = route.as_ref().map_or("unmatched", MatchedPath::as_str);
    observe(route, method, response.status().as_u16(), seconds);
    response
}

fn observe(route: &str, method: &'static str, status: u16, seconds: f64) {
    let mut registry = REQUESTS.lock().unwrap_or_else(|e| e.into_inner());
    let by_route = match registry.get_mut(route) {
        Some(series) => series,
        None => registry.entry(route.to_owned()).or_default(),
    };
    let index = match by_route
        .iter()
        .position(|(m, s, _)| *m == method && *s == status)
    {
        Some(index) => index,
        None => {
            by_route.push((method, status, Series::default()));
            by_route.len() - 1
        }
    };
    let series = &mut by_route[index].2;
    series.count += 1;
    series.sum += seconds;
    if let Some(bucket) = BUCKETS.iter().position(|&bound| seconds <= bound) {
        series.buckets[bucket] += 1;
    }
}

pub async fn render_metrics() -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        render(),
    )
        .into_response()
}

fn render() -> String {
    let mut out = String::new();
    for (counter, name, help) in Counter::ALL {
        let value = counter.value();
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
        );
    }
    let registry = REQUESTS.lock().unwrap_or_else(|e| e.into_inner());
    let all = || {
        registry.iter().flat_map(|(route, series)| {
            series.iter().map(move |(method, status, s)| {
                let labels = format!(
                    "method=\"{}\",route=\"{}\",status=\"{status}\"",
                    escape(method),
                    escape(route)
                );
                (labels, s)
            })
        })
    };
    out.push_str(
        "# HELP http_requests_total Requests answered, by method, route and status.\n\
         # TYPE http_requests_total counter\n",
    );
    for (labels, s) in all() {
        let _ = writeln!(out, "http_requests_total{} {}", braced(&labels), s.count);
    }
    let name = "http_request_duration_seconds";
    let _ = writeln!(
        out,
        "# HELP {name} Time to answer, by method, route and status.\n# TYPE {name} histogram"
    );
    for (labels, s) in all() {
        let mut cumulative = 0;
        for (bound, n) in BUCKETS.iter().zip(s.buckets) {
            cumulative += n;
            let bucket = braced(&format!("{labels},le=\"{bound}\""));
            let _ = writeln!(out, "{name}_bucket{bucket} {cumulative}");
        }
        let bucket = braced(&format!("{labels},le=\"+Inf\""));
        let _ = writeln!(out, "{name}_bucket{bucket} {}", s.count);
        let _ = writeln!(out, "{name}_sum{} {}", braced(&labels), s.sum);
        let _ = writeln!(out, "{name}_count{} {}", braced(&labels), s.count);
    }
    out
}

/// A label set: `labels` between braces.
fn braced(labels: &str) -> String {
    let mut out = String::with_capacity(labels.len() + 2);
    out.push('{');
    out.push_str(labels);
    out.push('}');
    out
}

/// A label value as the text format wants it.
fn escape(value: &str) -> String {
    value
        .replace('\\', r"\\")
        .replace('"', "\\\"")
        .replace('\n', r"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    // OPS-03: a histogram is cumulative, ends with +Inf, and agrees with its count.
    #[test]
    fn ops_03_histograms_are_cumulative_and_bounded() {
        let route = "/unit-test/:id";
        for seconds in [0.0002, 0.003, 0.003, 7.0] {
            observe(route, "GET", 200, seconds);
        }
        observe(route, "GET", 404, 0.0002);
        Counter::RateLimited.increment();
        let text = render();
        let labels = "method=\"GET\",route=\"/unit-test/:id\",status=\"200\"";
        let value = |series: &str, extra: &str| {
            let prefix = format!("{series}{} ", braced(&format!("{labels}{extra}")));
            text.lines()
                .find_map(|l| l.strip_prefix(&prefix))
                .unwrap_or_else(|| panic!("no {prefix} line in\n{text}"))
                .to_owned()
        };
        let bucket = "http_request_duration_seconds_bucket";
        assert_eq!(value(bucket, ",le=\"0.0005\""), "1");
        assert_eq!(value(bucket, ",le=\"0.005\""), "3");
        assert_eq!(value(bucket, ",le=\"2.5\""), "3");
        assert_eq!(value(bucket, ",le=\"+Inf\""), "4");
        assert_eq!(value("http_request_duration_seconds_count", ""), "4");
        assert_eq!(value("http_requests_total", ""), "4");
        assert!(text.contains("status=\"404\"") && !text.contains("rate_limited_total 0"));
    }

    // OPS-03: made-up methods share one label; the standard ones keep theirs.
    #[test]
    fn ops_03_methods_are_a_bounded_label() {
        for token in ["get", "FOO", "BREW", &"X".repeat(20_000)] {
            let method = Method::from_bytes(token.as_bytes()).unwrap();
            assert_eq!(
                method_label(&method),
                "OTHER",
                "{}",
                &token[..token.len().min(8)]
            );
        }
        for method in [
            Method::GET,
            Method::POST,
            Method::DELETE,
            Method::PATCH,
            Method::HEAD,
        ] {
            assert_eq!(method_label(&method), method.as_str());
        }
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
