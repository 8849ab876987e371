//! The calendar API: a year's days off with their sources, the iCalendar
//! feed and the working-day calculator; and the calendar as data (files
//! loaded at start-up, administrators' edits kept).

use crate::case;
use macro_rules_attribute::apply;

use chrono::{Datelike, NaiveDate, Utc};
use pakn::domain::calendar::holidays::{DayKind, ScheduledDay};
use pakn::store::calendar::CalendarChange;
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::{TestApp, apps, apps_with};

async fn year(app: &TestApp, year: &str) -> crate::helpers::Reply {
    app.send(
        Method::GET,
        "/api/v1/calendar/{year}",
        &format!("/api/v1/calendar/{year}"),
        |r| r,
    )
    .await
}

async fn add(app: &TestApp, query: &str) -> crate::helpers::Reply {
    app.send(
        Method::GET,
        "/api/v1/calendar/add-working-days",
        &format!("/api/v1/calendar/add-working-days?{query}"),
        |r| r,
    )
    .await
}

fn dates_of(body: &Value, kind: &str) -> Vec<String> {
    body["days"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["kind"] == kind)
        .map(|d| d["date"].as_str().unwrap().to_string())
        .collect()
}

#[apply(case!)]
async fn a_year_lists_its_official_days_with_sources_and_counts_working_days() {
    for app in apps().await {
        let reply = year(&app, "2026").await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "[{}] {}",
            app.backend,
            reply.body
        );
        let body = &reply.body;
        assert_eq!(body["basis"], "official");
        assert!(
            body["schedule_file"]
                .as_str()
                .unwrap()
                .ends_with("2026.toml")
        );
        assert!(
            body["calendar_version"].as_i64().unwrap() >= 2,
            "2025 and 2026 loaded"
        );
        // 261 weekdays, 13 of them off, one Saturday worked.
        assert_eq!(body["working_days"], 249);
        assert_eq!(dates_of(body, "working_day"), ["2026-01-10"]);
        assert!(dates_of(body, "day_off").contains(&"2026-04-27".to_string()));
        let tet = body["days"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["date"] == "2026-02-17")
            .unwrap();
        assert_eq!(tet["kind"], "holiday");
        assert_eq!(tet["weekday"], "Thứ Ba");
        assert!(tet["source"].as_str().unwrap().contains("9441/TB-BNV"));
        assert_eq!(tet["confirmed"], true);
        let culture = body["days"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["date"] == "2026-11-24")
            .unwrap();
        assert_eq!(culture["confirmed"], false, "reported, not confirmed");
        // The working-day count agrees with the listed days.
        let mut expected = 0;
        let mut day = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        while day.year() == 2026 {
            let listed = body["days"]
                .as_array()
                .unwrap()
                .iter()
                .find(|d| d["date"] == day.to_string().as_str());
            let weekend = day.weekday().number_from_monday() > 5;
            let working = match listed.map(|d| d["kind"].as_str().unwrap()) {
                Some("working_day") => true,
                Some(_) => false,
                None => !weekend,
            };
            expected += u32::from(working);
            day = day.succ_opt().unwrap();
        }
        assert_eq!(body["working_days"], expected);
        assert!(reply.header("cache-control").unwrap().contains("max-age"));
    }
}

#[apply(case!)]
async fn a_year_without_a_schedule_falls_back_to_the_statutory_days() {
    for app in apps().await {
        let reply = year(&app, "2027").await;
        assert_eq!(reply.body["basis"], "computed");
        assert!(reply.body["schedule_file"].is_null());
        // Tết Đinh Mùi: mùng 1 is 6 February 2027.
        assert!(dates_of(&reply.body, "holiday").contains(&"2027-02-06".to_string()));
        assert!(
            reply.body["days"]
                .as_array()
                .unwrap()
                .iter()
                .all(|d| d["confirmed"] == false),
            "computed days await confirmation"
        );
        for bad in ["1899", "2200", "abcd", "2026x"] {
            let reply = year(&app, bad).await;
            assert_eq!(
                reply.status,
                StatusCode::NOT_FOUND,
                "[{}] {bad}",
                app.backend
            );
        }
    }
}

