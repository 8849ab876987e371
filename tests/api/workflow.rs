//! The handling workflow end to end on both databases: every path through
//! the machine, who may take each step, versions and conflicts.

use crate::case;
use macro_rules_attribute::apply;

use chrono::Utc;
use pakn::domain::staff::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::auth::sign_in_as;
use crate::helpers::{Reply, TestApp, apps, apps_with, valid_submission};

pub async fn act(app: &TestApp, token: &str, code: &str, action: &str, body: Value) -> Reply {
    app.send(
        Method::POST,
        &format!("/api/v1/staff/feedback/{{tracking_code}}/{action}"),
        &format!("/api/v1/staff/feedback/{code}/{action}"),
        |r| r.bearer_auth(token).json(&body),
    )
    .await
}

/// Takes `action` at the item's current version; asserts success.
pub async fn step(app: &TestApp, token: &str, code: &str, action: &str, mut body: Value) -> Value {
    let version = current(app, token, code).await["version"].clone();
    body["version"] = version;
    let reply = act(app, token, code, action, body).await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "[{}] {action}: {}",
        app.backend,
        reply.body
    );
    reply.body
}

pub async fn current(app: &TestApp, token: &str, code: &str) -> Value {
    app.staff_get(token, code, "").await.body
}

pub async fn submit(app: &TestApp) -> (String, String) {
    let r = app.post_feedback(&valid_submission()).await;
    (
        r.body["tracking_code"].as_str().unwrap().into(),
        r.body["lookup_token"].as_str().unwrap().into(),
    )
}

pub fn deadline_state<'a>(item: &'a Value, kind: &str) -> &'a str {
    item["deadlines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["kind"] == kind)
        .unwrap()["state"]
        .as_str()
        .unwrap()
}

