//! What a newcomer meets first: the home page, the office named as a city
//! or a province, a lost lookup token recovered by e-mail, the answer in
//! the answer e-mail, labels that fit each state, the CLI's manners.

use crate::case;
use macro_rules_attribute::apply;

use pakn::domain::staff::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::auth::sign_in_as;
use crate::helpers::{Reply, TestApp, apps, apps_with, valid_submission};
use crate::mail::deliver;
use crate::mail_servers::SmtpSink;
use crate::public_qa::publish;
use crate::stats::answered_by_the_so;
use crate::workflow::step;

fn text(r: &Reply) -> String {
    String::from_utf8_lossy(&r.bytes).to_string()
}

async fn get_page(app: &TestApp, template: &str, path: &str) -> Reply {
    app.send(Method::GET, template, path, |r| {
        r.header("accept", "text/html")
    })
    .await
}

async fn post_page(app: &TestApp, template: &str, path: &str, form: &[(&str, &str)]) -> Reply {
    let body = serde_urlencoded::to_string(form).unwrap();
    let origin = app.base.clone();
    app.send(Method::POST, template, path, |r| {
        r.header("accept", "text/html")
            .header("origin", origin)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
    })
    .await
}

#[apply(case!)]
async fn the_home_page_names_the_office_offers_three_tasks_and_lists_published_answers() {
    for app in apps().await {
        let home = get_page(&app, "/", "/").await;
        assert_eq!(home.status, StatusCode::OK, "[{}]", app.backend);
        assert!(
            home.header("content-type")
                .unwrap()
                .starts_with("text/html")
        );
        let page = text(&home);
        assert!(
            page.contains("Văn phòng Ủy ban nhân dân thành phố Đà Nẵng"),
            "{page}"
        );
        for link in [
            "href=\"/gui-phan-anh\"",
            "href=\"/tra-cuu\"",
            "href=\"/hoi-dap\"",
            "href=\"/tra-cuu/khoi-phuc\"",
        ] {
            assert!(page.contains(link), "{link}");
        }
        // The office's contacts from [province], on the page and in the
        // footer of every public page.
        assert!(page.contains("href=\"tel:1022\""), "{page}");
        assert!(page.contains("24 Trần Phú"));
        assert!(page.contains("Chưa có câu trả lời nào được công khai"));
        let about = text(&get_page(&app, "/gioi-thieu", "/gioi-thieu").await);
        assert!(about.contains("href=\"tel:1022\""));

        let control = sign_in_as(&app, "kiemsoat.home", Role::ControlOffice, "48.VP").await;
        let code = publish(
            &app,
            &control,
            valid_submission(),
            "Giấy phép xây dựng nhà ở riêng lẻ chậm",
            "Hồ sơ nộp đã quá hạn.",
            "Sở Xây dựng đã cấp giấy phép.",
        )
        .await;
        let page = text(&get_page(&app, "/", "/").await);
        assert!(
            page.contains(&format!("href=\"/hoi-dap/{code}\"")),
            "{page}"
        );
        assert!(page.contains("Giấy phép xây dựng nhà ở riêng lẻ chậm"));
        // Never the submitter's details.
        assert!(!page.contains("Nguyễn Văn An") && !page.contains("0912 345 678"));
    }
}

#[apply(case!)]
async fn a_province_is_called_a_province_and_a_city_a_city_on_every_page() {
    // The default (Đà Nẵng) is a centrally governed city.
    for app in apps().await {
        for (template, path) in [
            ("/", "/"),
            ("/gui-phan-anh", "/gui-phan-anh"),
            ("/gioi-thieu", "/gioi-thieu"),
        ] {
            let page = text(&get_page(&app, template, path).await);
            for wrong in [
                "Ủy ban nhân dân tỉnh",
                "trong tỉnh",
                "Ngoài tỉnh",
                "UBND tỉnh",
            ] {
                assert!(!page.contains(wrong), "{path} says {wrong:?}");
            }
        }
        let form = text(&get_page(&app, "/gui-phan-anh", "/gui-phan-anh").await);
        assert!(form.contains("Ngoài thành phố hoặc không chọn"));
    }
    for app in apps_with(|s| {
        s.province.kind = "tinh".into();
        s.province.name = "Quảng Ngãi".into();
        s.province.hotline = String::new();
        s.province.postal_address = String::new();
    })
    .await
    {
        let home = text(&get_page(&app, "/", "/").await);
        assert!(
            home.contains("Văn phòng Ủy ban nhân dân tỉnh Quảng Ngãi"),
            "{home}"
        );
        assert!(!home.contains("thành phố Đà Nẵng"));
        // Missing contact lines are left out, never shown empty.
        assert!(!home.contains("tel:") && !home.contains("Đường dây nóng"));
        let form = text(&get_page(&app, "/gui-phan-anh", "/gui-phan-anh").await);
        assert!(form.contains("Ngoài tỉnh hoặc không chọn"), "{form}");
        assert!(form.contains("Xã, phường (trong tỉnh)"));
    }
}

