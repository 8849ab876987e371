//! Staff accounts run without a shell: the administrator creates accounts
//! that get a one-time set-password link (never a password on screen),
//! changes, disables, enables and unlocks them, and can never remove the
//! last active administrator; everyone changes their own password and
//! turns their daily digest on or off; the digest carries codes, titles
//! without personal data and deadlines, once a working day.

use crate::case;
use macro_rules_attribute::apply;

use std::sync::Arc;

use chrono::{Datelike, NaiveTime, Utc, Weekday};
use pakn::domain::staff::Role;
use pakn::services::Services;
use pakn::services::digest::{DigestMemo, queue_due};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::auth::{PASSWORD, sign_in_as};
use crate::console::{html, page, post_form};
use crate::helpers::{Reply, TestApp, apps, valid_submission};
use crate::mail::deliver;
use crate::mail_servers::SmtpSink;

async fn api(
    app: &TestApp,
    token: &str,
    method: Method,
    template: &str,
    path: &str,
    body: Option<Value>,
) -> Reply {
    app.send(method, template, path, |r| {
        let r = r.bearer_auth(token);
        match &body {
            Some(b) => r.json(b),
            None => r,
        }
    })
    .await
}

async fn login(app: &TestApp, username: &str, password: &str) -> Reply {
    app.send(
        Method::POST,
        "/api/v1/auth/login",
        "/api/v1/auth/login",
        |r| r.json(&json!({"username": username, "password": password})),
    )
    .await
}

fn token_of(url: &str) -> String {
    url.split("ma=").nth(1).unwrap().to_string()
}

async fn set_password_page(app: &TestApp, token: &str) -> Reply {
    app.send(
        Method::GET,
        "/nhan-vien/dat-mat-khau",
        &format!("/nhan-vien/dat-mat-khau?ma={token}"),
        |r| r.header("accept", "text/html"),
    )
    .await
}

async fn set_password(app: &TestApp, token: &str, new: &str, again: &str) -> Reply {
    let body = serde_urlencoded::to_string([
        ("ma", token),
        ("new_password", new),
        ("new_password_again", again),
    ])
    .unwrap();
    let origin = app.base.clone();
    app.send(
        Method::POST,
        "/nhan-vien/dat-mat-khau",
        "/nhan-vien/dat-mat-khau",
        |r| {
            r.header("accept", "text/html")
                .header("origin", origin)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
        },
    )
    .await
}

