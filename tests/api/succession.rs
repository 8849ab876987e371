//! Two Sở merged into a third mid-year, on both databases: every open item
//! the old ones held moves (its deadlines running on, an audit record
//! each, the citizen's view naming the new agency), coordination requests,
//! templates and staff move, closed items keep their agency, intake arriving
//! meanwhile loses nothing, and nothing is handled by a dissolved agency
//! afterwards. The preview changes nothing; applying twice is refused.

use crate::case;
use macro_rules_attribute::apply;

use chrono::Utc;
use futures_util::future::join_all;
use pakn::domain::staff::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::auth::sign_in_as;
use crate::helpers::{Reply, TestApp, apps, valid_submission};
use crate::workflow::{act, current, step, submit};

async fn succession(app: &TestApp, admin: &str, body: Value) -> Reply {
    app.send(
        Method::POST,
        "/api/v1/admin/agency-successions",
        "/api/v1/admin/agency-successions",
        |r| r.bearer_auth(admin).json(&body),
    )
    .await
}

/// A new item forwarded by the control office to `agency`.
async fn forwarded_to(app: &TestApp, control: &str, agency: &str) -> (String, String) {
    let (code, token) = submit(app).await;
    step(
        app,
        control,
        &code,
        "classify",
        json!({"content_category": "implementation_problem"}),
    )
    .await;
    step(
        app,
        control,
        &code,
        "forward",
        json!({"agency_code": agency}),
    )
    .await;
    (code, token)
}

