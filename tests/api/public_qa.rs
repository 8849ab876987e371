//! The public Q&A data: only what was published, searchable without
//! diacritics, cacheable, open to portals' browsers, and as an Atom feed.

use crate::case;
use macro_rules_attribute::apply;

use pakn::domain::staff::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::auth::sign_in_as;
use crate::helpers::{TestApp, apps, apps_with, valid_submission};
use crate::workflow::step;

/// Takes a submission through the control office to publication.
pub async fn publish(
    app: &TestApp,
    control: &str,
    submission: Value,
    title: &str,
    question: &str,
    answer: &str,
) -> String {
    let r = app.post_feedback(&submission).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let code = r.body["tracking_code"].as_str().unwrap().to_string();
    answer_and_publish(app, control, &code, title, question, answer).await;
    code
}

/// Takes a received item through the control office to publication.
pub async fn answer_and_publish(
    app: &TestApp,
    control: &str,
    code: &str,
    title: &str,
    question: &str,
    answer: &str,
) {
    let code = code.to_string();
    step(
        app,
        control,
        &code,
        "classify",
        json!({"content_category": "implementation_problem"}),
    )
    .await;
    step(app, control, &code, "accept", json!({})).await;
    step(app, control, &code, "answer", json!({"text": answer})).await;
    step(app, control, &code, "sign-off", json!({})).await;
    step(app, control, &code, "approve", json!({})).await;
    let item = step(
        app,
        control,
        &code,
        "publish",
        json!({"title_redacted": title, "question_redacted": question}),
    )
    .await;
    assert_eq!(item["state"], "published");
}

/// The tracking codes of a list, in order.
fn codes(r: &crate::helpers::Reply) -> Vec<String> {
    r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["tracking_code"].as_str().unwrap().to_string())
        .collect()
}

async fn qa(app: &TestApp, query: &str) -> crate::helpers::Reply {
    app.send(
        Method::GET,
        "/api/v1/public/qa",
        &format!("/api/v1/public/qa{query}"),
        |r| r,
    )
    .await
}

const PRIVATE: [&str; 7] = [
    "Nguyễn Văn An",
    // The phone as typed and as stored (never its first digits alone:
    // they turn up in timestamps and ids by chance).
    "0912 345",
    "0912345",
    "an.nguyen@example.vn",
    "12 Lê Lợi",
    "Trần Thị Bí Mật",
    "lookup_token",
];

#[apply(case!)]
async fn only_what_was_published_is_public_and_searchable_without_diacritics() {
    for app in apps().await {
        let control = sign_in_as(&app, "kiemsoat.q", Role::ControlOffice, "48.VP").await;
        // The original names a third person in the title and the text.
        let mut submission = valid_submission();
        submission["title"] = json!("Bà Trần Thị Bí Mật làm chậm hồ sơ cấp phép");
        submission["content"] = json!(
            "Cán bộ Trần Thị Bí Mật giữ hồ sơ cấp giấy phép xây dựng của tôi quá hạn ba tuần."
        );
        let code = publish(
            &app,
            &control,
            submission,
            "Hồ sơ cấp phép xây dựng bị chậm",
            "Cán bộ tiếp nhận giữ hồ sơ cấp giấy phép xây dựng quá hạn ba tuần.",
            "Sở Xây dựng đã chấn chỉnh bộ phận một cửa; hồ sơ được trả kết quả ngày 25/11.",
        )
        .await;
        // A second, unpublished item never shows.
        app.post_feedback(&valid_submission()).await;

        let all = qa(&app, "").await;
        assert_eq!(all.status, StatusCode::OK);
        assert_eq!(all.body["total"], 1);
        let item = &all.body["items"][0];
        assert_eq!(item["tracking_code"], code.as_str());
        assert_eq!(item["title"], "Hồ sơ cấp phép xây dựng bị chậm");
        assert!(item["answer"].as_str().unwrap().contains("chấn chỉnh"));
        assert_eq!(item["agency"]["code"], "48.VP");
        let text = all.body.to_string();
        for private in PRIVATE {
            assert!(!text.contains(private), "{private} leaked: {text}");
        }

        // Without diacritics, any case, several words.
        for q in ["cap%20phep", "C%C3%A2p%20PHEP", "chan%20chinh"] {
            assert_eq!(qa(&app, &format!("?q={q}")).await.body["total"], 1, "{q}");
        }
        // A name only in the private original finds nothing.
        assert_eq!(qa(&app, "?q=bi%20mat").await.body["total"], 0);
        // Filters.
        assert_eq!(
            qa(&app, "?agency=48.VP&kind=phan_anh&year=2026").await.body["total"],
            1
        );
        assert_eq!(qa(&app, "?agency=48.SXD").await.body["total"], 0);
        assert_eq!(qa(&app, "?kind=kien_nghi").await.body["total"], 0);
        // The same filters narrow a search.
        assert_eq!(
            qa(&app, "?q=cap%20phep&agency=48.VP&kind=phan_anh&year=2026")
                .await
                .body["total"],
            1
        );
        for narrowed in ["agency=48.SXD", "kind=kien_nghi", "year=2025"] {
            assert_eq!(
                qa(&app, &format!("?q=cap%20phep&{narrowed}")).await.body["total"],
                0,
                "{narrowed}"
            );
        }
        let bad = qa(&app, "?agency=nope&kind=x&year=1").await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(bad.field_errors().len(), 3);
        let detail = bad.body["detail"].as_str().unwrap();
        assert!(
            detail.contains("“year”") && !detail.contains("Nghị định 20"),
            "{detail}"
        );
        assert_eq!(
            qa(&app, "?per_page=51").await.status,
            StatusCode::UNPROCESSABLE_ENTITY
        );

        // One item; the same 404 for unpublished and unknown.
        let one = app
            .send(
                Method::GET,
                "/api/v1/public/qa/{tracking_code}",
                &format!("/api/v1/public/qa/{code}"),
                |r| r,
            )
            .await;
        assert_eq!(one.status, StatusCode::OK);
        assert_eq!(
            one.body["question"],
            "Cán bộ tiếp nhận giữ hồ sơ cấp giấy phép xây dựng quá hạn ba tuần."
        );
        for other in ["PAKN.48.20990101.0001", "not-a-code"] {
            let r = app
                .send(
                    Method::GET,
                    "/api/v1/public/qa/{tracking_code}",
                    &format!("/api/v1/public/qa/{other}"),
                    |r| r,
                )
                .await;
            assert_eq!(r.status, StatusCode::NOT_FOUND);
        }

        // Unpublished: gone from the list and the search.
        let item = crate::workflow::current(&app, &control, &code).await;
        step(
            &app,
            &control,
            &code,
            "unpublish",
            json!({"version": item["version"], "note": "Biên tập lại"}),
        )
        .await;
        assert_eq!(qa(&app, "").await.body["total"], 0);
        assert_eq!(qa(&app, "?q=cap%20phep").await.body["total"], 0);
    }
}

