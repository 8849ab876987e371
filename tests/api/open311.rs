//! Open311 GeoReport v2: a real client from PyPI submits and reads
//! through pakn (`open311_client.py`), every response checked against the
//! standard's spec page in JSON and XML; here, what the client cannot
//! see: the item it created, the link to its token in the submitter's
//! mail, idempotency, and malformed requests.

use std::process::Command;

use chrono::Utc;
use macro_rules_attribute::apply;
use pakn::domain::staff::{ApiScope, Role};
use pakn::services::auth::create_api_key;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::auth::sign_in_as;
use crate::case;
use crate::helpers::{TestApp, apps, valid_submission};
use crate::mail::deliver;
use crate::mail_servers::SmtpSink;
use crate::public_qa::publish;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/api/open311_client.py");

/// The Python with the Open311 clients (`.ci/run` installs them beside
/// aiosmtpd); `None` (the test not run) without it, unless required.
fn python() -> Option<String> {
    let python = std::env::var("PAKN_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let ok = Command::new(&python)
        .args(["-c", "import civicbot.open311, georeport"])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        return Some(python);
    }
    let why = format!("`{python} -c 'import civicbot.open311, georeport'` failed");
    if std::env::var_os("PAKN_TEST_REQUIRE_MAIL_SERVERS").is_some() {
        panic!("the Open311 clients are required but {why}");
    }
    crate::harness::not_run(format!(
        "the Open311 clients (civicbot, georeport) are not installed ({why}); `.ci/run` installs them"
    ))
}

async fn partner_key(app: &TestApp, scopes: &[ApiScope]) -> (String, String) {
    let name = format!("ung-dung-{}", uuid::Uuid::now_v7().simple());
    let key = create_api_key(&app.store, &name, scopes, "tester", Utc::now())
        .await
        .expect("api key");
    (name, key)
}

async fn post_form(
    app: &TestApp,
    format: &str,
    body: &str,
    extra: &[(&str, &str)],
) -> crate::helpers::Reply {
    let path = format!("/open311/v2/requests.{format}");
    let body = body.to_string();
    let extra: Vec<(String, String)> = extra
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect();
    app.send(
        Method::POST,
        "/open311/v2/requests.{format}",
        &path,
        move |r| {
            let mut r = r
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body);
            for (k, v) in extra {
                r = r.header(k, v);
            }
            r
        },
    )
    .await
}

fn form(pairs: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(pairs).unwrap()
}

