//! Growing out of SQLite: everything moves to an empty PostgreSQL database
//! with one command, and the service carries on there.

use macro_rules_attribute::apply;
use pakn::domain::staff::Role;
use reqwest::multipart::{Form, Part};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::auth::{PASSWORD, sign_in_as};
use crate::case_once;
use crate::cli::pakn;
use crate::helpers::{fresh_database, spawn, spawn_at, valid_submission};
use crate::mail::deliver_to_files;
use crate::public_qa::publish;

#[apply(case_once!)]
async fn an_office_moves_from_sqlite_to_postgresql_and_carries_on() {
    crate::harness::require_postgres();
    let app = spawn("sqlite", &|_| {}).await;
    let control = sign_in_as(&app, "kiemsoat.cs", Role::ControlOffice, "48.VP").await;
    // A partner's subscription, with deliveries waiting for it.
    let admin = sign_in_as(&app, "quantri.cs", Role::Admin, "48.VP").await;
    let subscribed = app
        .send(
            Method::POST,
            "/api/v1/admin/webhooks",
            "/api/v1/admin/webhooks",
            |r| {
                r.bearer_auth(&admin).json(&json!({
                "name": "cong-tinh", "url": "https://203.119.8.10/hook",
                "events": ["item.published", "item.unpublished"]}))
            },
        )
        .await;
    assert_eq!(
        subscribed.status,
        StatusCode::CREATED,
        "{}",
        subscribed.body
    );
    let published = publish(
        &app,
        &control,
        valid_submission(),
        "Giấy phép xây dựng nhà ở chậm",
        "Hồ sơ nộp đã quá hạn.",
        "Sở Xây dựng đã cấp giấy phép.",
    )
    .await;
    let form = Form::new()
        .text("kind", "kien_nghi")
        .text("title", "Đề nghị bỏ bản sao công chứng")
        .text(
            "content",
            "Kiến nghị bỏ yêu cầu nộp bản sao công chứng khi đã có bản điện tử trong hệ thống.",
        )
        .text("submitter.full_name", "Trần Thị Chuyển")
        .text("submitter.address.detail", "5 Bạch Đằng")
        .text("submitter.email", "chuyen@example.vn")
        .part(
            "attachments",
            Part::bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n".to_vec())
                .file_name("de-nghi.pdf"),
        );
    let r = app
        .send(Method::POST, "/api/v1/feedback", "/api/v1/feedback", |r| {
            r.multipart(form)
        })
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let code = r.body["tracking_code"].as_str().unwrap().to_string();
    let token = r.body["lookup_token"].as_str().unwrap().to_string();
    deliver_to_files(&app).await;
    // The item's national record moves too.
    let recorded = app
        .send(
            Method::PUT,
            "/api/v1/staff/feedback/{tracking_code}/national-record",
            &format!("/api/v1/staff/feedback/{published}/national-record"),
            |r| {
                r.bearer_auth(&control)
                    .json(&json!({"national_code": "PAKN-2026-000777"}))
            },
        )
        .await;
    assert_eq!(recorded.status, StatusCode::OK, "{}", recorded.body);

    let work = tempfile::tempdir().unwrap();
    let target_dir = tempfile::tempdir().unwrap();
    let target = fresh_database("postgres", &target_dir).await;
    let run = |to: &str| {
        pakn(work.path())
            .args(["copy-store", "--to", to])
            .env("PAKN__DATABASE__URL", &app.database_url)
            .env("PAKN__DATABASE__DEMO_DATA", "never")
            .output()
            .unwrap()
    };
    let out = run(&target);
    assert!(
        out.status.success(),
        "copy-store: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = |table: &str| {
        report["tables"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t[0] == table)
            .unwrap()[1]
            .as_i64()
            .unwrap()
    };
    assert_eq!(rows("feedback_item"), 2);
    assert!(rows("audit_event") > 5 && rows("notice") >= 2 && rows("attachment") == 1);
    assert!(rows("agency") > 30 && rows("calendar_day") > 10 && rows("staff_account") == 2);
    assert_eq!(report["sample_checked"], 2);
    assert_eq!(rows("national_record"), 1);
    assert_eq!(rows("webhook_subscription"), 1);
    assert_eq!(rows("webhook_delivery"), 1);
    // Never into a database that has data.
    let twice = run(&target);
    assert!(!twice.status.success());
    assert!(String::from_utf8_lossy(&twice.stderr).contains("not empty"));

    // The service on PostgreSQL: the citizen's token, the file, the
    // published answer found by search, the staff password, and new
    // tracking codes that carry on.
    let moved = spawn_at("postgres", target).await;
    let view = moved.lookup(&code, &token).await;
    assert_eq!(view.status, StatusCode::OK);
    assert_eq!(view.body["attachments"], 1);
    let found = moved
        .send(
            Method::GET,
            "/api/v1/public/qa",
            "/api/v1/public/qa?q=giay%20phep",
            |r| r,
        )
        .await;
    assert!(
        found.body.to_string().contains(&published),
        "{}",
        found.body
    );
    let login = moved
        .send(
            Method::POST,
            "/api/v1/auth/login",
            "/api/v1/auth/login",
            |r| r.json(&json!({"username": "kiemsoat.cs", "password": PASSWORD})),
        )
        .await;
    assert_eq!(login.status, StatusCode::OK);
    let next = moved.post_feedback(&valid_submission()).await;
    assert_eq!(next.status, StatusCode::CREATED);
    let next_code = next.body["tracking_code"].as_str().unwrap();
    assert!(next_code != code && next_code != published);
    // Webhooks carry on: a new event writes a delivery after the copied
    // one (the sequence continues), in order.
    let moved_control = sign_in_as(&moved, "kiemsoat.cs2", Role::ControlOffice, "48.VP").await;
    crate::workflow::step(&moved, &moved_control, &published, "unpublish", json!({})).await;
    let moved_admin = sign_in_as(&moved, "quantri.cs2", Role::Admin, "48.VP").await;
    let deliveries = moved
        .send(
            Method::GET,
            "/api/v1/admin/webhooks/{name}/deliveries",
            "/api/v1/admin/webhooks/cong-tinh/deliveries",
            |r| r.bearer_auth(&moved_admin),
        )
        .await;
    let events: Vec<&str> = deliveries.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        events,
        ["item.unpublished", "item.published"],
        "newest first"
    );
}
