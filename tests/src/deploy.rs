//! CI-07 for real, on one machine: a generated service's own `deploy/deploy`
//! deploys release 1 to a deploy root, the service takes writes, then release
//! 2 (an additive migration, and a `/readyz` that always fails) is deployed.
//! The deploy must fail, roll back by itself to release 1, and lose nothing.
//! SQLite is backed up with `sqlite3 .backup`, PostgreSQL with `pg_dump`.

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::thread::sleep;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::Database;
use crate::cargo;
use crate::http::{Client, Reply};
use crate::local_ci::Breakage;
use crate::workdir::unique_suffix;

/// Where the PostgreSQL server used by the tests lives (trust auth).
const POSTGRES_HOST: &str = "127.0.0.1";
const POSTGRES_PORT: &str = "5432";
const POSTGRES_USER: &str = "postgres";
/// The connection options of psql, pg_dump and dropdb for that server.
const POSTGRES_CONNECTION: [&str; 6] = [
    "-h",
    POSTGRES_HOST,
    "-p",
    POSTGRES_PORT,
    "-U",
    POSTGRES_USER,
];

/// How long a release may take to become ready before its deploy fails. The
/// broken release is given all of it, so it is kept short.
const READY_TIMEOUT_SECS: &str = "15";

/// Deploys `release_1` (the release binary of the service in `service_dir`,
/// package `name`), then a broken release built from the same service with
/// an additive migration and a failing `/readyz`, with the service's own
/// deploy script into a deploy root under `work`, and checks the rollback.
/// The service's files are restored afterwards. Panics on any problem.
pub fn rolls_back_a_broken_release(
    service_dir: &Path,
    name: &str,
    release_1: &Path,
    database: Database,
    work: &Path,
) {
    let tools: &[&str] = match database {
        Database::Sqlite => &["curl", "setsid", "flock", "sqlite3"],
        Database::Postgres => &["curl", "setsid", "flock", "pg_dump", "psql", "pg_restore"],
    };
    for tool in tools {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output();
        assert!(
            matches!(&found, Ok(out) if out.status.success()),
            "the deploy test needs `{tool}` on this machine \
             (apt-get install curl util-linux sqlite3 postgresql-client)"
        );
    }
    let work = work.join("deploy");
    let release_1 = keep_release(release_1, &work.join("artifacts/r1"));

    let api_addr = format!("127.0.0.1:{}", free_port());
    let admin_addr = format!("127.0.0.1:{}", free_port());
    let deployment = Deployment::new(service_dir, &work.join("srv"));
    let store = match database {
        Database::Sqlite => Store::Sqlite(
            deployment
                .root
                .join("shared/data")
                .join(format!("{}.db", name.replace('-', "_"))),
        ),
        Database::Postgres => Store::Postgres(format!("e2e_deploy_{}", unique_suffix())),
    };
    deployment.write_service_env(service_dir, &api_addr, &admin_addr, &store.url());
    // From here on the supervised service is stopped, and the PostgreSQL
    // database dropped, whatever happens.
    let _guard = CleanUp {
        root: deployment.root.clone(),
        store: store.clone(),
    };

    let first = deployment.deploy("r1", &release_1);
    assert!(
        first.status.success(),
        "deploying release 1 failed:\n{}",
        printed(&first)
    );
    assert!(
        printed(&first).contains("SUCCESS: release r1 is live"),
        "{}",
        printed(&first)
    );
    assert_eq!(deployment.live(), "r1");

    // Writes while release 1 serves.
    let api = format!("http://{api_addr}");
    let client = Client::new();
    let credentials = json!({
        "email": "deploy.user@example.com",
        "password": "correct horse battery staple 42",
    });
    let registered = client.post_json(&format!("{api}/v1/auth/register"), &credentials, None);
    expect_status(&registered, 202, "register");
    let token = login(&client, &api, &credentials);
    let mut orders = Vec::new();
    for (n, item) in ["tea", "coffee", "cocoa"].into_iter().enumerate() {
        let order = json!({
            "item": item,
            "quantity": n + 1,
            "note": format!("written before deploy {n}"),
            "shipping_address": format!("{n} Rollback Road"),
        });
        let created = client.post_json(&format!("{api}/v1/me/orders"), &order, Some(&token));
        expect_status(&created, 201, "create order");
        let id = created.json()["id"]
            .as_str()
            .expect("the new order has an id")
            .to_owned();
        orders.push((id, order));
    }

    // Release 2: an additive migration, and a readiness check that fails.
    let mut release_2_changes = Breakage::new();
    let probe_version = next_migration_version(&service_dir.join("migrations"));
    release_2_changes
        .create(
            &service_dir.join(format!("migrations/{probe_version:04}_deploy_probe.sql")),
            "-- Added by the deploy e2e test: additive, as every migration must be.\n\
             ALTER TABLE orders ADD COLUMN gift_message TEXT;\n\
             CREATE TABLE deploy_probe (id INTEGER PRIMARY KEY, note TEXT);\n",
        )
        .replace(
            &service_dir.join("src/platform/routes/health.rs"),
            READY,
            r#"Ok(Ok(_)) => Err(ApiError::Unavailable("broken on purpose by the deploy e2e test".into())),"#,
        );
    cargo::run(service_dir, &["build", "--locked", "--release"]);
    let release_2 = keep_release(
        &cargo::target_dir().join("release").join(name),
        &work.join("artifacts/r2"),
    );

    let second = deployment.deploy("r2", &release_2);
    let said = printed(&second);
    assert_eq!(
        second.status.code(),
        Some(1),
        "deploying the broken release 2 must fail with status 1 after a rollback:\n{said}"
    );
    for expected in [
        "FAILED: release r2 failed its gate: readyz",
        "ROLLING BACK to release r1",
        "ROLLED BACK: release r2 failed",
        "release r1 is live and healthy",
        "outcome: rolled-back; live release: r1",
    ] {
        assert!(said.contains(expected), "no `{expected}` in:\n{said}");
    }

    // Release 1 serves again, by itself.
    assert_eq!(deployment.live(), "r1", "`current` does not point at r1");
    let pid = deployment.pid();
    let exe = fs::read_link(format!("/proc/{pid}/exe")).expect("the service runs");
    assert!(
        exe.starts_with(deployment.root.join("releases/r1")),
        "the live process runs {}, not release 1",
        exe.display()
    );
    let ready = client
        .get(&format!("{api}/readyz"), None)
        .expect("the service answers");
    expect_status(&ready, 200, "readyz after the rollback");
    assert!(
        deployment.root.join("releases/r2/FAILED").is_file(),
        "the failed release is not marked"
    );
    let summary = fs::read_to_string(&deployment.summary).unwrap_or_default();
    assert!(
        summary.contains("rolled-back") && summary.contains("`r1`"),
        "the job summary does not say r1 is live after a rollback:\n{summary}"
    );

    // Release 1 runs on the schema release 2 migrated, which it does not know.
    let applied = format!("SELECT count(*) FROM _sqlx_migrations WHERE version = {probe_version}");
    assert_eq!(
        store.query(&applied),
        "1",
        "release 2's migration was not applied"
    );

    // The backup taken before release 2 is kept, and not restored.
    let backups: Vec<PathBuf> = fs::read_dir(deployment.root.join("backups"))
        .expect("the backups directory exists")
        .map(|e| e.expect("a directory entry").path())
        .collect();
    let backup = backups
        .iter()
        .find(|p| p.to_string_lossy().contains("-before-r2."))
        .unwrap_or_else(|| panic!("no backup taken before r2 in {backups:?}"));
    store.check_backup(backup, &applied);

    // Every row written before the failed deploy is there and readable.
    let token = login(&client, &api, &credentials);
    let page = client
        .get(&format!("{api}/v1/me/orders"), Some(&token))
        .expect("the orders answer");
    expect_status(&page, 200, "list orders");
    let listed: Vec<String> = page.json()["items"]
        .as_array()
        .expect("a page of orders")
        .iter()
        .filter_map(|o| o["id"].as_str().map(str::to_owned))
        .collect();
    for (id, written) in &orders {
        assert!(listed.contains(id), "order {id} is missing from {listed:?}");
        let read = client
            .get(&format!("{api}/v1/me/orders/{id}"), Some(&token))
            .expect("the order answers");
        expect_status(&read, 200, "read order");
        let read = read.json();
        for field in ["item", "quantity", "note", "shipping_address"] {
            assert_eq!(read[field], written[field], "order {id}, {field}: {read}");
        }
    }
    // And it still takes writes.
    let more = client.post_json(
        &format!("{api}/v1/me/orders"),
        &json!({ "item": "water", "quantity": 1 }),
        Some(&token),
    );
    expect_status(&more, 201, "create an order after the rollback");

    let stopped = deployment.run(&["stop"]);
    assert!(
        stopped.status.success(),
        "deploy/deploy stop failed:\n{}",
        printed(&stopped)
    );
    assert!(
        !is_running(pid),
        "the service (pid {pid}) still runs after deploy/deploy stop"
    );
}

