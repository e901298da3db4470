//! Health probe of the container image (the Dockerfile's HEALTHCHECK).
//!
//! The runtime image has no shell and no curl, and the service has no health
//! subcommand, so this std-only program, compiled in the build stage, asks the
//! API listener for `GET /healthz` and exits 0 on `200`, 1 otherwise.
//! It reads the same environment as the service: `APP_LISTEN_ADDR` (an
//! unspecified address such as 0.0.0.0 is probed on loopback). When the
//! service serves TLS itself (`APP_TLS_CERT_FILE` set), the probe only checks
//! that the listener accepts connections. A probe refused by
//! `APP_ALLOWED_CLIENT_NETWORKS` (403) reports unhealthy: allow 127.0.0.1.
use std::{
    io::{Read, Write},
    net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream},
    process::ExitCode,
    time::Duration,
};

fn main() -> ExitCode {
    match probe() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("unhealthy: {e}");
            ExitCode::FAILURE
        }
    }
}

fn probe() -> Result<(), String> {
    let listen = std::env::var("APP_LISTEN_ADDR").unwrap_or_else(|_| "127.0.0.1:8080".into());
    let mut addr: SocketAddr = listen
        .parse()
        .map_err(|e| format!("APP_LISTEN_ADDR {listen:?}: {e}"))?;
    if addr.ip().is_unspecified() {
        addr.set_ip(if addr.is_ipv4() {
            Ipv4Addr::LOCALHOST.into()
        } else {
            Ipv6Addr::LOCALHOST.into()
        });
    }
    let timeout = Duration::from_secs(3);
    let mut stream =
        TcpStream::connect_timeout(&addr, timeout).map_err(|e| format!("connect {addr}: {e}"))?;
    if std::env::var_os("APP_TLS_CERT_FILE").is_some_and(|v| !v.is_empty()) {
        return Ok(());
    }
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|()| stream.set_write_timeout(Some(timeout)))
        .map_err(|e| e.to_string())?;
    let request = format!(
        "GET /healthz HTTP/1.1\r\nHost: {addr}\r\nAccept: application/json\r\nConnection: close\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("sending to {addr}: {e}"))?;
    let mut head = Vec::new();
    stream
        .take(64)
        .read_to_end(&mut head)
        .map_err(|e| format!("reading from {addr}: {e}"))?;
    let status = String::from_utf8_lossy(&head);
    let status = status.lines().next().unwrap_or_default();
    if status.starts_with("HTTP/1.1 200 ") {
        Ok(())
    } else {
        Err(format!("GET http://{addr}/healthz answered {status:?}"))
    }
}
