//! Lead and coordinating agencies, the answer's documents,
//! recalls, and the review fixes around clusters and re-routing, on both
//! databases.

use crate::case;
use macro_rules_attribute::apply;

use chrono::Utc;
use pakn::domain::staff::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::auth::sign_in_as;
use crate::helpers::{TestApp, apps};
use crate::workflow::{act, citizen, current, deadline_state, step, submit};

const CATEGORY: &str = "implementation_problem";

/// An item forwarded to and taken up by Sở Xây dựng.
async fn held_by_sxd(app: &TestApp, control: &str, sxd: &str) -> (String, String) {
    let (code, token) = submit(app).await;
    step(
        app,
        control,
        &code,
        "classify",
        json!({"content_category": CATEGORY}),
    )
    .await;
    step(
        app,
        control,
        &code,
        "forward",
        json!({"agency_code": "48.SXD"}),
    )
    .await;
    step(app, sxd, &code, "accept", json!({})).await;
    (code, token)
}

async fn notices_of(
    app: &TestApp,
    kind: &str,
    code: &str,
) -> Vec<pakn::store::deadlines::NoticeRow> {
    app.store
        .list_notices(true, 500)
        .await
        .unwrap()
        .into_iter()
        .filter(|n| n.kind == kind && n.payload["tracking_code"] == code)
        .collect()
}

fn coordination_of<'a>(item: &'a Value, agency: &str) -> &'a Value {
    item["coordination"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["agency"]["code"] == agency)
        .unwrap_or_else(|| panic!("no coordination with {agency}: {item}"))
}

