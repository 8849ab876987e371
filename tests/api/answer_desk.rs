//! The agency's answer desk on both databases, over the API and the
//! console: the draft saved as it is written (two writers told apart, the
//! version check still deciding), the agency's templates (never a citizen's
//! data), the lead sending a draft back with the reason shown to the
//! writer, the optional four-eyes rule, the preview of what the citizen
//! will see, and the publish form starting from the redaction suggestion.

use crate::case;
use macro_rules_attribute::apply;

use pakn::domain::staff::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::auth::sign_in_as;
use crate::console::{html, page, post_form};
use crate::helpers::{Reply, TestApp, apps, apps_with, valid_submission};
use crate::workflow::{act, current, step};

async fn save_draft(app: &TestApp, token: &str, code: &str, body: Value) -> Reply {
    app.send(
        Method::PUT,
        "/api/v1/staff/feedback/{tracking_code}/answer/draft",
        &format!("/api/v1/staff/feedback/{code}/answer/draft"),
        |r| r.bearer_auth(token).json(&body),
    )
    .await
}

/// An item in the Sở Xây dựng's hands (forwarded and accepted).
async fn in_handling(app: &TestApp, control: &str, officer: &str, submission: &Value) -> String {
    let r = app.post_feedback(submission).await;
    let code = r.body["tracking_code"].as_str().unwrap().to_string();
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
        json!({"agency_code": "48.SXD"}),
    )
    .await;
    step(app, officer, &code, "accept", json!({})).await;
    code
}

async fn console_item(app: &TestApp, token: &str, code: &str) -> String {
    let reply = page(
        app,
        token,
        "/nhan-vien/phan-anh/{tracking_code}",
        &format!("/nhan-vien/phan-anh/{code}"),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "[{}]", app.backend);
    html(&reply).to_string()
}

/// A draft save as the page's htmx sends it every few seconds.
async fn autosave(app: &TestApp, token: &str, code: &str, form: &[(&str, &str)]) -> Reply {
    let body = serde_urlencoded::to_string(form).unwrap();
    let origin = app.base.clone();
    app.send(
        Method::POST,
        "/nhan-vien/phan-anh/{tracking_code}/{action}",
        &format!("/nhan-vien/phan-anh/{code}/ban-nhap"),
        |r| {
            r.bearer_auth(token)
                .header("accept", "text/html")
                .header("hx-request", "true")
                .header("origin", origin)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
        },
    )
    .await
}

