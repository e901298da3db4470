//! Who is calling: the peer address, or the client a trusted proxy reports.
//! The network allow-list is checked here, before any other work (ACC-05).
use std::net::{IpAddr, SocketAddr};

use axum::{
    extract::{ConnectInfo, Request, State},
    http::HeaderMap,
    middleware::Next,
    response::{IntoResponse, Response},
};
use ipnet::IpNet;

use crate::{config::HttpSettings, error::ApiError};

/// The client's address, as the rate limiter and the logs should see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

/// Resolves the client address, refuses clients outside the allow-list with
/// 403, and records the address for the layers inside.
pub async fn identify(
    State(settings): State<std::sync::Arc<HttpSettings>>,
    mut request: Request,
    next: Next,
) -> Response {
    let Some(ConnectInfo(peer)) = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .copied()
    else {
        // Served without peer information: nothing to key limits on, so refuse.
        return ApiError::Internal(anyhow::anyhow!("no peer address")).into_response();
    };
    let client = client_ip(peer.ip(), request.headers(), &settings.trusted_proxies);
    // Every later event of the request carries it, through the request span.
    tracing::Span::current().record("client", tracing::field::display(client));
    let allowed = settings.allowed_clients.is_empty()
        || settings
            .allowed_clients
            .iter()
            .any(|net| net.contains(&client));
    if !allowed {
        tracing::warn!(event = "access.denied_network", %client);
        return ApiError::ClientNotAllowed.into_response();
    }
    request.extensions_mut().insert(ClientAddr(client));
    next.run(request).await
}

/// The peer itself, unless it is a trusted proxy: then the right-most
/// `X-Forwarded-For` entry that is not a trusted proxy, read from the right,
/// where the proxies append. Entries further left were written by the client
/// and are never believed (ACC-01): one that is not an address ends the walk
/// at the last trusted hop, so garbage cannot pass for the proxy.
///
/// IPv4 addresses written IPv4-mapped (`::ffff:a.b.c.d`, as a dual-stack
/// `[::]` listener reports IPv4 peers) are read as IPv4, so that they match
/// IPv4 entries of the proxy and client lists.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    let peer = peer.to_canonical();
    if !is_trusted(&peer) {
        return peer;
    }
    // Header lines in order, each line's hops left to right; walked backwards.
    // Split as bytes: a proxy appends to the client's line, so a byte that is
    // not text there must spoil only the client's own entry.
    let hops: Vec<&[u8]> = headers
        .get_all("x-forwarded-for")
        .iter()
        .flat_map(|v| v.as_bytes().split(|&b| b == b','))
        .collect();
    let mut nearest = peer;
    for hop in hops.into_iter().rev() {
        let hop = std::str::from_utf8(hop).ok();
        let ip = hop.and_then(|hop| hop.trim().parse::<IpAddr>().ok());
        match ip.map(|ip| ip.to_canonical()) {
            Some(ip) if is_trusted(&ip) => nearest = ip,
            Some(ip) => return ip,
            None => break,
        }
    }
    nearest
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(xff: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", HeaderValue::from_str(xff).unwrap());
        headers
    }

    // ACC-01: X-Forwarded-For counts only when a trusted proxy sent it, and
    // only its right-most untrusted entry.
    #[test]
    fn acc_01_forwarded_for_trusted_only_from_proxies() {
        let proxy: IpAddr = "10.0.0.5".parse().unwrap();
        let stranger: IpAddr = "203.0.113.9".parse().unwrap();
        let trusted: Vec<IpNet> = vec!["10.0.0.0/24".parse().unwrap()];
        let spoofed = headers("198.51.100.1, 192.0.2.7");
        assert_eq!(client_ip(stranger, &spoofed, &trusted), stranger);
        assert_eq!(
            client_ip(proxy, &spoofed, &trusted),
            "192.0.2.7".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            client_ip(proxy, &headers("192.0.2.7, 10.0.0.6"), &trusted),
            "192.0.2.7".parse::<IpAddr>().unwrap()
        );
        assert_eq!(client_ip(proxy, &HeaderMap::new(), &trusted), proxy);
        assert_eq!(client_ip(stranger, &spoofed, &[]), stranger);
    }

    // ACC-01/ACC-05: a dual-stack listener sees IPv4 peers IPv4-mapped; they
    // still match IPv4 proxy entries, and the client comes out as IPv4.
    #[test]
    fn acc_01_ipv4_mapped_addresses_are_ipv4() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/24".parse().unwrap()];
        let mapped_proxy: IpAddr = "::ffff:10.0.0.5".parse().unwrap();
        let client: IpAddr = "192.0.2.7".parse().unwrap();
        let forwarded = headers("::ffff:192.0.2.7, ::ffff:10.0.0.6");
        assert_eq!(client_ip(mapped_proxy, &forwarded, &trusted), client);
        let stranger: IpAddr = "::ffff:203.0.113.9".parse().unwrap();
        assert_eq!(
            client_ip(stranger, &forwarded, &trusted),
            "203.0.113.9".parse::<IpAddr>().unwrap()
        );
    }

    // ACC-01: whatever the client writes on the left, the address the proxy
    // appended wins; garbage never makes the client pass for the proxy.
    // Client-written prefixes are drawn from a seeded generator over
    // addresses, trusted ones, junk, empty entries, ports and brackets.
    #[test]
    fn acc_01_client_written_entries_never_decide() {
        let proxy: IpAddr = "10.0.0.5".parse().unwrap();
        let trusted: Vec<IpNet> = vec!["10.0.0.0/24".parse().unwrap()];
        let pieces = [
            "x",
            "",
            " ",
            "unknown",
            "10.0.0.7",
            "10.0.0.5",
            "198.51.100.1",
            "::1",
            "[2001:db8::1]:443",
            "192.0.2.1:80",
            "1.2.3",
            "256.1.1.1",
            "fe80::1%eth0",
            "\u{7f}",
            "2001:db8::7",
            ";",
            "10.0.0.0/24",
        ];
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        for round in 0..5_000 {
            let written: Vec<&str> = (0..next(6)).map(|_| pieces[next(pieces.len())]).collect();
            let client: IpAddr = format!("203.0.113.{}", round % 250).parse().unwrap();
            let proxies = ["10.0.0.6"; 3][..next(3)].join(", ");
            let mut value = written.join(",");
            for hop in [client.to_string()]
                .into_iter()
                .chain((!proxies.is_empty()).then_some(proxies))
            {
                value = if value.is_empty() {
                    hop
                } else {
                    format!("{value}, {hop}")
                };
            }
            let Ok(header) = HeaderValue::from_str(&value) else {
                continue;
            };
            let mut map = HeaderMap::new();
            map.insert("x-forwarded-for", header);
            assert_eq!(
                client_ip(proxy, &map, &trusted),
                client,
                "X-Forwarded-For: {value}"
            );
        }
        // Only trusted hops, then junk: the nearest trusted hop, not the peer.
        assert_eq!(
            client_ip(proxy, &headers("x, 10.0.0.9"), &trusted),
            "10.0.0.9".parse::<IpAddr>().unwrap()
        );
        // A value that is not text ends the walk like junk does.
        let mut map = HeaderMap::new();
        map.append("x-forwarded-for", HeaderValue::from_bytes(b"\xff").unwrap());
        map.append("x-forwarded-for", HeaderValue::from_static("203.0.113.4"));
        assert_eq!(
            client_ip(proxy, &map, &trusted),
            "203.0.113.4".parse::<IpAddr>().unwrap()
        );
    }
}

