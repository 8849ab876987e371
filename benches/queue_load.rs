//! The load profile of a province after some years:
//! `PAKN_BENCH_ITEMS` (default 1,000,000) items with their three
//! deadlines each, spread over two years, states, channels, agencies and
//! fields, written into a fresh PostgreSQL database by SQL from one real
//! item; then the control office's queue (first page, filters, search),
//! its summary, a half year's statistics, the public Q&A, the staff
//! console's queue and item pages and web intake
//! are driven beside `GET /health/live` on the same server, the run's
//! baseline. The process's resident memory is read at rest (after start,
//! before the seed), after the seed, and after the load.
//!
//! Run: `PAKN_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres
//! cargo bench --bench queue_load`. `PAKN_BENCH_SECONDS` (default 5),
//! `PAKN_BENCH_CONCURRENCY` (default 1,4,16), `PAKN_BENCH_KEEP=1` keeps the
//! database for EXPLAIN.

#![allow(clippy::unwrap_used)]

#[path = "support/wrk.rs"]
mod wrk;

use std::time::{Duration, Instant};

use chrono::Utc;
use pakn::config::{DemoData, Settings};
use pakn::domain::staff::Role;
use pakn::services::auth::{StaffSpec, add_staff};
use pakn::startup::Application;
use pakn::store::Store;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use secrecy::SecretString;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const PASSWORD: &str = "mật khẩu đo tải 2026";

/// The item the seed copies and the intake steps submit.
fn submission() -> serde_json::Value {
    serde_json::json!({
        "kind": "phan_anh",
        "title": "Thủ tục cấp phép xây dựng chậm",
        "content": "Hồ sơ xin cấp giấy phép xây dựng của tôi đã quá hạn 30 ngày mà chưa có kết quả, đề nghị xem xét.",
        "field_code": "xay_dung",
        "submitter": {"full_name": "Nguyễn Văn An", "address": {"detail": "12 Lê Lợi"}, "phone": "0912 345 678"}
    })
}

fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

async fn columns(db: &DatabaseConnection, table: &str) -> Vec<String> {
    db.query_all_raw(Statement::from_string(
        db.get_database_backend(),
        format!(
            "SELECT column_name::text FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name = '{table}' \
             AND is_generated = 'NEVER' ORDER BY ordinal_position"
        ),
    ))
    .await
    .unwrap()
    .iter()
    .map(|r| r.try_get_by_index::<String>(0).unwrap())
    .collect()
}

/// `INSERT INTO table (every column) SELECT <override or source.column>`.
async fn copy_sql(
    db: &DatabaseConnection,
    table: &str,
    source: &str,
    overrides: &[(&str, String)],
) -> String {
    let cols = columns(db, table).await;
    let exprs: Vec<String> = cols
        .iter()
        .map(|c| {
            overrides
                .iter()
                .find(|(name, _)| name == c)
                .map_or_else(|| format!("{source}.{c}"), |(_, e)| e.clone())
        })
        .collect();
    format!(
        "INSERT INTO {table} ({}) SELECT {}",
        cols.join(", "),
        exprs.join(", ")
    )
}