#[apply(case!)]
async fn portals_may_cache_and_call_it_from_the_browser() {
    for app in apps().await {
        let control = sign_in_as(&app, "kiemsoat.q", Role::ControlOffice, "48.VP").await;
        publish(
            &app,
            &control,
            valid_submission(),
            "Cấp phép chậm",
            "Hồ sơ cấp phép chậm.",
            "Đã xử lý.",
        )
        .await;
        let first = qa(&app, "").await;
        assert_eq!(first.header("access-control-allow-origin"), Some("*"));
        assert!(first.header("cache-control").unwrap().contains("public"));
        let etag = first.header("etag").unwrap().to_string();
        assert!(first.header("last-modified").is_some());
        let again = app
            .send(Method::GET, "/api/v1/public/qa", "/api/v1/public/qa", |r| {
                r.header("If-None-Match", &etag)
            })
            .await;
        assert_eq!(again.status, StatusCode::NOT_MODIFIED);
        assert_eq!(again.header("etag"), Some(etag.as_str()));
        // Another page is another representation.
        let other = app
            .send(
                Method::GET,
                "/api/v1/public/qa",
                "/api/v1/public/qa?page=2",
                |r| r.header("If-None-Match", &etag),
            )
            .await;
        assert_eq!(other.status, StatusCode::OK);
        let lm = first.header("last-modified").unwrap().to_string();
        let since = app
            .send(Method::GET, "/api/v1/public/qa", "/api/v1/public/qa", |r| {
                r.header("If-Modified-Since", &lm)
            })
            .await;
        assert_eq!(since.status, StatusCode::NOT_MODIFIED);
    }
}

#[apply(case!)]
async fn the_atom_feed_lists_answers_with_stable_ids_and_no_personal_data() {
    for app in apps().await {
        let control = sign_in_as(&app, "kiemsoat.q", Role::ControlOffice, "48.VP").await;
        let code = publish(
            &app,
            &control,
            valid_submission(),
            "Cấp phép <b>chậm</b> & lâu",
            "Hồ sơ cấp phép chậm.",
            "Đã xử lý <script>alert(1)</script>.",
        )
        .await;
        let feed = app
            .send(
                Method::GET,
                "/hoi-dap/feed.atom",
                "/hoi-dap/feed.atom",
                |r| r,
            )
            .await;
        assert_eq!(feed.status, StatusCode::OK);
        assert!(
            feed.header("content-type")
                .unwrap()
                .starts_with("application/atom+xml")
        );
        let xml = feed.body.as_str().unwrap().to_string();
        assert!(
            xml.contains(&format!("<id>tag:danang.gov.vn,2026:{code}</id>")),
            "{xml}"
        );
        assert!(
            xml.contains("Cấp phép &lt;b&gt;chậm&lt;/b&gt; &amp; lâu"),
            "{xml}"
        );
        assert!(!xml.contains("<script>"), "{xml}");
        for private in PRIVATE {
            assert!(!xml.contains(private), "{private} leaked");
        }
        let parsed: atom_syndication::Feed = xml.parse().expect("valid Atom");
        assert_eq!(parsed.entries().len(), 1);
        let for_sxd = app
            .send(
                Method::GET,
                "/hoi-dap/feed.atom",
                "/hoi-dap/feed.atom?agency=48.SXD",
                |r| r,
            )
            .await;
        let parsed: atom_syndication::Feed =
            for_sxd.body.as_str().unwrap().parse().expect("valid Atom");
        assert!(parsed.entries().is_empty());
    }
}

#[apply(case!)]
async fn the_pages_show_published_answers_escaped_under_a_strict_policy() {
    for app in apps().await {
        let control = sign_in_as(&app, "kiemsoat.q", Role::ControlOffice, "48.VP").await;
        let mut submission = valid_submission();
        submission["content"] = json!(
            "Tên tôi là Nguyễn Văn An, hồ sơ cấp giấy phép xây dựng của tôi quá hạn <script>alert(1)</script>."
        );
        let code = publish(
            &app,
            &control,
            submission,
            "Hồ sơ cấp phép <script>alert(2)</script> quá hạn",
            "Hồ sơ cấp giấy phép xây dựng quá hạn <img src=x onerror=alert(3)>.",
            "Đã trả kết quả.",
        )
        .await;
        let page = app
            .send(Method::GET, "/hoi-dap", "/hoi-dap?q=cap+phep", |r| r)
            .await;
        assert_eq!(page.status, StatusCode::OK);
        let csp = page.header("content-security-policy").unwrap();
        assert!(
            csp.contains("script-src") || csp.starts_with("default-src 'none'"),
            "{csp}"
        );
        assert!(!csp.contains("unsafe-inline"));
        assert_eq!(page.header("x-frame-options"), Some("DENY"));
        let html = page.body.as_str().unwrap();
        assert!(html.contains("<html lang=\"vi\">"));
        assert!(html.contains(&format!("/hoi-dap/{code}")));
        assert!(
            html.contains("&#60;script&#62;alert(2)&#60;/script&#62;"),
            "{html}"
        );
        assert!(!html.contains("<script>"));
        assert!(!html.contains("<img src=x"));
        for private in PRIVATE {
            assert!(!html.contains(private), "{private} leaked");
        }
        let item = app
            .send(
                Method::GET,
                "/hoi-dap/{tracking_code}",
                &format!("/hoi-dap/{code}"),
                |r| r,
            )
            .await;
        assert_eq!(item.status, StatusCode::OK);
        let html = item.body.as_str().unwrap();
        assert!(html.contains("Đã trả kết quả."));
        assert!(!html.contains("<img src=x"));
        assert!(!html.contains("Nguyễn Văn An"));
        // A bad filter is explained on the page, not a raw error.
        let bad = app
            .send(
                Method::GET,
                "/hoi-dap",
                "/hoi-dap?agency=khong-co&year=abc",
                |r| r,
            )
            .await;
        assert_eq!(bad.status, StatusCode::OK);
        let html = bad.body.as_str().unwrap();
        assert!(html.contains("Không có cơ quan này"), "{html}");
        assert!(html.contains("Năm phải là số"));
        let missing = app
            .send(
                Method::GET,
                "/hoi-dap/{tracking_code}",
                "/hoi-dap/PAKN.48.20990101.0001",
                |r| r.header("Accept", "text/html,application/xhtml+xml"),
            )
            .await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
        assert!(
            missing
                .header("content-type")
                .unwrap()
                .starts_with("text/html")
        );
        // A program (no text/html in Accept) gets the usual problem+json.
        let for_a_program = app
            .send(
                Method::GET,
                "/hoi-dap/{tracking_code}",
                "/hoi-dap/PAKN.48.20990101.0001",
                |r| r,
            )
            .await;
        assert_eq!(for_a_program.body["code"], "qa_not_found");
        let css = app
            .send(Method::GET, "/static/pakn.css", "/static/pakn.css", |r| r)
            .await;
        assert_eq!(css.status, StatusCode::OK);
        assert!(css.header("content-type").unwrap().starts_with("text/css"));
    }
}

