//! Typed settings read from environment variables (documented in `.env.example`).
//! Startup is refused on anything unsafe, above all a missing or weak signing key.
use std::{net::SocketAddr, path::PathBuf, str::FromStr, time::Duration};

use axum::http::HeaderValue;

use base64::{
    Engine,
    engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig},
};
use ipnet::IpNet;
use secrecy::{SecretBox, SecretString};

/// Every setting the service reads, parsed and checked.
pub struct Settings {
    /// Production (the default of release builds) or development.
    pub mode: Mode,
    /// Address of the public API listener.
    pub listen_addr: SocketAddr,
    /// Address of the admin listener (OpenAPI document, metrics); loopback by default.
    pub admin_addr: SocketAddr,
    /// Bearer token the admin listener requires; mandatory beyond loopback.
    pub admin_token: Option<SecretString>,
    /// Database connection URL; may hold a password, so it is kept secret.
    pub database_url: SecretString,
    pub jwt: JwtSettings,
    /// How many password hashes may run at once (each takes ~19 MiB and a core).
    pub password_hash_concurrency: usize,
    /// First lockout of the login jail; later ones double it (AUTH-03).
    pub login_lockout: Duration,
    /// Registration waits for the address to be confirmed by a mailed token.
    pub verify_email: bool,
    pub http: HttpSettings,
    /// Keys that encrypt sensitive fields at rest (AUTH-05).
    pub data_keys: DataKeys,
    /// Certificate chain and key to serve TLS directly (ACC-02).
    pub tls: Option<TlsFiles>,
}

/// AES-256 keys by id; `current` encrypts new values, the others only
/// decrypt values written before a rotation.
pub struct DataKeys {
    pub keys: Vec<(String, SecretBox<Vec<u8>>)>,
    pub current: String,
}

/// PEM files of the certificate chain and its private key.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Whether the service runs for real or on a developer's machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Production,
    Development,
}

/// Settings of the tokens.
pub struct JwtSettings {
    pub signer: Signer,
    pub issuer: String,
    pub audience: String,
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
}

/// Who may call, how often, and from where.
#[derive(Clone, Default)]
pub struct HttpSettings {
    /// Proxies whose `X-Forwarded-For` is believed; nobody else's is (ACC-01).
    pub trusted_proxies: Vec<IpNet>,
    /// When not empty, only clients in these networks are served (ACC-05).
    pub allowed_clients: Vec<IpNet>,
    /// Origins allowed to call from a browser; empty means CORS is off (OUT-11).
    pub cors_origins: Vec<HeaderValue>,
    /// Requests per minute and client for the whole API (ACC-01).
    pub rate_limit_per_minute: u32,
    /// Requests per minute and client for register, login and refresh.
    pub auth_rate_limit_per_minute: u32,
    /// Deadline for a whole request, body included (408 after it).
    pub request_timeout: Duration,
    /// Deadline for a client to send its request headers; slow-loris
    /// connections are closed after it.
    pub header_read_timeout: Duration,
    /// Whether every route but the health checks needs an application key (AUTH-08).
    pub require_api_key: bool,
}

/// How access tokens are signed. The algorithm is the server's choice, set
/// here and never read from a token (JWT-02).
pub enum Signer {
    /// HS256 with a secret of at least 32 random bytes (JWT-01); the default.
    Hs256(SecretBox<Vec<u8>>),
    /// EdDSA (Ed25519) with a key pair: a PKCS#8 private key and an SPKI
    /// public key, both PEM.
    EdDsa {
        private_pem: SecretBox<Vec<u8>>,
        public_pem: Vec<u8>,
    },
}

/// A setting that is missing or unacceptable; the message names the variable.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(String);

/// Smallest acceptable signing key, in bytes (HS256 wants at least its output size).
pub const MIN_KEY_BYTES: usize = 32;
/// The placeholder shown in `.env.example`; refused so it can never reach production.
pub const EXAMPLE_KEY: &str = "replace-me-with-the-output-of-head-c48-dev-urandom-base64";

