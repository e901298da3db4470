use std::{
    sync::{Arc, Mutex, OnceLock},
    time::Duration,
};

use base64::{Engine, engine::general_purpose::STANDARD};
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

use {{crate_name}}::{
    auth::{Passwords, Tokens},
    cli::upsert_admin,
    config::Settings,
    db::{self, Db},
    domain::{Email, Password},
    startup::Application,
    telemetry,
};
// For the jail's tests, which count attempts the way a login does.
pub use {{crate_name}}::auth::jail::Budget;
pub use {{crate_name}}::auth::jail::MAX_FAILURES;
pub use {{crate_name}}::auth::jail::{Attempt, Jail};

pub const PASSWORD: &str = "correct horse battery staple";

pub struct TestApp {
    pub address: String,
    pub api_addr: std::net::SocketAddr,
    pub admin_address: String,
    pub client: reqwest::Client,
    pub db: Db,
    vars: Vars,
    owned_database: Option<String>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

/// A registered, logged-in user.
pub struct TestUser {
    pub email: String,
    pub access_token: String,
    pub refresh_token: String,
}

/// Everything the applications of this test process logged, as JSON lines.
pub fn logs() -> String {
    String::from_utf8_lossy(&log_buffer().lock().unwrap()).into_owned()
}

fn log_buffer() -> &'static Arc<Mutex<Vec<u8>>> {
    static BUFFER: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    BUFFER.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let sink = buffer.clone();
        telemetry::init_with(move || LogSink(sink.clone()));
        buffer
    })
}

struct LogSink(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogSink {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Starts the real application on free ports with a database of its own.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// Like `spawn_app`, with some settings (environment variables) overridden.
pub async fn spawn_app_with(overrides: &[(&str, &str)]) -> TestApp {
    log_buffer();
    let database_url = fresh_database_url();
    let key = STANDARD.encode(random_bytes(48));
    let data_key = format!("k1:{}", STANDARD.encode(random_bytes(32)));
    let vars: Vars = [
        ("APP_DATABASE_URL", database_url.as_str()),
        ("APP_JWT_SECRET", key.as_str()),
        ("APP_DATA_KEYS", data_key.as_str()),
        ("APP_LISTEN_ADDR", "127.0.0.1:0"),
        ("APP_ADMIN_ADDR", "127.0.0.1:0"),
    ]
    .into_iter()
    .chain(overrides.iter().copied())
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let db = db::connect(&database_url.clone().into())
        .await
        .expect("database");
    db::migrate(&db).await.expect("migrations");
    start(vars, db, Some(database_url)).await
}

type Vars = std::collections::HashMap<String, String>;

pub fn random_bytes(len: usize) -> Vec<u8> {
    {{crate_name}}::auth::random_bytes(len).unwrap()
}

fn http_client(default_headers: reqwest::header::HeaderMap) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .default_headers(default_headers)
        .build()
        .unwrap()
}

/// Serves an application on `db`; `owned_database` is removed on drop.
async fn start(vars: Vars, db: Db, owned_database: Option<String>) -> TestApp {
    let lookup = vars.clone();
    let settings = Settings::from_lookup(move |name| lookup.get(name).cloned())
        .expect("test settings are valid");
    let app = Application::build_with_pool(settings, db.clone())
        .await
        .expect("app builds");
    let api_addr = app.api_addr().unwrap();
    let address = format!("http://{api_addr}");
    let admin_address = format!("http://{}", app.admin_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel();
    let server = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    let client = http_client(reqwest::header::HeaderMap::new());
    TestApp {
        address,
        api_addr,
        admin_address,
        client,
        db,
        vars,
        owned_database,
        stop: Some(stop),
        server: Some(server),
    }
}
{% if database == "postgres" %}
/// A new, uniquely named database on the server of `TEST_DATABASE_URL`; the
/// application creates it on connect.
fn fresh_database_url() -> String {
    let base = std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let server = base
        .rsplit_once('/')
        .map_or(base.as_str(), |(server, _)| server);
    format!("{server}/test_{}", uuid::Uuid::new_v4().simple())
}

impl Drop for TestApp {
    fn drop(&mut self) {
        use sqlx_core::migrate::MigrateDatabase;
        let Some(url) = self.owned_database.clone() else {
            return;
        };
        // Drop runs inside the test's runtime; a thread of its own can block.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime
                .block_on(sqlx::Postgres::force_drop_database(&url))
                .map_err(std::io::Error::other)
        })
        .join();
    }
}
{%- else %}
/// A new SQLite file in the system's temporary directory.
fn fresh_database_url() -> String {
    let path = std::env::temp_dir().join(format!(
        "{}-test-{}.db",
        env!("CARGO_PKG_NAME"),
        uuid::Uuid::new_v4()
    ));
    format!("sqlite://{}", path.display())
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(path) = self
            .owned_database
            .as_deref()
            .and_then(|url| url.strip_prefix("sqlite://"))
        {
            // The database and its write-ahead log and shared-memory files.
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{path}{suffix}"));
            }
        }
    }
}
{%- endif %}

impl TestApp {
    /// A second instance of the service on the same database and settings, as
    /// in a deployment with several replicas.
    pub async fn sibling(&self) -> TestApp {
        self.sibling_with(&[]).await
    }