#[apply(case!)]
async fn a_lead_agency_asks_others_to_contribute_each_with_its_own_deadline() {
    for app in apps().await {
        let control = sign_in_as(&app, "kiemsoat.co", Role::ControlOffice, "48.VP").await;
        let sxd = sign_in_as(&app, "sxd.co", Role::AgencyOfficer, "48.SXD").await;
        let stp = sign_in_as(&app, "stp.co", Role::AgencyOfficer, "48.STP").await;
        let stc = sign_in_as(&app, "stc.co", Role::AgencyLead, "48.STC").await;
        let (code, token) = held_by_sxd(&app, &control, &sxd).await;

        // Before being asked, Sở Tư pháp does not see the item at all.
        assert_eq!(
            app.staff_get(&stp, &code, "").await.status,
            StatusCode::NOT_FOUND
        );

        // Checks first: the lead itself, the control office, unknown codes
        // and sub-deadlines out of range are refused.
        let version = current(&app, &sxd, &code).await["version"].clone();
        for (body, field, error) in [
            (
                json!({"agency_code": "48.SXD", "note": "x"}),
                "agency_code",
                "invalid_choice",
            ),
            (
                json!({"agency_code": "48.VP", "note": "x"}),
                "agency_code",
                "invalid_choice",
            ),
            (
                json!({"agency_code": "48.NOPE", "note": "x"}),
                "agency_code",
                "unknown_code",
            ),
            (json!({"agency_code": "48.STP"}), "note", "required"),
            (
                json!({"agency_code": "48.STP", "note": "x", "days": 0}),
                "days",
                "out_of_range",
            ),
            (
                json!({"agency_code": "48.STP", "note": "x", "days": 61}),
                "days",
                "out_of_range",
            ),
        ] {
            let mut body = body;
            body["version"] = version.clone();
            let reply = act(&app, &sxd, &code, "request-coordination", body).await;
            assert_eq!(
                reply.field_errors(),
                vec![(field.to_string(), error.to_string())],
                "[{}] {}",
                app.backend,
                reply.body
            );
        }

        let item = step(
            &app,
            &sxd,
            &code,
            "request-coordination",
            json!({"agency_code": "48.STP", "note": "Đề nghị cho ý kiến về căn cứ pháp lý", "days": 3}),
        )
        .await;
        assert_eq!(item["state"], "in_handling");
        let asked = coordination_of(&item, "48.STP");
        assert_eq!(asked["state"], "requested");
        assert_eq!(asked["requested_by"], "sxd.co");
        assert!(asked["due_at"].is_string());
        let sub = item["deadlines"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["kind"] == "coordinate")
            .unwrap();
        assert_eq!(sub["rule"]["days"], 3);
        assert_eq!(sub["due_at"], asked["due_at"]);
        let again = act(
            &app,
            &sxd,
            &code,
            "request-coordination",
            json!({"version": item["version"], "agency_code": "48.STP", "note": "x"}),
        )
        .await;
        assert_eq!(
            again.field_errors(),
            vec![("agency_code".to_string(), "already_requested".to_string())]
        );
        assert_eq!(
            notices_of(&app, "agency_coordination_requested", &code)
                .await
                .len(),
            1
        );

        // Sở Tư pháp now sees it, in its queue too, without the submitter.
        let seen = app.staff_get(&stp, &code, "").await;
        assert_eq!(
            seen.status,
            StatusCode::OK,
            "[{}] {}",
            app.backend,
            seen.body
        );
        assert_eq!(seen.body["involvement"], "coordinating");
        assert_eq!(seen.body["submitter"]["withheld"], true);
        assert!(seen.body["submitter"].get("phone").is_none());
        assert!(
            !crate::helpers::shows_the_phone(&seen.body.to_string()),
            "no contact details"
        );
        assert_eq!(seen.body["history"], json!([]));
        assert_eq!(seen.body["coordination"].as_array().unwrap().len(), 1);
        let kinds: Vec<&str> = seen.body["deadlines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["kind"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, ["coordinate"], "only its own deadline");
        let queue = app
            .send(
                reqwest::Method::GET,
                "/api/v1/staff/feedback",
                "/api/v1/staff/feedback",
                |r| r.bearer_auth(&stp),
            )
            .await;
        assert!(
            queue.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|i| i["tracking_code"] == code.as_str()),
            "[{}] {}",
            app.backend,
            queue.body
        );
        // A coordinating agency contributes and does nothing else; an
        // agency not asked does not even see the item.
        let v = seen.body["version"].clone();
        for action in ["answer", "return", "request-coordination"] {
            let r = act(
                &app,
                &stp,
                &code,
                action,
                json!({"version": v, "text": "x", "note": "x"}),
            )
            .await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{action}");
        }
        let note = app
            .send(
                reqwest::Method::POST,
                "/api/v1/staff/feedback/{tracking_code}/notes",
                &format!("/api/v1/staff/feedback/{code}/notes"),
                |r| r.bearer_auth(&stp).json(&json!({"body": "ghi chú"})),
            )
            .await;
        assert_eq!(note.status, StatusCode::FORBIDDEN);
        let outsider = act(
            &app,
            &stc,
            &code,
            "contribute",
            json!({"version": v, "text": "x"}),
        )
        .await;
        assert_eq!(outsider.status, StatusCode::NOT_FOUND);
        let own_item = act(
            &app,
            &sxd,
            &code,
            "contribute",
            json!({"version": v, "text": "x"}),
        )
        .await;
        assert_eq!(
            own_item.status,
            StatusCode::FORBIDDEN,
            "the lead does not contribute"
        );

        // The submitter is not shown agencies' internal sub-deadlines.
        let explained = app
            .send(
                reqwest::Method::GET,
                "/api/v1/feedback/{tracking_code}/deadlines",
                &format!("/api/v1/feedback/{code}/deadlines"),
                |r| r.header("X-Lookup-Token", &token),
            )
            .await;
        assert!(
            explained.body["deadlines"]
                .as_array()
                .unwrap()
                .iter()
                .all(|d| d["kind"] != "coordinate")
        );

        let item = step(
            &app,
            &stp,
            &code,
            "contribute",
            json!({"text": "Căn cứ Điều 89 Luật Xây dựng, trường hợp này được miễn giấy phép."}),
        )
        .await;
        let given = coordination_of(&item, "48.STP");
        assert_eq!(given["state"], "contributed");
        assert_eq!(given["contributed_by"], "stp.co");
        assert_eq!(deadline_state(&item, "coordinate"), "met");
        assert_eq!(
            notices_of(&app, "agency_coordination_contributed", &code)
                .await
                .len(),
            1
        );
        // The lead sees the contribution.
        let lead_view = current(&app, &sxd, &code).await;
        assert_eq!(lead_view["involvement"], "handling");
        assert!(
            coordination_of(&lead_view, "48.STP")["contribution"]
                .as_str()
                .unwrap()
                .contains("Điều 89")
        );
        // A contribution given cannot be withdrawn; one never asked
        // neither.
        for agency in ["48.STP", "48.STC"] {
            let r = act(
                &app,
                &sxd,
                &code,
                "withdraw-coordination",
                json!({"version": lead_view["version"], "agency_code": agency}),
            )
            .await;
            assert_eq!(
                r.field_errors(),
                vec![("agency_code".to_string(), "not_requested".to_string())]
            );
        }

        // Sở Tài chính is asked, then no longer needed: it stops seeing it.
        step(
            &app,
            &sxd,
            &code,
            "request-coordination",
            json!({"agency_code": "48.STC", "note": "Ý kiến về phí, lệ phí"}),
        )
        .await;
        assert_eq!(app.staff_get(&stc, &code, "").await.status, StatusCode::OK);
        let item = step(
            &app,
            &sxd,
            &code,
            "withdraw-coordination",
            json!({"agency_code": "48.STC", "note": "Đã đủ thông tin"}),
        )
        .await;
        assert_eq!(coordination_of(&item, "48.STC")["state"], "withdrawn");
        assert_eq!(
            app.staff_get(&stc, &code, "").await.status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            notices_of(&app, "agency_coordination_withdrawn", &code)
                .await
                .len(),
            1
        );
        let cancelled = item["deadlines"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["kind"] == "coordinate" && d["state"] == "cancelled")
            .count();
        assert_eq!(cancelled, 1);
    }
}