/// A deploy root on this machine, deployed to by the service's script.
struct Deployment {
    script: PathBuf,
    service_dir: PathBuf,
    root: PathBuf,
    summary: PathBuf,
}

impl Deployment {
    fn new(service_dir: &Path, root: &Path) -> Deployment {
        let script = service_dir.join("deploy/deploy");
        assert!(script.is_file(), "the service has no deploy/deploy");
        fs::create_dir_all(root.join("shared")).expect("the deploy root can be created");
        Deployment {
            script,
            service_dir: service_dir.to_owned(),
            root: root.to_owned(),
            summary: root.with_file_name("step-summary.md"),
        }
    }

    /// The settings an operator writes on the host: the generated service's
    /// development keys will do here.
    fn write_service_env(
        &self,
        service_dir: &Path,
        api_addr: &str,
        admin_addr: &str,
        database_url: &str,
    ) {
        let dotenv = fs::read_to_string(service_dir.join(".env")).expect("rampart wrote .env");
        let keys: String = dotenv
            .lines()
            .filter(|l| l.starts_with("APP_JWT_SECRET=") || l.starts_with("APP_DATA_KEYS="))
            .map(|l| format!("{l}\n"))
            .collect();
        assert_eq!(keys.lines().count(), 2, "no keys in .env: {dotenv}");
        let env = format!(
            "# Written by the deploy e2e test.\n\
             APP_ENV=production\n\
             APP_BEHIND_TLS_PROXY=true\n\
             {keys}\
             APP_LISTEN_ADDR={api_addr}\n\
             APP_ADMIN_ADDR={admin_addr}\n\
             APP_DATABASE_URL={database_url}\n\
             APP_LOG=info\n"
        );
        fs::write(self.root.join("shared/service.env"), env).expect("service.env can be written");
    }

