//! The staff console over HTTP, on both databases: the queue with its
//! filters and saved views, the item page and its action panel, forms that
//! come back with their mistakes, conflicts that keep what was typed, bulk
//! triage, the intake desk, live counts across instances, and the same
//! decisions as the API for every action and role. (The same pages in a
//! real browser: `console_browser.rs`.)

use crate::case;
use macro_rules_attribute::apply;

use std::time::Duration;

use chrono::Utc;
use pakn::domain::staff::Role;
use pakn::domain::workflow::Action;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::auth::sign_in_as;
use crate::helpers::{Reply, TestApp, another_instance, apps, valid_submission};
use crate::workflow::{current, step, submit};

const HOSTILE: &str = "<script>window.__pakn_xss=1</script>";

/// A console page as a browser asks for it (the session as a bearer token,
/// which the console accepts like its cookie).
pub async fn page(app: &TestApp, token: &str, template: &str, path: &str) -> Reply {
    app.send(Method::GET, template, path, |r| {
        r.bearer_auth(token).header("accept", "text/html")
    })
    .await
}

/// A console form posted as a browser posts it, from the service's origin.
pub async fn post_form(
    app: &TestApp,
    token: &str,
    template: &str,
    path: &str,
    form: &[(&str, &str)],
) -> Reply {
    let body = serde_urlencoded::to_string(form).unwrap();
    let origin = app.base.clone();
    app.send(Method::POST, template, path, |r| {
        r.bearer_auth(token)
            .header("accept", "text/html")
            .header("origin", origin)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
    })
    .await
}

pub fn html(reply: &Reply) -> &str {
    reply.body.as_str().unwrap_or_default()
}

fn location(reply: &Reply) -> String {
    reply.header("location").unwrap_or_default().to_string()
}

async fn item_page(app: &TestApp, token: &str, code: &str) -> Reply {
    page(
        app,
        token,
        "/nhan-vien/phan-anh/{tracking_code}",
        &format!("/nhan-vien/phan-anh/{code}"),
    )
    .await
}

async fn act(app: &TestApp, token: &str, code: &str, action: &str, form: &[(&str, &str)]) -> Reply {
    post_form(
        app,
        token,
        "/nhan-vien/phan-anh/{tracking_code}/{action}",
        &format!("/nhan-vien/phan-anh/{code}/{action}"),
        form,
    )
    .await
}

async fn version(app: &TestApp, token: &str, code: &str) -> String {
    current(app, token, code).await["version"].to_string()
}

/// The queue's rows (the page also names the newest arrivals above them).
fn rows(page: &str) -> &str {
    page.split("<tbody>")
        .nth(1)
        .and_then(|r| r.split("</tbody>").next())
        .unwrap_or_default()
}

/// The actions whose forms an item page offers.
fn offered(page: &str) -> Vec<String> {
    page.split("id=\"tac-vu-")
        .skip(1)
        .filter_map(|rest| rest.split('"').next().map(str::to_string))
        .collect()
}

fn email_submission(title: &str) -> String {
    crate::mail::citizen_mail(
        &format!("{}@dan.example", uuid::Uuid::now_v7().simple()),
        "an.nguyen@example.vn",
        title,
        "Kính gửi Văn phòng UBND thành phố,\n\nThủ tục cấp giấy phép xây dựng nhà ở riêng lẻ đòi nộp bản sao công chứng giấy tờ đất hai lần.\n\nHọ và tên: Nguyễn Văn An\nĐịa chỉ: 12 Lê Lợi, phường Hải Châu, TP Đà Nẵng\nĐiện thoại: 0905123456\n",
    )
}

