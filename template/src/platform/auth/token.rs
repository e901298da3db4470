//! Access tokens: short-lived JWTs whose algorithm the server fixes (JWT-02..04).
use std::time::Duration;

use anyhow::Context;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::config::{JwtSettings, Signer};

/// The whole payload of an access token: identifiers and times, nothing
/// sensitive (JWT-04).
#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: Uuid,
    pub scope: String,
    pub sid: Uuid,
    pub jti: Uuid,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub iss: String,
    pub aud: String,
}

/// Largest token accepted; ours are around 400 bytes (JWT-05).
pub const MAX_TOKEN_LEN: usize = 1024;

pub struct Tokens {
    algorithm: Algorithm,
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    audience: String,
    access_ttl: Duration,
    refresh_ttl: Duration,
}

impl Tokens {
    /// Builds the signer and verifier; refuses keys that do not parse, or an
    /// EdDSA pair whose halves do not belong together.
    pub fn new(settings: &JwtSettings) -> anyhow::Result<Self> {
        let (algorithm, encoding, decoding) = match &settings.signer {
            Signer::Hs256(secret) => (
                Algorithm::HS256,
                EncodingKey::from_secret(secret.expose_secret()),
                DecodingKey::from_secret(secret.expose_secret()),
            ),
            Signer::EdDsa {
                private_pem,
                public_pem,
            } => (
                Algorithm::EdDSA,
                EncodingKey::from_ed_pem(private_pem.expose_secret())
                    .context("APP_JWT_PRIVATE_KEY_FILE is not a PKCS#8 Ed25519 PEM key")?,
                DecodingKey::from_ed_pem(public_pem)
                    .context("APP_JWT_PUBLIC_KEY_FILE is not an Ed25519 PEM public key")?,
            ),
        };
        // Only the configured algorithm is accepted, whatever the token header says (JWT-02).
        let mut validation = Validation::new(algorithm);
        validation.leeway = 5;
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "nbf", "iat", "iss", "aud", "sub"]);
        validation.set_issuer(&[&settings.issuer]);
        validation.set_audience(&[&settings.audience]);
        let tokens = Self {
            algorithm,
            encoding,
            decoding,
            validation,
            issuer: settings.issuer.clone(),
            audience: settings.audience.clone(),
            access_ttl: settings.access_ttl,
            refresh_ttl: settings.refresh_ttl,
        };
        let probe = tokens.issue(Uuid::nil(), Uuid::nil(), "")?;
        anyhow::ensure!(
            tokens.verify(&probe).is_some(),
            "the JWT private and public keys do not belong together"
        );
        Ok(tokens)
    }

    pub fn access_ttl(&self) -> Duration {
        self.access_ttl
    }

    pub fn refresh_ttl(&self) -> Duration {
        self.refresh_ttl
    }

    /// Signs a new access token for `user` in session `session`.
    pub fn issue(&self, user: Uuid, session: Uuid, scope: &str) -> anyhow::Result<String> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let ttl = i64::try_from(self.access_ttl.as_secs())?;
        let claims = Claims {
            sub: user,
            scope: scope.to_owned(),
            sid: session,
            jti: Uuid::new_v4(),
            iat: now,
            nbf: now,
            exp: now + ttl,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
        };
        Ok(jsonwebtoken::encode(
            &Header::new(self.algorithm),
            &claims,
            &self.encoding,
        )?)
    }

    /// Checks signature, algorithm, times, issuer and audience; any failure is
    /// simply "not a valid token".
    pub fn verify(&self, token: &str) -> Option<Claims> {
        if token.len() > MAX_TOKEN_LEN {
            return None;
        }
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .ok()
            .map(|data| data.claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::random_bytes;
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    use secrecy::SecretBox;

    fn settings(signer: Signer) -> JwtSettings {
        JwtSettings {
            signer,
            issuer: "issuer".into(),
            audience: "audience".into(),
            access_ttl: Duration::from_secs(900),
            refresh_ttl: Duration::from_secs(3600),
        }
    }

    fn keyed() -> (Tokens, Vec<u8>) {
        let key = random_bytes(48).unwrap();
        let signer = Signer::Hs256(SecretBox::new(Box::new(key.clone())));
        (Tokens::new(&settings(signer)).unwrap(), key)
    }

    /// An EdDSA signer with a fresh key pair, and its public key PEM. Both
    /// keys' DER fits PEM's one 64-character line.
    fn ed25519() -> (Signer, String) {
        use aws_lc_rs::{
            encoding::AsDer,
            signature::{Ed25519KeyPair, KeyPair},
        };
        let pem = |label: &str, der: &[u8]| {
            let base64 = base64::engine::general_purpose::STANDARD.encode(der);
            format!("-----BEGIN {label}-----\n{base64}\n-----END {label}-----\n")
        };
        let pair = Ed25519KeyPair::generate().unwrap();
        let private = pem("PRIVATE KEY", pair.to_pkcs8v1().unwrap().as_ref());
        let public = pem("PUBLIC KEY", pair.public_key().as_der().unwrap().as_ref());
        let signer = Signer::EdDsa {
            private_pem: SecretBox::new(Box::new(private.into_bytes())),
            public_pem: public.clone().into_bytes(),
        };
        (signer, public)
    }

    // JWT-02: the asymmetric option signs and verifies with EdDSA only; an
    // HS256 token keyed with the public key (algorithm confusion), a token of
    // another pair and an HS256 token of the same service are refused.
    #[test]
    fn jwt_02_eddsa_option_refuses_algorithm_confusion() {
        let (signer, public_pem) = ed25519();
        let tokens = Tokens::new(&settings(signer)).unwrap();
        let token = tokens
            .issue(Uuid::new_v4(), Uuid::new_v4(), "orders:read")
            .unwrap();
        assert!(tokens.verify(&token).is_some());
        let header = URL_SAFE_NO_PAD
            .decode(token.split('.').next().unwrap())
            .unwrap();
        assert!(String::from_utf8(header).unwrap().contains("EdDSA"));
        let confused = sign(Algorithm::HS256, public_pem.as_bytes(), &claims());
        assert!(
            tokens.verify(&confused).is_none(),
            "public key used as HMAC secret"
        );
        let other = Tokens::new(&settings(ed25519().0)).unwrap();
        let foreign = other
            .issue(Uuid::new_v4(), Uuid::new_v4(), "admin")
            .unwrap();
        assert!(tokens.verify(&foreign).is_none());
        let (hmac, _) = keyed();
        let hs256 = hmac.issue(Uuid::new_v4(), Uuid::new_v4(), "admin").unwrap();
        assert!(tokens.verify(&hs256).is_none());
    }

    // JWT-01: an EdDSA pair whose halves do not match is refused at start-up.
    #[test]
    fn jwt_01_mismatched_eddsa_pair_is_refused() {
        let (Signer::EdDsa { private_pem, .. }, _) = ed25519() else {
            unreachable!()
        };
        let (_, other_public) = ed25519();
        let mismatched = Signer::EdDsa {
            private_pem,
            public_pem: other_public.into_bytes(),
        };
        assert!(Tokens::new(&settings(mismatched)).is_err());
        let garbage = Signer::EdDsa {
            private_pem: SecretBox::new(Box::new(b"not a key".to_vec())),
            public_pem: b"not a key".to_vec(),
        };
        assert!(Tokens::new(&settings(garbage)).is_err());
    }

    fn tokens() -> Tokens {
        keyed().0
    }

    fn now() -> i64 {
        time::OffsetDateTime::now_utc().unix_timestamp()
    }

    /// Claims that verify, to be spoiled one way or another.
    fn claims() -> serde_json::Value {
        serde_json::json!({
            "sub": Uuid::new_v4(), "scope": "orders:read", "sid": Uuid::new_v4(),
            "jti": Uuid::new_v4(), "iat": now(), "nbf": now(), "exp": now() + 60,
            "iss": "issuer", "aud": "audience",
        })
    }

    fn sign(alg: Algorithm, key: &[u8], claims: &serde_json::Value) -> String {
        jsonwebtoken::encode(&Header::new(alg), claims, &EncodingKey::from_secret(key)).unwrap()
    }

    fn with(
        mut claims: serde_json::Value,
        name: &str,
        value: serde_json::Value,
    ) -> serde_json::Value {
        claims[name] = value;
        claims
    }

    fn without(mut claims: serde_json::Value, name: &str) -> serde_json::Value {
        claims.as_object_mut().unwrap().remove(name);
        claims
    }

    /// A token with the given header JSON, our claims and our HS256 signature
    /// bytes of another token: what an attacker edits by hand.
    fn forged_header(tokens: &Tokens, header: &str) -> String {
        let genuine = tokens
            .issue(Uuid::new_v4(), Uuid::new_v4(), "admin")
            .unwrap();
        let parts: Vec<&str> = genuine.split('.').collect();
        format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            parts[1],
            parts[2]
        )
    }

    // JWT-02: the algorithm is the server's: none, HS512, RS256 headers and
    // key-pointing header tricks are all refused.
    #[test]
    fn jwt_02_algorithm_and_header_tricks_refused() {
        let (tokens, key) = keyed();
        assert!(
            tokens
                .verify(&sign(Algorithm::HS256, &key, &claims()))
                .is_some()
        );
        assert!(
            tokens
                .verify(&sign(Algorithm::HS512, &key, &claims()))
                .is_none()
        );
        assert!(
            tokens
                .verify(&sign(Algorithm::HS384, &key, &claims()))
                .is_none()
        );
        for header in [
            r#"{"alg":"none","typ":"JWT"}"#,
            r#"{"alg":"RS256","typ":"JWT"}"#,
            r#"{"alg":"EdDSA","typ":"JWT"}"#,
        ] {
            assert!(
                tokens.verify(&forged_header(&tokens, header)).is_none(),
                "{header}"
            );
        }
        // Key-pointing headers on a token signed with an attacker's key.
        let attacker = b"an attacker's own key of 32 bytes!!";
        for (name, value) in [
            ("kid", "../../dev/null"),
            ("jku", "http://127.0.0.1:9/jwks.json"),
            ("x5u", "http://127.0.0.1:9/cert.pem"),
        ] {
            let mut header = Header::new(Algorithm::HS256);
            match name {
                "kid" => header.kid = Some(value.into()),
                "jku" => header.jku = Some(value.into()),
                _ => header.x5u = Some(value.into()),
            }
            let token =
                jsonwebtoken::encode(&header, &claims(), &EncodingKey::from_secret(attacker))
                    .unwrap();
            assert!(tokens.verify(&token).is_none(), "{name}");
        }
    }

    /// A header naming the attacker's key every way a header can: the key
    /// itself (`jwk`), and where to fetch it (`jku`, `x5u`) or which one to
    /// pick (`kid`).
    fn attacker_header(alg: Algorithm, jwk: serde_json::Value) -> Header {
        let mut header = Header::new(alg);
        header.jwk = Some(serde_json::from_value(jwk).unwrap());
        header.kid = Some("attacker".into());
        header.jku = Some("http://127.0.0.1:9/jwks.json".into());
        header.x5u = Some("http://127.0.0.1:9/cert.pem".into());
        header
    }

    /// Asserts that `token`, signed with the key its own header carries, is a
    /// valid token under that key, and that the service refuses it.
    fn assert_embedded_key_refused(tokens: &Tokens, token: &str, header: &Header) {
        let embedded = DecodingKey::from_jwk(header.jwk.as_ref().unwrap()).unwrap();
        jsonwebtoken::decode::<Claims>(token, &embedded, &tokens.validation)
            .expect("the token is valid under the key in its header");
        assert!(tokens.verify(token).is_none(), "the header's key was used");
    }

    // JWT-02: a token that carries the attacker's own key in its header, and
    // is signed with that key, is refused: the service's key alone verifies,
    // on an HS256 service and on an EdDSA one.
    #[test]
    fn jwt_02_embedded_attacker_keys_refused() {
        let secret = b"an attacker's own key of 32 bytes!!";
        let header = attacker_header(
            Algorithm::HS256,
            serde_json::json!({ "kty": "oct", "k": URL_SAFE_NO_PAD.encode(secret) }),
        );
        let token =
            jsonwebtoken::encode(&header, &claims(), &EncodingKey::from_secret(secret)).unwrap();
        assert_embedded_key_refused(&tokens(), &token, &header);

        let (private_pem, public) = attacker_ed25519();
        let header = attacker_header(
            Algorithm::EdDSA,
            serde_json::json!({ "kty": "OKP", "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode(public) }),
        );
        let key = EncodingKey::from_ed_pem(private_pem.as_bytes()).unwrap();
        let token = jsonwebtoken::encode(&header, &claims(), &key).unwrap();
        let service = Tokens::new(&settings(ed25519().0)).unwrap();
        assert_embedded_key_refused(&service, &token, &header);
    }

    /// A fresh Ed25519 pair of the attacker's: private PEM, raw public key.
    fn attacker_ed25519() -> (String, Vec<u8>) {
        use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
        let pair = Ed25519KeyPair::generate().unwrap();
        let der =
            base64::engine::general_purpose::STANDARD.encode(pair.to_pkcs8v1().unwrap().as_ref());
        let pem = format!("-----BEGIN PRIVATE KEY-----\n{der}\n-----END PRIVATE KEY-----\n");
        (pem, pair.public_key().as_ref().to_vec())
    }

    // JWT-03: times are checked with at most 5 s of leeway, and every
    // registered claim is required with the right issuer and audience.
    #[test]
    fn jwt_03_times_and_required_claims() {
        let (tokens, key) = keyed();
        let check =
            |claims: serde_json::Value| tokens.verify(&sign(Algorithm::HS256, &key, &claims));
        assert!(
            check(with(claims(), "exp", (now() - 3).into())).is_some(),
            "within leeway"
        );
        assert!(
            check(with(claims(), "exp", (now() - 7).into())).is_none(),
            "expired"
        );
        assert!(
            check(with(claims(), "nbf", (now() + 7).into())).is_none(),
            "not yet valid"
        );
        for claim in ["exp", "nbf", "iat", "iss", "aud", "sub"] {
            assert!(check(without(claims(), claim)).is_none(), "missing {claim}");
        }
        assert!(check(with(claims(), "iss", "someone-else".into())).is_none());
        assert!(check(with(claims(), "aud", "another-service".into())).is_none());
    }

    // JWT-03: claims of the wrong JSON type are refused.
    #[test]
    fn jwt_03_wrongly_typed_claims_refused() {
        let (tokens, key) = keyed();
        let check =
            |claims: serde_json::Value| tokens.verify(&sign(Algorithm::HS256, &key, &claims));
        assert!(check(with(claims(), "exp", "9999999999".into())).is_none());
        assert!(check(with(claims(), "sub", 42.into())).is_none());
        assert!(check(with(claims(), "sub", "not-a-uuid".into())).is_none());
        assert!(check(with(claims(), "aud", serde_json::json!(["audience", 1]))).is_none());
        assert!(check(with(claims(), "scope", serde_json::json!(["admin"]))).is_none());
    }

    // JWT-05: oversized tokens are refused before any parsing.
    #[test]
    fn jwt_05_oversized_tokens_refused() {
        let (tokens, key) = keyed();
        let padded = with(claims(), "scope", "orders:read ".repeat(100).into());
        let token = sign(Algorithm::HS256, &key, &padded);
        assert!(token.len() > MAX_TOKEN_LEN);
        assert!(tokens.verify(&token).is_none());
    }

    // JWT-03/JWT-04: a fresh token verifies and carries only the expected claims.
    #[test]
    fn jwt_04_payload_holds_only_identifiers() {
        let tokens = tokens();
        let (user, session) = (Uuid::new_v4(), Uuid::new_v4());
        let token = tokens.issue(user, session, "orders:read").unwrap();
        let claims = tokens.verify(&token).expect("valid");
        assert_eq!((claims.sub, claims.sid), (user, session));
        assert_eq!(claims.exp - claims.iat, 900);
        let payload = token.split('.').nth(1).unwrap();
        let json: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        let mut keys: Vec<_> = json.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "aud", "exp", "iat", "iss", "jti", "nbf", "scope", "sid", "sub"
            ]
        );
        assert!(token.len() < MAX_TOKEN_LEN);
    }

    // JWT-02: a token signed with another key, or unsigned, is refused.
    #[test]
    fn jwt_02_foreign_and_unsigned_tokens_refused() {
        let token = tokens()
            .issue(Uuid::new_v4(), Uuid::new_v4(), "orders:read")
            .unwrap();
        assert!(tokens().verify(&token).is_none());
        let mut parts: Vec<&str> = token.split('.').collect();
        let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        parts[0] = &none_header;
        parts[2] = "";
        assert!(tokens().verify(&parts.join(".")).is_none());
    }
}