#[apply(case!)]
async fn the_draft_is_kept_on_the_server_and_two_writers_are_told_apart() {
    for app in apps().await {
        let control = sign_in_as(&app, "kiemsoat.bn", Role::ControlOffice, "48.VP").await;
        let a = sign_in_as(&app, "sxd.cv.bn1", Role::AgencyOfficer, "48.SXD").await;
        let b = sign_in_as(&app, "sxd.cv.bn2", Role::AgencyOfficer, "48.SXD").await;
        let other = sign_in_as(&app, "stc.cv.bn", Role::AgencyOfficer, "48.STC").await;
        let code = in_handling(&app, &control, &a, &valid_submission()).await;
        let version_before = current(&app, &a, &code).await["version"].clone();

        let first = save_draft(
            &app,
            &a,
            &code,
            json!({"text": "Kính gửi Ông/Bà, bản nháp một."}),
        )
        .await;
        assert_eq!(
            first.status,
            StatusCode::OK,
            "[{}] {}",
            app.backend,
            first.body
        );
        assert_eq!(first.body["revision"], 1);
        assert_eq!(first.body["mine"], true);
        // Saving a draft is not an action: the item's version stays.
        let seen_by_b = current(&app, &b, &code).await;
        assert_eq!(seen_by_b["version"], version_before);
        assert_eq!(
            seen_by_b["saved_draft"]["text"],
            "Kính gửi Ông/Bà, bản nháp một."
        );
        assert_eq!(seen_by_b["saved_draft"]["saved_by"], "Cán bộ sxd.cv.bn1");
        assert_eq!(seen_by_b["saved_draft"]["mine"], false);
        // The control office oversees but does not write it: no draft, no save.
        assert!(current(&app, &control, &code).await["saved_draft"].is_null());
        let refused = save_draft(&app, &control, &code, json!({"text": "x"})).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "[{}]", app.backend);
        // Another agency does not see the item at all.
        let hidden = save_draft(&app, &other, &code, json!({"text": "x"})).await;
        assert_eq!(hidden.status, StatusCode::NOT_FOUND, "[{}]", app.backend);

        // B started before A's save: told, nothing written.
        let clash = save_draft(&app, &b, &code, json!({"text": "Bản của B."})).await;
        assert_eq!(clash.status, StatusCode::CONFLICT, "[{}]", app.backend);
        assert_eq!(clash.body["code"], "draft_conflict");
        assert_eq!(
            clash.body["draft"]["text"],
            "Kính gửi Ông/Bà, bản nháp một."
        );
        assert!(
            clash.body["detail"]
                .as_str()
                .unwrap()
                .contains("Cán bộ sxd.cv.bn1")
        );
        // From A's revision, B's save goes in; then A's stale one is told.
        let b_saved = save_draft(
            &app,
            &b,
            &code,
            json!({"text": "Bản của B.", "revision": 1}),
        )
        .await;
        assert_eq!(
            b_saved.body["revision"], 2,
            "[{}] {}",
            app.backend, b_saved.body
        );
        let a_stale = save_draft(
            &app,
            &a,
            &code,
            json!({"text": "A lần hai.", "revision": 1}),
        )
        .await;
        assert_eq!(a_stale.status, StatusCode::CONFLICT);
        let a_over = save_draft(
            &app,
            &a,
            &code,
            json!({"text": "A lần hai.", "revision": 1, "overwrite": true}),
        )
        .await;
        assert_eq!(a_over.body["revision"], 3);
        // One's own earlier save is never a conflict (another tab, the
        // save on leaving a page).
        let again = save_draft(&app, &a, &code, json!({"text": "A lần ba.", "revision": 1})).await;
        assert_eq!(
            again.body["revision"], 4,
            "[{}] {}",
            app.backend, again.body
        );
        let too_long = save_draft(&app, &a, &code, json!({"text": "x".repeat(20_001)})).await;
        assert_eq!(too_long.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            too_long.field_errors(),
            vec![("text".into(), "too_long".into())]
        );

        // The console: the form starts from the saved draft; htmx saves.
        let page_a = console_item(&app, &a, &code).await;
        assert!(
            page_a.contains(">A lần ba.</textarea>"),
            "[{}]",
            app.backend
        );
        assert!(page_a.contains("Bản nháp lưu lúc"), "[{}]", app.backend);
        assert!(page_a.contains("name=\"draft_revision\" value=\"4\""));
        assert!(page_a.contains("hx-post=\"/nhan-vien/phan-anh/"));
        let saved = autosave(
            &app,
            &a,
            &code,
            &[
                ("text", "A lần bốn."),
                ("draft_revision", "4"),
                ("version", "1"),
            ],
        )
        .await;
        assert_eq!(saved.status, StatusCode::OK, "[{}]", app.backend);
        assert!(
            html(&saved).contains("Đã lưu bản nháp lúc"),
            "{}",
            html(&saved)
        );
        assert!(html(&saved).contains("name=\"draft_revision\" value=\"5\""));
        let told = autosave(
            &app,
            &b,
            &code,
            &[("text", "B lần hai."), ("draft_revision", "2")],
        )
        .await;
        assert_eq!(told.status, StatusCode::OK);
        assert!(
            html(&told).contains("Cán bộ sxd.cv.bn1 đã lưu một bản khác"),
            "{}",
            html(&told)
        );
        assert!(html(&told).contains("name=\"overwrite\" value=\"1\""));
        // Without JavaScript the same conflict is the page, B's text kept.
        let page_conflict = post_form(
            &app,
            &b,
            "/nhan-vien/phan-anh/{tracking_code}/{action}",
            &format!("/nhan-vien/phan-anh/{code}/ban-nhap"),
            &[("text", "B lần ba <b>."), ("draft_revision", "2")],
        )
        .await;
        assert_eq!(page_conflict.status, StatusCode::CONFLICT);
        let answer_form = html(&page_conflict)
            .split("id=\"answer-text\"")
            .nth(1)
            .and_then(|f| f.split("</textarea>").next())
            .unwrap_or_default();
        assert!(
            answer_form.ends_with(">B lần ba &#60;b&#62;."),
            "{answer_form}"
        );

        // Recording the answer from the console's form (with the draft's
        // own fields beside the action's) forgets the saved copy.
        let version = current(&app, &a, &code).await["version"].to_string();
        let recorded = post_form(
            &app,
            &a,
            "/nhan-vien/phan-anh/{tracking_code}/{action}",
            &format!("/nhan-vien/phan-anh/{code}/answer"),
            &[
                ("version", &version),
                ("text", "A lần bốn."),
                ("draft_revision", "5"),
                ("template_id", ""),
            ],
        )
        .await;
        assert_eq!(
            recorded.status,
            StatusCode::SEE_OTHER,
            "[{}] {}",
            app.backend,
            html(&recorded)
        );
        let after = current(&app, &a, &code).await;
        assert!(after["saved_draft"].is_null(), "[{}] {after}", app.backend);
        assert_eq!(after["answer_draft"], "A lần bốn.");
        // What the citizen will see, beside the draft.
        let preview = console_item(&app, &a, &code).await;
        assert!(preview.contains("Người gửi sẽ thấy"));
        assert!(preview.contains(&format!("Đã có kết quả trả lời phản ánh, kiến nghị {code}")));
    }
}