#[apply(case!)]
async fn the_about_page_says_what_the_channel_is_not_for() {
    for app in apps().await {
        let page = app
            .send(Method::GET, "/gioi-thieu", "/gioi-thieu", |r| r)
            .await;
        assert_eq!(page.status, StatusCode::OK);
        let html = page.body.as_str().unwrap();
        for must in [
            "Khiếu nại",
            "Tố cáo",
            "Nghị định 20/2008/NĐ-CP",
            "phananh@danang.gov.vn",
            "aria-current=\"page\"",
        ] {
            assert!(html.contains(must), "{must}");
        }
        assert!(
            page.header("content-security-policy")
                .unwrap()
                .contains("frame-ancestors 'none'")
        );
    }
}

#[apply(case!)]
async fn the_lookup_page_shows_the_submitter_their_item_and_nobody_else() {
    for app in apps().await {
        let receipt = app.post_feedback(&valid_submission()).await;
        let code = receipt.body["tracking_code"].as_str().unwrap().to_string();
        let token = receipt.body["lookup_token"].as_str().unwrap().to_string();
        let form = app
            .send(
                Method::GET,
                "/tra-cuu",
                &format!("/tra-cuu?ma={code}"),
                |r| r,
            )
            .await;
        assert_eq!(form.status, StatusCode::OK);
        assert!(
            form.body
                .as_str()
                .unwrap()
                .contains(&format!("value=\"{code}\""))
        );
        let post = |code: String, token: String, site: &'static str| {
            let app = &app;
            async move {
                app.send(Method::POST, "/tra-cuu", "/tra-cuu", |r| {
                    r.header("Sec-Fetch-Site", site)
                        .form(&[("ma", code.as_str()), ("token", token.as_str())])
                })
                .await
            }
        };
        let mine = post(code.to_lowercase(), token.clone(), "same-origin").await;
        assert_eq!(mine.status, StatusCode::OK);
        assert_eq!(mine.header("cache-control"), Some("no-store, private"));
        let html = mine.body.as_str().unwrap();
        assert!(html.contains("Đã tiếp nhận"), "{html}");
        assert!(html.contains(&code));
        // Wrong token and unknown code: the same form, the same words.
        let wrong = post(code.clone(), "AAAA-BBBB-CCCC-DDDD".into(), "same-origin").await;
        let unknown = post("PAKN.48.20990101.0001".into(), token.clone(), "same-origin").await;
        for r in [&wrong, &unknown] {
            assert_eq!(r.status, StatusCode::OK);
            let html = r.body.as_str().unwrap();
            assert!(html.contains("Mã số hoặc mã tra cứu không đúng"));
            assert!(!html.contains("Đã tiếp nhận"));
        }
        // Another site's form cannot post here.
        let cross = post(code.clone(), token.clone(), "cross-site").await;
        assert_eq!(cross.status, StatusCode::FORBIDDEN);
        let missing = app
            .send(Method::POST, "/tra-cuu", "/tra-cuu", |r| {
                r.form(&[("ma", code.as_str())])
            })
            .await;
        assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    }
}