#[apply(case!)]
async fn a_new_account_sets_its_own_password_once_through_its_link() {
    for app in apps().await {
        let admin = sign_in_as(&app, "quantri", Role::Admin, "48.VP").await;
        let created = api(
            &app,
            &admin,
            Method::POST,
            "/api/v1/admin/staff",
            "/api/v1/admin/staff",
            Some(json!({
                "username": "Moi.ChuyenVien",
                "display_name": "Nguyễn Thị Mới",
                "role": "agency_officer",
                "agency_code": "48.SXD",
                "email": "Moi@SoXD.example"
            })),
        )
        .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        let account = &created.body["account"];
        assert_eq!(account["username"], "moi.chuyenvien");
        assert_eq!(account["email"], "moi@soxd.example");
        assert_eq!(account["active"], true);
        let url = created.body["password_link"]["url"].as_str().unwrap();
        assert!(
            url.starts_with(&format!(
                "{}/nhan-vien/dat-mat-khau?ma=pakn_pw_",
                app.settings.server.public_base_url.trim_end_matches('/')
            )),
            "{url}"
        );
        let token = token_of(url);
        // Only its digest is stored.
        let digest = pakn::domain::digest::sha256_hex(token.as_bytes());
        assert!(
            app.store
                .password_link_account(&digest, Utc::now())
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            app.store
                .password_link_account(&token, Utc::now())
                .await
                .unwrap()
                .is_none(),
            "the link is stored as a digest only"
        );

        // Nobody can sign in before the password is set.
        assert_eq!(
            login(&app, "moi.chuyenvien", PASSWORD).await.status,
            StatusCode::UNAUTHORIZED
        );

        let form = set_password_page(&app, &token).await;
        assert_eq!(form.status, StatusCode::OK);
        assert!(html(&form).contains("moi.chuyenvien"));
        assert_eq!(form.header("referrer-policy"), Some("no-referrer"));

        // Mistakes are answered next to their fields; the link still works.
        let short = set_password(&app, &token, "ngắn", "ngắn").await;
        assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html(&short).contains("ít nhất 12 ký tự"));
        let differ = set_password(&app, &token, PASSWORD, "một cụm từ khác hẳn").await;
        assert_eq!(differ.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html(&differ).contains("không giống nhau"));

        let done = set_password(&app, &token, PASSWORD, PASSWORD).await;
        assert_eq!(done.status, StatusCode::SEE_OTHER);
        assert_eq!(
            done.header("location"),
            Some("/nhan-vien/dang-nhap?doi-mat-khau=1")
        );
        assert_eq!(
            login(&app, "moi.chuyenvien", PASSWORD).await.status,
            StatusCode::OK
        );

        // Used: the same page for a used link as for a made-up one.
        let again =
            set_password(&app, &token, "mật khẩu thứ hai dài", "mật khẩu thứ hai dài").await;
        assert_eq!(again.status, StatusCode::NOT_FOUND);
        let used = set_password_page(&app, &token).await;
        let made_up = set_password_page(&app, "pakn_pw_0000").await;
        assert_eq!(used.status, StatusCode::NOT_FOUND);
        assert_eq!(made_up.status, StatusCode::NOT_FOUND);
        assert!(html(&used).contains("không còn hiệu lực"));
        assert_eq!(
            login(&app, "moi.chuyenvien", PASSWORD).await.status,
            StatusCode::OK
        );

        // Audited with who did it, never the link.
        let events = app.store.staff_audit_events().await.unwrap();
        let created_by_admin = events
            .iter()
            .find(|e| e.action == "staff.account_created")
            .unwrap();
        assert_eq!(created_by_admin.details["username"], "moi.chuyenvien");
        assert_eq!(created_by_admin.actor_id.as_deref(), Some("quantri"));
        assert!(events.iter().any(|e| e.action == "staff.password_set"));
        assert!(
            events
                .iter()
                .all(|e| !e.details.to_string().contains(&token))
        );

        // Taken usernames and bad fields are refused field by field.
        let taken = api(
            &app,
            &admin,
            Method::POST,
            "/api/v1/admin/staff",
            "/api/v1/admin/staff",
            Some(json!({"username": "moi.chuyenvien", "display_name": "X", "role": "auditor", "agency_code": "48.VP"})),
        )
        .await;
        assert_eq!(taken.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            taken.field_errors(),
            vec![("username".to_string(), "username_taken".to_string())]
        );
        let bad = api(
            &app,
            &admin,
            Method::POST,
            "/api/v1/admin/staff",
            "/api/v1/admin/staff",
            Some(json!({"username": "1x", "display_name": "", "role": "king", "agency_code": "48.NOPE", "email": "not-mail"})),
        )
        .await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        let mut fields: Vec<String> = bad.field_errors().into_iter().map(|(f, _)| f).collect();
        fields.sort();
        assert_eq!(
            fields,
            ["agency_code", "display_name", "email", "role", "username"]
        );
    }
}

