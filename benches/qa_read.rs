//! The public Q&A under read load with many published answers:
//! `PAKN_BENCH_ITEMS` (default 100,000) published items are written
//! straight into a fresh database, then the list, searches (with and
//! without a typo) and the HTML page are driven at several concurrencies,
//! with `GET /health/live` on the same server as the baseline of the run.
//!
//! Run: `cargo bench --bench qa_read` (PostgreSQL too when
//! `PAKN_BENCH_POSTGRES_URL` or `PAKN_TEST_POSTGRES_URL` is set).
//! `PAKN_BENCH_SECONDS` (default 5), `PAKN_BENCH_CONCURRENCY` (default
//! 1,16), `PAKN_BENCH_BACKENDS` (default `sqlite,postgres`),
//! `PAKN_BENCH_CLIENT=builtin` as for `intake_load`.

#![allow(clippy::unwrap_used)]

#[path = "support/wrk.rs"]
mod wrk;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use wrk::{Step, percentile};

use chrono::{TimeZone, Utc};
use pakn::config::{DemoData, Settings};
use pakn::domain::text::fold_for_search;
use pakn::startup::Application;
use pakn::store::entities::feedback_item;
use sea_orm::{ActiveModelTrait, ConnectionTrait, Database, EntityTrait, IntoActiveModel};
use secrecy::SecretString;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Subjects and troubles people write about, combined into varied items.
const SUBJECTS: [&str; 12] = [
    "cấp giấy phép xây dựng nhà ở riêng lẻ",
    "đăng ký hộ kinh doanh",
    "cấp giấy chứng nhận quyền sử dụng đất",
    "chứng thực bản sao",
    "đăng ký khai sinh",
    "cấp phiếu lý lịch tư pháp",
    "thủ tục hỗ trợ hộ nghèo",
    "đăng ký thường trú",
    "cấp giấy phép lái xe",
    "thẩm định phòng cháy chữa cháy",
    "cấp phép khai thác nước ngầm",
    "bảo hiểm xã hội tự nguyện",
];
const TROUBLES: [&str; 6] = [
    "quá hạn mà chưa có kết quả",
    "yêu cầu thêm giấy tờ không có trong quy định",
    "phí, lệ phí thu không đúng quy định",
    "hướng dẫn của hai cơ quan không thống nhất",
    "quy định không phù hợp với thực tế",
    "phải đi lại nhiều lần",
];