#[apply(case!)]
async fn the_queue_shows_the_scope_filters_in_the_url_and_keeps_saved_views() {
    for app in apps().await {
        let control = sign_in_as(&app, "kiemsoat.q", Role::ControlOffice, "48.VP").await;
        let colleague = sign_in_as(&app, "kiemsoat.r", Role::ControlOffice, "48.VP").await;
        let officer = sign_in_as(&app, "sxd.q", Role::AgencyOfficer, "48.SXD").await;
        let mut hostile = valid_submission();
        hostile["title"] = json!(format!("Cấp phép chậm {HOSTILE}"));
        let web = app.post_feedback(&hostile).await.body["tracking_code"]
            .as_str()
            .unwrap()
            .to_string();
        let key = crate::mail::gateway_key(&app).await;
        let mail = crate::mail::push(&app, &key, &email_submission("Giấy phép xây dựng")).await;
        assert!(mail.status.is_success(), "{}", mail.body);
        let second = crate::mail::push(&app, &key, &email_submission("Hồ sơ đất đai")).await;
        assert!(second.status.is_success(), "{}", second.body);

        let queue = page(&app, &control, "/nhan-vien/phan-anh", "/nhan-vien/phan-anh").await;
        assert_eq!(queue.status, StatusCode::OK, "[{}]", app.backend);
        let body = html(&queue);
        assert!(
            body.contains(&web),
            "[{}] the web item is listed",
            app.backend
        );
        assert!(
            body.contains("Thư điện tử"),
            "[{}] an e-mail item is listed",
            app.backend
        );
        // What a citizen wrote is text, never markup.
        assert!(
            !body.contains(HOSTILE),
            "[{}] unescaped citizen text",
            app.backend
        );
        assert!(body.contains("&#60;script&#62;") || body.contains("&lt;script&gt;"));
        // Deadlines in words beside their colour; counts for the scope.
        assert!(
            body.contains("ngày làm việc"),
            "[{}] deadline in words",
            app.backend
        );
        assert!(body.contains("hx-sse:connect=\"/nhan-vien/su-kien\""));
        let csp = queue.header("content-security-policy").unwrap();
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe"),
            "{csp}"
        );
        assert_eq!(queue.header("cache-control"), Some("no-store, private"));

        // Filters live in the URL.
        let emails = page(
            &app,
            &control,
            "/nhan-vien/phan-anh",
            "/nhan-vien/phan-anh?channel=email",
        )
        .await;
        assert!(
            !rows(html(&emails)).contains(&web),
            "[{}] filtered out",
            app.backend
        );
        assert!(
            rows(html(&emails)).contains("Thư điện tử"),
            "[{}]",
            app.backend
        );
        assert!(html(&emails).contains("<option value=\"email\" selected>"));
        let search = page(
            &app,
            &control,
            "/nhan-vien/phan-anh",
            "/nhan-vien/phan-anh?q=cap+phep+cham",
        )
        .await;
        assert!(
            rows(html(&search)).contains(&web),
            "[{}] search without diacritics",
            app.backend
        );

        // A filter that cannot be read: the page names it, keeps it.
        let bad = page(
            &app,
            &control,
            "/nhan-vien/phan-anh",
            "/nhan-vien/phan-anh?received_from=h%C3%B4m-qua",
        )
        .await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST, "[{}]", app.backend);
        assert!(html(&bad).contains("id=\"received_from\" name=\"received_from\" type=\"date\" value=\"hôm-qua\" aria-invalid=\"true\""), "[{}] {}", app.backend, html(&bad));
        // A program gets the API's problem for the same mistake.
        let program = app
            .send(
                Method::GET,
                "/nhan-vien/phan-anh",
                "/nhan-vien/phan-anh?received_from=x",
                |r| r.bearer_auth(&control),
            )
            .await;
        assert_eq!(program.status, StatusCode::BAD_REQUEST);
        assert_eq!(program.body["code"], "malformed_request");

        // A saved view: only the filters are kept, it shows its count, it
        // is the saver's alone, and it can be deleted.
        let saved = post_form(
            &app,
            &control,
            "/nhan-vien/phan-anh/bo-loc",
            "/nhan-vien/phan-anh/bo-loc",
            &[
                ("name", "Thư điện tử mới"),
                ("query", "channel=email&cursor=zzz&bogus=1"),
            ],
        )
        .await;
        assert_eq!(saved.status, StatusCode::SEE_OTHER, "[{}]", app.backend);
        assert_eq!(
            location(&saved),
            "/nhan-vien/phan-anh?channel=email&xong=luu-bo-loc"
        );
        let queue = page(&app, &control, "/nhan-vien/phan-anh", &location(&saved)).await;
        let body = html(&queue);
        assert!(body.contains("Đã lưu bộ lọc."), "[{}]", app.backend);
        assert!(
            body.contains("<a href=\"/nhan-vien/phan-anh?channel=email\" aria-current=\"true\">Thư điện tử mới</a> <span class=\"count\">2</span>"),
            "[{}] {body}",
            app.backend
        );
        let theirs = page(
            &app,
            &colleague,
            "/nhan-vien/phan-anh",
            "/nhan-vien/phan-anh",
        )
        .await;
        assert!(
            !html(&theirs).contains("Thư điện tử mới"),
            "[{}] views are personal",
            app.backend
        );
        let view_id = body
            .split("/nhan-vien/phan-anh/bo-loc/")
            .nth(1)
            .and_then(|r| r.split('/').next())
            .unwrap()
            .to_string();
        let not_theirs = post_form(
            &app,
            &colleague,
            "/nhan-vien/phan-anh/bo-loc/{view_id}/xoa",
            &format!("/nhan-vien/phan-anh/bo-loc/{view_id}/xoa"),
            &[],
        )
        .await;
        assert_eq!(
            not_theirs.status,
            StatusCode::NOT_FOUND,
            "[{}]",
            app.backend
        );
        let deleted = post_form(
            &app,
            &control,
            "/nhan-vien/phan-anh/bo-loc/{view_id}/xoa",
            &format!("/nhan-vien/phan-anh/bo-loc/{view_id}/xoa"),
            &[],
        )
        .await;
        assert_eq!(deleted.status, StatusCode::SEE_OTHER);
        let queue = page(&app, &control, "/nhan-vien/phan-anh", "/nhan-vien/phan-anh").await;
        assert!(
            !html(&queue).contains("Thư điện tử mới"),
            "[{}]",
            app.backend
        );
        // Twenty views at most.
        for n in 0..21 {
            let reply = post_form(
                &app,
                &colleague,
                "/nhan-vien/phan-anh/bo-loc",
                "/nhan-vien/phan-anh/bo-loc",
                &[
                    ("name", &format!("Bộ lọc {n}")),
                    ("query", "state=received"),
                ],
            )
            .await;
            let expected = if n < 20 { "luu-bo-loc" } else { "bo-loc-day" };
            assert!(
                location(&reply).ends_with(expected),
                "[{}] view {n}",
                app.backend
            );
        }

        // An agency sees only what reached it.
        let theirs = page(&app, &officer, "/nhan-vien/phan-anh", "/nhan-vien/phan-anh").await;
        assert_eq!(theirs.status, StatusCode::OK);
        assert!(
            !html(&theirs).contains(&web),
            "[{}] not forwarded yet",
            app.backend
        );
        assert!(
            rows(html(&theirs)).trim().is_empty(),
            "[{}] nothing for the agency",
            app.backend
        );
        // Without a session a browser is sent to sign in and brought back.
        let anonymous = app
            .send(
                Method::GET,
                "/nhan-vien/phan-anh",
                "/nhan-vien/phan-anh?state=received",
                |r| r.header("accept", "text/html"),
            )
            .await;
        assert_eq!(anonymous.status, StatusCode::SEE_OTHER);
        assert_eq!(
            location(&anonymous),
            "/nhan-vien/dang-nhap?tiep=%2Fnhan-vien%2Fphan-anh%3Fstate%3Dreceived"
        );
        let home = page(&app, &control, "/nhan-vien", "/nhan-vien").await;
        assert_eq!(location(&home), "/nhan-vien/phan-anh");
    }
}