impl Settings {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|key| std::env::var(key).ok())
    }

    /// Reads settings through `lookup`, so tests can pass their own values.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let vars = Vars(&lookup);
        let default_mode = if cfg!(debug_assertions) {
            "development"
        } else {
            "production"
        };
        let mode = match vars.text("APP_ENV", default_mode).as_str() {
            "production" => Mode::Production,
            "development" => Mode::Development,
            other => {
                return Err(ConfigError(format!(
                    "APP_ENV={other:?} is invalid: use production or development"
                )));
            }
        };
        let tls = match (lookup("APP_TLS_CERT_FILE"), lookup("APP_TLS_KEY_FILE")) {
            (Some(cert), Some(key)) => Some(TlsFiles {
                cert: cert.into(),
                key: key.into(),
            }),
            (None, None) => None,
            _ => {
                return Err(ConfigError(
                    "APP_TLS_CERT_FILE and APP_TLS_KEY_FILE go together: set both or neither"
                        .into(),
                ));
            }
        };
        let behind_tls_proxy: bool = vars.parse("APP_BEHIND_TLS_PROXY", "false")?;
        if mode == Mode::Production && tls.is_none() && !behind_tls_proxy {
            return Err(ConfigError(
                "production refuses plain HTTP: set APP_TLS_CERT_FILE and APP_TLS_KEY_FILE, \
                 or APP_BEHIND_TLS_PROXY=true when a proxy in front terminates TLS \
                 (APP_ENV=development for local runs)"
                    .into(),
            ));
        }
        let cors_origins: Vec<HeaderValue> = vars.list("APP_CORS_ALLOWED_ORIGINS")?;
        if let Some(bad) = cors_origins.iter().find(|o| !is_exact_origin(o.as_bytes())) {
            return Err(ConfigError(format!(
                "APP_CORS_ALLOWED_ORIGINS: {bad:?} is not an exact origin such as https://app.example.com"
            )));
        }
        let admin_addr = vars.parse("APP_ADMIN_ADDR", "127.0.0.1:9090")?;
        Ok(Self {
            mode,
            listen_addr: vars.parse("APP_LISTEN_ADDR", "127.0.0.1:8080")?,
            admin_addr,
            admin_token: admin_token(&vars, admin_addr)?,
            database_url: vars.text("APP_DATABASE_URL", DEFAULT_DATABASE_URL).into(),
            jwt: JwtSettings {
                signer: signer(&vars)?,
                issuer: vars.text("APP_JWT_ISSUER", env!("CARGO_PKG_NAME")),
                audience: vars.text("APP_JWT_AUDIENCE", env!("CARGO_PKG_NAME")),
                access_ttl: vars.seconds("APP_ACCESS_TOKEN_TTL_SECS", "900")?,
                refresh_ttl: vars.seconds("APP_REFRESH_TOKEN_TTL_SECS", "2592000")?,
            },
            password_hash_concurrency: vars
                .parse("APP_PASSWORD_HASH_CONCURRENCY", &default_hash_concurrency())?,
            login_lockout: vars.seconds("APP_LOGIN_LOCKOUT_SECS", "300")?,
            verify_email: vars.parse("APP_VERIFY_EMAIL", "false")?,
            http: HttpSettings {
                trusted_proxies: vars.list("APP_TRUSTED_PROXIES")?,
                allowed_clients: vars.list("APP_ALLOWED_CLIENT_NETWORKS")?,
                cors_origins,
                rate_limit_per_minute: vars.positive("APP_RATE_LIMIT_PER_MINUTE", "600")?,
                auth_rate_limit_per_minute: vars
                    .positive("APP_AUTH_RATE_LIMIT_PER_MINUTE", "30")?,
                request_timeout: vars.seconds("APP_REQUEST_TIMEOUT_SECS", "30")?,
                header_read_timeout: vars.seconds("APP_HEADER_READ_TIMEOUT_SECS", "10")?,
                require_api_key: vars.parse("APP_REQUIRE_API_KEY", "false")?,
            },
            tls,
            data_keys: data_keys(&vars)?,
        })
    }
}