async fn recover(app: &TestApp, code: &str, email: &str) -> Reply {
    app.send(
        Method::POST,
        "/api/v1/lookup-recovery",
        "/api/v1/lookup-recovery",
        |r| r.json(&json!({"tracking_code": code, "email": email})),
    )
    .await
}

async fn recovery_notices(app: &TestApp) -> usize {
    app.store
        .list_notices(false, 500)
        .await
        .unwrap()
        .iter()
        .filter(|n| n.kind == "citizen_token_recovery")
        .count()
}

#[apply(case!)]
async fn a_lost_token_is_recovered_once_through_the_address_on_file_and_nobody_learns_whose_item_is_whose()
 {
    for app in apps().await {
        let Some(sink) = SmtpSink::start() else {
            return;
        };
        let r = app.post_feedback(&valid_submission()).await;
        let code = r.body["tracking_code"].as_str().unwrap().to_string();
        let old_token = r.body["lookup_token"].as_str().unwrap().to_string();

        // A wrong address, an unknown code and a malformed code get the
        // same answer, and nothing is sent.
        let wrong = recover(&app, &code, "someone@example.vn").await;
        let unknown = recover(&app, "PAKN.48.20261203.9999", "an.nguyen@example.vn").await;
        let right = recover(&app, &code.to_lowercase(), " An.Nguyen@Example.vn ").await;
        for reply in [&wrong, &unknown, &right] {
            assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);
        }
        assert_eq!(wrong.body, right.body);
        assert_eq!(unknown.body, right.body);
        assert_eq!(recovery_notices(&app).await, 1, "[{}]", app.backend);
        // One link per item per period, however often it is asked for.
        recover(&app, &code, "an.nguyen@example.vn").await;
        assert_eq!(recovery_notices(&app).await, 1);
        // Empty fields are the client's mistake, field by field.
        let empty = recover(&app, "", "").await;
        assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            empty.field_errors(),
            vec![
                ("tracking_code".to_string(), "required".to_string()),
                ("email".to_string(), "required".to_string())
            ]
        );

        // The e-mail carries the link; the database only its digest.
        deliver(&app, &sink).await;
        let mail = sink
            .wait_for(|m| m.contains("To: an.nguyen@example.vn") && m.contains("tra-cuu/khoi-phuc"))
            .await;
        let parsed = mail_parser::MessageParser::default()
            .parse(mail.as_bytes())
            .unwrap();
        let body = parsed.body_text(0).unwrap().to_string();
        assert!(body.contains(&code), "{body}");
        assert!(!body.contains(&old_token), "never the token itself");
        let link = body
            .split_whitespace()
            .find(|w| w.contains("/tra-cuu/khoi-phuc?khoa="))
            .unwrap()
            .to_string();
        let key = link.rsplit_once("khoa=").unwrap().1.to_string();
        let payloads: Vec<Value> = app
            .store
            .list_notices(false, 500)
            .await
            .unwrap()
            .into_iter()
            .map(|n| n.payload)
            .collect();
        assert!(payloads.iter().all(|p| !p.to_string().contains(&key)));

        // Opening the link changes nothing (mail scanners open links).
        let path = format!("/tra-cuu/khoi-phuc?khoa={key}");
        let opened = get_page(&app, "/tra-cuu/khoi-phuc", &path).await;
        assert_eq!(opened.status, StatusCode::OK);
        assert_eq!(opened.header("referrer-policy"), Some("no-referrer"));
        assert!(text(&opened).contains("Nhận mã tra cứu mới"));
        assert_eq!(app.lookup(&code, &old_token).await.status, StatusCode::OK);

        // The button issues a new token, once; the old one stops working.
        let issued = post_page(
            &app,
            "/tra-cuu/khoi-phuc/ma-moi",
            "/tra-cuu/khoi-phuc/ma-moi",
            &[("khoa", &key)],
        )
        .await;
        assert_eq!(issued.status, StatusCode::OK);
        let page = text(&issued);
        let groups = crate::submit_page::grouped(&page, "ma-tra-cuu");
        assert_eq!(groups.len(), 28, "{groups}");
        assert_eq!(app.lookup(&code, &groups).await.status, StatusCode::OK);
        assert_eq!(
            app.lookup(&code, &old_token).await.status,
            StatusCode::NOT_FOUND
        );
        let again = post_page(
            &app,
            "/tra-cuu/khoi-phuc/ma-moi",
            "/tra-cuu/khoi-phuc/ma-moi",
            &[("khoa", &key)],
        )
        .await;
        assert_eq!(again.status, StatusCode::NOT_FOUND);
        let api_again = app
            .send(
                Method::POST,
                "/api/v1/lookup-recovery/redeem",
                "/api/v1/lookup-recovery/redeem",
                |r| r.json(&json!({"key": key})),
            )
            .await;
        assert_eq!(api_again.status, StatusCode::NOT_FOUND);
        // Audited without personal data.
        let events = app
            .store
            .audit_events_for(pakn::domain::ids::FeedbackId::from_uuid(
                app.store
                    .find_feedback_by_code(&code.parse().unwrap())
                    .await
                    .unwrap()
                    .unwrap()
                    .item
                    .id,
            ));
        let actions: Vec<String> = events
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect();
        assert!(actions.contains(&"feedback.lookup_recovery_requested".to_string()));
        assert!(actions.contains(&"feedback.lookup_token_reissued".to_string()));
    }
}

