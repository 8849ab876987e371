//! Load benchmark for web intake: drives `POST /api/v1/feedback` at several
//! concurrencies against SQLite and PostgreSQL, with `GET /health/live` on
//! the same server as the ceiling, and prints items/s and p50/p99 latency.
//!
//! Run: `cargo bench --bench intake_load` (PostgreSQL too when
//! `PAKN_BENCH_POSTGRES_URL` or `PAKN_TEST_POSTGRES_URL` is set).
//! `PAKN_BENCH_SECONDS` sets each step's duration (default 5);
//! `PAKN_BENCH_CONCURRENCY` a comma-separated list (default 1,4,16,64);
//! `PAKN_BENCH_BACKENDS` which databases (default `sqlite,postgres`);
//! `PAKN_BENCH_CLIENT=builtin` forces the built-in client even when `wrk`
//! (Debian's package, preferred: it runs in its own process and costs
//! little CPU) is installed.
//! Client and server share the machine: on 2 cores the load generator's own
//! work is part of every figure, for the ceiling as much as for intake.

#![allow(clippy::unwrap_used)]

#[path = "support/wrk.rs"]
mod wrk;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use wrk::{Step, percentile};

use pakn::config::{DemoData, Settings};
use pakn::startup::Application;
use sea_orm::{ConnectionTrait, Database};
use secrecy::SecretString;
use serde_json::json;

/// The same allocator as the `pakn` binary, so the figures are the service's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const SUBMISSION: &str = r#"{"kind":"phan_anh","title":"Thủ tục cấp phép xây dựng chậm","content":"Hồ sơ xin cấp giấy phép xây dựng của tôi đã quá hạn 30 ngày mà chưa có kết quả, đề nghị xem xét.","field_code":"xay_dung","submitter":{"full_name":"Nguyễn Văn An","address":{"detail":"12 Lê Lợi","commune_code":"20242"},"phone":"0912 345 678"}}"#;

/// Drives one step with `wrk` (one thread, `clients` connections).
fn drive_wrk(
    base: &str,
    op: Op,
    clients: usize,
    duration: Duration,
    dir: &std::path::Path,
) -> Step {
    let mut cmd = wrk::command(clients, duration);
    let url = match op {
        Op::Submit => {
            let script = dir.join("post.lua");
            let lua = format!(
                "wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\nwrk.body = [[{SUBMISSION}]]\n"
            );
            std::fs::write(&script, lua).unwrap();
            cmd.arg("-s").arg(&script);
            format!("{base}/api/v1/feedback")
        }
        Op::Live => format!("{base}/health/live"),
    };
    wrk::run(cmd, &url)
}

#[derive(Clone, Copy)]
enum Op {
    Submit,
    Live,
}

async fn drive(base: &str, op: Op, clients: usize, duration: Duration) -> Step {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .build()
        .unwrap();
    let counter = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + duration;
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let client = client.clone();
            let base = base.to_string();
            let counter = counter.clone();
            let errors = errors.clone();
            let bodies: Vec<bytes::Bytes> = (0..64)
                .map(|i| {
                    let body = json!({
                        "kind": "phan_anh",
                        "title": format!("Thủ tục cấp phép xây dựng chậm — máy {c} mẫu {i}"),
                        "content": "Hồ sơ xin cấp giấy phép xây dựng của tôi đã quá hạn 30 ngày mà chưa có kết quả, đề nghị xem xét.",
                        "field_code": "xay_dung",
                        "submitter": {"full_name": "Nguyễn Văn An", "address": {"detail": "12 Lê Lợi", "commune_code": "20242"}, "phone": "0912 345 678"}
                    });
                    bytes::Bytes::from(serde_json::to_vec(&body).unwrap())
                })
                .collect();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut n = 0u64;
                while Instant::now() < deadline {
                    n += 1;
                    let t = Instant::now();
                    let ok = match op {
                        Op::Submit => {
                            // Bodies are serialised before the clock starts:
                            // the load generator should cost as little as it can.
                            let body = bodies[(n as usize) % bodies.len()].clone();
                            client
                                .post(format!("{base}/api/v1/feedback"))
                                .header("content-type", "application/json")
                                .body(body)
                                .send()
                                .await
                                .map(|r| r.status().as_u16() == 201)
                        }
                        Op::Live => client.get(format!("{base}/health/live")).send().await.map(|r| r.status().is_success()),
                    };
                    latencies.push(t.elapsed().as_micros() as u64);
                    if ok.unwrap_or(false) {
                        counter.fetch_add(1, Ordering::Relaxed);
                    } else {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
                latencies
            })
        })
        .collect();
    let mut latencies_us = Vec::new();
    for t in tasks {
        latencies_us.extend(t.await.unwrap());
    }
    let elapsed = started.elapsed();
    latencies_us.sort_unstable();
    Step {
        rate: counter.load(Ordering::Relaxed) as f64 / elapsed.as_secs_f64(),
        p50_ms: percentile(&latencies_us, 0.50),
        p99_ms: percentile(&latencies_us, 0.99),
        errors: errors.load(Ordering::Relaxed),
    }
}