#[apply(case!)]
async fn templates_are_the_agencys_own_and_never_hold_a_citizens_data() {
    for app in apps().await {
        let control = sign_in_as(&app, "kiemsoat.mau", Role::ControlOffice, "48.VP").await;
        let lead = sign_in_as(&app, "sxd.ld.mau", Role::AgencyLead, "48.SXD").await;
        let officer = sign_in_as(&app, "sxd.cv.mau", Role::AgencyOfficer, "48.SXD").await;
        let other_lead = sign_in_as(&app, "stc.ld.mau", Role::AgencyLead, "48.STC").await;
        let templates = "/api/v1/staff/answer-templates";
        let post = |token: &str, body: Value| {
            let token = token.to_string();
            let app = &app;
            async move {
                app.send(Method::POST, templates, templates, |r| {
                    r.bearer_auth(token).json(&body)
                })
                .await
            }
        };
        let greeting = "Kính gửi Ông/Bà,\nSở Xây dựng nhận được phản ánh và trả lời như sau:";
        let made = post(&lead, json!({"name": "Lời chào", "body": greeting})).await;
        assert_eq!(
            made.status,
            StatusCode::CREATED,
            "[{}] {}",
            app.backend,
            made.body
        );
        let id = made.body["id"].as_str().unwrap().to_string();
        let leak = post(
            &lead,
            json!({"name": "Gọi lại", "body": "Xin gọi lại số 0905123456 để được hướng dẫn."}),
        )
        .await;
        assert_eq!(leak.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            leak.field_errors(),
            vec![("body".into(), "personal_data_in_template".into())]
        );
        let twice = post(&lead, json!({"name": "Lời chào", "body": "Trân trọng."})).await;
        assert_eq!(
            twice.field_errors(),
            vec![("name".into(), "name_taken".into())]
        );
        // Officers use them, only leads keep them; another agency has its own.
        let by_officer = post(&officer, json!({"name": "Khác", "body": "Trân trọng."})).await;
        assert_eq!(by_officer.status, StatusCode::FORBIDDEN);
        let listed = app
            .send(Method::GET, templates, templates, |r| {
                r.bearer_auth(&officer)
            })
            .await;
        assert_eq!(
            listed.body["items"][0]["name"], "Lời chào",
            "[{}]",
            app.backend
        );
        let elsewhere = app
            .send(Method::GET, templates, templates, |r| {
                r.bearer_auth(&other_lead)
            })
            .await;
        assert_eq!(elsewhere.body["items"], json!([]));
        let not_theirs = app
            .send(
                Method::PUT,
                "/api/v1/staff/answer-templates/{template_id}",
                &format!("{templates}/{id}"),
                |r| {
                    r.bearer_auth(&other_lead)
                        .json(&json!({"name": "x", "body": "y"}))
                },
            )
            .await;
        assert_eq!(not_theirs.status, StatusCode::NOT_FOUND);

        // In the console: the answer form offers it; inserting it keeps
        // what was written and adds the template after it.
        let code = in_handling(&app, &control, &officer, &valid_submission()).await;
        let form = console_item(&app, &officer, &code).await;
        assert!(form.contains(&format!("<option value=\"{id}\">Lời chào</option>")));
        let inserted = post_form(
            &app,
            &officer,
            "/nhan-vien/phan-anh/{tracking_code}/{action}",
            &format!("/nhan-vien/phan-anh/{code}/ban-nhap"),
            &[
                ("text", "Về thủ tục cấp phép:"),
                ("template_id", &id),
                ("insert", "1"),
                ("draft_revision", ""),
            ],
        )
        .await;
        assert_eq!(inserted.status, StatusCode::SEE_OTHER, "[{}]", app.backend);
        let draft = current(&app, &officer, &code).await["saved_draft"]["text"].clone();
        assert_eq!(draft, format!("Về thủ tục cấp phép:\n\n{greeting}"));

        // The page for keeping them: a lead edits; a mistake stays by its
        // field with what was typed.
        let keep = page(
            &app,
            &lead,
            "/nhan-vien/mau-tra-loi",
            "/nhan-vien/mau-tra-loi",
        )
        .await;
        assert_eq!(keep.status, StatusCode::OK);
        assert!(html(&keep).contains("Thêm mẫu"));
        let read_only = page(
            &app,
            &officer,
            "/nhan-vien/mau-tra-loi",
            "/nhan-vien/mau-tra-loi",
        )
        .await;
        assert!(!html(&read_only).contains("Thêm mẫu"));
        let bad = post_form(
            &app,
            &lead,
            "/nhan-vien/mau-tra-loi",
            "/nhan-vien/mau-tra-loi",
            &[
                ("name", "Liên hệ"),
                ("body", "Gửi thư tới nguyen.van.an@example.vn"),
            ],
        )
        .await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html(&bad).contains("nguyen.van.an@example.vn</textarea>"));
        assert!(html(&bad).contains("id=\"noi-dung-moi-loi\""));
        let renamed = post_form(
            &app,
            &lead,
            "/nhan-vien/mau-tra-loi/{template_id}",
            &format!("/nhan-vien/mau-tra-loi/{id}"),
            &[("name", "Lời chào chung"), ("body", greeting)],
        )
        .await;
        assert_eq!(renamed.status, StatusCode::SEE_OTHER);
        let gone = post_form(
            &app,
            &lead,
            "/nhan-vien/mau-tra-loi/{template_id}/xoa",
            &format!("/nhan-vien/mau-tra-loi/{id}/xoa"),
            &[],
        )
        .await;
        assert_eq!(gone.status, StatusCode::SEE_OTHER);
        let listed = app
            .send(Method::GET, templates, templates, |r| r.bearer_auth(&lead))
            .await;
        assert_eq!(listed.body["items"], json!([]));
    }
}