#[apply(case!)]
async fn a_late_contribution_reminds_the_coordinating_agency_and_tells_the_lead() {
    for app in apps().await {
        let control = sign_in_as(&app, "kiemsoat.cl", Role::ControlOffice, "48.VP").await;
        let sxd = sign_in_as(&app, "sxd.cl", Role::AgencyOfficer, "48.SXD").await;
        let (code, _) = held_by_sxd(&app, &control, &sxd).await;
        step(
            &app,
            &sxd,
            &code,
            "request-coordination",
            json!({"agency_code": "48.STP", "note": "Cho ý kiến", "days": 1}),
        )
        .await;
        let stp = app
            .store
            .find_agency_by_code("48.STP")
            .await
            .unwrap()
            .unwrap();
        let sxd_id = app
            .store
            .find_agency_by_code("48.SXD")
            .await
            .unwrap()
            .unwrap();
        // Ten days on the one-day sub-deadline has passed (the 20-day
        // answer deadline has not).
        app.deadlines
            .run_scheduler_once(&app.store, Utc::now() + chrono::Duration::days(10))
            .await
            .unwrap();
        let overdue: Vec<_> = app
            .store
            .list_notices(true, 500)
            .await
            .unwrap()
            .into_iter()
            .filter(|n| {
                n.payload["tracking_code"] == code.as_str() && n.payload["deadline"] == "coordinate"
            })
            .collect();
        let to_stp = overdue
            .iter()
            .find(|n| n.kind == "deadline_overdue")
            .unwrap_or_else(|| panic!("[{}] {overdue:?}", app.backend));
        assert_eq!(to_stp.audience, "coordinating_agency");
        assert_eq!(to_stp.agency_id, stp.id.as_uuid());
        let to_lead = overdue
            .iter()
            .find(|n| n.kind == "deadline_overdue_escalation")
            .unwrap();
        assert_eq!(to_lead.audience, "handling_agency");
        assert_eq!(to_lead.agency_id, sxd_id.id.as_uuid());

        // Returning the item ends every open request: the next lead
        // agency asks its own.
        let item = step(
            &app,
            &sxd,
            &code,
            "return",
            json!({"note": "Không thuộc thẩm quyền"}),
        )
        .await;
        assert_eq!(coordination_of(&item, "48.STP")["state"], "withdrawn");
        let stp_token = sign_in_as(&app, "stp.cl", Role::AgencyOfficer, "48.STP").await;
        assert_eq!(
            app.staff_get(&stp_token, &code, "").await.status,
            StatusCode::NOT_FOUND
        );
    }
}