#[apply(case!)]
async fn an_item_goes_from_receipt_to_publication_through_an_agency() {
    for app in apps().await {
        let control = sign_in_as(&app, "kiemsoat.w", Role::ControlOffice, "48.VP").await;
        let officer = sign_in_as(&app, "sxd.cv.w", Role::AgencyOfficer, "48.SXD").await;
        let lead = sign_in_as(&app, "sxd.ld.w", Role::AgencyLead, "48.SXD").await;
        let (code, token) = submit(&app).await;

        let item = step(&app, &control, &code, "classify", json!({"content_category": "implementation_problem", "procedure_text": "Cấp giấy phép xây dựng nhà ở riêng lẻ", "procedure_code": "1.009972"})).await;
        assert_eq!(item["state"], "classified");
        assert_eq!(item["version"], 2);
        assert_eq!(item["procedure_code"], "1.009972");
        assert_eq!(deadline_state(&item, "classify"), "met");
        let item = step(
            &app,
            &control,
            &code,
            "forward",
            json!({"agency_code": "48.SXD", "note": "Thuộc thẩm quyền Sở Xây dựng"}),
        )
        .await;
        assert_eq!(item["state"], "forwarded");
        assert_eq!(item["handling_agency"]["code"], "48.SXD");
        assert_eq!(deadline_state(&item, "forward"), "met");
        // The citizen now sees the Sở holding it.
        let view = app.lookup(&code, &token).await;
        assert_eq!(view.body["status"], "in_progress");
        assert_eq!(view.body["handling_agency"]["code"], "48.SXD");

        step(&app, &officer, &code, "accept", json!({})).await;
        let item = step(
            &app,
            &officer,
            &code,
            "answer",
            json!({"text": "Sở Xây dựng đã chỉ đạo bộ phận một cửa trả kết quả trong ngày 25/11."}),
        )
        .await;
        assert_eq!(item["state"], "in_handling");
        assert_eq!(
            item["answer_draft"],
            "Sở Xây dựng đã chỉ đạo bộ phận một cửa trả kết quả trong ngày 25/11."
        );
        // Only the lead signs off.
        let version = item["version"].clone();
        let refused = act(
            &app,
            &officer,
            &code,
            "sign-off",
            json!({"version": version}),
        )
        .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        let item = step(&app, &lead, &code, "sign-off", json!({})).await;
        assert_eq!(item["state"], "answer_under_review");
        // The control office returns it once, then approves the redraft.
        step(
            &app,
            &control,
            &code,
            "send-back",
            json!({"note": "Cần nêu rõ căn cứ pháp lý"}),
        )
        .await;
        step(
            &app,
            &officer,
            &code,
            "answer",
            json!({"text": "Căn cứ Nghị định 175/2024, Sở Xây dựng đã trả kết quả ngày 25/11."}),
        )
        .await;
        step(&app, &lead, &code, "sign-off", json!({})).await;
        let item = step(&app, &control, &code, "approve", json!({})).await;
        assert_eq!(item["state"], "answered");
        assert_eq!(
            item["answer"],
            "Căn cứ Nghị định 175/2024, Sở Xây dựng đã trả kết quả ngày 25/11."
        );
        assert_eq!(deadline_state(&item, "answer"), "met");
        let view = app.lookup(&code, &token).await;
        assert_eq!(view.body["status"], "answered");
        assert_eq!(
            view.body["answer"]["text"],
            "Căn cứ Nghị định 175/2024, Sở Xây dựng đã trả kết quả ngày 25/11."
        );

        let item = step(
            &app,
            &control,
            &code,
            "publish",
            json!({"question_redacted": "Hồ sơ cấp phép xây dựng nộp ngày 02/10 đã quá hạn.", "title_redacted": "Cấp phép xây dựng quá hạn"}),
        )
        .await;
        assert_eq!(item["state"], "published");
        assert!(item["published_at"].is_string());
        let item = step(
            &app,
            &control,
            &code,
            "unpublish",
            json!({"note": "Cần biên tập lại"}),
        )
        .await;
        assert_eq!(item["state"], "answered");
        step(
            &app,
            &control,
            &code,
            "publish",
            json!({"question_redacted": "Hồ sơ cấp phép xây dựng đã quá hạn.", "title_redacted": "Cấp phép xây dựng quá hạn"}),
        )
        .await;
        let item = step(&app, &control, &code, "close", json!({})).await;
        assert_eq!(item["state"], "closed");

        // Every step is in the history with its actor; notices are queued.
        let actions: Vec<(String, String)> = item["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["action"].as_str().unwrap().to_string(),
                    e["actor"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        for (action, actor) in [
            ("feedback.classify", "kiemsoat.w"),
            ("feedback.forward", "kiemsoat.w"),
            ("feedback.accept", "sxd.cv.w"),
            ("feedback.sign-off", "sxd.ld.w"),
            ("feedback.send-back", "kiemsoat.w"),
            ("feedback.approve", "kiemsoat.w"),
            ("feedback.unpublish", "kiemsoat.w"),
            ("feedback.close", "kiemsoat.w"),
        ] {
            assert!(
                actions.contains(&(action.to_string(), actor.to_string())),
                "{action} by {actor} in {actions:?}"
            );
        }
        let kinds: Vec<String> = app
            .store
            .list_notices(true, 100)
            .await
            .unwrap()
            .into_iter()
            .map(|n| n.kind)
            .collect();
        for kind in [
            "agency_forwarded",
            "citizen_forwarded",
            "agency_answer_sent_back",
            "citizen_answered",
            "citizen_published",
        ] {
            assert!(kinds.contains(&kind.to_string()), "{kind} in {kinds:?}");
        }
        // Closed is terminal.
        let version = item["version"].clone();
        let again = act(
            &app,
            &control,
            &code,
            "publish",
            json!({"version": version, "question_redacted": "x", "title_redacted": "x"}),
        )
        .await;
        assert_eq!(again.status, StatusCode::CONFLICT);
        assert_eq!(again.body["code"], "invalid_transition");
        assert_eq!(again.body["current_state"], "closed");
    }
}

#[apply(case!)]
async fn rejection_needs_a_legal_reason_and_ends_every_deadline() {
    for app in apps().await {
        let control = sign_in_as(&app, "kiemsoat.r", Role::ControlOffice, "48.VP").await;
        let (code, token) = submit(&app).await;
        let bad = act(
            &app,
            &control,
            &code,
            "reject",
            json!({"version": 1, "reason_code": "R99"}),
        )
        .await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            bad.field_errors(),
            vec![("reason_code".to_string(), "unknown_code".to_string())]
        );
        let item = step(
            &app,
            &control,
            &code,
            "reject",
            json!({"reason_code": "R02", "note": "Nội dung tố cáo cán bộ"}),
        )
        .await;
        assert_eq!(item["state"], "not_accepted");
        assert_eq!(item["rejection"]["code"], "R02");
        assert_eq!(item["rejection"]["label"], "Nội dung là tố cáo");
        for d in item["deadlines"].as_array().unwrap() {
            assert_eq!(d["state"], "cancelled");
        }
        let view = app.lookup(&code, &token).await;
        assert_eq!(view.body["status"], "not_accepted");
        let notice = app
            .store
            .list_notices(true, 10)
            .await
            .unwrap()
            .into_iter()
            .find(|n| n.kind == "citizen_not_accepted")
            .unwrap();
        assert!(
            notice.payload["message"]
                .as_str()
                .unwrap()
                .contains("Luật Tố cáo")
        );
        let publish = act(
            &app,
            &control,
            &code,
            "publish",
            json!({"version": item["version"], "question_redacted": "x", "title_redacted": "x"}),
        )
        .await;
        assert_eq!(
            publish.status,
            StatusCode::CONFLICT,
            "a denunciation is never published"
        );
    }
}

#[apply(case!)]
async fn asking_for_information_pauses_the_clock_and_the_office_may_handle_it_itself() {
    for app in apps().await {
        let control = sign_in_as(&app, "kiemsoat.i", Role::ControlOffice, "48.VP").await;
        let (code, token) = submit(&app).await;
        let item = step(
            &app,
            &control,
            &code,
            "request-info",
            json!({"message": "Đề nghị Ông/Bà cung cấp số biên nhận hồ sơ."}),
        )
        .await;
        assert_eq!(item["state"], "awaiting_information");
        let item = current(&app, &control, &code).await;
        for kind in ["classify", "forward", "answer"] {
            let d = item["deadlines"]
                .as_array()
                .unwrap()
                .iter()
                .find(|d| d["kind"] == kind)
                .unwrap();
            assert_eq!(d["paused_now"], true, "[{}] {kind}", app.backend);
        }
        assert!(app.lookup(&code, &token).await.body["due_at"].is_null());
        assert_eq!(
            app.lookup(&code, &token).await.body["status"],
            "needs_information"
        );
        let missing = act(
            &app,
            &control,
            &code,
            "request-info",
            json!({"version": item["version"]}),
        )
        .await;
        assert_eq!(missing.status, StatusCode::CONFLICT, "already waiting");

        // A second item: the office handles it itself.
        let (code2, _) = submit(&app).await;
        step(
            &app,
            &control,
            &code2,
            "classify",
            json!({"content_category": "implementation_problem"}),
        )
        .await;
        let item = step(&app, &control, &code2, "accept", json!({})).await;
        assert_eq!(item["state"], "in_handling");
        assert_eq!(item["handling_agency"]["code"], "48.VP");
        assert_eq!(deadline_state(&item, "forward"), "cancelled");
        let item = step(
            &app,
            &control,
            &code2,
            "answer",
            json!({"text": "Văn phòng đã xử lý."}),
        )
        .await;
        assert_eq!(item["state"], "in_handling");
    }
}

#[apply(case!)]
async fn an_item_bounced_too_often_needs_the_control_offices_attention() {
    for app in apps_with(|s| s.workflow.max_bounces = 1).await {
        let control = sign_in_as(&app, "kiemsoat.b", Role::ControlOffice, "48.VP").await;
        let sxd = sign_in_as(&app, "sxd.b", Role::AgencyOfficer, "48.SXD").await;
        let stp = sign_in_as(&app, "stp.b", Role::AgencyOfficer, "48.STP").await;
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
            json!({"agency_code": "48.SXD"}),
        )
        .await;
        // Another Sở cannot touch it (it does not exist for them).
        let other = act(
            &app,
            &stp,
            &code,
            "return",
            json!({"version": 3, "note": "x"}),
        )
        .await;
        assert_eq!(other.status, StatusCode::NOT_FOUND);
        let item = step(
            &app,
            &sxd,
            &code,
            "return",
            json!({"note": "Không thuộc thẩm quyền Sở Xây dựng"}),
        )
        .await;
        assert_eq!(item["state"], "classified");
        assert_eq!(item["bounce_count"], 1);
        assert_eq!(item["needs_attention"], false);
        let missing_note = act(
            &app,
            &control,
            &code,
            "forward",
            json!({"version": item["version"], "agency_code": "48.VP"}),
        )
        .await;
        assert_eq!(
            missing_note.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "forward to oneself is accept"
        );
        step(
            &app,
            &control,
            &code,
            "forward",
            json!({"agency_code": "48.STP"}),
        )
        .await;
        let item = step(
            &app,
            &stp,
            &code,
            "return",
            json!({"note": "Cũng không thuộc thẩm quyền"}),
        )
        .await;
        assert_eq!(item["bounce_count"], 2);
        assert_eq!(item["needs_attention"], true);
        // It does not go round again without the office's reasoned
        // decision, which clears the flag.
        let unreasoned = act(
            &app,
            &control,
            &code,
            "forward",
            json!({"version": item["version"], "agency_code": "48.SXD"}),
        )
        .await;
        assert_eq!(
            unreasoned.field_errors(),
            vec![("note".to_string(), "required".to_string())]
        );
        let item = step(
            &app,
            &control,
            &code,
            "forward",
            json!({"agency_code": "48.SXD", "note": "Lãnh đạo Văn phòng giao Sở Xây dựng chủ trì"}),
        )
        .await;
        assert_eq!(item["needs_attention"], false);
    }
}