#[cfg(test)]
mod proptests {
    use axum::http::HeaderValue;
    use proptest::prelude::*;

    use super::*;

    /// Header values as a client could send them: any bytes HTTP allows in a
    /// field value, or comma-separated lists of address-like pieces.
    fn value() -> impl Strategy<Value = HeaderValue> {
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..80)
                .prop_filter_map("not a field value", |b| HeaderValue::from_bytes(&b).ok()),
            r"(( ?(10\.0\.0\.[0-9]|203\.0\.113\.[0-9]|::1|\[::1\]:80|x|)),){0,6}"
                .prop_filter_map("not a field value", |s| HeaderValue::from_str(&s).ok()),
        ]
    }

    fn trusted() -> Vec<IpNet> {
        vec!["10.0.0.0/24".parse().unwrap()]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        // ACC-01: any X-Forwarded-For lines never panic, and the client is
        // the peer or an address that one entry spells out.
        #[test]
        fn acc_01_any_forwarded_for_is_safe(
            lines in proptest::collection::vec(value(), 0..4),
            peer_trusted in any::<bool>(),
        ) {
            let peer: IpAddr = if peer_trusted { "10.0.0.5" } else { "192.0.2.9" }.parse().unwrap();
            let mut headers = HeaderMap::new();
            for line in &lines {
                headers.append("x-forwarded-for", line.clone());
            }
            let client = client_ip(peer, &headers, &trusted());
            let spelled = lines.iter().filter_map(|l| l.to_str().ok()).flat_map(|l| l.split(','));
            let named = spelled.filter_map(|e| e.trim().parse::<IpAddr>().ok()).any(|ip| ip == client);
            prop_assert!(client == peer || (peer_trusted && named), "{client} from {lines:?}");
        }

        // ACC-01: whatever the client writes before it, on its own lines or
        // on the proxy's, the entry the trusted proxy appended decides.
        #[test]
        fn acc_01_appended_entry_decides(
            written in proptest::collection::vec(value(), 0..3),
            own_line in any::<bool>(),
            last in 0u8..=255,
        ) {
            let real: IpAddr = format!("203.0.113.{last}").parse().unwrap();
            let mut headers = HeaderMap::new();
            let (prefix, lines) = match written.split_last() {
                Some((tail, rest)) if !own_line => (Some(tail), rest),
                _ => (None, &written[..]),
            };
            for line in lines {
                headers.append("x-forwarded-for", line.clone());
            }
            let appended = match prefix {
                Some(p) => [p.as_bytes(), b", ", real.to_string().as_bytes()].concat(),
                None => real.to_string().into_bytes(),
            };
            headers.append("x-forwarded-for", HeaderValue::from_bytes(&appended).unwrap());
            let peer: IpAddr = "10.0.0.5".parse().unwrap();
            prop_assert_eq!(client_ip(peer, &headers, &trusted()), real);
        }
    }
}