/// Typed access to the variables, with errors that name the variable.
struct Vars<'a>(&'a dyn Fn(&str) -> Option<String>);

impl Vars<'_> {
    fn text(&self, key: &str, default: &str) -> String {
        (self.0)(key).unwrap_or_else(|| default.to_owned())
    }

    fn parse<T: FromStr>(&self, key: &str, default: &str) -> Result<T, ConfigError>
    where
        T::Err: std::fmt::Display,
    {
        let value = self.text(key, default);
        value
            .parse()
            .map_err(|e| ConfigError(format!("{key}={value:?} is invalid: {e}")))
    }

    fn positive(&self, key: &str, default: &str) -> Result<u32, ConfigError> {
        match self.parse(key, default)? {
            0 => Err(ConfigError(format!("{key} must be at least 1"))),
            n => Ok(n),
        }
    }

    fn seconds(&self, key: &str, default: &str) -> Result<Duration, ConfigError> {
        self.positive(key, default)
            .map(|secs| Duration::from_secs(secs.into()))
    }

    /// A comma-separated list; empty or unset means none.
    fn list<T: FromStr>(&self, key: &str) -> Result<Vec<T>, ConfigError>
    where
        T::Err: std::fmt::Display,
    {
        self.text(key, "")
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(|item| {
                item.parse()
                    .map_err(|e| ConfigError(format!("{key}: {item:?} is invalid: {e}")))
            })
            .collect()
    }
}
{% if database == "postgres" %}
const DEFAULT_DATABASE_URL: &str = concat!(
    "postgres://postgres@127.0.0.1:5432/",
    env!("CARGO_CRATE_NAME")
);
{%- else %}
const DEFAULT_DATABASE_URL: &str = concat!("sqlite://data/", env!("CARGO_CRATE_NAME"), ".db");
{%- endif %}

/// `APP_JWT_ALGORITHM` (HS256 by default, or EdDSA) and its keys.
fn signer(vars: &Vars) -> Result<Signer, ConfigError> {
    let read = |var: &str| {
        let path = (vars.0)(var).ok_or_else(|| ConfigError(format!("{var} is not set")))?;
        std::fs::read(&path).map_err(|e| ConfigError(format!("{var} {path}: {e}")))
    };
    match vars.text("APP_JWT_ALGORITHM", "HS256").as_str() {
        "HS256" => {
            let secret = match ((vars.0)("APP_JWT_SECRET"), (vars.0)("APP_JWT_SECRET_FILE")) {
                (Some(value), _) => value,
                (None, Some(_)) => {
                    String::from_utf8_lossy(&read("APP_JWT_SECRET_FILE")?).into_owned()
                }
                (None, None) => {
                    return Err(ConfigError(
                        "APP_JWT_SECRET is not set: put a key of at least 32 random bytes, \
                         base64-encoded, in the environment or in .env \
                         (e.g. `echo APP_JWT_SECRET=$(head -c48 /dev/urandom | base64 -w0) >> .env`)"
                            .into(),
                    ));
                }
            };
            Ok(Signer::Hs256(SecretBox::new(Box::new(signing_key(
                secret.trim(),
            )?))))
        }
        "EdDSA" => Ok(Signer::EdDsa {
            private_pem: SecretBox::new(Box::new(read("APP_JWT_PRIVATE_KEY_FILE")?)),
            public_pem: read("APP_JWT_PUBLIC_KEY_FILE")?,
        }),
        other => Err(ConfigError(format!(
            "APP_JWT_ALGORITHM={other:?} is invalid: use HS256 or EdDSA"
        ))),
    }
}

/// Shortest admin token accepted, in characters.
pub const MIN_ADMIN_TOKEN_CHARS: usize = 32;

