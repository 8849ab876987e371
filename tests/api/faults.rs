//! Crash safety, with real processes: `pakn serve` killed
//! with SIGKILL in the middle of web intake and of reading the mailbox,
//! and the PostgreSQL server stopped hard and started again under load.
//! Every submission that got a 201 is stored with its receipt in the audit
//! trail and its acknowledgement queued; no item is half-written; the
//! mailbox is read on from where it stopped, each message once; while the
//! database is away clients get 503 with `Retry-After`, never a hang or a
//! 500.

use crate::{case, case_once};
use macro_rules_attribute::apply;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use serde_json::Value;

use crate::helpers::{fresh_database, valid_submission};
use crate::imap::BODY as MAIL_BODY;
use crate::mail::citizen_mail;
use crate::mail_servers::Imap;
use crate::processes::{PrivatePostgres, Server, count, polling};

/// What the clients saw.
#[derive(Default, Debug)]
struct Seen {
    /// (tracking code, lookup token) of every 201.
    acknowledged: Vec<(String, String)>,
    /// 503s, each with `Retry-After` and a problem body (checked).
    unavailable: usize,
    /// Connections refused or reset: the process was gone.
    no_answer: usize,
    /// Anything else: a 500, another status, a request that hung.
    wrong: Vec<String>,
}