#[apply(case!)]
async fn the_last_active_administrator_stays_and_disabling_ends_sessions() {
    for app in apps().await {
        let admin = sign_in_as(&app, "quantri", Role::Admin, "48.VP").await;
        let path = "/api/v1/admin/staff/quantri/disable";
        let refused = api(
            &app,
            &admin,
            Method::POST,
            "/api/v1/admin/staff/{username}/{action}",
            path,
            None,
        )
        .await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            refused.body
        );
        assert_eq!(refused.field_errors()[0].1, "last_admin");
        let demote = api(
            &app,
            &admin,
            Method::PUT,
            "/api/v1/admin/staff/{username}",
            "/api/v1/admin/staff/quantri",
            Some(json!({"display_name": "Quản trị", "role": "auditor", "agency_code": "48.VP"})),
        )
        .await;
        assert_eq!(demote.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(demote.field_errors()[0].1, "last_admin");

        // An officer moves agency and role; their open session ends when
        // they are disabled, and they are back when enabled.
        let officer = sign_in_as(&app, "chuyenvien", Role::AgencyOfficer, "48.SXD").await;
        let changed = api(
            &app,
            &admin,
            Method::PUT,
            "/api/v1/admin/staff/{username}",
            "/api/v1/admin/staff/chuyenvien",
            Some(json!({"display_name": "Chuyên viên đã chuyển", "role": "agency_lead", "agency_code": "48.VP", "email": "cv@vp.example"})),
        )
        .await;
        assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
        assert_eq!(changed.body["role"], "agency_lead");
        assert_eq!(changed.body["agency_code"], "48.VP");
        let off = api(
            &app,
            &admin,
            Method::POST,
            "/api/v1/admin/staff/{username}/{action}",
            "/api/v1/admin/staff/chuyenvien/disable",
            None,
        )
        .await;
        assert_eq!(off.status, StatusCode::OK);
        assert_eq!(off.body["account"]["active"], false);
        let me = api(
            &app,
            &officer,
            Method::GET,
            "/api/v1/auth/profile",
            "/api/v1/auth/profile",
            None,
        )
        .await;
        assert_eq!(me.status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            login(&app, "chuyenvien", PASSWORD).await.status,
            StatusCode::UNAUTHORIZED
        );
        // Twice is harmless.
        let twice = api(
            &app,
            &admin,
            Method::POST,
            "/api/v1/admin/staff/{username}/{action}",
            "/api/v1/admin/staff/chuyenvien/disable",
            None,
        )
        .await;
        assert_eq!(twice.status, StatusCode::OK);
        let on = api(
            &app,
            &admin,
            Method::POST,
            "/api/v1/admin/staff/{username}/{action}",
            "/api/v1/admin/staff/chuyenvien/enable",
            None,
        )
        .await;
        assert_eq!(on.body["account"]["active"], true);
        assert_eq!(
            login(&app, "chuyenvien", PASSWORD).await.status,
            StatusCode::OK
        );

        // With a second administrator the first may step down.
        sign_in_as(&app, "quantri2", Role::Admin, "48.VP").await;
        let down = api(
            &app,
            &admin,
            Method::POST,
            "/api/v1/admin/staff/{username}/{action}",
            "/api/v1/admin/staff/quantri2/disable",
            None,
        )
        .await;
        assert_eq!(down.status, StatusCode::OK);
        let unknown = api(
            &app,
            &admin,
            Method::GET,
            "/api/v1/admin/staff/{username}",
            "/api/v1/admin/staff/khong.co.ai",
            None,
        )
        .await;
        assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    }
}

#[apply(case!)]
async fn a_locked_account_is_unlocked_and_a_reset_link_replaces_the_last() {
    for app in apps().await {
        let admin = sign_in_as(&app, "quantri", Role::Admin, "48.VP").await;
        sign_in_as(&app, "haysai", Role::AgencyOfficer, "48.SXD").await;
        for _ in 0..app.settings.auth.lock_after_failures {
            login(&app, "haysai", "sai mật khẩu rồi").await;
        }
        assert_eq!(
            login(&app, "haysai", PASSWORD).await.status,
            StatusCode::UNAUTHORIZED
        );
        let listed = api(
            &app,
            &admin,
            Method::GET,
            "/api/v1/admin/staff",
            "/api/v1/admin/staff?q=HAYSAI",
            None,
        )
        .await;
        assert_eq!(listed.body["total"], 1);
        assert!(listed.body["accounts"][0]["locked_until"].is_string());
        let unlocked = api(
            &app,
            &admin,
            Method::POST,
            "/api/v1/admin/staff/{username}/{action}",
            "/api/v1/admin/staff/haysai/unlock",
            None,
        )
        .await;
        assert_eq!(unlocked.status, StatusCode::OK);
        assert!(unlocked.body["account"]["locked_until"].is_null());
        assert_eq!(login(&app, "haysai", PASSWORD).await.status, StatusCode::OK);

        let first = api(
            &app,
            &admin,
            Method::POST,
            "/api/v1/admin/staff/{username}/{action}",
            "/api/v1/admin/staff/haysai/password-link",
            None,
        )
        .await;
        let second = api(
            &app,
            &admin,
            Method::POST,
            "/api/v1/admin/staff/{username}/{action}",
            "/api/v1/admin/staff/haysai/password-link",
            None,
        )
        .await;
        let first = token_of(first.body["password_link"]["url"].as_str().unwrap());
        let second = token_of(second.body["password_link"]["url"].as_str().unwrap());
        assert_eq!(
            set_password_page(&app, &first).await.status,
            StatusCode::NOT_FOUND,
            "the newer link replaces the older"
        );
        assert_eq!(
            set_password_page(&app, &second).await.status,
            StatusCode::OK
        );
        // Until the link is used, the old password still works.
        assert_eq!(login(&app, "haysai", PASSWORD).await.status, StatusCode::OK);
    }
}