#[apply(case!)]
async fn two_staff_acting_at_once_cannot_overwrite_each_other() {
    for app in apps().await {
        let a = sign_in_as(&app, "kiemsoat.c1", Role::ControlOffice, "48.VP").await;
        let b = sign_in_as(&app, "kiemsoat.c2", Role::ControlOffice, "48.VP").await;
        let (code, _) = submit(&app).await;
        let (ra, rb) = tokio::join!(
            act(
                &app,
                &a,
                &code,
                "classify",
                json!({"version": 1, "field_code": "xay_dung", "content_category": "implementation_problem"})
            ),
            act(
                &app,
                &b,
                &code,
                "reject",
                json!({"version": 1, "reason_code": "R04"})
            )
        );
        let statuses = [ra.status, rb.status];
        assert!(
            statuses.contains(&StatusCode::OK) && statuses.contains(&StatusCode::CONFLICT),
            "[{}] {statuses:?}",
            app.backend
        );
        let loser = if ra.status == StatusCode::CONFLICT {
            &ra
        } else {
            &rb
        };
        assert_eq!(loser.body["code"], "version_conflict");
        assert_eq!(loser.body["current_version"], 2);
        // Exactly one change happened.
        let item = current(&app, &a, &code).await;
        assert_eq!(item["version"], 2);
        let changes = item["history"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == "feedback.classify" || e["action"] == "feedback.reject")
            .count();
        assert_eq!(changes, 1);
        // A stale version later is refused the same way; none at all is a
        // field error.
        let stale = act(&app, &a, &code, "close", json!({"version": 1})).await;
        assert_eq!(stale.status, StatusCode::CONFLICT);
        let none = act(
            &app,
            &a,
            &code,
            "classify",
            json!({"content_category": "implementation_problem"}),
        )
        .await;
        assert_eq!(
            none.field_errors(),
            vec![("version".to_string(), "required".to_string())]
        );
        let unknown = act(
            &app,
            &a,
            &code,
            "classify",
            json!({"version": 2, "colour": "red"}),
        )
        .await;
        assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            unknown.field_errors(),
            vec![("colour".to_string(), "unknown_field".to_string())],
            "each action takes its own fields only"
        );
    }
}