    fn run(&self, args: &[&str]) -> Output {
        let mut command = Command::new(&self.script);
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("DEPLOY_") {
                command.env_remove(key);
            }
        }
        command
            .args(args)
            .current_dir(&self.service_dir)
            .env("DEPLOY_ROOT", &self.root)
            .env("DEPLOY_RESTART", "supervisor")
            .env("DEPLOY_READY_TIMEOUT", READY_TIMEOUT_SECS)
            .env("GITHUB_STEP_SUMMARY", &self.summary)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.script.display()))
    }

    fn deploy(&self, version: &str, binary: &Path) -> Output {
        let started = Instant::now();
        let binary = binary.to_str().expect("a UTF-8 path");
        let output = self.run(&[version, binary]);
        eprintln!(
            "deploy {version} ({}) in {:.0?}:\n{}",
            output.status,
            started.elapsed(),
            printed(&output)
        );
        output
    }

    /// The release `current` points at.
    fn live(&self) -> String {
        let target = fs::read_link(self.root.join("current")).expect("`current` is a symlink");
        target
            .file_name()
            .expect("`current` names a release")
            .to_string_lossy()
            .into_owned()
    }

    /// The pid of the supervised service.
    fn pid(&self) -> u32 {
        read_pid(&self.root).expect("the service has a pidfile")
    }
}

/// The database of the deployed service.
#[derive(Clone)]
enum Store {
    /// The SQLite file.
    Sqlite(PathBuf),
    /// The name of the PostgreSQL database.
    Postgres(String),
}

impl Store {
    fn url(&self) -> String {
        match self {
            // Relative to the service's working directory, DEPLOY_ROOT/shared.
            Store::Sqlite(file) => format!(
                "sqlite://data/{}",
                file.file_name().expect("a file name").to_string_lossy()
            ),
            Store::Postgres(name) => {
                format!("postgres://{POSTGRES_USER}@{POSTGRES_HOST}:{POSTGRES_PORT}/{name}")
            }
        }
    }

    /// The one value `sql` selects, as text.
    fn query(&self, sql: &str) -> String {
        let mut command = match self {
            Store::Sqlite(file) => {
                let mut c = Command::new("sqlite3");
                c.arg("-readonly").arg(file).arg(sql);
                c
            }
            Store::Postgres(name) => {
                let mut c = Command::new("psql");
                c.args(POSTGRES_CONNECTION)
                    .args(["-d", name, "-X", "-q", "-t", "-A", "-c", sql]);
                c
            }
        };
        capture(&mut command)
    }

