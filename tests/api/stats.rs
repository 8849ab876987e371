//! The statistics a supervisor reads: a known set of items, and
//! every figure checked exactly, for the province and for one agency.

use crate::{case, case_once};
use macro_rules_attribute::apply;

use chrono::{Datelike, Duration, Utc};
use pakn::domain::staff::Role;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::auth::sign_in_as;
use crate::helpers::{Reply, TestApp, apps, valid_submission};
use crate::public_qa::publish;
use crate::workflow::step;

pub async fn stats(app: &TestApp, token: &str, query: &str) -> Reply {
    app.send(
        Method::GET,
        "/api/v1/staff/stats",
        &format!("/api/v1/staff/stats?{query}"),
        |r| r.bearer_auth(token),
    )
    .await
}

#[apply(case!)]
async fn every_figure_of_a_known_set_of_items_is_exact() {
    for app in apps().await {
        let control = sign_in_as(&app, "kiemsoat.tk", Role::ControlOffice, "48.VP").await;
        let auditor = sign_in_as(&app, "thanhtra.tk", Role::Auditor, "48.VP").await;
        let lead = sign_in_as(&app, "truongphong.xd", Role::AgencyLead, "48.SXD").await;
        let officer = sign_in_as(&app, "chuyenvien.xd", Role::AgencyOfficer, "48.SXD").await;

        // A: web form, answered on time by the office, published.
        publish(
            &app,
            &control,
            valid_submission(),
            "Cấp phép xây dựng chậm",
            "Hồ sơ cấp phép xây dựng quá hạn.",
            "Đã trả kết quả.",
        )
        .await;
        // B: web form, a kiến nghị with its category, not accepted (R02).
        not_accepted_r02(&app, &control).await;
        // C: a call keyed in 40 days after it came: open, past its deadline.
        call_keyed_in_late(&app, &control).await;
        // D: web form, forwarded to the Sở Xây dựng, answered there, rated 2.
        let (d_code, d_token) = answered_by_the_so(&app, &control, &officer, &lead).await;
        let rated = app
            .send(
                Method::POST,
                "/api/v1/feedback/{tracking_code}/rating",
                &format!("/api/v1/feedback/{d_code}/rating"),
                |r| {
                    r.header("X-Lookup-Token", &d_token)
                        .json(&json!({"score": 2}))
                },
            )
            .await;
        assert_eq!(rated.status, StatusCode::OK, "{}", rated.body);

        // E: web form, forwarded to the Sở Xây dựng, sent back as not its
        // competence, forwarded to the Sở Tư pháp: open, within deadline.
        let e = app.post_feedback(&valid_submission()).await;
        let e_code = e.body["tracking_code"].as_str().unwrap().to_string();
        step(
            &app,
            &control,
            &e_code,
            "classify",
            json!({"content_category": "unfit_for_reality"}),
        )
        .await;
        for agency in ["48.SXD", "48.STP"] {
            step(
                &app,
                &control,
                &e_code,
                "forward",
                json!({"agency_code": agency}),
            )
            .await;
            if agency == "48.SXD" {
                step(
                    &app,
                    &officer,
                    &e_code,
                    "return",
                    json!({"note": "Không thuộc thẩm quyền Sở Xây dựng"}),
                )
                .await;
            }
        }

        // The province, the half year we are in (cut-offs 15/06 and 15/12).
        let period = current_half_year();
        let province = stats(&app, &auditor, &format!("period={period}")).await;
        assert_eq!(province.status, StatusCode::OK, "{}", province.body);
        let f = &province.body["figures"];
        assert_eq!(f["received_total"], 5, "{f}");
        assert_eq!(
            f["received_by_channel"],
            json!({"web_form": 4, "hotline": 1})
        );
        assert_eq!(
            f["received_by_kind"],
            json!({"phan_anh": 4, "kien_nghi": 1})
        );
        assert_eq!(
            f["received_by_content_category"],
            json!({"implementation_problem": 1, "proposed_solution": 1, "unfit_for_reality": 2, "unclassified": 1})
        );
        // D once and E twice were forwarded; E came back once.
        assert_eq!(f["forwarded_in"], 3);
        assert_eq!(f["forwarded_out"], 1);
        assert_eq!(
            f["forwarded_by_agency"],
            json!({"48.SXD": {"in": 2, "out": 1}, "48.STP": {"in": 1, "out": 0}})
        );
        assert_eq!(f["not_accepted_total"], 1);
        assert_eq!(f["not_accepted_by_reason"], json!({"R02": 1}));
        assert_eq!(f["answered_total"], 2);
        assert_eq!(f["answered_on_time"], 2);
        assert_eq!(f["answered_within_extension"], 0);
        assert_eq!(f["answered_late"], 0);
        assert_eq!(
            f["answered_by_agency"],
            json!({
                "48.VP": {"total": 1, "on_time": 1, "within_extension": 0, "late": 0},
                "48.SXD": {"total": 1, "on_time": 1, "within_extension": 0, "late": 0},
            })
        );
        assert_eq!(f["published"], 1);
        assert_eq!(f["rated"], 1);
        assert_eq!(f["rating_by_score"], json!({"2": 1}));
        assert_eq!(f["open_within_deadline"], 1);
        assert_eq!(f["open_past_deadline"], 1);
        // Both answers came the day they were received: 0 working days.
        assert_eq!(
            f["handling_working_days"],
            json!({"count": 2, "median": 0.0, "p90": 0.0})
        );
        // The call was keyed in 40 days (960 hours) after it came.
        assert_eq!(f["entry_delay_hours"]["count"], 1);
        let delay = f["entry_delay_hours"]["median"].as_f64().unwrap();
        assert!((959.9..=960.1).contains(&delay), "{delay}");
        // The same days as dates give the same figures; another year none.
        let (from, to) = (
            province.body["period"]["from"].as_str().unwrap(),
            province.body["period"]["to"].as_str().unwrap(),
        );
        let range = stats(&app, &control, &format!("from={from}&to={to}")).await;
        assert_eq!(range.body["figures"], province.body["figures"]);
        let before = stats(&app, &control, "period=2025").await;
        assert_eq!(before.body["figures"]["received_total"], 0);
        assert_eq!(before.body["figures"]["answered_total"], 0);

        // The Sở's lead sees the Sở's items only, asked or not: what it
        // holds, and what came to it and went back.
        for query in [
            format!("period={period}"),
            format!("period={period}&agency=48.SXD"),
        ] {
            let own = stats(&app, &lead, &query).await;
            assert_eq!(own.status, StatusCode::OK);
            assert_eq!(own.body["scope"]["agency"], "48.SXD");
            let f = &own.body["figures"];
            assert_eq!(f["received_total"], 1, "{f}");
            assert_eq!(f["answered_on_time"], 1);
            assert_eq!(f["rating_by_score"], json!({"2": 1}));
            assert_eq!(f["published"], 0);
            assert_eq!(f["forwarded_in"], 2);
            assert_eq!(f["forwarded_out"], 1);
            assert_eq!(
                f["forwarded_by_agency"],
                json!({"48.SXD": {"in": 2, "out": 1}})
            );
        }
        // One field: the forwarding of its items only.
        let field = stats(&app, &auditor, &format!("period={period}&field=xay_dung")).await;
        assert_eq!(field.status, StatusCode::OK, "{}", field.body);
        assert_eq!(field.body["figures"]["forwarded_in"], 3);
        let other = stats(&app, &auditor, &format!("period={period}&field=ho_tich")).await;
        assert_eq!(other.status, StatusCode::OK, "{}", other.body);
        assert_eq!(other.body["figures"]["forwarded_in"], 0);
        assert_eq!(other.body["figures"]["forwarded_by_agency"], json!({}));
        assert_eq!(
            stats(&app, &lead, &format!("period={period}&agency=48.VP"))
                .await
                .status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            stats(&app, &officer, &format!("period={period}"))
                .await
                .status,
            StatusCode::FORBIDDEN
        );
        // Mistakes are named.
        let bad = stats(&app, &auditor, "period=2026-Q5&agency=KHONG").await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(bad.field_errors().len(), 2);
        // About the parameters, not about a submission under Decree 20.
        let detail = bad.body["detail"].as_str().unwrap();
        assert!(
            detail.contains("“period”") && detail.contains("“agency”"),
            "{detail}"
        );
        assert!(!detail.contains("Nghị định 20"), "{detail}");
        let reversed = stats(&app, &auditor, "from=2026-12-01&to=2026-01-01").await;
        assert_eq!(reversed.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
}

/// A kiến nghị with its category from the web form, not accepted (R02).
async fn not_accepted_r02(app: &TestApp, control: &str) {
    let mut item = valid_submission();
    item["kind"] = json!("kien_nghi");
    item["content_category"] = json!("proposed_solution");
    let code = app.post_feedback(&item).await.body["tracking_code"]
        .as_str()
        .unwrap()
        .to_string();
    step(
        app,
        control,
        &code,
        "reject",
        json!({"reason_code": "R02", "note": "Tố cáo"}),
    )
    .await;
}

/// A call keyed in 40 days after it came: open, past its deadline.
async fn call_keyed_in_late(app: &TestApp, control: &str) {
    let call = crate::staff::hotline_call(Utc::now() - Duration::days(40));
    let c = app
        .send(
            Method::POST,
            "/api/v1/staff/feedback",
            "/api/v1/staff/feedback",
            |r| r.bearer_auth(control).json(&call),
        )
        .await;
    assert_eq!(c.status, StatusCode::CREATED, "{}", c.body);
}

/// A web-form item classified, forwarded to the Sở Xây dựng (48.SXD) and
/// answered there on the day: its tracking code and lookup token.
pub async fn answered_by_the_so(
    app: &TestApp,
    control: &str,
    officer: &str,
    lead: &str,
) -> (String, String) {
    let d = app.post_feedback(&valid_submission()).await;
    let d_code = d.body["tracking_code"].as_str().unwrap().to_string();
    let d_token = d.body["lookup_token"].as_str().unwrap().to_string();
    step(
        app,
        control,
        &d_code,
        "classify",
        json!({"content_category": "unfit_for_reality"}),
    )
    .await;
    step(
        app,
        control,
        &d_code,
        "forward",
        json!({"agency_code": "48.SXD"}),
    )
    .await;
    step(app, officer, &d_code, "accept", json!({})).await;
    step(
        app,
        officer,
        &d_code,
        "answer",
        json!({"text": "Sở đã rà soát quy định."}),
    )
    .await;
    step(app, lead, &d_code, "sign-off", json!({})).await;
    step(app, control, &d_code, "approve", json!({})).await;
    (d_code, d_token)
}

/// The six-month period (ND 09/2019 cut-offs: 15/12–14/06, 15/06–14/12)
/// that today falls in, as `YYYY-H1` / `YYYY-H2`.
pub fn current_half_year() -> String {
    let today = pakn::domain::time::vietnam_date(Utc::now());
    let (year, md) = (today.year(), (today.month(), today.day()));
    if md >= (12, 15) {
        format!("{}-H1", year + 1)
    } else if md >= (6, 15) {
        format!("{year}-H2")
    } else {
        format!("{year}-H1")
    }
}

#[apply(case_once!)]
async fn a_half_year_runs_from_the_15th_to_the_14th() {
    let app = crate::helpers::spawn("sqlite", &|_| {}).await;
    let auditor = sign_in_as(&app, "thanhtra.ky", Role::Auditor, "48.VP").await;
    let h2 = stats(&app, &auditor, "period=2026-H2").await;
    assert_eq!(h2.body["period"]["from"], "2026-06-15");
    assert_eq!(h2.body["period"]["to"], "2026-12-14");
    assert_eq!(h2.body["period"]["label"], "6 tháng cuối năm 2026");
    let h1 = stats(&app, &auditor, "period=2027-H1").await;
    assert_eq!(h1.body["period"]["from"], "2026-12-15");
    assert_eq!(h1.body["period"]["to"], "2027-06-14");
}

/// An answer's timeliness and working days are kept on the item when it
/// is sent, and the statistics read them from there: the same figures as
/// judging each answer against its deadline at report time (what answers
/// sent before they were kept still get), for an answer on time, one
/// within an extension and a late one. `pakn recount` finds answers
/// without kept figures and `--repair` fills them in.
#[apply(case!)]
async fn answers_keep_their_timeliness_and_the_figures_do_not_change() {
    use sea_orm::ConnectionTrait;
    for app in apps().await {
        let control = sign_in_as(&app, "kiemsoat.kt", Role::ControlOffice, "48.VP").await;
        let auditor = sign_in_as(&app, "thanhtra.kt", Role::Auditor, "48.VP").await;
        let db = app.store.connection();
        let backend = db.get_database_backend();
        let at = |days: i64| {
            let t = Utc::now() + Duration::days(days);
            match backend {
                sea_orm::DbBackend::Postgres => format!("'{}'::timestamptz", t.to_rfc3339()),
                _ => format!("'{}'", t.to_rfc3339()),
            }
        };
        // (original due, due) of each item's answer deadline before it is
        // answered: on time, within an extension, late.
        let deadlines = [(None, None), (Some(-2), Some(3)), (Some(-3), Some(-1))];
        for (original, due) in deadlines {
            let r = app.post_feedback(&valid_submission()).await;
            let code = r.body["tracking_code"].as_str().unwrap().to_string();
            step(
                &app,
                &control,
                &code,
                "classify",
                json!({"content_category": "implementation_problem"}),
            )
            .await;
            step(&app, &control, &code, "accept", json!({})).await;
            if let (Some(original), Some(due)) = (original, due) {
                db.execute_unprepared(&format!(
                    "UPDATE feedback_deadline SET original_due_at = {}, due_at = {} \
                     WHERE kind = 'answer' AND feedback_item_id = \
                       (SELECT id FROM feedback_item WHERE tracking_code = '{code}')",
                    at(original),
                    at(due)
                ))
                .await
                .unwrap();
            }
            step(
                &app,
                &control,
                &code,
                "answer",
                json!({"text": "Đã trả lời."}),
            )
            .await;
            step(&app, &control, &code, "sign-off", json!({})).await;
            step(&app, &control, &code, "approve", json!({})).await;
        }
        let kept: Vec<(Option<String>, Option<i32>)> = {
            let rows = db
                .query_all_raw(sea_orm::Statement::from_string(
                    backend,
                    "SELECT answer_timeliness, handling_working_days FROM feedback_item \
                     WHERE answered_at IS NOT NULL ORDER BY received_at",
                ))
                .await
                .unwrap();
            rows.iter()
                .map(|r| {
                    (
                        r.try_get("", "answer_timeliness").unwrap(),
                        r.try_get("", "handling_working_days").unwrap(),
                    )
                })
                .collect()
        };
        assert_eq!(
            kept,
            vec![
                (Some("on_time".to_string()), Some(0)),
                (Some("within_extension".to_string()), Some(0)),
                (Some("late".to_string()), Some(0)),
            ]
        );
        let period = format!("period={}", current_half_year());
        let figures = stats(&app, &auditor, &period).await.body["figures"].clone();
        assert_eq!(figures["answered_total"], 3, "{figures}");
        assert_eq!(figures["answered_on_time"], 1);
        assert_eq!(figures["answered_within_extension"], 1);
        assert_eq!(figures["answered_late"], 1);
        assert_eq!(
            figures["answered_by_agency"],
            json!({"48.VP": {"total": 3, "on_time": 1, "within_extension": 1, "late": 1}})
        );
        assert_eq!(figures["handling_working_days"]["count"], 3);

        // As answers sent before the figures were kept: judged at report
        // time, the same figures.
        db.execute_unprepared(
            "UPDATE feedback_item SET answer_timeliness = NULL, handling_working_days = NULL",
        )
        .await
        .unwrap();
        assert_eq!(
            stats(&app, &auditor, &period).await.body["figures"],
            figures
        );
        let (ok, report) = crate::cli::recount(&app, &[]);
        assert!(!ok, "{report}");
        assert_eq!(
            report["answers"],
            json!({"answered": 3, "timeliness_differing": 3, "working_days_missing": 3, "after_repair": null})
        );
        let (ok, report) = crate::cli::recount(&app, &["--repair"]);
        assert!(ok, "{report}");
        assert_eq!(
            report["answers"]["after_repair"],
            json!({"answered": 3, "timeliness_differing": 0, "working_days_missing": 0})
        );
        assert_eq!(
            stats(&app, &auditor, &period).await.body["figures"],
            figures
        );
    }
}

/// The province's statistics over whole days are sums of the figures kept
/// per day: equal to grouping the items (the same period read from one
/// second earlier, which groups them), before and after a fold; `pakn
/// recount` finds a kept day gone wrong and rebuilds it.
#[apply(case!)]
async fn the_provinces_figures_are_kept_per_day_and_equal_the_items() {
    use chrono::NaiveTime;
    use pakn::domain::time::{vietnam_date, vietnam_instant};
    use pakn::store::statistics::StatsScope;
    use sea_orm::ConnectionTrait;
    for app in apps().await {
        let control = sign_in_as(&app, "kiemsoat.ng", Role::ControlOffice, "48.VP").await;
        let lead = sign_in_as(&app, "truongphong.ng", Role::AgencyLead, "48.SXD").await;
        let officer = sign_in_as(&app, "chuyenvien.ng", Role::AgencyOfficer, "48.SXD").await;
        app.post_feedback(&valid_submission()).await;
        not_accepted_r02(&app, &control).await;
        call_keyed_in_late(&app, &control).await;
        answered_by_the_so(&app, &control, &officer, &lead).await;

        let store = &app.store;
        let now = Utc::now();
        let today = vietnam_date(now);
        let from = vietnam_instant(today - Duration::days(60), NaiveTime::MIN);
        let to = vietnam_instant(today + Duration::days(1), NaiveTime::MIN);
        let figures = |from| async move {
            store
                .statistics(StatsScope::default(), from, to, now)
                .await
                .unwrap()
        };
        let counted = figures(from - Duration::seconds(1)).await;
        assert_eq!(counted.received_total, 4, "[{}] {counted:?}", app.backend);
        assert_eq!(counted.not_accepted_total, 1);
        assert_eq!(counted.answered_total, 1);
        assert_eq!(counted.open_past_deadline, 1);
        assert_eq!(
            figures(from).await,
            counted,
            "[{}] kept = counted",
            app.backend
        );
        assert!(store.compact_kept_counts().await.unwrap() > 0);
        assert_eq!(figures(from).await, counted, "folding changes no figure");

        let (ok, report) = crate::cli::recount(&app, &[]);
        assert!(ok, "{report}");
        assert_eq!(report["statistics_by_day"]["differing"], 0);
        assert!(report["statistics_by_day"]["compared"].as_u64().unwrap() >= 5);

        // A kept day gone wrong: the province's figures show it (they are
        // read from the kept days), recount finds it and rebuilds them.
        let day = (now.timestamp() + 7 * 3600).div_euclid(86_400);
        store
            .connection()
            .execute_unprepared(&format!(
                "INSERT INTO stat_day_delta (figure, day, k1, k2, k3, delta) \
                 VALUES ('received', {day}, 'web_form', 'phan_anh', 'x', 2)"
            ))
            .await
            .unwrap();
        assert_eq!(figures(from).await.received_total, 6);
        let (ok, report) = crate::cli::recount(&app, &[]);
        assert!(!ok);
        assert_eq!(
            report["statistics_by_day"]["differences"],
            json!([{"figure": "received", "day": day, "k1": "web_form", "k2": "phan_anh",
                    "k3": "x", "kept": 2, "counted": 0}])
        );
        let (ok, report) = crate::cli::recount(&app, &["--repair"]);
        assert!(ok, "{report}");
        assert_eq!(report["statistics_by_day"]["repaired"], true);
        assert_eq!(figures(from).await, counted);
    }
}