#[apply(case!)]
async fn an_open311_client_submits_and_reads_through_pakn() {
    let Some(python) = python() else { return };
    for app in apps().await {
        let Some(sink) = SmtpSink::start() else {
            return;
        };
        let control = sign_in_as(&app, "kiemsoat.o311", Role::ControlOffice, "48.VP").await;
        let published = publish(
            &app,
            &control,
            valid_submission(),
            "Giấy phép xây dựng chậm",
            "Hồ sơ xin giấy phép xây dựng nộp đã lâu mà chưa có kết quả.",
            "Sở Xây dựng đã cấp giấy phép ngày 10/11.\nHồ sơ đã được trả tại Bộ phận Một cửa.\nCảm ơn Ông/Bà.\nDòng thứ tư.",
        )
        .await;
        let unpublished = app.post_feedback(&valid_submission()).await.body["tracking_code"]
            .as_str()
            .unwrap()
            .to_string();
        let (key_name, key) = partner_key(&app, &[ApiScope::SubmitFeedback]).await;
        let one = app
            .send(
                Method::GET,
                "/open311/v2/requests/{service_request_id}.{format}",
                &format!("/open311/v2/requests/{published}.json"),
                |r| r,
            )
            .await;
        assert_eq!(one.status, StatusCode::OK, "{}", one.body);
        let service = one.body[0]["service_code"].as_str().unwrap().to_string();
        assert_eq!(service, "xay_dung");
        assert_eq!(
            one.body[0]["status_notes"],
            "Sở Xây dựng đã cấp giấy phép ngày 10/11.\nHồ sơ đã được trả tại Bộ phận Một cửa.\nCảm ơn Ông/Bà."
        );
        assert!(!one.body.to_string().contains("Nguyễn Văn An"));
        assert!(!one.body.to_string().contains("12 Lê Lợi"));

        let run = Command::new(&python)
            .arg(SCRIPT)
            .env("OPEN311_BASE", format!("{}/open311/v2", app.base))
            .env("OPEN311_API_KEY", &key)
            .env("OPEN311_PUBLISHED", &published)
            .env("OPEN311_UNPUBLISHED", &unpublished)
            .env("OPEN311_SERVICE", &service)
            .output()
            .expect("python runs");
        assert!(
            run.status.success(),
            "[{}] {}\n{}",
            app.backend,
            String::from_utf8_lossy(&run.stderr),
            String::from_utf8_lossy(&run.stdout)
        );
        let out: Value = serde_json::from_slice(&run.stdout).expect("one JSON line");

        // The item the client created: the web form's intake, the
        // partner named, the Vietnamese name order, the place kept.
        let code = out["created"].as_str().unwrap().to_string();
        let row = app
            .store
            .find_feedback_by_code(&code.parse().unwrap())
            .await
            .unwrap()
            .expect("stored");
        assert_eq!(row.item.submitter_name, "Nguyễn Văn An");
        assert_eq!(row.item.channel, "web_form");
        assert_eq!(row.item.kind, "kien_nghi");
        assert!(row.item.consent_to_publish);
        assert!(
            row.item
                .content
                .contains("Tọa độ (WGS84): 16.0678, 108.2208"),
            "{}",
            row.item.content
        );
        assert_eq!(row.item.address_detail, "12 Lê Lợi, phường Hải Châu");
        let events = app
            .store
            .audit_events_for(pakn::domain::ids::FeedbackId::from_uuid(row.item.id))
            .await
            .unwrap();
        assert_eq!(events[0].actor_kind, "integration");
        assert_eq!(events[0].actor_id.as_deref(), Some(key_name.as_str()));
        let xml_code = out["created_xml"].as_str().unwrap();
        let xml_row = app
            .store
            .find_feedback_by_code(&xml_code.parse().unwrap())
            .await
            .unwrap()
            .expect("stored");
        assert!(xml_row.item.field_id.is_none(), "khac: no field");
        assert!(out["created_response"].to_string().contains("thư điện tử"));

        // The token reaches the submitter only: a one-time link by mail.
        deliver(&app, &sink).await;
        let mail = sink
            .wait_for(|m| {
                m.contains("To: an.open311@example.vn") && m.contains("tra-cuu/khoi-phuc")
            })
            .await;
        let parsed = mail_parser::MessageParser::default()
            .parse(mail.as_bytes())
            .unwrap();
        assert!(parsed.subject().unwrap().contains(&code));
        let body = parsed.body_text(0).unwrap().to_string();
        let link = body
            .split_whitespace()
            .find(|w| w.contains("/tra-cuu/khoi-phuc?khoa="))
            .unwrap();
        let secret = link.rsplit_once("khoa=").unwrap().1.to_string();
        let redeemed = app
            .send(
                Method::POST,
                "/api/v1/lookup-recovery/redeem",
                "/api/v1/lookup-recovery/redeem",
                |r| r.json(&json!({"key": secret})),
            )
            .await;
        assert_eq!(redeemed.status, StatusCode::OK, "{}", redeemed.body);
        assert_eq!(redeemed.body["tracking_code"], code.as_str());
        let token = redeemed.body["lookup_token"].as_str().unwrap();
        assert_eq!(app.lookup(&code, token).await.status, StatusCode::OK);
        let actions: Vec<String> = app
            .store
            .audit_events_for(pakn::domain::ids::FeedbackId::from_uuid(row.item.id))
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect();
        assert!(
            actions.contains(&"feedback.lookup_link_sent".to_string()),
            "{actions:?}"
        );
    }
}

