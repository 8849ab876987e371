//! Mitigations of the threat model (tests/THREAT_MODEL.md) that no other
//! file proves, and a check that every test the threat model names exists.

use crate::{case, case_once};
use macro_rules_attribute::apply;

use chrono::Utc;
use pakn::domain::staff::{ApiScope, Role};
use pakn::services::auth::create_api_key;
use reqwest::{Method, StatusCode};
use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::Value;

use crate::auth::{PASSWORD, sign_in_as};
use crate::helpers::{TestApp, apps};
use crate::workflow::submit;

/// Every `tests/api/<file>.rs::<test>` the threat model cites is a test
/// that exists, so the document cannot silently point at nothing.
#[apply(case_once!)]
fn every_test_the_threat_model_cites_exists() {
    let root = env!("CARGO_MANIFEST_DIR");
    let model = std::fs::read_to_string(format!("{root}/tests/THREAT_MODEL.md")).unwrap();
    let mut cited = 0;
    for part in model.split('`') {
        let Some((file, test)) = part.split_once(".rs::") else {
            continue;
        };
        if !file.starts_with("tests/") {
            continue;
        }
        let source = std::fs::read_to_string(format!("{root}/{file}.rs"))
            .unwrap_or_else(|_| panic!("the threat model cites {file}.rs, which does not exist"));
        assert!(
            source.contains(&format!("fn {test}(")),
            "the threat model cites {file}.rs::{test}, which does not exist"
        );
        cited += 1;
    }
    assert!(cited >= 20, "the threat model cites its tests ({cited})");
}

/// Whether `secret` appears anywhere in the database: every row of every
/// table as text on PostgreSQL; the database file and its write-ahead log,
/// byte for byte, on SQLite.
async fn stored_anywhere(app: &TestApp, secret: &str) -> bool {
    if app.backend == "sqlite" {
        let path = app
            .database_url
            .trim_start_matches("sqlite://")
            .split('?')
            .next()
            .unwrap()
            .to_string();
        let needle = secret.as_bytes();
        return ["", "-wal"].iter().any(|suffix| {
            std::fs::read(format!("{path}{suffix}"))
                .is_ok_and(|bytes| bytes.windows(needle.len()).any(|w| w == needle))
        });
    }
    let db = Database::connect(&app.database_url).await.unwrap();
    let backend = db.get_database_backend();
    let tables: Vec<String> = db
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
        ))
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get_by_index::<String>(0).unwrap())
        .collect();
    assert!(tables.len() > 20, "{tables:?}");
    for table in tables {
        let found = db
            .query_one_raw(Statement::from_sql_and_values(
                backend,
                format!("SELECT count(*) FROM \"{table}\" t WHERE t::text LIKE $1"),
                [format!("%{secret}%").into()],
            ))
            .await
            .unwrap()
            .unwrap()
            .try_get_by_index::<i64>(0)
            .unwrap();
        if found > 0 {
            return true;
        }
    }
    false
}

#[apply(case!)]
async fn passwords_tokens_and_keys_are_stored_only_as_hashes() {
    for app in apps().await {
        let (code, lookup_token) = submit(&app).await;
        let session = sign_in_as(&app, "bao.mat", Role::ControlOffice, "48.VP").await;
        let api_key = create_api_key(
            &app.store,
            "cong-thu",
            &[ApiScope::SubmitFeedback],
            "tester",
            Utc::now(),
        )
        .await
        .unwrap();
        // The control: what is stored in clear is found by the same scan.
        assert!(
            stored_anywhere(&app, &code).await,
            "[{}] the scan finds what is stored",
            app.backend
        );
        for (what, secret) in [
            ("lookup token", lookup_token.as_str()),
            ("session token", session.as_str()),
            ("API key", api_key.as_str()),
            ("password", PASSWORD),
        ] {
            assert!(
                !stored_anywhere(&app, secret).await,
                "[{}] the {what} is stored in clear",
                app.backend
            );
        }
    }
}

/// Without the lookup token, an item that exists but is not published
/// answers exactly like a code that was never given, on every public
/// route: nobody learns which codes exist.
#[apply(case!)]
async fn public_routes_do_not_tell_an_unpublished_item_from_a_missing_one() {
    for app in apps().await {
        let (code, _) = submit(&app).await;
        // The same day's code with a sequence no item of this test has.
        let missing = format!("{}9999", &code[..code.len() - 4]);
        for (template, path, suffix) in [
            (
                "/api/v1/public/qa/{tracking_code}",
                "/api/v1/public/qa/",
                "",
            ),
            ("/hoi-dap/{tracking_code}", "/hoi-dap/", ""),
            ("/api/v1/feedback/{tracking_code}", "/api/v1/feedback/", ""),
            (
                "/api/v1/feedback/{tracking_code}/deadlines",
                "/api/v1/feedback/",
                "/deadlines",
            ),
        ] {
            let mut answers = Vec::new();
            for c in [&code, &missing] {
                let reply = app
                    .send(Method::GET, template, &format!("{path}{c}{suffix}"), |r| {
                        r.header("X-Lookup-Token", "AAAA-BBBB-CCCC-DDDD")
                    })
                    .await;
                assert!(
                    matches!(
                        reply.status,
                        StatusCode::NOT_FOUND | StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
                    ),
                    "[{}] {template}: {}",
                    app.backend,
                    reply.status
                );
                let mut body = reply.body.clone();
                if let Some(o) = body.as_object_mut() {
                    o.remove("request_id");
                }
                let body = match body {
                    Value::String(html) => Value::String(
                        html.lines()
                            .filter(|l| !l.contains("request") && !l.contains(c.as_str()))
                            .collect::<Vec<_>>()
                            .join("\n"),
                    ),
                    other => other,
                };
                answers.push((reply.status, body));
            }
            assert_eq!(
                answers[0], answers[1],
                "[{}] {template} tells an existing item from a missing one",
                app.backend
            );
        }
    }
}