#[cfg(test)]
mod proptests {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    use proptest::prelude::*;
    use secrecy::SecretBox;

    use super::*;

    fn tokens() -> Tokens {
        let key = crate::auth::random_bytes(48).unwrap();
        Tokens::new(&JwtSettings {
            signer: Signer::Hs256(SecretBox::new(Box::new(key))),
            issuer: "issuer".into(),
            audience: "audience".into(),
            access_ttl: Duration::from_secs(900),
            refresh_ttl: Duration::from_secs(3600),
        })
        .unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        // JWT-02/JWT-05: any string as a bearer token never panics and never
        // verifies, nor does any three-part one of arbitrary bytes.
        #[test]
        fn jwt_02_arbitrary_tokens_never_verify(
            text in any::<String>(),
            parts in proptest::array::uniform3(proptest::collection::vec(any::<u8>(), 0..300)),
        ) {
            let tokens = tokens();
            prop_assert!(tokens.verify(&text).is_none());
            let [header, payload, signature] = parts.map(|part| URL_SAFE_NO_PAD.encode(part));
            let token = format!("{header}.{payload}.{signature}");
            prop_assert!(tokens.verify(&token).is_none());
        }

        // JWT-02: the service's own payload and signature under any other
        // header, JSON or not, never verify.
        #[test]
        fn jwt_02_genuine_signature_under_any_other_header_never_verifies(
            header in prop_oneof![
                proptest::collection::vec(any::<u8>(), 0..200),
                r#"\{"alg":"(HS256|HS512|none|EdDSA|RS256)"(,"[a-z]{1,4}":"[ -~]{0,20}"){0,3}\}"#
                    .prop_map(String::into_bytes),
            ]
        ) {
            let tokens = tokens();
            let genuine = tokens.issue(Uuid::new_v4(), Uuid::new_v4(), "admin").unwrap();
            let (original, rest) = genuine.split_once('.').unwrap();
            let header = URL_SAFE_NO_PAD.encode(header);
            prop_assume!(header != original);
            let token = format!("{header}.{rest}");
            prop_assert!(tokens.verify(&token).is_none());
        }
    }
}