#[apply(case!)]
async fn the_recovery_form_answers_mistakes_beside_the_field_and_the_same_page_for_everything_else()
{
    for app in apps().await {
        let form = get_page(&app, "/tra-cuu/khoi-phuc", "/tra-cuu/khoi-phuc").await;
        assert_eq!(form.status, StatusCode::OK);
        let bad = post_page(
            &app,
            "/tra-cuu/khoi-phuc",
            "/tra-cuu/khoi-phuc",
            &[
                ("ma", "PAKN.48.20261203.0001"),
                ("email", "khong-phai-dia-chi"),
            ],
        )
        .await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        let page = text(&bad);
        assert!(page.contains("id=\"email-loi\""), "{page}");
        assert!(page.contains("value=\"khong-phai-dia-chi\""));
        assert!(page.contains("value=\"PAKN.48.20261203.0001\""));
        let sent = post_page(
            &app,
            "/tra-cuu/khoi-phuc",
            "/tra-cuu/khoi-phuc",
            &[("ma", "PAKN.48.20261203.0001"), ("email", "ai@example.vn")],
        )
        .await;
        assert_eq!(sent.status, StatusCode::OK);
        assert!(text(&sent).contains("id=\"da-gui\""));
        // A cross-site post is refused.
        let cross = app
            .send(
                Method::POST,
                "/tra-cuu/khoi-phuc",
                "/tra-cuu/khoi-phuc",
                |r| {
                    r.header("origin", "https://evil.example")
                        .header("content-type", "application/x-www-form-urlencoded")
                        .body("ma=x&email=y%40z")
                },
            )
            .await;
        assert_eq!(cross.status, StatusCode::FORBIDDEN);
        let dead = get_page(
            &app,
            "/tra-cuu/khoi-phuc",
            &format!("/tra-cuu/khoi-phuc?khoa={}", "a".repeat(64)),
        )
        .await;
        assert_eq!(dead.status, StatusCode::NOT_FOUND);
    }
}

#[apply(case!)]
async fn the_answer_e_mail_carries_the_answer_unless_the_office_sends_only_a_link() {
    for text_in_mail in [true, false] {
        for app in apps_with(|s| s.mail.answer_text_in_mail = text_in_mail).await {
            let Some(sink) = SmtpSink::start() else {
                return;
            };
            let control = sign_in_as(&app, "kiemsoat.m", Role::ControlOffice, "48.VP").await;
            let officer = sign_in_as(&app, "sxd.cv.m", Role::AgencyOfficer, "48.SXD").await;
            let lead = sign_in_as(&app, "sxd.ld.m", Role::AgencyLead, "48.SXD").await;
            let (code, _) = answered_by_the_so(&app, &control, &officer, &lead).await;
            let answer = app
                .store
                .find_feedback_by_code(&code.parse().unwrap())
                .await
                .unwrap()
                .unwrap()
                .item
                .answer
                .unwrap();
            deliver(&app, &sink).await;
            let mail = sink
                .wait_for(|m| {
                    m.contains("To: an.nguyen@example.vn")
                        && m.contains("=?utf-8?")
                        && m.contains(&code)
                        && {
                            let parsed = mail_parser::MessageParser::default().parse(m.as_bytes());
                            parsed.is_some_and(|p| {
                                p.subject()
                                    .unwrap_or_default()
                                    .starts_with("Đã có kết quả trả lời")
                            })
                        }
                })
                .await;
            let parsed = mail_parser::MessageParser::default()
                .parse(mail.as_bytes())
                .unwrap();
            let body = parsed.body_text(0).unwrap().to_string();
            assert_eq!(body.contains(answer.trim()), text_in_mail, "{body}");
            assert!(body.contains(&format!("/tra-cuu?ma={code}")), "{body}");
        }
    }
}

