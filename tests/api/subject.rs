//! A data subject's requests and the contact access log: the control
//! office finds a person's items by phone or e-mail, exports them, erases
//! the contact data of settled ones and corrects an open one, each audited
//! with its reason; supervisors see who was shown whose contact data.

use macro_rules_attribute::apply;
use pakn::domain::staff::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::auth::sign_in_as;
use crate::case;
use crate::console::{html, page, post_form};
use crate::helpers::{Reply, TestApp, apps, valid_submission};
use crate::workflow::step;

async fn get(app: &TestApp, token: &str, template: &str, path: &str) -> Reply {
    app.send(Method::GET, template, path, |r| r.bearer_auth(token))
        .await
}

async fn post(app: &TestApp, token: &str, template: &str, body: Value) -> Reply {
    app.send(Method::POST, template, template, |r| {
        r.bearer_auth(token).json(&body)
    })
    .await
}

fn codes(r: &Reply) -> Vec<String> {
    r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["tracking_code"].as_str().unwrap().to_string())
        .collect()
}

#[apply(case!)]
async fn a_person_s_items_are_found_exported_erased_and_corrected_and_every_look_is_logged() {
    for app in apps().await {
        let control = sign_in_as(&app, "kiemsoat.dl", Role::ControlOffice, "48.VP").await;
        let auditor = sign_in_as(&app, "thanhtra.dl", Role::Auditor, "48.VP").await;
        let officer = sign_in_as(&app, "sxd.cv.dl", Role::AgencyOfficer, "48.SXD").await;
        let mut ids = Vec::new();
        for _ in 0..2 {
            let r = app.post_feedback(&valid_submission()).await;
            ids.push(r.body["tracking_code"].as_str().unwrap().to_string());
        }
        let mut other = valid_submission();
        other["submitter"]["phone"] = json!("0905 111 222");
        other["submitter"]["email"] = json!("khac@example.vn");
        let r = app.post_feedback(&other).await;
        let stranger = r.body["tracking_code"].as_str().unwrap().to_string();

        // Found by phone in any usual form, or by e-mail in any case.
        let path = "/api/v1/staff/subject-requests";
        let by_phone = get(
            &app,
            &control,
            path,
            &format!("{path}?phone=%2B84912345678"),
        )
        .await;
        assert_eq!(by_phone.status, StatusCode::OK, "{}", by_phone.body);
        assert_eq!(codes(&by_phone), ids);
        let by_email = get(
            &app,
            &control,
            path,
            &format!("{path}?email=AN.NGUYEN%40EXAMPLE.VN"),
        )
        .await;
        assert_eq!(codes(&by_email), ids);
        assert!(!codes(&by_email).contains(&stranger));
        let neither = get(&app, &control, path, path).await;
        assert_eq!(neither.status, StatusCode::UNPROCESSABLE_ENTITY);
        // Only the control office handles them.
        let refused = get(&app, &officer, path, &format!("{path}?phone=0912345678")).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);

        // One file for the person, with what they sent and were sent.
        let export = "/api/v1/staff/subject-requests/export";
        let file = get(
            &app,
            &control,
            export,
            &format!("{export}?phone=0912345678"),
        )
        .await;
        assert_eq!(file.status, StatusCode::OK);
        assert!(
            file.header("content-disposition")
                .unwrap()
                .contains("attachment")
        );
        let items = file.body["items"].as_array().unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0]["submitter"]["full_name"], "Nguyễn Văn An");
        assert!(
            items[0]["content"]
                .as_str()
                .unwrap()
                .contains("giấy phép xây dựng")
        );
        assert_eq!(
            items[0]["messages_sent"].as_array().unwrap().len(),
            1,
            "the acknowledgement"
        );

        // The first is settled, the second still being handled.
        step(
            &app,
            &control,
            &ids[0],
            "reject",
            json!({"reason_code": "R02", "note": "Nội dung tố cáo"}),
        )
        .await;
        let no_reason = post(
            &app,
            &control,
            "/api/v1/staff/subject-requests/erase",
            json!({"phone": "0912345678", "reason": ""}),
        )
        .await;
        assert_eq!(no_reason.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            no_reason.field_errors(),
            vec![("reason".to_string(), "reason_required".to_string())]
        );
        let erased = post(
            &app,
            &control,
            "/api/v1/staff/subject-requests/erase",
            json!({"phone": "0912345678", "reason": "Đơn yêu cầu xoá dữ liệu ngày 04/12/2026"}),
        )
        .await;
        assert_eq!(erased.status, StatusCode::OK, "{}", erased.body);
        assert_eq!(erased.body["erased"], json!([ids[0]]));
        assert_eq!(erased.body["kept_open"], json!([ids[1]]));
        let first = app.staff_get(&control, &ids[0], "").await;
        assert!(first.body["contact_erased_at"].is_string());
        assert_eq!(first.body["submitter"]["full_name"], "");
        assert!(first.body["submitter"]["phone"].is_null());
        let history: Vec<(String, String)> = first.body["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["action"].as_str().unwrap_or_default().to_string(),
                    e["reason"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        assert!(
            history
                .iter()
                .any(|(a, r)| a == "feedback.contact_erased" && r.contains("Đơn yêu cầu xoá")),
            "{history:?}"
        );
        // The open one keeps its contact, and is corrected.
        let corrected = post(
            &app,
            &control,
            "/api/v1/staff/subject-requests/correct",
            json!({"tracking_code": ids[1], "phone": "0905 999 888", "reason": "Người gửi báo đổi số điện thoại"}),
        )
        .await;
        assert_eq!(
            corrected.status,
            StatusCode::NO_CONTENT,
            "{}",
            corrected.body
        );
        let second = app.staff_get(&control, &ids[1], "").await;
        assert_eq!(second.body["submitter"]["phone"], "+84905999888");
        assert_eq!(second.body["submitter"]["full_name"], "Nguyễn Văn An");
        let note = second.body["history"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["action"] == "feedback.contact_corrected")
            .unwrap()
            .to_string();
        assert!(
            !note.contains("905999888"),
            "the audit names fields, not values: {note}"
        );

        // Who saw whose contact data: the control office, by purpose.
        let log = "/api/v1/admin/contact-access";
        let seen = get(&app, &auditor, log, &format!("{log}?item={}", ids[1])).await;
        assert_eq!(seen.status, StatusCode::OK);
        let entries = seen.body["entries"].as_array().unwrap();
        let purposes: Vec<&str> = entries
            .iter()
            .filter(|e| e["staff"] == "kiemsoat.dl")
            .map(|e| e["purpose"].as_str().unwrap())
            .collect();
        assert!(
            purposes.contains(&"Tra cứu theo yêu cầu của chủ thể dữ liệu"),
            "{purposes:?}"
        );
        assert!(
            purposes.contains(&"Xuất dữ liệu cho chủ thể dữ liệu"),
            "{purposes:?}"
        );
        assert!(
            purposes.contains(&"Xem phản ánh (trang hoặc API)"),
            "{purposes:?}"
        );
        // A reload within ten minutes is one entry, not two.
        app.staff_get(&control, &ids[1], "").await;
        let again = get(
            &app,
            &auditor,
            log,
            &format!("{log}?item={}&staff=kiemsoat.dl", ids[1]),
        )
        .await;
        let views = again.body["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["purpose"] == "Xem phản ánh (trang hoặc API)")
            .count();
        assert_eq!(views, 1);
        assert_eq!(
            get(&app, &officer, log, log).await.status,
            StatusCode::FORBIDDEN
        );

        // The pages: the search, and a mistake answered beside its field.
        let found = page(
            &app,
            &control,
            "/nhan-vien/du-lieu-ca-nhan",
            // The second kept its address (its phone was corrected).
            "/nhan-vien/du-lieu-ca-nhan?email=an.nguyen%40example.vn",
        )
        .await;
        assert_eq!(found.status, StatusCode::OK);
        assert!(html(&found).contains(&ids[1]) && html(&found).contains("id=\"xuat\""));
        let mistake = post_form(
            &app,
            &control,
            "/nhan-vien/du-lieu-ca-nhan/xoa",
            "/nhan-vien/du-lieu-ca-nhan/xoa",
            &[
                ("phone", ""),
                ("email", "an.nguyen@example.vn"),
                ("reason", ""),
            ],
        )
        .await;
        assert_eq!(mistake.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html(&mistake).contains("id=\"reason-loi\""));
        let access = page(
            &app,
            &auditor,
            "/nhan-vien/quan-tri/truy-cap-lien-he",
            &format!("/nhan-vien/quan-tri/truy-cap-lien-he?item={}", ids[1]),
        )
        .await;
        assert_eq!(access.status, StatusCode::OK);
        assert!(html(&access).contains("kiemsoat.dl"));
    }
}