/// Writes `n` items (and three deadlines each) from the one real item.
async fn seed(base: &str, url: &str, n: usize) -> Duration {
    let started = Instant::now();
    let reply = reqwest::Client::new()
        .post(format!("{base}/api/v1/feedback"))
        .json(&submission())
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status().as_u16(), 201);
    let db = Database::connect(url).await.unwrap();
    let template: String = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT id::text FROM feedback_item LIMIT 1",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index(0)
        .unwrap();
    // What a province looks like after two years: the last 45 days' items
    // in every state, older ones answered, published, closed or not
    // accepted, but for 3 in 100 still open (the backlog). Written as the
    // service writes them: an item's `due_at` is its open answer
    // deadline's, so a closed or paused item has none.
    // Open and not paused: the states whose items have a `due_at`.
    let running = "'received','classified','forwarded','in_handling','answer_under_review'";
    let state = format!(
        "CASE WHEN g % 730 < 45 THEN (ARRAY[{running},\
                 'answered','published','closed','not_accepted','awaiting_information'])[1 + g % 10] \
                 WHEN g % 100 < 3 THEN (ARRAY[{running},'awaiting_information'])[1 + g % 6] \
                 ELSE (ARRAY['answered','answered','answered','answered','published','closed','closed',\
                 'closed','not_accepted','not_accepted'])[1 + (g / 730) % 10] END"
    );
    let channels = "ARRAY['web_form','web_form','web_form','email','email','hotline','letter_post','letter_box']";
    let received = "now() - (g % 730) * interval '1 day' - (g % 1440) * interval '1 minute'";
    let answered = format!("LEAST(now(), {received} + (g % 30) * interval '1 day')");
    let item = copy_sql(
        &db,
        "feedback_item",
        "t",
        &[
            ("id", "gen_random_uuid()".into()),
            ("tracking_code", "'PAKN.48.LOAD.' || lpad(g::text, 7, '0')".into()),
            ("state", "st".into()),
            ("channel", format!("({channels})[1 + g % 8]")),
            ("received_at", received.into()),
            ("created_at", received.into()),
            ("updated_at", "now() - (g % 730) * interval '1 day'".into()),
            ("due_at", format!("CASE WHEN st IN ({running}) THEN {received} + interval '28 days' END")),
            ("handling_agency_id", "CASE WHEN st NOT IN ('received','classified','not_accepted') THEN (a.ids)[1 + g % array_length(a.ids, 1)] END".into()),
            ("field_id", "(f.ids)[1 + g % array_length(f.ids, 1)]".into()),
            ("rejection_code", "CASE WHEN st = 'not_accepted' THEN (ARRAY['R01','R02','R03'])[1 + g % 3] END".into()),
            ("search_text", "t.search_text || ' hoso' || g".into()),
            ("answer", "CASE WHEN st IN ('answered','published','closed') THEN 'Cơ quan đã kiểm tra và giải quyết hồ sơ theo đúng quy định.' END".into()),
            ("answered_at", format!("CASE WHEN st IN ('answered','published','closed') THEN {answered} END")),
            ("published_at", format!("CASE WHEN st = 'published' THEN {answered} END")),
            ("title_redacted", "CASE WHEN st = 'published' THEN t.title END".into()),
            ("question_redacted", "CASE WHEN st = 'published' THEN t.content END".into()),
            ("public_search_text", "CASE WHEN st = 'published' THEN t.search_text END".into()),
            // As the service keeps it when the answer is sent: against
            // the deadline written below (due 28 days after receipt).
            ("answer_timeliness", format!("CASE WHEN st IN ('answered','published','closed') THEN \
                CASE WHEN {answered} <= {received} + interval '28 days' THEN 'on_time' ELSE 'late' END END")),
        ],
    )
    .await;
    db.execute_unprepared(&format!(
        "{item} FROM feedback_item t, (SELECT g, {state} AS st FROM generate_series(1, {n}) g) s, \
         (SELECT array_agg(id) AS ids FROM agency WHERE code LIKE '48.S%') a, \
         (SELECT array_agg(id) AS ids FROM field) f \
         WHERE t.id = '{template}'"
    ))
    .await
    .unwrap();
    // Every item's three deadlines, due four weeks after receipt; met when
    // the item was answered, ended with it when it was closed otherwise.
    let due = "i.received_at + interval '28 days'";
    let deadline = copy_sql(
        &db,
        "feedback_deadline",
        "d",
        &[
            ("id", "gen_random_uuid()".into()),
            ("feedback_item_id", "i.id".into()),
            ("starts_at", "i.received_at".into()),
            ("due_at", due.into()),
            ("original_due_at", due.into()),
            ("remind_at", format!("{due} - interval '2 days'")),
            ("next_overdue_notice_at", due.into()),
            ("state", "CASE WHEN i.answered_at IS NULL AND i.state NOT IN ('closed','not_accepted') THEN d.state ELSE 'met' END".into()),
            ("met_at", "i.answered_at".into()),
        ],
    )
    .await;
    db.execute_unprepared(&format!(
        "{deadline} FROM feedback_item i, feedback_deadline d \
         WHERE d.feedback_item_id = '{template}' AND i.id <> '{template}'"
    ))
    .await
    .unwrap();
    db.execute_unprepared("VACUUM ANALYZE").await.unwrap();
    db.close().await.unwrap();
    started.elapsed()
}