#[apply(case!)]
async fn the_ics_feed_has_one_event_per_day() {
    for app in apps().await {
        let reply = app
            .send(
                Method::GET,
                "/api/v1/calendar/{year}.ics",
                "/api/v1/calendar/2026.ics",
                |r| r,
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK);
        assert!(
            reply
                .header("content-type")
                .unwrap()
                .starts_with("text/calendar")
        );
        let text = reply.body.as_str().unwrap();
        assert!(text.starts_with("BEGIN:VCALENDAR\r\n") && text.ends_with("END:VCALENDAR\r\n"));
        let json = year(&app, "2026").await;
        assert_eq!(
            text.matches("BEGIN:VEVENT").count(),
            json.body["days"].as_array().unwrap().len()
        );
        assert!(text.contains("DTSTART;VALUE=DATE:20260110"));
        assert!(text.replace("\r\n ", "").contains("(chưa xác nhận)"));
        assert!(text.split("\r\n").all(|l| l.len() <= 75));
        let missing = app
            .send(
                Method::GET,
                "/api/v1/calendar/{year}.ics",
                "/api/v1/calendar/3000.ics",
                |r| r,
            )
            .await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
    }
}

#[apply(case!)]
async fn adding_working_days_skips_and_explains_non_working_days() {
    for app in apps().await {
        // Friday before Tết 2026: the nine days 14–22/02 are skipped.
        let reply = add(&app, "from=2026-02-13&days=1").await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert_eq!(reply.body["due"], "2026-02-23");
        assert_eq!(reply.body["due_weekday"], "Thứ Hai");
        let skipped = reply.body["skipped"].as_array().unwrap();
        assert_eq!(skipped.len(), 9);
        assert!(skipped.iter().any(|s| s["date"] == "2026-02-17" && s["reason"].as_str().unwrap().contains("Tết")));
        // Across Ngày Văn hóa (Tue 24/11/2026): 5 WD from Fri 20/11.
        let reply = add(&app, "from=2026-11-20&days=5").await;
        assert_eq!(reply.body["due"], "2026-11-30");
        // The swapped Saturday 10/01/2026 counts.
        let reply = add(&app, "from=2026-01-09&days=1").await;
        assert_eq!(reply.body["due"], "2026-01-10");
        // Calendar days roll forward off 30/4, 1/5 and the weekend.
        let reply = add(&app, "from=2026-04-10&days=20&unit=calendar_days").await;
        assert_eq!(reply.body["due"], "2026-05-04");
        assert_eq!(reply.body["unit"], "calendar_days");
        // Zero days: the start itself.
        assert_eq!(
            add(&app, "from=2026-11-20&days=0").await.body["due"],
            "2026-11-20"
        );
    }
}

#[apply(case!)]
async fn the_calculator_refuses_bad_parameters_clearly() {
    for app in apps().await {
        for query in [
            "days=5",
            "from=2026-11-20",
            "from=2026-02-30&days=1",
            "from=20-11-2026&days=1",
            "from=2026-11-20&days=-1",
            "from=2026-11-20&days=99999",
            "from=2026-11-20&days=abc",
            "from=2026-11-20&days=1&unit=weeks",
            "from=2026-11-20&days=1&colour=blue",
            "from=1800-01-01&days=1",
        ] {
            let reply = add(&app, query).await;
            assert_eq!(
                reply.status,
                StatusCode::BAD_REQUEST,
                "[{}] {query}: {}",
                app.backend,
                reply.body
            );
            assert_eq!(reply.body["code"], "malformed_request");
            assert!(!reply.body["detail"].as_str().unwrap().is_empty());
        }
    }
}

fn day(date: &str, kind: DayKind, name: &str) -> ScheduledDay {
    ScheduledDay {
        date: date.parse().unwrap(),
        kind,
        name: name.into(),
        source: "Thông báo thử nghiệm".into(),
        confirmed: true,
    }
}

fn change(summary: &str) -> CalendarChange {
    CalendarChange {
        actor_kind: "admin_cli".into(),
        actor: "tester".into(),
        summary: summary.into(),
        request_id: None,
    }
}

