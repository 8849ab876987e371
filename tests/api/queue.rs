//! The staff queue: scope, filters, diacritics-insensitive search, sort by
//! due date and a cursor that survives concurrent inserts; the summary.

use crate::case;
use macro_rules_attribute::apply;

use std::collections::BTreeSet;

use chrono::{Duration, Utc};
use pakn::domain::staff::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use unicode_normalization::UnicodeNormalization;

use crate::auth::sign_in_as;
use crate::helpers::{TestApp, apps, valid_submission};

async fn queue(app: &TestApp, token: &str, query: &str) -> crate::helpers::Reply {
    app.send(
        Method::GET,
        "/api/v1/staff/feedback",
        &format!("/api/v1/staff/feedback?{query}"),
        |r| r.bearer_auth(token),
    )
    .await
}

fn codes(reply: &crate::helpers::Reply) -> Vec<String> {
    reply.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["tracking_code"].as_str().unwrap().to_string())
        .collect()
}

async fn submit_titled(app: &TestApp, title: &str) -> String {
    let mut body = valid_submission();
    body["title"] = json!(title);
    let reply = app.post_feedback(&body).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    reply.body["tracking_code"].as_str().unwrap().to_string()
}

#[apply(case!)]
async fn search_ignores_diacritics_case_and_normalisation() {
    for app in apps().await {
        let token = sign_in_as(&app, "kiemsoat1", Role::ControlOffice, "48.VP").await;
        let road = submit_titled(&app, "Sửa chữa đường Lê Lợi chậm trễ").await;
        let _other = submit_titled(&app, "Thủ tục cấp giấy phép xây dựng quá hạn").await;
        let nfd: String = "đường".nfd().collect();
        for q in [
            "duong",
            "ĐƯỜNG",
            "đường",
            nfd.as_str(),
            "le loi",
            "LÊ LỢI chậm",
        ] {
            let reply = queue(&app, &token, &format!("q={}", urlencode(q))).await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
            assert_eq!(codes(&reply), vec![road.clone()], "[{}] q={q}", app.backend);
        }
        assert!(codes(&queue(&app, &token, "q=khongcogi").await).is_empty());
    }
}