#[apply(case!)]
async fn the_lead_sends_a_draft_back_and_the_writer_sees_why() {
    for app in apps().await {
        let control = sign_in_as(&app, "kiemsoat.tl", Role::ControlOffice, "48.VP").await;
        let officer = sign_in_as(&app, "sxd.cv.tl", Role::AgencyOfficer, "48.SXD").await;
        let lead = sign_in_as(&app, "sxd.ld.tl", Role::AgencyLead, "48.SXD").await;
        let code = in_handling(&app, &control, &officer, &valid_submission()).await;
        // Nothing drafted: nothing to send back.
        let version = current(&app, &lead, &code).await["version"].clone();
        let empty = act(
            &app,
            &lead,
            &code,
            "send-back",
            json!({"version": version, "note": "Sửa."}),
        )
        .await;
        assert_eq!(
            empty.field_errors(),
            vec![("note".into(), "draft_missing".into())]
        );
        step(
            &app,
            &officer,
            &code,
            "answer",
            json!({"text": "Dự thảo lần một."}),
        )
        .await;
        // An officer may not send back; the lead may.
        let version = current(&app, &officer, &code).await["version"].clone();
        let refused = act(
            &app,
            &officer,
            &code,
            "send-back",
            json!({"version": version, "note": "x"}),
        )
        .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        let item = step(
            &app,
            &lead,
            &code,
            "send-back",
            json!({"note": "Cần dẫn Điều 9 Nghị định 15/2021/NĐ-CP."}),
        )
        .await;
        assert_eq!(item["state"], "in_handling");
        let seen = current(&app, &officer, &code).await;
        assert_eq!(
            seen["sent_back"]["reason"],
            "Cần dẫn Điều 9 Nghị định 15/2021/NĐ-CP."
        );
        assert_eq!(seen["sent_back"]["from_review"], false);
        let page = console_item(&app, &officer, &code).await;
        assert!(
            page.contains("Lãnh đạo trả lại dự thảo để sửa"),
            "[{}]",
            app.backend
        );
        assert!(page.contains("Cần dẫn Điều 9 Nghị định 15/2021/NĐ-CP."));
        // Redrafted and signed off: the reason has done its work.
        step(
            &app,
            &officer,
            &code,
            "answer",
            json!({"text": "Dự thảo lần hai, theo Điều 9."}),
        )
        .await;
        step(&app, &lead, &code, "sign-off", json!({})).await;
        assert!(current(&app, &officer, &code).await["sent_back"].is_null());
        // The control office's review sends it back too, named as such.
        step(
            &app,
            &control,
            &code,
            "send-back",
            json!({"note": "Bổ sung thời hạn."}),
        )
        .await;
        let seen = current(&app, &officer, &code).await;
        assert_eq!(seen["sent_back"]["from_review"], true);
        assert!(
            console_item(&app, &officer, &code)
                .await
                .contains("Văn phòng trả lại dự thảo để sửa")
        );
    }
}

