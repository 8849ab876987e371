//! The calendar in the browser: an edit to one day is previewed (which
//! open due dates it would move, to when) and saved only when confirmed;
//! then the due dates move exactly as previewed, audited.

use crate::case;
use macro_rules_attribute::apply;

use chrono::{Datelike, Utc, Weekday};
use pakn::domain::staff::Role;
use reqwest::StatusCode;
use serde_json::json;

use crate::auth::sign_in_as;
use crate::console::{html, post_form};
use crate::helpers::apps;
use crate::workflow::{current, submit};

#[apply(case!)]
async fn a_day_off_is_previewed_then_saved_and_moves_due_dates_as_shown() {
    for app in apps().await {
        let admin = sign_in_as(&app, "quantri", Role::Admin, "48.VP").await;
        let control = sign_in_as(&app, "kiemsoat", Role::ControlOffice, "48.VP").await;
        let (code, _) = submit(&app).await;
        let due_of = |item: &serde_json::Value| {
            item["deadlines"]
                .as_array()
                .unwrap()
                .iter()
                .find(|d| d["kind"] == "answer")
                .unwrap()["due_at"]
                .as_str()
                .unwrap()
                .to_string()
        };
        let before = due_of(&current(&app, &control, &code).await);
        let today = pakn::domain::time::vietnam_date(Utc::now());
        let day = app
            .deadlines
            .calendar()
            .current()
            .calendar
            .add_working_days(today, 3)
            .0;
        let date = day.to_string();
        let form = |step: &'static str, confirm: bool| {
            let mut f = vec![
                ("buoc", step.to_string()),
                ("date", date.clone()),
                ("kind", "day_off".to_string()),
                ("name", "Nghỉ thử nghiệm".to_string()),
                ("source", "Thông báo số 1/TB-UBND".to_string()),
            ];
            if confirm {
                f.push(("xac_nhan", "on".to_string()));
            }
            f
        };
        let as_refs =
            |f: &Vec<(&'static str, String)>| -> Vec<(&'static str, String)> { f.clone() };

        // Previewed: our item's answer deadline would move; nothing changed.
        let fields = as_refs(&form("xem-truoc", false));
        let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let preview = post_form(
            &app,
            &admin,
            "/nhan-vien/quan-tri/lich",
            "/nhan-vien/quan-tri/lich",
            &pairs,
        )
        .await;
        assert_eq!(preview.status, StatusCode::OK);
        assert!(
            html(&preview).contains(&code),
            "[{}] the item is listed",
            app.backend
        );
        assert!(html(&preview).contains("Trả lời"), "{}", html(&preview));
        assert_eq!(
            due_of(&current(&app, &control, &code).await),
            before,
            "nothing changed yet"
        );
        let json = app
            .send(reqwest::Method::POST, "/api/v1/admin/calendar/preview", "/api/v1/admin/calendar/preview", |r| {
                r.bearer_auth(&admin).json(&json!({"date": date, "kind": "day_off", "name": "Nghỉ thử nghiệm", "source": "Thông báo số 1/TB-UBND"}))
            })
            .await;
        let moved = json.body["moved"].as_array().unwrap();
        let ours = moved
            .iter()
            .find(|m| m["tracking_code"] == code.as_str() && m["deadline"] == "Trả lời")
            .unwrap();
        assert_eq!(ours["before"], before.as_str());
        let previewed_after = ours["after"].as_str().unwrap().to_string();
        assert!(previewed_after > before);

        // "Save" without the confirmation: the preview again, nothing saved.
        let fields = form("luu", false);
        let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let unconfirmed = post_form(
            &app,
            &admin,
            "/nhan-vien/quan-tri/lich",
            "/nhan-vien/quan-tri/lich",
            &pairs,
        )
        .await;
        assert_eq!(unconfirmed.status, StatusCode::OK);
        assert_eq!(due_of(&current(&app, &control, &code).await), before);
        // Confirmed: saved, and the due date is the one previewed.
        let fields = form("luu", true);
        let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let saved = post_form(
            &app,
            &admin,
            "/nhan-vien/quan-tri/lich",
            "/nhan-vien/quan-tri/lich",
            &pairs,
        )
        .await;
        assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", html(&saved));
        assert!(saved.header("location").unwrap().starts_with(&format!(
            "/nhan-vien/quan-tri/lich?nam={}&xong=luu",
            day.year()
        )));
        assert_eq!(
            due_of(&current(&app, &control, &code).await),
            previewed_after
        );
        let events = app.store.calendar_audit_events().await.unwrap();
        assert!(events.iter().any(|e| e.action == "calendar.day_set" && e.actor_id.as_deref() == Some("quantri")));

        // Mistakes are answered by their field: a day off on a Saturday, no source.
        let mut saturday = today;
        while saturday.weekday() != Weekday::Sat {
            saturday = saturday.succ_opt().unwrap();
        }
        let sat = saturday.to_string();
        let bad = post_form(
            &app,
            &admin,
            "/nhan-vien/quan-tri/lich",
            "/nhan-vien/quan-tri/lich",
            &[
                ("buoc", "xem-truoc"),
                ("date", &sat),
                ("kind", "day_off"),
                ("name", "Sai"),
                ("source", "X"),
            ],
        )
        .await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html(&bad).contains("id=\"kind-loi\""));
        let no_source = post_form(
            &app,
            &admin,
            "/nhan-vien/quan-tri/lich",
            "/nhan-vien/quan-tri/lich",
            &[
                ("buoc", "xem-truoc"),
                ("date", &date),
                ("kind", "day_off"),
                ("name", "Nghỉ"),
                ("source", ""),
            ],
        )
        .await;
        assert_eq!(no_source.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html(&no_source).contains("id=\"source-loi\""));
        assert!(
            html(&no_source).contains("value=\"Nghỉ\""),
            "what was typed is kept"
        );

        // Removed again: the due date returns.
        let removed = post_form(
            &app,
            &admin,
            "/nhan-vien/quan-tri/lich",
            "/nhan-vien/quan-tri/lich",
            &[
                ("buoc", "luu"),
                ("xac_nhan", "on"),
                ("date", &date),
                ("kind", "remove"),
            ],
        )
        .await;
        assert_eq!(removed.status, StatusCode::SEE_OTHER);
        assert_eq!(due_of(&current(&app, &control, &code).await), before);
    }
}