#[apply(case!)]
async fn percent_and_underscore_mean_themselves_in_a_search() {
    for app in apps().await {
        let token = sign_in_as(&app, "kiemsoat2", Role::ControlOffice, "48.VP").await;
        let percent = submit_titled(&app, "Phí thẩm định tăng 50% so với năm trước").await;
        let plain = submit_titled(&app, "Phí thẩm định tăng 50 nghìn đồng").await;
        let underscore = submit_titled(&app, "Tệp ho_so_dat_dai không mở được").await;
        let found = |q: &'static str| {
            let app = &app;
            let token = &token;
            async move {
                let mut c = codes(&queue(app, token, &format!("q={}", urlencode(q))).await);
                c.sort();
                c
            }
        };
        // Not wildcards: "%" matches a percent sign, "_" an underscore.
        assert_eq!(found("%").await, vec![percent.clone()], "[{}]", app.backend);
        assert_eq!(found("50%").await, vec![percent.clone()]);
        assert_eq!(found("_").await, vec![underscore.clone()]);
        assert_eq!(found("ho_so").await, vec![underscore.clone()]);
        assert!(found("h_so").await.is_empty(), "'_' is not any one letter");
        let mut both = vec![percent.clone(), plain.clone()];
        both.sort();
        assert_eq!(found("50").await, both);
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[apply(case!)]
async fn pages_follow_due_dates_and_new_items_never_shift_a_page() {
    for app in apps().await {
        let token = sign_in_as(&app, "kiemsoat2", Role::ControlOffice, "48.VP").await;
        // Received at different past times, so due dates differ.
        let staff = sign_in_as(&app, "tongdai2", Role::ControlOffice, "48.VP").await;
        let mut expected = Vec::new();
        for days in [9, 3, 6, 1, 8, 2, 7] {
            let body = crate::staff::hotline_call(Utc::now() - Duration::days(days));
            let reply = app
                .send(
                    Method::POST,
                    "/api/v1/staff/feedback",
                    "/api/v1/staff/feedback",
                    |r| r.bearer_auth(&staff).json(&body),
                )
                .await;
            expected.push(reply.body["tracking_code"].as_str().unwrap().to_string());
        }
        let first = queue(&app, &token, "limit=3").await;
        assert_eq!(first.body["items"].as_array().unwrap().len(), 3);
        let mut seen: Vec<Value> = first.body["items"].as_array().unwrap().clone();
        let mut cursor = first.body["next_cursor"].as_str().map(str::to_string);
        // Items arriving while staff page through land after the cursor
        // (later due dates) or not at all; none repeats. Items received
        // the same day share a due date (ties broken by id), and a paused
        // item has none (it comes last).
        for i in 0..3 {
            submit_titled(
                &app,
                &format!("Phản ánh mới số {i} trong lúc xem danh sách"),
            )
            .await;
        }
        let paused = app
            .store
            .find_feedback_by_code(&expected[1].parse().unwrap())
            .await
            .unwrap()
            .unwrap();
        app.deadlines
            .pause(
                &app.store,
                pakn::domain::ids::FeedbackId::from_uuid(paused.item.id),
                Utc::now(),
                &pakn::services::deadlines::ClockChange {
                    actor_kind: "staff".into(),
                    actor_id: None,
                    reason: None,
                    request_id: None,
                },
            )
            .await
            .unwrap();
        while let Some(c) = cursor {
            let page = queue(&app, &token, &format!("limit=2&cursor={c}")).await;
            assert_eq!(page.status, StatusCode::OK, "{}", page.body);
            seen.extend(page.body["items"].as_array().unwrap().iter().cloned());
            cursor = page.body["next_cursor"].as_str().map(str::to_string);
        }
        let seen_codes: Vec<String> = seen
            .iter()
            .map(|i| i["tracking_code"].as_str().unwrap().to_string())
            .collect();
        let unique: BTreeSet<&String> = seen_codes.iter().collect();
        assert_eq!(unique.len(), seen_codes.len(), "no item twice");
        assert_eq!(seen_codes.len(), 10, "[{}] every item once", app.backend);
        assert_eq!(
            seen_codes.last(),
            Some(&expected[1]),
            "the paused item comes last"
        );
        assert!(seen[9]["due_at"].is_null());
        let dues: Vec<String> = seen[..9]
            .iter()
            .map(|i| i["due_at"].as_str().unwrap().to_string())
            .collect();
        let mut sorted = dues.clone();
        sorted.sort();
        assert_eq!(dues, sorted, "sorted by due date");
        assert!(
            dues.windows(2).any(|w| w[0] == w[1]),
            "items received the same day share a due date: ties were paged through"
        );
        // The oldest call is due first.
        assert_eq!(seen_codes[0], expected[0]);
    }
}

#[apply(case!)]
async fn filters_narrow_and_scope_limits_what_each_role_sees() {
    for app in apps().await {
        let control = sign_in_as(&app, "kiemsoat3", Role::ControlOffice, "48.VP").await;
        let officer = sign_in_as(&app, "sxd.cv3", Role::AgencyOfficer, "48.SXD").await;
        let auditor = sign_in_as(&app, "thanhtra3", Role::Auditor, "48.VP").await;
        let admin = sign_in_as(&app, "quantri3", Role::Admin, "48.VP").await;
        let web = submit_titled(&app, "Phản ánh qua cổng").await;
        let call = app
            .send(
                Method::POST,
                "/api/v1/staff/feedback",
                "/api/v1/staff/feedback",
                |r| {
                    r.bearer_auth(&control)
                        .json(&crate::staff::hotline_call(Utc::now() - Duration::days(30)))
                },
            )
            .await
            .body["tracking_code"]
            .as_str()
            .unwrap()
            .to_string();

        assert_eq!(
            codes(&queue(&app, &control, "channel=hotline").await),
            vec![call.clone()]
        );
        assert_eq!(
            codes(&queue(&app, &control, "channel=web_form").await),
            vec![web.clone()]
        );
        assert_eq!(
            codes(&queue(&app, &control, "overdue=true").await),
            vec![call.clone()],
            "30 days ago: overdue"
        );
        assert_eq!(
            codes(&queue(&app, &control, "overdue=false").await),
            vec![web.clone()]
        );
        assert_eq!(
            codes(&queue(&app, &control, "state=received,classified&kind=phan_anh").await).len(),
            2
        );
        assert!(codes(&queue(&app, &control, "state=answered").await).is_empty());
        assert_eq!(
            codes(&queue(&app, &control, "agency_code=48.VP&field_code=xay_dung").await).len(),
            2
        );
        assert!(codes(&queue(&app, &control, "agency_code=48.SXD").await).is_empty());
        assert!(codes(&queue(&app, &control, "field_code=khong_co").await).is_empty());
        let today = pakn::domain::time::vietnam_date(Utc::now());
        assert_eq!(
            codes(&queue(&app, &control, &format!("received_from={today}")).await),
            vec![web.clone()]
        );
        assert_eq!(
            codes(
                &queue(
                    &app,
                    &control,
                    &format!("received_to={}", today - Duration::days(1))
                )
                .await
            ),
            vec![call.clone()]
        );
        assert_eq!(
            codes(&queue(&app, &control, &format!("due_before={}", today)).await),
            vec![call.clone()]
        );

        // The auditor reads everything; the agency sees only what it
        // handles (nothing has been forwarded to it yet); the admin none.
        assert_eq!(codes(&queue(&app, &auditor, "").await).len(), 2);
        assert!(codes(&queue(&app, &officer, "").await).is_empty());
        assert_eq!(queue(&app, &admin, "").await.status, StatusCode::FORBIDDEN);

        let summary = app
            .send(
                Method::GET,
                "/api/v1/staff/feedback/summary",
                "/api/v1/staff/feedback/summary",
                |r| r.bearer_auth(&control),
            )
            .await;
        assert_eq!(summary.status, StatusCode::OK, "{}", summary.body);
        assert_eq!(summary.body["total"], 2);
        assert_eq!(summary.body["overdue"], 1);
        assert_eq!(
            summary.body["by_state"],
            json!([{"state": "received", "count": 2, "overdue": 1}])
        );
        let officer_summary = app
            .send(
                Method::GET,
                "/api/v1/staff/feedback/summary",
                "/api/v1/staff/feedback/summary",
                |r| r.bearer_auth(&officer),
            )
            .await;
        assert_eq!(officer_summary.body["total"], 0);

        for bad in [
            "state=nope",
            "channel=pigeon",
            "kind=x",
            "overdue=maybe",
            "due_before=mai",
            "received_from=2026-13-01",
            "limit=0",
            "limit=101",
            "cursor=abc",
            "colour=red",
            &format!("q={}", "a".repeat(201)),
        ] {
            let reply = queue(&app, &control, bad).await;
            assert_eq!(
                reply.status,
                StatusCode::BAD_REQUEST,
                "[{}] {bad}: {}",
                app.backend,
                reply.body
            );
        }
    }
}

/// The queue's counts are kept as things happen, not counted: they
/// follow intake, state changes and forwarding exactly, on the agency's
/// side too; the scheduler folds what was written without changing a
/// figure; and `pakn recount` checks them against the items, finds a
/// count gone wrong and rebuilds it.
#[apply(case!)]
async fn queue_counts_are_kept_exact_folded_and_checked_against_the_items() {
    use pakn::store::queue::QueueScope;
    use sea_orm::ConnectionTrait;
    for app in apps().await {
        let control = sign_in_as(&app, "kiemsoat.k", Role::ControlOffice, "48.VP").await;
        let officer = sign_in_as(&app, "chuyenvien.k", Role::AgencyOfficer, "48.SXD").await;
        let mut codes = Vec::new();
        for _ in 0..4 {
            let r = app.post_feedback(&valid_submission()).await;
            codes.push(r.body["tracking_code"].as_str().unwrap().to_string());
        }
        for code in &codes[..2] {
            crate::workflow::step(
                &app,
                &control,
                code,
                "classify",
                json!({"content_category": "implementation_problem"}),
            )
            .await;
        }
        crate::workflow::step(
            &app,
            &control,
            &codes[0],
            "forward",
            json!({"agency_code": "48.SXD"}),
        )
        .await;
        crate::workflow::step(&app, &officer, &codes[0], "accept", json!({})).await;
        let summary = |token: String| {
            let app = &app;
            async move {
                app.send(
                    Method::GET,
                    "/api/v1/staff/feedback/summary",
                    "/api/v1/staff/feedback/summary",
                    |r| r.bearer_auth(token),
                )
                .await
                .body["by_state"]
                    .clone()
            }
        };
        let province = json!([
            {"state": "classified", "count": 1, "overdue": 0},
            {"state": "in_handling", "count": 1, "overdue": 0},
            {"state": "received", "count": 2, "overdue": 0},
        ]);
        assert_eq!(summary(control.clone()).await, province);
        assert_eq!(
            summary(officer.clone()).await,
            json!([{"state": "in_handling", "count": 1, "overdue": 0}])
        );

        // Folded: one row per (agency, state) left, the same figures.
        let store = &app.store;
        let now = Utc::now();
        let before = store
            .queue_summary(QueueScope::Province, now)
            .await
            .unwrap();
        let rows = |app: &TestApp| {
            let db = app.store.connection().clone();
            async move {
                db.query_one_raw(sea_orm::Statement::from_string(
                    db.get_database_backend(),
                    "SELECT COUNT(*) AS n FROM item_state_delta",
                ))
                .await
                .unwrap()
                .unwrap()
                .try_get::<i64>("", "n")
                .unwrap()
            }
        };
        assert!(rows(&app).await > 4);
        assert!(store.compact_kept_counts().await.unwrap() > 4);
        assert_eq!(rows(&app).await, 3, "received, classified, in handling");
        assert_eq!(
            store
                .queue_summary(QueueScope::Province, now)
                .await
                .unwrap(),
            before
        );

        let (ok, report) = crate::cli::recount(&app, &[]);
        assert!(ok, "{report}");
        assert_eq!(report["queue_counts"]["compared"], 3);
        assert_eq!(report["queue_counts"]["differing"], 0);

        // A count gone wrong (as a bug or a hand edit would leave it).
        store
            .connection()
            .execute_unprepared(
                "INSERT INTO item_state_delta (handling_agency_id, state, delta) \
                 VALUES (NULL, 'received', 5)",
            )
            .await
            .unwrap();
        let (ok, report) = crate::cli::recount(&app, &[]);
        assert!(!ok);
        assert_eq!(
            report["queue_counts"]["differences"],
            json!([{"handling_agency_id": null, "state": "received", "kept": 7, "counted": 2}])
        );
        let (ok, report) = crate::cli::recount(&app, &["--repair"]);
        assert!(ok, "{report}");
        assert_eq!(report["queue_counts"]["repaired"], true);
        assert_eq!(report["queue_counts"]["differences"], json!([]));
        assert_eq!(
            store
                .queue_summary(QueueScope::Province, now)
                .await
                .unwrap(),
            before
        );
    }
}

/// The province's overdue counts are kept per state and hour of the due
/// time: exact at any moment (an hour over, the current hour's overdue
/// items, time passing with nothing written), after a state change and a
/// fold; `pakn recount` finds a due count gone wrong and rebuilds it.
#[apply(case!)]
async fn overdue_counts_are_kept_per_due_hour_and_exact_at_any_moment() {
    use pakn::store::entities::feedback_item;
    use pakn::store::queue::QueueScope;
    use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, sea_query::Expr};
    for app in apps().await {
        let control = sign_in_as(&app, "kiemsoat.h", Role::ControlOffice, "48.VP").await;
        let store = &app.store;
        let now = Utc::now();
        let hour_start =
            chrono::DateTime::from_timestamp(now.timestamp() / 3600 * 3600, 0).expect("hour");
        let mut codes = Vec::new();
        for _ in 0..4 {
            let r = app.post_feedback(&valid_submission()).await;
            codes.push(r.body["tracking_code"].as_str().unwrap().to_string());
        }
        // Due two hours ago; earlier this hour (a second after it began,
        // or a second ago if that is later); in an hour and a half; and
        // the fourth keeps its real due date, days ahead.
        let dues = [
            now - Duration::hours(2),
            (hour_start + Duration::seconds(1)).min(now - Duration::seconds(1)),
            now + Duration::minutes(90),
        ];
        for (code, due) in codes.iter().zip(dues) {
            feedback_item::Entity::update_many()
                .col_expr(feedback_item::Column::DueAt, Expr::value(due))
                .filter(feedback_item::Column::TrackingCode.eq(code.as_str()))
                .exec(store.connection())
                .await
                .unwrap();
        }
        let overdue = |at| async move {
            store
                .queue_summary(QueueScope::Province, at)
                .await
                .unwrap()
                .into_iter()
                .map(|(state, _, late)| (state, late))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            overdue(now).await,
            vec![("received".to_string(), 2)],
            "[{}] an hour over and this hour's",
            app.backend
        );
        // Two hours on, with nothing written, the third is overdue too.
        assert_eq!(
            overdue(now + Duration::hours(2)).await,
            vec![("received".to_string(), 3)]
        );
        assert_eq!(
            overdue(now + Duration::days(60)).await,
            vec![("received".to_string(), 4)]
        );
        // The list, which reads the items, agrees.
        assert_eq!(
            queue(&app, &control, "overdue=true").await.body["items"]
                .as_array()
                .map(Vec::len),
            Some(2)
        );

        // Classified: its due time moves with it to the new state.
        crate::workflow::step(
            &app,
            &control,
            &codes[0],
            "classify",
            json!({"content_category": "implementation_problem"}),
        )
        .await;
        let mut after = overdue(now).await;
        after.sort();
        assert_eq!(
            after,
            vec![("classified".to_string(), 1), ("received".to_string(), 1)]
        );
        assert!(store.compact_kept_counts().await.unwrap() > 0);
        let mut folded = overdue(now).await;
        folded.sort();
        assert_eq!(folded, after, "folding changes no figure");

        let (ok, report) = crate::cli::recount(&app, &[]);
        assert!(ok, "{report}");
        assert_eq!(report["due_counts"]["differing"], 0);
        assert!(report["due_counts"]["compared"].as_u64().unwrap() >= 3);

        // A due count gone wrong.
        store
            .connection()
            .execute_unprepared(
                "INSERT INTO item_due_delta (state, due_hour, delta) VALUES ('received', 10, 3)",
            )
            .await
            .unwrap();
        let mut wrong = overdue(now).await;
        wrong.sort();
        assert_eq!(
            wrong,
            vec![("classified".to_string(), 1), ("received".to_string(), 4)],
            "the summary reads the kept counts"
        );
        let (ok, report) = crate::cli::recount(&app, &[]);
        assert!(!ok);
        assert_eq!(
            report["due_counts"]["differences"],
            json!([{"state": "received", "due_hour": 10, "kept": 3, "counted": 0}])
        );
        let (ok, report) = crate::cli::recount(&app, &["--repair"]);
        assert!(ok, "{report}");
        assert_eq!(report["due_counts"]["repaired"], true);
        let mut repaired = overdue(now).await;
        repaired.sort();
        assert_eq!(repaired, after);
    }
}