#[apply(case!)]
async fn with_the_four_eyes_rule_the_drafter_does_not_approve() {
    for app in apps_with(|s| s.workflow.four_eyes = true).await {
        let writer = sign_in_as(&app, "kiemsoat.4m1", Role::ControlOffice, "48.VP").await;
        let colleague = sign_in_as(&app, "kiemsoat.4m2", Role::ControlOffice, "48.VP").await;
        let r = app.post_feedback(&valid_submission()).await;
        let code = r.body["tracking_code"].as_str().unwrap().to_string();
        // The office takes the item up itself, drafts, signs off.
        step(
            &app,
            &writer,
            &code,
            "classify",
            json!({"content_category": "implementation_problem"}),
        )
        .await;
        step(&app, &writer, &code, "accept", json!({})).await;
        step(
            &app,
            &writer,
            &code,
            "answer",
            json!({"text": "Văn phòng trả lời như sau."}),
        )
        .await;
        step(&app, &writer, &code, "sign-off", json!({})).await;
        let seen = current(&app, &writer, &code).await;
        assert!(
            !seen["actions"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a["action"] == "approve"),
            "[{}]",
            app.backend
        );
        assert_eq!(seen["withheld_actions"][0]["action"], "approve");
        let refused = act(
            &app,
            &writer,
            &code,
            "approve",
            json!({"version": seen["version"]}),
        )
        .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        assert_eq!(refused.body["code"], "four_eyes");
        let page = console_item(&app, &writer, &code).await;
        assert!(page.contains("quy tắc bốn mắt"), "[{}]", app.backend);
        assert!(!page.contains("id=\"tac-vu-approve\""));
        // Someone else approves.
        let item = step(&app, &colleague, &code, "approve", json!({})).await;
        assert_eq!(item["state"], "answered");
    }
    // Off (the default): the drafter may approve.
    for app in apps().await {
        let writer = sign_in_as(&app, "kiemsoat.4m3", Role::ControlOffice, "48.VP").await;
        let r = app.post_feedback(&valid_submission()).await;
        let code = r.body["tracking_code"].as_str().unwrap().to_string();
        step(
            &app,
            &writer,
            &code,
            "classify",
            json!({"content_category": "implementation_problem"}),
        )
        .await;
        step(&app, &writer, &code, "accept", json!({})).await;
        step(
            &app,
            &writer,
            &code,
            "answer",
            json!({"text": "Văn phòng trả lời như sau."}),
        )
        .await;
        step(&app, &writer, &code, "sign-off", json!({})).await;
        assert_eq!(
            step(&app, &writer, &code, "approve", json!({})).await["state"],
            "answered"
        );
    }
}

#[apply(case!)]
async fn the_publish_form_starts_from_the_redaction_suggestion() {
    for app in apps().await {
        let control = sign_in_as(&app, "kiemsoat.cb", Role::ControlOffice, "48.VP").await;
        let officer = sign_in_as(&app, "sxd.cv.cb", Role::AgencyOfficer, "48.SXD").await;
        let lead = sign_in_as(&app, "sxd.ld.cb", Role::AgencyLead, "48.SXD").await;
        let mut submission = valid_submission();
        submission["content"] = json!(
            "Tôi nộp hồ sơ cấp phép xây dựng đã 40 ngày chưa có kết quả, xin gọi lại số 0905123456."
        );
        submission["consent_to_publish"] = json!(true);
        let code = in_handling(&app, &control, &officer, &submission).await;
        step(
            &app,
            &officer,
            &code,
            "answer",
            json!({"text": "Sở đã trả kết quả ngày 25/11."}),
        )
        .await;
        step(&app, &lead, &code, "sign-off", json!({})).await;
        step(&app, &control, &code, "approve", json!({})).await;
        let page = console_item(&app, &control, &code).await;
        let publish = page
            .split("id=\"tac-vu-publish\"")
            .nth(1)
            .and_then(|p| p.split("</details>").next())
            .unwrap_or_else(|| panic!("[{}] no publish form", app.backend));
        // The public question comes without the number; the original shows
        // it marked.
        assert!(
            publish.contains("xin gọi lại số [số điện thoại].</textarea>"),
            "{publish}"
        );
        assert!(publish.contains("<mark>0905123456</mark>"), "{publish}");
        assert!(publish.contains("1 chỗ có thông tin cá nhân"));
        // Publishing what the form proposes keeps the number off /hoi-dap.
        let version = current(&app, &control, &code).await["version"].to_string();
        let title = publish
            .split("name=\"title_redacted\"")
            .nth(1)
            .and_then(|t| t.split("value=\"").nth(1))
            .and_then(|t| t.split('"').next())
            .unwrap()
            .to_string();
        let done = post_form(
            &app,
            &control,
            "/nhan-vien/phan-anh/{tracking_code}/{action}",
            &format!("/nhan-vien/phan-anh/{code}/publish"),
            &[
                ("version", &version),
                ("title_redacted", &title),
                (
                    "question_redacted",
                    "Tôi nộp hồ sơ cấp phép xây dựng đã 40 ngày chưa có kết quả, xin gọi lại số [số điện thoại].",
                ),
                ("answer_redacted", "Sở đã trả kết quả ngày 25/11."),
            ],
        )
        .await;
        assert_eq!(
            done.status,
            StatusCode::SEE_OTHER,
            "[{}] {}",
            app.backend,
            html(&done)
        );
        let public = app
            .send(Method::GET, "/hoi-dap", "/hoi-dap", |r| {
                r.header("accept", "text/html")
            })
            .await;
        assert!(!html(&public).contains("0905123456"));
    }
}