/// Writes `n` published items by copying one real item (every required
/// column as the intake writes it) with varied published text.
async fn seed(base: &str, url: &str, n: usize) -> Duration {
    let started = Instant::now();
    let reply = reqwest::Client::new()
        .post(format!("{base}/api/v1/feedback"))
        .json(&serde_json::json!({
            "kind": "phan_anh",
            "title": "Thủ tục cấp phép xây dựng chậm",
            "content": "Hồ sơ xin cấp giấy phép xây dựng của tôi đã quá hạn 30 ngày mà chưa có kết quả, đề nghị xem xét.",
            "submitter": {"full_name": "Nguyễn Văn An", "address": {"detail": "12 Lê Lợi"}, "phone": "0912 345 678"}
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status().as_u16(), 201);
    let db = Database::connect(url).await.unwrap();
    let template = feedback_item::Entity::find()
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    let epoch = Utc.with_ymd_and_hms(2025, 1, 1, 1, 0, 0).unwrap();
    let mut batch = Vec::with_capacity(500);
    for i in 0..n {
        let subject = SUBJECTS[i % SUBJECTS.len()];
        let trouble = TROUBLES[(i / SUBJECTS.len()) % TROUBLES.len()];
        let title = format!("Thủ tục {subject} {trouble}");
        let question = format!(
            "Hồ sơ {subject} của công dân {trouble}; đề nghị cơ quan có thẩm quyền xem xét, giải quyết (mẫu {i})."
        );
        let answer = format!(
            "Cơ quan đã kiểm tra việc {subject}: hồ sơ được giải quyết theo đúng quy định; bộ phận một cửa đã được chấn chỉnh."
        );
        let published = epoch + chrono::Duration::minutes(i as i64 * 7);
        let mut item = template.clone();
        item.id = uuid::Uuid::now_v7();
        item.tracking_code = format!("PAKN.48.BENCH.{i:07}");
        item.state = "published".into();
        item.public_search_text = Some(fold_for_search(&format!("{title} {question} {answer}")));
        item.title_redacted = Some(title);
        item.question_redacted = Some(question);
        item.answer = Some(answer);
        item.answered_at = Some(published);
        item.published_at = Some(published);
        batch.push(item.into_active_model_all());
        if batch.len() == 500 || i + 1 == n {
            feedback_item::Entity::insert_many(std::mem::take(&mut batch))
                .exec(&db)
                .await
                .unwrap();
        }
    }
    // Fresh statistics, as a database that has been running would have.
    let analyze = if url.starts_with("sqlite") {
        "ANALYZE"
    } else {
        // What autovacuum does on a live database: statistics and the
        // visibility map (index-only counts).
        "VACUUM ANALYZE"
    };
    db.execute_unprepared(analyze).await.unwrap();
    db.close().await.unwrap();
    started.elapsed()
}

trait AllSet {
    fn into_active_model_all(self) -> feedback_item::ActiveModel;
}

impl AllSet for feedback_item::Model {
    /// Every column set, so the insert writes the whole row.
    fn into_active_model_all(self) -> feedback_item::ActiveModel {
        self.into_active_model().reset_all()
    }
}

fn drive_wrk(url: &str, clients: usize, duration: Duration) -> Step {
    wrk::run(wrk::command(clients, duration), url)
}

async fn drive(url: &str, clients: usize, duration: Duration) -> Step {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .build()
        .unwrap();
    let ok = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + duration;
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let (client, url, ok, errors) =
                (client.clone(), url.to_string(), ok.clone(), errors.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while Instant::now() < deadline {
                    let t = Instant::now();
                    let good = match client.get(&url).send().await {
                        Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                        Err(_) => false,
                    };
                    latencies.push(t.elapsed().as_micros() as u64);
                    if good {
                        ok.fetch_add(1, Ordering::Relaxed);
                    } else {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await.unwrap());
    }
    latencies.sort_unstable();
    Step {
        rate: ok.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64(),
        p50_ms: percentile(&latencies, 0.50),
        p99_ms: percentile(&latencies, 0.99),
        errors: errors.load(Ordering::Relaxed),
    }
}

async fn start(url: &str) -> String {
    let mut settings = Settings::defaults().unwrap();
    settings.server.bind = "127.0.0.1:0".into();
    settings.server.public_base_url = String::new();
    settings.database.url = SecretString::from(url.to_string());
    settings.database.demo_data = DemoData::Always;
    settings.database.max_connections = 32;
    settings.rate_limit.enabled = false;
    settings.mail.outbound.transport = pakn::config::MailTransport::Off;
    let app = Application::build(settings).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    base
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
    let items = env_num("PAKN_BENCH_ITEMS", 100_000) as usize;
    let duration = Duration::from_secs(env_num("PAKN_BENCH_SECONDS", 5));
    let levels: Vec<usize> = std::env::var("PAKN_BENCH_CONCURRENCY")
        .ok()
        .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1, 16]);
    let wanted = std::env::var("PAKN_BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    let dir = tempfile::tempdir().unwrap();
    let mut backends = Vec::new();
    if wanted.contains("sqlite") {
        let url = format!("sqlite://{}", dir.path().join("bench.db").display());
        backends.push(("sqlite", url, None));
    }
    if let Some(admin) = std::env::var("PAKN_BENCH_POSTGRES_URL")
        .ok()
        .or_else(|| std::env::var("PAKN_TEST_POSTGRES_URL").ok())
        .filter(|s| !s.is_empty() && wanted.contains("postgres"))
    {
        let name = format!("pakn_bench_{}", uuid::Uuid::now_v7().simple());
        let conn = Database::connect(&admin).await.unwrap();
        conn.execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
        let (head, _) = admin.rsplit_once('/').unwrap();
        backends.push(("postgres", format!("{head}/{name}"), Some((conn, name))));
    }
    let use_wrk =
        wrk::available() && std::env::var("PAKN_BENCH_CLIENT").map_or(true, |c| c != "builtin");
    println!(
        "load generator: {}; {items} published items",
        if use_wrk {
            "wrk (Debian), 1 thread"
        } else {
            "built-in (reqwest, same process)"
        }
    );
    let requests = [
        ("GET /health/live (baseline)", "/health/live"),
        ("list, page 1", "/api/v1/public/qa"),
        ("list, page 200", "/api/v1/public/qa?page=200"),
        (
            "list, one agency + year",
            "/api/v1/public/qa?agency=48.VP&year=2026",
        ),
        (
            "search 'cap phep xay dung'",
            "/api/v1/public/qa?q=cap%20phep%20xay%20dung",
        ),
        (
            "search, rare word 'nuoc ngam'",
            "/api/v1/public/qa?q=nuoc%20ngam",
        ),
        (
            "search with a typo 'giay phep xay dumg'",
            "/api/v1/public/qa?q=giay%20phep%20xay%20dumg",
        ),
        (
            "search, no match",
            "/api/v1/public/qa?q=khong%20co%20tu%20nay",
        ),
        (
            "page /hoi-dap?q=ho kinh doanh",
            "/hoi-dap?q=ho%20kinh%20doanh",
        ),
        ("Atom feed", "/hoi-dap/feed.atom"),
        ("page /hoi-dap (first page)", "/hoi-dap"),
        ("embedded list /hoi-dap/embed", "/hoi-dap/embed?limit=5"),
    ];
    println!("| backend | request | clients | req/s | p50 ms | p99 ms | errors |");
    println!("|---|---|---:|---:|---:|---:|---:|");
    let mut cleanup = Vec::new();
    for (backend, url, admin) in backends {
        let base = start(&url).await;
        let took = seed(&base, &url, items).await;
        eprintln!(
            "{backend}: seeded {items} items in {:.1} s",
            took.as_secs_f64()
        );
        for (name, path) in requests {
            let url = format!("{base}{path}");
            // One request first: a broken URL would measure errors.
            let probe = reqwest::get(&url).await.unwrap();
            assert!(probe.status().is_success(), "{name}: {}", probe.status());
            if path == "/api/v1/public/qa" && items > 10_000 {
                // Past 10,000 matches the count stops and says so.
                let body: serde_json::Value = probe.json().await.unwrap();
                assert_eq!(body["total"], 10_000, "{body}");
                assert_eq!(body["total_capped"], true);
            }
            for &clients in &levels {
                let step = if use_wrk {
                    drive_wrk(&url, clients, duration)
                } else {
                    drive(&url, clients, duration).await
                };
                println!(
                    "| {backend} | {name} | {clients} | {:.0} | {:.2} | {:.2} | {} |",
                    step.rate, step.p50_ms, step.p99_ms, step.errors
                );
            }
        }
        // The search without the instance's copy: every request read
        // from the database (what the first of each distinct search
        // costs), called in the process, one and 16 at once.
        let mut settings = Settings::defaults().unwrap();
        settings.database.url = SecretString::from(url.clone());
        let store = pakn::store::Store::connect(&settings.database)
            .await
            .unwrap();
        for (name, words) in [
            ("search 'cap phep xay dung', not kept", "cap phep xay dung"),
            ("search, rare word 'nuoc ngam', not kept", "nuoc ngam"),
        ] {
            let query = pakn::store::public_qa::PublicQuery {
                terms: words.split(' ').map(str::to_string).collect(),
                limit: 20,
                ..Default::default()
            };
            for &clients in &levels {
                let (store, query) = (store.clone(), query.clone());
                let step = wrk::in_process(clients, duration, move || {
                    let (store, query) = (store.clone(), query.clone());
                    async move { store.public_items(&query).await.is_ok() }
                })
                .await;
                println!(
                    "| {backend} | {name} | {clients} | {:.0} | {:.2} | {:.2} | {} |",
                    step.rate, step.p50_ms, step.p99_ms, step.errors
                );
            }
        }
        store.close().await;
        if let Some(admin) = admin {
            cleanup.push(admin);
        }
    }
    // PAKN_BENCH_KEEP=1 keeps the PostgreSQL database for EXPLAIN.
    if std::env::var("PAKN_BENCH_KEEP").is_ok_and(|v| v == "1") {
        for (_, name) in &cleanup {
            eprintln!("kept database {name}");
        }
        eprintln!("kept {}", dir.keep().display());
        return;
    }
    for (conn, name) in cleanup {
        let _ = conn
            .execute_unprepared(&format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()"))
            .await;
        let _ = conn
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name}"))
            .await;
    }
}
