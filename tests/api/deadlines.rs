//! Deadlines of received items: computed at receipt, explained to the
//! submitter, recomputed (and audited) when the calendar changes, and
//! watched by the scheduler, which queues each notice exactly once even
//! with several instances.

use crate::{case, case_once};
use macro_rules_attribute::apply;

use chrono::{DateTime, Duration, Utc};
use pakn::domain::calendar::holidays::{DayKind, ScheduledDay};
use pakn::domain::time::vietnam_date;
use pakn::store::calendar::CalendarChange;
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::{TestApp, apps, valid_submission};

async fn deadlines(app: &TestApp, code: &str, token: &str) -> crate::helpers::Reply {
    app.send(
        Method::GET,
        "/api/v1/feedback/{tracking_code}/deadlines",
        &format!("/api/v1/feedback/{code}/deadlines"),
        |r| r.header("X-Lookup-Token", token),
    )
    .await
}

fn find<'a>(body: &'a Value, kind: &str) -> &'a Value {
    body["deadlines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} deadline in {body}"))
}

fn instant(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

/// The notices the deadline scheduler queued (not acknowledgements and
/// other workflow notices).
async fn deadline_notices(
    store: &pakn::store::Store,
    unsent_only: bool,
) -> Vec<pakn::store::deadlines::NoticeRow> {
    store
        .list_notices(unsent_only, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|n| n.kind.starts_with("deadline_"))
        .collect()
}

async fn submit(app: &TestApp) -> (String, String) {
    let receipt = app.post_feedback(&valid_submission()).await;
    assert_eq!(receipt.status, StatusCode::CREATED, "{}", receipt.body);
    (
        receipt.body["tracking_code"].as_str().unwrap().to_string(),
        receipt.body["lookup_token"].as_str().unwrap().to_string(),
    )
}

/// When the item was received (not "now": a test may cross midnight).
async fn received_at(app: &TestApp, code: &str, token: &str) -> DateTime<Utc> {
    instant(&app.lookup(code, token).await.body["received_at"])
}

#[apply(case!)]
async fn every_due_date_is_explained_and_matches_the_lookup() {
    for app in apps().await {
        let (code, token) = submit(&app).await;
        let reply = deadlines(&app, &code, &token).await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "[{}] {}",
            app.backend,
            reply.body
        );
        assert_eq!(reply.body["deadlines"].as_array().unwrap().len(), 3);
        let today = vietnam_date(Utc::now());
        let calendar = app.deadlines.calendar().current().calendar.clone();
        for (kind, days) in [("classify", 2), ("forward", 5), ("answer", 20)] {
            let d = find(&reply.body, kind);
            assert_eq!(d["rule"]["days"], days);
            assert_eq!(d["rule"]["unit"], "working_days");
            assert_eq!(d["state"], "open");
            assert_eq!(d["counts_from"], today.to_string());
            // The due date is the days-th working day after receipt, at
            // the end of that day in Vietnam.
            let due = instant(&d["due_at"]);
            assert_eq!(
                vietnam_date(due),
                calendar.add_working_days(today, days).0,
                "{kind}"
            );
            assert!(d["due_at"].as_str().unwrap().ends_with("T23:59:59+07:00"));
            assert_eq!(d["original_due_at"], d["due_at"]);
            assert!(
                d["summary"]
                    .as_str()
                    .unwrap()
                    .contains("không tính ngày tiếp nhận")
            );
            assert!(!d["rule"]["basis"].as_str().unwrap().is_empty());
        }
        // Twenty working days always cross at least two weekends.
        assert!(
            find(&reply.body, "answer")["skipped"]
                .as_array()
                .unwrap()
                .len()
                >= 4
        );
        let view = app.lookup(&code, &token).await;
        assert_eq!(view.body["due_at"], find(&reply.body, "answer")["due_at"]);

        // The same 404 for a wrong token and an unknown code.
        let wrong = deadlines(&app, &code, "AAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AAAA").await;
        let unknown = deadlines(&app, "PAKN.48.20200101.9999", &token).await;
        assert_eq!(wrong.status, StatusCode::NOT_FOUND);
        assert_eq!(wrong.body["detail"], unknown.body["detail"]);
        let missing = app
            .send(
                Method::GET,
                "/api/v1/feedback/{tracking_code}/deadlines",
                &format!("/api/v1/feedback/{code}/deadlines"),
                |r| r,
            )
            .await;
        assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    }
}

