//! Keys and a TLS certificate made fresh for each test: none is committed,
//! none expires. The certificate is a minimal X.509 v3 (RFC 5280) written
//! field by field in DER and signed by aws-lc-rs.
use aws_lc_rs::{
    encoding::AsDer,
    signature::{Ed25519KeyPair, KeyPair},
};
use base64::{Engine, engine::general_purpose::STANDARD};

/// A fresh Ed25519 key pair as PEM: the PKCS#8 private key and the SPKI
/// public key, the forms `APP_JWT_PRIVATE_KEY_FILE` and `APP_TLS_KEY_FILE` take.
pub fn ed25519() -> (Ed25519KeyPair, String, String) {
    let pair = Ed25519KeyPair::generate().unwrap();
    let private = pem("PRIVATE KEY", pair.to_pkcs8v1().unwrap().as_ref());
    let public = pem("PUBLIC KEY", pair.public_key().as_der().unwrap().as_ref());
    (pair, private, public)
}

/// A self-signed certificate for `localhost`: its DER, its PEM and its
/// private key's PEM.
pub struct SelfSigned {
    pub der: Vec<u8>,
    pub pem: String,
    pub key_pem: String,
}

pub fn self_signed_localhost() -> SelfSigned {
    let (pair, key_pem, _) = ed25519();
    let ed25519 = seq(&[&der(0x06, &[0x2b, 0x65, 0x70])]); // id-Ed25519, no parameters
    let name = seq(&[&der(
        0x31,
        &seq(&[&der(0x06, &[0x55, 0x04, 0x03]), &der(0x0c, b"localhost")]), // CN
    )]);
    let mut serial = [0u8; 16];
    aws_lc_rs::rand::fill(&mut serial).unwrap();
    serial[0] = serial[0] & 0x7f | 0x01; // positive, and no leading zero byte
    let alt_names = seq(&[&der(0x82, b"localhost")]); // dNSName
    let extensions = der(
        0xa3,
        &seq(&[&seq(&[
            &der(0x06, &[0x55, 0x1d, 0x11]),
            &der(0x04, &alt_names),
        ])]),
    );
    let tbs = seq(&[
        &der(0xa0, &der(0x02, &[2])), // v3
        &der(0x02, &serial),
        &ed25519,
        &name,
        &seq(&[&der(0x17, b"250101000000Z"), &der(0x17, b"491231235959Z")]),
        &name,
        pair.public_key().as_der().unwrap().as_ref(),
        &extensions,
    ]);
    let signature = [&[0u8][..], pair.sign(&tbs).as_ref()].concat(); // no unused bits
    let der = seq(&[&tbs, &ed25519, &der(0x03, &signature)]);
    SelfSigned {
        pem: pem("CERTIFICATE", &der),
        der,
        key_pem,
    }
}

fn pem(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|line| std::str::from_utf8(line).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

/// One DER element: tag, length (short or long form), content.
fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    match u8::try_from(content.len()) {
        Ok(len) if len < 0x80 => out.push(len),
        _ => {
            let len = content.len().to_be_bytes();
            let skip = len.iter().take_while(|&&byte| byte == 0).count();
            out.push(0x80 | (len.len() - skip) as u8);
            out.extend_from_slice(&len[skip..]);
        }
    }
    out.extend_from_slice(content);
    out
}

fn seq(parts: &[&[u8]]) -> Vec<u8> {
    der(0x30, &parts.concat())
}

// The encoder itself: lengths in short and long form, as a DER reader expects.
#[test]
fn der_lengths() {
    assert_eq!(der(0x04, &[7; 3]), [0x04, 3, 7, 7, 7]);
    assert_eq!(&der(0x04, &[0; 200])[..3], [0x04, 0x81, 200]);
    assert_eq!(&der(0x04, &[0; 300])[..4], [0x04, 0x82, 0x01, 0x2c]);
}