pub async fn citizen(app: &TestApp, code: &str, token: &str, what: &str, body: Value) -> Reply {
    app.send(
        Method::POST,
        &format!("/api/v1/feedback/{{tracking_code}}/{what}"),
        &format!("/api/v1/feedback/{code}/{what}"),
        |r| r.header("X-Lookup-Token", token).json(&body),
    )
    .await
}

#[apply(case!)]
async fn the_citizen_completes_the_item_and_the_clock_restarts() {
    for app in apps().await {
        let control = sign_in_as(&app, "kiemsoat.s", Role::ControlOffice, "48.VP").await;
        let (code, token) = submit(&app).await;
        let early = citizen(
            &app,
            &code,
            &token,
            "supplements",
            json!({"text": "Bổ sung sớm"}),
        )
        .await;
        assert_eq!(early.status, StatusCode::CONFLICT, "nothing was asked yet");
        step(
            &app,
            &control,
            &code,
            "request-info",
            json!({"message": "Đề nghị cung cấp số biên nhận."}),
        )
        .await;
        let wrong = citizen(
            &app,
            &code,
            "AAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AAAA",
            "supplements",
            json!({"text": "x"}),
        )
        .await;
        assert_eq!(wrong.status, StatusCode::NOT_FOUND);
        let empty = citizen(&app, &code, &token, "supplements", json!({"text": "  "})).await;
        assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
        let done = citizen(
            &app,
            &code,
            &token,
            "supplements",
            json!({"text": "Số biên nhận: 000.00.00.H17-261002-0042"}),
        )
        .await;
        assert_eq!(
            done.status,
            StatusCode::OK,
            "[{}] {}",
            app.backend,
            done.body
        );
        assert_eq!(done.body["status"], "received");
        assert!(done.body["due_at"].is_string(), "the clock runs again");
        let item = current(&app, &control, &code).await;
        assert_eq!(item["state"], "received");
        assert_eq!(
            item["supplements"][0]["text"],
            "Số biên nhận: 000.00.00.H17-261002-0042"
        );
        assert_eq!(deadline_state(&item, "clarify_timeout"), "met");
        let again = citizen(
            &app,
            &code,
            &token,
            "supplements",
            json!({"text": "Lần hai"}),
        )
        .await;
        assert_eq!(again.status, StatusCode::CONFLICT);
    }
}

