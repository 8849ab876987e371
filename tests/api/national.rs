//! The national PAKN system: what came by phone, letter and e-mail is
//! re-keyed there from a pack, its code recorded on the item, and what is
//! still missing is counted, late or not, and reported.

use chrono::{Duration, Utc};
use macro_rules_attribute::apply;
use pakn::domain::staff::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::auth::sign_in_as;
use crate::case;
use crate::console::{html, page, post_form};
use crate::helpers::{Reply, TestApp, apps, valid_submission};
use crate::staff::hotline_call;

async fn backlog(app: &TestApp, token: &str, query: &str) -> Reply {
    app.send(
        Method::GET,
        "/api/v1/staff/national-backlog",
        &format!("/api/v1/staff/national-backlog{query}"),
        |r| r.bearer_auth(token),
    )
    .await
}

async fn record(app: &TestApp, token: &str, code: &str, body: Value) -> Reply {
    app.send(
        Method::PUT,
        "/api/v1/staff/feedback/{tracking_code}/national-record",
        &format!("/api/v1/staff/feedback/{code}/national-record"),
        |r| r.bearer_auth(token).json(&body),
    )
    .await
}

#[apply(case!)]
async fn the_office_rekeys_calls_and_letters_records_their_national_codes_and_sees_what_is_missing()
{
    for app in apps().await {
        let control = sign_in_as(&app, "kiemsoat.qg", Role::ControlOffice, "48.VP").await;
        // A call a week ago (late by now), a call today, and a web form
        // item (out of scope: the portal's own channel).
        let mut codes = Vec::new();
        for received in [Utc::now() - Duration::days(7), Utc::now()] {
            let r = app
                .send(
                    Method::POST,
                    "/api/v1/staff/feedback",
                    "/api/v1/staff/feedback",
                    |r| r.bearer_auth(&control).json(&hotline_call(received)),
                )
                .await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
            codes.push(r.body["tracking_code"].as_str().unwrap().to_string());
        }
        let web = app.post_feedback(&valid_submission()).await.body["tracking_code"]
            .as_str()
            .unwrap()
            .to_string();

        let pack = backlog(&app, &control, "").await;
        assert_eq!(pack.status, StatusCode::OK, "{}", pack.body);
        assert_eq!(pack.body["gateway"], "manual");
        assert_eq!(pack.body["due_rule_confirmed"], false);
        assert_eq!(pack.body["in_scope"], 2, "[{}] {}", app.backend, pack.body);
        assert_eq!(pack.body["missing"], 2);
        let items = pack.body["items"].as_array().unwrap();
        let listed: Vec<&str> = items
            .iter()
            .map(|i| i["tracking_code"].as_str().unwrap())
            .collect();
        assert_eq!(
            listed,
            vec![codes[0].as_str(), codes[1].as_str()],
            "oldest first, no web form item"
        );
        assert!(!listed.contains(&web.as_str()));
        // Field by field as the national form asks.
        assert_eq!(items[0]["ho_ten"], "Nguyễn Văn An");
        assert_eq!(items[0]["dia_chi"], "12 Lê Lợi");
        assert_eq!(items[0]["dien_thoai"], "+84912345678");
        assert_eq!(items[0]["email"], "an.nguyen@example.vn");
        assert_eq!(
            items[0]["tieu_de"],
            "Thủ tục cấp giấy phép xây dựng quá hạn"
        );
        assert!(
            items[0]["don_vi_tiep_nhan"]
                .as_str()
                .unwrap()
                .starts_with("Văn phòng")
        );
        assert_eq!(items[0]["late"], true, "{}", items[0]);
        assert_eq!(items[1]["late"], false);
        assert_eq!(pack.body["late"], 1);
        // Reading contact data is logged for the reader.
        let admin = sign_in_as(&app, "quantri.qg", Role::Admin, "48.VP").await;
        let log = app
            .send(
                Method::GET,
                "/api/v1/admin/contact-access",
                &format!("/api/v1/admin/contact-access?item={}", codes[0]),
                |r| r.bearer_auth(&admin),
            )
            .await;
        assert_eq!(log.status, StatusCode::OK, "{}", log.body);
        assert!(
            log.body["entries"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["staff"] == "kiemsoat.qg"
                    && e["purpose"] == "Lập danh sách cập nhật lên Hệ thống PAKN quốc gia"),
            "{}",
            log.body
        );

        // Recording: shape, uniqueness, correction with a reason.
        let bad = record(&app, &control, &codes[0], json!({"national_code": "<b>"})).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            bad.field_errors(),
            vec![(
                "national_code".to_string(),
                "national_code_invalid".to_string()
            )]
        );
        let ok = record(
            &app,
            &control,
            &codes[0],
            json!({"national_code": " pakn-2026-000123 "}),
        )
        .await;
        assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
        assert_eq!(ok.body["national_code"], "PAKN-2026-000123");
        assert_eq!(ok.body["origin"], "rekeyed");
        assert_eq!(ok.body["recorded_by"], "kiemsoat.qg");
        let same = record(
            &app,
            &control,
            &codes[0],
            json!({"national_code": "PAKN-2026-000123"}),
        )
        .await;
        assert_eq!(
            same.status,
            StatusCode::OK,
            "the same code again changes nothing"
        );
        let taken = record(
            &app,
            &control,
            &codes[1],
            json!({"national_code": "PAKN-2026-000123"}),
        )
        .await;
        assert_eq!(
            taken.field_errors(),
            vec![(
                "national_code".to_string(),
                "national_code_taken".to_string()
            )]
        );
        let no_reason = record(
            &app,
            &control,
            &codes[0],
            json!({"national_code": "PAKN-2026-000124"}),
        )
        .await;
        assert_eq!(
            no_reason.field_errors(),
            vec![("reason".to_string(), "reason_required".to_string())]
        );
        let too_long = record(
            &app,
            &control,
            &codes[0],
            json!({"national_code": "PAKN-2026-000124", "reason": "x".repeat(1001)}),
        )
        .await;
        assert_eq!(
            too_long.field_errors(),
            vec![("reason".to_string(), "reason_required".to_string())],
            "a reason over 1000 characters is refused, not stored"
        );
        let corrected = record(
            &app,
            &control,
            &codes[0],
            json!({"national_code": "PAKN-2026-000124", "reason": "Gõ nhầm một chữ số"}),
        )
        .await;
        assert_eq!(corrected.status, StatusCode::OK);
        let events = app
            .store
            .audit_events_for(pakn::domain::ids::FeedbackId::from_uuid(
                app.store
                    .find_feedback_by_code(&codes[0].parse().unwrap())
                    .await
                    .unwrap()
                    .unwrap()
                    .item
                    .id,
            ))
            .await
            .unwrap();
        let recorded: Vec<&Value> = events
            .iter()
            .filter(|e| e.action == "feedback.national_code_recorded")
            .map(|e| &e.details)
            .collect();
        assert_eq!(recorded.len(), 2, "the repeat is not an event");
        assert_eq!(recorded[1]["previous"], "PAKN-2026-000123");

        // The reconciliation follows; the spreadsheet holds the rest.
        let after = backlog(&app, &control, "").await;
        assert_eq!(after.body["recorded"], 1);
        assert_eq!(after.body["missing"], 1);
        assert_eq!(after.body["late"], 0);
        let xlsx = app
            .send(
                Method::GET,
                "/api/v1/staff/national-backlog.xlsx",
                "/api/v1/staff/national-backlog.xlsx",
                |r| r.bearer_auth(&control),
            )
            .await;
        assert_eq!(xlsx.status, StatusCode::OK);
        let mut book: calamine::Xlsx<_> =
            calamine::open_workbook_from_rs(std::io::Cursor::new(xlsx.bytes.clone())).unwrap();
        use calamine::Reader;
        let sheet = book.worksheet_range("Cập nhật Cổng DVCQG").unwrap();
        let rows: Vec<Vec<String>> = sheet
            .rows()
            .map(|r| r.iter().map(|c| c.to_string()).collect())
            .collect();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0][4], "Họ tên");
        assert_eq!(rows[1][0], codes[1]);

        // An agency officer may not; a malformed period is the client's.
        let officer = sign_in_as(&app, "cb.qg", Role::AgencyOfficer, "48.SXD").await;
        assert_eq!(
            backlog(&app, &officer, "").await.status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            record(
                &app,
                &officer,
                &codes[1],
                json!({"national_code": "PAKN-1"})
            )
            .await
            .status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            backlog(&app, &control, "?period=mot-nam").await.status,
            StatusCode::UNPROCESSABLE_ENTITY
        );

        // The six-monthly report says it.
        let report = app
            .send(
                Method::GET,
                "/nhan-vien/bao-cao",
                "/nhan-vien/bao-cao",
                |r| r.bearer_auth(&control).header("Accept", "text/html"),
            )
            .await;
        let page = report.body.as_str().unwrap_or_default().to_string();
        assert!(
            page.contains("Cập nhật lên Hệ thống thông tin PAKN quốc gia"),
            "{page}"
        );
    }
}