const PDF: &[u8] = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n";

#[apply(case!)]
async fn the_answers_documents_are_added_and_removed_from_the_item_page() {
    for app in apps().await {
        let control = sign_in_as(&app, "kiemsoat.vb", Role::ControlOffice, "48.VP").await;
        let officer = sign_in_as(&app, "sxd.cv.vb", Role::AgencyOfficer, "48.SXD").await;
        let lead = sign_in_as(&app, "sxd.ld.vb", Role::AgencyLead, "48.SXD").await;
        let code = in_handling(&app, &control, &officer, &valid_submission()).await;
        step(
            &app,
            &officer,
            &code,
            "answer",
            json!({"text": "Sở trả lời theo văn bản kèm theo."}),
        )
        .await;
        step(&app, &lead, &code, "sign-off", json!({})).await;
        step(
            &app,
            &control,
            &code,
            "send-back",
            json!({"note": "Kèm văn bản có chữ ký."}),
        )
        .await;
        let upload = |version: String, bytes: &'static [u8], name: &'static str| {
            let app = &app;
            let officer = officer.clone();
            let code = code.clone();
            async move {
                let form = reqwest::multipart::Form::new()
                    .text("version", version)
                    .text("rendered_at", "0")
                    .part(
                        "attachments",
                        reqwest::multipart::Part::bytes(bytes.to_vec()).file_name(name),
                    );
                let origin = app.base.clone();
                app.send(
                    Method::POST,
                    "/nhan-vien/phan-anh/{tracking_code}/tep-tra-loi",
                    &format!("/nhan-vien/phan-anh/{code}/tep-tra-loi"),
                    |r| {
                        r.bearer_auth(&officer)
                            .header("accept", "text/html")
                            .header("origin", origin)
                            .multipart(form)
                    },
                )
                .await
            }
        };
        let version = current(&app, &officer, &code).await["version"].to_string();
        // A file that is not what it says is refused on the page.
        let refused = upload(version.clone(), b"MZ\x90\x00 not a pdf", "van-ban.pdf").await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "[{}]",
            app.backend
        );
        assert!(html(&refused).contains("Chưa thay đổi được tệp trả lời"));
        // A stale version: the page says what changed.
        let stale = upload("1".into(), PDF, "van-ban.pdf").await;
        assert_eq!(stale.status, StatusCode::CONFLICT, "[{}]", app.backend);
        let added = upload(version, PDF, "van-ban-ky.pdf").await;
        assert_eq!(
            added.status,
            StatusCode::SEE_OTHER,
            "[{}] {}",
            app.backend,
            html(&added)
        );
        let item = current(&app, &officer, &code).await;
        let file = item["attachments"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["source"] == "answer")
            .expect("the answer's file")
            .clone();
        assert_eq!(
            item["answer_signed_off"], false,
            "a fresh sign-off is needed"
        );
        let page = console_item(&app, &officer, &code).await;
        assert!(page.contains("Gỡ tệp van-ban-ky.pdf"), "[{}]", app.backend);
        let id = file["id"].as_str().unwrap();
        let removed = post_form(
            &app,
            &officer,
            "/nhan-vien/phan-anh/{tracking_code}/tep-tra-loi/{attachment_id}/xoa",
            &format!("/nhan-vien/phan-anh/{code}/tep-tra-loi/{id}/xoa"),
            &[("version", &item["version"].to_string())],
        )
        .await;
        assert_eq!(removed.status, StatusCode::SEE_OTHER, "[{}]", app.backend);
        let after = current(&app, &officer, &code).await;
        assert!(
            !after["attachments"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a["source"] == "answer"),
            "[{}]",
            app.backend
        );
        // Someone who may never draft is refused before the body is read.
        let auditor = sign_in_as(&app, "thanhtra.vb", Role::Auditor, "48.VP").await;
        let refused = post_form(
            &app,
            &auditor,
            "/nhan-vien/phan-anh/{tracking_code}/tep-tra-loi/{attachment_id}/xoa",
            &format!("/nhan-vien/phan-anh/{code}/tep-tra-loi/{id}/xoa"),
            &[("version", &after["version"].to_string())],
        )
        .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "[{}]", app.backend);
    }
}