#[apply(case!)]
async fn an_item_not_completed_in_time_is_not_accepted_as_r07() {
    for app in apps().await {
        let control = sign_in_as(&app, "kiemsoat.t", Role::ControlOffice, "48.VP").await;
        let (code, token) = submit(&app).await;
        step(
            &app,
            &control,
            &code,
            "request-info",
            json!({"message": "Đề nghị bổ sung địa chỉ."}),
        )
        .await;
        // The request reaches the citizen.
        let report = crate::mail::deliver_to_files(&app).await;
        assert!(report.sent >= 1, "{report:?}");
        let settings = crate::helpers::test_settings();
        let reasons = settings.rejection_reasons().unwrap();
        // Still within the five working days: nothing happens.
        let report = pakn::startup::scheduler_pass(
            &app.store,
            &settings,
            &app.deadlines,
            &reasons,
            Utc::now(),
        )
        .await
        .unwrap();
        assert_eq!(report.clarifications_expired, 0);
        let later = Utc::now() + chrono::Duration::days(30);
        let (a, b) = tokio::join!(
            pakn::startup::scheduler_pass(&app.store, &settings, &app.deadlines, &reasons, later),
            pakn::startup::scheduler_pass(&app.store, &settings, &app.deadlines, &reasons, later)
        );
        assert_eq!(
            a.unwrap().clarifications_expired + b.unwrap().clarifications_expired,
            1,
            "[{}] once",
            app.backend
        );
        let item = current(&app, &control, &code).await;
        assert_eq!(item["state"], "not_accepted");
        assert_eq!(item["rejection"]["code"], "R07");
        assert_eq!(
            app.lookup(&code, &token).await.body["status"],
            "not_accepted"
        );
        let system = item["history"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["action"] == "feedback.reject")
            .unwrap()
            .clone();
        assert_eq!(system["actor_kind"], "system");
    }
}