fn due(item: &Value, kind: &str) -> Value {
    item["deadlines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["kind"] == kind)
        .map(|d| d["due_at"].clone())
        .unwrap_or(Value::Null)
}

#[apply(case!)]
async fn a_merger_mid_year_moves_every_open_item_and_loses_nothing() {
    for app in apps().await {
        let today = pakn::domain::time::vietnam_date(Utc::now()).to_string();
        let admin = sign_in_as(&app, "quantri", Role::Admin, "48.VP").await;
        let control = sign_in_as(&app, "kiemsoat", Role::ControlOffice, "48.VP").await;
        let sct = sign_in_as(&app, "sct.cv", Role::AgencyOfficer, "48.SCT").await;
        let sct_lead = sign_in_as(&app, "sct.ld", Role::AgencyLead, "48.SCT").await;
        let stp = sign_in_as(&app, "stp.cv", Role::AgencyOfficer, "48.STP").await;
        let stc = sign_in_as(&app, "stc.cv", Role::AgencyOfficer, "48.STC").await;

        // Every open state at the Sở Công Thương, and one finished item.
        let (waiting, waiting_token) = forwarded_to(&app, &control, "48.SCT").await;
        let (handling, _) = forwarded_to(&app, &control, "48.SCT").await;
        step(&app, &sct, &handling, "accept", json!({})).await;
        let (asking, _) = forwarded_to(&app, &control, "48.SCT").await;
        step(&app, &sct, &asking, "accept", json!({})).await;
        step(
            &app,
            &sct,
            &asking,
            "request-coordination",
            json!({"agency_code": "48.SKHCN", "note": "Cho ý kiến", "days": 3}),
        )
        .await;
        let (asked, _) = forwarded_to(&app, &control, "48.STP").await;
        step(&app, &stp, &asked, "accept", json!({})).await;
        step(
            &app,
            &stp,
            &asked,
            "request-coordination",
            json!({"agency_code": "48.SCT", "note": "Cho ý kiến", "days": 3}),
        )
        .await;
        let (review, _) = forwarded_to(&app, &control, "48.SCT").await;
        step(&app, &sct, &review, "accept", json!({})).await;
        step(
            &app,
            &sct,
            &review,
            "answer",
            json!({"text": "Sở Công Thương trả lời như sau."}),
        )
        .await;
        step(&app, &sct_lead, &review, "sign-off", json!({})).await;
        let (done, _) = forwarded_to(&app, &control, "48.SCT").await;
        step(&app, &sct, &done, "accept", json!({})).await;
        step(
            &app,
            &sct,
            &done,
            "answer",
            json!({"text": "Đã trả lời xong."}),
        )
        .await;
        step(&app, &sct_lead, &done, "sign-off", json!({})).await;
        step(&app, &control, &done, "approve", json!({})).await;
        // A paused clock elsewhere is not touched.
        let (paused, _) = submit(&app).await;
        step(
            &app,
            &control,
            &paused,
            "request-info",
            json!({"message": "Đề nghị nêu rõ số hồ sơ."}),
        )
        .await;
        let template = app
            .send(
                Method::POST,
                "/api/v1/staff/answer-templates",
                "/api/v1/staff/answer-templates",
                |r| {
                    r.bearer_auth(&sct_lead)
                        .json(&json!({"name": "Lời chào", "body": "Kính gửi Ông/Bà,"}))
                },
            )
            .await;
        assert_eq!(template.status, StatusCode::CREATED, "{}", template.body);
        let handling_due = due(&current(&app, &control, &handling).await, "answer");
        assert!(handling_due.is_string());
        let paused_before = current(&app, &control, &paused).await;

        let body =
            json!({"from": ["48.SCT", "48.SKHCN"], "to": "48.STC", "on": today, "dry_run": true});
        let preview = succession(&app, &admin, body.clone()).await;
        assert_eq!(preview.status, StatusCode::OK, "{}", preview.body);
        assert_eq!(preview.body["open_items"], 4, "{}", preview.body);
        let sct_row = &preview.body["predecessors"][0];
        assert_eq!(sct_row["code"], "48.SCT");
        assert_eq!(
            sct_row["open_items"],
            json!([{"agency_code": "48.STC", "agency_name": "Sở Tài chính thành phố Đà Nẵng", "open_items": 4}])
        );
        assert_eq!(sct_row["closed_items"], 1);
        assert_eq!(sct_row["coordination_requests"], 1);
        assert_eq!(sct_row["answer_templates"], 1);
        assert_eq!(sct_row["staff_accounts"], 2);
        assert_eq!(preview.body["predecessors"][1]["coordination_requests"], 1);
        // The preview changed nothing.
        assert_eq!(
            current(&app, &control, &waiting).await["handling_agency"]["code"],
            "48.SCT"
        );

        // Applied while citizens keep submitting.
        let before = app.store.count_feedback().await.unwrap();
        let mut apply_body = body.clone();
        apply_body["dry_run"] = json!(false);
        let submission = valid_submission();
        let intake = join_all((0..8).map(|_| app.post_feedback(&submission)));
        let (applied, receipts) =
            tokio::join!(succession(&app, &admin, apply_body.clone()), intake);
        assert_eq!(applied.status, StatusCode::CREATED, "{}", applied.body);
        assert_eq!(applied.body["moved"], 4);
        assert!(receipts.iter().all(|r| r.status == StatusCode::CREATED));
        assert_eq!(
            app.store.count_feedback().await.unwrap(),
            before + 8,
            "nothing lost"
        );

        for code in [&waiting, &handling, &asking, &review] {
            let item = current(&app, &control, code).await;
            assert_eq!(
                item["handling_agency"]["code"], "48.STC",
                "[{}] {code}",
                app.backend
            );
            let row = app
                .store
                .find_feedback_by_code(&code.parse().unwrap())
                .await
                .unwrap()
                .unwrap();
            let events = app
                .store
                .audit_events_for(pakn::domain::ids::FeedbackId::from_uuid(row.item.id))
                .await
                .unwrap();
            assert!(
                events.iter().any(|e| e.action == "agency_succeeded"),
                "{code}"
            );
        }
        assert_eq!(
            current(&app, &control, &done).await["handling_agency"]["code"],
            "48.SCT",
            "closed items keep their agency"
        );
        // The clock runs on: the same due date.
        assert_eq!(
            due(&current(&app, &control, &handling).await, "answer"),
            handling_due
        );
        let paused_after = current(&app, &control, &paused).await;
        assert_eq!(paused_after["deadlines"], paused_before["deadlines"]);
        // The citizen sees the new agency.
        let view = app.lookup(&waiting, &waiting_token).await;
        assert_eq!(view.body["handling_agency"]["code"], "48.STC");
        // Coordination asked of the Sở Công Thương is now asked of the
        // Sở Tài chính; what the Sở Công Thương asked of the Sở KH&CN would
        // now be asked of the holder itself, so it is withdrawn.
        let asked_item = current(&app, &stp, &asked).await;
        let codes: Vec<&str> = asked_item["coordination"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["agency"]["code"].as_str().unwrap())
            .collect();
        assert_eq!(codes, ["48.STC"], "{asked_item}");
        let asking_item = current(&app, &control, &asking).await;
        assert_eq!(
            asking_item["coordination"][0]["state"], "withdrawn",
            "{asking_item}"
        );

        // The old officer now works for the successor, with the items and
        // the template; the Sở Tài chính's own staff see them too.
        let moved_officer = current(&app, &sct, &handling).await;
        assert_eq!(moved_officer["handling_agency"]["code"], "48.STC");
        assert_eq!(current(&app, &stc, &waiting).await["state"], "forwarded");
        let templates = app
            .send(
                Method::GET,
                "/api/v1/staff/answer-templates",
                "/api/v1/staff/answer-templates",
                |r| r.bearer_auth(&stc),
            )
            .await;
        assert_eq!(templates.body["items"][0]["name"], "Lời chào");

        // Nothing new reaches a dissolved agency.
        let (fresh, _) = submit(&app).await;
        step(
            &app,
            &control,
            &fresh,
            "classify",
            json!({"content_category": "implementation_problem"}),
        )
        .await;
        let version = current(&app, &control, &fresh).await["version"].clone();
        let refused = act(
            &app,
            &control,
            &fresh,
            "forward",
            json!({"agency_code": "48.SCT", "version": version}),
        )
        .await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            refused.body
        );
        assert_eq!(refused.field_errors()[0].1, "dissolved_agency");
        // Twice: refused, nothing moves again.
        let again = succession(&app, &admin, apply_body).await;
        assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            again
                .field_errors()
                .iter()
                .all(|(f, c)| f == "from" && c == "dissolved_agency")
        );
        // The figures roll the old Sở into the new one, and can still show
        // each alone; the province's totals are the same either way.
        let stats = |query: String| {
            let control = control.clone();
            let app = &app;
            async move {
                app.send(
                    Method::GET,
                    "/api/v1/staff/stats",
                    &format!("/api/v1/staff/stats?{query}"),
                    |r| r.bearer_auth(&control),
                )
                .await
            }
        };
        let year = &today[..4];
        let rolled = stats(format!("period={year}")).await;
        assert_eq!(rolled.status, StatusCode::OK, "{}", rolled.body);
        assert!(
            rolled.body["figures"]["answered_by_agency"]
                .get("48.SCT")
                .is_none(),
            "{}",
            rolled.body
        );
        assert!(
            rolled.body["figures"]["answered_by_agency"]
                .get("48.STC")
                .is_some(),
            "{}",
            rolled.body
        );
        assert_eq!(
            rolled.body["figures"]["forwarded_by_agency"]["48.STC"]["in"], 5,
            "{}",
            rolled.body
        );
        let alone = stats(format!("period={year}&tach_rieng=1")).await;
        assert!(
            alone.body["figures"]["answered_by_agency"]
                .get("48.SCT")
                .is_some(),
            "{}",
            alone.body
        );
        assert_eq!(
            alone.body["figures"]["answered_total"],
            rolled.body["figures"]["answered_total"]
        );
        let successor = stats(format!("period={year}&agency=48.STC")).await;
        assert_eq!(
            successor.body["figures"]["answered_total"], 1,
            "the predecessor's answer counts for its successor"
        );
        let successor_alone = stats(format!("period={year}&agency=48.STC&tach_rieng=1")).await;
        assert_eq!(successor_alone.body["figures"]["answered_total"], 0);
        let listed = app
            .send(
                Method::GET,
                "/api/v1/admin/agency-successions",
                "/api/v1/admin/agency-successions",
                |r| r.bearer_auth(&admin),
            )
            .await;
        assert_eq!(listed.body["items"].as_array().unwrap().len(), 2);
    }
}