#[apply(case!)]
async fn a_calendar_change_moves_open_due_dates_and_audits_each_move() {
    for app in apps().await {
        let (code, token) = submit(&app).await;
        let before = deadlines(&app, &code, &token).await.body;
        let calendar = app.deadlines.calendar();
        // Declare the first working day after today a day off.
        let today = vietnam_date(received_at(&app, &code, &token).await);
        let snapshot = calendar.current();
        let next = snapshot.calendar.add_working_days(today, 1).0;
        let change = CalendarChange {
            actor_kind: "admin_cli".into(),
            actor: "tester".into(),
            summary: "Nghỉ đột xuất (thử)".into(),
            request_id: None,
        };
        let kind = if chrono::Datelike::weekday(&next).number_from_monday() > 5 {
            // A swapped working Saturday: remove it instead.
            None
        } else {
            Some(ScheduledDay {
                date: next,
                kind: DayKind::DayOff,
                name: "Nghỉ đột xuất".into(),
                source: "Quyết định thử nghiệm".into(),
                confirmed: true,
            })
        };
        let version = match kind {
            Some(day) => calendar.set_day(&day, &change, Utc::now()).await.unwrap(),
            None => calendar
                .remove_day(next, &change, Utc::now())
                .await
                .unwrap()
                .unwrap(),
        };
        let (recomputed, moved) = app
            .deadlines
            .recompute_behind(&app.store, Utc::now())
            .await
            .unwrap();
        assert_eq!(
            (recomputed, moved),
            (3, 3),
            "[{}] all three open deadlines move",
            app.backend
        );

        let after = deadlines(&app, &code, &token).await.body;
        for kind in ["classify", "forward", "answer"] {
            let old = instant(&find(&before, kind)["due_at"]);
            let new = instant(&find(&after, kind)["due_at"]);
            assert!(new > old, "{kind}: {old} → {new}");
            assert_eq!(find(&after, kind)["calendar_version"], version);
            assert!(
                find(&after, kind)["skipped"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|s| s["date"] == next.to_string().as_str())
            );
        }
        assert_eq!(
            app.lookup(&code, &token).await.body["due_at"],
            find(&after, "answer")["due_at"]
        );

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
        let moves: Vec<_> = events
            .iter()
            .filter(|e| e.action == "deadline.recomputed")
            .collect();
        assert_eq!(moves.len(), 3);
        assert!(
            moves
                .iter()
                .all(|e| e.details["new_calendar_version"] == version
                    && e.details["old_due_at"] != e.details["new_due_at"])
        );
        // Running again changes nothing and audits nothing more.
        assert_eq!(
            app.deadlines
                .recompute_behind(&app.store, Utc::now())
                .await
                .unwrap(),
            (0, 0)
        );
    }
}