#[apply(case!)]
async fn only_the_configured_portals_may_frame_the_embed() {
    for app in apps_with(|s| {
        s.public_pages.embed_origins = vec!["https://danang.gov.vn".into()];
    })
    .await
    {
        let control = sign_in_as(&app, "kiemsoat.e", Role::ControlOffice, "48.VP").await;
        let mut submission = valid_submission();
        submission["agency_code"] = json!("48.SXD");
        let code = publish(
            &app,
            &control,
            submission,
            "Cấp phép <script>alert(4)</script> chậm",
            "Hồ sơ cấp phép xây dựng chậm.",
            "Sở Xây dựng đã trả kết quả.",
        )
        .await;
        let embed = app
            .send(
                Method::GET,
                "/hoi-dap/embed",
                "/hoi-dap/embed?limit=5",
                |r| r,
            )
            .await;
        assert_eq!(embed.status, StatusCode::OK);
        let csp = embed.header("content-security-policy").unwrap();
        assert!(
            csp.contains("frame-ancestors 'self' https://danang.gov.vn"),
            "{csp}"
        );
        assert!(!csp.contains("script-src"), "no script runs in the frame");
        assert_eq!(embed.header("x-frame-options"), None);
        let html = embed.body.as_str().unwrap();
        assert!(html.contains(&format!("/hoi-dap/{code}\" target=\"_blank\"")));
        assert!(html.contains("&#60;script&#62;alert(4)"));
        assert!(!html.contains("<header"), "no site chrome");
        // Filters narrow it; an unknown one is a note, not a broken frame.
        let other = app
            .send(
                Method::GET,
                "/hoi-dap/embed",
                "/hoi-dap/embed?kind=kien_nghi",
                |r| r,
            )
            .await;
        assert!(!other.body.as_str().unwrap().contains(&code));
        let typo = app
            .send(
                Method::GET,
                "/hoi-dap/embed",
                "/hoi-dap/embed?agency=KHONG.CO",
                |r| r,
            )
            .await;
        assert_eq!(typo.status, StatusCode::OK);
        assert!(typo.body.as_str().unwrap().contains("không hợp lệ"));
        // A number that is not one: still a frame with a note, not an error
        // that the frame policy would then refuse to show.
        let not_a_year = app
            .send(
                Method::GET,
                "/hoi-dap/embed",
                "/hoi-dap/embed?year=abc&limit=x",
                |r| r,
            )
            .await;
        assert_eq!(not_a_year.status, StatusCode::OK);
        assert_eq!(not_a_year.header("x-frame-options"), None);
        assert!(not_a_year.body.as_str().unwrap().contains("không hợp lệ"));
        // Every other page still refuses to be framed.
        for path in ["/hoi-dap", "/tra-cuu", "/gui-phan-anh", "/gioi-thieu"] {
            let page = app.send(Method::GET, path, path, |r| r).await;
            assert_eq!(page.header("x-frame-options"), Some("DENY"), "{path}");
            assert!(
                page.header("content-security-policy")
                    .unwrap()
                    .contains("frame-ancestors 'none'"),
                "{path}"
            );
        }
        // The script for portals' own pages renders text, never HTML.
        let script = app.send(Method::GET, "/embed.js", "/embed.js", |r| r).await;
        assert_eq!(script.status, StatusCode::OK);
        assert_eq!(
            script.header("content-type"),
            Some("text/javascript; charset=utf-8")
        );
        assert_eq!(
            script.header("cross-origin-resource-policy"),
            Some("cross-origin")
        );
        let js = script.body.as_str().unwrap();
        assert!(js.contains("textContent"));
        assert!(!js.contains("innerHTML"));
    }
}

#[apply(case!)]
async fn the_closest_answer_comes_first_and_postgresql_forgives_typos() {
    for app in apps().await {
        let control = sign_in_as(&app, "kiemsoat.r", Role::ControlOffice, "48.VP").await;
        // The closer match is published first, so "newest first" alone
        // would put it second.
        let close = publish(
            &app,
            &control,
            valid_submission(),
            "Cấp giấy phép xây dựng nhà ở riêng lẻ quá hạn",
            "Hồ sơ cấp giấy phép xây dựng nhà ở riêng lẻ quá hạn hai tuần.",
            "Sở Xây dựng đã trả giấy phép.",
        )
        .await;
        let loose = publish(
            &app,
            &control,
            valid_submission(),
            "Thủ tục đăng ký hộ kinh doanh",
            "Đăng ký hộ kinh doanh mất nhiều thời gian; nhà ở của tôi cũng cần giấy phép sửa chữa.",
            "Đã hướng dẫn thủ tục đăng ký và xây dựng lại quy trình.",
        )
        .await;
        // Both contain every word; the closer one comes first.
        let both = qa(&app, "?q=giay%20phep%20xay%20dung%20nha%20o").await;
        assert_eq!(both.body["total"], 2, "{}", both.body);
        let typo = qa(&app, "?q=giay%20phep%20xay%20dumg%20nha%20o%20rieng%20le").await;
        assert_eq!(codes(&both), vec![close.clone(), loose.clone()]);
        if app.backend == "postgres" {
            // One letter wrong: still found, on PostgreSQL.
            assert_eq!(codes(&typo), vec![close.clone()], "{}", typo.body);
        } else {
            assert_eq!(typo.body["total"], 0);
        }
        // Unrelated words find nothing anywhere; similarity is not a guess.
        assert_eq!(
            qa(&app, "?q=bao%20hiem%20that%20nghiep").await.body["total"],
            0
        );
    }
}

/// Takes a received item to an approved answer (ready to publish).
async fn approve(app: &TestApp, control: &str, code: &str, answer: &str) {
    step(
        app,
        control,
        code,
        "classify",
        json!({"content_category": "implementation_problem"}),
    )
    .await;
    step(app, control, code, "accept", json!({})).await;
    step(app, control, code, "answer", json!({"text": answer})).await;
    step(app, control, code, "sign-off", json!({})).await;
    step(app, control, code, "approve", json!({})).await;
}

async fn publish_reply(
    app: &TestApp,
    control: &str,
    code: &str,
    body: Value,
) -> crate::helpers::Reply {
    let mut body = body;
    body["version"] = crate::workflow::current(app, control, code).await["version"].clone();
    crate::workflow::act(app, control, code, "publish", body).await
}