#[apply(case!)]
async fn an_edit_to_a_computed_year_keeps_its_other_holidays_and_is_audited() {
    for app in apps().await {
        let calendar = app.deadlines.calendar();
        let before = calendar.current().version;
        let version = calendar
            .set_day(
                &day(
                    "2027-12-31",
                    DayKind::DayOff,
                    "Nghỉ hoán đổi dịp Quốc khánh",
                ),
                &change("Thông báo 2027"),
                Utc::now(),
            )
            .await
            .unwrap();
        assert_eq!(version, before + 1);
        let reply = year(&app, "2027").await;
        assert_eq!(
            reply.body["basis"], "official",
            "an edited year becomes official"
        );
        assert_eq!(reply.body["edited_by_admin"], true);
        assert!(
            dates_of(&reply.body, "holiday").contains(&"2027-02-06".to_string()),
            "Tết kept"
        );
        assert!(dates_of(&reply.body, "day_off").contains(&"2027-12-31".to_string()));
        assert_eq!(reply.body["calendar_version"], version);
        let events = app.store.calendar_audit_events().await.unwrap();
        let loads = events
            .iter()
            .filter(|e| e.action == "calendar.year_replaced")
            .count();
        assert_eq!(
            loads, 2,
            "[{}] the 2025 and 2026 files, loaded once each",
            app.backend
        );
        let edit = events.last().unwrap();
        assert_eq!(edit.action, "calendar.day_set");
        assert_eq!(edit.actor_id.as_deref(), Some("tester"));
        assert_eq!(edit.details["date"], "2027-12-31");
        assert!(edit.details["before"].is_null());
        assert_eq!(edit.details["after"]["kind"], "day_off");
        assert_eq!(edit.details["calendar_version"], version);
        // Invalid edits are refused and change nothing.
        let err = calendar
            .set_day(
                &day("2027-09-04", DayKind::DayOff, "Thứ Bảy"),
                &change("x"),
                Utc::now(),
            )
            .await
            .unwrap_err();
        assert!(err.to_string().contains("weekend"), "{err}");
        assert_eq!(calendar.current().version, version);
        // Removing a day that is not there changes nothing either.
        assert_eq!(
            calendar
                .remove_day("2027-03-03".parse().unwrap(), &change("x"), Utc::now())
                .await
                .unwrap(),
            None
        );
        assert_eq!(calendar.current().version, version);
        assert_eq!(
            app.store.calendar_audit_events().await.unwrap().len(),
            events.len()
        );
    }
}

#[apply(case!)]
async fn schedule_files_load_at_start_and_an_administrators_edit_wins_over_a_changed_file() {
    let dir = tempfile::tempdir().unwrap();
    let original = std::fs::read_to_string("config/calendar/2026.toml").unwrap();
    let extra = "\n[[day]]\ndate = \"2026-12-31\"\nkind = \"day_off\"\nname = \"Nghỉ cuối năm (thử)\"\nsource = \"Tệp thử\"\n";
    std::fs::write(dir.path().join("2026.toml"), format!("{original}{extra}")).unwrap();
    let path = dir.path().to_path_buf();
    for app in apps_with(move |s| s.calendar.schedule_dir = path.clone()).await {
        let reply = year(&app, "2026").await;
        assert!(
            dates_of(&reply.body, "day_off").contains(&"2026-12-31".to_string()),
            "[{}] the directory's file is loaded",
            app.backend
        );
        assert_eq!(
            year(&app, "2025").await.body["basis"],
            "computed",
            "only files in the directory"
        );

        // An administrator corrects a day; then the file changes again:
        // the database keeps the administrator's version.
        let calendar = app.deadlines.calendar();
        calendar
            .set_day(
                &day("2026-12-30", DayKind::DayOff, "Nghỉ thêm"),
                &change("sửa tay"),
                Utc::now(),
            )
            .await
            .unwrap();
        let version = calendar.current().version;
        let mut settings = crate::helpers::test_settings();
        let other = tempfile::tempdir().unwrap();
        std::fs::write(other.path().join("2026.toml"), &original).unwrap();
        settings.calendar.schedule_dir = other.path().to_path_buf();
        let files = settings.year_schedules().unwrap();
        assert!(
            calendar
                .seed_from_files(&files, Utc::now())
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(calendar.current().version, version);
        assert!(
            dates_of(&year(&app, "2026").await.body, "day_off").contains(&"2026-12-31".to_string())
        );
    }
}