#[apply(case!)]
async fn staff_write_to_the_submitter_through_the_outbox_without_pausing_the_clock() {
    for app in apps().await {
        let control = sign_in_as(&app, "kiemsoat.thu", Role::ControlOffice, "48.VP").await;
        let officer = sign_in_as(&app, "sxd.cv.thu", Role::AgencyOfficer, "48.SXD").await;
        let helper = sign_in_as(&app, "stc.cv.thu", Role::AgencyOfficer, "48.STC").await;
        let code = in_handling(&app, &control, &officer, &valid_submission()).await;
        step(
            &app,
            &officer,
            &code,
            "request-coordination",
            json!({"agency_code": "48.STC", "note": "Cho ý kiến."}),
        )
        .await;
        let before = current(&app, &officer, &code).await;
        let sent = post_form(
            &app,
            &officer,
            "/nhan-vien/phan-anh/{tracking_code}/{action}",
            &format!("/nhan-vien/phan-anh/{code}/thu"),
            &[(
                "text",
                "Sở đang xác minh hồ sơ, sẽ trả lời trước ngày 20/12.",
            )],
        )
        .await;
        assert_eq!(
            sent.status,
            StatusCode::SEE_OTHER,
            "[{}] {}",
            app.backend,
            html(&sent)
        );
        let after = current(&app, &officer, &code).await;
        // Queued to the submitter, audited, the clock untouched.
        let out = after["messages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["subject"] == format!("Trao đổi về phản ánh, kiến nghị {code}"))
            .unwrap_or_else(|| panic!("[{}] {}", app.backend, after["messages"]));
        assert_eq!(out["direction"], "out");
        assert_eq!(after["state"], "in_handling");
        assert_eq!(after["due_at"], before["due_at"]);
        assert!(
            after["history"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["action"] == "feedback.message_sent"
                    && e["reason"] == "Sở đang xác minh hồ sơ, sẽ trả lời trước ngày 20/12."),
            "[{}]",
            app.backend
        );
        // The coordinating agency does not know who wrote in.
        let refused = app
            .send(
                Method::POST,
                "/api/v1/staff/feedback/{tracking_code}/messages",
                &format!("/api/v1/staff/feedback/{code}/messages"),
                |r| r.bearer_auth(&helper).json(&json!({"text": "Xin chào"})),
            )
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "[{}]", app.backend);
        // Without an e-mail address there is nobody to write to.
        let mut no_mail = valid_submission();
        no_mail["submitter"]["email"] = Value::Null;
        let other = in_handling(&app, &control, &officer, &no_mail).await;
        let nobody = app
            .send(
                Method::POST,
                "/api/v1/staff/feedback/{tracking_code}/messages",
                &format!("/api/v1/staff/feedback/{other}/messages"),
                |r| r.bearer_auth(&officer).json(&json!({"text": "Xin chào"})),
            )
            .await;
        assert_eq!(
            nobody.field_errors(),
            vec![("text".into(), "no_email".into())]
        );
        let page = console_item(&app, &officer, &other).await;
        assert!(page.contains("Người gửi không để lại địa chỉ thư điện tử"));
    }
}

async fn my_work(app: &TestApp, token: &str) -> Value {
    let reply = app
        .send(
            Method::GET,
            "/api/v1/staff/my-work",
            "/api/v1/staff/my-work",
            |r| r.bearer_auth(token),
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "[{}] {}",
        app.backend,
        reply.body
    );
    reply.body
}

fn section<'a>(work: &'a Value, key: &str) -> &'a Value {
    work["sections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["key"] == key)
        .unwrap_or_else(|| panic!("no {key} in {work}"))
}

