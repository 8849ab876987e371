//! The metrics endpoint: on its own listener, in the Prometheus text format
//! that promtool accepts, labelled by route pattern (never a tracking code),
//! scraped by a real Prometheus, with the office's alert rules checked.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use macro_rules_attribute::apply;
use reqwest::StatusCode;

use crate::helpers::{TestApp, apps_with, valid_submission};
use crate::mail_servers::free_port;
use crate::{case, case_once};

const PROMTOOL: &str = "/usr/bin/promtool";
const PROMETHEUS: &str = "/usr/bin/prometheus";

/// Prometheus's tools, or the test stops as not run (a failure where
/// `.ci/run` requires them).
fn prometheus_tools() {
    if [PROMTOOL, PROMETHEUS]
        .iter()
        .any(|p| !std::path::Path::new(p).exists())
    {
        if std::env::var("PAKN_TEST_REQUIRE_PROMETHEUS").is_ok_and(|v| v == "1") {
            panic!(
                "Prometheus is required (PAKN_TEST_REQUIRE_PROMETHEUS=1) but {PROMTOOL} or {PROMETHEUS} is missing"
            );
        }
        crate::harness::not_run(
            "no Prometheus: Debian's prometheus package is not installed; `.ci/run` installs it",
        );
    }
}

async fn scrape(app: &TestApp, token: Option<&str>) -> reqwest::Response {
    let mut request = app
        .client
        .get(format!("{}/metrics", app.metrics_base.as_deref().unwrap()));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

/// Scrapes until `line` is there (the work figures are read every second
/// here).
async fn scrape_until(app: &TestApp, line: &str) -> String {
    let started = Instant::now();
    loop {
        let text = scrape(app, None).await.text().await.unwrap();
        if text.contains(line) {
            return text;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "[{}] no {line:?} in\n{text}",
            app.backend
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn with_metrics(s: &mut pakn::config::Settings) {
    s.metrics.bind = "127.0.0.1:0".into();
    s.metrics.collect_interval_seconds = 1;
}

#[apply(case!)]
async fn metrics_show_routes_and_the_work_without_personal_data_on_a_listener_of_their_own() {
    prometheus_tools();
    for app in apps_with(with_metrics).await {
        let r = app.post_feedback(&valid_submission()).await;
        let code = r.body["tracking_code"].as_str().unwrap().to_string();
        let token = r.body["lookup_token"].as_str().unwrap().to_string();
        assert_eq!(app.lookup(&code, &token).await.status, StatusCode::OK);
        assert_eq!(app.lookup(&code, "sai").await.status, StatusCode::NOT_FOUND);
        // Not on the public port.
        let public = app
            .client
            .get(format!("{}/metrics", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(public.status(), StatusCode::NOT_FOUND);

        let text = scrape_until(&app, "pakn_items{state=\"received\"} 1").await;
        for line in [
            "pakn_http_requests_total{method=\"POST\",route=\"/api/v1/feedback\",status_class=\"2xx\"} 1",
            "pakn_http_requests_total{method=\"GET\",route=\"/api/v1/feedback/{tracking_code}\",status_class=\"2xx\"} 1",
            "pakn_http_requests_total{method=\"GET\",route=\"/api/v1/feedback/{tracking_code}\",status_class=\"4xx\"} 1",
            "pakn_http_request_duration_seconds_bucket{method=\"POST\",route=\"/api/v1/feedback\",le=\"+Inf\"} 1",
            "pakn_items_received{channel=\"web_form\"} 1",
            "pakn_outbox_notices{status=\"queued\"} 1",
            "pakn_outbox_notices{status=\"failed\"} 0",
            "pakn_items_overdue 0",
            "pakn_imap_last_success_age_seconds -1",
            "pakn_db_pool_max_connections",
            "pakn_db_pool_connections{state=\"in_use\"}",
            "pakn_outbox_oldest_queued_age_seconds",
            "pakn_webhook_deliveries{status=\"dead\"} 0",
            "pakn_webhook_oldest_queued_age_seconds 0",
        ] {
            assert!(
                text.contains(line),
                "[{}] no {line:?} in\n{text}",
                app.backend
            );
        }
        // No tracking code, no submitter's data, in any label or value.
        for private in [
            code.as_str(),
            token.as_str(),
            "Nguyễn Văn An",
            "0912 345",
            "0912345",
            "an.nguyen@example.vn",
        ] {
            assert!(!text.contains(private), "{private} in the metrics");
        }
        // promtool's lint accepts the exposition.
        let mut check = Command::new(PROMTOOL)
            .args(["check", "metrics"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::io::Write::write_all(&mut check.stdin.take().unwrap(), text.as_bytes()).unwrap();
        let out = check.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "promtool check metrics: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[apply(case!)]
async fn a_metrics_token_keeps_other_scrapers_out() {
    for app in apps_with(|s| {
        with_metrics(s);
        s.metrics.token = secrecy::SecretString::from("metrics-token-0123456789");
    })
    .await
    {
        let none = scrape(&app, None).await;
        assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(none.headers()["www-authenticate"], "Bearer");
        assert_eq!(
            scrape(&app, Some("metrics-token-012345678X"))
                .await
                .status(),
            StatusCode::UNAUTHORIZED
        );
        let ok = scrape(&app, Some("metrics-token-0123456789")).await;
        assert_eq!(ok.status(), StatusCode::OK);
        assert!(
            ok.text()
                .await
                .unwrap()
                .contains("pakn_db_pool_max_connections")
        );
    }
}

/// A real Prometheus on loopback scrapes a running pakn, answers a query
/// for one of our series, and loads the office's alert rules (which
/// promtool accepts).
#[apply(case_once!)]
async fn a_real_prometheus_scrapes_pakn_and_loads_the_alert_rules() {
    prometheus_tools();
    let rules =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/prometheus/alerts.yml");
    let check = Command::new(PROMTOOL)
        .args(["check", "rules"])
        .arg(&rules)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );

    let app = crate::helpers::spawn("sqlite", &with_metrics).await;
    let r = app.post_feedback(&valid_submission()).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let target = app.metrics_base.clone().unwrap().replace("http://", "");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - {}\nscrape_configs:\n  - job_name: pakn\n    static_configs:\n      - targets: ['{target}']\n",
            rules.display()
        ),
    )
    .unwrap();
    let port = free_port();
    let mut prometheus = Command::new(PROMETHEUS)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let api = format!("http://127.0.0.1:{port}/api/v1");
    let started = Instant::now();
    let found = loop {
        let answer = app
            .client
            .get(format!("{api}/query"))
            .query(&[(
                "query",
                "pakn_http_requests_total{route=\"/api/v1/feedback\",method=\"POST\"}",
            )])
            .send()
            .await;
        if let Ok(answer) = answer
            && let Ok(body) = answer.json::<serde_json::Value>().await
            && body["data"]["result"]
                .as_array()
                .is_some_and(|r| !r.is_empty())
        {
            break body;
        }
        if started.elapsed() > Duration::from_secs(30) {
            let _ = prometheus.kill();
            panic!("Prometheus never had our series");
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert_eq!(found["data"]["result"][0]["value"][1], "1", "{found}");
    let rules: serde_json::Value = app
        .client
        .get(format!("{api}/rules"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = rules["data"]["groups"][0]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "PaknOutboxStuck",
            "PaknImapNotPolled",
            "PaknOverdueItemsRising"
        ]
    );
    let _ = prometheus.kill();
    let _ = prometheus.wait();
}
