//! The directory kept in the browser and over the admin API: an agency's
//! e-mail is where it is told of new work at once, every change is in the
//! agency's history, a new agency is usable on every instance within
//! seconds, and an agency still holding items cannot simply be ended.

use crate::case;
use macro_rules_attribute::apply;

use std::time::{Duration, Instant};

use pakn::domain::staff::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::auth::sign_in_as;
use crate::console::{html, page, post_form};
use crate::helpers::{Reply, TestApp, another_instance, apps};
use crate::mail::deliver;
use crate::mail_servers::SmtpSink;
use crate::workflow::{act, current, step, submit};

async fn put_agency(app: &TestApp, admin: &str, code: &str, body: Value) -> Reply {
    app.send(
        Method::PUT,
        "/api/v1/admin/agencies/{code}",
        &format!("/api/v1/admin/agencies/{code}"),
        |r| r.bearer_auth(admin).json(&body),
    )
    .await
}

fn sxd(email: &str) -> Value {
    json!({
        "name": "Sở Xây dựng thành phố Đà Nẵng",
        "kind": "so",
        "level": "tinh",
        "parent_code": "48.UBND",
        "email": email,
        "field_codes": ["xay_dung", "giao_thong"]
    })
}

#[apply(case!)]
async fn an_agency_with_an_address_is_told_of_a_forwarded_item_at_once() {
    for app in apps().await {
        let Some(sink) = SmtpSink::start() else {
            return;
        };
        let admin = sign_in_as(&app, "quantri", Role::Admin, "48.VP").await;
        let control = sign_in_as(&app, "kiemsoat", Role::ControlOffice, "48.VP").await;
        let changed = put_agency(&app, &admin, "48.SXD", sxd("VanThu@SXD.example")).await;
        assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
        assert_eq!(changed.body["email"], "vanthu@sxd.example");

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
            "forward",
            json!({"agency_code": "48.SXD", "note": "Thuộc thẩm quyền"}),
        )
        .await;
        let report = deliver(&app, &sink).await;
        assert!(report.sent >= 1, "{report:?}");
        let mail = sink
            .wait_for(|m| m.contains("To: vanthu@sxd.example") && m.contains(&code))
            .await;
        assert!(mail.contains("Chuy"), "the forwarding notice: {mail}");

        // The change is in the agency's history, with who made it.
        let view = app
            .send(
                Method::GET,
                "/api/v1/admin/agencies/{code}",
                "/api/v1/admin/agencies/48.SXD",
                |r| r.bearer_auth(&admin),
            )
            .await;
        let history = view.body["history"].as_array().unwrap();
        assert_eq!(history.len(), 1, "{}", view.body);
        assert_eq!(history[0]["by"], "quantri");
        let changes: Vec<&str> = history[0]["changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        assert!(
            changes.contains(&"Thư điện tử: sxd@danang.example → vanthu@sxd.example"),
            "{changes:?}"
        );
        assert_eq!(view.body["open_items"], 1);

        // Saving the same again changes nothing and records nothing.
        put_agency(&app, &admin, "48.SXD", sxd("vanthu@sxd.example")).await;
        let again = app
            .send(
                Method::GET,
                "/api/v1/admin/agencies/{code}",
                "/api/v1/admin/agencies/48.SXD",
                |r| r.bearer_auth(&admin),
            )
            .await;
        assert_eq!(again.body["history"].as_array().unwrap().len(), 1);

        // It holds an item: ending it is a succession, not an edit.
        let mut ended = sxd("vanthu@sxd.example");
        ended["valid_to"] = json!("2027-01-01");
        let refused = put_agency(&app, &admin, "48.SXD", ended).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            refused.field_errors(),
            vec![("valid_to".to_string(), "agency_has_open_items".to_string())]
        );
    }
}