#[apply(case!)]
async fn the_scheduler_queues_reminders_and_escalations_once_even_when_run_twice_at_once() {
    for app in apps().await {
        let (code, token) = submit(&app).await;
        let body = deadlines(&app, &code, &token).await.body;
        let classify_due = instant(&find(&body, "classify")["due_at"]);
        let service = app.deadlines.clone();
        let store = app.store.clone();

        // At receipt nothing is near due yet.
        let now = Utc::now();
        let report = service.run_scheduler_once(&store, now).await.unwrap();
        assert_eq!(report.notices_queued, 0, "[{}] {report:?}", app.backend);

        // From the classify reminder time (the working day before its due
        // date), two passes at once queue one reminder.
        let remind = instant(&find(&body, "classify")["remind_at"]);
        assert!(remind < classify_due && remind > now);
        let (a, b) = tokio::join!(
            service.run_scheduler_once(&store, remind),
            service.run_scheduler_once(&store, remind)
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(a.near_due + b.near_due, 1, "[{}] {a:?} {b:?}", app.backend);
        let notices = deadline_notices(&store, true).await;
        assert_eq!(notices.len(), 1);
        assert_eq!(notices[0].kind, "deadline_near_due");
        assert_eq!(notices[0].audience, "control_office");
        assert_eq!(notices[0].payload["tracking_code"], code.as_str());
        assert_eq!(notices[0].payload["deadline"], "classify");
        assert!(
            !notices[0].payload.to_string().contains("Nguyễn Văn An"),
            "no personal data in notices"
        );

        // The unique key holds even if a claim were bypassed.
        let again = pakn::store::journal::NewNotice {
            dedupe_key: notices[0].dedupe_key.clone(),
            kind: notices[0].kind.clone(),
            audience: notices[0].audience.clone(),
            agency_id: notices[0].agency_id,
            feedback_item_id: notices[0].feedback_item_id,
            deadline_id: notices[0].deadline_id,
            staff_account_id: None,
            payload: notices[0].payload.clone(),
        };
        assert_eq!(
            store
                .queue_notices(&[again.clone(), again], now)
                .await
                .unwrap(),
            0
        );
        assert_eq!(deadline_notices(&store, false).await.len(), 1);

        // Just after the classify deadline: overdue, once.
        let late = classify_due + Duration::minutes(1);
        let (a, b) = tokio::join!(
            service.run_scheduler_once(&store, late),
            service.run_scheduler_once(&store, late)
        );
        assert_eq!(a.unwrap().overdue + b.unwrap().overdue, 1);
        let overdue: Vec<_> = store
            .list_notices(true, 100)
            .await
            .unwrap()
            .into_iter()
            .filter(|n| n.kind.starts_with("deadline_overdue"))
            .collect();
        assert_eq!(overdue.len(), 1);
        assert_eq!(overdue[0].kind, "deadline_overdue");
        assert_eq!(overdue[0].payload["overdue_notice_number"], 1);
        let explained = deadlines(&app, &code, &token).await.body;
        assert_eq!(
            find(&explained, "classify")["overdue"],
            false,
            "not yet past due in real time"
        );

        // A week later: the progress-update reminder, then nothing until
        // the week after.
        let week = late + Duration::days(7);
        service.run_scheduler_once(&store, week).await.unwrap();
        service
            .run_scheduler_once(&store, week + Duration::days(1))
            .await
            .unwrap();
        let updates: Vec<_> = store
            .list_notices(true, 100)
            .await
            .unwrap()
            .into_iter()
            .filter(|n| n.kind == "deadline_overdue_update" && n.payload["deadline"] == "classify")
            .collect();
        assert_eq!(updates.len(), 1, "[{}] one update per 7 days", app.backend);
        assert_eq!(updates[0].payload["overdue_notice_number"], 2);
    }
}

#[apply(case!)]
async fn pausing_for_more_information_stops_the_clock_and_an_extension_keeps_the_original_date() {
    use pakn::domain::deadline::DeadlineKind;
    use pakn::services::deadlines::{ClockChange, ClockError, Extension};
    for app in apps().await {
        let (code, token) = submit(&app).await;
        let item = app
            .store
            .find_feedback_by_code(&code.parse().unwrap())
            .await
            .unwrap()
            .unwrap();
        let id = pakn::domain::ids::FeedbackId::from_uuid(item.item.id);
        let before = deadlines(&app, &code, &token).await.body;
        let change = ClockChange {
            actor_kind: "staff".into(),
            actor_id: Some("officer.test".into()),
            reason: Some("Đề nghị bổ sung địa chỉ".into()),
            request_id: None,
        };
        // Paused at the moment of receipt.
        let paused_at = received_at(&app, &code, &token).await;
        app.deadlines
            .pause(&app.store, id, paused_at, &change)
            .await
            .unwrap();
        assert!(matches!(
            app.deadlines
                .pause(&app.store, id, paused_at, &change)
                .await,
            Err(ClockError::AlreadyPaused)
        ));
        let paused = deadlines(&app, &code, &token).await.body;
        for kind in ["classify", "forward", "answer"] {
            assert_eq!(
                find(&paused, kind)["paused_now"],
                true,
                "[{}] {kind}",
                app.backend
            );
            assert!(find(&paused, kind)["due_at"].is_null());
        }
        let clarify = find(&paused, "clarify_timeout");
        assert_eq!(clarify["state"], "open");
        assert_eq!(clarify["rule"]["days"], 5);
        assert!(
            app.lookup(&code, &token).await.body["due_at"].is_null(),
            "no due date while paused"
        );

        // The citizen answers three days later: the days in between do
        // not count, counting resumes the day after.
        let resumed_at = paused_at + Duration::days(3);
        app.deadlines
            .resume(&app.store, id, resumed_at, &change)
            .await
            .unwrap();
        let after = deadlines(&app, &code, &token).await.body;
        let calendar = app.deadlines.calendar().current().calendar.clone();
        let resumed_on = vietnam_date(resumed_at);
        for (kind, days) in [("classify", 2), ("forward", 5), ("answer", 20)] {
            let d = find(&after, kind);
            assert_eq!(d["paused_now"], false);
            assert_eq!(d["paused_days"].as_array().unwrap().len(), 3, "{kind}: {d}");
            assert_eq!(
                vietnam_date(instant(&d["due_at"])),
                calendar.add_working_days(resumed_on, days).0,
                "{kind}"
            );
            assert!(instant(&d["due_at"]) > instant(&find(&before, kind)["due_at"]));
        }
        assert_eq!(find(&after, "clarify_timeout")["state"], "met");
        assert!(matches!(
            app.deadlines
                .resume(&app.store, id, resumed_at, &change)
                .await,
            Err(ClockError::NotPaused)
        ));

        // The answer's reminder goes out; after an extension the new due
        // date gets its own.
        let first_remind = instant(&find(&after, "answer")["remind_at"]);
        app.deadlines
            .run_scheduler_once(&app.store, first_remind)
            .await
            .unwrap();

        // An extension of the answer deadline: the original stays.
        let original = find(&after, "answer")["due_at"].clone();
        app.deadlines
            .extend(
                &app.store,
                id,
                &Extension {
                    kind: DeadlineKind::Answer,
                    days: 5,
                    reason: "Cần phối hợp nhiều cơ quan".into(),
                },
                resumed_at,
                &change,
            )
            .await
            .unwrap();
        let extended = deadlines(&app, &code, &token).await.body;
        let answer = find(&extended, "answer");
        assert_eq!(answer["original_due_at"], original);
        assert_eq!(answer["extension_days"], 5);
        assert_eq!(
            vietnam_date(instant(&answer["due_at"])),
            calendar
                .add_working_days(vietnam_date(instant(&original)), 5)
                .0
        );
        assert_eq!(
            app.lookup(&code, &token).await.body["due_at"],
            answer["due_at"]
        );
        let second_remind = instant(&answer["remind_at"]);
        assert!(second_remind > first_remind);
        app.deadlines
            .run_scheduler_once(&app.store, second_remind)
            .await
            .unwrap();
        let answer_reminders = app
            .store
            .list_notices(false, 100)
            .await
            .unwrap()
            .into_iter()
            .filter(|n| n.kind == "deadline_near_due" && n.payload["deadline"] == "answer")
            .count();
        assert_eq!(answer_reminders, 2, "[{}] one per due date", app.backend);
        assert!(matches!(
            app.deadlines
                .extend(
                    &app.store,
                    id,
                    &Extension {
                        kind: DeadlineKind::Answer,
                        days: 0,
                        reason: "x".into(),
                    },
                    resumed_at,
                    &change
                )
                .await,
            Err(ClockError::BadExtension(_))
        ));

        let actions: Vec<String> = app
            .store
            .audit_events_for(id)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect();
        for action in ["deadline.paused", "deadline.resumed", "deadline.extended"] {
            assert_eq!(
                actions.iter().filter(|a| *a == action).count(),
                1,
                "{action} in {actions:?}"
            );
        }
    }
}

#[apply(case_once!)]
async fn two_instances_on_one_database_recompute_and_notify_once() {
    crate::harness::require_postgres();
    let a = crate::helpers::spawn("postgres", &|_: &mut pakn::config::Settings| {}).await;
    let b = crate::helpers::another_instance(&a).await;
    let (code, token) = submit(&a).await;
    let before = deadlines(&a, &code, &token).await.body;
    // B's administrator declares a day off; A has not seen it yet.
    let received_on = vietnam_date(received_at(&a, &code, &token).await);
    let next = a
        .deadlines
        .calendar()
        .current()
        .calendar
        .add_working_days(received_on, 1)
        .0;
    let change = CalendarChange {
        actor_kind: "admin_cli".into(),
        actor: "tester".into(),
        summary: "Nghỉ đột xuất (thử)".into(),
        request_id: None,
    };
    let day = ScheduledDay {
        date: next,
        kind: if chrono::Datelike::weekday(&next).number_from_monday() > 5 {
            DayKind::Holiday
        } else {
            DayKind::DayOff
        },
        name: "Nghỉ đột xuất".into(),
        source: "Quyết định thử nghiệm".into(),
        confirmed: true,
    };
    b.deadlines
        .calendar()
        .set_day(&day, &change, Utc::now())
        .await
        .unwrap();
    assert!(a.deadlines.calendar().current().version < b.deadlines.calendar().current().version);

    // Both schedulers run at once: A picks the change up, the due dates
    // move once, each move audited once.
    let now = Utc::now();
    let (ra, rb) = tokio::join!(
        a.deadlines.run_scheduler_once(&a.store, now),
        b.deadlines.run_scheduler_once(&b.store, now)
    );
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    assert_eq!(ra.moved + rb.moved, 3, "{ra:?} {rb:?}");
    let item = a
        .store
        .find_feedback_by_code(&code.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    let events = a
        .store
        .audit_events_for(pakn::domain::ids::FeedbackId::from_uuid(item.item.id))
        .await
        .unwrap();
    assert_eq!(
        events
            .iter()
            .filter(|e| e.action == "deadline.recomputed")
            .count(),
        3
    );
    let after = deadlines(&a, &code, &token).await.body;
    assert!(
        instant(&find(&after, "classify")["due_at"])
            > instant(&find(&before, "classify")["due_at"])
    );
    assert_eq!(
        deadlines(&b, &code, &token).await.body["deadlines"],
        after["deadlines"]
    );

    // Reminders from both instances: one notice.
    let remind = instant(&find(&after, "classify")["remind_at"]);
    let (ra, rb) = tokio::join!(
        a.deadlines.run_scheduler_once(&a.store, remind),
        b.deadlines.run_scheduler_once(&b.store, remind)
    );
    assert_eq!(ra.unwrap().notices_queued + rb.unwrap().notices_queued, 1);
    assert_eq!(deadline_notices(&a.store, false).await.len(), 1);
}

#[apply(case!)]
async fn the_national_profile_counts_the_answer_in_calendar_days() {
    for app in crate::helpers::apps_with(|s| s.deadlines.profile = "national".into()).await {
        let (code, token) = submit(&app).await;
        let body = deadlines(&app, &code, &token).await.body;
        let answer = find(&body, "answer");
        assert_eq!(answer["rule"]["unit"], "calendar_days");
        assert_eq!(answer["rule"]["profile"], "national");
        let received_on = vietnam_date(received_at(&app, &code, &token).await);
        let calendar = app.deadlines.calendar().current().calendar.clone();
        assert_eq!(
            vietnam_date(instant(&answer["due_at"])),
            calendar.add_calendar_days(received_on, 20).0
        );
    }
}