#[apply(case!)]
async fn the_office_works_the_backlog_from_its_page_and_a_mistake_stays_beside_its_item() {
    for app in apps().await {
        let control = sign_in_as(&app, "kiemsoat.trang", Role::ControlOffice, "48.VP").await;
        let mut codes = Vec::new();
        for _ in 0..2 {
            let r = app
                .send(
                    Method::POST,
                    "/api/v1/staff/feedback",
                    "/api/v1/staff/feedback",
                    |r| r.bearer_auth(&control).json(&hotline_call(Utc::now())),
                )
                .await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
            codes.push(r.body["tracking_code"].as_str().unwrap().to_string());
        }
        let listed = page(
            &app,
            &control,
            "/nhan-vien/cong-quoc-gia",
            "/nhan-vien/cong-quoc-gia",
        )
        .await;
        assert_eq!(listed.status, StatusCode::OK);
        let text = html(&listed);
        for code in &codes {
            assert!(
                text.contains(&format!("id=\"ma-{code}\"")),
                "a field for {code}"
            );
        }
        assert!(text.contains("id=\"so-chua-nhap\">2<"), "{text}");
        assert!(text.contains("Nguyễn Văn An"), "the fields to re-key");
        assert!(text.contains("/nhan-vien/cong-quoc-gia.xlsx?"));
        let from = text
            .split("name=\"from\" type=\"date\" value=\"")
            .nth(1)
            .unwrap()[..10]
            .to_string();
        let to = text
            .split("name=\"to\" type=\"date\" value=\"")
            .nth(1)
            .unwrap()[..10]
            .to_string();

        // A code of the wrong shape: shown beside that item, as typed.
        let wrong = post_form(
            &app,
            &control,
            "/nhan-vien/cong-quoc-gia",
            "/nhan-vien/cong-quoc-gia",
            &[
                ("tracking_code", &codes[1]),
                ("national_code", "<b>x"),
                ("from", &from),
                ("to", &to),
            ],
        )
        .await;
        assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
        let text = html(&wrong);
        assert!(
            text.contains(&format!("id=\"ma-{}-loi\"", codes[1])),
            "{text}"
        );
        assert!(!text.contains(&format!("id=\"ma-{}-loi\"", codes[0])));
        assert!(!text.contains("<b>x"), "escaped");
        assert!(
            text.contains("value=\"&lt;b&gt;x\"") || text.contains("value=\"&#60;b&#62;x\""),
            "typed value kept: {text}"
        );

        // The right code: back to the same period, the item gone from it.
        let done = post_form(
            &app,
            &control,
            "/nhan-vien/cong-quoc-gia",
            "/nhan-vien/cong-quoc-gia",
            &[
                ("tracking_code", &codes[1]),
                ("national_code", "pakn-2026-777"),
                ("from", &from),
                ("to", &to),
            ],
        )
        .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER);
        let location = done.header("location").unwrap().to_string();
        assert!(
            location.starts_with(&format!(
                "/nhan-vien/cong-quoc-gia?from={from}&to={to}&xong="
            )),
            "{location}"
        );
        let after = page(&app, &control, "/nhan-vien/cong-quoc-gia", &location).await;
        let text = html(&after);
        assert!(text.contains(&format!("Đã ghi mã PAKN quốc gia cho {}", codes[1])));
        assert!(!text.contains(&format!("id=\"ma-{}\"", codes[1])));
        assert!(text.contains("id=\"so-chua-nhap\">1<"));
        let record = backlog(&app, &control, "").await;
        assert_eq!(record.body["recorded"], 1);
        // A crafted message is never echoed.
        let crafted = page(
            &app,
            &control,
            "/nhan-vien/cong-quoc-gia",
            "/nhan-vien/cong-quoc-gia?xong=Tr%C3%BAng%20th%C6%B0%E1%BB%9Fng",
        )
        .await;
        assert!(!html(&crafted).contains("Trúng thưởng"));

        let sheet = app
            .send(
                Method::GET,
                "/nhan-vien/cong-quoc-gia.xlsx",
                &format!("/nhan-vien/cong-quoc-gia.xlsx?from={from}&to={to}"),
                |r| r.bearer_auth(&control),
            )
            .await;
        assert_eq!(sheet.status, StatusCode::OK);
        assert!(sheet.bytes.starts_with(b"PK"));
        // Cross-site posts are refused.
        let body = serde_urlencoded::to_string([
            ("tracking_code", codes[0].as_str()),
            ("national_code", "PAKN-2026-778"),
        ])
        .unwrap();
        let cross = app
            .send(
                Method::POST,
                "/nhan-vien/cong-quoc-gia",
                "/nhan-vien/cong-quoc-gia",
                |r| {
                    r.bearer_auth(&control)
                        .header("accept", "text/html")
                        .header("origin", "https://ke-gian.example")
                        .header("content-type", "application/x-www-form-urlencoded")
                        .body(body)
                },
            )
            .await;
        assert_eq!(cross.status, StatusCode::FORBIDDEN);
        // An officer has no such page.
        let officer = sign_in_as(&app, "canbo.trang", Role::AgencyOfficer, "48.SXD").await;
        let refused = page(
            &app,
            &officer,
            "/nhan-vien/cong-quoc-gia",
            "/nhan-vien/cong-quoc-gia",
        )
        .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        assert!(
            !html(&page(&app, &officer, "/nhan-vien", "/nhan-vien").await)
                .contains("cong-quoc-gia")
        );
    }
}