#[apply(case!)]
async fn a_request_that_never_reached_the_citizen_does_not_lapse_on_them() {
    for app in apps().await {
        let control = sign_in_as(&app, "kiemsoat.u", Role::ControlOffice, "48.VP").await;
        // Reachable by phone only: the request cannot be mailed.
        let mut s = valid_submission();
        s["submitter"].as_object_mut().unwrap().remove("email");
        let r = app.post_feedback(&s).await;
        let code = r.body["tracking_code"].as_str().unwrap().to_string();
        let item = step(
            &app,
            &control,
            &code,
            "request-info",
            json!({"message": "Đề nghị bổ sung địa chỉ."}),
        )
        .await;
        // Staff may not decide R07 while the period runs.
        let early = act(
            &app,
            &control,
            &code,
            "reject",
            json!({"version": item["version"], "reason_code": "R07"}),
        )
        .await;
        assert_eq!(early.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            early
                .field_errors()
                .contains(&("reason_code".into(), "clarification_not_over".into()))
        );
        crate::mail::deliver_to_files(&app).await;
        // The clarification period runs out (the clock cannot be moved,
        // the due date can).
        {
            use sea_orm::ConnectionTrait;
            let past = if app.backend == "sqlite" {
                "'2000-01-01 00:00:00+00:00'"
            } else {
                "TIMESTAMPTZ '2000-01-01 00:00:00+00'"
            };
            app.store
                .connection()
                .execute_unprepared(&format!(
                    "UPDATE feedback_deadline SET due_at = {past} WHERE kind = 'clarify_timeout'"
                ))
                .await
                .unwrap();
        }
        let settings = crate::helpers::test_settings();
        let reasons = settings.rejection_reasons().unwrap();
        let later = Utc::now();
        for _ in 0..2 {
            let report = pakn::startup::scheduler_pass(
                &app.store,
                &settings,
                &app.deadlines,
                &reasons,
                later,
            )
            .await
            .unwrap();
            assert_eq!(report.clarifications_expired, 0, "[{}]", app.backend);
        }
        let item = current(&app, &control, &code).await;
        assert_eq!(item["state"], "awaiting_information", "{item}");
        assert_eq!(item["needs_attention"], true);
        let flagged = item["history"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == "feedback.clarification_undelivered")
            .count();
        assert_eq!(flagged, 1, "flagged once");
        let notices = app.store.list_notices(false, 50).await.unwrap();
        assert_eq!(
            notices
                .iter()
                .filter(|n| n.kind == "control_office_clarification_undelivered")
                .count(),
            1
        );
        // The period is over: staff decide, with the reason the law has.
        let version = item["version"].clone();
        let decided = act(
            &app,
            &control,
            &code,
            "reject",
            json!({"version": version, "reason_code": "R07", "note": "Đã gọi điện hai lần, không liên lạc được."}),
        )
        .await;
        assert_eq!(decided.status, StatusCode::OK, "{}", decided.body);
        assert_eq!(decided.body["rejection"]["code"], "R07");
        // A bounced request counts as not delivered too.
        let (code2, _) = submit(&app).await;
        step(
            &app,
            &control,
            &code2,
            "request-info",
            json!({"message": "Đề nghị bổ sung địa chỉ."}),
        )
        .await;
        crate::mail::deliver_to_files(&app).await;
        let request = app
            .store
            .list_notices(false, 100)
            .await
            .unwrap()
            .into_iter()
            .find(|n| {
                n.kind == "citizen_request_info"
                    && n.payload["tracking_code"] == code2.as_str()
                    && n.status == "sent"
            })
            .expect("request sent");
        app.store
            .record_bounce(&request, true, Utc::now())
            .await
            .unwrap();
        let later = Utc::now() + chrono::Duration::days(30);
        let report =
            pakn::startup::scheduler_pass(&app.store, &settings, &app.deadlines, &reasons, later)
                .await
                .unwrap();
        assert_eq!(report.clarifications_expired, 0);
        assert_eq!(
            current(&app, &control, &code2).await["state"],
            "awaiting_information"
        );
    }
}

#[apply(case!)]
async fn the_citizen_rates_the_answer_once_and_a_low_score_needs_attention() {
    for app in apps().await {
        let control = sign_in_as(&app, "kiemsoat.v", Role::ControlOffice, "48.VP").await;
        let (code, token) = submit(&app).await;
        let early = citizen(&app, &code, &token, "rating", json!({"score": 5})).await;
        assert_eq!(early.status, StatusCode::CONFLICT, "nothing to rate yet");
        step(
            &app,
            &control,
            &code,
            "classify",
            json!({"content_category": "implementation_problem"}),
        )
        .await;
        step(&app, &control, &code, "accept", json!({})).await;
        step(
            &app,
            &control,
            &code,
            "answer",
            json!({"text": "Văn phòng đã chuyển hồ sơ, kết quả trả ngày 30/11."}),
        )
        .await;
        step(&app, &control, &code, "sign-off", json!({})).await;
        step(&app, &control, &code, "approve", json!({})).await;
        let bad = citizen(&app, &code, &token, "rating", json!({"score": 7})).await;
        assert_eq!(
            bad.field_errors(),
            vec![("score".to_string(), "invalid_choice".to_string())]
        );
        let rated = citizen(
            &app,
            &code,
            &token,
            "rating",
            json!({"score": 2, "comment": "Trả lời chưa đúng trọng tâm"}),
        )
        .await;
        assert_eq!(
            rated.status,
            StatusCode::OK,
            "[{}] {}",
            app.backend,
            rated.body
        );
        assert_eq!(rated.body["rating"], 2);
        let item = current(&app, &control, &code).await;
        assert_eq!(item["rating"]["score"], 2);
        assert_eq!(item["rating"]["comment"], "Trả lời chưa đúng trọng tâm");
        assert_eq!(item["needs_attention"], true);
        assert_eq!(item["state"], "answered", "rating changes no state");
        let twice = citizen(&app, &code, &token, "rating", json!({"score": 5})).await;
        assert_eq!(twice.status, StatusCode::CONFLICT);
        assert!(
            app.store
                .list_notices(true, 50)
                .await
                .unwrap()
                .iter()
                .any(|n| n.kind == "control_office_low_rating")
        );
    }
}