#[apply(case!)]
async fn one_changes_ones_own_password_with_the_current_one() {
    for app in apps().await {
        let token = sign_in_as(&app, "tudoi", Role::ControlOffice, "48.VP").await;
        let wrong = api(
            &app,
            &token,
            Method::POST,
            "/api/v1/auth/password",
            "/api/v1/auth/password",
            Some(
                json!({"current_password": "không đúng đâu", "new_password": "cụm từ mới đủ dài"}),
            ),
        )
        .await;
        assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            wrong.field_errors(),
            vec![("current_password".to_string(), "password_wrong".to_string())]
        );
        let weak = api(
            &app,
            &token,
            Method::POST,
            "/api/v1/auth/password",
            "/api/v1/auth/password",
            Some(json!({"current_password": PASSWORD, "new_password": "ngắn"})),
        )
        .await;
        assert_eq!(
            weak.field_errors(),
            vec![("new_password".to_string(), "password_weak".to_string())]
        );

        // In the browser: the profile page's form keeps the mistake by its field.
        let page_wrong = post_form(
            &app,
            &token,
            "/nhan-vien/ho-so/mat-khau",
            "/nhan-vien/ho-so/mat-khau",
            &[
                ("current_password", "sai"),
                ("new_password", "cụm từ mới đủ dài"),
                ("new_password_again", "cụm từ mới đủ dài"),
            ],
        )
        .await;
        assert_eq!(page_wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html(&page_wrong).contains("Mật khẩu hiện tại không đúng."));

        let done = api(
            &app,
            &token,
            Method::POST,
            "/api/v1/auth/password",
            "/api/v1/auth/password",
            Some(json!({"current_password": PASSWORD, "new_password": "cụm từ mới đủ dài"})),
        )
        .await;
        assert_eq!(done.status, StatusCode::NO_CONTENT);
        let after = api(
            &app,
            &token,
            Method::GET,
            "/api/v1/auth/profile",
            "/api/v1/auth/profile",
            None,
        )
        .await;
        assert_eq!(after.status, StatusCode::UNAUTHORIZED, "the session ended");
        assert_eq!(
            login(&app, "tudoi", PASSWORD).await.status,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            login(&app, "tudoi", "cụm từ mới đủ dài").await.status,
            StatusCode::OK
        );
    }
}

/// The next working day after today, at `hour` Vietnam time.
fn working_day_at(app: &TestApp, hour: u32) -> (chrono::NaiveDate, chrono::DateTime<Utc>) {
    let today = pakn::domain::time::vietnam_date(Utc::now());
    let day = app
        .deadlines
        .calendar()
        .current()
        .calendar
        .add_working_days(today, 1)
        .0;
    (
        day,
        pakn::domain::time::vietnam_instant(day, NaiveTime::from_hms_opt(hour, 0, 0).unwrap()),
    )
}

