//! Test harness: a real server on an ephemeral port with its own database
//! per test, on SQLite always and on PostgreSQL when
//! `PAKN_TEST_POSTGRES_URL` names a server we may create databases on.
//! Every response passes through [`TestApp::send`], which checks it against
//! openapi.yaml, so every test is also a contract test.

use std::sync::{Arc, LazyLock};

use pakn::config::{DemoData, Settings};
use pakn::services::deadlines::DeadlineService;
use pakn::startup::Application;
use pakn::store::Store;
use reqwest::{Method, RequestBuilder, StatusCode, header::HeaderMap};
use sea_orm::{ConnectionTrait, Database};
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::contract;

static TRACING: LazyLock<()> = LazyLock::new(|| {
    if std::env::var_os("TEST_LOG").is_some() {
        let _ = pakn::telemetry::init("info", pakn::config::LogFormat::Pretty, std::io::stderr);
    }
});

pub struct TestApp {
    pub backend: &'static str,
    pub base: String,
    /// Shows redirects instead of following them: every response a test
    /// sees is the service's own, checked against the spec.
    pub client: reqwest::Client,
    pub store: Store,
    pub deadlines: Arc<DeadlineService>,
    pub database_url: String,
    /// The settings the app runs with (`public_base_url` filled in).
    pub settings: Settings,
    /// `http://127.0.0.1:PORT` of the metrics listener, when enabled.
    pub metrics_base: Option<String>,
    _dir: tempfile::TempDir,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    /// The body as sent (files: spreadsheets, CSV).
    pub bytes: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The field/code pairs of a validation problem.
    pub fn field_errors(&self) -> Vec<(String, String)> {
        self.body["errors"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|e| {
                        (
                            e["field"].as_str().unwrap_or_default().to_string(),
                            e["code"].as_str().unwrap_or_default().to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Settings every test starts from: ephemeral port, demo directory, no
/// rate limits (tests that want them turn them on).
pub fn test_settings() -> Settings {
    let mut s = Settings::defaults().expect("defaults");
    s.server.bind = "127.0.0.1:0".into();
    s.server.public_base_url = String::new();
    s.server.workers = 2;
    s.server.shutdown_timeout_seconds = 1;
    s.database.demo_data = DemoData::Always;
    s.rate_limit.enabled = false;
    // The form's minimum fill time has its own test.
    s.public_pages.form_min_fill_seconds = 0;
    // Tests run the deadline scheduler themselves, at chosen times.
    s.deadlines.scheduler_interval_seconds = 3600;
    // Tests create the accounts they need (hashing costs time).
    s.auth.demo_accounts = false;
    // Tests deliver the outbox themselves, to the SMTP sink they start.
    s.mail.outbound.transport = pakn::config::MailTransport::Off;
    // Tests deliver webhooks themselves, to receivers on loopback.
    s.webhooks.deliver = false;
    s.webhooks.allow_private_targets = true;
    s
}

/// One app per backend under test.
pub async fn apps() -> Vec<TestApp> {
    apps_with(|_| {}).await
}

/// The apps of this run: one on the run's database (the harness runs a
/// test that asks for apps once per database).
pub async fn apps_with(adjust: impl Fn(&mut Settings)) -> Vec<TestApp> {
    let mut out = Vec::new();
    for backend in crate::harness::backends() {
        out.push(spawn(backend, &adjust).await);
    }
    out
}

/// The PostgreSQL server the PostgreSQL variants run on:
/// `PAKN_TEST_POSTGRES_URL`, else one answering on 127.0.0.1:5432 with
/// trust authentication (as a developer's machine here has), else none —
/// and then it says so on stderr once, rather than leaving the variants
/// out silently.
pub fn postgres_admin_url() -> Option<String> {
    POSTGRES.clone()
}

const LOCAL_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/postgres";

static POSTGRES: LazyLock<Option<String>> = LazyLock::new(|| {
    if let Ok(url) = std::env::var("PAKN_TEST_POSTGRES_URL") {
        return (!url.is_empty()).then_some(url);
    }
    let answers = std::net::TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], 5432)),
        std::time::Duration::from_secs(1),
    )
    .is_ok();
    // A runtime of its own: this may first run inside a test's runtime.
    let usable = answers
        && std::thread::spawn(|| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let conn = Database::connect(LOCAL_POSTGRES).await.ok()?;
                conn.execute_unprepared("SELECT 1").await.ok()?;
                let _ = conn.close().await;
                Some(())
            })
        })
        .join()
        .ok()
        .flatten()
        .is_some();
    if usable {
        eprintln!(
            "pakn tests: PAKN_TEST_POSTGRES_URL is unset; the PostgreSQL variants use {LOCAL_POSTGRES} (trust authentication on loopback)"
        );
        Some(LOCAL_POSTGRES.to_string())
    } else {
        eprintln!(
            "pakn tests: NOT RUN on PostgreSQL: PAKN_TEST_POSTGRES_URL is unset and no PostgreSQL with trust authentication answers on 127.0.0.1:5432; only SQLite is tested"
        );
        None
    }
});

