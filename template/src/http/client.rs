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
/// `X-Forwarded-For` entry that is not a trusted proxy. Entries further left
/// were written by the client and are never believed (ACC-01).
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map_while(|hop| hop.trim().parse().ok())
        .collect();
    forwarded
        .into_iter()
        .rev()
        .find(|ip| !is_trusted(ip))
        .unwrap_or(peer)
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
}