#[apply(case!)]
async fn my_work_lists_what_waits_for_each_person() {
    for app in apps().await {
        let control = sign_in_as(&app, "kiemsoat.vct", Role::ControlOffice, "48.VP").await;
        let officer = sign_in_as(&app, "sxd.cv.vct", Role::AgencyOfficer, "48.SXD").await;
        let helper = sign_in_as(&app, "stc.cv.vct", Role::AgencyOfficer, "48.STC").await;
        let auditor = sign_in_as(&app, "thanhtra.vct", Role::Auditor, "48.VP").await;
        let waiting = app.post_feedback(&valid_submission()).await;
        let waiting = waiting.body["tracking_code"].as_str().unwrap().to_string();
        let code = in_handling(&app, &control, &officer, &valid_submission()).await;
        step(
            &app,
            &officer,
            &code,
            "request-coordination",
            json!({"agency_code": "48.STC", "note": "Cho ý kiến về lệ phí."}),
        )
        .await;

        let office = my_work(&app, &control).await;
        assert_eq!(
            section(&office, "received")["count"],
            1,
            "[{}]",
            app.backend
        );
        assert_eq!(
            section(&office, "received")["items"][0]["tracking_code"],
            waiting
        );
        assert!(
            office["sections"]
                .as_array()
                .unwrap()
                .iter()
                .all(|s| s["key"] != "in_handling"),
            "answering is the agency's"
        );
        let sxd = my_work(&app, &officer).await;
        assert_eq!(
            section(&sxd, "in_handling")["items"][0]["tracking_code"],
            code
        );
        assert_eq!(section(&sxd, "forwarded")["count"], 0);
        let stc = my_work(&app, &helper).await;
        assert_eq!(
            section(&stc, "coordination")["count"],
            1,
            "[{}]",
            app.backend
        );
        assert_eq!(
            section(&stc, "coordination")["requests"][0]["tracking_code"],
            code
        );
        assert_eq!(stc["total"], 1);
        assert_eq!(my_work(&app, &auditor).await["sections"], json!([]));

        // The page and the count in the navigation.
        let shown = page(
            &app,
            &helper,
            "/nhan-vien/viec-cua-toi",
            "/nhan-vien/viec-cua-toi",
        )
        .await;
        assert!(
            html(&shown).contains("đề nghị phối hợp"),
            "[{}]",
            app.backend
        );
        assert!(html(&shown).contains(&code));
        let badge = page(
            &app,
            &helper,
            "/nhan-vien/viec-cua-toi/so-luong",
            "/nhan-vien/viec-cua-toi/so-luong",
        )
        .await;
        assert!(
            html(&badge).contains("<span class=\"badge\">1</span>"),
            "{}",
            html(&badge)
        );
        // Once contributed, it waits no more.
        step(
            &app,
            &helper,
            &code,
            "contribute",
            json!({"text": "Lệ phí đúng quy định."}),
        )
        .await;
        assert_eq!(
            section(&my_work(&app, &helper).await, "coordination")["count"],
            0
        );
    }
}

#[apply(case!)]
async fn withholding_names_a_reason_from_the_list() {
    for app in apps().await {
        let control = sign_in_as(&app, "kiemsoat.kck", Role::ControlOffice, "48.VP").await;
        let officer = sign_in_as(&app, "sxd.cv.kck", Role::AgencyOfficer, "48.SXD").await;
        let lead = sign_in_as(&app, "sxd.ld.kck", Role::AgencyLead, "48.SXD").await;
        let code = in_handling(&app, &control, &officer, &valid_submission()).await;
        step(
            &app,
            &officer,
            &code,
            "answer",
            json!({"text": "Sở đã trả kết quả."}),
        )
        .await;
        step(&app, &lead, &code, "sign-off", json!({})).await;
        step(&app, &control, &code, "approve", json!({})).await;
        // The form offers the list.
        let page = console_item(&app, &control, &code).await;
        assert!(
            page.contains("<option value=\"private_matter\">Nội dung mang tính riêng"),
            "[{}]",
            app.backend
        );
        let version = current(&app, &control, &code).await["version"].clone();
        let unknown = act(
            &app,
            &control,
            &code,
            "withhold",
            json!({"version": version, "reason": "boredom"}),
        )
        .await;
        assert_eq!(
            unknown.field_errors(),
            vec![("reason".into(), "invalid_choice".into())]
        );
        let bare_other = act(
            &app,
            &control,
            &code,
            "withhold",
            json!({"version": version, "reason": "other"}),
        )
        .await;
        assert_eq!(
            bare_other.field_errors(),
            vec![("note".into(), "required".into())]
        );
        let item = step(
            &app,
            &control,
            &code,
            "withhold",
            json!({"reason": "private_matter", "note": "Hồ sơ riêng của một hộ."}),
        )
        .await;
        assert_eq!(item["state"], "withheld");
        assert_eq!(
            item["withheld_reason"],
            "Nội dung mang tính riêng, không có giá trị tham khảo chung: Hồ sơ riêng của một hộ."
        );
    }
}