    /// The backup holds the rows written by release 1, from before release
    /// 2's migration.
    fn check_backup(&self, backup: &Path, applied: &str) {
        match self {
            Store::Sqlite(_) => {
                let backup = Store::Sqlite(backup.to_owned());
                assert_eq!(backup.query("SELECT count(*) FROM orders"), "3");
                assert_eq!(
                    backup.query(applied),
                    "0",
                    "the backup was taken after the migration"
                );
            }
            Store::Postgres(_) => {
                let listing = capture(Command::new("pg_restore").arg("--list").arg(backup));
                assert!(
                    listing.contains("TABLE DATA public orders"),
                    "the dump has no orders: {listing}"
                );
                assert!(
                    !listing.contains("deploy_probe"),
                    "the dump was taken after the migration: {listing}"
                );
            }
        }
    }
}

/// Runs `command`; panics with its output if it fails, else returns its
/// trimmed stdout.
fn capture(command: &mut Command) -> String {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    assert!(
        out.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// When the test ends, even on a panic: stops the supervised service (and
/// shows its log on failure), and drops the PostgreSQL database.
struct CleanUp {
    root: PathBuf,
    store: Store,
}

impl Drop for CleanUp {
    fn drop(&mut self) {
        if let Some(pid) = read_pid(&self.root).filter(|&pid| is_running(pid)) {
            let _ = Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
            let started = Instant::now();
            while is_running(pid) && started.elapsed() < Duration::from_secs(30) {
                sleep(Duration::from_millis(100));
            }
            if is_running(pid) {
                let _ = Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
            }
        }
        if std::thread::panicking() {
            let log = self.root.join("logs/service.log");
            let text = fs::read_to_string(&log).unwrap_or_default();
            eprintln!("--- service log ({}) ---\n{text}", log.display());
        }
        if let Store::Postgres(name) = &self.store {
            let dropped = Command::new("dropdb")
                .args(POSTGRES_CONNECTION)
                .args(["--if-exists", name])
                .output();
            if !matches!(&dropped, Ok(out) if out.status.success()) {
                eprintln!("note: could not drop database {name}; remove it by hand");
            }
        }
    }
}

fn read_pid(root: &Path) -> Option<u32> {
    fs::read_to_string(root.join("run/service.pid"))
        .ok()
        .and_then(|p| p.trim().parse().ok())
}

/// Whether `pid` is a process that has not exited (a zombie has).
fn is_running(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            let state = s.rsplit(')').next().unwrap_or("").trim_start();
            !state.is_empty() && !state.starts_with('Z')
        })
        .unwrap_or(false)
}

/// Copies a release binary out of the shared target dir, where the next
/// build would overwrite it.
fn keep_release(built: &Path, artifacts: &Path) -> PathBuf {
    fs::create_dir_all(artifacts).expect("the artifacts directory can be created");
    let kept = artifacts.join(built.file_name().expect("a binary name"));
    fs::copy(built, &kept).unwrap_or_else(|e| panic!("cannot copy {}: {e}", built.display()));
    kept
}

/// One more than the highest version in `migrations/`.
fn next_migration_version(dir: &Path) -> u64 {
    let highest = fs::read_dir(dir)
        .expect("the service has migrations")
        .filter_map(|entry| {
            let name = entry.ok()?.file_name().to_string_lossy().into_owned();
            let digits: String = name.chars().take_while(char::is_ascii_digit).collect();
            digits.parse::<u64>().ok()
        })
        .max()
        .expect("at least one migration");
    highest + 1
}

/// The line of `src/platform/routes/health.rs` that makes `/readyz` answer 200; the
/// broken release answers 503 instead.
const READY: &str = r#"Ok(Ok(_)) => Ok(Json(Status { status: "ok" })),"#;

fn login(client: &Client, api: &str, credentials: &Value) -> String {
    let reply = client.post_json(&format!("{api}/v1/auth/login"), credentials, None);
    expect_status(&reply, 200, "login");
    reply.json()["access_token"]
        .as_str()
        .expect("an access token")
        .to_owned()
}

fn expect_status(reply: &Reply, status: u16, what: &str) {
    assert_eq!(reply.status, status, "{what}: unexpected reply {reply:?}");
}

fn printed(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A port that was free a moment ago; the deployed service binds it.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}
