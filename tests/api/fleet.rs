//! Several instances on one PostgreSQL database: three real
//! `pakn serve` processes, started at the same moment on an empty
//! database, share web intake (a client spreading its requests over them
//! as a load balancer would), one IMAP mailbox, the outbox and the
//! deadline scheduler. Every item is stored once with a unique tracking
//! code, every notice is queued and delivered once, and no instance logs
//! an error (a deadlock or a lost race would).

use crate::case_once;
use macro_rules_attribute::apply;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use serde_json::Value;

use crate::helpers::{fresh_database, valid_submission};
use crate::imap::BODY as MAIL_BODY;
use crate::mail::{citizen_mail, header};
use crate::mail_servers::{Imap, SmtpSink};
use crate::processes::{Server, count, polling};

const WEB_ITEMS: usize = 180;
const MAIL_ITEMS: usize = 24;
const OVERDUE_ITEMS: usize = 15;
const CONTROL_OFFICE_MAIL: &str = "vanphong-fleet@example.vn";

async fn strings(db: &DatabaseConnection, sql: &str) -> Vec<String> {
    db.query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .iter()
        .map(|r| r.try_get_by_index::<String>(0).expect("text"))
        .collect()
}

/// Waits until `sql` counts `want`, or fails after `limit`.
async fn until_count(db: &DatabaseConnection, sql: &str, want: i64, limit: Duration) {
    let started = Instant::now();
    loop {
        let got = count(db, sql).await;
        if got == want {
            return;
        }
        assert!(
            started.elapsed() < limit,
            "waited {limit:?} for {want} from `{sql}`, have {got}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[apply(case_once!)]
async fn three_instances_share_intake_mail_outbox_and_scheduler_exactly_once() {
    // Several instances share one PostgreSQL database.
    crate::harness::require_postgres();
    let Some(imap) = Imap::start() else { return };
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database("postgres", &dir).await;
    let mut env = vec![
        ("PAKN__DATABASE__URL", url.clone()),
        ("PAKN__DATABASE__DEMO_DATA", "always".to_string()),
        ("PAKN__DATABASE__MAX_CONNECTIONS", "8".to_string()),
        ("PAKN__RATE_LIMIT__ENABLED", "false".to_string()),
        ("PAKN__MAIL__OUTBOUND__TRANSPORT", "smtp".to_string()),
        ("PAKN__MAIL__OUTBOUND__SMTP_HOST", "127.0.0.1".to_string()),
        ("PAKN__MAIL__OUTBOUND__SMTP_PORT", sink.port.to_string()),
        ("PAKN__MAIL__OUTBOUND__SMTP_SECURITY", "plain".to_string()),
        ("PAKN__MAIL__OUTBOUND__INTERVAL_SECONDS", "1".to_string()),
        (
            "PAKN__DEADLINES__SCHEDULER_INTERVAL_SECONDS",
            "5".to_string(),
        ),
    ];
    env.extend(polling(&imap));
    for i in 0..MAIL_ITEMS / 2 {
        imap.deliver(
            citizen_mail(
                &format!("fleet-{i}@example.vn"),
                &format!("mail-sender-{i}@example.vn"),
                "Đăng ký hộ kinh doanh",
                MAIL_BODY,
            )
            .as_bytes(),
        );
    }

    // Three instances started at once on an empty database: migrations,
    // the demo directory, the calendar and the reply key are raced for.
    let servers: Vec<Server> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..3)
            .map(|i| {
                let (dir, env) = (dir.path(), &env);
                s.spawn(move || Server::start(dir, &format!("instance-{i}"), env))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let at_rest: Vec<u64> = servers.iter().filter_map(Server::rss_kb).collect();
    let bases: Arc<Vec<String>> = Arc::new(servers.iter().map(|s| s.base.clone()).collect());

    // Web intake spread round-robin over the three, 12 clients at a time,
    // while the rest of the mail arrives.
    let client = reqwest::Client::new();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..12 {
        let (client, bases, next) = (client.clone(), bases.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            let mut codes = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                if i >= WEB_ITEMS {
                    return codes;
                }
                let mut body = valid_submission();
                body["title"] = Value::from(format!("Giấy phép xây dựng quá hạn (hồ sơ {i})"));
                body["submitter"]["email"] = Value::from(format!("web-{i}@example.vn"));
                let response = client
                    .post(format!("{}/api/v1/feedback", bases[i % bases.len()]))
                    .json(&body)
                    .send()
                    .await
                    .expect("answered");
                let status = response.status();
                let reply: Value = response.json().await.expect("JSON");
                assert_eq!(status, 201, "submission {i}: {reply}");
                codes.push(reply["tracking_code"].as_str().unwrap().to_string());
            }
        }));
    }
    for i in MAIL_ITEMS / 2..MAIL_ITEMS {
        imap.deliver(
            citizen_mail(
                &format!("fleet-{i}@example.vn"),
                &format!("mail-sender-{i}@example.vn"),
                "Đăng ký hộ kinh doanh",
                MAIL_BODY,
            )
            .as_bytes(),
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut acknowledged = Vec::new();
    for w in workers {
        acknowledged.extend(w.await.unwrap());
    }

    let db = Database::connect(&url).await.unwrap();
    let total = (WEB_ITEMS + MAIL_ITEMS) as i64;
    until_count(
        &db,
        "SELECT count(*) FROM feedback_item",
        total,
        Duration::from_secs(60),
    )
    .await;
    assert_eq!(
        count(
            &db,
            "SELECT count(DISTINCT tracking_code) FROM feedback_item"
        )
        .await,
        total,
        "every tracking code is unique"
    );
    let stored: HashSet<String> = strings(
        &db,
        "SELECT tracking_code FROM feedback_item WHERE channel = 'web_form'",
    )
    .await
    .into_iter()
    .collect();
    let answered: HashSet<String> = acknowledged.iter().cloned().collect();
    assert_eq!(answered.len(), WEB_ITEMS, "201s carry distinct codes");
    assert_eq!(
        stored, answered,
        "exactly the acknowledged items are stored"
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM feedback_item WHERE channel = 'email'"
        )
        .await,
        MAIL_ITEMS as i64,
        "each message in the mailbox became one item"
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM inbound_mail").await,
        MAIL_ITEMS as i64
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM audit_event WHERE action = 'feedback.received'"
        )
        .await,
        total,
        "one receipt in the audit trail per item"
    );

    // Deadlines: the receiving office gets an address, and some items'
    // classification deadline is made to have passed; the three
    // schedulers race to escalate them.
    db.execute_unprepared(&format!(
        "UPDATE agency SET email = '{CONTROL_OFFICE_MAIL}' \
         WHERE id IN (SELECT receiving_agency_id FROM feedback_item)"
    ))
    .await
    .unwrap();
    db.execute_unprepared(&format!(
        "UPDATE feedback_deadline SET due_at = now() - interval '2 days', \
         next_overdue_notice_at = now() - interval '2 days' \
         WHERE kind = 'classify' AND feedback_item_id IN \
         (SELECT id FROM feedback_item ORDER BY received_at LIMIT {OVERDUE_ITEMS})"
    ))
    .await
    .unwrap();
    until_count(
        &db,
        "SELECT count(*) FROM notice WHERE kind = 'deadline_overdue' AND status = 'sent'",
        OVERDUE_ITEMS as i64,
        Duration::from_secs(60),
    )
    .await;
    until_count(
        &db,
        "SELECT count(*) FROM notice WHERE status NOT IN ('sent', 'skipped')",
        0,
        Duration::from_secs(60),
    )
    .await;
    // Every acknowledgement (web and mail) and escalation was queued once.
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM notice WHERE kind IN \
             ('citizen_acknowledgement', 'citizen_email_acknowledgement')"
        )
        .await,
        total
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM (SELECT deadline_id FROM notice WHERE kind = 'deadline_overdue' \
             GROUP BY deadline_id HAVING count(*) > 1) AS twice"
        )
        .await,
        0,
        "one escalation per passed deadline, whichever scheduler saw it"
    );

    // Every sent notice reached the SMTP sink exactly once, and nothing
    // else did.
    let sent: Vec<String> = strings(
        &db,
        "SELECT message_id FROM notice WHERE status = 'sent' ORDER BY message_id",
    )
    .await;
    assert_eq!(sent.len(), total as usize + OVERDUE_ITEMS);
    let settle = Instant::now();
    let delivered = loop {
        let delivered: Vec<String> = sink
            .messages()
            .iter()
            .filter_map(|m| header(&String::from_utf8_lossy(m), "Message-ID"))
            .map(|id| id.trim_matches(['<', '>']).to_string())
            .collect();
        if delivered.len() >= sent.len() || settle.elapsed() > Duration::from_secs(10) {
            break delivered;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let mut times: HashMap<&str, usize> = HashMap::new();
    for id in &delivered {
        *times.entry(id.as_str()).or_default() += 1;
    }
    for id in &sent {
        let id = id.trim_matches(['<', '>']);
        assert_eq!(times.get(id), Some(&1), "notice {id} delivered once");
    }
    assert_eq!(delivered.len(), sent.len(), "no message beyond the notices");

    // All three took part, none logged an error or personal data, and
    // their memory stayed small (a debug build; release figures are in
    // benches/README.md).
    let after_load: Vec<u64> = servers.iter().filter_map(Server::rss_kb).collect();
    eprintln!("resident memory (kB) at rest {at_rest:?}, after the load {after_load:?}");
    assert_eq!(after_load.len(), 3);
    assert!(
        after_load.iter().all(|kb| *kb < 256 * 1024),
        "each instance under 256 MiB: {after_load:?}"
    );
    for server in &servers {
        let log = server.log_text();
        assert!(
            server.errors().is_empty(),
            "{}: {:?}",
            server.name,
            server.errors()
        );
        assert!(
            log.contains("\"feedback received\""),
            "{} served part of the web intake",
            server.name
        );
        server.assert_no_personal_data(&["web-1@example.vn", "mail-sender-1@example.vn"]);
    }
    let polled: usize = servers
        .iter()
        .map(|s| s.log_text().matches("feedback received by e-mail").count())
        .sum();
    assert_eq!(
        polled, MAIL_ITEMS,
        "each message was taken in by one instance"
    );
    drop(db);
    for mut server in servers {
        server.stop();
    }
}