async fn start(backend: &str, url: String) -> String {
    let mut settings = Settings::defaults().unwrap();
    settings.server.bind = "127.0.0.1:0".into();
    settings.server.public_base_url = String::new();
    settings.database.url = SecretString::from(url);
    settings.database.demo_data = DemoData::Always;
    settings.database.max_connections = 32;
    settings.rate_limit.enabled = false;
    let app = Application::build(settings)
        .await
        .unwrap_or_else(|e| panic!("{backend}: {e}"));
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    base
}

#[tokio::main]
async fn main() {
    pakn::install_tls_provider();
    let _ = pakn::telemetry::init("warn", pakn::config::LogFormat::Pretty, std::io::stderr);
    let seconds: u64 = std::env::var("PAKN_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let levels: Vec<usize> = std::env::var("PAKN_BENCH_CONCURRENCY")
        .ok()
        .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1, 4, 16, 64]);
    let duration = Duration::from_secs(seconds);
    let dir = tempfile::tempdir().unwrap();
    let wanted = std::env::var("PAKN_BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    let mut backends = Vec::new();
    if wanted.contains("sqlite") {
        backends.push((
            "sqlite",
            format!("sqlite://{}", dir.path().join("bench.db").display()),
            None,
        ));
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
        "load generator: {}",
        if use_wrk {
            "wrk (Debian), 1 thread"
        } else {
            "built-in (reqwest, same process)"
        }
    );
    println!("| backend | operation | clients | ops/s | p50 ms | p99 ms | errors |");
    println!("|---|---|---:|---:|---:|---:|---:|");
    let mut cleanup = Vec::new();
    for (backend, url, admin) in backends {
        let base = start(backend, url).await;
        // Warm up (not recorded): open the pool's connections and fill the
        // caches, as in a server that has been running for a while.
        if use_wrk {
            drive_wrk(&base, Op::Submit, 16, Duration::from_secs(2), dir.path());
        } else {
            drive(&base, Op::Submit, 16, Duration::from_secs(2)).await;
        }
        for &clients in &levels {
            for (name, op) in [
                ("GET /health/live (ceiling)", Op::Live),
                ("POST /api/v1/feedback", Op::Submit),
            ] {
                let step = if use_wrk {
                    drive_wrk(&base, op, clients, duration, dir.path())
                } else {
                    drive(&base, op, clients, duration).await
                };
                println!(
                    "| {backend} | {name} | {clients} | {:.0} | {:.2} | {:.2} | {} |",
                    step.rate, step.p50_ms, step.p99_ms, step.errors
                );
            }
        }
        if let Some(admin) = admin {
            cleanup.push(admin);
        }
    }
    for (conn, name) in cleanup {
        // The server still holds connections; terminate them first.
        let _ = conn
            .execute_unprepared(&format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()"))
            .await;
        let _ = conn
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name}"))
            .await;
    }
}
