//! Staff sign-in, sessions, lock-out, and authorisation proven as a
//! matrix: every route that needs a session × every role.

use crate::{case, case_once};
use macro_rules_attribute::apply;

use std::collections::BTreeSet;

use chrono::Utc;
use pakn::domain::staff::Role;
use pakn::services::auth::{StaffSpec, add_staff};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, apps, apps_with};

pub const PASSWORD: &str = "mật khẩu đủ dài 2026";

/// Creates an account and signs it in; returns the bearer token.
pub async fn sign_in_as(app: &TestApp, username: &str, role: Role, agency: &str) -> String {
    add_staff(
        &app.store,
        StaffSpec {
            username: username.into(),
            display_name: format!("Cán bộ {username}"),
            role,
            agency_code: agency.into(),
            password: Some(PASSWORD.into()),
            is_demo: false,
            email: None,
        },
        Utc::now(),
    )
    .await
    .unwrap();
    let reply = login(app, username, PASSWORD).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.body["token"].as_str().unwrap().to_string()
}

async fn login(app: &TestApp, username: &str, password: &str) -> crate::helpers::Reply {
    app.send(
        Method::POST,
        "/api/v1/auth/login",
        "/api/v1/auth/login",
        |r| r.json(&json!({"username": username, "password": password})),
    )
    .await
}

async fn me(app: &TestApp, token: &str) -> crate::helpers::Reply {
    app.send(Method::GET, "/api/v1/auth/me", "/api/v1/auth/me", |r| {
        r.bearer_auth(token)
    })
    .await
}

#[apply(case!)]
async fn staff_sign_in_see_themselves_and_sign_out() {
    for app in apps().await {
        let token = sign_in_as(&app, "Kiem.Soat", Role::ControlOffice, "48.VP").await;
        assert!(token.starts_with("pakn_st_") && token.len() > 60);
        let reply = me(&app, &token).await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "[{}] {}",
            app.backend,
            reply.body
        );
        assert_eq!(
            reply.body["username"], "kiem.soat",
            "usernames are lower-cased"
        );
        assert_eq!(reply.body["role"], "control_office");
        assert_eq!(reply.body["agency_code"], "48.VP");
        assert_eq!(
            reply.body["permissions"],
            json!([
                "own_session",
                "enter_feedback",
                "view_items",
                "add_note",
                "read_mail_log",
                "read_statistics",
                "clear_mail_failure",
                "use_answer_templates",
                "message_submitter",
                "handle_subject_requests",
                "keep_national_record",
                "manage_sources"
            ])
        );
        assert!(reply.header("cache-control").unwrap().contains("no-store"));

        let out = app
            .send(
                Method::POST,
                "/api/v1/auth/logout",
                "/api/v1/auth/logout",
                |r| r.bearer_auth(&token),
            )
            .await;
        assert_eq!(out.status, StatusCode::NO_CONTENT);
        let after = me(&app, &token).await;
        assert_eq!(after.status, StatusCode::UNAUTHORIZED);
        assert_eq!(after.body["code"], "unauthorized");
        assert!(
            after
                .header("www-authenticate")
                .unwrap()
                .starts_with("Bearer")
        );
    }
}

#[apply(case!)]
async fn a_wrong_password_and_an_unknown_user_look_the_same() {
    for app in apps().await {
        sign_in_as(&app, "chuyenvien", Role::AgencyOfficer, "48.SXD").await;
        let wrong = login(&app, "chuyenvien", "không phải mật khẩu này").await;
        let unknown = login(&app, "khongtontai", "không phải mật khẩu này").await;
        let malformed = login(&app, "??", "x").await;
        for reply in [&wrong, &unknown, &malformed] {
            assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
            assert_eq!(reply.body["code"], "invalid_credentials");
        }
        assert_eq!(wrong.body["detail"], unknown.body["detail"]);
        for bad in [
            app.send(
                Method::POST,
                "/api/v1/auth/login",
                "/api/v1/auth/login",
                |r| {
                    r.header("content-type", "application/json")
                        .body("{not json")
                },
            )
            .await,
            app.send(
                Method::POST,
                "/api/v1/auth/login",
                "/api/v1/auth/login",
                |r| r.json(&json!({"username": "a"})),
            )
            .await,
        ] {
            assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
            assert_eq!(bad.body["code"], "malformed_request");
        }
        for token in ["", "pakn_st_00", "Bearer", &"x".repeat(500)] {
            let reply = me(&app, token).await;
            assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{token:?}");
        }
    }
}

#[apply(case!)]
async fn repeated_failures_lock_the_account_for_a_while() {
    for app in apps_with(|s| s.auth.lock_after_failures = 3).await {
        sign_in_as(&app, "bikhoa", Role::AgencyOfficer, "48.SXD").await;
        for _ in 0..3 {
            assert_eq!(
                login(&app, "bikhoa", "sai mật khẩu rồi").await.status,
                StatusCode::UNAUTHORIZED
            );
        }
        // Locked: even the right password is refused, with the same answer.
        let locked = login(&app, "bikhoa", PASSWORD).await;
        assert_eq!(locked.status, StatusCode::UNAUTHORIZED);
        assert_eq!(locked.body["code"], "invalid_credentials");
        let row = app
            .store
            .find_staff_by_username("bikhoa")
            .await
            .unwrap()
            .unwrap();
        assert!(row.locked_until.unwrap() > Utc::now());
    }
}