#[apply(case!)]
async fn a_split_by_field_sends_each_fields_items_to_its_new_agency() {
    for app in apps().await {
        let today = pakn::domain::time::vietnam_date(Utc::now()).to_string();
        let admin = sign_in_as(&app, "quantri", Role::Admin, "48.VP").await;
        let control = sign_in_as(&app, "kiemsoat", Role::ControlOffice, "48.VP").await;
        // The Sở Xây dựng keeps building; its transport items go to the
        // Sở Công Thương.
        let mut transport = valid_submission();
        transport["field_code"] = json!("giao_thong");
        let r = app.post_feedback(&transport).await;
        let transport_code = r.body["tracking_code"].as_str().unwrap().to_string();
        step(
            &app,
            &control,
            &transport_code,
            "classify",
            json!({"content_category": "implementation_problem", "field_code": "giao_thong"}),
        )
        .await;
        step(
            &app,
            &control,
            &transport_code,
            "forward",
            json!({"agency_code": "48.SXD"}),
        )
        .await;
        let (building, _) = forwarded_to(&app, &control, "48.SXD").await;

        let bad = succession(&app, &admin, json!({"from": ["48.SXD"], "to": "48.SXD", "on": "2999-01-01", "by_field": {"khong_co": "48.SCT"}})).await;
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
                "by_field.0.field:unknown_code",
                "from:same_agency",
                "on:succession_in_future"
            ]
        );

        let applied = succession(
            &app,
            &admin,
            json!({"from": ["48.SXD"], "to": "48.SNNMT", "on": today, "by_field": {"giao_thong": "48.SCT"}, "staff": "disable"}),
        )
        .await;
        assert_eq!(applied.status, StatusCode::CREATED, "{}", applied.body);
        assert_eq!(
            current(&app, &control, &transport_code).await["handling_agency"]["code"],
            "48.SCT"
        );
        assert_eq!(
            current(&app, &control, &building).await["handling_agency"]["code"],
            "48.SNNMT"
        );
    }
}