#[apply(case!)]
async fn the_item_page_offers_only_what_the_reader_may_do_now() {
    for app in apps().await {
        let control = sign_in_as(&app, "kiemsoat.i", Role::ControlOffice, "48.VP").await;
        let auditor = sign_in_as(&app, "thanhtra.i", Role::Auditor, "48.VP").await;
        let officer = sign_in_as(&app, "sxd.i", Role::AgencyOfficer, "48.SXD").await;
        let stp = sign_in_as(&app, "stp.i", Role::AgencyOfficer, "48.STP").await;
        let (code, _) = submit(&app).await;

        let mine = item_page(&app, &control, &code).await;
        assert_eq!(mine.status, StatusCode::OK);
        let body = html(&mine);
        assert_eq!(
            offered(body),
            ["classify", "request-info", "supplement", "reject", "merge"],
            "[{}] what a received item allows the control office",
            app.backend
        );
        // The submitter as written, and the legal reasons with their basis.
        assert!(body.contains("Nguyễn Văn An") && body.contains("+84912345678"));
        assert!(
            body.contains("value=\"R01\""),
            "[{}] rejection reasons",
            app.backend
        );
        assert!(body.contains("Điều"), "[{}] legal basis shown", app.backend);
        assert!(
            body.contains("Gợi ý cơ quan xử lý"),
            "[{}] routing",
            app.backend
        );

        let read_only = item_page(&app, &auditor, &code).await;
        assert_eq!(read_only.status, StatusCode::OK);
        assert!(
            offered(html(&read_only)).is_empty(),
            "[{}] auditors only read",
            app.backend
        );
        assert!(html(&read_only).contains("không có thao tác nào"));
        let elsewhere = item_page(&app, &officer, &code).await;
        assert_eq!(
            elsewhere.status,
            StatusCode::NOT_FOUND,
            "[{}] not the agency's",
            app.backend
        );

        // Classify, then forward as the routing suggestion proposes.
        let v = version(&app, &control, &code).await;
        let classified = act(
            &app,
            &control,
            &code,
            "classify",
            &[
                ("version", &v),
                ("content_category", "implementation_problem"),
                ("field_code", "xay_dung"),
            ],
        )
        .await;
        assert_eq!(
            classified.status,
            StatusCode::SEE_OTHER,
            "[{}] {}",
            app.backend,
            html(&classified)
        );
        assert_eq!(
            location(&classified),
            format!("/nhan-vien/phan-anh/{code}?xong=classify")
        );
        let after = page(
            &app,
            &control,
            "/nhan-vien/phan-anh/{tracking_code}",
            &location(&classified),
        )
        .await;
        let body = html(&after);
        assert!(
            body.contains("Đã thực hiện: Phân loại."),
            "[{}]",
            app.backend
        );
        assert!(offered(body).contains(&"forward".to_string()));
        let suggested = body
            .split("name=\"agency_code\" value=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap()
            .to_string();
        assert_eq!(
            suggested, "48.SXD",
            "[{}] the routing suggestion",
            app.backend
        );
        let v = version(&app, &control, &code).await;
        let forwarded = act(
            &app,
            &control,
            &code,
            "forward",
            &[("version", &v), ("agency_code", &suggested)],
        )
        .await;
        assert_eq!(
            forwarded.status,
            StatusCode::SEE_OTHER,
            "[{}] {}",
            app.backend,
            html(&forwarded)
        );

        // Now the agency's: in its queue, with its own actions.
        let queue = page(&app, &officer, "/nhan-vien/phan-anh", "/nhan-vien/phan-anh").await;
        assert!(
            rows(html(&queue)).contains(&code),
            "[{}] reached the agency",
            app.backend
        );
        let theirs = item_page(&app, &officer, &code).await;
        assert_eq!(
            offered(html(&theirs)),
            ["accept", "return"],
            "[{}]",
            app.backend
        );
        let v = version(&app, &officer, &code).await;
        let accepted = act(&app, &officer, &code, "accept", &[("version", &v)]).await;
        assert_eq!(
            accepted.status,
            StatusCode::SEE_OTHER,
            "[{}] {}",
            app.backend,
            html(&accepted)
        );

        // A coordinating agency sees the matter, never the submitter.
        let v = version(&app, &officer, &code).await;
        let asked = act(
            &app,
            &officer,
            &code,
            "request-coordination",
            &[
                ("version", &v),
                ("agency_code", "48.STP"),
                ("note", "Cho ý kiến về căn cứ pháp lý"),
                ("days", "3"),
            ],
        )
        .await;
        assert_eq!(
            asked.status,
            StatusCode::SEE_OTHER,
            "[{}] {}",
            app.backend,
            html(&asked)
        );
        let coordinating = item_page(&app, &stp, &code).await;
        assert_eq!(coordinating.status, StatusCode::OK);
        let body = html(&coordinating);
        assert!(
            !body.contains("Nguyễn Văn An")
                && !crate::helpers::shows_the_phone(body)
                && !body.contains("an.nguyen"),
            "[{}] {body}",
            app.backend
        );
        assert!(
            !body.contains("id=\"notes-body\""),
            "[{}] no notes for a coordinating agency",
            app.backend
        );
        assert_eq!(offered(body), ["contribute"], "[{}]", app.backend);
    }
}

#[apply(case!)]
async fn a_mistake_comes_back_by_its_field_and_a_conflict_keeps_the_form() {
    for app in apps().await {
        let control = sign_in_as(&app, "kiemsoat.m", Role::ControlOffice, "48.VP").await;
        let auditor = sign_in_as(&app, "thanhtra.m", Role::Auditor, "48.VP").await;
        let (code, _) = submit(&app).await;
        let v = version(&app, &control, &code).await;

        // No content category: the page again, the message by the field,
        // the field chosen kept.
        let wrong = act(
            &app,
            &control,
            &code,
            "classify",
            &[("version", &v), ("field_code", "xay_dung")],
        )
        .await;
        assert_eq!(
            wrong.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "[{}]",
            app.backend
        );
        let body = html(&wrong);
        assert!(
            body.contains("id=\"classify-content_category-loi\""),
            "[{}] {body}",
            app.backend
        );
        assert!(body.contains("<details class=\"action\" id=\"tac-vu-classify\" open"));
        assert!(
            body.contains("<option value=\"xay_dung\" selected>"),
            "[{}] kept",
            app.backend
        );
        // A program posting the same gets the API's problem.
        let program = app
            .send(
                Method::POST,
                "/nhan-vien/phan-anh/{tracking_code}/{action}",
                &format!("/nhan-vien/phan-anh/{code}/classify"),
                |r| {
                    r.bearer_auth(&control)
                        .header("content-type", "application/x-www-form-urlencoded")
                        .body(format!("version={v}"))
                },
            )
            .await;
        assert_eq!(program.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(program.body["code"], "validation_failed");

        // Someone else classifies while this page is open: the reject the
        // officer typed is not lost and the page says what changed.
        let drawn = (Utc::now().timestamp() - 5).to_string();
        step(
            &app,
            &control,
            &code,
            "classify",
            json!({"content_category": "other"}),
        )
        .await;
        let late = act(
            &app,
            &control,
            &code,
            "reject",
            &[
                ("version", &v),
                ("rendered_at", &drawn),
                ("reason_code", "R02"),
                ("note", "Ghi chú đã gõ <b>"),
            ],
        )
        .await;
        assert_eq!(
            late.status,
            StatusCode::CONFLICT,
            "[{}] {}",
            app.backend,
            html(&late)
        );
        let body = html(&late);
        assert!(
            body.contains("Phản ánh vừa được người khác cập nhật"),
            "[{}]",
            app.backend
        );
        assert!(
            body.contains("Phân loại"),
            "[{}] what changed: {body}",
            app.backend
        );
        assert!(
            body.contains("Ghi chú đã gõ &#60;b&#62;") || body.contains("Ghi chú đã gõ &lt;b&gt;"),
            "[{}] typed text kept",
            app.backend
        );
        assert!(
            body.contains("value=\"R02\" checked"),
            "[{}] choice kept",
            app.backend
        );
        assert_eq!(current(&app, &control, &code).await["state"], "classified");

        // Refusals: an unknown action, a role that never acts, another site.
        let unknown = act(&app, &control, &code, "delete", &[("version", &v)]).await;
        assert_eq!(unknown.status, StatusCode::NOT_FOUND);
        let v = version(&app, &control, &code).await;
        let auditing = act(
            &app,
            &auditor,
            &code,
            "classify",
            &[("version", &v), ("content_category", "other")],
        )
        .await;
        assert_eq!(auditing.status, StatusCode::FORBIDDEN);
        for (template, path) in [
            (
                "/nhan-vien/phan-anh/{tracking_code}/{action}",
                format!("/nhan-vien/phan-anh/{code}/classify"),
            ),
            (
                "/nhan-vien/phan-anh/hang-loat",
                "/nhan-vien/phan-anh/hang-loat".to_string(),
            ),
            (
                "/nhan-vien/phan-anh/bo-loc",
                "/nhan-vien/phan-anh/bo-loc".to_string(),
            ),
            ("/nhan-vien/tiep-nhan", "/nhan-vien/tiep-nhan".to_string()),
        ] {
            let cross = app
                .send(Method::POST, template, &path, |r| {
                    r.bearer_auth(&control)
                        .header("origin", "https://evil.example")
                        .header("content-type", "application/x-www-form-urlencoded")
                        .body(format!(
                            "version={v}&content_category=other&bulk_action=classify&items={code}"
                        ))
                })
                .await;
            assert_eq!(
                cross.status,
                StatusCode::FORBIDDEN,
                "[{}] cross-site {path}",
                app.backend
            );
        }
        assert_eq!(
            current(&app, &control, &code).await["version"].to_string(),
            v
        );

        // A note: empty is refused by its field; written, it is on the page.
        let empty = act(&app, &control, &code, "notes", &[("body", "  ")]).await;
        assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html(&empty).contains("id=\"notes-body-loi\""));
        let noted = act(
            &app,
            &control,
            &code,
            "notes",
            &[("body", "Đã gọi lại cho người gửi")],
        )
        .await;
        assert_eq!(noted.status, StatusCode::SEE_OTHER);
        assert_eq!(
            location(&noted),
            format!("/nhan-vien/phan-anh/{code}?xong=ghi-chu#ghi-chu")
        );
        assert!(html(&item_page(&app, &control, &code).await).contains("Đã gọi lại cho người gửi"));
    }
}

#[apply(case!)]
async fn the_console_decides_every_action_as_the_api_does() {
    for app in apps().await {
        let mut tokens = Vec::new();
        for role in Role::ALL {
            let agency = if matches!(role, Role::AgencyOfficer | Role::AgencyLead) {
                "48.SXD"
            } else {
                "48.VP"
            };
            tokens.push((
                role,
                sign_in_as(
                    &app,
                    &format!("ss.{}", role.as_str().replace('_', "")),
                    role,
                    agency,
                )
                .await,
            ));
        }
        let (code, _) = submit(&app).await;
        let v = version(&app, &tokens[1].1, &code).await;
        for action in Action::ALL {
            for (role, token) in &tokens {
                // An empty form: refused for the role (403) or for its
                // content (422, 409, 404), the same way on both doors.
                let api = crate::workflow::act(
                    &app,
                    token,
                    &code,
                    action.as_str(),
                    json!({"version": 0}),
                )
                .await;
                let console = act(&app, token, &code, action.as_str(), &[("version", "0")]).await;
                assert_eq!(
                    api.status == StatusCode::FORBIDDEN,
                    console.status == StatusCode::FORBIDDEN,
                    "[{}] {role:?} {}: API {} console {}",
                    app.backend,
                    action.as_str(),
                    api.status,
                    console.status
                );
            }
        }
        // Nothing changed.
        assert_eq!(version(&app, &tokens[1].1, &code).await, v);
    }
}

#[apply(case!)]
async fn bulk_triage_checks_and_audits_each_item_on_its_own() {
    for app in apps().await {
        let control = sign_in_as(&app, "kiemsoat.b", Role::ControlOffice, "48.VP").await;
        let officer = sign_in_as(&app, "sxd.b", Role::AgencyOfficer, "48.SXD").await;
        let mut codes = Vec::new();
        for _ in 0..4 {
            codes.push(submit(&app).await.0);
        }
        // One of them is no longer open to classification.
        step(
            &app,
            &control,
            &codes[3],
            "reject",
            json!({"reason_code": "R02"}),
        )
        .await;
        let mut form: Vec<(&str, &str)> = vec![
            ("bulk_action", "classify"),
            ("classify.content_category", "implementation_problem"),
            ("filter", ""),
        ];
        for c in &codes {
            form.push(("items", c));
        }
        let done = post_form(
            &app,
            &control,
            "/nhan-vien/phan-anh/hang-loat",
            "/nhan-vien/phan-anh/hang-loat",
            &form,
        )
        .await;
        assert_eq!(done.status, StatusCode::OK, "[{}]", app.backend);
        let body = html(&done);
        assert!(
            body.contains("Đã thực hiện 3 trên 4"),
            "[{}] {body}",
            app.backend
        );
        assert!(
            body.contains("Không thực hiện được ở trạng thái “Không tiếp nhận”"),
            "[{}] {body}",
            app.backend
        );
        for c in &codes[..3] {
            let item = current(&app, &control, c).await;
            assert_eq!(item["state"], "classified");
            let audited = item["history"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| e["action"] == "feedback.classify")
                .count();
            assert_eq!(audited, 1, "[{}] each item audited", app.backend);
        }

        // Every item matching a filter, forwarded at once.
        let forwarded = post_form(
            &app,
            &control,
            "/nhan-vien/phan-anh/hang-loat",
            "/nhan-vien/phan-anh/hang-loat",
            &[
                ("bulk_action", "forward"),
                ("forward.agency_code", "48.SXD"),
                ("all_matching", "true"),
                ("filter", "state=classified"),
            ],
        )
        .await;
        assert!(
            html(&forwarded).contains("Đã thực hiện 3 trên 3"),
            "[{}] {}",
            app.backend,
            html(&forwarded)
        );
        let queue = page(&app, &officer, "/nhan-vien/phan-anh", "/nhan-vien/phan-anh").await;
        for c in &codes[..3] {
            assert!(
                rows(html(&queue)).contains(c.as_str()),
                "[{}] {c} reached the agency",
                app.backend
            );
        }
        // A missing field fails every item, each saying why.
        let (fresh, _) = submit(&app).await;
        let missing = post_form(
            &app,
            &control,
            "/nhan-vien/phan-anh/hang-loat",
            "/nhan-vien/phan-anh/hang-loat",
            &[
                ("bulk_action", "classify"),
                ("items", &fresh),
                ("filter", ""),
            ],
        )
        .await;
        assert!(html(&missing).contains("Đã thực hiện 0 trên 1"));
        assert!(
            html(&missing).contains("Nội dung: Thông tin này là bắt buộc."),
            "[{}] {}",
            app.backend,
            html(&missing)
        );
        // Roles that never triage are refused outright.
        let refused = post_form(
            &app,
            &officer,
            "/nhan-vien/phan-anh/hang-loat",
            "/nhan-vien/phan-anh/hang-loat",
            &[("bulk_action", "classify"), ("items", &fresh)],
        )
        .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        // Nor offered the bulk form.
        let theirs = page(&app, &officer, "/nhan-vien/phan-anh", "/nhan-vien/phan-anh").await;
        assert!(!html(&theirs).contains("<fieldset class=\"bulk\">"));
        let ours = page(&app, &control, "/nhan-vien/phan-anh", "/nhan-vien/phan-anh").await;
        assert!(html(&ours).contains("<fieldset class=\"bulk\">"));
    }
}

#[apply(case!)]
async fn the_intake_desk_keys_in_a_call_and_finds_the_callers_earlier_items() {
    for app in apps().await {
        let control = sign_in_as(&app, "tongdai.d", Role::ControlOffice, "48.VP").await;
        let auditor = sign_in_as(&app, "thanhtra.d", Role::Auditor, "48.VP").await;
        let officer = sign_in_as(&app, "sxd.d", Role::AgencyOfficer, "48.SXD").await;
        let form = page(
            &app,
            &control,
            "/nhan-vien/tiep-nhan",
            "/nhan-vien/tiep-nhan",
        )
        .await;
        assert_eq!(form.status, StatusCode::OK);
        let today = pakn::domain::time::vietnam_date(Utc::now());
        assert!(
            html(&form).contains(&format!("value=\"{}\"", today.format("%Y-%m-%d"))),
            "[{}] today by default",
            app.backend
        );
        assert!(html(&form).contains("value=\"hotline\" checked"));
        assert_eq!(
            page(
                &app,
                &auditor,
                "/nhan-vien/tiep-nhan",
                "/nhan-vien/tiep-nhan"
            )
            .await
            .status,
            StatusCode::FORBIDDEN
        );

        let yesterday = today.pred_opt().unwrap();
        let day = yesterday.format("%d/%m/%Y").to_string();
        let key = uuid::Uuid::new_v4().to_string();
        let call: Vec<(&str, &str)> = vec![
            ("idempotency_key", &key),
            ("channel", "hotline"),
            ("received_on", &day),
            ("received_time", "09:15"),
            ("intake.caller_number", "0905 123 456"),
            ("intake.call_time", ""),
            ("intake.letter_date", ""),
            ("intake.note", "Người gọi đề nghị trả lời qua điện thoại"),
            ("submitter.type", "individual"),
            ("submitter.full_name", "Trần Thị Cúc"),
            ("submitter.address.detail", "5 Hùng Vương"),
            ("submitter.phone", "0905 123 456"),
            ("submitter.email", ""),
            ("kind", "phan_anh"),
            ("title", "Hồ sơ đăng ký hộ kinh doanh bị trả lại nhiều lần"),
            (
                "content",
                "Tôi nộp hồ sơ đăng ký hộ kinh doanh ba lần đều bị trả lại với lý do khác nhau, không được hướng dẫn một lần.",
            ),
            ("field_code", ""),
        ];
        let received = post_form(
            &app,
            &control,
            "/nhan-vien/tiep-nhan",
            "/nhan-vien/tiep-nhan",
            &call,
        )
        .await;
        assert_eq!(
            received.status,
            StatusCode::CREATED,
            "[{}] {}",
            app.backend,
            html(&received)
        );
        let body = html(&received).to_string();
        // Large, in groups, to read aloud; the caller gave no e-mail
        // address, so the desk is told the token cannot come by mail.
        let code = crate::submit_page::grouped(&body, "ma-so");
        assert!(body.contains("class=\"read-aloud\" id=\"ma-so\""));
        assert_eq!(
            crate::submit_page::grouped(&body, "ma-tra-cuu").len(),
            28,
            "[{}] the token to read out",
            app.backend
        );
        let item = current(&app, &control, &code).await;
        assert_eq!(item["channel"], "hotline");
        assert_eq!(
            item["received_at"],
            format!("{}T09:15:00+07:00", yesterday.format("%Y-%m-%d"))
        );
        assert_eq!(item["intake"]["caller_number"], "+84905123456");
        // The same form posted again: the first receipt, no second item.
        let again = post_form(
            &app,
            &control,
            "/nhan-vien/tiep-nhan",
            "/nhan-vien/tiep-nhan",
            &call,
        )
        .await;
        assert_eq!(again.status, StatusCode::CREATED);
        assert!(html(&again).contains(&code) && html(&again).contains("đã được gửi trước đó"));

        // The caller's number finds the item; a second call joins it.
        let earlier = page(
            &app,
            &control,
            "/nhan-vien/tiep-nhan/nguoi-gui",
            "/nhan-vien/tiep-nhan/nguoi-gui?submitter.phone=0905123456",
        )
        .await;
        assert!(
            html(&earlier).contains(&code),
            "[{}] {}",
            app.backend,
            html(&earlier)
        );
        assert!(html(&earlier).contains(&format!("name=\"supplement_to\" value=\"{code}\"")));
        // Outside an agency's sight, nothing (no enumeration by number).
        let theirs = page(
            &app,
            &officer,
            "/nhan-vien/tiep-nhan/nguoi-gui",
            "/nhan-vien/tiep-nhan/nguoi-gui?submitter.phone=0905123456",
        )
        .await;
        assert!(!html(&theirs).contains(&code), "[{}]", app.backend);
        // Without JavaScript: the form reloaded with the list.
        let reloaded = page(
            &app,
            &control,
            "/nhan-vien/tiep-nhan",
            "/nhan-vien/tiep-nhan?submitter.phone=0905+123+456&title=Gi%E1%BB%AF",
        )
        .await;
        assert!(html(&reloaded).contains(&code) && html(&reloaded).contains("value=\"Giữ\""));

        let second_key = uuid::Uuid::new_v4().to_string();
        let mut second = call.clone();
        second[0] = ("idempotency_key", &second_key);
        second.retain(|(k, _)| *k != "content");
        second.push((
            "content",
            "Người gọi cho biết đã nộp lần thứ tư ngày hôm nay.",
        ));
        second.push(("supplement_to", &code));
        let joined = post_form(
            &app,
            &control,
            "/nhan-vien/tiep-nhan",
            "/nhan-vien/tiep-nhan",
            &second,
        )
        .await;
        assert_eq!(
            joined.status,
            StatusCode::SEE_OTHER,
            "[{}] {}",
            app.backend,
            html(&joined)
        );
        assert_eq!(
            location(&joined),
            format!("/nhan-vien/phan-anh/{code}?xong=supplement")
        );
        let item = current(&app, &control, &code).await;
        let supplements = item["supplements"].as_array().unwrap();
        assert_eq!(supplements.len(), 1, "[{}] {item}", app.backend);
        assert!(
            supplements[0]["text"]
                .as_str()
                .unwrap()
                .contains("lần thứ tư")
        );

        // A letter-box letter without the day the box was opened: the form
        // again, the message by that field, what was typed kept.
        let mut letter = call.clone();
        let third_key = uuid::Uuid::new_v4().to_string();
        letter[0] = ("idempotency_key", &third_key);
        letter[1] = ("channel", "letter_box");
        let refused = post_form(
            &app,
            &control,
            "/nhan-vien/tiep-nhan",
            "/nhan-vien/tiep-nhan",
            &letter,
        )
        .await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "[{}]",
            app.backend
        );
        let body = html(&refused);
        assert!(
            body.contains("id=\"intake-letter_box_opened_on-loi\""),
            "[{}] {body}",
            app.backend
        );
        assert!(
            body.contains("value=\"Trần Thị Cúc\""),
            "[{}] typed name kept",
            app.backend
        );
        assert!(body.contains("value=\"letter_box\" checked"));
        // A day in the future is refused by its field.
        let tomorrow = today.succ_opt().unwrap().format("%Y-%m-%d").to_string();
        let mut future = call.clone();
        let fourth_key = uuid::Uuid::new_v4().to_string();
        future[0] = ("idempotency_key", &fourth_key);
        future[2] = ("received_on", &tomorrow);
        let refused = post_form(
            &app,
            &control,
            "/nhan-vien/tiep-nhan",
            "/nhan-vien/tiep-nhan",
            &future,
        )
        .await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html(&refused).contains("id=\"received_on-loi\""));
    }
}