/// `APP_ADMIN_TOKEN_FILE`: a file holding the admin listener's bearer token
/// (visible ASCII, at least 32 characters). Without one the listener must
/// stay on loopback: its contract and metrics are not for the public.
fn admin_token(vars: &Vars, admin_addr: SocketAddr) -> Result<Option<SecretString>, ConfigError> {
    let var = "APP_ADMIN_TOKEN_FILE";
    let Some(path) = (vars.0)(var).filter(|path| !path.is_empty()) else {
        if admin_addr.ip().is_loopback() {
            return Ok(None);
        }
        return Err(ConfigError(format!(
            "APP_ADMIN_ADDR={admin_addr} is beyond loopback: set {var} to a file holding \
             a token of at least {MIN_ADMIN_TOKEN_CHARS} characters that scrapers send as \
             a bearer token (e.g. `head -c32 /dev/urandom | base64 -w0 > admin.token`)"
        )));
    };
    let bytes = std::fs::read(&path).map_err(|e| ConfigError(format!("{var} {path}: {e}")))?;
    let token = String::from_utf8_lossy(&bytes).trim().to_owned();
    if token.len() < MIN_ADMIN_TOKEN_CHARS || !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ConfigError(format!(
            "{var} {path}: the token must be at least {MIN_ADMIN_TOKEN_CHARS} visible ASCII \
             characters, without spaces"
        )));
    }
    Ok(Some(token.into()))
}

/// `APP_DATA_KEYS` (`id:base64key,...`, 32 random bytes each) and
/// `APP_DATA_KEY_ID`, the key for new writes (default: the last listed).
fn data_keys(vars: &Vars) -> Result<DataKeys, ConfigError> {
    let listed = vars.text("APP_DATA_KEYS", "");
    let mut keys = Vec::new();
    for entry in listed.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (id, encoded) = entry.split_once(':').ok_or_else(|| {
            ConfigError("APP_DATA_KEYS entries are id:base64key, comma-separated".into())
        })?;
        let id_ok = !id.is_empty()
            && id.len() <= 32
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !id_ok {
            return Err(ConfigError(format!(
                "APP_DATA_KEYS: key id {id:?} must be 1-32 letters, digits, - or _"
            )));
        }
        // Only the last key of a repeated id would be kept, and values sealed
        // with the other would no longer open.
        if keys.iter().any(|(listed, _)| listed == id) {
            return Err(ConfigError(format!(
                "APP_DATA_KEYS lists key id {id:?} twice: give each key an id of its own"
            )));
        }
        let key = random_key(&format!("APP_DATA_KEYS key {id}"), encoded)?;
        if key.len() != 32 {
            return Err(ConfigError(format!(
                "APP_DATA_KEYS key {id} must be exactly 32 bytes"
            )));
        }
        keys.push((id.to_owned(), SecretBox::new(Box::new(key))));
    }
    let Some((last, _)) = keys.last() else {
        return Err(ConfigError(
            "APP_DATA_KEYS is not set: sensitive fields are encrypted at rest; add a key, \
             e.g. `echo APP_DATA_KEYS=k1:$(head -c32 /dev/urandom | base64 -w0) >> .env`"
                .into(),
        ));
    };
    let current = vars.text("APP_DATA_KEY_ID", last);
    if !keys.iter().any(|(id, _)| *id == current) {
        return Err(ConfigError(format!(
            "APP_DATA_KEY_ID {current:?} is not in APP_DATA_KEYS"
        )));
    }
    Ok(DataKeys { keys, current })
}

/// `scheme://host[:port]` with no wildcard, path or trailing slash (OUT-11).
fn is_exact_origin(origin: &[u8]) -> bool {
    let text = String::from_utf8_lossy(origin);
    let Some((scheme, host)) = text.split_once("://") else {
        return false;
    };
    matches!(scheme, "http" | "https")
        && !host.is_empty()
        && !host.contains(['*', '/', '?', '#', '@', ' '])
}

/// Decodes and vets the signing key (JWT-01): base64 (standard or URL-safe,
/// padding optional) of at least 32 bytes that look random.
pub fn signing_key(encoded: &str) -> Result<Vec<u8>, ConfigError> {
    if encoded == EXAMPLE_KEY {
        return Err(ConfigError(
            "APP_JWT_SECRET is the example value from .env.example: generate a real key".into(),
        ));
    }
    random_key("APP_JWT_SECRET", encoded)
}