#[apply(case!)]
async fn the_control_office_recalls_a_forwarded_item_and_re_routing_restarts_the_clock() {
    for app in apps().await {
        let control = sign_in_as(&app, "kiemsoat.rc", Role::ControlOffice, "48.VP").await;
        let sxd = sign_in_as(&app, "sxd.rc", Role::AgencyOfficer, "48.SXD").await;
        let (code, _) = held_by_sxd(&app, &control, &sxd).await;
        step(
            &app,
            &sxd,
            &code,
            "answer",
            json!({"text": "Dự thảo của Sở Xây dựng"}),
        )
        .await;
        let refused = act(
            &app,
            &sxd,
            &code,
            "recall",
            json!({"version": current(&app, &sxd, &code).await["version"], "note": "x"}),
        )
        .await;
        assert_eq!(
            refused.status,
            StatusCode::FORBIDDEN,
            "only the control office recalls"
        );
        let no_note = act(
            &app,
            &control,
            &code,
            "recall",
            json!({"version": current(&app, &control, &code).await["version"]}),
        )
        .await;
        assert_eq!(
            no_note.field_errors(),
            vec![("note".to_string(), "required".to_string())]
        );
        let item = step(
            &app,
            &control,
            &code,
            "recall",
            json!({"note": "Chuyển nhầm cơ quan"}),
        )
        .await;
        assert_eq!(item["state"], "classified");
        assert_eq!(item["handling_agency"], Value::Null);
        // The draft was Sở Xây dựng's; the next agency writes its own.
        assert_eq!(item["answer_draft"], Value::Null);
        // A fresh forwarding deadline runs again.
        let open_forward = item["deadlines"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["kind"] == "forward" && d["state"] == "open")
            .count();
        assert_eq!(open_forward, 1, "[{}] {}", app.backend, item["deadlines"]);
        assert_eq!(
            app.staff_get(&sxd, &code, "").await.status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(notices_of(&app, "agency_recalled", &code).await.len(), 1);
        let item = step(
            &app,
            &control,
            &code,
            "forward",
            json!({"agency_code": "48.STP"}),
        )
        .await;
        assert_eq!(deadline_state(&item, "classify"), "met");
        assert!(
            item["deadlines"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| d["kind"] == "forward")
                .all(|d| d["state"] != "open")
        );

        // An agency merged away in the 2025 reorganisation gets nothing
        // new (the demo directory keeps Sở Tài nguyên và Môi trường).
        let (other, _) = submit(&app).await;
        step(
            &app,
            &control,
            &other,
            "classify",
            json!({"content_category": CATEGORY}),
        )
        .await;
        let dissolved = act(
            &app,
            &control,
            &other,
            "forward",
            json!({"version": current(&app, &control, &other).await["version"], "agency_code": "48.STNMT"}),
        )
        .await;
        assert_eq!(
            dissolved.field_errors(),
            vec![("agency_code".to_string(), "dissolved_agency".to_string())]
        );
    }
}

#[apply(case!)]
async fn clusters_stay_one_level_and_every_member_shares_the_primarys_fate() {
    for app in apps().await {
        let control = sign_in_as(&app, "kiemsoat.cu", Role::ControlOffice, "48.VP").await;
        // X joins P, then P joins Q: X follows to Q.
        let (q, _) = submit(&app).await;
        let (p, _) = submit(&app).await;
        let (x, x_token) = submit(&app).await;
        step(&app, &control, &x, "merge", json!({"into": p})).await;
        step(&app, &control, &p, "merge", json!({"into": q})).await;
        step(
            &app,
            &control,
            &q,
            "classify",
            json!({"content_category": CATEGORY}),
        )
        .await;
        step(&app, &control, &q, "accept", json!({})).await;
        step(
            &app,
            &control,
            &q,
            "answer",
            json!({"text": "Trả lời chung."}),
        )
        .await;
        step(&app, &control, &q, "sign-off", json!({})).await;
        let item = step(&app, &control, &q, "approve", json!({})).await;
        // Answered: no longer due, never overdue.
        assert_eq!(item["due_at"], Value::Null);
        assert_eq!(item["overdue"], false);
        let view = app.lookup(&x, &x_token).await;
        assert_eq!(
            view.body["status"], "answered",
            "[{}] {}",
            app.backend, view.body
        );
        assert_eq!(view.body["answer"]["text"], "Trả lời chung.");
        assert_eq!(notices_of(&app, "citizen_answered", &x).await.len(), 1);
        // A member rates the answer it was sent.
        let rated = citizen(&app, &x, &x_token, "rating", json!({"score": 4})).await;
        assert_eq!(
            rated.status,
            StatusCode::OK,
            "[{}] {}",
            app.backend,
            rated.body
        );

        // Joining an answered primary sends its answer at once.
        let (late, _) = submit(&app).await;
        step(&app, &control, &late, "merge", json!({"into": q})).await;
        assert_eq!(notices_of(&app, "citizen_answered", &late).await.len(), 1);

        // A primary not accepted: every member is told why.
        let (r, _) = submit(&app).await;
        let (m, m_token) = submit(&app).await;
        step(&app, &control, &m, "merge", json!({"into": r})).await;
        step(&app, &control, &r, "reject", json!({"reason_code": "R01"})).await;
        let told = notices_of(&app, "citizen_not_accepted", &m).await;
        assert_eq!(told.len(), 1);
        assert_eq!(told[0].payload["reason_code"], "R01");
        assert_eq!(
            app.lookup(&m, &m_token).await.body["status"],
            "not_accepted"
        );

        // Merging moves the primary's version: a change prepared on the
        // primary's older view is refused.
        let (primary, _) = submit(&app).await;
        let (dup, _) = submit(&app).await;
        let before = current(&app, &control, &primary).await["version"].clone();
        step(&app, &control, &dup, "merge", json!({"into": primary})).await;
        let stale = act(
            &app,
            &control,
            &primary,
            "classify",
            json!({"version": before, "content_category": CATEGORY}),
        )
        .await;
        assert_eq!(stale.status, StatusCode::CONFLICT);
    }
}

#[apply(case!)]
async fn classifying_decides_the_category_and_staff_cannot_use_the_system_only_r07() {
    for app in apps().await {
        let control = sign_in_as(&app, "kiemsoat.cc", Role::ControlOffice, "48.VP").await;
        let (code, _) = submit(&app).await;
        let bare = act(&app, &control, &code, "classify", json!({"version": 1})).await;
        assert_eq!(
            bare.field_errors(),
            vec![("content_category".to_string(), "required".to_string())]
        );
        let r07 = act(
            &app,
            &control,
            &code,
            "reject",
            json!({"version": 1, "reason_code": "R07"}),
        )
        .await;
        assert_eq!(
            r07.field_errors(),
            vec![(
                "reason_code".to_string(),
                "clarification_not_over".to_string()
            )],
            "R07 follows an unanswered request for information only"
        );
    }
}

#[apply(case!)]
async fn a_scheduler_working_from_rows_read_before_a_pause_cannot_undo_it() {
    for app in apps().await {
        let control = sign_in_as(&app, "kiemsoat.rv", Role::ControlOffice, "48.VP").await;
        let (code, _) = submit(&app).await;
        let item_id = app
            .store
            .find_feedback_by_code(&code.parse().unwrap())
            .await
            .unwrap()
            .unwrap()
            .item
            .id;
        let id = pakn::domain::ids::FeedbackId::from_uuid(item_id);
        let before = app.store.deadlines_for_item(id).await.unwrap();
        let answer = before.iter().find(|d| d.kind == "answer").unwrap().clone();
        // The clock stops (and the pause moves the due date out of reach).
        step(
            &app,
            &control,
            &code,
            "request-info",
            json!({"message": "Đề nghị bổ sung địa chỉ."}),
        )
        .await;
        // A recomputation from the old row must lose its compare-and-set
        // rather than write a due date that ignores the pause.
        let wrote = app
            .store
            .store_recomputed_deadline(
                &answer,
                &pakn::store::deadlines::Recomputed {
                    original_due_at: answer.original_due_at,
                    due_at: answer.due_at,
                    remind_at: answer.remind_at,
                    calendar_version: answer.calendar_version + 1,
                },
                None,
                Utc::now(),
            )
            .await
            .unwrap();
        assert!(
            !wrote,
            "[{}] a stale row overwrote the paused clock",
            app.backend
        );
        let after = app.store.deadlines_for_item(id).await.unwrap();
        let paused = after.iter().find(|d| d.kind == "answer").unwrap();
        assert!(paused.pauses.as_array().is_some_and(|p| !p.is_empty()));
        // The pause and the request are one change: the clarification
        // timeout exists with the new state.
        assert!(
            after
                .iter()
                .any(|d| d.kind == "clarify_timeout" && d.state == "open")
        );
    }
}

const PDF: &[u8] = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n";

async fn attach(
    app: &TestApp,
    token: &str,
    code: &str,
    version: &Value,
    name: &str,
) -> crate::helpers::Reply {
    use reqwest::multipart::{Form, Part};
    let form = Form::new().text("version", version.to_string()).part(
        "attachments",
        Part::bytes(PDF.to_vec()).file_name(name.to_string()),
    );
    app.send(
        reqwest::Method::POST,
        "/api/v1/staff/feedback/{tracking_code}/answer/attachments",
        &format!("/api/v1/staff/feedback/{code}/answer/attachments"),
        |r| r.bearer_auth(token).multipart(form),
    )
    .await
}

fn answer_files(item: &Value) -> Vec<Value> {
    item["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["source"] == "answer")
        .cloned()
        .collect()
}

#[apply(case!)]
async fn the_answer_carries_documents_that_reach_the_submitter_only_once_sent() {
    for app in apps().await {
        let control = sign_in_as(&app, "kiemsoat.af", Role::ControlOffice, "48.VP").await;
        let sxd = sign_in_as(&app, "sxd.af", Role::AgencyOfficer, "48.SXD").await;
        let lead = sign_in_as(&app, "sxd.ld.af", Role::AgencyLead, "48.SXD").await;
        let stp = sign_in_as(&app, "stp.af", Role::AgencyOfficer, "48.STP").await;
        let (code, token) = held_by_sxd(&app, &control, &sxd).await;
        step(
            &app,
            &sxd,
            &code,
            "answer",
            json!({"text": "Trả lời kèm công văn."}),
        )
        .await;

        let v = current(&app, &sxd, &code).await["version"].clone();
        // Another agency cannot; a stale version is refused.
        assert_eq!(
            attach(&app, &stp, &code, &v, "x.pdf").await.status,
            StatusCode::NOT_FOUND
        );
        let stale = attach(&app, &sxd, &code, &json!(1), "x.pdf").await;
        assert_eq!(stale.status, StatusCode::CONFLICT);
        let added = attach(&app, &sxd, &code, &v, "Công văn 123-SXD.pdf").await;
        assert_eq!(
            added.status,
            StatusCode::OK,
            "[{}] {}",
            app.backend,
            added.body
        );
        let files = answer_files(&added.body);
        assert_eq!(files.len(), 1);
        assert_eq!(files[0]["file_name"], "Công văn 123-SXD.pdf");
        let added = attach(&app, &sxd, &code, &added.body["version"], "Phụ lục.pdf").await;
        assert_eq!(answer_files(&added.body).len(), 2);
        // Removing one takes the version in If-Match.
        let wrong = answer_files(&added.body)[1]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let remove = |version: Option<String>| {
            let (app, sxd, code, wrong) = (&app, &sxd, &code, &wrong);
            async move {
                app.send(
                    reqwest::Method::DELETE,
                    "/api/v1/staff/feedback/{tracking_code}/answer/attachments/{attachment_id}",
                    &format!("/api/v1/staff/feedback/{code}/answer/attachments/{wrong}"),
                    |r| {
                        let r = r.bearer_auth(sxd);
                        match version {
                            Some(v) => r.header("If-Match", v),
                            None => r,
                        }
                    },
                )
                .await
            }
        };
        let no_version = remove(None).await;
        assert_eq!(
            no_version.field_errors(),
            vec![("version".to_string(), "required".to_string())]
        );
        let removed = remove(Some(format!("\"{}\"", added.body["version"]))).await;
        assert_eq!(
            removed.status,
            StatusCode::OK,
            "[{}] {}",
            app.backend,
            removed.body
        );
        assert_eq!(answer_files(&removed.body).len(), 1);
        let again = remove(Some(format!("\"{}\"", removed.body["version"]))).await;
        assert_eq!(again.status, StatusCode::NOT_FOUND);

        // Not before the answer is sent.
        let view = app.lookup(&code, &token).await;
        assert_eq!(view.body["answer"], Value::Null);
        let file_id = answer_files(&removed.body)[0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let fetch = |token: String| {
            let (app, code, file_id) = (&app, &code, &file_id);
            async move {
                app.send(
                    reqwest::Method::GET,
                    "/api/v1/feedback/{tracking_code}/attachments/{attachment_id}",
                    &format!("/api/v1/feedback/{code}/attachments/{file_id}"),
                    |r| r.header("X-Lookup-Token", token),
                )
                .await
            }
        };
        assert_eq!(
            fetch(token.clone()).await.status,
            StatusCode::NOT_FOUND,
            "a draft's file"
        );

        step(&app, &lead, &code, "sign-off", json!({})).await;
        // Under review the draft is frozen.
        let frozen = attach(
            &app,
            &sxd,
            &code,
            &current(&app, &sxd, &code).await["version"],
            "y.pdf",
        )
        .await;
        assert_eq!(frozen.status, StatusCode::CONFLICT);
        step(&app, &control, &code, "approve", json!({})).await;
        let view = app.lookup(&code, &token).await;
        let sent = view.body["answer"]["attachments"]
            .as_array()
            .unwrap()
            .clone();
        assert_eq!(sent.len(), 1, "[{}] {}", app.backend, view.body);
        assert_eq!(sent[0]["file_name"], "Công văn 123-SXD.pdf");
        assert_eq!(view.body["attachments"], 0, "the submitter sent none");
        let got = fetch(token.clone()).await;
        assert_eq!(got.status, StatusCode::OK);
        assert_eq!(
            got.body,
            Value::String(String::from_utf8_lossy(PDF).into_owned())
        );
        assert!(
            got.header("content-disposition")
                .unwrap()
                .starts_with("attachment")
        );
        assert_eq!(
            fetch("sai-ma-tra-cuu".into()).await.status,
            StatusCode::NOT_FOUND
        );
    }
}