#[apply(case!)]
async fn every_state_tells_the_citizen_what_the_agency_is_to_them_now() {
    for app in apps().await {
        let control = sign_in_as(&app, "kiemsoat.l", Role::ControlOffice, "48.VP").await;
        let officer = sign_in_as(&app, "sxd.cv.l", Role::AgencyOfficer, "48.SXD").await;
        let lead = sign_in_as(&app, "sxd.ld.l", Role::AgencyLead, "48.SXD").await;
        let label = |r: &Reply| {
            (
                r.body["status"].as_str().unwrap().to_string(),
                r.body["agency_label"].as_str().unwrap().to_string(),
            )
        };
        let submit = || async {
            let r = app.post_feedback(&valid_submission()).await;
            (
                r.body["tracking_code"].as_str().unwrap().to_string(),
                r.body["lookup_token"].as_str().unwrap().to_string(),
            )
        };
        let (received, t1) = submit().await;
        let r = app.lookup(&received, &t1).await;
        assert_eq!(label(&r), ("received".into(), "Cơ quan tiếp nhận".into()));
        assert!(r.body["due_at"].is_string());

        let (asked, t2) = submit().await;
        step(
            &app,
            &control,
            &asked,
            "request-info",
            json!({"message": "Đề nghị cung cấp số biên nhận."}),
        )
        .await;
        let r = app.lookup(&asked, &t2).await;
        assert_eq!(label(&r).1, "Cơ quan đề nghị bổ sung");

        let (forwarded, t3) = submit().await;
        step(
            &app,
            &control,
            &forwarded,
            "classify",
            json!({"content_category": "implementation_problem"}),
        )
        .await;
        step(
            &app,
            &control,
            &forwarded,
            "forward",
            json!({"agency_code": "48.SXD"}),
        )
        .await;
        let r = app.lookup(&forwarded, &t3).await;
        assert_eq!(
            label(&r),
            ("in_progress".into(), "Cơ quan đang xử lý".into())
        );

        let (rejected, t4) = submit().await;
        step(
            &app,
            &control,
            &rejected,
            "reject",
            json!({"reason_code": "R02", "note": "Nội dung tố cáo"}),
        )
        .await;
        let r = app.lookup(&rejected, &t4).await;
        assert_eq!(
            label(&r),
            ("not_accepted".into(), "Cơ quan đã xem xét".into())
        );
        assert!(r.body["due_at"].is_null(), "no due date once refused");

        let (answered, t5) = answered_by_the_so(&app, &control, &officer, &lead).await;
        let r = app.lookup(&answered, &t5).await;
        assert_eq!(label(&r), ("answered".into(), "Cơ quan trả lời".into()));
        assert!(r.body["due_at"].is_null(), "no due date once answered");
        // The page says the same.
        let page = app
            .send(Method::POST, "/tra-cuu", "/tra-cuu", |rb| {
                rb.header("origin", app.base.clone())
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(
                        serde_urlencoded::to_string([
                            ("ma", answered.as_str()),
                            ("token", t5.as_str()),
                        ])
                        .unwrap(),
                    )
            })
            .await;
        let html = text(&page);
        assert!(html.contains("Cơ quan trả lời"), "{html}");
        assert!(!html.contains("Cơ quan đang xử lý"));
        assert!(!html.contains("Hạn trả lời"));
    }
}

#[apply(case!)]
async fn the_receipt_shows_code_and_token_unbroken_in_groups_with_a_copy_button() {
    for app in apps().await {
        let (stamp, key) = crate::submit_page::open_form(&app).await;
        let fields = crate::submit_page::with(
            crate::submit_page::filled(&stamp, &key),
            "submitter.email",
            "",
        );
        let done = crate::submit_page::post_form(&app, &fields).await;
        assert_eq!(done.status, StatusCode::CREATED, "{}", text(&done));
        let html = text(&done);
        assert!(
            html.contains("class=\"code-groups\" id=\"ma-so\""),
            "{html}"
        );
        assert!(
            html.contains(
                "<button type=\"button\" class=\"copy\" data-copy=\"ma-tra-cuu\" hidden>"
            )
        );
        assert!(html.contains("<script src=\"/static/receipt.js\" defer></script>"));
        assert!(
            done.header("content-security-policy")
                .unwrap()
                .contains("script-src 'self'")
        );
        // No address given: the page says the token cannot come by mail.
        assert!(html.contains("không thể cấp lại qua thư"));
        let script = app
            .send(
                Method::GET,
                "/static/receipt.js",
                "/static/receipt.js",
                |r| r,
            )
            .await;
        assert_eq!(script.status, StatusCode::OK);
    }
}