#[apply(case!)]
async fn the_office_gets_a_redaction_proposal_before_publishing() {
    for app in apps().await {
        let control = sign_in_as(&app, "kiemsoat.x", Role::ControlOffice, "48.VP").await;
        let mut body = valid_submission();
        body["content"] = json!(
            "Tôi là Nguyễn Văn An, số điện thoại 0912 345 678. Bà Lê Thị Hoa ở bộ phận một cửa hẹn tôi ba lần mà chưa trả hồ sơ."
        );
        let receipt = app.post_feedback(&body).await;
        let code = receipt.body["tracking_code"].as_str().unwrap();
        let reply = app.staff_get(&control, code, "/redaction-suggestion").await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "[{}] {}",
            app.backend,
            reply.body
        );
        assert_eq!(
            reply.body["question_redacted"],
            "Tôi là [họ tên], số điện thoại [số điện thoại]. Bà [họ tên] ở bộ phận một cửa hẹn tôi ba lần mà chưa trả hồ sơ."
        );
        let kinds: Vec<&str> = reply.body["spans"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["kind"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, ["name", "phone", "name"]);
        let officer = sign_in_as(&app, "sxd.x", Role::AgencyOfficer, "48.SXD").await;
        let refused = app.staff_get(&officer, code, "/redaction-suggestion").await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
    }
}

#[apply(case!)]
async fn routing_suggests_the_competent_agency_with_its_reasons() {
    for app in apps().await {
        let control = sign_in_as(&app, "kiemsoat.rt", Role::ControlOffice, "48.VP").await;
        // A building-permit complaint from Phường Hải Châu, field xay_dung.
        let (code, _) = submit(&app).await;
        let reply = app.staff_get(&control, &code, "/routing-suggestion").await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "[{}] {}",
            app.backend,
            reply.body
        );
        let suggestions = reply.body["suggestions"].as_array().unwrap();
        assert_eq!(suggestions[0]["agency_code"], "48.SXD", "{suggestions:?}");
        let reasons = suggestions[0]["reasons"].as_array().unwrap();
        assert!(
            reasons
                .iter()
                .any(|r| r.as_str().unwrap().contains("Xây dựng")),
            "{reasons:?}"
        );
        assert!(
            reasons
                .iter()
                .any(|r| r.as_str().unwrap().contains("giay phep xay dung")),
            "the keyword rule: {reasons:?}"
        );
        assert!(
            suggestions.iter().any(|s| s["agency_code"] == "48.20242"),
            "the commune's UBND: {suggestions:?}"
        );
        assert!(suggestions.iter().all(|s| s["agency_code"] != "48.VP"));
        // Following the suggestion is an ordinary forward.
        step(
            &app,
            &control,
            &code,
            "classify",
            json!({"content_category": "implementation_problem"}),
        )
        .await;
        let item = step(
            &app,
            &control,
            &code,
            "forward",
            json!({"agency_code": suggestions[0]["agency_code"]}),
        )
        .await;
        assert_eq!(item["handling_agency"]["code"], "48.SXD");
    }
}