#[apply(case!)]
async fn a_new_agency_is_usable_on_every_instance_within_seconds() {
    for app in apps().await {
        let other = another_instance(&app).await;
        let admin = sign_in_as(&app, "quantri", Role::Admin, "48.VP").await;
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
        // The other instance has read its directory before the change.
        let version = current(&other, &control, &code).await["version"].clone();
        let unknown = act(
            &other,
            &control,
            &code,
            "forward",
            json!({"agency_code": "48.SMOI", "version": version}),
        )
        .await;
        assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);

        let bad = app
            .send(Method::POST, "/api/v1/admin/agencies", "/api/v1/admin/agencies", |r| {
                r.bearer_auth(&admin).json(&json!({"code": "48.SXD", "name": "", "kind": "so", "level": "vu_tru", "parent_code": "48.KHONG", "email": "x@", "field_codes": ["khong_co"]}))
            })
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
                "code:code_taken",
                "email:email_invalid",
                "field_codes:unknown_code",
                "level:invalid_choice",
                "name:required",
                "parent_code:unknown_code"
            ]
        );
        let made = app
            .send(Method::POST, "/api/v1/admin/agencies", "/api/v1/admin/agencies", |r| {
                r.bearer_auth(&admin).json(&json!({"code": "48.SMOI", "name": "Sở Mới thành phố Đà Nẵng", "kind": "so", "level": "tinh", "parent_code": "48.UBND", "field_codes": ["xay_dung"]}))
            })
            .await;
        assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);

        // Forwarded to from the other instance, within a few seconds.
        let started = Instant::now();
        loop {
            let version = current(&other, &control, &code).await["version"].clone();
            let r = act(
                &other,
                &control,
                &code,
                "forward",
                json!({"agency_code": "48.SMOI", "version": version}),
            )
            .await;
            if r.status == StatusCode::OK {
                assert_eq!(r.body["handling_agency"]["code"], "48.SMOI");
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(6),
                "[{}] not seen: {}",
                app.backend,
                r.body
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

#[apply(case!)]
async fn the_directory_pages_keep_what_was_typed_and_show_the_history() {
    for app in apps().await {
        let admin = sign_in_as(&app, "quantri", Role::Admin, "48.VP").await;
        let list = page(
            &app,
            &admin,
            "/nhan-vien/quan-tri/co-quan",
            "/nhan-vien/quan-tri/co-quan?q=xay%20dung",
        )
        .await;
        assert_eq!(list.status, StatusCode::OK);
        assert!(html(&list).contains("48.SXD"));
        assert!(
            !html(&list).contains("48.STC\""),
            "the search narrows the list"
        );
        let wrong = post_form(
            &app,
            &admin,
            "/nhan-vien/quan-tri/co-quan/{code}",
            "/nhan-vien/quan-tri/co-quan/48.STC",
            &[
                ("name", "Sở Tài chính <i>mới</i>"),
                ("kind", "so"),
                ("level", "tinh"),
                ("email", "khong-hop-le"),
                ("field_codes", "dau_tu"),
            ],
        )
        .await;
        assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html(&wrong).contains("id=\"email-loi\""));
        assert!(html(&wrong).contains("value=\"khong-hop-le\""));
        assert!(!html(&wrong).contains("<i>mới</i>"), "escaped");
        let saved = post_form(
            &app,
            &admin,
            "/nhan-vien/quan-tri/co-quan/{code}",
            "/nhan-vien/quan-tri/co-quan/48.STC",
            &[
                ("name", "Sở Tài chính"),
                ("kind", "so"),
                ("level", "tinh"),
                ("parent_code", "48.UBND"),
                ("email", "stc@danang.example"),
                ("field_codes", "dau_tu"),
                ("field_codes", "doanh_nghiep"),
            ],
        )
        .await;
        assert_eq!(saved.status, StatusCode::SEE_OTHER);
        let one = page(
            &app,
            &admin,
            "/nhan-vien/quan-tri/co-quan/{code}",
            "/nhan-vien/quan-tri/co-quan/48.STC?xong=luu",
        )
        .await;
        assert!(
            html(&one).contains("Tên: Sở Tài chính thành phố Đà Nẵng → Sở Tài chính"),
            "{}",
            html(&one)
        );
    }
}

#[apply(case!)]
async fn fields_and_communes_are_added_and_changed_and_offered_at_once() {
    for app in apps().await {
        let admin = sign_in_as(&app, "quantri", Role::Admin, "48.VP").await;
        let put = |path: String, body: Value| {
            let admin = admin.clone();
            let app = &app;
            async move {
                let template = if path.contains("/fields/") {
                    "/api/v1/admin/fields/{code}"
                } else {
                    "/api/v1/admin/administrative-units/{code}"
                };
                app.send(Method::PUT, template, &path, |r| {
                    r.bearer_auth(&admin).json(&body)
                })
                .await
            }
        };
        let added = put(
            "/api/v1/admin/fields/du_lich".into(),
            json!({"name": "Du lịch", "sort_order": 5}),
        )
        .await;
        assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
        let renamed = put(
            "/api/v1/admin/fields/du_lich".into(),
            json!({"name": "Du lịch, lữ hành"}),
        )
        .await;
        assert_eq!(renamed.status, StatusCode::NO_CONTENT);
        let listed = app
            .send(Method::GET, "/api/v1/fields", "/api/v1/fields", |r| r)
            .await;
        assert!(
            listed.body.to_string().contains("Du lịch, lữ hành"),
            "{}",
            listed.body
        );
        let bad = put("/api/v1/admin/fields/co%20dau".into(), json!({"name": ""})).await;
        let mut fields: Vec<String> = bad.field_errors().into_iter().map(|(f, _)| f).collect();
        fields.sort();
        assert_eq!(fields, ["code", "name"]);

        let commune = put(
            "/api/v1/admin/administrative-units/20999".into(),
            json!({"name": "Xã Thử Nghiệm", "kind": "xa", "source": "Nghị quyết thử"}),
        )
        .await;
        assert_eq!(commune.status, StatusCode::CREATED, "{}", commune.body);
        let units = app
            .send(
                Method::GET,
                "/api/v1/administrative-units",
                "/api/v1/administrative-units?province_code=48",
                |r| r,
            )
            .await;
        assert!(units.body.to_string().contains("Xã Thử Nghiệm"));
        // Another province's commune is not this office's to change.
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
        app.store
            .save_unit(
                &pakn::store::directory::UnitEdit {
                    code: "00001".into(),
                    name: "Phường Hà Nội".into(),
                    kind: "phuong".into(),
                    province_code: "01".into(),
                    valid_from: chrono::NaiveDate::from_ymd_opt(2025, 7, 1).unwrap(),
                    valid_to: None,
                    source: None,
                },
                &setup,
                chrono::Utc::now(),
            )
            .await
            .unwrap();
        let refused = put(
            "/api/v1/admin/administrative-units/00001".into(),
            json!({"name": "Không được", "kind": "xa"}),
        )
        .await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(refused.field_errors()[0].1, "commune_not_in_province");
        let wrong = post_form(
            &app,
            &admin,
            "/nhan-vien/quan-tri/xa-phuong",
            "/nhan-vien/quan-tri/xa-phuong",
            &[("code", "12"), ("name", "Xã <b>Sai</b>"), ("kind", "xa")],
        )
        .await;
        assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html(&wrong).contains("id=\"code-loi\""));
        assert!(!html(&wrong).contains("<b>Sai</b>"));
        let shown = page(
            &app,
            &admin,
            "/nhan-vien/quan-tri/linh-vuc",
            "/nhan-vien/quan-tri/linh-vuc",
        )
        .await;
        assert!(html(&shown).contains("Du lịch, lữ hành"));
        let audit = app
            .send(
                Method::GET,
                "/api/v1/admin/audit-log",
                "/api/v1/admin/audit-log?action=directory.",
                |r| r.bearer_auth(&admin),
            )
            .await;
        let labels: Vec<&str> = audit.body["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["label"].as_str().unwrap())
            .collect();
        assert_eq!(labels, ["Lưu xã, phường", "Lưu lĩnh vực", "Lưu lĩnh vực"]);
    }
}
