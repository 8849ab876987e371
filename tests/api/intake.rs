//! POST /api/v1/feedback: the three encodings, Decree 20's rules, limits,
//! attachments and idempotency.

use crate::case;
use macro_rules_attribute::apply;

use reqwest::multipart::{Form, Part};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use unicode_normalization::UnicodeNormalization;

use crate::helpers::{TestApp, apps, apps_with, valid_submission};

const PDF: &[u8] = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n";
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\rIDATx\x9cc\xf8\x0f\0\0\x01\x01\0\x05\x18\xd8N\0\0\0\0IEND\xaeB`\x82";

async fn stored(app: &TestApp, code: &str) -> pakn::store::feedback::FeedbackRow {
    app.store
        .find_feedback_by_code(&code.parse().unwrap())
        .await
        .unwrap()
        .expect("item is stored")
}

#[apply(case!)]
async fn a_valid_json_submission_is_received_with_code_token_and_audit() {
    for app in apps().await {
        let reply = app.post_feedback(&valid_submission()).await;
        assert_eq!(
            reply.status,
            StatusCode::CREATED,
            "[{}] {}",
            app.backend,
            reply.body
        );
        let code = reply.body["tracking_code"].as_str().unwrap().to_string();
        let today = pakn::domain::time::vietnam_date(chrono::Utc::now())
            .format("%Y%m%d")
            .to_string();
        assert_eq!(
            code,
            format!("PAKN.48.{today}.0001"),
            "[{}] first code of the day",
            app.backend
        );
        assert_eq!(
            reply.header("location").unwrap(),
            format!("{}/api/v1/feedback/{code}", app.base)
        );
        assert_eq!(reply.header("cache-control"), Some("no-store"));
        assert_eq!(reply.body["status"], "received");
        assert_eq!(reply.body["status_label"], "Đã tiếp nhận");
        assert_eq!(reply.body["language_flagged"], false);

        let row = stored(&app, &code).await;
        let item = &row.item;
        assert_eq!(item.state, "received");
        assert_eq!(item.channel, "web_form");
        assert_eq!(
            item.phone.as_deref(),
            Some("+84912345678"),
            "phone normalised to E.164"
        );
        assert_eq!(item.address_commune_code.as_deref(), Some("20242"));
        assert!(item.consent_to_publish);
        assert_eq!(
            item.search_text,
            pakn::domain::text::fold_for_search(&format!("{} {}", item.title, item.content))
        );
        assert!(item.search_text.contains("thu tuc cap giay phep xay dung"));
        // Only the token's hash is kept.
        let token = reply.body["lookup_token"].as_str().unwrap();
        assert!(
            !item
                .lookup_token_hash
                .windows(4)
                .any(|w| w == &token.as_bytes()[..4])
        );
        assert_eq!(
            item.lookup_token_hash,
            pakn::domain::tracking::LookupToken::parse(token)
                .unwrap()
                .hash()
        );

        let events = app
            .store
            .audit_events_for(pakn::domain::ids::FeedbackId::from_uuid(item.id))
            .await
            .unwrap();
        assert_eq!(events.len(), 1, "[{}] one audit event", app.backend);
        assert_eq!(events[0].action, "feedback.received");
        assert_eq!(events[0].to_state.as_deref(), Some("received"));
        assert!(
            events[0]
                .request_id
                .as_deref()
                .is_some_and(|id| Some(id) == reply.header("x-request-id"))
        );
        let details = events[0].details.to_string();
        assert!(
            !details.contains("Nguyễn")
                && !crate::helpers::shows_the_phone(&details)
                && !details.contains("example.vn"),
            "no personal data in audit details"
        );
    }
}

#[apply(case!)]
async fn urlencoded_forms_with_dotted_and_bracketed_names_are_accepted() {
    for app in apps().await {
        let form = [
            ("kind", "kien_nghi"),
            ("title", "Đề nghị đơn giản hóa thủ tục đăng ký hộ tịch"),
            (
                "content",
                "Đề nghị cho phép nộp bản sao điện tử thay cho bản sao chứng thực khi đăng ký khai sinh.",
            ),
            ("submitter[full_name]", "Trần Thị Bình"),
            ("submitter.address.detail", "45 Nguyễn Văn Linh"),
            ("submitter[address][commune_code]", "20257"),
            ("submitter.email", "binh@example.vn"),
            ("consent_to_publish", "on"),
        ];
        let reply = app
            .send(Method::POST, "/api/v1/feedback", "/api/v1/feedback", |r| {
                r.form(&form)
            })
            .await;
        assert_eq!(
            reply.status,
            StatusCode::CREATED,
            "[{}] {}",
            app.backend,
            reply.body
        );
        let item = stored(&app, reply.body["tracking_code"].as_str().unwrap())
            .await
            .item;
        assert_eq!(item.kind, "kien_nghi");
        assert_eq!(item.submitter_name, "Trần Thị Bình");
        assert_eq!(
            item.address_province_code.as_deref(),
            Some("48"),
            "province inferred from the commune"
        );
        assert!(item.consent_to_publish, "`on` means true");
        assert_eq!(item.phone, None);
    }
}

#[apply(case!)]
async fn multipart_submissions_keep_sniffed_attachments() {
    for app in apps().await {
        let form = Form::new()
            .text("kind", "phan_anh")
            .text("title", "Cán bộ một cửa yêu cầu giấy tờ ngoài quy định")
            .text("content", "Khi nộp hồ sơ đăng ký kinh doanh, cán bộ yêu cầu bổ sung giấy xác nhận không có trong thủ tục.")
            .text("submitter.full_name", "Lê Văn Cường")
            .text("submitter.address.detail", "7 Hùng Vương")
            .text("submitter.phone", "+84 905 123 456")
            .part("attachments", Part::bytes(PDF.to_vec()).file_name("../../giấy biên nhận.pdf").mime_str("text/plain").unwrap())
            .part("attachments", Part::bytes(PNG.to_vec()).file_name("anh.png"));
        let reply = app
            .send(Method::POST, "/api/v1/feedback", "/api/v1/feedback", |r| {
                r.multipart(form)
            })
            .await;
        assert_eq!(
            reply.status,
            StatusCode::CREATED,
            "[{}] {}",
            app.backend,
            reply.body
        );
        assert_eq!(
            reply.body["attachments"][0]["file_name"], "giấy biên nhận.pdf",
            "path stripped, name kept"
        );
        assert_eq!(
            reply.body["attachments"][0]["kind"], "pdf",
            "type from content, not the declared text/plain"
        );
        assert_eq!(reply.body["attachments"][1]["kind"], "png");
        let row = stored(&app, reply.body["tracking_code"].as_str().unwrap()).await;
        assert_eq!(row.attachments.len(), 2);
        let pdf = &row.attachments[0];
        assert_eq!(pdf.size_bytes, PDF.len() as i64);
        assert_eq!(pdf.media_type, "application/pdf");
        assert_eq!(
            app.store
                .attachment_content(&pdf.sha256)
                .await
                .unwrap()
                .as_deref(),
            Some(PDF)
        );
    }
}

#[apply(case!)]
async fn attachments_are_refused_by_content_count_and_size() {
    let apps = apps_with(|s| {
        s.intake.max_attachments = 2;
        s.intake.max_attachment_bytes = 1024;
        s.intake.max_request_bytes = 64 * 1024;
    })
    .await;
    for app in apps {
        let base = || {
            Form::new()
                .text("kind", "phan_anh")
                .text("title", "Tiêu đề hợp lệ")
                .text(
                    "content",
                    "Nội dung phản ánh đủ dài để được chấp nhận theo quy định.",
                )
                .text("submitter.full_name", "Phạm Dũng")
                .text("submitter.address.detail", "1 Bạch Đằng")
                .text("submitter.phone", "0236 3822 123")
        };
        let post = |form: Form| {
            app.send(Method::POST, "/api/v1/feedback", "/api/v1/feedback", |r| {
                r.multipart(form)
            })
        };

        let html = base().part(
            "attachments",
            Part::bytes(b"<html><script>alert(1)</script></html>".to_vec()).file_name("scan.pdf"),
        );
        let reply = post(html).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "[{}]",
            app.backend
        );
        assert_eq!(
            reply.field_errors(),
            vec![(
                "attachments.0".to_string(),
                "attachment_type_forbidden".to_string()
            )]
        );

        let big = base().part(
            "attachments",
            Part::bytes([PDF, &vec![b' '; 2048]].concat()).file_name("big.pdf"),
        );
        assert_eq!(
            post(big).await.field_errors(),
            vec![(
                "attachments.0".to_string(),
                "attachment_too_large".to_string()
            )]
        );

        let three = base()
            .part("attachments", Part::bytes(PDF.to_vec()).file_name("1.pdf"))
            .part("attachments", Part::bytes(PDF.to_vec()).file_name("2.pdf"))
            .part("attachments", Part::bytes(PDF.to_vec()).file_name("3.pdf"));
        assert_eq!(
            post(three).await.field_errors(),
            vec![(
                "attachments".to_string(),
                "too_many_attachments".to_string()
            )]
        );

        let huge = base().part(
            "attachments",
            Part::bytes(vec![b'x'; 100 * 1024]).file_name("huge.pdf"),
        );
        let reply = post(huge).await;
        assert_eq!(
            reply.status,
            StatusCode::PAYLOAD_TOO_LARGE,
            "[{}] {}",
            app.backend,
            reply.body
        );

        let stray = base().part("photo", Part::bytes(PNG.to_vec()).file_name("a.png"));
        assert_eq!(
            post(stray).await.field_errors(),
            vec![("photo".to_string(), "unknown_field".to_string())]
        );
        assert_eq!(
            app.store.count_feedback().await.unwrap(),
            0,
            "[{}] nothing refused was stored",
            app.backend
        );
    }
}

fn with(mut v: Value, pointer: &str, new: Value) -> Value {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    let target = if parent.is_empty() {
        &mut v
    } else {
        v.pointer_mut(parent).unwrap()
    };
    if new.is_null() {
        target.as_object_mut().unwrap().remove(key);
    } else {
        target[key] = new;
    }
    v
}

/// Each Decree 20 rule, alone, refuses an otherwise valid submission with
/// the field and code named.
#[apply(case!)]
async fn every_validation_rule_names_its_field_and_code() {
    let long = |n: usize| json!("ạ".repeat(n));
    let cases: Vec<(&str, Value, &str, &str)> = vec![
        ("/kind", Value::Null, "kind", "required"),
        ("/kind", json!("khieu_nai"), "kind", "invalid_choice"),
        ("/title", Value::Null, "title", "required"),
        ("/title", json!("   "), "title", "required"),
        ("/title", long(201), "title", "too_long"),
        ("/content", json!("Ngắn quá."), "content", "too_short"),
        ("/content", long(20_001), "content", "too_long"),
        (
            "/content_category",
            json!("complaint"),
            "content_category",
            "invalid_choice",
        ),
        (
            "/content_category",
            json!("proposed_solution"),
            "kind",
            "kind_mismatch",
        ),
        ("/submitter", Value::Null, "submitter", "required"),
        (
            "/submitter/full_name",
            Value::Null,
            "submitter.full_name",
            "required",
        ),
        (
            "/submitter/type",
            json!("government"),
            "submitter.type",
            "invalid_choice",
        ),
        (
            "/submitter/address",
            Value::Null,
            "submitter.address.detail",
            "required",
        ),
        (
            "/submitter/address/detail",
            json!(""),
            "submitter.address.detail",
            "required",
        ),
        (
            "/submitter/phone",
            json!("12345"),
            "submitter.phone",
            "phone_invalid",
        ),
        (
            "/submitter/email",
            json!("an.nguyen@"),
            "submitter.email",
            "email_invalid",
        ),
        (
            "/field_code",
            json!("khong_co"),
            "field_code",
            "unknown_code",
        ),
        (
            "/agency_code",
            json!("48.KHONGCO"),
            "agency_code",
            "unknown_code",
        ),
        (
            "/submitter/address/province_code",
            json!("99"),
            "submitter.address.province_code",
            "unknown_code",
        ),
        (
            "/submitter/address/commune_code",
            json!("99999"),
            "submitter.address.commune_code",
            "unknown_code",
        ),
        (
            "/submitter/address/province_code",
            json!("01"),
            "submitter.address.commune_code",
            "commune_not_in_province",
        ),
        ("/priority", json!("cao"), "priority", "unknown_field"),
        (
            "/submitter/address/street",
            json!("x"),
            "submitter.address.street",
            "unknown_field",
        ),
        ("/title", json!(42), "title", "wrong_type"),
    ];
    for app in apps().await {
        for (pointer, value, field, code) in &cases {
            let body = with(valid_submission(), pointer, value.clone());
            let reply = app.post_feedback(&body).await;
            assert_eq!(
                reply.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "[{}] {pointer}={value}: {}",
                app.backend,
                reply.body
            );
            assert_eq!(reply.body["code"], "validation_failed");
            assert!(
                reply
                    .field_errors()
                    .contains(&(field.to_string(), code.to_string())),
                "[{}] {pointer}={value} should report {field}/{code}, got {:?}",
                app.backend,
                reply.field_errors()
            );
            assert!(
                reply.body["errors"][0]["message"]
                    .as_str()
                    .is_some_and(|m| !m.is_empty()),
                "Vietnamese message present"
            );
        }
        // Without phone and e-mail there is no way to reach the sender.
        let mut body = valid_submission();
        body["submitter"].as_object_mut().unwrap().remove("phone");
        body["submitter"].as_object_mut().unwrap().remove("email");
        assert!(
            app.post_feedback(&body)
                .await
                .field_errors()
                .contains(&("submitter.phone".into(), "contact_required".into()))
        );
        // An organisation needs its name and a representative.
        let mut body = valid_submission();
        body["submitter"]["type"] = json!("organization");
        let reply = app.post_feedback(&body).await;
        assert!(reply.field_errors().contains(&(
            "submitter.organization_name".into(),
            "organization_name_required".into()
        )));
        body["submitter"]["organization_name"] = json!("Công ty TNHH Sông Hàn");
        assert_eq!(app.post_feedback(&body).await.status, StatusCode::CREATED);
        assert_eq!(
            app.store.count_feedback().await.unwrap(),
            1,
            "[{}] only the valid one was stored",
            app.backend
        );
    }
}

#[apply(case!)]
async fn text_is_stored_nfc_without_control_characters() {
    for app in apps().await {
        let mut body = valid_submission();
        let nfd_title: String = "Thủ tục\u{0007} đăng ký\u{202E} hộ tịch".nfd().collect();
        body["title"] = json!(nfd_title);
        body["submitter"]["full_name"] =
            json!("  Nguyễn\u{0000}  Văn\nAn ".nfd().collect::<String>());
        let reply = app.post_feedback(&body).await;
        assert_eq!(
            reply.status,
            StatusCode::CREATED,
            "[{}] {}",
            app.backend,
            reply.body
        );
        let item = stored(&app, reply.body["tracking_code"].as_str().unwrap())
            .await
            .item;
        assert_eq!(item.title, "Thủ tục đăng ký hộ tịch");
        assert_eq!(item.title, item.title.nfc().collect::<String>());
        assert_eq!(item.submitter_name, "Nguyễn Văn An");
    }
}

#[apply(case!)]
async fn text_that_is_not_vietnamese_is_flagged_not_refused() {
    for app in apps().await {
        let mut body = valid_submission();
        body["title"] = json!("Building permit delays");
        body["content"] = json!(
            "My building permit application has been waiting for more than thirty days without any answer."
        );
        let reply = app.post_feedback(&body).await;
        assert_eq!(reply.status, StatusCode::CREATED);
        assert_eq!(reply.body["language_flagged"], true);
        assert!(
            stored(&app, reply.body["tracking_code"].as_str().unwrap())
                .await
                .item
                .language_flagged
        );
        // Vietnamese without diacritics is Vietnamese.
        body["title"] = json!("Thu tuc cap phep xay dung cham");
        body["content"] =
            json!("Ho so xin cap giay phep xay dung cua toi da qua han ma chua duoc giai quyet.");
        assert_eq!(
            app.post_feedback(&body).await.body["language_flagged"],
            false
        );
    }
}

#[apply(case!)]
async fn malformed_unsupported_and_oversized_bodies_get_clear_errors() {
    for app in apps_with(|s| s.server.max_body_bytes = 4096).await {
        let post_raw = |ct: &'static str, body: Vec<u8>| {
            app.send(
                Method::POST,
                "/api/v1/feedback",
                "/api/v1/feedback",
                move |r| r.header("content-type", ct).body(body),
            )
        };
        let reply = post_raw("application/json", b"{\"kind\": ".to_vec()).await;
        assert_eq!(
            (reply.status, reply.body["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("malformed_request"))
        );
        let reply = post_raw("application/json", b"[1,2,3]".to_vec()).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "a JSON array is the wrong shape"
        );
        let reply = post_raw("text/plain", b"xin chao".to_vec()).await;
        assert_eq!(
            (reply.status, reply.body["code"].as_str()),
            (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                Some("unsupported_media_type")
            )
        );
        let reply = post_raw("application/json", vec![b' '; 5000]).await;
        assert_eq!(
            (reply.status, reply.body["code"].as_str()),
            (StatusCode::PAYLOAD_TOO_LARGE, Some("payload_too_large"))
        );
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        let reply = post_raw("application/json", deep.into_bytes()).await;
        assert!(
            reply.status.is_client_error(),
            "deep nesting is refused, not a crash"
        );
        let reply = post_raw("application/json", b"{\"title\": \"\xff\xfe\"}".to_vec()).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "invalid UTF-8");
    }
}

#[apply(case!)]
async fn an_idempotency_key_makes_retries_return_the_first_answer() {
    for app in apps().await {
        let body = valid_submission();
        let post = |key: &'static str, body: Value| {
            app.send(
                Method::POST,
                "/api/v1/feedback",
                "/api/v1/feedback",
                move |r| r.header("Idempotency-Key", key).json(&body),
            )
        };
        let first = post("3f1c9a52-1d7e-4c55-9d0b-2a6b8f0e7c11", body.clone()).await;
        let again = post("3f1c9a52-1d7e-4c55-9d0b-2a6b8f0e7c11", body.clone()).await;
        assert_eq!(first.status, StatusCode::CREATED);
        assert_eq!(again.status, StatusCode::CREATED);
        assert_eq!(
            first.body, again.body,
            "[{}] the same answer, token included",
            app.backend
        );
        assert_eq!(first.header("idempotent-replayed"), None);
        assert_eq!(again.header("idempotent-replayed"), Some("true"));
        assert_eq!(app.store.count_feedback().await.unwrap(), 1);

        let mut other = body.clone();
        other["title"] = json!("Một phản ánh khác hoàn toàn");
        let reused = post("3f1c9a52-1d7e-4c55-9d0b-2a6b8f0e7c11", other).await;
        assert_eq!(
            (reused.status, reused.body["code"].as_str()),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("idempotency_key_reused")
            )
        );
        let bad = post("khóa có dấu", body.clone()).await;
        assert_eq!(
            (bad.status, bad.body["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("idempotency_key_invalid"))
        );

        // Concurrent retries of one request: one item, one answer.
        let replies =
            futures_util::future::join_all((0..8).map(|_| post("c0ncurrent-retry", body.clone())))
                .await;
        let codes: std::collections::BTreeSet<_> = replies
            .iter()
            .map(|r| r.body["tracking_code"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(codes.len(), 1, "[{}] {codes:?}", app.backend);
        assert_eq!(app.store.count_feedback().await.unwrap(), 2);
        let token = replies[0].body["lookup_token"].as_str().unwrap();
        assert!(replies.iter().all(|r| r.body["lookup_token"] == token));
        assert_eq!(
            app.lookup(codes.first().unwrap(), token).await.status,
            StatusCode::OK,
            "the replayed token opens the item"
        );
    }
}

#[apply(case!)]
async fn tracking_codes_stay_unique_under_concurrent_submissions() {
    for app in apps().await {
        // Forty at once (on SQLite written many to a statement), each
        // distinct.
        let bodies: Vec<Value> = (0..40)
            .map(|i| {
                let mut body = valid_submission();
                body["title"] = format!("Thủ tục cấp giấy phép xây dựng quá hạn, lần {i}").into();
                body
            })
            .collect();
        let replies =
            futures_util::future::join_all(bodies.iter().map(|b| app.post_feedback(b))).await;
        let mut sequences: Vec<u32> = replies
            .iter()
            .map(|r| {
                assert_eq!(
                    r.status,
                    StatusCode::CREATED,
                    "[{}] {}",
                    app.backend,
                    r.body
                );
                r.body["tracking_code"]
                    .as_str()
                    .unwrap()
                    .parse::<pakn::domain::tracking::TrackingCode>()
                    .unwrap()
                    .sequence()
            })
            .collect();
        sequences.sort_unstable();
        assert_eq!(
            sequences,
            (1..=40).collect::<Vec<_>>(),
            "[{}] one gap-free sequence",
            app.backend
        );
        // Each code names its own submission, with its own audit event,
        // deadlines and acknowledgement of that code.
        use sea_orm::ConnectionTrait as _;
        let rows = app
            .store
            .connection()
            .query_all_raw(sea_orm::Statement::from_string(
                app.store.backend(),
                "SELECT i.tracking_code, i.title, \
                   (SELECT COUNT(*) FROM audit_event a WHERE a.feedback_item_id = i.id AND a.action = 'feedback.received') AS audits, \
                   (SELECT COUNT(*) FROM feedback_deadline d WHERE d.feedback_item_id = i.id) AS deadlines, \
                   (SELECT CAST(n.payload AS TEXT) FROM notice n WHERE n.feedback_item_id = i.id AND n.kind = 'citizen_acknowledgement') AS ack \
                 FROM feedback_item i",
            ))
            .await
            .unwrap();
        assert_eq!(rows.len(), 40, "[{}]", app.backend);
        for (i, reply) in replies.iter().enumerate() {
            let code = reply.body["tracking_code"].as_str().unwrap();
            let row = rows
                .iter()
                .find(|r| r.try_get::<String>("", "tracking_code").unwrap() == code)
                .unwrap_or_else(|| panic!("[{}] {code} stored", app.backend));
            let title: String = row.try_get("", "title").unwrap();
            assert!(
                title.ends_with(&format!("lần {i}")),
                "[{}] {code}: {title}",
                app.backend
            );
            assert_eq!(
                row.try_get::<i64>("", "audits").unwrap(),
                1,
                "[{}] {code}",
                app.backend
            );
            assert_eq!(
                row.try_get::<i64>("", "deadlines").unwrap(),
                3,
                "[{}] {code}",
                app.backend
            );
            let ack: String = row.try_get("", "ack").unwrap();
            let ack: Value = serde_json::from_str(&ack).unwrap();
            assert_eq!(ack["tracking_code"], code, "[{}]", app.backend);
        }
    }
}

#[apply(case!)]
async fn browsers_on_other_sites_cannot_post_to_the_api() {
    for app in apps().await {
        let (code, token) = crate::workflow::submit(&app).await;
        let form = [
            ("kind", "phan_anh"),
            ("title", "Thủ tục cấp phép chậm"),
            (
                "content",
                "Hồ sơ cấp giấy phép xây dựng nộp tháng trước đến nay chưa có kết quả.",
            ),
            ("submitter.full_name", "Nguyễn Văn An"),
            ("submitter.address.detail", "12 Lê Lợi"),
            ("submitter.phone", "0912345678"),
        ];
        let before = app.store.count_feedback().await.unwrap();
        // A page elsewhere posts the citizen's browser into our intake,
        // a supplement, a rating, a sign-in.
        for (site, origin) in [
            (Some("cross-site"), Some("https://evil.example")),
            (None, Some("https://evil.example")),
            (Some("same-site"), None),
        ] {
            let with = |r: reqwest::RequestBuilder| {
                let r = match site {
                    Some(s) => r.header("Sec-Fetch-Site", s),
                    None => r,
                };
                match origin {
                    Some(o) => r.header("Origin", o),
                    None => r,
                }
            };
            let r = app
                .send(Method::POST, "/api/v1/feedback", "/api/v1/feedback", |r| {
                    with(r).form(&form)
                })
                .await;
            assert_eq!(
                (r.status, r.body["code"].as_str()),
                (StatusCode::FORBIDDEN, Some("cross_site_request")),
                "[{}] {site:?} {origin:?}",
                app.backend
            );
            for what in ["supplements", "rating"] {
                let r = app
                    .send(
                        Method::POST,
                        &format!("/api/v1/feedback/{{tracking_code}}/{what}"),
                        &format!("/api/v1/feedback/{code}/{what}"),
                        |r| {
                            with(r)
                                .header("X-Lookup-Token", &token)
                                .json(&json!({"text": "x", "score": 1}))
                        },
                    )
                    .await;
                assert_eq!(r.body["code"], "cross_site_request", "{what}");
            }
            let r = app
                .send(
                    Method::POST,
                    "/api/v1/auth/login",
                    "/api/v1/auth/login",
                    |r| with(r).json(&json!({"username": "a", "password": "b"})),
                )
                .await;
            assert_eq!(r.body["code"], "cross_site_request");
        }
        assert_eq!(app.store.count_feedback().await.unwrap(), before);
        // Our own pages' origin, and programs that say nothing, pass.
        let own = app
            .send(Method::POST, "/api/v1/feedback", "/api/v1/feedback", |r| {
                r.header("Sec-Fetch-Site", "same-origin")
                    .header("Origin", app.base.as_str())
                    .form(&form)
            })
            .await;
        assert_eq!(own.status, StatusCode::CREATED, "{}", own.body);
        let program = app
            .send(Method::POST, "/api/v1/feedback", "/api/v1/feedback", |r| {
                r.form(&form)
            })
            .await;
        assert_eq!(program.status, StatusCode::CREATED);
        // A portal's browser code with its API key passes.
        let key = pakn::services::auth::create_api_key(
            &app.store,
            "cong-thong-tin",
            &[pakn::domain::staff::ApiScope::SubmitFeedback],
            "tester",
            chrono::Utc::now(),
        )
        .await
        .unwrap();
        let portal = app
            .send(Method::POST, "/api/v1/feedback", "/api/v1/feedback", |r| {
                r.header("Sec-Fetch-Site", "cross-site")
                    .header("Origin", "https://danang.gov.vn")
                    .bearer_auth(&key)
                    .form(&form)
            })
            .await;
        assert_eq!(portal.status, StatusCode::CREATED, "{}", portal.body);
    }
}

#[apply(case!)]
async fn a_file_is_named_after_what_it_is() {
    for app in apps().await {
        let form = Form::new()
            .text("kind", "phan_anh")
            .text("title", "Ảnh hiện trường")
            .text("content", "Khi nộp hồ sơ đăng ký kinh doanh, cán bộ yêu cầu bổ sung giấy xác nhận không có trong thủ tục.")
            .text("submitter.full_name", "Lê Văn Cường")
            .text("submitter.address.detail", "7 Hùng Vương")
            .text("submitter.phone", "+84 905 123 456")
            .part("attachments", Part::bytes(PNG.to_vec()).file_name("trang.html"))
            .part("attachments", Part::bytes(PDF.to_vec()).file_name("don"));
        let reply = app
            .send(Method::POST, "/api/v1/feedback", "/api/v1/feedback", |r| {
                r.multipart(form)
            })
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        assert_eq!(reply.body["attachments"][0]["file_name"], "trang.png");
        assert_eq!(reply.body["attachments"][1]["file_name"], "don.pdf");
        // The download says so too.
        let code = reply.body["tracking_code"].as_str().unwrap().to_string();
        let row = stored(&app, &code).await;
        let office = crate::auth::sign_in_as(
            &app,
            "kiemsoat.f",
            pakn::domain::staff::Role::ControlOffice,
            "48.VP",
        )
        .await;
        let file = app
            .send(
                Method::GET,
                "/api/v1/staff/feedback/{tracking_code}/attachments/{attachment_id}",
                &format!(
                    "/api/v1/staff/feedback/{code}/attachments/{}",
                    row.attachments[0].id
                ),
                |r| r.bearer_auth(&office),
            )
            .await;
        let disposition = file.header("content-disposition").unwrap();
        assert!(disposition.contains("trang.png"), "{disposition}");
        assert_eq!(file.header("content-type"), Some("image/png"));
    }
}

#[apply(case!)]
async fn an_idempotency_key_belongs_to_its_caller() {
    for app in apps().await {
        let key = pakn::services::auth::create_api_key(
            &app.store,
            "cong-a",
            &[pakn::domain::staff::ApiScope::SubmitFeedback],
            "tester",
            chrono::Utc::now(),
        )
        .await
        .unwrap();
        let other = pakn::services::auth::create_api_key(
            &app.store,
            "cong-b",
            &[pakn::domain::staff::ApiScope::SubmitFeedback],
            "tester",
            chrono::Utc::now(),
        )
        .await
        .unwrap();
        let body = valid_submission();
        let post = |bearer: Option<&str>, idem: &str| {
            let body = body.clone();
            let bearer = bearer.map(str::to_string);
            let idem = idem.to_string();
            app.send(
                Method::POST,
                "/api/v1/feedback",
                "/api/v1/feedback",
                move |r| {
                    let r = r.header("Idempotency-Key", idem).json(&body);
                    match bearer {
                        Some(b) => r.bearer_auth(b),
                        None => r,
                    }
                },
            )
        };
        let shared = "7d0e4a1c-portal-retry-0001";
        let first = post(Some(&key), shared).await;
        assert_eq!(first.status, StatusCode::CREATED);
        // The same key and body from anyone else: never that receipt.
        for bearer in [None, Some(other.as_str())] {
            let r = post(bearer, shared).await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
            assert_ne!(
                r.body["tracking_code"], first.body["tracking_code"],
                "[{}] {bearer:?} got another caller's receipt",
                app.backend
            );
            assert_ne!(r.body["lookup_token"], first.body["lookup_token"]);
            assert_eq!(r.header("idempotent-replayed"), None);
        }
        // Its owner still gets its replay.
        let again = post(Some(&key), shared).await;
        assert_eq!(again.body["lookup_token"], first.body["lookup_token"]);
        // A short key is refused: between anonymous callers it is the secret.
        let short = post(None, "retry-1").await;
        assert_eq!(
            (short.status, short.body["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("idempotency_key_invalid"))
        );
    }
}