#[apply(case!)]
async fn duplicates_join_a_cluster_and_every_submitter_gets_the_answer() {
    for app in apps().await {
        let control = sign_in_as(&app, "kiemsoat.d", Role::ControlOffice, "48.VP").await;
        let (primary, _) = submit(&app).await;
        let (dup, dup_token) = submit(&app).await;
        let self_merge = act(
            &app,
            &control,
            &dup,
            "merge",
            json!({"version": 1, "into": dup}),
        )
        .await;
        assert_eq!(
            self_merge.field_errors(),
            vec![("into".to_string(), "invalid_choice".to_string())]
        );
        let unknown = act(
            &app,
            &control,
            &dup,
            "merge",
            json!({"version": 1, "into": "PAKN.48.20200101.9999"}),
        )
        .await;
        assert_eq!(
            unknown.field_errors(),
            vec![("into".to_string(), "unknown_code".to_string())]
        );
        let item = step(
            &app,
            &control,
            &dup,
            "merge",
            json!({"into": primary, "note": "Cùng người gửi, cùng nội dung"}),
        )
        .await;
        assert_eq!(item["state"], "merged");
        assert!(
            item["deadlines"]
                .as_array()
                .unwrap()
                .iter()
                .all(|d| d["state"] == "cancelled")
        );
        // A merged item is terminal; nothing merges into it.
        let (third, _) = submit(&app).await;
        let into_merged = act(
            &app,
            &control,
            &third,
            "merge",
            json!({"version": 1, "into": dup}),
        )
        .await;
        assert_eq!(into_merged.status, StatusCode::UNPROCESSABLE_ENTITY);

        // The primary is answered: the duplicate's submitter sees and is
        // sent the answer, under their own code.
        step(
            &app,
            &control,
            &primary,
            "classify",
            json!({"content_category": "implementation_problem"}),
        )
        .await;
        step(&app, &control, &primary, "accept", json!({})).await;
        step(
            &app,
            &control,
            &primary,
            "answer",
            json!({"text": "Trả lời chung cho các phản ánh trùng."}),
        )
        .await;
        step(&app, &control, &primary, "sign-off", json!({})).await;
        let view = app.lookup(&dup, &dup_token).await;
        assert_eq!(view.body["status"], "in_progress", "follows the primary");
        step(&app, &control, &primary, "approve", json!({})).await;
        let view = app.lookup(&dup, &dup_token).await;
        assert_eq!(view.body["status"], "answered");
        assert_eq!(
            view.body["answer"]["text"],
            "Trả lời chung cho các phản ánh trùng."
        );
        assert_eq!(view.body["tracking_code"], dup.as_str());
        let answered: Vec<String> = app
            .store
            .list_notices(true, 100)
            .await
            .unwrap()
            .into_iter()
            .filter(|n| n.kind == "citizen_answered")
            .map(|n| n.payload["tracking_code"].as_str().unwrap().to_string())
            .collect();
        assert!(
            answered.contains(&primary) && answered.contains(&dup),
            "[{}] {answered:?}",
            app.backend
        );
    }
}

#[apply(case!)]
async fn every_received_item_queues_its_acknowledgement_with_the_item() {
    for app in apps().await {
        let (code, _) = submit(&app).await;
        let keyed = app
            .send(Method::POST, "/api/v1/feedback", "/api/v1/feedback", |r| {
                r.header("Idempotency-Key", "ack-1-2b7f0c3e9d41")
                    .json(&valid_submission())
            })
            .await;
        let replay = app
            .send(Method::POST, "/api/v1/feedback", "/api/v1/feedback", |r| {
                r.header("Idempotency-Key", "ack-1-2b7f0c3e9d41")
                    .json(&valid_submission())
            })
            .await;
        assert_eq!(replay.header("idempotent-replayed"), Some("true"));
        let acks: Vec<String> = app
            .store
            .list_notices(true, 100)
            .await
            .unwrap()
            .into_iter()
            .filter(|n| n.kind == "citizen_acknowledgement")
            .map(|n| n.payload["tracking_code"].as_str().unwrap().to_string())
            .collect();
        let keyed_code = keyed.body["tracking_code"].as_str().unwrap().to_string();
        assert_eq!(
            acks.len(),
            2,
            "[{}] one per item, none for a replay: {acks:?}",
            app.backend
        );
        assert!(
            acks.contains(&code) && acks.contains(&keyed_code),
            "{acks:?}"
        );
        let rendered = pakn::domain::notice_templates::render(
            "citizen_acknowledgement",
            &json!({"tracking_code": code}),
            &app.settings.office(),
        )
        .unwrap();
        assert!(rendered.body.contains(&code));
    }
}