    /// A second instance on the same database with some settings changed.
    pub async fn sibling_with(&self, overrides: &[(&str, String)]) -> TestApp {
        let mut vars = self.vars.clone();
        vars.extend(overrides.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
        start(vars, self.db.clone(), None).await
    }

    /// The value of a setting of this instance.
    pub fn setting(&self, name: &str) -> &str {
        &self.vars[name]
    }

    /// The same user and session, with an access token carrying `scope`
    /// instead: signed with the service's key, as a token of another client
    /// or an older grant would be.
    pub fn with_scope(&self, user: &TestUser, scope: &str) -> TestUser {
        let settings = Settings::from_lookup(|name| self.vars.get(name).cloned()).unwrap();
        let payload = user.access_token.split('.').nth(1).unwrap();
        let claims: Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload)
                .unwrap(),
        )
        .unwrap();
        let id = |name: &str| claims[name].as_str().unwrap().parse().unwrap();
        let access_token = Tokens::new(&settings.jwt)
            .unwrap()
            .issue(id("sub"), id("sid"), scope)
            .unwrap();
        TestUser {
            email: user.email.clone(),
            access_token,
            refresh_token: user.refresh_token.clone(),
        }
    }

    /// Starts a graceful shutdown and returns the server task to await.
    pub fn shut_down(&mut self) -> tokio::task::JoinHandle<std::io::Result<()>> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.server.take().expect("server running")
    }

    /// Sends `key` as the calling application's key with every later request.
    pub fn use_api_key(&mut self, key: &str) {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("x-api-key", key.parse().unwrap());
        self.client = http_client(headers);
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn register(&self, email: &str, password: &str) -> Response {
        self.post_json(
            "/v1/auth/register",
            &json!({ "email": email, "password": password }),
        )
        .await
    }

    /// Logs in, and asserts the refusal is the very 401 an unknown e-mail
    /// gets, body included (AUTH-04).
    pub async fn assert_login_refused_like_unknown(&self, email: &str, password: &str) {
        let refused =
            assert_problem(self.login(email, password).await, StatusCode::UNAUTHORIZED).await;
        let unknown = assert_problem(
            self.login("nobody@example.com", PASSWORD).await,
            StatusCode::UNAUTHORIZED,
        )
        .await;
        assert_eq!(refused, unknown);
    }

    pub async fn login(&self, email: &str, password: &str) -> Response {
        self.post_json(
            "/v1/auth/login",
            &json!({ "email": email, "password": password }),
        )
        .await
    }

    /// Registers a new user and logs it in.
    pub async fn user(&self) -> TestUser {
        let email = format!("user-{}@example.com", uuid::Uuid::new_v4());
        assert_eq!(
            self.register(&email, PASSWORD).await.status(),
            StatusCode::ACCEPTED
        );
        self.log_in(&email).await
    }

    /// A logged-in administrator, created as `create-admin` does.
    pub async fn admin(&self) -> TestUser {
        let email = format!("admin-{}@example.com", uuid::Uuid::new_v4());
        self.create_admin(&email).await;
        self.log_in(&email).await
    }

    /// Does what `create-admin` does for `email`, with password `PASSWORD`.
    pub async fn create_admin(&self, email: &str) {
        upsert_admin(
            &self.db,
            &Passwords::new(1).await.unwrap(),
            &Email::try_from(email.to_owned()).unwrap(),
            Password::try_from(PASSWORD.to_owned()).unwrap(),
        )
        .await
        .unwrap();
    }

    pub async fn log_in(&self, email: &str) -> TestUser {
        let response = self.login(email, PASSWORD).await;
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.unwrap();
        TestUser {
            email: email.to_owned(),
            access_token: body["access_token"].as_str().unwrap().to_owned(),
            refresh_token: body["refresh_token"].as_str().unwrap().to_owned(),
        }
    }

    /// A request with the user's bearer token.
    pub fn authed(
        &self,
        method: reqwest::Method,
        path: &str,
        user: &TestUser,
    ) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(&user.access_token)
    }

    pub async fn call(&self, method: reqwest::Method, path: &str, user: &TestUser) -> Response {
        self.authed(method, path, user).send().await.unwrap()
    }

    pub async fn get_json(&self, path: &str, user: &TestUser) -> Value {
        let response = self.call(reqwest::Method::GET, path, user).await;
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        response.json().await.unwrap()
    }

    pub async fn refresh(&self, refresh_token: &Value) -> Response {
        self.post_json(
            "/v1/auth/refresh",
            &json!({ "refresh_token": refresh_token }),
        )
        .await
    }

    /// Posts an XML order body.
    pub async fn post_xml(&self, user: &TestUser, body: impl Into<reqwest::Body>) -> Response {
        self.authed(reqwest::Method::POST, "/v1/me/orders", user)
            .header("content-type", "application/xml")
            .body(body)
            .send()
            .await
            .unwrap()
    }

    /// GET on the admin listener.
    pub async fn admin_get(&self, path: &str) -> Response {
        self.client
            .get(format!("{}{path}", self.admin_address))
            .send()
            .await
            .unwrap()
    }

    pub async fn create_order(&self, user: &TestUser, body: &Value) -> Response {
        self.authed(reqwest::Method::POST, "/v1/me/orders", user)
            .json(body)
            .send()
            .await
            .unwrap()
    }
}

/// Asserts an RFC 9457 problem with `status`, and returns its body.
pub async fn assert_problem(response: Response, status: StatusCode) -> Value {
    assert_eq!(response.status(), status);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json",
        "a {status} must be a problem"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], status.as_u16());
    assert!(
        body["title"].is_string() && body["type"].is_string(),
        "{body}"
    );
    body
}

/// A private temporary directory, removed on drop.
pub struct TempDir(std::path::PathBuf);

impl TempDir {
    pub fn new() -> Self {
        let path = std::env::temp_dir().join(format!("api-test-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir(&path).unwrap();
        Self(path)
    }

    pub fn path(&self) -> &std::path::Path {
        &self.0
    }

    /// Writes `contents` to `name` inside, and returns its path.
    pub fn write(&self, name: &str, contents: String) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, contents).unwrap();
        path.display().to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