#[apply(case!)]
async fn the_public_answer_is_a_redacted_copy_checked_before_it_goes_out() {
    for app in apps().await {
        let control = sign_in_as(&app, "kiemsoat.x", Role::ControlOffice, "48.VP").await;
        let r = app.post_feedback(&valid_submission()).await;
        let (code, token) = (
            r.body["tracking_code"].as_str().unwrap().to_string(),
            r.body["lookup_token"].as_str().unwrap().to_string(),
        );
        let answer = "Sở đã liên hệ bà Trần Thị Bình (0905 111 222) và trả giấy phép cho ông Nguyễn Văn An ngày 25/11.";
        approve(&app, &control, &code, answer).await;
        let title = "Cấp phép xây dựng chậm";
        let question = "Hồ sơ cấp giấy phép xây dựng quá hạn.";

        // The answer as approved names people: refused, field by field.
        let r = publish_reply(
            &app,
            &control,
            &code,
            json!({"title_redacted": title, "question_redacted": question}),
        )
        .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert_eq!(
            r.field_errors(),
            vec![("answer_redacted".into(), "personal_data_found".into())]
        );
        // The submitter's own name or a passport number in the title or
        // question: refused too.
        for (t, q) in [
            ("Ông Nguyễn Văn An hỏi về cấp phép", question),
            (
                title,
                "Hộ chiếu C1234567 của tôi bị giữ lại ở bộ phận một cửa.",
            ),
            ("Ngập trước nhà 45 Trần Phú", question),
        ] {
            let r = publish_reply(
                &app,
                &control,
                &code,
                json!({"title_redacted": t, "question_redacted": q, "answer_redacted": "Đã xử lý."}),
            )
            .await;
            assert_eq!(
                r.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{t} / {q}: {}",
                r.body
            );
            assert!(
                r.field_errors()
                    .iter()
                    .all(|(_, c)| c == "personal_data_found"),
                "{}",
                r.body
            );
        }
        // The proposal removes what the detector finds in the answer.
        let proposal = app
            .staff_get(&control, &code, "/redaction-suggestion")
            .await;
        let proposed = proposal.body["answer_redacted"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(
            !proposed.contains("0905") && !proposed.contains("Bình"),
            "{proposed}"
        );
        let r = publish_reply(
            &app,
            &control,
            &code,
            json!({"title_redacted": title, "question_redacted": question, "answer_redacted": proposed}),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "[{}] {}", app.backend, r.body);
        assert_eq!(r.body["answer_redacted"], proposed.as_str());

        // The public reads the copy only; search finds nothing of the rest.
        let all = qa(&app, "").await;
        assert_eq!(all.body["items"][0]["answer"], proposed.as_str());
        for private in ["0905", "Trần Thị Bình", "Nguyễn Văn An"] {
            assert!(!all.body.to_string().contains(private), "{private}");
        }
        assert_eq!(qa(&app, "?q=tran%20thi%20binh").await.body["total"], 0);
        let page = app
            .send(
                Method::GET,
                "/hoi-dap/{tracking_code}",
                &format!("/hoi-dap/{code}"),
                |r| r,
            )
            .await;
        assert!(!page.body.as_str().unwrap().contains("0905 111 222"));
        let feed = app
            .send(
                Method::GET,
                "/hoi-dap/feed.atom",
                "/hoi-dap/feed.atom",
                |r| r,
            )
            .await;
        assert!(!feed.body.as_str().unwrap().contains("0905 111 222"));
        // The citizen still reads the whole answer.
        assert_eq!(
            app.lookup(&code, &token).await.body["answer"]["text"],
            answer
        );

        // Text the detector flags that is not personal data: published
        // with a reason, which is audited.
        let r2 = app.post_feedback(&valid_submission()).await;
        let code2 = r2.body["tracking_code"].as_str().unwrap().to_string();
        approve(
            &app,
            &control,
            &code2,
            "Liên hệ đường dây nóng 0236 3822 222 của Sở.",
        )
        .await;
        let r = publish_reply(
            &app,
            &control,
            &code2,
            json!({"title_redacted": title, "question_redacted": question,
                   "confirm_personal_data": "Số đường dây nóng công khai của Sở, không phải thông tin cá nhân"}),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let audit = r.body["history"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["action"] == "feedback.publish")
            .unwrap()
            .clone();
        assert_eq!(
            audit["details"]["personal_data_confirmed"]["fields"][0]["field"],
            "answer_redacted"
        );
        assert!(audit["reason"].as_str().unwrap().contains("đường dây nóng"));
    }
}

#[apply(case!)]
async fn publication_rests_on_the_configured_basis() {
    for app in apps().await {
        let control = sign_in_as(&app, "kiemsoat.c", Role::ControlOffice, "48.VP").await;
        let mut no_consent = valid_submission();
        no_consent["consent_to_publish"] = json!(false);
        let code = app.post_feedback(&no_consent).await.body["tracking_code"]
            .as_str()
            .unwrap()
            .to_string();
        approve(&app, &control, &code, "Đã xử lý.").await;
        let r = publish_reply(
            &app,
            &control,
            &code,
            json!({"title_redacted": "Cấp phép chậm", "question_redacted": "Hồ sơ chậm."}),
        )
        .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert_eq!(
            r.field_errors(),
            vec![("consent_to_publish".into(), "consent_missing".into())]
        );
        assert_eq!(qa(&app, "").await.body["total"], 0);
    }
    // Where publication is the office's duty, the same item is published.
    for app in apps_with(|s| s.publication.basis = pakn::config::PublicationBasis::Duty).await {
        let control = sign_in_as(&app, "kiemsoat.c", Role::ControlOffice, "48.VP").await;
        let mut no_consent = valid_submission();
        no_consent["consent_to_publish"] = json!(false);
        let code = app.post_feedback(&no_consent).await.body["tracking_code"]
            .as_str()
            .unwrap()
            .to_string();
        approve(&app, &control, &code, "Đã xử lý.").await;
        let r = publish_reply(
            &app,
            &control,
            &code,
            json!({"title_redacted": "Cấp phép chậm", "question_redacted": "Hồ sơ chậm."}),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
}

#[apply(case!)]
async fn a_published_item_stays_public_when_closed_until_it_is_unpublished() {
    for app in apps().await {
        let control = sign_in_as(&app, "kiemsoat.d", Role::ControlOffice, "48.VP").await;
        let code = publish(
            &app,
            &control,
            valid_submission(),
            "Cấp phép chậm",
            "Hồ sơ cấp phép chậm.",
            "Đã xử lý.",
        )
        .await;
        let closed = step(&app, &control, &code, "close", json!({})).await;
        assert_eq!(closed["state"], "closed");
        assert_eq!(closed["public"], true);
        assert_eq!(qa(&app, "").await.body["total"], 1, "[{}]", app.backend);
        assert_eq!(qa(&app, "?q=cap%20phep").await.body["total"], 1);
        let gone = step(
            &app,
            &control,
            &code,
            "unpublish",
            json!({"note": "Nội dung đã cũ"}),
        )
        .await;
        assert_eq!(gone["state"], "closed");
        assert_eq!(gone["public"], false);
        assert_eq!(qa(&app, "").await.body["total"], 0);
        assert!(
            gone["history"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["action"] == "feedback.unpublish" && e["reason"] == "Nội dung đã cũ")
        );
        // Not public any more: nothing to take off.
        let again = crate::workflow::act(
            &app,
            &control,
            &code,
            "unpublish",
            json!({"version": gone["version"]}),
        )
        .await;
        assert_eq!(again.status, StatusCode::CONFLICT);
        assert_eq!(again.body["code"], "invalid_transition");
    }
}

#[apply(case!)]
async fn public_validators_move_with_what_the_public_sees_and_only_then() {
    for app in apps().await {
        let control = sign_in_as(&app, "kiemsoat.e", Role::ControlOffice, "48.VP").await;
        let r = app.post_feedback(&valid_submission()).await;
        let (code, token) = (
            r.body["tracking_code"].as_str().unwrap().to_string(),
            r.body["lookup_token"].as_str().unwrap().to_string(),
        );
        answer_and_publish(
            &app,
            &control,
            &code,
            "Cấp phép chậm",
            "Hồ sơ chậm.",
            "Đã xử lý.",
        )
        .await;
        let first = qa(&app, "").await;
        let lm = first.header("last-modified").unwrap().to_string();
        let one_path = format!("/api/v1/public/qa/{code}");
        let one = app
            .send(
                Method::GET,
                "/api/v1/public/qa/{tracking_code}",
                &one_path,
                |r| r,
            )
            .await;
        let one_lm = one.header("last-modified").unwrap().to_string();
        // Last-Modified has whole seconds: let one pass.
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        // A private event (the citizen's rating) moves nothing public.
        let rated =
            crate::workflow::citizen(&app, &code, &token, "rating", json!({"score": 4})).await;
        assert_eq!(rated.status, StatusCode::OK, "{}", rated.body);
        let after = qa(&app, "").await;
        assert_eq!(
            after.header("last-modified"),
            Some(lm.as_str()),
            "[{}]",
            app.backend
        );
        let one_after = app
            .send(
                Method::GET,
                "/api/v1/public/qa/{tracking_code}",
                &one_path,
                |r| r,
            )
            .await;
        assert_eq!(one_after.header("last-modified"), Some(one_lm.as_str()));
        let feed = app
            .send(
                Method::GET,
                "/hoi-dap/feed.atom",
                "/hoi-dap/feed.atom",
                |r| r,
            )
            .await;
        assert_eq!(feed.header("last-modified"), Some(lm.as_str()));
        // Unpublished: a cache asking "changed since?" is told yes.
        step(&app, &control, &code, "unpublish", json!({})).await;
        let since = app
            .send(Method::GET, "/api/v1/public/qa", "/api/v1/public/qa", |r| {
                r.header("If-Modified-Since", &lm)
            })
            .await;
        assert_eq!(since.status, StatusCode::OK, "[{}]", app.backend);
        assert_eq!(since.body["total"], 0);
        let feed = app
            .send(
                Method::GET,
                "/hoi-dap/feed.atom",
                "/hoi-dap/feed.atom",
                |r| r.header("If-Modified-Since", &lm),
            )
            .await;
        assert_eq!(feed.status, StatusCode::OK);
    }
}

#[apply(case!)]
async fn the_typo_dictionary_holds_the_words_of_what_is_published_now() {
    for app in apps().await {
        if app.backend != "postgres" {
            continue;
        }
        let control = sign_in_as(&app, "kiemsoat.w", Role::ControlOffice, "48.VP").await;
        let code = publish(
            &app,
            &control,
            valid_submission(),
            "Thủ tục quyhoachzx kéo dài",
            "Hồ sơ quyhoachzx chậm.",
            "Đã xử lý.",
        )
        .await;
        let words = |w: &'static str| {
            let app = &app;
            async move {
                use sea_orm::ConnectionTrait;
                app.store
                    .connection()
                    .query_one_raw(sea_orm::Statement::from_string(
                        sea_orm::DbBackend::Postgres,
                        format!("SELECT coalesce(max(items), 0)::bigint AS n FROM public_search_word WHERE word = '{w}'"),
                    ))
                    .await
                    .unwrap()
                    .unwrap()
                    .try_get::<i64>("", "n")
                    .unwrap()
            }
        };
        publish(
            &app,
            &control,
            valid_submission(),
            "Cấp phép chậm",
            "Hồ sơ cấp phép chậm.",
            "Đã xử lý.",
        )
        .await;
        assert_eq!(words("quyhoachzx").await, 1);
        assert_eq!(words("cham").await, 2, "in both items");
        assert_eq!(
            qa(&app, "?q=quyhoachzy").await.body["total"],
            1,
            "typo corrected"
        );
        step(&app, &control, &code, "unpublish", json!({})).await;
        assert_eq!(words("quyhoachzx").await, 0, "the word left with its item");
        assert_eq!(qa(&app, "?q=quyhoachzy").await.body["total"], 0);
        // A word two items shared stays while one of them is public.
        assert_eq!(words("cham").await, 1);

        // Statements that change many items at once (a bulk correction, a
        // migration) count each word once per item, like single changes.
        use sea_orm::ConnectionTrait;
        let db = app.store.connection();
        let counted_afresh = "SELECT count(*) FROM ( \
             SELECT word, items FROM public_search_word \
             EXCEPT SELECT w, count(*)::integer FROM feedback_item, unnest(tsvector_to_array(public_search_tsv)) AS w \
                 WHERE public_search_text IS NOT NULL AND w !~ '[0-9]' GROUP BY w) AS differ";
        let differences = || async {
            db.query_one_raw(sea_orm::Statement::from_string(
                sea_orm::DbBackend::Postgres,
                counted_afresh,
            ))
            .await
            .unwrap()
            .unwrap()
            .try_get_by_index::<i64>(0)
            .unwrap()
        };
        let items = crate::processes::count(db, "SELECT count(*) FROM feedback_item").await;
        assert!(items >= 2);
        db.execute_unprepared("UPDATE feedback_item SET public_search_text = 'cham hangloatxyz'")
            .await
            .unwrap();
        assert_eq!(words("hangloatxyz").await, items, "every item once");
        assert_eq!(words("cham").await, items);
        assert_eq!(differences().await, 0, "the same as counted afresh");
        db.execute_unprepared(
            "UPDATE feedback_item SET public_search_text = NULL WHERE tracking_code <> (SELECT min(tracking_code) FROM feedback_item)",
        )
        .await
        .unwrap();
        assert_eq!(words("hangloatxyz").await, 1);
        assert_eq!(differences().await, 0);
    }
}

#[apply(case!)]
async fn the_kept_lists_and_searches_are_fresh_at_once_here_and_within_a_second_elsewhere() {
    for app in apps().await {
        let other = crate::helpers::another_instance(&app).await;
        let control = sign_in_as(&app, "kiemsoat.moi", Role::ControlOffice, "48.VP").await;
        let first = publish(
            &app,
            &control,
            valid_submission(),
            "Câu hỏi thứ nhất",
            "Nội dung câu hỏi thứ nhất.",
            "Trả lời thứ nhất.",
        )
        .await;
        // Both instances read (and keep) the first page and a search.
        for instance in [&app, &other] {
            let page = qa(instance, "").await;
            assert_eq!(page.body["total"], 1);
            assert_eq!(qa(instance, "?q=cau%20hoi").await.body["total"], 1);
        }
        let etag = qa(&other, "").await.header("etag").unwrap().to_string();
        let second = publish(
            &app,
            &control,
            valid_submission(),
            "Câu hỏi thứ hai",
            "Nội dung câu hỏi thứ hai.",
            "Trả lời thứ hai.",
        )
        .await;
        // Where it was published: at once.
        let here = qa(&app, "").await;
        assert_eq!(here.body["total"], 2, "[{}] {}", app.backend, here.body);
        assert_eq!(here.body["items"][0]["tracking_code"], second.as_str());
        // Elsewhere: within a second.
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        let there = qa(&other, "").await;
        assert_eq!(there.body["total"], 2, "[{}] {}", app.backend, there.body);
        assert_ne!(there.header("etag").unwrap(), etag);
        for instance in [&app, &other] {
            assert_eq!(qa(instance, "?q=cau%20hoi").await.body["total"], 2);
        }
        // Unpublished: gone here at once, there within a second, also
        // from the feed and the embedded list.
        step(&app, &control, &first, "unpublish", json!({})).await;
        assert_eq!(qa(&app, "").await.body["total"], 1);
        assert_eq!(qa(&app, "?q=cau%20hoi").await.body["total"], 1);
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        assert_eq!(qa(&other, "").await.body["total"], 1);
        assert_eq!(qa(&other, "?q=cau%20hoi").await.body["total"], 1);
        for (template, path) in [
            ("/hoi-dap/feed.atom", "/hoi-dap/feed.atom"),
            ("/hoi-dap/embed", "/hoi-dap/embed"),
            ("/hoi-dap", "/hoi-dap"),
        ] {
            let r = other.send(Method::GET, template, path, |r| r).await;
            let text = r.body.as_str().unwrap_or_default().to_string();
            assert!(text.contains(&second), "{path}");
            assert!(
                !text.contains(&first),
                "{path} still shows the unpublished item"
            );
        }
    }
}

/// Publishes an item about a building permit; its code and stored row,
/// the template the search tests copy.
async fn published_permit(app: &TestApp) -> (String, pakn::store::entities::feedback_item::Model) {
    use pakn::store::entities::feedback_item;
    use sea_orm::EntityTrait;
    let control = sign_in_as(app, "kiemsoat.w", Role::ControlOffice, "48.VP").await;
    let code = publish(
        app,
        &control,
        valid_submission(),
        "Thủ tục cấp phép xây dựng",
        "Hồ sơ cấp phép xây dựng quá hạn.",
        "Đã giải quyết.",
    )
    .await;
    let row = feedback_item::Entity::find()
        .all(app.store.connection())
        .await
        .unwrap()
        .into_iter()
        .find(|i| i.tracking_code == code)
        .unwrap();
    (code, row)
}

/// Writes rows straight into the store, 250 to a statement, through the
/// triggers that keep each backend's search structure.
async fn insert_in_batches(
    app: &TestApp,
    rows: Vec<pakn::store::entities::feedback_item::ActiveModel>,
) {
    use pakn::store::entities::feedback_item;
    use sea_orm::EntityTrait;
    for chunk in rows.chunks(250) {
        feedback_item::Entity::insert_many(chunk.to_vec())
            .exec(app.store.connection())
            .await
            .unwrap();
    }
}

/// A search ranks the newest thousand matches only, so that a common
/// word costs what a rare one does: it says there are more, pages through
/// those thousand best first, and an older match past them is not listed
/// however well it matches. Rows are copied straight into the store (as
/// a province's years of answers would be), through the triggers that
/// keep each backend's search structure.
#[apply(case!)]
async fn a_search_ranks_the_newest_thousand_matches() {
    use sea_orm::{ActiveModelTrait, IntoActiveModel};
    for app in apps().await {
        let (code, template) = published_permit(&app).await;
        let published = template.published_at.unwrap();
        // Published after it, one a minute, in the order they were
        // published (the order each backend's search structure is kept in).
        let copy = |i: i64, text: &str| {
            let mut item = template.clone();
            item.id = uuid::Uuid::now_v7();
            item.tracking_code = format!("PAKN.48.WINDOW.{i:05}");
            item.published_at = Some(published + chrono::Duration::minutes(i));
            item.public_search_text = Some(text.to_string());
            item.into_active_model().reset_all()
        };
        let plain = "thu tuc cap phep xay dung ho so qua han da giai quyet";
        let best = "cap phep cap phep cap phep xay dung cap phep";
        // 1,100 matches after the first; the best-matching text twice: at
        // 600 (among the newest thousand) and at 50 (older than them).
        let mut rows = Vec::new();
        for i in 1..=1_100 {
            let text = if i == 600 || i == 50 { best } else { plain };
            rows.push(copy(i, text));
        }
        insert_in_batches(&app, rows).await;
        // The newest match is then withdrawn from it by editing its text.
        let db = app.store.connection();
        let gone = copy(1_101, plain).insert(db).await.unwrap();
        let mut edited = gone.into_active_model();
        edited.public_search_text = sea_orm::Set(Some("mot noi dung khac".into()));
        edited.update(db).await.unwrap();

        let first = qa(&app, "?q=cap%20phep&per_page=50").await;
        assert_eq!(first.status, StatusCode::OK);
        assert_eq!(first.body["total"], 1000, "{}", first.body);
        assert_eq!(first.body["total_capped"], true);
        let page = codes(&first);
        assert_eq!(page.len(), 50);
        assert_eq!(page[0], "PAKN.48.WINDOW.00600", "{page:?}");
        for outside in [
            "PAKN.48.WINDOW.00050",
            "PAKN.48.WINDOW.01101",
            code.as_str(),
        ] {
            assert!(!page.iter().any(|c| c == outside), "{outside}: {page:?}");
        }
        // Equal matches: newest first.
        assert_eq!(page[1], "PAKN.48.WINDOW.01100", "{page:?}");
        assert_eq!(page[2], "PAKN.48.WINDOW.01099", "{page:?}");
        // The last page of the thousand, then nothing.
        let last = qa(&app, "?q=cap%20phep&per_page=50&page=20").await;
        assert_eq!(codes(&last).len(), 50, "{}", last.body);
        assert_eq!(
            codes(&last).last().map(String::as_str),
            Some("PAKN.48.WINDOW.00101")
        );
        let past = qa(&app, "?q=cap%20phep&per_page=50&page=21").await;
        assert_eq!(codes(&past).len(), 0);
        assert_eq!(past.body["total"], 1000);
        // The edited text is what is found.
        assert_eq!(
            codes(&qa(&app, "?q=noi%20dung%20khac").await),
            vec!["PAKN.48.WINDOW.01101"]
        );
    }
}

/// PostgreSQL reads a search's matches window by window of the newest
/// public items, its windows' bounds kept by each instance for minutes.
/// Wherever they end (on an item, among items published the same minute,
/// past every item, before any, two at once), every page of the search
/// is the one a single read of all matches gives: ranked the same, the
/// same thousand, the same total. (SQLite has no windows: the same.)
#[apply(case!)]
async fn a_search_finds_the_same_wherever_its_windows_end() {
    use chrono::{DateTime, Duration, Utc};
    use pakn::store::public_qa::PublicQuery;
    use sea_orm::{ActiveModelTrait, IntoActiveModel};
    for app in apps().await {
        let (_, template) = published_permit(&app).await;
        let published = template.published_at.unwrap();
        // 1,300 items, four to a minute; one in five does not match, one
        // in seven matches better than the rest.
        let minute = |i: i64| published + Duration::minutes(1 + i / 4);
        let mut rows = Vec::new();
        for i in 0..1_300 {
            let text = match i {
                _ if i % 5 == 0 => "mot noi dung khac",
                _ if i % 7 == 0 => "cap phep cap phep xay dung cap phep",
                _ => "thu tuc cap phep xay dung ho so qua han",
            };
            let mut item = template.clone();
            item.id = uuid::Uuid::now_v7();
            item.tracking_code = format!("PAKN.48.BOUND.{i:05}");
            item.published_at = Some(minute(i));
            item.public_search_text = Some(text.to_string());
            rows.push(item.into_active_model().reset_all());
        }
        insert_in_batches(&app, rows).await;

        let pages = |bounds: Vec<DateTime<Utc>>| {
            let store = app.store.clone();
            async move {
                let mut pages = Vec::new();
                for page in 0..21 {
                    let q = PublicQuery {
                        terms: vec!["cap".into(), "phep".into()],
                        limit: 50,
                        offset: page * 50,
                        ..PublicQuery::default()
                    };
                    let (items, total) = store
                        .public_search_in_windows(&q, Some(&bounds))
                        .await
                        .unwrap();
                    let codes: Vec<String> = items.into_iter().map(|i| i.tracking_code).collect();
                    pages.push((codes, total));
                }
                pages
            }
        };
        let one_read = pages(Vec::new()).await;
        assert_eq!(one_read[0].1.count, 1000, "[{}]", app.backend);
        assert!(one_read[0].1.capped, "[{}]", app.backend);
        assert_eq!(one_read[0].0.len(), 50, "[{}]", app.backend);
        assert!(one_read[20].0.is_empty(), "[{}]", app.backend);
        for bounds in [
            vec![minute(1_200)],
            vec![minute(1_201)],
            vec![minute(1_100), minute(300)],
            vec![minute(900), minute(900)],
            vec![minute(5_000)],
            vec![published - Duration::days(1)],
            vec![minute(1_296), minute(1_292), minute(40)],
        ] {
            assert_eq!(
                pages(bounds.clone()).await,
                one_read,
                "[{}] windows ending at {bounds:?}",
                app.backend
            );
        }
        // The instance's own bounds, read from the items.
        let q = PublicQuery {
            terms: vec!["cap".into(), "phep".into()],
            limit: 50,
            ..PublicQuery::default()
        };
        let (items, total) = app.store.public_items(&q).await.unwrap();
        let codes: Vec<String> = items.into_iter().map(|i| i.tracking_code).collect();
        assert_eq!((codes, total), one_read[0].clone(), "[{}]", app.backend);
    }
}

/// The public pages read from SQLite's readers, not through its single
/// writer: while the writer is held by a long transaction (a backup's
/// copy, a bulk repair, a batch of intake commits), a search of the Q&A
/// still answers at once and sees what was committed before, not what
/// the open transaction wrote. (PostgreSQL pools every connection.)
#[apply(case!)]
async fn the_public_qa_is_read_beside_sqlites_writer() {
    use sea_orm::{ConnectionTrait, TransactionTrait};
    for app in apps().await {
        let (code, _) = published_permit(&app).await;
        let writer = app.store.connection().begin().await.unwrap();
        writer
            .execute_unprepared(
                "UPDATE feedback_item SET public_search_text = 'mot noi dung dang viet'",
            )
            .await
            .unwrap();
        let started = std::time::Instant::now();
        let found = qa(&app, "?q=cap%20phep%20xay%20dung").await;
        let waited = started.elapsed();
        let unseen = qa(&app, "?q=dang%20viet").await;
        writer.rollback().await.unwrap();
        assert_eq!(
            found.status,
            StatusCode::OK,
            "[{}] {}",
            app.backend,
            found.body
        );
        assert_eq!(codes(&found), vec![code.clone()], "[{}]", app.backend);
        assert!(
            waited < std::time::Duration::from_secs(2),
            "[{}] the search waited {waited:?} for the writer",
            app.backend
        );
        assert_eq!(unseen.status, StatusCode::OK, "[{}]", app.backend);
        assert!(
            codes(&unseen).is_empty(),
            "[{}] {}",
            app.backend,
            unseen.body
        );
    }
}