/// `clients` loops posting submissions to `base` until `stop`.
fn drive(base: String, clients: usize, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<Seen> {
    tokio::spawn(async move {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .build()
            .unwrap();
        let counter = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..clients {
            let (client, base, stop, counter) =
                (client.clone(), base.clone(), stop.clone(), counter.clone());
            tasks.push(tokio::spawn(async move {
                let mut seen = Seen::default();
                while !stop.load(Ordering::SeqCst) {
                    let i = counter.fetch_add(1, Ordering::SeqCst);
                    let mut body = valid_submission();
                    body["submitter"]["email"] = Value::from(format!("crash-{i}@example.vn"));
                    let sent = client
                        .post(format!("{base}/api/v1/feedback"))
                        .json(&body)
                        .send()
                        .await;
                    let response = match sent {
                        Ok(r) => r,
                        Err(e) if e.is_timeout() => {
                            seen.wrong.push(format!("request hung: {e}"));
                            continue;
                        }
                        Err(_) => {
                            seen.no_answer += 1;
                            tokio::time::sleep(Duration::from_millis(20)).await;
                            continue;
                        }
                    };
                    let status = response.status().as_u16();
                    let retry_after = response
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.parse::<u64>().ok());
                    let content_type = response
                        .headers()
                        .get("content-type")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_string();
                    let Ok(text) = response.text().await else {
                        // The process died while answering: no 201 seen.
                        seen.no_answer += 1;
                        continue;
                    };
                    match status {
                        201 => {
                            let v: Value = serde_json::from_str(&text).unwrap();
                            seen.acknowledged.push((
                                v["tracking_code"].as_str().unwrap().to_string(),
                                v["lookup_token"].as_str().unwrap().to_string(),
                            ));
                        }
                        503 if retry_after.is_some_and(|s| s > 0)
                            && content_type.starts_with("application/problem+json")
                            && text.contains("\"code\"") =>
                        {
                            seen.unavailable += 1;
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                        _ => seen.wrong.push(format!("{status} {content_type} {text}")),
                    }
                }
                seen
            }));
        }
        let mut all = Seen::default();
        for t in tasks {
            let s = t.await.unwrap();
            all.acknowledged.extend(s.acknowledged);
            all.unavailable += s.unavailable;
            all.no_answer += s.no_answer;
            all.wrong.extend(s.wrong);
        }
        all
    })
}

async fn wait_for(what: &str, limit: Duration, mut done: impl AsyncFnMut() -> bool) {
    let started = Instant::now();
    while !done().await {
        assert!(started.elapsed() < limit, "waited {limit:?} for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Everything stored is whole: each item has its receipt in the audit
/// trail, its three deadlines and (it has an e-mail address) its queued
/// acknowledgement; and each acknowledged code is among them.
async fn assert_whole(db: &DatabaseConnection, seen: &Seen, backend: &str) {
    let codes: Vec<String> = seen
        .acknowledged
        .iter()
        .map(|(c, _)| format!("'{c}'"))
        .collect();
    assert_eq!(
        count(
            db,
            &format!(
                "SELECT count(*) FROM feedback_item WHERE tracking_code IN ({})",
                codes.join(",")
            )
        )
        .await,
        codes.len() as i64,
        "[{backend}] every 201 is stored"
    );
    let half_written = [
        (
            "without their receipt in the audit trail",
            "SELECT count(*) FROM feedback_item f WHERE NOT EXISTS (SELECT 1 FROM audit_event a \
             WHERE a.feedback_item_id = f.id AND a.action = 'feedback.received')",
        ),
        (
            "without three deadlines",
            "SELECT count(*) FROM feedback_item f WHERE (SELECT count(*) FROM feedback_deadline d \
             WHERE d.feedback_item_id = f.id) <> 3",
        ),
        (
            "without a queued acknowledgement",
            "SELECT count(*) FROM feedback_item f WHERE f.email IS NOT NULL AND NOT EXISTS \
             (SELECT 1 FROM notice n WHERE n.feedback_item_id = f.id AND n.kind IN \
             ('citizen_acknowledgement', 'citizen_email_acknowledgement'))",
        ),
    ];
    for (what, sql) in half_written {
        assert_eq!(count(db, sql).await, 0, "[{backend}] items {what}");
    }
}

#[apply(case!)]
async fn a_killed_server_loses_no_acknowledged_item_and_reads_the_mailbox_on() {
    for backend in crate::harness::backends() {
        let Some(imap) = Imap::start() else { return };
        let dir = tempfile::tempdir().unwrap();
        let url = fresh_database(backend, &dir).await;
        const MESSAGES: usize = 400;
        for i in 0..MESSAGES {
            imap.deliver(
                citizen_mail(
                    &format!("crash-{i}@example.vn"),
                    &format!("crash-mail-{i}@example.vn"),
                    "Đăng ký hộ kinh doanh",
                    MAIL_BODY,
                )
                .as_bytes(),
            );
        }
        let mut env = vec![
            ("PAKN__DATABASE__URL", url.clone()),
            ("PAKN__DATABASE__DEMO_DATA", "always".to_string()),
            ("PAKN__RATE_LIMIT__ENABLED", "false".to_string()),
            // Notices stay queued, to be counted.
            ("PAKN__MAIL__OUTBOUND__TRANSPORT", "off".to_string()),
            // The mailbox lease a killed process leaves runs out after
            // 4 × timeout + interval = 9 s.
            ("PAKN__MAIL__IMAP__TIMEOUT_SECONDS", "1".to_string()),
        ];
        env.extend(polling(&imap));
        let mut first = Server::start(dir.path(), "first", &env);
        let db = Database::connect(&url).await.unwrap();
        let email_items = "SELECT count(*) FROM feedback_item WHERE channel = 'email'";

        // Web intake under load while the mailbox is being read; the
        // process is killed once both are under way.
        let stop = Arc::new(AtomicBool::new(false));
        let load = drive(first.base.clone(), 6, stop.clone());
        wait_for(
            "the mailbox and the intake under way",
            Duration::from_secs(60),
            async || {
                count(&db, email_items).await >= 20
                    && count(
                        &db,
                        "SELECT count(*) FROM feedback_item WHERE channel = 'web_form'",
                    )
                    .await
                        >= 20
            },
        )
        .await;
        first.kill9();
        let read_before_kill = count(&db, email_items).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        stop.store(true, Ordering::SeqCst);
        let seen = load.await.unwrap();
        assert!(seen.wrong.is_empty(), "[{backend}] {:?}", seen.wrong);
        assert!(
            seen.acknowledged.len() >= 20,
            "[{backend}] the load ran: {seen:?}"
        );
        assert!(
            (read_before_kill as usize) < MESSAGES,
            "[{backend}] killed in the middle of the mailbox ({read_before_kill} of {MESSAGES} read)"
        );
        assert_whole(&db, &seen, backend).await;

        // Started again: the mailbox is read on from where it stopped,
        // and every message is one item.
        let second = Server::start(dir.path(), "second", &env);
        wait_for(
            "the rest of the mailbox",
            Duration::from_secs(90),
            async || count(&db, email_items).await == MESSAGES as i64,
        )
        .await;
        assert_eq!(
            count(&db, "SELECT count(*) FROM inbound_mail").await,
            MESSAGES as i64,
            "[{backend}] each message logged once"
        );
        assert_whole(&db, &seen, backend).await;
        // The submitters can follow what they were told was received.
        let client = reqwest::Client::new();
        for (code, token) in seen.acknowledged.iter().step_by(7) {
            let r = client
                .get(format!("{}/api/v1/feedback/{code}", second.base))
                .header("X-Lookup-Token", token)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "[{backend}] {code}");
        }
        assert!(
            second.errors().is_empty(),
            "[{backend}] {:?}",
            second.errors()
        );
        // Neither process wrote a submitter's details to its log.
        for server in [&first, &second] {
            let log = server.log_text();
            assert!(
                log.contains("feedback received"),
                "[{backend}] logs are read"
            );
            server.assert_no_personal_data(&["crash-1@example.vn", "crash-mail-1@example.vn"]);
        }
    }
}

#[apply(case_once!)]
async fn while_postgresql_restarts_clients_get_503_with_retry_after_and_nothing_acknowledged_is_lost()
 {
    let Some(pg) = PrivatePostgres::start() else {
        if crate::mail_servers::required() {
            panic!("PostgreSQL binaries are required for the database restart test");
        }
        crate::harness::not_run("no PostgreSQL binaries under /usr/lib/postgresql");
    };
    let admin = Database::connect(pg.url("postgres")).await.unwrap();
    admin
        .execute_unprepared("CREATE DATABASE pakn")
        .await
        .unwrap();
    drop(admin);
    let url = pg.url("pakn");
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        dir.path(),
        "server",
        &[
            ("PAKN__DATABASE__URL", url.clone()),
            ("PAKN__DATABASE__DEMO_DATA", "always".to_string()),
            ("PAKN__DATABASE__ACQUIRE_TIMEOUT_SECONDS", "2".to_string()),
            ("PAKN__DATABASE__CONNECT_TIMEOUT_SECONDS", "2".to_string()),
            ("PAKN__RATE_LIMIT__ENABLED", "false".to_string()),
            ("PAKN__MAIL__OUTBOUND__TRANSPORT", "off".to_string()),
        ],
    );
    let stop = Arc::new(AtomicBool::new(false));
    let load = drive(server.base.clone(), 4, stop.clone());
    tokio::time::sleep(Duration::from_millis(1500)).await;

    pg.down();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let ready = client
        .get(format!("{}/health/ready", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 503, "not ready without the database");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    pg.up();

    // Back: the pool reconnects by itself and intake goes on.
    wait_for("ready again", Duration::from_secs(30), async || {
        client
            .get(format!("{}/health/ready", server.base))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
    })
    .await;
    let before_restart_ended = Instant::now();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop.store(true, Ordering::SeqCst);
    let seen = load.await.unwrap();
    assert!(seen.wrong.is_empty(), "{:?}", seen.wrong);
    assert_eq!(seen.no_answer, 0, "the server itself never went away");
    assert!(
        seen.unavailable > 0,
        "clients were told to retry while the database was down: {seen:?}"
    );
    let db = Database::connect(&url).await.unwrap();
    assert_whole(&db, &seen, "postgres").await;
    let after = count(
        &db,
        &format!(
            "SELECT count(*) FROM feedback_item WHERE received_at > now() - interval '{} milliseconds'",
            before_restart_ended.elapsed().as_millis()
        ),
    )
    .await;
    assert!(after > 0, "items were taken again after the restart");
    let errors = server.errors();
    assert!(
        errors.is_empty(),
        "a database outage is a warning, not an error: {errors:?}"
    );
}
