//! Staff-entered items: calls, letters, the letter box; the deadline
//! counts from when the item really arrived.

use crate::case;
use macro_rules_attribute::apply;

use chrono::{DateTime, Duration, Utc};
use pakn::domain::staff::Role;
use reqwest::multipart::{Form, Part};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::auth::sign_in_as;
use crate::helpers::{TestApp, apps, valid_submission};

const PDF: &[u8] = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n";

pub fn hotline_call(received_at: DateTime<Utc>) -> Value {
    let mut body = valid_submission();
    body["channel"] = json!("hotline");
    body["received_at"] = json!(received_at.to_rfc3339());
    body["intake"] = json!({
        "caller_number": "0905 123 456",
        "call_time": received_at.to_rfc3339(),
        "note": "Người gọi đề nghị trả lời qua điện thoại",
    });
    body
}

async fn enter(app: &TestApp, token: &str, body: &Value) -> crate::helpers::Reply {
    app.send(
        Method::POST,
        "/api/v1/staff/feedback",
        "/api/v1/staff/feedback",
        |r| r.bearer_auth(token).json(body),
    )
    .await
}

#[apply(case!)]
async fn a_call_keyed_in_two_days_later_runs_from_the_call() {
    for app in apps().await {
        let token = sign_in_as(&app, "tongdai", Role::ControlOffice, "48.VP").await;
        let called = Utc::now() - Duration::days(2);
        let reply = enter(&app, &token, &hotline_call(called)).await;
        assert_eq!(
            reply.status,
            StatusCode::CREATED,
            "[{}] {}",
            app.backend,
            reply.body
        );
        let code = reply.body["tracking_code"].as_str().unwrap();
        let lookup_token = reply.body["lookup_token"].as_str().unwrap();
        let received =
            DateTime::parse_from_rfc3339(reply.body["received_at"].as_str().unwrap()).unwrap();
        assert_eq!(received.timestamp(), called.timestamp());
        // The tracking code is dated the day it was registered.
        let today = pakn::domain::time::vietnam_date(Utc::now())
            .format("%Y%m%d")
            .to_string();
        assert!(code.contains(&today), "{code}");

        let view = app.lookup(code, lookup_token).await;
        assert_eq!(view.status, StatusCode::OK);
        let deadlines = app
            .send(
                Method::GET,
                "/api/v1/feedback/{tracking_code}/deadlines",
                &format!("/api/v1/feedback/{code}/deadlines"),
                |r| r.header("X-Lookup-Token", lookup_token),
            )
            .await;
        let classify = deadlines.body["deadlines"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["kind"] == "classify")
            .unwrap();
        assert_eq!(
            classify["counts_from"],
            pakn::domain::time::vietnam_date(called).to_string()
        );

        let item = app
            .store
            .find_feedback_by_code(&code.parse().unwrap())
            .await
            .unwrap()
            .unwrap()
            .item;
        assert_eq!(item.channel, "hotline");
        let details = item.intake_details.unwrap();
        assert_eq!(details["caller_number"], "+84905123456");
        assert_eq!(details["channel"], "hotline");
        assert!(item.entered_by_staff_id.is_some());
        let events = app
            .store
            .audit_events_for(pakn::domain::ids::FeedbackId::from_uuid(item.id))
            .await
            .unwrap();
        let received = &events[0];
        assert_eq!(received.actor_kind, "staff");
        assert_eq!(received.actor_id.as_deref(), Some("tongdai"));
        assert!(received.details["intake_delay_seconds"].as_i64().unwrap() >= 2 * 86400 - 5);
    }
}

#[apply(case!)]
async fn a_scanned_letter_from_the_letter_box_arrives_as_multipart() {
    for app in apps().await {
        let token = sign_in_as(&app, "vanthu", Role::AgencyOfficer, "48.SXD").await;
        let opened = Utc::now() - Duration::days(1);
        let form = Form::new()
            .text("channel", "letter_box")
            .text("received_at", opened.to_rfc3339())
            .text("intake.letter_box_opened_on", pakn::domain::time::vietnam_date(opened).to_string())
            .text("kind", "kien_nghi")
            .text("title", "Đề nghị niêm yết công khai thủ tục")
            .text("content", "Đề nghị Ủy ban niêm yết công khai danh mục thủ tục hành chính tại bộ phận một cửa.")
            .text("submitter.type", "individual")
            .text("submitter.full_name", "Trần Thị Bình")
            .text("submitter.address.detail", "5 Hùng Vương, Đà Nẵng")
            .text("submitter.phone", "0236 3821 111")
            .part("attachments", Part::bytes(PDF.to_vec()).file_name("thu-scan.pdf"));
        let reply = app
            .send(
                Method::POST,
                "/api/v1/staff/feedback",
                "/api/v1/staff/feedback",
                |r| r.bearer_auth(&token).multipart(form),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::CREATED,
            "[{}] {}",
            app.backend,
            reply.body
        );
        assert_eq!(reply.body["attachments"].as_array().unwrap().len(), 1);
    }
}

