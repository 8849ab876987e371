//! API keys run from the browser and the admin API: created with scopes
//! and shown once, used (and seen as used), revoked (and refused after).

use crate::case;
use macro_rules_attribute::apply;

use pakn::domain::staff::Role;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::auth::sign_in_as;
use crate::console::{html, page, post_form};
use crate::helpers::{TestApp, apps};

async fn keys(app: &TestApp, admin: &str) -> serde_json::Value {
    app.send(
        Method::GET,
        "/api/v1/admin/api-keys",
        "/api/v1/admin/api-keys",
        |r| r.bearer_auth(admin),
    )
    .await
    .body
}

#[apply(case!)]
async fn a_key_is_shown_once_used_seen_as_used_and_revoked() {
    for app in apps().await {
        let admin = sign_in_as(&app, "quantri", Role::Admin, "48.VP").await;
        let made = app
            .send(Method::POST, "/api/v1/admin/api-keys", "/api/v1/admin/api-keys", |r| {
                r.bearer_auth(&admin)
                    .json(&json!({"name": "bao-cao", "scopes": ["read_statistics", "read_statistics"]}))
            })
            .await;
        assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
        let key = made.body["key"].as_str().unwrap().to_string();
        assert!(key.starts_with("pakn_ak_"));
        assert_eq!(made.body["scopes"], json!(["read_statistics"]));
        let listed = keys(&app, &admin).await;
        assert!(!listed.to_string().contains(&key), "never listed");
        assert!(listed["items"][0]["last_used_at"].is_null());

        // Used: its one scope works, and the use is seen.
        let stats = app
            .send(
                Method::GET,
                "/api/v1/staff/stats",
                "/api/v1/staff/stats?period=2026",
                |r| r.bearer_auth(&key),
            )
            .await;
        assert_eq!(stats.status, StatusCode::OK, "{}", stats.body);
        assert!(keys(&app, &admin).await["items"][0]["last_used_at"].is_string());

        // Mistakes by field; a taken name.
        let bad = app
            .send(
                Method::POST,
                "/api/v1/admin/api-keys",
                "/api/v1/admin/api-keys",
                |r| {
                    r.bearer_auth(&admin)
                        .json(&json!({"name": "X", "scopes": ["everything"]}))
                },
            )
            .await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        let mut fields: Vec<String> = bad.field_errors().into_iter().map(|(f, _)| f).collect();
        fields.sort();
        assert_eq!(fields, ["name", "scopes"]);
        let taken = post_form(
            &app,
            &admin,
            "/nhan-vien/quan-tri/khoa-api",
            "/nhan-vien/quan-tri/khoa-api",
            &[("name", "bao-cao"), ("scopes", "submit_feedback")],
        )
        .await;
        assert_eq!(taken.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html(&taken).contains("id=\"name-loi\""));
        assert!(
            html(&taken).contains("value=\"submit_feedback\" checked"),
            "the choice is kept"
        );

        // From the page: created and shown once, then revoked.
        let created = post_form(
            &app,
            &admin,
            "/nhan-vien/quan-tri/khoa-api",
            "/nhan-vien/quan-tri/khoa-api",
            &[("name", "cong-dvc"), ("scopes", "submit_feedback")],
        )
        .await;
        assert_eq!(created.status, StatusCode::CREATED);
        assert!(html(&created).contains("pakn_ak_"));
        let again = page(
            &app,
            &admin,
            "/nhan-vien/quan-tri/khoa-api",
            "/nhan-vien/quan-tri/khoa-api",
        )
        .await;
        assert!(!html(&again).contains("pakn_ak_"), "shown once");
        let revoked = post_form(
            &app,
            &admin,
            "/nhan-vien/quan-tri/khoa-api/{name}/thu-hoi",
            "/nhan-vien/quan-tri/khoa-api/bao-cao/thu-hoi",
            &[],
        )
        .await;
        assert_eq!(revoked.status, StatusCode::SEE_OTHER);
        let refused = app
            .send(
                Method::GET,
                "/api/v1/staff/stats",
                "/api/v1/staff/stats?period=2026",
                |r| r.bearer_auth(&key),
            )
            .await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
        let twice = app
            .send(
                Method::POST,
                "/api/v1/admin/api-keys/{name}/revoke",
                "/api/v1/admin/api-keys/bao-cao/revoke",
                |r| r.bearer_auth(&admin),
            )
            .await;
        assert_eq!(twice.status, StatusCode::NOT_FOUND);
        let listed = keys(&app, &admin).await;
        assert_eq!(listed["items"][0]["name"], "cong-dvc", "live keys first");
        assert!(listed["items"][1]["revoked_at"].is_string());
        let audit = app
            .send(
                Method::GET,
                "/api/v1/admin/audit-log",
                "/api/v1/admin/audit-log?action=api_key.",
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
            ["api_key.revoked", "api_key.created", "api_key.created"]
        );
        assert!(
            audit.body["entries"]
                .as_array()
                .unwrap()
                .iter()
                .all(|e| e["actor"] == "quantri")
        );
    }
}