#[apply(case!)]
async fn the_daily_digest_lists_work_without_personal_data_once_a_working_day() {
    for app in apps().await {
        let Some(sink) = SmtpSink::start() else {
            return;
        };
        let services = Services::start(app.store.clone(), Arc::new(app.settings.clone()))
            .await
            .unwrap();
        let memo = DigestMemo::default();
        // Work for the control office: an item waiting to be classified,
        // whose title carries a phone number.
        let mut submission = valid_submission();
        submission["title"] = json!("Ông Trần Văn Bình 0905123456 hỏi thủ tục xây dựng");
        let receipt = app.post_feedback(&submission).await;
        assert_eq!(receipt.status, StatusCode::CREATED, "{}", receipt.body);
        let code = receipt.body["tracking_code"].as_str().unwrap().to_string();

        let office = sign_in_as(&app, "kiemsoat.thu", Role::ControlOffice, "48.VP").await;
        let admin = sign_in_as(&app, "quantri", Role::Admin, "48.VP").await;
        for (who, role, agency) in [
            ("kiemsoat.thu", "control_office", "48.VP"),
            ("quantri", "admin", "48.VP"),
        ] {
            let r = api(
                &app,
                &admin,
                Method::PUT,
                "/api/v1/admin/staff/{username}",
                &format!("/api/v1/admin/staff/{who}"),
                Some(json!({"display_name": "Cán bộ", "role": role, "agency_code": agency, "email": format!("{who}@vp.example")})),
            )
            .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        }

        let (day, eight) = working_day_at(&app, 8);
        // Before the hour, and on a Sunday: nothing.
        let six = eight - chrono::Duration::hours(2);
        assert_eq!(queue_due(&services, &memo, six).await.unwrap(), 0);
        let mut sunday = day;
        while sunday.weekday() != Weekday::Sun {
            sunday = sunday.succ_opt().unwrap();
        }
        let sunday_eight =
            pakn::domain::time::vietnam_instant(sunday, NaiveTime::from_hms_opt(8, 0, 0).unwrap());
        assert_eq!(queue_due(&services, &memo, sunday_eight).await.unwrap(), 0);

        // From the hour: one digest, for the office (the administrator
        // handles no items); a second pass or another instance adds none.
        assert_eq!(queue_due(&services, &memo, eight).await.unwrap(), 1);
        assert_eq!(queue_due(&services, &memo, eight).await.unwrap(), 0);
        assert_eq!(
            queue_due(&services, &DigestMemo::default(), eight)
                .await
                .unwrap(),
            0
        );

        let report = deliver(&app, &sink).await;
        assert!(report.sent >= 1, "{report:?}");
        let mail = sink
            .wait_for(|m| m.contains("To: kiemsoat.thu@vp.example"))
            .await;
        let parsed = mail_parser::MessageParser::default()
            .parse(mail.as_bytes())
            .unwrap();
        let text = parsed.body_text(0).unwrap().to_string();
        assert!(text.contains(&code), "{text}");
        assert!(text.contains("Chờ phân loại"), "{text}");
        assert!(text.contains("/nhan-vien/viec-cua-toi"), "{text}");
        assert!(
            !text.contains("0905123456"),
            "no phone number in a digest: {text}"
        );
        assert!(
            !text.contains("Trần Văn Bình"),
            "no name in a digest: {text}"
        );
        assert!(
            sink.messages()
                .iter()
                .all(|m| !String::from_utf8_lossy(m).contains("quantri@vp.example"))
        );

        // Turned off on the profile page: the next day brings nothing.
        let off = post_form(
            &app,
            &office,
            "/nhan-vien/ho-so/thu-tong-hop",
            "/nhan-vien/ho-so/thu-tong-hop",
            &[],
        )
        .await;
        assert_eq!(off.status, StatusCode::SEE_OTHER);
        let profile = page(&app, &office, "/nhan-vien/ho-so", "/nhan-vien/ho-so").await;
        assert!(!html(&profile).contains("name=\"daily_digest\" value=\"on\" checked"));
        let next = app
            .deadlines
            .calendar()
            .current()
            .calendar
            .add_working_days(day, 1)
            .0;
        let next_eight =
            pakn::domain::time::vietnam_instant(next, NaiveTime::from_hms_opt(8, 0, 0).unwrap());
        assert_eq!(queue_due(&services, &memo, next_eight).await.unwrap(), 0);
        let json = api(
            &app,
            &office,
            Method::GET,
            "/api/v1/auth/profile",
            "/api/v1/auth/profile",
            None,
        )
        .await;
        assert_eq!(json.body["daily_digest"], false);
        assert_eq!(json.body["email"], "kiemsoat.thu@vp.example");
    }
}