async fn start(url: &str) -> (String, Store) {
    let mut settings = Settings::defaults().unwrap();
    settings.server.bind = "127.0.0.1:0".into();
    settings.server.public_base_url = String::new();
    settings.database.url = SecretString::from(url.to_string());
    settings.database.demo_data = DemoData::Always;
    settings.database.max_connections = 32;
    settings.rate_limit.enabled = false;
    settings.auth.demo_accounts = false;
    settings.mail.outbound.transport = pakn::config::MailTransport::Off;
    let app = Application::build(settings).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    let store = app.store().clone();
    tokio::spawn(app.run_until_stopped());
    (base, store)
}

async fn token(base: &str, store: &Store, username: &str, role: Role) -> String {
    add_staff(
        store,
        StaffSpec {
            username: username.into(),
            display_name: username.into(),
            role,
            agency_code: "48.VP".into(),
            password: Some(PASSWORD.into()),
            is_demo: false,
            email: None,
        },
        Utc::now(),
    )
    .await
    .unwrap();
    let reply: serde_json::Value = reqwest::Client::new()
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({"username": username, "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    reply["token"].as_str().unwrap().to_string()
}

#[tokio::main]
async fn main() {
    pakn::install_tls_provider();
    let _ = pakn::telemetry::init("warn", pakn::config::LogFormat::Pretty, std::io::stderr);
    let env_num = |k: &str, d: u64| {
        std::env::var(k)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(d)
    };
    let items = env_num("PAKN_BENCH_ITEMS", 1_000_000) as usize;
    let duration = Duration::from_secs(env_num("PAKN_BENCH_SECONDS", 5));
    let levels: Vec<usize> = std::env::var("PAKN_BENCH_CONCURRENCY")
        .ok()
        .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1, 16]);
    let Some(admin) = std::env::var("PAKN_BENCH_POSTGRES_URL")
        .ok()
        .or_else(|| std::env::var("PAKN_TEST_POSTGRES_URL").ok())
        .filter(|s| !s.is_empty())
    else {
        eprintln!("queue_load needs PostgreSQL: set PAKN_TEST_POSTGRES_URL");
        return;
    };
    assert!(
        wrk::available(),
        "queue_load needs wrk (apt-get install wrk)"
    );
    let name = format!("pakn_bench_{}", uuid::Uuid::now_v7().simple());
    let conn = Database::connect(&admin).await.unwrap();
    conn.execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    let (head, _) = admin.rsplit_once('/').unwrap();
    let url = format!("{head}/{name}");

    let (base, store) = start(&url).await;
    let office = token(&base, &store, "do.tai", Role::ControlOffice).await;
    let at_rest = rss_kb();
    let took = seed(&base, &url, items).await;
    // What the scheduler does every minute on a running service: the
    // queue counts' deltas of the seed folded.
    store.compact_kept_counts().await.unwrap();
    // The answers' working days, as `pakn recount --repair` counts them
    // for answers sent before they were kept (timed: what an upgrade of
    // a database this size costs).
    let counting = Instant::now();
    let calendar = pakn::services::deadlines::start(&store, &Settings::defaults().unwrap())
        .await
        .unwrap()
        .calendar()
        .current();
    let counted = pakn::services::recount::count_working_days(&store, &calendar)
        .await
        .unwrap();
    println!(
        "working days of {counted} answers counted in {:.0} s",
        counting.elapsed().as_secs_f64()
    );
    // The kept figures' rows the counting appended, folded as the
    // scheduler does every minute; then the kept tables compacted: the
    // seed wrote two years' rows in minutes, leaving tables of dead rows
    // (60–130 MB) that a service folding every minute, with autovacuum
    // after every thousand dead rows, never grows (under 1 MB here).
    store.compact_kept_counts().await.unwrap();
    store
        .connection()
        .execute_unprepared("VACUUM FULL item_state_delta, item_due_delta, stat_day_delta")
        .await
        .unwrap();
    // Autovacuum's work after that many updates, before anything is
    // measured.
    store
        .connection()
        .execute_unprepared("VACUUM ANALYZE")
        .await
        .unwrap();
    let after_seed = rss_kb();
    println!(
        "{items} items and {} deadlines seeded in {:.0} s; load generator wrk (Debian), 1 thread, {} s per step",
        items * 3,
        took.as_secs_f64(),
        duration.as_secs()
    );
    // An item still to triage: its page also computes the routing and
    // duplicate suggestions (the heaviest item page there is). One the
    // service received itself (the copies' codes are not real codes).
    let db = Database::connect(url.as_str()).await.unwrap();
    let waiting: String = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT tracking_code FROM feedback_item WHERE state = 'received' \
             AND tracking_code NOT LIKE 'PAKN.48.LOAD.%' ORDER BY received_at LIMIT 1",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index(0)
        .unwrap();
    db.close().await.unwrap();
    let item_page = format!("/nhan-vien/phan-anh/{waiting}");
    let requests: Vec<(&str, &str, bool)> = vec![
        ("GET /health/live (baseline)", "/health/live", false),
        ("queue, first page", "/api/v1/staff/feedback", true),
        (
            "queue, one state",
            "/api/v1/staff/feedback?state=forwarded",
            true,
        ),
        (
            "queue, agency + field",
            "/api/v1/staff/feedback?agency_code=48.SXD&field_code=xay_dung",
            true,
        ),
        (
            "queue, overdue",
            "/api/v1/staff/feedback?overdue=true",
            true,
        ),
        (
            "queue, search one item",
            "/api/v1/staff/feedback?q=hoso123457",
            true,
        ),
        ("queue summary", "/api/v1/staff/feedback/summary", true),
        ("public Q&A, page 1", "/api/v1/public/qa", false),
        (
            "public Q&A, search",
            "/api/v1/public/qa?q=giay%20phep",
            false,
        ),
        ("public Q&A page /hoi-dap", "/hoi-dap", false),
        ("console: queue page", "/nhan-vien/phan-anh", true),
        (
            "console: queue page, one state",
            "/nhan-vien/phan-anh?state=forwarded",
            true,
        ),
        ("console: item page (to triage)", &item_page, true),
        (
            "console: live counts (one message)",
            "/nhan-vien/su-kien",
            true,
        ),
        // Last: wrk gives up on a slow request after 2 s but the server
        // finishes it, so a heavy step would spill into the next one.
        (
            "statistics, half year",
            "/api/v1/staff/stats?period=2026-H1",
            true,
        ),
    ];
    // Web intake into the full table (the built-in client: a POST body),
    // first, so that no other step's stragglers share its seconds; its
    // rows are printed at the end of the table.
    let client = reqwest::Client::new();
    let mut intake_rows = Vec::new();
    let body = submission();
    for &clients in &levels {
        let deadline = Instant::now() + duration;
        let started = Instant::now();
        let tasks: Vec<_> = (0..clients)
            .map(|_| {
                let (client, base, body) = (client.clone(), base.clone(), body.clone());
                tokio::spawn(async move {
                    let mut ok = 0u64;
                    let mut latencies = Vec::new();
                    while Instant::now() < deadline {
                        let t = Instant::now();
                        let r = client
                            .post(format!("{base}/api/v1/feedback"))
                            .json(&body)
                            .send()
                            .await;
                        latencies.push(t.elapsed().as_micros() as u64);
                        if r.is_ok_and(|r| r.status().as_u16() == 201) {
                            ok += 1;
                        }
                    }
                    (ok, latencies)
                })
            })
            .collect();
        let (mut ok, mut latencies) = (0, Vec::new());
        for t in tasks {
            let (o, l) = t.await.unwrap();
            ok += o;
            latencies.extend(l);
        }
        latencies.sort_unstable();
        intake_rows.push(format!(
            "| POST /api/v1/feedback (built-in client) | {clients} | {:.0} | {:.2} | {:.2} | {} |",
            ok as f64 / started.elapsed().as_secs_f64(),
            wrk::percentile(&latencies, 0.5),
            wrk::percentile(&latencies, 0.99),
            latencies.len() as u64 - ok
        ));
    }
    // The deltas the intake steps wrote, folded, as the scheduler does
    // within a minute on a running service, and vacuumed, as autovacuum
    // does after a thousand dead rows (migration 29).
    store.compact_kept_counts().await.unwrap();
    store
        .connection()
        .execute_unprepared("VACUUM ANALYZE item_state_delta, item_due_delta, stat_day_delta")
        .await
        .unwrap();
    let mut in_process_rows = Vec::new();
    // Without the service's copies: the public search and the queue
    // summary read from the database at every call (what the first
    // request after a change costs), called in the process.
    let now = Utc::now();
    let search = pakn::store::public_qa::PublicQuery {
        terms: vec!["giay".into(), "phep".into()],
        limit: 20,
        ..Default::default()
    };
    for &clients in &levels {
        let (store, search) = (store.clone(), search.clone());
        let step = wrk::in_process(clients, duration, move || {
            let (store, search) = (store.clone(), search.clone());
            async move { store.public_items(&search).await.is_ok() }
        })
        .await;
        in_process_rows.push(format!(
            "| public Q&A, search, not kept (in process) | {clients} | {:.0} | {:.2} | {:.2} | {} |",
            step.rate, step.p50_ms, step.p99_ms, step.errors
        ));
    }
    for &clients in &levels {
        let store = store.clone();
        let step = wrk::in_process(clients, duration, move || {
            let store = store.clone();
            async move {
                store
                    .queue_summary(pakn::store::queue::QueueScope::Province, now)
                    .await
                    .is_ok()
            }
        })
        .await;
        in_process_rows.push(format!(
            "| queue summary, not kept (in process) | {clients} | {:.0} | {:.2} | {:.2} | {} |",
            step.rate, step.p50_ms, step.p99_ms, step.errors
        ));
    }
    println!("| request | clients | req/s | p50 ms | p99 ms | errors |");
    println!("|---|---:|---:|---:|---:|---:|");
    for (label, path, staff) in requests {
        let url = format!("{base}{path}");
        let mut probe = client.get(&url);
        if staff {
            probe = probe.bearer_auth(&office);
        }
        let probe = probe.send().await.unwrap();
        assert!(probe.status().is_success(), "{label}: {}", probe.status());
        for &clients in &levels {
            let mut cmd = wrk::command(clients, duration);
            if staff {
                cmd.args(["-H", &format!("Authorization: Bearer {office}")]);
            }
            let step = wrk::run(cmd, &url);
            println!(
                "| {label} | {clients} | {:.0} | {:.2} | {:.2} | {} |",
                step.rate, step.p50_ms, step.p99_ms, step.errors
            );
        }
    }
    for row in intake_rows.iter().chain(&in_process_rows) {
        println!("{row}");
    }

    println!(
        "resident memory of the process (server and seeding client): {} MiB at rest, {} MiB after the seed, {} MiB after the load",
        at_rest / 1024,
        after_seed / 1024,
        rss_kb() / 1024
    );
    if std::env::var("PAKN_BENCH_KEEP").is_ok_and(|v| v == "1") {
        eprintln!("kept database {name}");
        return;
    }
    let _ = conn
        .execute_unprepared(&format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()"))
        .await;
    let _ = conn
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name}"))
        .await;
}
