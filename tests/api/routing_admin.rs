//! Keyword routing rules as data: seeded from the file once, then edited in
//! the browser or the API (audited), tried on a text, exported in the
//! file's format and imported whole; an edit reaches the item page's
//! suggestion on another instance within seconds.

use crate::case;
use macro_rules_attribute::apply;

use std::time::{Duration, Instant};

use pakn::domain::staff::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::auth::sign_in_as;
use crate::console::{html, post_form};
use crate::helpers::{TestApp, another_instance, apps};

async fn rules(app: &TestApp, admin: &str) -> Value {
    app.send(
        Method::GET,
        "/api/v1/admin/routing-rules",
        "/api/v1/admin/routing-rules",
        |r| r.bearer_auth(admin),
    )
    .await
    .body
}

async fn try_text(app: &TestApp, admin: &str, title: &str) -> Value {
    app.send(
        Method::POST,
        "/api/v1/admin/routing-rules/try",
        "/api/v1/admin/routing-rules/try",
        |r| r.bearer_auth(admin).json(&json!({"title": title})),
    )
    .await
    .body
}

#[apply(case!)]
async fn rules_are_edited_tried_exported_and_imported() {
    for app in apps().await {
        let admin = sign_in_as(&app, "quantri", Role::Admin, "48.VP").await;
        let seeded = rules(&app, &admin).await;
        let first = &seeded["items"][0];
        assert_eq!(
            first["words"],
            json!(["giay phep xay dung"]),
            "seeded from config/routing.toml"
        );
        assert_eq!(first["agency_code"], "48.SXD");

        // Tried: the rule fires, with its basis as the reason.
        let tried = try_text(&app, &admin, "Xin Giấy phép XÂY DỰNG nhà ở").await;
        assert_eq!(tried["suggestions"][0]["agency_code"], "48.SXD", "{tried}");
        assert!(
            tried["matching_rules"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["agency_code"] == "48.SXD")
        );

        // A new rule: words folded, in effect at once on this instance.
        let other = another_instance(&app).await;
        let before = try_text(&other, &admin, "Cấp chứng chỉ hành nghề dược").await;
        assert!(before["matching_rules"].as_array().unwrap().is_empty());
        let added = app
            .send(Method::POST, "/api/v1/admin/routing-rules", "/api/v1/admin/routing-rules", |r| {
                r.bearer_auth(&admin).json(&json!({"words": ["Chứng chỉ hành nghề", "DƯỢC"], "agency_code": "48.SYT", "basis": "Sở Y tế cấp chứng chỉ hành nghề dược"}))
            })
            .await;
        assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
        let id = added.body["id"].as_str().unwrap().to_string();
        // … and on the other instance within seconds.
        let started = Instant::now();
        loop {
            let t = try_text(&other, &admin, "Cấp chứng chỉ hành nghề dược").await;
            if t["suggestions"][0]["agency_code"] == "48.SYT" {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(6),
                "[{}] {t}",
                app.backend
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        let listed = rules(&app, &admin).await;
        let rule = listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id.as_str())
            .unwrap()
            .clone();
        assert_eq!(rule["words"], json!(["chung chi hanh nghe", "duoc"]));

        // Mistakes by field.
        let bad = app
            .send(
                Method::PUT,
                "/api/v1/admin/routing-rules/{rule_id}",
                &format!("/api/v1/admin/routing-rules/{id}"),
                |r| {
                    r.bearer_auth(&admin)
                        .json(&json!({"words": [" "], "agency_code": "48.STNMT", "basis": ""}))
                },
            )
            .await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        let mut fields: Vec<String> = bad
            .field_errors()
            .into_iter()
            .map(|(f, c)| format!("{f}:{c}"))
            .collect();
        fields.sort();
        assert_eq!(
            fields,
            [
                "agency_code:dissolved_agency",
                "basis:required",
                "words:required"
            ]
        );

        // Exported in the file's format, and imported back whole.
        let file = app
            .send(
                Method::GET,
                "/nhan-vien/quan-tri/dinh-tuyen.toml",
                "/nhan-vien/quan-tri/dinh-tuyen.toml",
                |r| r.bearer_auth(&admin),
            )
            .await;
        assert_eq!(file.status, StatusCode::OK);
        let text = String::from_utf8(file.bytes.clone()).unwrap();
        let parsed = pakn::domain::routing::parse_rules(&text).unwrap();
        assert_eq!(parsed.len(), listed["items"].as_array().unwrap().len());
        let broken = post_form(
            &app,
            &admin,
            "/nhan-vien/quan-tri/dinh-tuyen/nhap",
            "/nhan-vien/quan-tri/dinh-tuyen/nhap",
            &[(
                "file",
                "[[keyword]]\nwords = [\"x\"]\nagency = \"48.KHONG\"\nbasis = \"y\"\n",
            )],
        )
        .await;
        assert_eq!(broken.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html(&broken).contains("id=\"file-loi\""));
        assert_eq!(
            rules(&app, &admin).await["items"].as_array().unwrap().len(),
            parsed.len(),
            "nothing changed"
        );
        let only_one =
            "[[keyword]]\nwords = [\"so do\"]\nagency = \"48.SNNMT\"\nbasis = \"Đất đai\"\n";
        let imported = post_form(
            &app,
            &admin,
            "/nhan-vien/quan-tri/dinh-tuyen/nhap",
            "/nhan-vien/quan-tri/dinh-tuyen/nhap",
            &[("file", only_one)],
        )
        .await;
        assert_eq!(imported.status, StatusCode::SEE_OTHER);
        assert_eq!(
            rules(&app, &admin).await["items"].as_array().unwrap().len(),
            1
        );

        // The page: tried in the browser's way.
        let page = post_form(
            &app,
            &admin,
            "/nhan-vien/quan-tri/dinh-tuyen/thu",
            "/nhan-vien/quan-tri/dinh-tuyen/thu",
            &[("title", "Làm sổ đỏ"), ("content", "")],
        )
        .await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(html(&page).contains("48.SNNMT"));
        let audit = app
            .send(
                Method::GET,
                "/api/v1/admin/audit-log",
                "/api/v1/admin/audit-log?action=directory.",
                |r| r.bearer_auth(&admin),
            )
            .await;
        let actions: Vec<&str> = audit.body["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        assert_eq!(
            actions,
            [
                "directory.routing_rules_imported",
                "directory.routing_rule_added"
            ]
        );
    }
}

#[apply(case!)]
async fn instances_starting_together_seed_the_rules_once() {
    for app in apps().await {
        let seed = app.settings.routing_rules().unwrap();
        let setup = pakn::store::journal::AuditEntry {
            actor_kind: "system".into(),
            actor_id: None,
            action: "test.setup".into(),
            from_state: None,
            to_state: None,
            reason: None,
            details: json!({}),
            request_id: None,
        };
        let other = another_instance(&app).await;
        let now = chrono::Utc::now();
        app.store
            .replace_routing_rules(&[], "test", &setup, now)
            .await
            .unwrap();
        let (a, b) = tokio::join!(
            app.store.seed_routing_rules(&seed, now),
            other.store.seed_routing_rules(&seed, now)
        );
        assert!(
            a.unwrap() ^ b.unwrap(),
            "[{}] exactly one seeds",
            app.backend
        );
        assert_eq!(app.store.routing_rules().await.unwrap().len(), seed.len());
    }
}