/// Decodes base64 (standard or URL-safe, padding optional) key material of
/// at least 32 bytes that looks random; `name` says which in errors.
fn random_key(name: &str, encoded: &str) -> Result<Vec<u8>, ConfigError> {
    let lenient =
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    let key = GeneralPurpose::new(&base64::alphabet::URL_SAFE, lenient)
        .decode(encoded)
        .or_else(|_| GeneralPurpose::new(&base64::alphabet::STANDARD, lenient).decode(encoded))
        .map_err(|_| ConfigError(format!("{name} must be base64-encoded")))?;
    if key.len() < MIN_KEY_BYTES {
        return Err(ConfigError(format!(
            "{name} is too short: {} bytes, at least {MIN_KEY_BYTES} random bytes are required",
            key.len()
        )));
    }
    // 32 random bytes almost always hold 25 or more distinct values; a key with
    // few of them is a repeated pattern or a word, not random data.
    let mut seen = [false; 256];
    key.iter().for_each(|b| seen[usize::from(*b)] = true);
    if seen.iter().filter(|s| **s).count() < 16 {
        return Err(ConfigError(format!(
            "{name} is weak: it repeats too few distinct bytes to be random"
        )));
    }
    Ok(key)
}

/// Password hashing is CPU-bound: by default it gets every core but one, so
/// that a flood of logins always leaves a core to the async workers (AUTH-02).
fn default_hash_concurrency() -> String {
    std::thread::available_parallelism()
        .map_or(1, |cores| cores.get().saturating_sub(1).max(1))
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    use secrecy::ExposeSecret;

    fn random_bytes(len: usize) -> Vec<u8> {
        crate::auth::random_bytes(len).unwrap()
    }

    // JWT-01: a random key of 32+ bytes is accepted in both base64 alphabets.
    #[test]
    fn jwt_01_accepts_random_keys() {
        let key = random_bytes(48);
        assert_eq!(signing_key(&URL_SAFE_NO_PAD.encode(&key)).unwrap(), key);
        assert_eq!(signing_key(&STANDARD.encode(&key)).unwrap(), key);
    }

    // JWT-01: short, patterned, example and non-base64 keys are refused.
    #[test]
    fn jwt_01_refuses_weak_keys() {
        assert!(signing_key(&STANDARD.encode(random_bytes(31))).is_err());
        assert!(signing_key(&STANDARD.encode([b'a'; 64])).is_err());
        assert!(signing_key(&STANDARD.encode(b"secretsecretsecretsecretsecretsecret")).is_err());
        assert!(signing_key(EXAMPLE_KEY).is_err());
        assert!(signing_key("not base64 at all!").is_err());
    }

    // OUT-11: CORS origins must be exact; wildcards are refused at start-up.
    #[test]
    fn out_11_cors_origins_must_be_exact() {
        assert!(is_exact_origin(b"https://app.example.com"));
        assert!(is_exact_origin(b"http://localhost:3000"));
        for bad in [
            "*",
            "https://*.example.com",
            "app.example.com",
            "https://a.com/",
            "null",
        ] {
            assert!(!is_exact_origin(bad.as_bytes()), "{bad}");
        }
    }

    fn with_key(extra: &[(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        let extra = extra.to_vec();
        let key = STANDARD.encode(random_bytes(48));
        let data_key = format!("k1:{}", STANDARD.encode(random_bytes(32)));
        move |name| match name {
            "APP_JWT_SECRET" => Some(key.clone()),
            "APP_DATA_KEYS" => Some(data_key.clone()),
            _ => extra
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned()),
        }
    }

    // ACC-02: production refuses plain HTTP unless a TLS proxy is declared.
    #[test]
    fn acc_02_production_refuses_plain_http() {
        let err = Settings::from_lookup(with_key(&[("APP_ENV", "production")]))
            .err()
            .unwrap();
        assert!(err.to_string().contains("APP_BEHIND_TLS_PROXY"), "{err}");
        let proxied = [("APP_ENV", "production"), ("APP_BEHIND_TLS_PROXY", "true")];
        assert!(Settings::from_lookup(with_key(&proxied)).is_ok());
        let tls = [
            ("APP_ENV", "production"),
            ("APP_TLS_CERT_FILE", "c.pem"),
            ("APP_TLS_KEY_FILE", "k.pem"),
        ];
        assert!(Settings::from_lookup(with_key(&tls)).unwrap().tls.is_some());
        let half = [("APP_ENV", "development"), ("APP_TLS_CERT_FILE", "c.pem")];
        assert!(Settings::from_lookup(with_key(&half)).is_err());
    }

    // AUTH-05: data keys are required, exactly 32 random bytes, each id
    // listed once, and the current one must be among them.
    #[test]
    fn auth_05_data_keys_are_checked() {
        let key = |len| STANDARD.encode(random_bytes(len));
        let read = |keys: String, current: Option<&str>| {
            let vars: std::collections::HashMap<&str, String> = [("APP_DATA_KEYS", keys)]
                .into_iter()
                .chain(current.map(|c| ("APP_DATA_KEY_ID", c.to_owned())))
                .collect();
            data_keys(&Vars(&|name| vars.get(name).cloned()))
        };
        let two = format!("old:{},new:{}", key(32), key(32));
        assert_eq!(read(two.clone(), None).unwrap().current, "new");
        assert_eq!(read(two.clone(), Some("old")).unwrap().current, "old");
        assert!(read(two, Some("gone")).is_err());
        assert!(read(String::new(), None).is_err());
        assert!(read(format!("k1:{}", key(16)), None).is_err());
        assert!(read(format!("k1:{}", key(48)), None).is_err());
        assert!(read(format!("bad id:{}", key(32)), None).is_err());
        assert!(read(format!("k1:{}", STANDARD.encode([7u8; 32])), None).is_err());
        let twice = read(format!("k1:{},k1:{}", key(32), key(32)), None);
        assert!(twice.is_err_and(|e| e.to_string().contains("\"k1\" twice")));
    }

    // OPS-04: the admin listener beyond loopback needs a token file; on
    // loopback one is optional; a short or unreadable one is refused.
    #[test]
    fn ops_04_admin_beyond_loopback_needs_a_token() {
        let public = [("APP_ADMIN_ADDR", "0.0.0.0:9090")];
        let err = Settings::from_lookup(with_key(&public)).err().unwrap();
        assert!(err.to_string().contains("APP_ADMIN_TOKEN_FILE"), "{err}");
        let private = [("APP_ADMIN_ADDR", "10.0.0.2:9090")];
        assert!(Settings::from_lookup(with_key(&private)).is_err());
        let local = Settings::from_lookup(with_key(&[("APP_ADMIN_ADDR", "[::1]:9090")]));
        assert!(local.unwrap().admin_token.is_none());

        let dir = std::env::temp_dir().join(format!("admin-token-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir(&dir).unwrap();
        let with_token = |token: &str| {
            let path = dir.join("admin.token");
            std::fs::write(&path, token).unwrap();
            let beyond = with_key(&[("APP_ADMIN_ADDR", "0.0.0.0:9090")]);
            Settings::from_lookup(move |name| match name {
                "APP_ADMIN_TOKEN_FILE" => Some(path.display().to_string()),
                _ => beyond(name),
            })
        };
        let good = "t".repeat(MIN_ADMIN_TOKEN_CHARS);
        let settings = with_token(&format!("{good}\n")).unwrap();
        assert_eq!(settings.admin_token.unwrap().expose_secret(), good);
        assert!(with_token("too-short").is_err());
        assert!(with_token(&format!("a b{good}")).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
        let missing = [
            ("APP_ADMIN_ADDR", "0.0.0.0:9090"),
            ("APP_ADMIN_TOKEN_FILE", "/nonexistent/admin.token"),
        ];
        assert!(Settings::from_lookup(with_key(&missing)).is_err());
    }

    // JWT-01: without a key the service does not start, and says why.
    #[test]
    fn jwt_01_missing_key_is_refused() {
        let err = Settings::from_lookup(|_| None).err().expect("must fail");
        assert!(err.to_string().contains("APP_JWT_SECRET"));
    }
}
