//! The audit log: administrators and auditors find who did what, when,
//! to which item, in Vietnamese, page by page and as CSV; no message text
//! or submitter's data, and the stated reason for auditors only.

use crate::case;
use macro_rules_attribute::apply;

use pakn::domain::staff::Role;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::auth::sign_in_as;
use crate::console::{html, page};
use crate::helpers::{Reply, TestApp, apps};
use crate::workflow::{step, submit};

async fn log(app: &TestApp, token: &str, query: &str) -> Reply {
    app.send(
        Method::GET,
        "/api/v1/admin/audit-log",
        &format!("/api/v1/admin/audit-log?{query}"),
        |r| r.bearer_auth(token),
    )
    .await
}

#[apply(case!)]
async fn who_did_what_and_when_is_found_by_item_person_action_and_date() {
    for app in apps().await {
        let admin = sign_in_as(&app, "quantri", Role::Admin, "48.VP").await;
        let auditor = sign_in_as(&app, "thanhtra", Role::Auditor, "48.VP").await;
        let control = sign_in_as(&app, "kiemsoat", Role::ControlOffice, "48.VP").await;
        let (code, _) = submit(&app).await;
        step(
            &app,
            &control,
            &code,
            "classify",
            json!({"content_category": "implementation_problem"}),
        )
        .await;
        step(
            &app,
            &control,
            &code,
            "reject",
            json!({"reason_code": "R01", "note": "Nội dung là khiếu nại của ông Nguyễn Văn An"}),
        )
        .await;

        // By item, for the auditor: every step, in words, newest first.
        let by_item = log(&app, &auditor, &format!("item={code}")).await;
        assert_eq!(by_item.status, StatusCode::OK, "{}", by_item.body);
        let entries = by_item.body["entries"].as_array().unwrap();
        let actions: Vec<&str> = entries
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        assert_eq!(actions.first(), Some(&"feedback.reject"), "{actions:?}");
        assert!(actions.contains(&"feedback.classify"));
        assert!(actions.contains(&"feedback.received"));
        let reject = &entries[0];
        assert_eq!(reject["actor"], "kiemsoat");
        assert_eq!(reject["label"], "Không tiếp nhận");
        assert_eq!(reject["tracking_code"], code.as_str());
        assert_eq!(reject["to_state"], "not_accepted");
        let received = entries
            .iter()
            .find(|e| e["action"] == "feedback.received")
            .unwrap();
        assert_eq!(received["actor"], "Người gửi");
        // The administrator sees the same steps, without what was written.
        let for_admin = log(&app, &admin, &format!("item={code}")).await;
        assert_eq!(
            for_admin.body["entries"].as_array().unwrap().len(),
            entries.len()
        );
        assert!(!for_admin.body.to_string().contains("Nguyễn Văn An"));
        assert!(
            for_admin.body["entries"]
                .as_array()
                .unwrap()
                .iter()
                .all(|e| e.get("reason").is_none())
        );

        // By person and kind of action.
        let made = app
            .send(Method::POST, "/api/v1/admin/staff", "/api/v1/admin/staff", |r| {
                r.bearer_auth(&admin).json(&json!({"username": "moi", "display_name": "Mới", "role": "auditor", "agency_code": "48.VP"}))
            })
            .await;
        assert_eq!(made.status, StatusCode::CREATED);
        let by_admin = log(&app, &auditor, "actor=quantri&action=staff.").await;
        let entries = by_admin.body["entries"].as_array().unwrap();
        assert_eq!(entries.len(), 1, "{}", by_admin.body);
        assert_eq!(entries[0]["label"], "Tạo tài khoản cán bộ");
        assert!(entries[0]["tracking_code"].is_null());
        // Dates: nothing before today's items happened yesterday.
        let today = pakn::domain::time::vietnam_date(chrono::Utc::now());
        let yesterday = today.pred_opt().unwrap();
        let none = log(&app, &admin, &format!("to={yesterday}")).await;
        assert_eq!(none.body["entries"].as_array().unwrap().len(), 0);
        let some = log(&app, &admin, &format!("from={today}&to={today}")).await;
        assert!(!some.body["entries"].as_array().unwrap().is_empty());

        // Mistakes name their parameter.
        let bad = log(&app, &admin, "item=khong-phai-ma&action=DROP%20TABLE").await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        let mut fields: Vec<String> = bad.field_errors().into_iter().map(|(f, _)| f).collect();
        fields.sort();
        assert_eq!(fields, ["action", "item"]);
        let page_bad = page(
            &app,
            &admin,
            "/nhan-vien/quan-tri/nhat-ky",
            "/nhan-vien/quan-tri/nhat-ky?item=khong-phai-ma",
        )
        .await;
        assert_eq!(page_bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html(&page_bad).contains("id=\"item-loi\""));
        assert!(html(&page_bad).contains("value=\"khong-phai-ma\""));
    }
}

#[apply(case!)]
async fn the_log_pages_without_gaps_and_exports_as_csv() {
    for app in apps().await {
        let admin = sign_in_as(&app, "quantri", Role::Admin, "48.VP").await;
        for i in 0..105 {
            let r = app
                .send(
                    Method::PATCH,
                    "/api/v1/auth/profile",
                    "/api/v1/auth/profile",
                    |r| {
                        r.bearer_auth(&admin)
                            .json(&json!({"daily_digest": i % 2 == 0}))
                    },
                )
                .await;
            assert_eq!(r.status, StatusCode::OK);
        }
        let first = log(&app, &admin, "action=staff.daily_digest_changed").await;
        let first_ids: Vec<String> = first.body["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(first_ids.len(), 100);
        let next = first.body["next"].as_str().expect("a next page");
        let second = log(
            &app,
            &admin,
            &format!(
                "action=staff.daily_digest_changed&before={}",
                urlencoding(next)
            ),
        )
        .await;
        let second_ids: Vec<String> = second.body["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(second_ids.len(), 5);
        assert!(second.body["next"].is_null());
        assert!(second_ids.iter().all(|id| !first_ids.contains(id)));

        let file = app
            .send(
                Method::GET,
                "/nhan-vien/quan-tri/nhat-ky.csv",
                "/nhan-vien/quan-tri/nhat-ky.csv?action=staff.",
                |r| r.bearer_auth(&admin),
            )
            .await;
        assert_eq!(file.status, StatusCode::OK);
        assert!(file.bytes.starts_with(b"\xEF\xBB\xBF"));
        let text = String::from_utf8(file.bytes[3..].to_vec()).unwrap();
        let mut lines = text.lines();
        assert!(
            lines
                .next()
                .unwrap()
                .starts_with("Thời điểm,Người thực hiện")
        );
        assert_eq!(lines.clone().count(), 105);
        assert!(lines.all(|l| l.contains("Đổi lựa chọn thư tổng hợp hằng ngày") && l.contains("quantri")));
        assert!(file.header("x-pakn-truncated").is_none());
        let shown = page(
            &app,
            &admin,
            "/nhan-vien/quan-tri/nhat-ky",
            "/nhan-vien/quan-tri/nhat-ky",
        )
        .await;
        assert_eq!(shown.status, StatusCode::OK);
        assert!(html(&shown).contains("rel=\"next\""));
    }
}

fn urlencoding(s: &str) -> String {
    serde_urlencoded::to_string([("x", s)]).unwrap()[2..].to_string()
}
