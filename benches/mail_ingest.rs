//! How fast e-mail becomes items: the ingestion service called directly
//! (one at a time and 8 at once), `pakn ingest-email` as an MTA would run
//! it (one process per message), and a local Dovecot mailbox polled over
//! IMAP; with the web form's intake service on the same database as the
//! baseline of the same run.
//!
//! Run: `cargo bench --bench mail_ingest` (PostgreSQL too when
//! `PAKN_BENCH_POSTGRES_URL` or `PAKN_TEST_POSTGRES_URL` is set; IMAP when
//! Dovecot is installed). `PAKN_BENCH_MESSAGES` sets the message count
//! (default 400); `PAKN_BENCH_BACKENDS` which databases.

#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use pakn::config::{MailSecurity, Settings};
use pakn::domain::feedback::{Channel, SubmissionInput};
use pakn::services::deadlines::start as start_deadlines;
use pakn::services::imap::ImapPoller;
use pakn::services::intake::{self, Submission};
use pakn::services::mail_intake::{MailIntake, Source, reply_addressing};
use pakn::startup::load_demo_directory;
use pakn::store::Store;
use sea_orm::{ConnectionTrait, Database};
use secrecy::SecretString;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn message(i: usize, run: &str) -> String {
    format!(
        "From: =?utf-8?b?Tmd1eeG7hW4gVsSDbiBBbg==?= <dan{i}@example.vn>\r\nTo: phananh@danang.gov.vn\r\nSubject: =?utf-8?q?Th=E1=BB=A7_t=E1=BB=A5c_c=E1=BA=A5p_ph=C3=A9p?= {i}\r\nMessage-ID: <bench-{run}-{i}@example.vn>\r\nDate: Mon, 23 Nov 2026 08:00:00 +0700\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nHồ sơ xin cấp giấy phép xây dựng của tôi đã quá hạn 30 ngày mà chưa có kết quả, đề nghị xem xét.\r\n\r\nHọ và tên: Nguyễn Văn An\r\nĐịa chỉ: 12 Lê Lợi, phường Hải Châu, TP Đà Nẵng\r\n"
    )
}

fn submission() -> SubmissionInput {
    serde_json::from_str(r#"{"kind":"phan_anh","title":"Thủ tục cấp phép xây dựng chậm","content":"Hồ sơ xin cấp giấy phép xây dựng của tôi đã quá hạn 30 ngày mà chưa có kết quả, đề nghị xem xét.","submitter":{"full_name":"Nguyễn Văn An","address":{"detail":"12 Lê Lợi"},"email":"an@example.vn"}}"#).unwrap()
}

struct Env {
    store: Store,
    settings: Settings,
    deadlines: pakn::services::deadlines::DeadlineService,
    reasons: pakn::domain::rejection::RejectionReasons,
    addressing: pakn::domain::reply_address::ReplyAddressing,
}

impl Env {
    fn intake(&self) -> MailIntake<'_> {
        MailIntake {
            store: &self.store,
            settings: &self.settings,
            deadlines: &self.deadlines,
            reasons: &self.reasons,
            addressing: &self.addressing,
        }
    }
}

async fn env(url: &str) -> Env {
    let mut settings = Settings::defaults().unwrap();
    settings.database.url = SecretString::from(url.to_string());
    settings.database.max_connections = 16;
    let store = Store::connect(&settings.database).await.unwrap();
    store.migrate_up().await.unwrap();
    load_demo_directory(&store).await.unwrap();
    let deadlines = start_deadlines(&store, &settings).await.unwrap();
    let reasons = settings.rejection_reasons().unwrap();
    let addressing = reply_addressing(&store, &settings, Utc::now())
        .await
        .unwrap();
    Env {
        store,
        settings,
        deadlines,
        reasons,
        addressing,
    }
}

fn row(backend: &str, what: &str, n: usize, elapsed: Duration) {
    println!(
        "| {backend} | {what} | {n} | {:.0} |",
        n as f64 / elapsed.as_secs_f64()
    );
}