#[apply(case!)]
async fn open311_submissions_are_idempotent_and_malformed_ones_get_the_standards_errors() {
    for app in apps().await {
        let (_, key) = partner_key(&app, &[ApiScope::SubmitFeedback]).await;
        let (_, wrong_scope) = partner_key(&app, &[ApiScope::ReadStatistics]).await;
        let good = [
            ("api_key", key.as_str()),
            ("service_code", "ho_tich"),
            ("address_string", "45 Trần Phú"),
            (
                "description",
                "Quy định về trích lục hộ tịch bắt buộc nộp bản chính giấy tờ, gây khó khăn cho người dân ở xa.",
            ),
            ("first_name", "Cúc"),
            ("last_name", "Lê Thị"),
            ("email", "cuc@example.vn"),
            ("attribute[loai]", "phan_anh"),
        ];
        let first = post_form(
            &app,
            "json",
            &form(&good),
            &[("idempotency-key", "open311-thu-lan-1-abcdef")],
        )
        .await;
        assert_eq!(first.status, StatusCode::OK, "{}", first.body);
        let again = post_form(
            &app,
            "json",
            &form(&good),
            &[("idempotency-key", "open311-thu-lan-1-abcdef")],
        )
        .await;
        assert_eq!(again.status, StatusCode::OK);
        assert_eq!(
            again.body[0]["service_request_id"],
            first.body[0]["service_request_id"]
        );
        assert_eq!(again.header("idempotent-replayed"), Some("true"));
        assert_eq!(
            app.store.count_feedback().await.unwrap(),
            1,
            "[{}] one item",
            app.backend
        );
        // One link to the token, however often the partner retries.
        let links = app
            .store
            .list_notices(false, 100)
            .await
            .unwrap()
            .into_iter()
            .filter(|n| n.kind == "citizen_token_issue")
            .count();
        assert_eq!(links, 1);
        let mut changed = good.to_vec();
        changed[3].1 =
            "Một nội dung khác hẳn về quy định trích lục hộ tịch cần được sửa đổi cho phù hợp.";
        let reused = post_form(
            &app,
            "json",
            &form(&changed),
            &[("idempotency-key", "open311-thu-lan-1-abcdef")],
        )
        .await;
        assert_eq!(reused.status, StatusCode::BAD_REQUEST);
        assert!(
            reused.body[0]["description"]
                .as_str()
                .unwrap()
                .starts_with("Idempotency-Key")
        );

        // A key without the scope is the standard's 403.
        let mut scoped = good.to_vec();
        scoped[0].1 = &wrong_scope;
        let r = post_form(&app, "xml", &form(&scoped), &[]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert!(
            r.body
                .as_str()
                .unwrap()
                .contains("<errors><error><code>403</code>")
        );
        // The key as a bearer token works too.
        let bearer = post_form(
            &app,
            "json",
            &form(&good[1..]),
            &[("authorization", &format!("Bearer {key}"))],
        )
        .await;
        assert_eq!(bearer.status, StatusCode::OK, "{}", bearer.body);

        // Malformed: not a form, not UTF-8, too large, bad coordinates,
        // a value not in the list, an unknown format. Each is an error
        // list in the path's format, never a 500; nothing is stored.
        let before = app.store.count_feedback().await.unwrap();
        let json_body = app
            .send(
                Method::POST,
                "/open311/v2/requests.{format}",
                "/open311/v2/requests.json",
                |r| r.json(&json!({"service_code": "ho_tich"})),
            )
            .await;
        assert_eq!(json_body.status, StatusCode::BAD_REQUEST);
        assert!(
            json_body.body[0]["description"]
                .as_str()
                .unwrap()
                .contains("x-www-form-urlencoded")
        );
        let not_utf8 =
            post_form(&app, "json", "description=%FF%FE&service_code=ho_tich", &[]).await;
        assert_eq!(not_utf8.status, StatusCode::BAD_REQUEST);
        let huge = format!(
            "api_key={key}&service_code=ho_tich&description={}",
            "a".repeat(70_000)
        );
        let too_large = post_form(&app, "json", &huge, &[]).await;
        assert_eq!(too_large.status, StatusCode::BAD_REQUEST);
        assert!(
            too_large.body[0]["description"]
                .as_str()
                .unwrap()
                .contains("64 KiB")
        );
        let mut bad = good.to_vec();
        bad.push(("lat", "91"));
        bad.push(("long", "abc"));
        bad.push(("attribute[cong_khai]", "co"));
        let r = post_form(&app, "json", &form(&bad), &[]).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        let texts: Vec<&str> = r
            .body
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["description"].as_str().unwrap())
            .collect();
        assert!(texts.iter().any(|t| t.starts_with("lat/long")), "{texts:?}");
        assert!(
            texts.iter().any(|t| t.starts_with("attribute[cong_khai]")),
            "{texts:?}"
        );
        let long_description = "ừ ".repeat(2001);
        let mut long = good.to_vec();
        long[3].1 = &long_description;
        let r = post_form(&app, "json", &form(&long), &[]).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert!(r.body[0]["description"].as_str().unwrap().contains("4.000"));
        let odd = app
            .send(
                Method::GET,
                "/open311/v2/services.{format}",
                "/open311/v2/services.html",
                |r| r,
            )
            .await;
        assert_eq!(odd.status, StatusCode::NOT_FOUND);
        assert!(odd.body.as_str().unwrap().starts_with("<?xml"));
        let odd_query = app
            .send(
                Method::GET,
                "/open311/v2/requests.{format}",
                "/open311/v2/requests.json?status=open,waiting&start_date=2026-13-01",
                |r| r,
            )
            .await;
        assert_eq!(odd_query.status, StatusCode::BAD_REQUEST);
        assert_eq!(
            odd_query.body.as_array().unwrap().len(),
            2,
            "{}",
            odd_query.body
        );
        assert_eq!(app.store.count_feedback().await.unwrap(), before);
    }
}

#[apply(case!)]
async fn refusals_without_a_working_key_share_the_forms_rate_limit_in_the_standards_format() {
    for app in crate::helpers::apps_with(|s| {
        s.rate_limit.enabled = true;
        s.rate_limit.submission_burst = 2;
        s.rate_limit.submissions_per_minute = 1;
    })
    .await
    {
        let body = "service_code=xay_dung&description=Ho%20so%20qua%20han&api_key=pakn_ak_sai";
        for _ in 0..2 {
            let refused = post_form(&app, "json", body, &[]).await;
            assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
        }
        for format in ["json", "xml"] {
            let limited = post_form(&app, format, body, &[]).await;
            assert_eq!(
                limited.status,
                StatusCode::TOO_MANY_REQUESTS,
                "[{}] {format}",
                app.backend
            );
            assert!(
                limited
                    .header("retry-after")
                    .is_some_and(|s| s.parse::<u64>().is_ok())
            );
            if format == "json" {
                assert_eq!(limited.body[0]["code"], 429);
                assert!(
                    limited.body[0]["description"]
                        .as_str()
                        .unwrap()
                        .contains("Quá nhiều")
                );
            } else {
                let text = String::from_utf8_lossy(&limited.bytes).to_string();
                assert!(
                    text.contains("<errors>") && text.contains("<code>429</code>"),
                    "{text}"
                );
            }
        }
    }
}