#[apply(case!)]
async fn the_administrator_runs_accounts_from_the_console() {
    for app in apps().await {
        let admin = sign_in_as(&app, "quantri", Role::Admin, "48.VP").await;
        let home = page(&app, &admin, "/nhan-vien/quan-tri", "/nhan-vien/quan-tri").await;
        assert_eq!(home.status, StatusCode::OK);
        assert!(html(&home).contains("1 quản trị viên đang hoạt động"));
        // An administrator handles no items: no queue or "Việc của tôi"
        // in the navigation (whose count would be refused), and the
        // console's home is administration.
        assert!(!html(&home).contains("/nhan-vien/viec-cua-toi"));
        let landing = page(&app, &admin, "/nhan-vien", "/nhan-vien").await;
        assert_eq!(landing.header("location"), Some("/nhan-vien/quan-tri"));

        // A mistake keeps what was typed, next to its field.
        let wrong = post_form(
            &app,
            &admin,
            "/nhan-vien/quan-tri/tai-khoan",
            "/nhan-vien/quan-tri/tai-khoan",
            &[
                ("username", "tv.moi"),
                ("display_name", "Trần <b>Mới</b>"),
                ("role", "agency_lead"),
                ("agency_code", ""),
                ("email", "tv@sxd.example"),
            ],
        )
        .await;
        assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
        let body = html(&wrong);
        assert!(
            body.contains("value=\"Trần &#60;b&#62;Mới&#60;/b&#62;\"")
                || body.contains("value=\"Trần &lt;b&gt;Mới&lt;/b&gt;\""),
            "escaped and kept"
        );
        assert!(body.contains("id=\"agency_code-loi\""));
        assert!(body.contains("value=\"tv@sxd.example\""));

        let made = post_form(
            &app,
            &admin,
            "/nhan-vien/quan-tri/tai-khoan",
            "/nhan-vien/quan-tri/tai-khoan",
            &[
                ("username", "tv.moi"),
                ("display_name", "Trần Mới"),
                ("role", "agency_lead"),
                ("agency_code", "48.SXD"),
                ("email", ""),
            ],
        )
        .await;
        assert_eq!(made.status, StatusCode::CREATED);
        assert!(html(&made).contains("/nhan-vien/dat-mat-khau?ma=pakn_pw_"));
        let list = page(
            &app,
            &admin,
            "/nhan-vien/quan-tri/tai-khoan",
            "/nhan-vien/quan-tri/tai-khoan?role=agency_lead",
        )
        .await;
        assert!(html(&list).contains("tv.moi"));
        assert!(
            !html(&list).contains("/nhan-vien/dat-mat-khau"),
            "a link is shown once"
        );

        let one = page(
            &app,
            &admin,
            "/nhan-vien/quan-tri/tai-khoan/{username}",
            "/nhan-vien/quan-tri/tai-khoan/tv.moi",
        )
        .await;
        assert_eq!(one.status, StatusCode::OK);
        let disabled = post_form(
            &app,
            &admin,
            "/nhan-vien/quan-tri/tai-khoan/{username}/{action}",
            "/nhan-vien/quan-tri/tai-khoan/tv.moi/khoa",
            &[],
        )
        .await;
        assert_eq!(disabled.status, StatusCode::SEE_OTHER);
        assert_eq!(
            disabled.header("location"),
            Some("/nhan-vien/quan-tri/tai-khoan/tv.moi?xong=khoa")
        );
        let me_off = post_form(
            &app,
            &admin,
            "/nhan-vien/quan-tri/tai-khoan/{username}/{action}",
            "/nhan-vien/quan-tri/tai-khoan/quantri/khoa",
            &[],
        )
        .await;
        assert_eq!(me_off.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html(&me_off).contains("tài khoản quản trị đang hoạt động cuối cùng"));
        // Cross-site posts are refused.
        let cross = app
            .send(
                Method::POST,
                "/nhan-vien/quan-tri/tai-khoan/{username}/{action}",
                "/nhan-vien/quan-tri/tai-khoan/tv.moi/mo",
                |r| {
                    r.bearer_auth(&admin)
                        .header("accept", "text/html")
                        .header("origin", "https://evil.example")
                },
            )
            .await;
        assert_eq!(cross.status, StatusCode::FORBIDDEN);
    }
}