async fn web_intake(e: &Env, n: usize) -> Duration {
    let start = Instant::now();
    for _ in 0..n {
        intake::receive(
            &e.store,
            &e.settings,
            &e.deadlines,
            Submission {
                input: submission(),
                attachments: Vec::new(),
                channel: Channel::WebForm,
                idempotency_key: None,
                request_id: None,
                staff_entry: None,
                via_integration: None,
                source: None,
            },
            Utc::now(),
        )
        .await
        .unwrap();
    }
    start.elapsed()
}

async fn mail_sequential(e: &Env, n: usize, run: &str) -> Duration {
    let msgs: Vec<String> = (0..n).map(|i| message(i, run)).collect();
    let start = Instant::now();
    for m in &msgs {
        let r = e
            .intake()
            .ingest(m.as_bytes(), Source::Api, Utc::now())
            .await
            .unwrap();
        assert!(!r.duplicate);
    }
    start.elapsed()
}

async fn mail_concurrent(e: Arc<Env>, n: usize, run: &str, workers: usize) -> Duration {
    let msgs: Arc<Vec<String>> = Arc::new((0..n).map(|i| message(i, run)).collect());
    let start = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..workers {
        let (e, msgs) = (e.clone(), msgs.clone());
        tasks.push(tokio::spawn(async move {
            for m in msgs.iter().skip(w).step_by(workers) {
                e.intake()
                    .ingest(m.as_bytes(), Source::Api, Utc::now())
                    .await
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    start.elapsed()
}

fn pipe(url: &str, n: usize, run: &str) -> Duration {
    let start = Instant::now();
    for i in 0..n {
        let mut child = Command::new(env!("CARGO_BIN_EXE_pakn"))
            .arg("ingest-email")
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("PAKN__DATABASE__URL", url)
            .env("PAKN__LOG__LEVEL", "error")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(message(i, run).as_bytes())
            .unwrap();
        assert_eq!(child.wait().unwrap().code(), Some(0));
    }
    start.elapsed()
}

/// A private Dovecot on loopback (as the tests start it).
struct Dovecot {
    child: std::process::Child,
    dir: tempfile::TempDir,
    port: u16,
}

impl Dovecot {
    fn start() -> Option<Self> {
        if !std::path::Path::new("/usr/sbin/dovecot").exists() {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path();
        let _ = Command::new("chmod").arg("755").arg(r).status();
        std::fs::create_dir_all(r.join("run")).unwrap();
        std::fs::create_dir_all(r.join("mail/intake/new")).unwrap();
        std::fs::create_dir_all(r.join("mail/intake/cur")).unwrap();
        std::fs::create_dir_all(r.join("mail/intake/tmp")).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let conf = format!(
            "protocols = imap\nlisten = 127.0.0.1\nbase_dir = {d}/run\nstate_dir = {d}/run\nlog_path = {d}/dovecot.log\nssl = no\ndisable_plaintext_auth = no\nauth_mechanisms = plain login\nmail_location = maildir:{d}/mail/%u\ndefault_internal_user = dovecot\ndefault_internal_group = dovecot\ndefault_login_user = dovenull\nfirst_valid_uid = 1\nservice imap-login {{\n  inet_listener imap {{\n    address = 127.0.0.1\n    port = {port}\n  }}\n  inet_listener imaps {{\n    port = 0\n  }}\n}}\npassdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u {d}/passwd\n}}\nuserdb {{\n  driver = static\n  args = uid=dovecot gid=dovecot home={d}/mail/%u\n}}\n",
            d = r.display()
        );
        std::fs::write(r.join("dovecot.conf"), conf).unwrap();
        std::fs::write(r.join("passwd"), "intake:{PLAIN}secret::::::\n").unwrap();
        let mut child = Command::new("/usr/sbin/dovecot")
            .arg("-F")
            .arg("-c")
            .arg(r.join("dovecot.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(Self { child, dir, port });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        None
    }

    fn deliver(&self, i: usize, raw: &str) {
        let new = self.dir.path().join("mail/intake/new");
        std::fs::write(new.join(format!("{i}.bench")), raw).unwrap();
    }

    fn chown(&self) {
        let _ = Command::new("chown")
            .args(["-R", "dovecot:dovecot"])
            .arg(self.dir.path().join("mail"))
            .status();
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn imap(e: &Env, n: usize, run: &str) -> Option<Duration> {
    let dovecot = Dovecot::start()?;
    for i in 0..n {
        dovecot.deliver(i, &message(i, run));
    }
    dovecot.chown();
    let mut settings = e.settings.clone();
    settings.mail.imap.host = "127.0.0.1".into();
    settings.mail.imap.port = dovecot.port;
    settings.mail.imap.security = MailSecurity::Plain;
    settings.mail.imap.username = "intake".into();
    settings.mail.imap.password = SecretString::from("secret");
    let intake = MailIntake {
        store: &e.store,
        settings: &settings,
        deadlines: &e.deadlines,
        reasons: &e.reasons,
        addressing: &e.addressing,
    };
    let start = Instant::now();
    let report = ImapPoller {
        intake,
        imap: &settings.mail.imap,
        holder: "bench",
    }
    .poll_once()
    .await
    .unwrap();
    let elapsed = start.elapsed();
    assert_eq!(report.stored, n, "{report:?}");
    Some(elapsed)
}

async fn fresh_postgres(admin: &str) -> (String, String) {
    let name = format!("pakn_bench_{}", uuid::Uuid::now_v7().simple());
    let conn = Database::connect(admin).await.unwrap();
    conn.execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    let _ = conn.close().await;
    // Keep the admin URL's options (e.g. `?sslmode=disable` on loopback).
    let (base, query) = admin.split_once('?').unwrap_or((admin, ""));
    let (head, _) = base.rsplit_once('/').unwrap();
    let query = if query.is_empty() {
        String::new()
    } else {
        format!("?{query}")
    };
    (format!("{head}/{name}{query}"), name)
}

#[tokio::main]
async fn main() {
    pakn::install_tls_provider();
    let n: usize = std::env::var("PAKN_BENCH_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400);
    let backends = std::env::var("PAKN_BENCH_BACKENDS").unwrap_or("sqlite,postgres".into());
    let pg_admin = std::env::var("PAKN_BENCH_POSTGRES_URL")
        .or_else(|_| std::env::var("PAKN_TEST_POSTGRES_URL"))
        .ok();
    println!("| backend | path | messages | per second |\n|---|---|---:|---:|");
    for backend in backends.split(',') {
        let dir = tempfile::tempdir().unwrap();
        let (url, pg_name) = match backend {
            "sqlite" => (
                format!("sqlite://{}", dir.path().join("bench.db").display()),
                None,
            ),
            "postgres" => match &pg_admin {
                Some(admin) => {
                    let (url, name) = fresh_postgres(admin).await;
                    (url, Some(name))
                }
                None => continue,
            },
            _ => continue,
        };
        let e = Arc::new(env(&url).await);
        row(
            backend,
            "web form intake service (baseline)",
            n,
            web_intake(&e, n).await,
        );
        row(
            backend,
            "e-mail ingestion, 1 at a time",
            n,
            mail_sequential(&e, n, "seq").await,
        );
        row(
            backend,
            "e-mail ingestion, 8 at once",
            n,
            mail_concurrent(e.clone(), n, "par", 8).await,
        );
        let piped = (n / 10).max(10);
        row(
            backend,
            "`pakn ingest-email`, a process per message",
            piped,
            pipe(&url, piped, "pipe"),
        );
        match imap(&e, n, "imap").await {
            Some(d) => row(backend, "IMAP poll of a local Dovecot mailbox", n, d),
            None => println!("| {backend} | IMAP (Dovecot not installed) | – | – |"),
        }
        e.store.connection().clone().close().await.ok();
        if let (Some(admin), Some(name)) = (&pg_admin, pg_name) {
            let conn = Database::connect(admin).await.unwrap();
            let _ = conn
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .await;
        }
    }
}