#[apply(case!)]
async fn disabling_an_account_ends_its_sessions() {
    for app in apps().await {
        let token = sign_in_as(&app, "nghiviec", Role::AgencyOfficer, "48.SXD").await;
        assert_eq!(me(&app, &token).await.status, StatusCode::OK);
        assert!(
            app.store
                .disable_staff("nghiviec", Utc::now())
                .await
                .unwrap()
        );
        assert_eq!(me(&app, &token).await.status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            login(&app, "nghiviec", PASSWORD).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
}

/// Method, documented template, concrete path, body, roles allowed.
type Rule = (
    Method,
    &'static str,
    &'static str,
    Option<Value>,
    &'static [Role],
);

/// The roles that read items (`view_items`).
const READ_ITEMS: &[Role] = &[
    Role::ControlOffice,
    Role::AgencyOfficer,
    Role::AgencyLead,
    Role::Auditor,
];
/// The roles that key items in (`enter_feedback`).
const ENTER_ITEMS: &[Role] = &[Role::ControlOffice, Role::AgencyOfficer, Role::AgencyLead];

/// Every route that needs a session, with the roles allowed. A route
/// documented with `security` but missing here fails the test: no route
/// ships without its rule.
fn matrix() -> Vec<Rule> {
    let day = json!({"kind": "day_off", "name": "Nghỉ thử", "source": "Quyết định thử"});
    vec![
        (
            Method::GET,
            "/api/v1/auth/me",
            "/api/v1/auth/me",
            None,
            &Role::ALL,
        ),
        (
            Method::PUT,
            "/api/v1/admin/calendar/days/{date}",
            "/api/v1/admin/calendar/days/2027-12-31",
            Some(day),
            &[Role::Admin],
        ),
        (
            Method::DELETE,
            "/api/v1/admin/calendar/days/{date}",
            "/api/v1/admin/calendar/days/2027-12-31",
            None,
            &[Role::Admin],
        ),
        (
            Method::POST,
            "/api/v1/staff/feedback",
            "/api/v1/staff/feedback",
            Some(crate::staff::hotline_call(Utc::now())),
            &[Role::ControlOffice, Role::AgencyOfficer, Role::AgencyLead],
        ),
        (
            Method::GET,
            "/api/v1/staff/feedback",
            "/api/v1/staff/feedback",
            None,
            &[
                Role::ControlOffice,
                Role::AgencyOfficer,
                Role::AgencyLead,
                Role::Auditor,
            ],
        ),
        (
            Method::GET,
            "/api/v1/staff/feedback/summary",
            "/api/v1/staff/feedback/summary",
            None,
            &[
                Role::ControlOffice,
                Role::AgencyOfficer,
                Role::AgencyLead,
                Role::Auditor,
            ],
        ),
        (
            Method::GET,
            "/api/v1/staff/feedback/{tracking_code}",
            "/api/v1/staff/feedback/{code}",
            None,
            &[
                Role::ControlOffice,
                Role::AgencyOfficer,
                Role::AgencyLead,
                Role::Auditor,
            ],
        ),
        (
            Method::POST,
            "/api/v1/staff/feedback/{tracking_code}/notes",
            "/api/v1/staff/feedback/{code}/notes",
            Some(json!({"body": "Ghi chú nội bộ"})),
            &[Role::ControlOffice, Role::AgencyOfficer, Role::AgencyLead],
        ),
        (
            Method::DELETE,
            "/api/v1/staff/feedback/{tracking_code}/mail-failure",
            "/api/v1/staff/feedback/{code}/mail-failure",
            None,
            &[Role::ControlOffice, Role::AgencyOfficer, Role::AgencyLead],
        ),
        (
            Method::GET,
            "/api/v1/staff/feedback/{tracking_code}/attachments/{attachment_id}",
            "/api/v1/staff/feedback/{code}/attachments/01a20000-0000-7000-8000-000000000000",
            None,
            &[
                Role::ControlOffice,
                Role::AgencyOfficer,
                Role::AgencyLead,
                Role::Auditor,
            ],
        ),
        (
            Method::GET,
            "/api/v1/staff/feedback/{tracking_code}/duplicate-suggestions",
            "/api/v1/staff/feedback/{code}/duplicate-suggestions",
            None,
            &[Role::ControlOffice],
        ),
        (
            Method::GET,
            "/api/v1/staff/feedback/{tracking_code}/routing-suggestion",
            "/api/v1/staff/feedback/{code}/routing-suggestion",
            None,
            &[Role::ControlOffice],
        ),
        (
            Method::GET,
            "/api/v1/staff/feedback/{tracking_code}/redaction-suggestion",
            "/api/v1/staff/feedback/{code}/redaction-suggestion",
            None,
            &[Role::ControlOffice],
        ),
        // Workflow actions: control-office steps, holder steps, sign-off.
        (
            Method::POST,
            "/api/v1/staff/feedback/{tracking_code}/classify",
            "/api/v1/staff/feedback/{code}/classify",
            Some(json!({"version": 999})),
            &[Role::ControlOffice],
        ),
        (
            Method::POST,
            "/api/v1/staff/feedback/{tracking_code}/request-info",
            "/api/v1/staff/feedback/{code}/request-info",
            Some(json!({"version": 999})),
            &[Role::ControlOffice],
        ),
        (
            Method::POST,
            "/api/v1/staff/feedback/{tracking_code}/reject",
            "/api/v1/staff/feedback/{code}/reject",
            Some(json!({"version": 999})),
            &[Role::ControlOffice],
        ),
        (
            Method::POST,
            "/api/v1/staff/feedback/{tracking_code}/forward",
            "/api/v1/staff/feedback/{code}/forward",
            Some(json!({"version": 999})),
            &[Role::ControlOffice],
        ),
        (
            Method::POST,
            "/api/v1/staff/feedback/{tracking_code}/accept",
            "/api/v1/staff/feedback/{code}/accept",
            Some(json!({"version": 999})),
            &[Role::ControlOffice, Role::AgencyOfficer, Role::AgencyLead],
        ),
        (
            Method::POST,
            "/api/v1/staff/feedback/{tracking_code}/return",
            "/api/v1/staff/feedback/{code}/return",
            Some(json!({"version": 999})),
            &[Role::ControlOffice, Role::AgencyOfficer, Role::AgencyLead],
        ),
        (
            Method::POST,
            "/api/v1/staff/feedback/{tracking_code}/answer",
            "/api/v1/staff/feedback/{code}/answer",
            Some(json!({"version": 999})),
            &[Role::ControlOffice, Role::AgencyOfficer, Role::AgencyLead],
        ),
        (
            Method::POST,
            "/api/v1/staff/feedback/{tracking_code}/sign-off",
            "/api/v1/staff/feedback/{code}/sign-off",
            Some(json!({"version": 999})),
            &[Role::ControlOffice, Role::AgencyLead],
        ),
        (
            Method::POST,
            "/api/v1/staff/feedback/{tracking_code}/approve",
            "/api/v1/staff/feedback/{code}/approve",
            Some(json!({"version": 999})),
            &[Role::ControlOffice],
        ),
        (
            Method::POST,
            "/api/v1/staff/feedback/{tracking_code}/send-back",
            "/api/v1/staff/feedback/{code}/send-back",
            Some(json!({"version": 999})),
            &[Role::ControlOffice, Role::AgencyLead],
        ),
        (
            Method::POST,
            "/api/v1/staff/feedback/{tracking_code}/publish",
            "/api/v1/staff/feedback/{code}/publish",
            Some(json!({"version": 999})),
            &[Role::ControlOffice],
        ),
        (
            Method::POST,
            "/api/v1/staff/feedback/{tracking_code}/withhold",
            "/api/v1/staff/feedback/{code}/withhold",
            Some(json!({"version": 999})),
            &[Role::ControlOffice],
        ),
        (
            Method::POST,
            "/api/v1/staff/feedback/{tracking_code}/unpublish",
            "/api/v1/staff/feedback/{code}/unpublish",
            Some(json!({"version": 999})),
            &[Role::ControlOffice],
        ),
        (
            Method::POST,
            "/api/v1/staff/feedback/{tracking_code}/close",
            "/api/v1/staff/feedback/{code}/close",
            Some(json!({"version": 999})),
            &[Role::ControlOffice],
        ),
        (
            Method::POST,
            "/api/v1/staff/feedback/{tracking_code}/supplement",
            "/api/v1/staff/feedback/{code}/supplement",
            Some(json!({"version": 999})),
            &[Role::ControlOffice],
        ),
        (
            Method::POST,
            "/api/v1/staff/feedback/{tracking_code}/merge",
            "/api/v1/staff/feedback/{code}/merge",
            Some(json!({"version": 999})),
            &[Role::ControlOffice],
        ),
        (
            Method::POST,
            "/api/v1/staff/feedback/{tracking_code}/answer/attachments",
            "/api/v1/staff/feedback/{code}/answer/attachments",
            Some(json!({"version": 999})),
            &[Role::ControlOffice, Role::AgencyOfficer, Role::AgencyLead],
        ),
        (
            Method::DELETE,
            "/api/v1/staff/feedback/{tracking_code}/answer/attachments/{attachment_id}",
            "/api/v1/staff/feedback/{code}/answer/attachments/01a20000-0000-7000-8000-000000000000",
            None,
            &[Role::ControlOffice, Role::AgencyOfficer, Role::AgencyLead],
        ),
        (
            Method::POST,
            "/api/v1/staff/feedback/{tracking_code}/recall",
            "/api/v1/staff/feedback/{code}/recall",
            Some(json!({"version": 999})),
            &[Role::ControlOffice],
        ),
        (
            Method::POST,
            "/api/v1/staff/feedback/{tracking_code}/request-coordination",
            "/api/v1/staff/feedback/{code}/request-coordination",
            Some(json!({"version": 999})),
            &[Role::ControlOffice, Role::AgencyOfficer, Role::AgencyLead],
        ),
        (
            Method::POST,
            "/api/v1/staff/feedback/{tracking_code}/withdraw-coordination",
            "/api/v1/staff/feedback/{code}/withdraw-coordination",
            Some(json!({"version": 999})),
            &[Role::ControlOffice, Role::AgencyOfficer, Role::AgencyLead],
        ),
        (
            Method::POST,
            "/api/v1/staff/feedback/{tracking_code}/contribute",
            "/api/v1/staff/feedback/{code}/contribute",
            Some(json!({"version": 999})),
            &[Role::AgencyOfficer, Role::AgencyLead],
        ),
        (
            Method::GET,
            "/api/v1/staff/feedback/{tracking_code}/messages",
            "/api/v1/staff/feedback/{code}/messages",
            None,
            &[
                Role::ControlOffice,
                Role::AgencyOfficer,
                Role::AgencyLead,
                Role::Auditor,
            ],
        ),
        // Only a mail gateway's API key pushes mail; no staff role.
        (
            Method::POST,
            "/api/v1/staff/inbound-email",
            "/api/v1/staff/inbound-email",
            None,
            &[],
        ),
        (
            Method::GET,
            "/api/v1/staff/inbound-email",
            "/api/v1/staff/inbound-email",
            None,
            &[Role::ControlOffice, Role::Auditor],
        ),
        (
            Method::GET,
            "/api/v1/staff/stats",
            "/api/v1/staff/stats?period=2026-H1",
            None,
            &[Role::ControlOffice, Role::AgencyLead, Role::Auditor],
        ),
        (
            Method::GET,
            "/nhan-vien/thong-ke",
            "/nhan-vien/thong-ke",
            None,
            &[Role::ControlOffice, Role::AgencyLead, Role::Auditor],
        ),
        (
            Method::GET,
            "/nhan-vien/bao-cao",
            "/nhan-vien/bao-cao?period=2026-H1",
            None,
            &[Role::ControlOffice, Role::AgencyLead, Role::Auditor],
        ),
        (
            Method::GET,
            "/nhan-vien/bao-cao.xlsx",
            "/nhan-vien/bao-cao.xlsx?period=2026-H1",
            None,
            &[Role::ControlOffice, Role::AgencyLead, Role::Auditor],
        ),
        (
            Method::GET,
            "/nhan-vien/du-lieu.csv",
            "/nhan-vien/du-lieu.csv?period=2026-H1",
            None,
            &[Role::ControlOffice, Role::AgencyLead, Role::Auditor],
        ),
        (
            Method::GET,
            "/nhan-vien/du-lieu.xlsx",
            "/nhan-vien/du-lieu.xlsx?period=2026-H1",
            None,
            &[Role::ControlOffice, Role::AgencyLead, Role::Auditor],
        ),
        (
            Method::GET,
            "/api/v1/staff/inbound-email/{inbound_mail_id}",
            "/api/v1/staff/inbound-email/01a20000-0000-7000-8000-000000000000",
            None,
            &[Role::ControlOffice, Role::Auditor],
        ),
        (
            Method::GET,
            "/api/v1/staff/inbound-email/{inbound_mail_id}/raw",
            "/api/v1/staff/inbound-email/01a20000-0000-7000-8000-000000000000/raw",
            None,
            &[Role::ControlOffice, Role::Auditor],
        ),
        // The staff console: the same rules as the API behind each page.
        (Method::GET, "/nhan-vien", "/nhan-vien", None, &Role::ALL),
        (
            Method::GET,
            "/nhan-vien/su-kien",
            "/nhan-vien/su-kien",
            None,
            READ_ITEMS,
        ),
        (
            Method::GET,
            "/nhan-vien/phan-anh",
            "/nhan-vien/phan-anh?state=received",
            None,
            READ_ITEMS,
        ),
        (
            Method::GET,
            "/nhan-vien/phan-anh/so-lieu",
            "/nhan-vien/phan-anh/so-lieu",
            None,
            READ_ITEMS,
        ),
        (
            Method::POST,
            "/nhan-vien/phan-anh/hang-loat",
            "/nhan-vien/phan-anh/hang-loat",
            None,
            &[Role::ControlOffice],
        ),
        (
            Method::POST,
            "/nhan-vien/phan-anh/bo-loc",
            "/nhan-vien/phan-anh/bo-loc",
            None,
            READ_ITEMS,
        ),
        (
            Method::POST,
            "/nhan-vien/phan-anh/bo-loc/{view_id}/xoa",
            "/nhan-vien/phan-anh/bo-loc/01a20000-0000-7000-8000-000000000000/xoa",
            None,
            READ_ITEMS,
        ),
        (
            Method::GET,
            "/nhan-vien/phan-anh/{tracking_code}",
            "/nhan-vien/phan-anh/{code}",
            None,
            READ_ITEMS,
        ),
        (
            Method::GET,
            "/nhan-vien/phan-anh/{tracking_code}/dang-xem",
            "/nhan-vien/phan-anh/{code}/dang-xem",
            None,
            READ_ITEMS,
        ),
        (
            Method::GET,
            "/nhan-vien/phan-anh/{tracking_code}/tep/{attachment_id}",
            "/nhan-vien/phan-anh/{code}/tep/01a20000-0000-7000-8000-000000000000",
            None,
            READ_ITEMS,
        ),
        (
            Method::POST,
            "/nhan-vien/phan-anh/{tracking_code}/{action}",
            "/nhan-vien/phan-anh/{code}/classify",
            None,
            &[Role::ControlOffice],
        ),
        (
            Method::POST,
            "/nhan-vien/phan-anh/{tracking_code}/tep-tra-loi",
            "/nhan-vien/phan-anh/{code}/tep-tra-loi",
            None,
            ENTER_ITEMS,
        ),
        (
            Method::POST,
            "/nhan-vien/phan-anh/{tracking_code}/tep-tra-loi/{attachment_id}/xoa",
            "/nhan-vien/phan-anh/{code}/tep-tra-loi/01a20000-0000-7000-8000-000000000000/xoa",
            None,
            ENTER_ITEMS,
        ),
        (
            Method::GET,
            "/nhan-vien/tiep-nhan",
            "/nhan-vien/tiep-nhan",
            None,
            ENTER_ITEMS,
        ),
        (
            Method::POST,
            "/nhan-vien/tiep-nhan",
            "/nhan-vien/tiep-nhan",
            None,
            ENTER_ITEMS,
        ),
        (
            Method::GET,
            "/nhan-vien/tiep-nhan/nguoi-gui",
            "/nhan-vien/tiep-nhan/nguoi-gui?submitter.phone=0912345678",
            None,
            ENTER_ITEMS,
        ),
        (
            Method::POST,
            "/api/v1/staff/feedback/{tracking_code}/messages",
            "/api/v1/staff/feedback/{code}/messages",
            Some(json!({"text": "Chào Ông/Bà"})),
            ENTER_ITEMS,
        ),
        (
            Method::GET,
            "/api/v1/staff/my-work",
            "/api/v1/staff/my-work",
            None,
            READ_ITEMS,
        ),
        (
            Method::GET,
            "/nhan-vien/viec-cua-toi",
            "/nhan-vien/viec-cua-toi",
            None,
            READ_ITEMS,
        ),
        (
            Method::GET,
            "/nhan-vien/viec-cua-toi/so-luong",
            "/nhan-vien/viec-cua-toi/so-luong",
            None,
            READ_ITEMS,
        ),
        // The answer desk.
        (
            Method::PUT,
            "/api/v1/staff/feedback/{tracking_code}/answer/draft",
            "/api/v1/staff/feedback/{code}/answer/draft",
            Some(json!({"text": "Bản nháp"})),
            ENTER_ITEMS,
        ),
        (
            Method::GET,
            "/api/v1/staff/answer-templates",
            "/api/v1/staff/answer-templates",
            None,
            ENTER_ITEMS,
        ),
        (
            Method::POST,
            "/api/v1/staff/answer-templates",
            "/api/v1/staff/answer-templates",
            Some(json!({"name": "Mẫu của ma trận", "body": "Trân trọng."})),
            &[Role::AgencyLead],
        ),
        (
            Method::PUT,
            "/api/v1/staff/answer-templates/{template_id}",
            "/api/v1/staff/answer-templates/01a20000-0000-7000-8000-000000000000",
            Some(json!({"name": "Mẫu", "body": "Trân trọng."})),
            &[Role::AgencyLead],
        ),
        (
            Method::DELETE,
            "/api/v1/staff/answer-templates/{template_id}",
            "/api/v1/staff/answer-templates/01a20000-0000-7000-8000-000000000000",
            None,
            &[Role::AgencyLead],
        ),
        (
            Method::GET,
            "/nhan-vien/mau-tra-loi",
            "/nhan-vien/mau-tra-loi",
            None,
            ENTER_ITEMS,
        ),
        (
            Method::POST,
            "/nhan-vien/mau-tra-loi",
            "/nhan-vien/mau-tra-loi",
            None,
            &[Role::AgencyLead],
        ),
        (
            Method::POST,
            "/nhan-vien/mau-tra-loi/{template_id}",
            "/nhan-vien/mau-tra-loi/01a20000-0000-7000-8000-000000000000",
            None,
            &[Role::AgencyLead],
        ),
        (
            Method::POST,
            "/nhan-vien/mau-tra-loi/{template_id}/xoa",
            "/nhan-vien/mau-tra-loi/01a20000-0000-7000-8000-000000000000/xoa",
            None,
            &[Role::AgencyLead],
        ),
        // Accounts: one's own profile (every role), the administrator's
        // accounts (admin only).
        (
            Method::GET,
            "/api/v1/auth/profile",
            "/api/v1/auth/profile",
            None,
            &Role::ALL,
        ),
        (
            Method::PATCH,
            "/api/v1/auth/profile",
            "/api/v1/auth/profile",
            Some(json!({"daily_digest": true})),
            &Role::ALL,
        ),
        (
            Method::POST,
            "/api/v1/auth/password",
            "/api/v1/auth/password",
            Some(
                json!({"current_password": "không phải mật khẩu", "new_password": "một cụm từ đủ dài"}),
            ),
            &Role::ALL,
        ),
        (
            Method::GET,
            "/nhan-vien/ho-so",
            "/nhan-vien/ho-so",
            None,
            &Role::ALL,
        ),
        (
            Method::POST,
            "/nhan-vien/ho-so/thu-tong-hop",
            "/nhan-vien/ho-so/thu-tong-hop",
            None,
            &Role::ALL,
        ),
        (
            Method::POST,
            "/nhan-vien/ho-so/mat-khau",
            "/nhan-vien/ho-so/mat-khau",
            None,
            &Role::ALL,
        ),
        (
            Method::GET,
            "/api/v1/admin/staff",
            "/api/v1/admin/staff",
            None,
            &[Role::Admin],
        ),
        (
            Method::POST,
            "/api/v1/admin/staff",
            "/api/v1/admin/staff",
            Some(
                json!({"username": "ma.tran", "display_name": "Ma trận", "role": "auditor", "agency_code": "48.VP"}),
            ),
            &[Role::Admin],
        ),
        (
            Method::GET,
            "/api/v1/admin/staff/{username}",
            "/api/v1/admin/staff/khong.co",
            None,
            &[Role::Admin],
        ),
        (
            Method::PUT,
            "/api/v1/admin/staff/{username}",
            "/api/v1/admin/staff/khong.co",
            Some(json!({"display_name": "Ma trận", "role": "auditor", "agency_code": "48.VP"})),
            &[Role::Admin],
        ),
        (
            Method::POST,
            "/api/v1/admin/staff/{username}/{action}",
            "/api/v1/admin/staff/khong.co/unlock",
            None,
            &[Role::Admin],
        ),
        (
            Method::GET,
            "/nhan-vien/quan-tri",
            "/nhan-vien/quan-tri",
            None,
            &[Role::Admin],
        ),
        (
            Method::GET,
            "/nhan-vien/quan-tri/tai-khoan",
            "/nhan-vien/quan-tri/tai-khoan",
            None,
            &[Role::Admin],
        ),
        (
            Method::POST,
            "/nhan-vien/quan-tri/tai-khoan",
            "/nhan-vien/quan-tri/tai-khoan",
            None,
            &[Role::Admin],
        ),
        (
            Method::GET,
            "/nhan-vien/quan-tri/tai-khoan/{username}",
            "/nhan-vien/quan-tri/tai-khoan/khong.co",
            None,
            &[Role::Admin],
        ),
        (
            Method::POST,
            "/nhan-vien/quan-tri/tai-khoan/{username}",
            "/nhan-vien/quan-tri/tai-khoan/khong.co",
            None,
            &[Role::Admin],
        ),
        (
            Method::POST,
            "/nhan-vien/quan-tri/tai-khoan/{username}/{action}",
            "/nhan-vien/quan-tri/tai-khoan/khong.co/mo-khoa",
            None,
            &[Role::Admin],
        ),
        (
            Method::GET,
            "/api/v1/admin/agency-successions",
            "/api/v1/admin/agency-successions",
            None,
            &[Role::Admin],
        ),
        (
            Method::POST,
            "/api/v1/admin/agency-successions",
            "/api/v1/admin/agency-successions",
            Some(json!({"from": ["48.SCT"], "to": "48.STC", "on": "2026-01-01", "dry_run": true})),
            &[Role::Admin],
        ),
        (
            Method::GET,
            "/nhan-vien/quan-tri/sap-nhap",
            "/nhan-vien/quan-tri/sap-nhap",
            None,
            &[Role::Admin],
        ),
        (
            Method::POST,
            "/nhan-vien/quan-tri/sap-nhap",
            "/nhan-vien/quan-tri/sap-nhap",
            None,
            &[Role::Admin],
        ),
        (
            Method::GET,
            "/api/v1/admin/audit-log",
            "/api/v1/admin/audit-log",
            None,
            &[Role::Admin, Role::Auditor],
        ),
        (
            Method::GET,
            "/nhan-vien/quan-tri/nhat-ky",
            "/nhan-vien/quan-tri/nhat-ky",
            None,
            &[Role::Admin, Role::Auditor],
        ),
        (
            Method::GET,
            "/nhan-vien/quan-tri/nhat-ky.csv",
            "/nhan-vien/quan-tri/nhat-ky.csv",
            None,
            &[Role::Admin, Role::Auditor],
        ),
        (
            Method::GET,
            "/api/v1/admin/api-keys",
            "/api/v1/admin/api-keys",
            None,
            &[Role::Admin],
        ),
        (
            Method::POST,
            "/api/v1/admin/api-keys",
            "/api/v1/admin/api-keys",
            Some(json!({"name": "ma-tran", "scopes": ["read_statistics"]})),
            &[Role::Admin],
        ),
        (
            Method::POST,
            "/api/v1/admin/api-keys/{name}/revoke",
            "/api/v1/admin/api-keys/khong-co/revoke",
            None,
            &[Role::Admin],
        ),
        (
            Method::GET,
            "/api/v1/admin/webhooks",
            "/api/v1/admin/webhooks",
            None,
            &[Role::Admin],
        ),
        (
            Method::POST,
            "/api/v1/admin/webhooks",
            "/api/v1/admin/webhooks",
            Some(
                json!({"name": "ma-tran", "url": "https://203.119.8.10/x", "events": ["item.published"]}),
            ),
            &[Role::Admin],
        ),
        (
            Method::DELETE,
            "/api/v1/admin/webhooks/{name}",
            "/api/v1/admin/webhooks/khong-co",
            None,
            &[Role::Admin],
        ),
        (
            Method::GET,
            "/api/v1/admin/webhooks/{name}/deliveries",
            "/api/v1/admin/webhooks/khong-co/deliveries",
            None,
            &[Role::Admin],
        ),
        (
            Method::POST,
            "/api/v1/admin/webhooks/{name}/deliveries/{delivery_id}/retry",
            "/api/v1/admin/webhooks/khong-co/deliveries/0190d1f0-0000-7000-8000-000000000000/retry",
            None,
            &[Role::Admin],
        ),
        (
            Method::GET,
            "/nhan-vien/quan-tri/khoa-api",
            "/nhan-vien/quan-tri/khoa-api",
            None,
            &[Role::Admin],
        ),
        (
            Method::POST,
            "/nhan-vien/quan-tri/khoa-api",
            "/nhan-vien/quan-tri/khoa-api",
            None,
            &[Role::Admin],
        ),
        (
            Method::POST,
            "/nhan-vien/quan-tri/khoa-api/{name}/thu-hoi",
            "/nhan-vien/quan-tri/khoa-api/khong-co/thu-hoi",
            None,
            &[Role::Admin],
        ),
        (
            Method::POST,
            "/api/v1/admin/agencies",
            "/api/v1/admin/agencies",
            Some(
                json!({"code": "48.MATRAN", "name": "Cơ quan ma trận", "kind": "so", "level": "tinh"}),
            ),
            &[Role::Admin],
        ),
        (
            Method::GET,
            "/api/v1/admin/agencies/{code}",
            "/api/v1/admin/agencies/48.SXD",
            None,
            &[Role::Admin],
        ),
        (
            Method::PUT,
            "/api/v1/admin/agencies/{code}",
            "/api/v1/admin/agencies/khong-co",
            Some(json!({"name": "X", "kind": "so", "level": "tinh"})),
            &[Role::Admin],
        ),
        (
            Method::GET,
            "/nhan-vien/quan-tri/co-quan",
            "/nhan-vien/quan-tri/co-quan",
            None,
            &[Role::Admin],
        ),
        (
            Method::POST,
            "/nhan-vien/quan-tri/co-quan",
            "/nhan-vien/quan-tri/co-quan",
            None,
            &[Role::Admin],
        ),
        (
            Method::GET,
            "/nhan-vien/quan-tri/co-quan/{code}",
            "/nhan-vien/quan-tri/co-quan/48.SXD",
            None,
            &[Role::Admin],
        ),
        (
            Method::POST,
            "/nhan-vien/quan-tri/co-quan/{code}",
            "/nhan-vien/quan-tri/co-quan/khong-co",
            None,
            &[Role::Admin],
        ),
        (
            Method::GET,
            "/api/v1/admin/routing-rules",
            "/api/v1/admin/routing-rules",
            None,
            &[Role::Admin],
        ),
        (
            Method::POST,
            "/api/v1/admin/routing-rules",
            "/api/v1/admin/routing-rules",
            Some(json!({"words": ["ma tran"], "agency_code": "48.SXD", "basis": "Thử"})),
            &[Role::Admin],
        ),
        (
            Method::POST,
            "/api/v1/admin/routing-rules/try",
            "/api/v1/admin/routing-rules/try",
            Some(json!({"title": "Giấy phép xây dựng"})),
            &[Role::Admin],
        ),
        (
            Method::PUT,
            "/api/v1/admin/routing-rules/{rule_id}",
            "/api/v1/admin/routing-rules/01a20000-0000-7000-8000-000000000000",
            Some(json!({"words": ["ma tran"], "agency_code": "48.SXD", "basis": "Thử"})),
            &[Role::Admin],
        ),
        (
            Method::DELETE,
            "/api/v1/admin/routing-rules/{rule_id}",
            "/api/v1/admin/routing-rules/01a20000-0000-7000-8000-000000000000",
            None,
            &[Role::Admin],
        ),
        (
            Method::GET,
            "/nhan-vien/quan-tri/dinh-tuyen",
            "/nhan-vien/quan-tri/dinh-tuyen",
            None,
            &[Role::Admin],
        ),
        (
            Method::POST,
            "/nhan-vien/quan-tri/dinh-tuyen",
            "/nhan-vien/quan-tri/dinh-tuyen",
            None,
            &[Role::Admin],
        ),
        (
            Method::GET,
            "/nhan-vien/quan-tri/dinh-tuyen.toml",
            "/nhan-vien/quan-tri/dinh-tuyen.toml",
            None,
            &[Role::Admin],
        ),
        (
            Method::POST,
            "/nhan-vien/quan-tri/dinh-tuyen/thu",
            "/nhan-vien/quan-tri/dinh-tuyen/thu",
            None,
            &[Role::Admin],
        ),
        (
            Method::POST,
            "/nhan-vien/quan-tri/dinh-tuyen/nhap",
            "/nhan-vien/quan-tri/dinh-tuyen/nhap",
            None,
            &[Role::Admin],
        ),
        (
            Method::POST,
            "/nhan-vien/quan-tri/dinh-tuyen/{rule_id}",
            "/nhan-vien/quan-tri/dinh-tuyen/01a20000-0000-7000-8000-000000000000",
            None,
            &[Role::Admin],
        ),
        (
            Method::POST,
            "/nhan-vien/quan-tri/dinh-tuyen/{rule_id}/xoa",
            "/nhan-vien/quan-tri/dinh-tuyen/01a20000-0000-7000-8000-000000000000/xoa",
            None,
            &[Role::Admin],
        ),
        (
            Method::POST,
            "/api/v1/admin/calendar/preview",
            "/api/v1/admin/calendar/preview",
            Some(
                json!({"date": "2027-12-31", "kind": "day_off", "name": "Nghỉ thử", "source": "Quyết định thử"}),
            ),
            &[Role::Admin],
        ),
        (
            Method::GET,
            "/nhan-vien/quan-tri/lich",
            "/nhan-vien/quan-tri/lich",
            None,
            &[Role::Admin],
        ),
        (
            Method::POST,
            "/nhan-vien/quan-tri/lich",
            "/nhan-vien/quan-tri/lich",
            None,
            &[Role::Admin],
        ),
        (
            Method::PUT,
            "/api/v1/admin/fields/{code}",
            "/api/v1/admin/fields/ma_tran",
            Some(json!({"name": "Lĩnh vực ma trận"})),
            &[Role::Admin],
        ),
        (
            Method::PUT,
            "/api/v1/admin/administrative-units/{code}",
            "/api/v1/admin/administrative-units/99999",
            Some(json!({"name": "Xã Ma Trận", "kind": "xa"})),
            &[Role::Admin],
        ),
        (
            Method::GET,
            "/nhan-vien/quan-tri/linh-vuc",
            "/nhan-vien/quan-tri/linh-vuc",
            None,
            &[Role::Admin],
        ),
        (
            Method::POST,
            "/nhan-vien/quan-tri/linh-vuc",
            "/nhan-vien/quan-tri/linh-vuc",
            None,
            &[Role::Admin],
        ),
        (
            Method::GET,
            "/nhan-vien/quan-tri/xa-phuong",
            "/nhan-vien/quan-tri/xa-phuong",
            None,
            &[Role::Admin],
        ),
        (
            Method::POST,
            "/nhan-vien/quan-tri/xa-phuong",
            "/nhan-vien/quan-tri/xa-phuong",
            None,
            &[Role::Admin],
        ),
        (
            Method::GET,
            "/nhan-vien/nguon",
            "/nhan-vien/nguon",
            None,
            &[Role::ControlOffice, Role::Admin],
        ),
        (
            Method::POST,
            "/nhan-vien/nguon",
            "/nhan-vien/nguon",
            None,
            &[Role::ControlOffice, Role::Admin],
        ),
        (
            Method::POST,
            "/nhan-vien/nguon/{code}/ngung",
            "/nhan-vien/nguon/khong-co/ngung",
            None,
            &[Role::ControlOffice, Role::Admin],
        ),
        (
            Method::GET,
            "/nhan-vien/nguon.csv",
            "/nhan-vien/nguon.csv",
            None,
            &[Role::ControlOffice, Role::Admin],
        ),
        (
            Method::GET,
            "/nhan-vien/nguon.xlsx",
            "/nhan-vien/nguon.xlsx",
            None,
            &[Role::ControlOffice, Role::Admin],
        ),
        (
            Method::GET,
            "/api/v1/staff/sources",
            "/api/v1/staff/sources",
            None,
            &[Role::ControlOffice, Role::Admin],
        ),
        (
            Method::POST,
            "/api/v1/staff/sources",
            "/api/v1/staff/sources",
            Some(json!({"code": "ma-tran", "name": "Ma trận", "kind": "counter"})),
            &[Role::ControlOffice, Role::Admin],
        ),
        (
            Method::POST,
            "/api/v1/staff/sources/{code}/retire",
            "/api/v1/staff/sources/khong-co/retire",
            None,
            &[Role::ControlOffice, Role::Admin],
        ),
        (
            Method::GET,
            "/nhan-vien/cong-quoc-gia",
            "/nhan-vien/cong-quoc-gia",
            None,
            &[Role::ControlOffice],
        ),
        (
            Method::POST,
            "/nhan-vien/cong-quoc-gia",
            "/nhan-vien/cong-quoc-gia",
            None,
            &[Role::ControlOffice],
        ),
        (
            Method::GET,
            "/nhan-vien/cong-quoc-gia.xlsx",
            "/nhan-vien/cong-quoc-gia.xlsx",
            None,
            &[Role::ControlOffice],
        ),
        (
            Method::GET,
            "/nhan-vien/du-lieu-ca-nhan",
            "/nhan-vien/du-lieu-ca-nhan",
            None,
            &[Role::ControlOffice],
        ),
        (
            Method::POST,
            "/nhan-vien/du-lieu-ca-nhan/xoa",
            "/nhan-vien/du-lieu-ca-nhan/xoa",
            None,
            &[Role::ControlOffice],
        ),
        (
            Method::GET,
            "/nhan-vien/du-lieu-ca-nhan/xuat",
            "/nhan-vien/du-lieu-ca-nhan/xuat",
            None,
            &[Role::ControlOffice],
        ),
        (
            Method::GET,
            "/nhan-vien/quan-tri/truy-cap-lien-he",
            "/nhan-vien/quan-tri/truy-cap-lien-he",
            None,
            &[Role::Admin, Role::Auditor],
        ),
        (
            Method::GET,
            "/api/v1/staff/subject-requests",
            "/api/v1/staff/subject-requests",
            None,
            &[Role::ControlOffice],
        ),
        (
            Method::GET,
            "/api/v1/staff/subject-requests/export",
            "/api/v1/staff/subject-requests/export",
            None,
            &[Role::ControlOffice],
        ),
        (
            Method::POST,
            "/api/v1/staff/subject-requests/erase",
            "/api/v1/staff/subject-requests/erase",
            Some(json!({"reason": "x"})),
            &[Role::ControlOffice],
        ),
        (
            Method::POST,
            "/api/v1/staff/subject-requests/correct",
            "/api/v1/staff/subject-requests/correct",
            Some(json!({"tracking_code": "{code}", "reason": "x"})),
            &[Role::ControlOffice],
        ),
        (
            Method::GET,
            "/api/v1/admin/contact-access",
            "/api/v1/admin/contact-access",
            None,
            &[Role::Admin, Role::Auditor],
        ),
        (
            Method::PUT,
            "/api/v1/staff/feedback/{tracking_code}/national-record",
            "/api/v1/staff/feedback/{code}/national-record",
            Some(json!({"national_code": "x"})),
            &[Role::ControlOffice],
        ),
        (
            Method::GET,
            "/api/v1/staff/national-backlog",
            "/api/v1/staff/national-backlog",
            None,
            &[Role::ControlOffice],
        ),
        (
            Method::GET,
            "/api/v1/staff/national-backlog.xlsx",
            "/api/v1/staff/national-backlog.xlsx",
            None,
            &[Role::ControlOffice],
        ),
        // Last: it ends the session.
        (
            Method::POST,
            "/api/v1/auth/logout",
            "/api/v1/auth/logout",
            None,
            &Role::ALL,
        ),
    ]
}

#[apply(case_once!)]
fn every_secured_route_is_in_the_matrix() {
    let spec: Value = serde_yaml_ng::from_str(pakn::web::OPENAPI_YAML).unwrap();
    let mut secured = BTreeSet::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            // `security: [{}, …]` makes credentials optional: public.
            let required = op["security"].as_array().is_some_and(|alts| {
                !alts
                    .iter()
                    .any(|a| a.as_object().is_some_and(|o| o.is_empty()))
            });
            if required {
                secured.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    let listed: BTreeSet<(String, String)> = matrix()
        .into_iter()
        .map(|(m, t, ..)| (m.to_string(), t.to_string()))
        .collect();
    assert_eq!(secured, listed);
}

#[apply(case!)]
async fn every_role_gets_exactly_what_its_permissions_allow() {
    for app in apps().await {
        let mut tokens = Vec::new();
        for role in Role::ALL {
            let agency = if matches!(role, Role::AgencyOfficer | Role::AgencyLead) {
                "48.SXD"
            } else {
                "48.VP"
            };
            tokens.push((
                role,
                sign_in_as(
                    &app,
                    &format!("vai.{}", role.as_str().replace('_', "")),
                    role,
                    agency,
                )
                .await,
            ));
        }
        // A real item for the item routes.
        let receipt = app.post_feedback(&crate::helpers::valid_submission()).await;
        let code = receipt.body["tracking_code"].as_str().unwrap().to_string();
        for (method, template, path, body, allowed) in matrix() {
            let path = &path.replace("{code}", &code);
            // Without a session: 401 everywhere.
            let anonymous = app
                .send(method.clone(), template, path, |r| match &body {
                    Some(b) => r.json(b),
                    None => r,
                })
                .await;
            assert_eq!(
                anonymous.status,
                StatusCode::UNAUTHORIZED,
                "[{}] anonymous {method} {path}",
                app.backend
            );
            for (role, token) in &tokens {
                let reply = app
                    .send(method.clone(), template, path, |r| {
                        let r = r.bearer_auth(token);
                        match &body {
                            Some(b) => r.json(b),
                            None => r,
                        }
                    })
                    .await;
                // Allowed: past authorisation (an item outside the
                // caller's scope then answers 404, as if it did not exist).
                if allowed.contains(role) {
                    assert!(
                        reply.status != StatusCode::UNAUTHORIZED
                            && reply.status != StatusCode::FORBIDDEN
                            && !reply.status.is_server_error(),
                        "[{}] {role:?} {method} {path}: {} {}",
                        app.backend,
                        reply.status,
                        reply.body
                    );
                } else {
                    assert_eq!(
                        reply.status,
                        StatusCode::FORBIDDEN,
                        "[{}] {role:?} {method} {path}: {}",
                        app.backend,
                        reply.body
                    );
                    assert_eq!(reply.body["code"], "forbidden");
                }
            }
        }
    }
}

#[apply(case!)]
async fn an_admin_edits_the_calendar_through_the_api_and_due_dates_follow() {
    for app in apps().await {
        let admin = sign_in_as(&app, "quantri", Role::Admin, "48.VP").await;
        let receipt = app.post_feedback(&crate::helpers::valid_submission()).await;
        let received = receipt.body["received_at"].as_str().unwrap();
        let received_on = pakn::domain::time::vietnam_date(
            chrono::DateTime::parse_from_rfc3339(received)
                .unwrap()
                .with_timezone(&Utc),
        );
        let next = app
            .deadlines
            .calendar()
            .current()
            .calendar
            .add_working_days(received_on, 1)
            .0;
        let path = format!("/api/v1/admin/calendar/days/{next}");
        let kind = if chrono::Datelike::weekday(&next).number_from_monday() > 5 {
            "holiday"
        } else {
            "day_off"
        };
        let reply = app
            .send(Method::PUT, "/api/v1/admin/calendar/days/{date}", &path, |r| {
                r.bearer_auth(&admin).json(&json!({"kind": kind, "name": "Nghỉ đột xuất", "source": "Quyết định 1/QĐ-UBND (thử)", "reason": "Bão"}))
            })
            .await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "[{}] {}",
            app.backend,
            reply.body
        );
        assert_eq!(reply.body["moved"], 3, "the new item's three deadlines");
        let events = app.store.calendar_audit_events().await.unwrap();
        let last = events.last().unwrap();
        assert_eq!(last.action, "calendar.day_set");
        assert_eq!(last.actor_id.as_deref(), Some("quantri"));
        assert!(last.request_id.is_some(), "the request is traceable");

        // Refused edits say why, per rule.
        let saturday = "/api/v1/admin/calendar/days/2027-01-02";
        let bad = app
            .send(
                Method::PUT,
                "/api/v1/admin/calendar/days/{date}",
                saturday,
                |r| {
                    r.bearer_auth(&admin)
                        .json(&json!({"kind": "day_off", "name": "x", "source": "y"}))
                },
            )
            .await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            bad.field_errors(),
            vec![("day".to_string(), "day_off_on_weekend".to_string())]
        );
        let not_a_date = app
            .send(
                Method::PUT,
                "/api/v1/admin/calendar/days/{date}",
                "/api/v1/admin/calendar/days/2027-02-30",
                |r| {
                    r.bearer_auth(&admin)
                        .json(&json!({"kind": "day_off", "name": "x", "source": "y"}))
                },
            )
            .await;
        assert_eq!(not_a_date.status, StatusCode::NOT_FOUND);
        let long = app
            .send(Method::PUT, "/api/v1/admin/calendar/days/{date}", "/api/v1/admin/calendar/days/2027-12-30", |r| {
                r.bearer_auth(&admin).json(&json!({"kind": "day_off", "name": "x", "source": "y", "reason": "z".repeat(501)}))
            })
            .await;
        assert_eq!(long.status, StatusCode::UNPROCESSABLE_ENTITY);
        let control = app
            .send(Method::PUT, "/api/v1/admin/calendar/days/{date}", "/api/v1/admin/calendar/days/2027-12-30", |r| {
                r.bearer_auth(&admin).json(&json!({"kind": "day_off", "name": "Nghỉ\u{0000} thử", "source": "Quyết định\u{0007}", "reason": "\u{0000}"}))
            })
            .await;
        assert_eq!(
            control.status,
            StatusCode::OK,
            "control characters are cleaned, not a 500: {}",
            control.body
        );

        // Removing it moves them back.
        let removed = app
            .send(
                Method::DELETE,
                "/api/v1/admin/calendar/days/{date}",
                &path,
                |r| r.bearer_auth(&admin),
            )
            .await;
        assert_eq!(removed.status, StatusCode::OK);
        assert_eq!(removed.body["moved"], 3);
        let again = app
            .send(
                Method::DELETE,
                "/api/v1/admin/calendar/days/{date}",
                &path,
                |r| r.bearer_auth(&admin),
            )
            .await;
        assert_eq!(again.status, StatusCode::NOT_FOUND);
    }
}

#[apply(case!)]
async fn an_agency_keeps_sight_of_what_it_registers_itself() {
    for app in apps().await {
        let officer = sign_in_as(&app, "sxd.vanthu", Role::AgencyOfficer, "48.SXD").await;
        let reply = app
            .send(
                Method::POST,
                "/api/v1/staff/feedback",
                "/api/v1/staff/feedback",
                |r| {
                    r.bearer_auth(&officer)
                        .json(&crate::staff::hotline_call(Utc::now()))
                },
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED);
        let code = reply.body["tracking_code"].as_str().unwrap();
        let page = app.staff_get(&officer, code, "").await;
        assert_eq!(
            page.status,
            StatusCode::OK,
            "[{}] {}",
            app.backend,
            page.body
        );
        assert_eq!(page.body["handling_agency"]["code"], "48.SXD");
        let other = sign_in_as(&app, "stp.vanthu", Role::AgencyOfficer, "48.STP").await;
        let hidden = app.staff_get(&other, code, "").await;
        assert_eq!(hidden.status, StatusCode::NOT_FOUND);
    }
}

#[apply(case!)]
async fn integrations_use_scoped_revocable_api_keys() {
    use pakn::domain::staff::ApiScope;
    use pakn::services::auth::create_api_key;
    let limited = |s: &mut pakn::config::Settings| {
        s.rate_limit.enabled = true;
        s.rate_limit.submissions_per_minute = 1;
        s.rate_limit.submission_burst = 1;
    };
    for app in apps_with(limited).await {
        let now = Utc::now();
        let portal = create_api_key(
            &app.store,
            "cong-dvc",
            &[ApiScope::SubmitFeedback],
            "tester",
            now,
        )
        .await
        .unwrap();
        let reports = create_api_key(
            &app.store,
            "bao-cao",
            &[ApiScope::ReadStatistics],
            "tester",
            now,
        )
        .await
        .unwrap();
        assert!(portal.starts_with("pakn_ak_"));
        assert!(
            create_api_key(
                &app.store,
                "cong-dvc",
                &[ApiScope::ReadStatistics],
                "tester",
                now
            )
            .await
            .is_err(),
            "names are unique"
        );

        let post = |key: Option<String>| {
            let app = &app;
            async move {
                app.send(Method::POST, "/api/v1/feedback", "/api/v1/feedback", |r| {
                    let r = r.json(&crate::helpers::valid_submission());
                    match key {
                        Some(k) => r.bearer_auth(k),
                        None => r,
                    }
                })
                .await
            }
        };
        // Citizens from one address: the second is throttled.
        assert_eq!(post(None).await.status, StatusCode::CREATED);
        assert_eq!(post(None).await.status, StatusCode::TOO_MANY_REQUESTS);
        // The portal's key is not, and the items say where they came from.
        for _ in 0..3 {
            let reply = post(Some(portal.clone())).await;
            assert_eq!(
                reply.status,
                StatusCode::CREATED,
                "[{}] {}",
                app.backend,
                reply.body
            );
        }
        let code = post(Some(portal.clone())).await.body["tracking_code"]
            .as_str()
            .unwrap()
            .to_string();
        let item = app
            .store
            .find_feedback_by_code(&code.parse().unwrap())
            .await
            .unwrap()
            .unwrap();
        let events = app
            .store
            .audit_events_for(pakn::domain::ids::FeedbackId::from_uuid(item.item.id))
            .await
            .unwrap();
        assert_eq!(events[0].actor_kind, "integration");
        assert_eq!(events[0].actor_id.as_deref(), Some("cong-dvc"));
        // A key without the scope, an unknown key, a staff token: refused.
        assert_eq!(
            post(Some(reports.clone())).await.status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            post(Some(format!("pakn_ak_{}", "0".repeat(64))))
                .await
                .status,
            StatusCode::UNAUTHORIZED
        );
        let staff = sign_in_as(&app, "khong.phai.khoa", Role::ControlOffice, "48.VP").await;
        assert_eq!(post(Some(staff)).await.status, StatusCode::UNAUTHORIZED);

        // The reporting tool reads the counts; the portal may not.
        let summary = |key: String| {
            let app = &app;
            async move {
                app.send(
                    Method::GET,
                    "/api/v1/staff/feedback/summary",
                    "/api/v1/staff/feedback/summary",
                    |r| r.bearer_auth(key),
                )
                .await
            }
        };
        let counts = summary(reports.clone()).await;
        assert_eq!(counts.status, StatusCode::OK, "{}", counts.body);
        assert_eq!(counts.body["total"], 5);
        assert_eq!(summary(portal.clone()).await.status, StatusCode::FORBIDDEN);
        // Revoked keys stop working at once.
        assert!(
            app.store
                .revoke_api_key("bao-cao", None, Utc::now())
                .await
                .unwrap()
        );
        assert_eq!(summary(reports).await.status, StatusCode::UNAUTHORIZED);
        // Items and the queue stay out of reach of keys.
        let queue = app
            .send(
                Method::GET,
                "/api/v1/staff/feedback",
                "/api/v1/staff/feedback",
                |r| r.bearer_auth(&portal),
            )
            .await;
        assert_eq!(queue.status, StatusCode::UNAUTHORIZED);
    }
}

/// The agency dimension of the matrix: an item held by the Sở Xây dựng is
/// open to that Sở's staff, the control office and auditors, and does not
/// exist for another Sở's staff.
#[apply(case!)]
async fn item_routes_follow_the_own_and_other_agency_rule() {
    use sea_orm::ConnectionTrait;
    for app in apps().await {
        let receipt = app.post_feedback(&crate::helpers::valid_submission()).await;
        let code = receipt.body["tracking_code"].as_str().unwrap().to_string();
        // Forwarding is tested with the workflow; here the item is put in the
        // Sở Xây dựng's hands directly.
        let sxd = app
            .store
            .find_agency_by_code("48.SXD")
            .await
            .unwrap()
            .unwrap();
        let backend = app.store.backend();
        app.store
            .connection()
            .execute_raw(sea_orm::Statement::from_sql_and_values(
                backend,
                if backend == sea_orm::DbBackend::Postgres {
                    "UPDATE feedback_item SET handling_agency_id = $1 WHERE tracking_code = $2"
                } else {
                    "UPDATE feedback_item SET handling_agency_id = ?1 WHERE tracking_code = ?2"
                },
                [sxd.id.as_uuid().into(), code.clone().into()],
            ))
            .await
            .unwrap();
        let cases = [
            ("kiemsoat.m", Role::ControlOffice, "48.VP", true),
            ("thanhtra.m", Role::Auditor, "48.VP", true),
            ("sxd.cv.m", Role::AgencyOfficer, "48.SXD", true),
            ("sxd.ld.m", Role::AgencyLead, "48.SXD", true),
            ("stp.cv.m", Role::AgencyOfficer, "48.STP", false),
            ("stp.ld.m", Role::AgencyLead, "48.STP", false),
        ];
        for (username, role, agency, sees) in cases {
            let token = sign_in_as(&app, username, role, agency).await;
            let page = app.staff_get(&token, &code, "").await;
            let queue = app
                .send(
                    Method::GET,
                    "/api/v1/staff/feedback",
                    "/api/v1/staff/feedback",
                    |r| r.bearer_auth(&token),
                )
                .await;
            let listed = queue.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|i| i["tracking_code"] == code.as_str());
            if sees {
                assert_eq!(page.status, StatusCode::OK, "[{}] {username}", app.backend);
                assert!(listed, "[{}] {username} lists it", app.backend);
                assert_eq!(page.body["handling_agency"]["code"], "48.SXD");
            } else {
                assert_eq!(
                    page.status,
                    StatusCode::NOT_FOUND,
                    "[{}] {username}",
                    app.backend
                );
                assert!(!listed, "[{}] {username} does not list it", app.backend);
            }
        }
    }
}