#[apply(case!)]
async fn staff_see_every_problem_at_once_and_others_may_not_enter() {
    for app in apps().await {
        let token = sign_in_as(&app, "nhaplieu", Role::ControlOffice, "48.VP").await;
        let mut body = valid_submission();
        body["submitter"]["full_name"] = json!("");
        body["channel"] = json!("web_form");
        body["received_at"] = json!((Utc::now() + Duration::days(1)).to_rfc3339());
        body["intake"] = json!({"postmark_date": "hôm qua"});
        let reply = enter(&app, &token, &body).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            reply.body
        );
        let errors = reply.field_errors();
        for expected in [
            ("channel", "invalid_choice"),
            ("received_at", "received_at_in_future"),
            ("intake.postmark_date", "date_invalid"),
            ("submitter.full_name", "required"),
        ] {
            assert!(
                errors.contains(&(expected.0.to_string(), expected.1.to_string())),
                "{expected:?} in {errors:?}"
            );
        }
        let mut body = hotline_call(Utc::now());
        body["colour"] = json!("blue");
        let reply = enter(&app, &token, &body).await;
        assert_eq!(
            reply.field_errors(),
            vec![("colour".to_string(), "unknown_field".to_string())]
        );

        // An Idempotency-Key replays only the same entry: a corrected
        // arrival time is a different request.
        let first = hotline_call(Utc::now() - Duration::hours(3));
        let corrected = hotline_call(Utc::now() - Duration::hours(5));
        let keyed = |body: Value| {
            let app = &app;
            let token = token.clone();
            async move {
                app.send(
                    Method::POST,
                    "/api/v1/staff/feedback",
                    "/api/v1/staff/feedback",
                    |r| {
                        r.bearer_auth(token)
                            .header("Idempotency-Key", "cuoc-goi-1-8e2a4f6b")
                            .json(&body)
                    },
                )
                .await
            }
        };
        assert_eq!(keyed(first.clone()).await.status, StatusCode::CREATED);
        let replay = keyed(first).await;
        assert_eq!(replay.header("idempotent-replayed"), Some("true"));
        let reused = keyed(corrected).await;
        assert_eq!(reused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(reused.body["code"], "idempotency_key_reused");

        let auditor = sign_in_as(&app, "giamsat", Role::Auditor, "48.VP").await;
        assert_eq!(
            enter(&app, &auditor, &hotline_call(Utc::now()))
                .await
                .status,
            StatusCode::FORBIDDEN
        );
        let admin = sign_in_as(&app, "quantri2", Role::Admin, "48.VP").await;
        assert_eq!(
            enter(&app, &admin, &hotline_call(Utc::now())).await.status,
            StatusCode::FORBIDDEN
        );
    }
}

async fn item(app: &TestApp, token: &str, code: &str) -> crate::helpers::Reply {
    app.staff_get(token, code, "").await
}