/// A fresh, empty database URL for `backend`.
pub async fn fresh_database(backend: &str, dir: &tempfile::TempDir) -> String {
    match backend {
        "sqlite" => format!("sqlite://{}", dir.path().join("pakn.db").display()),
        _ => {
            let admin = postgres_admin_url().expect("PAKN_TEST_POSTGRES_URL");
            let name = format!("pakn_test_{}", uuid::Uuid::now_v7().simple());
            let conn = Database::connect(&admin)
                .await
                .expect("connect to PostgreSQL admin database");
            conn.execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
                .expect("create test database");
            let _ = conn.close().await;
            let (head, _) = admin
                .rsplit_once('/')
                .expect("admin URL has a database part");
            format!("{head}/{name}")
        }
    }
}

pub async fn spawn(backend: &'static str, adjust: &impl Fn(&mut Settings)) -> TestApp {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = fresh_database(backend, &dir).await;
    spawn_on(backend, url, dir, adjust).await
}

/// A second instance on `app`'s database (as several instances share one
/// PostgreSQL database in production).
pub async fn another_instance(app: &TestApp) -> TestApp {
    let dir = tempfile::tempdir().expect("tempdir");
    spawn_on(
        app.backend,
        app.database_url.clone(),
        dir,
        &|_: &mut Settings| {},
    )
    .await
}

/// An app on an existing database (a restored one, say).
pub async fn spawn_at(backend: &'static str, url: String) -> TestApp {
    let dir = tempfile::tempdir().expect("tempdir");
    spawn_on(backend, url, dir, &|_: &mut Settings| {}).await
}

async fn spawn_on(
    backend: &'static str,
    url: String,
    dir: tempfile::TempDir,
    adjust: &impl Fn(&mut Settings),
) -> TestApp {
    LazyLock::force(&TRACING);
    let mut settings = test_settings();
    settings.database.url = SecretString::from(url.clone());
    settings.mail.outbound.file_dir = dir.path().join("outbox");
    adjust(&mut settings);
    let app = Application::build(settings.clone())
        .await
        .expect("application builds");
    let base = format!("http://127.0.0.1:{}", app.port());
    let metrics_base = app.metrics_port().map(|p| format!("http://127.0.0.1:{p}"));
    settings.server.public_base_url = base.clone();
    let store = app.store().clone();
    let deadlines = app.deadlines().clone();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        backend,
        base,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client"),
        store,
        deadlines,
        database_url: url,
        settings,
        metrics_base,
        _dir: dir,
    }
}

impl TestApp {
    /// Sends a request to `path` (a concrete path) documented under
    /// `template`, and checks the answer against the contract.
    pub async fn send(
        &self,
        method: Method,
        template: &str,
        path: &str,
        build: impl FnOnce(RequestBuilder) -> RequestBuilder,
    ) -> Reply {
        let request = build(
            self.client
                .request(method.clone(), format!("{}{}", self.base, path)),
        );
        let response = request.send().await.expect("request is answered");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("body");
        let content_type = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let body = if content_type.contains("json") {
            serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                panic!(
                    "[{}] {method} {path}: body is not JSON ({e}): {}",
                    self.backend,
                    String::from_utf8_lossy(&bytes)
                )
            })
        } else {
            Value::String(String::from_utf8_lossy(&bytes).into_owned())
        };
        contract::assert_matches_spec(
            &method,
            template,
            status,
            &content_type,
            &body,
            self.backend,
        );
        assert!(
            headers.contains_key("x-request-id"),
            "[{}] every response carries X-Request-Id",
            self.backend
        );
        Reply {
            status,
            headers,
            body,
            bytes: bytes.to_vec(),
        }
    }

    pub async fn post_feedback(&self, body: &Value) -> Reply {
        self.send(Method::POST, "/api/v1/feedback", "/api/v1/feedback", |r| {
            r.json(body)
        })
        .await
    }

    /// `GET /api/v1/staff/feedback/{code}{suffix}` as the staff member
    /// holding `token` (`suffix` "" for the item page).
    pub async fn staff_get(&self, token: &str, code: &str, suffix: &str) -> Reply {
        self.send(
            Method::GET,
            &format!("/api/v1/staff/feedback/{{tracking_code}}{suffix}"),
            &format!("/api/v1/staff/feedback/{code}{suffix}"),
            |r| r.bearer_auth(token),
        )
        .await
    }

    pub async fn lookup(&self, code: &str, token: &str) -> Reply {
        self.send(
            Method::GET,
            "/api/v1/feedback/{tracking_code}",
            &format!("/api/v1/feedback/{code}"),
            |r| r.header("X-Lookup-Token", token),
        )
        .await
    }
}

/// A submission that meets every rule.
pub fn valid_submission() -> Value {
    json!({
        "kind": "phan_anh",
        "title": "Thủ tục cấp giấy phép xây dựng quá hạn",
        "content": "Hồ sơ xin cấp giấy phép xây dựng nhà ở riêng lẻ của tôi nộp ngày 02/10 đến nay đã quá hạn mà chưa có kết quả.",
        "field_code": "xay_dung",
        "submitter": {
            "type": "individual",
            "full_name": "Nguyễn Văn An",
            "address": { "detail": "12 Lê Lợi", "province_code": "48", "commune_code": "20242" },
            "phone": "0912 345 678",
            "email": "an.nguyen@example.vn"
        },
        "consent_to_publish": true
    })
}

/// Whether `text` shows the phone of `valid_submission` as typed or as
/// stored. Its first digits alone are not enough: "0912" turns up in
/// fractional seconds and ids by chance.
pub fn shows_the_phone(text: &str) -> bool {
    text.contains("0912 345") || text.contains("0912345")
}