#[apply(case!)]
async fn live_counts_reach_a_browser_on_another_instance_within_seconds() {
    for app in apps().await {
        let control = sign_in_as(&app, "kiemsoat.l", Role::ControlOffice, "48.VP").await;
        submit(&app).await;
        // Asked without a stream: the counts once.
        let once = app
            .send(
                Method::GET,
                "/nhan-vien/su-kien",
                "/nhan-vien/su-kien",
                |r| r.bearer_auth(&control),
            )
            .await;
        assert_eq!(once.status, StatusCode::OK);
        let text = html(&once);
        assert!(
            text.starts_with("data: ") && text.ends_with("\n\n"),
            "{text}"
        );
        assert!(
            text.contains("<strong>1</strong> tất cả"),
            "[{}] {text}",
            app.backend
        );

        // A stream on one instance; an item arrives through another (on
        // SQLite, the same one: only PostgreSQL is shared).
        let other = if app.backend == "postgres" {
            Some(another_instance(&app).await)
        } else {
            None
        };
        let arrival = other.as_ref().unwrap_or(&app);
        let mut stream = app
            .client
            .get(format!("{}/nhan-vien/su-kien", app.base))
            .bearer_auth(&control)
            .header("accept", "text/html, text/event-stream")
            .send()
            .await
            .unwrap();
        assert_eq!(stream.headers()["content-type"], "text/event-stream");
        let first = String::from_utf8(stream.chunk().await.unwrap().unwrap().to_vec()).unwrap();
        assert!(first.contains("<strong>1</strong> tất cả"), "{first}");
        let mut second = valid_submission();
        second["title"] = json!("Mới đến qua phiên bản khác");
        let sent = std::time::Instant::now();
        arrival.post_feedback(&second).await;
        let mut seen = String::new();
        while !seen.contains("<strong>2</strong> tất cả") {
            let chunk = tokio::time::timeout(
                Duration::from_secs(5).saturating_sub(sent.elapsed()),
                stream.chunk(),
            )
            .await
            .unwrap_or_else(|_| panic!("[{}] no change within 5 s: {seen}", app.backend))
            .unwrap()
            .unwrap();
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
        assert!(
            seen.contains("Mới đến qua phiên bản khác"),
            "[{}] the newest arrival is named",
            app.backend
        );
    }
}

#[apply(case!)]
async fn colleagues_on_the_same_item_see_each_other() {
    for app in apps().await {
        let a = sign_in_as(&app, "kiemsoat.pa", Role::ControlOffice, "48.VP").await;
        let b = sign_in_as(&app, "kiemsoat.pb", Role::ControlOffice, "48.VP").await;
        let (code, _) = submit(&app).await;
        let first = item_page(&app, &a, &code).await;
        assert!(html(&first).contains("Không có cán bộ khác đang xem."));
        let second = item_page(&app, &b, &code).await;
        assert!(
            html(&second).contains("Đang xem cùng lúc: Cán bộ kiemsoat.pa"),
            "[{}]",
            app.backend
        );
        let fragment = page(
            &app,
            &a,
            "/nhan-vien/phan-anh/{tracking_code}/dang-xem",
            &format!("/nhan-vien/phan-anh/{code}/dang-xem"),
        )
        .await;
        assert!(
            html(&fragment).contains("Cán bộ kiemsoat.pb"),
            "[{}]",
            app.backend
        );
        assert!(
            !html(&fragment).contains("Cán bộ kiemsoat.pa"),
            "not oneself"
        );
    }
}

#[apply(case!)]
async fn the_console_scripts_are_ours_or_pinned_and_revalidated() {
    for app in apps().await {
        for (path, cache) in [
            ("/static/console.js", "public, no-cache"),
            (
                "/static/vendor/htmx-4.0.1.min.js",
                "public, max-age=31536000, immutable",
            ),
            (
                "/static/vendor/hx-sse-4.0.1.min.js",
                "public, max-age=31536000, immutable",
            ),
        ] {
            let reply = app.send(Method::GET, path, path, |r| r).await;
            assert_eq!(reply.status, StatusCode::OK);
            assert_eq!(
                reply.header("content-type"),
                Some("text/javascript; charset=utf-8")
            );
            assert_eq!(reply.header("cache-control"), Some(cache));
            let etag = reply.header("etag").unwrap().to_string();
            let again = app
                .send(Method::GET, path, path, |r| {
                    r.header("if-none-match", &etag)
                })
                .await;
            assert_eq!(again.status, StatusCode::NOT_MODIFIED, "{path}");
        }
        let licence = app
            .send(
                Method::GET,
                "/static/vendor/htmx-LICENSE.txt",
                "/static/vendor/htmx-LICENSE.txt",
                |r| r,
            )
            .await;
        assert!(html(&licence).contains("Zero-Clause BSD"));
        // The vendored file is the published one.
        let htmx = app
            .send(
                Method::GET,
                "/static/vendor/htmx-4.0.1.min.js",
                "/static/vendor/htmx-4.0.1.min.js",
                |r| r,
            )
            .await;
        assert_eq!(
            pakn::domain::digest::sha256_hex(&htmx.bytes),
            "a0abb04f2f45a1f89d1d4844023245537e5e6014c87b144553e0607b4cc32130"
        );
    }
}