#[apply(case!)]
async fn the_item_page_shows_everything_staff_need_and_notes_stay_internal() {
    for app in apps().await {
        let control = sign_in_as(&app, "kiemsoat.p", Role::ControlOffice, "48.VP").await;
        let officer = sign_in_as(&app, "sxd.p", Role::AgencyOfficer, "48.SXD").await;
        let auditor = sign_in_as(&app, "thanhtra.p", Role::Auditor, "48.VP").await;
        let called = Utc::now() - Duration::hours(30);
        let receipt = enter(&app, &control, &hotline_call(called)).await;
        let code = receipt.body["tracking_code"].as_str().unwrap().to_string();
        let lookup_token = receipt.body["lookup_token"].as_str().unwrap().to_string();

        let page = item(&app, &control, &code).await;
        assert_eq!(
            page.status,
            StatusCode::OK,
            "[{}] {}",
            app.backend,
            page.body
        );
        let b = &page.body;
        assert_eq!(b["submitter"]["full_name"], "Nguyễn Văn An");
        assert_eq!(b["submitter"]["phone"], "+84912345678");
        assert_eq!(b["channel"], "hotline");
        assert_eq!(b["entered_by"], "kiemsoat.p");
        assert_eq!(b["intake"]["caller_number"], "+84905123456");
        assert_eq!(b["receiving_agency"]["code"], "48.VP");
        assert!(b["handling_agency"].is_null());
        assert_eq!(b["deadlines"].as_array().unwrap().len(), 3);
        assert_eq!(b["history"][0]["action"], "feedback.received");
        assert_eq!(b["history"][0]["actor"], "kiemsoat.p");
        assert_ne!(b["received_at"], b["registered_at"]);

        // A note, visible to staff only, audited without its text.
        let note = app
            .send(
                Method::POST,
                "/api/v1/staff/feedback/{tracking_code}/notes",
                &format!("/api/v1/staff/feedback/{code}/notes"),
                |r| {
                    r.bearer_auth(&control).json(
                        &json!({"body": "Đã gọi lại cho người phản ánh, hẹn bổ sung giấy tờ."}),
                    )
                },
            )
            .await;
        assert_eq!(note.status, StatusCode::CREATED, "{}", note.body);
        assert_eq!(note.body["author"], "kiemsoat.p");
        let page = item(&app, &auditor, &code).await;
        assert_eq!(
            page.body["notes"][0]["body"],
            "Đã gọi lại cho người phản ánh, hẹn bổ sung giấy tờ."
        );
        let audit = page.body["history"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["action"] == "note.added")
            .unwrap()
            .clone();
        assert!(
            !audit.to_string().contains("hẹn bổ sung"),
            "the note's text is not in the audit log"
        );
        let citizen = app.lookup(&code, &lookup_token).await;
        assert!(
            !citizen.body.to_string().contains("hẹn bổ sung"),
            "citizens never see notes"
        );
        for bad in [json!({"body": "   "}), json!({"body": "x".repeat(5001)})] {
            let reply = app
                .send(
                    Method::POST,
                    "/api/v1/staff/feedback/{tracking_code}/notes",
                    &format!("/api/v1/staff/feedback/{code}/notes"),
                    |r| r.bearer_auth(&control).json(&bad),
                )
                .await;
            assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
        }

        // Outside one's scope the item does not exist; the auditor reads
        // but does not write.
        let hidden = item(&app, &officer, &code).await;
        let unknown = item(&app, &control, "PAKN.48.20200101.9999").await;
        assert_eq!(hidden.status, StatusCode::NOT_FOUND);
        assert_eq!(hidden.body["detail"], unknown.body["detail"]);
        let auditor_note = app
            .send(
                Method::POST,
                "/api/v1/staff/feedback/{tracking_code}/notes",
                &format!("/api/v1/staff/feedback/{code}/notes"),
                |r| r.bearer_auth(&auditor).json(&json!({"body": "x"})),
            )
            .await;
        assert_eq!(auditor_note.status, StatusCode::FORBIDDEN);
    }
}

#[apply(case!)]
async fn attachments_download_only_as_attachments_to_staff_who_may_see_them() {
    for app in apps().await {
        let control = sign_in_as(&app, "kiemsoat.a", Role::ControlOffice, "48.VP").await;
        let officer = sign_in_as(&app, "sxd.a", Role::AgencyOfficer, "48.SXD").await;
        let form = Form::new()
            .text("kind", "phan_anh")
            .text("title", "Phản ánh kèm ảnh chụp biên nhận")
            .text(
                "content",
                "Biên nhận hồ sơ ghi hẹn trả kết quả ngày 10/11 nhưng đến nay chưa nhận được.",
            )
            .text("submitter.type", "individual")
            .text("submitter.full_name", "Lê Văn Cường")
            .text("submitter.address.detail", "1 Bạch Đằng")
            .text("submitter.email", "cuong@example.vn")
            .part(
                "attachments",
                Part::bytes(PDF.to_vec())
                    .file_name("biên nhận <script>.pdf")
                    .mime_str("text/html")
                    .unwrap(),
            );
        let receipt = app
            .send(Method::POST, "/api/v1/feedback", "/api/v1/feedback", |r| {
                r.multipart(form)
            })
            .await;
        assert_eq!(receipt.status, StatusCode::CREATED, "{}", receipt.body);
        let code = receipt.body["tracking_code"].as_str().unwrap();
        let page = item(&app, &control, code).await;
        let url = page.body["attachments"][0]["download_url"]
            .as_str()
            .unwrap()
            .to_string();
        let file = app
            .send(
                Method::GET,
                "/api/v1/staff/feedback/{tracking_code}/attachments/{attachment_id}",
                &url,
                |r| r.bearer_auth(&control),
            )
            .await;
        assert_eq!(file.status, StatusCode::OK);
        assert_eq!(
            file.header("content-type"),
            Some("application/pdf"),
            "the sniffed type, not the declared text/html"
        );
        let disposition = file.header("content-disposition").unwrap();
        assert!(disposition.starts_with("attachment"), "{disposition}");
        assert_eq!(file.header("x-content-type-options"), Some("nosniff"));
        let bytes = app
            .client
            .get(format!("{}{url}", app.base))
            .bearer_auth(&control)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(&bytes[..], PDF, "the exact bytes received");
        let other = app
            .send(
                Method::GET,
                "/api/v1/staff/feedback/{tracking_code}/attachments/{attachment_id}",
                &url,
                |r| r.bearer_auth(&officer),
            )
            .await;
        assert_eq!(other.status, StatusCode::NOT_FOUND);
        let anonymous = app
            .send(
                Method::GET,
                "/api/v1/staff/feedback/{tracking_code}/attachments/{attachment_id}",
                &url,
                |r| r,
            )
            .await;
        assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    }
}
