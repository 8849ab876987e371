//! The submission form `/gui-phan-anh`: what a person with a browser and
//! nothing else gets. Mistakes come back next to their fields with what
//! was typed; bots meet the honeypot and the stamp; a double submission
//! replays the first receipt.

use crate::case;
use macro_rules_attribute::apply;

use pakn::domain::staff::Role;
use reqwest::multipart::{Form, Part};
use reqwest::{Method, StatusCode};

use crate::auth::sign_in_as;
use crate::helpers::{Reply, TestApp, apps, apps_with};

const PDF: &[u8] = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n";

/// The value of the hidden input `name` in a rendered form.
fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {html}"))
        + marker.len();
    html[start..].split('"').next().unwrap().to_string()
}

/// A code or token as the receipt shows it, its groups joined: what a
/// person copying it gets.
pub fn grouped(html: &str, id: &str) -> String {
    let start = html
        .find(&format!("id=\"{id}\">"))
        .unwrap_or_else(|| panic!("no {id} in {html}"));
    let rest = &html[start..];
    let end = ["</span></span>", "</span></p>"]
        .iter()
        .filter_map(|m| rest.find(m))
        .min()
        .unwrap_or(rest.len());
    rest[..end]
        .split("<span class=\"g\">")
        .skip(1)
        .map(|g| g.trim_end_matches("</span>"))
        .collect()
}

fn html(reply: &Reply) -> &str {
    reply.body.as_str().expect("an HTML page")
}

/// A rendered form's hidden fields and a complete, valid submission.
pub fn filled(stamp: &str, key: &str) -> Vec<(&'static str, String)> {
    vec![
        ("form_stamp", stamp.into()),
        ("idempotency_key", key.into()),
        ("website", String::new()),
        ("kind", "phan_anh".into()),
        ("title", "Thủ tục cấp giấy phép xây dựng quá hạn".into()),
        (
            "content",
            "Hồ sơ xin cấp giấy phép xây dựng nhà ở riêng lẻ nộp ngày 02/10 đến nay đã quá hạn mà chưa có kết quả."
                .into(),
        ),
        ("field_code", "xay_dung".into()),
        ("agency_code", String::new()),
        ("content_category", String::new()),
        ("submitter.type", "individual".into()),
        ("submitter.full_name", "Nguyễn Văn An".into()),
        ("submitter.address.detail", "12 Lê Lợi".into()),
        ("submitter.address.commune_code", "20242".into()),
        ("submitter.phone", "0912 345 678".into()),
        ("submitter.email", "an.nguyen@example.vn".into()),
        ("consent_to_publish", "true".into()),
    ]
}

pub fn with(
    mut fields: Vec<(&'static str, String)>,
    name: &str,
    value: &str,
) -> Vec<(&'static str, String)> {
    for f in &mut fields {
        if f.0 == name {
            f.1 = value.into();
        }
    }
    fields
}

pub async fn open_form(app: &TestApp) -> (String, String) {
    let page = app
        .send(Method::GET, "/gui-phan-anh", "/gui-phan-anh", |r| r)
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.header("cache-control"), Some("no-store, private"));
    let body = html(&page);
    (hidden(body, "form_stamp"), hidden(body, "idempotency_key"))
}

pub async fn post_form(app: &TestApp, fields: &[(&'static str, String)]) -> Reply {
    app.send(Method::POST, "/gui-phan-anh", "/gui-phan-anh", |r| {
        r.header("Sec-Fetch-Site", "same-origin")
            .header("Accept", "text/html")
            .form(fields)
    })
    .await
}

async fn items_in_queue(app: &TestApp) -> u64 {
    let username = format!("vanphong.{}", uuid::Uuid::new_v4().simple());
    let token = sign_in_as(app, &username, Role::ControlOffice, "48.VP").await;
    let list = app
        .send(
            Method::GET,
            "/api/v1/staff/feedback/summary",
            "/api/v1/staff/feedback/summary",
            |r| r.bearer_auth(token),
        )
        .await;
    assert_eq!(list.status, StatusCode::OK);
    list.body["total"].as_u64().unwrap()
}

#[apply(case!)]
async fn the_form_takes_feedback_with_files_and_shows_the_code_and_token() {
    for app in apps().await {
        let page = app
            .send(Method::GET, "/gui-phan-anh", "/gui-phan-anh", |r| r)
            .await;
        let body = html(&page);
        assert!(
            page.header("content-security-policy")
                .unwrap()
                .contains("frame-ancestors 'none'")
        );
        // The directory's choices are on the form.
        assert!(body.contains("value=\"xay_dung\""), "fields listed");
        assert!(body.contains("value=\"20242\""), "communes listed");
        assert!(body.contains("value=\"unfit_for_reality\""));
        assert!(body.contains("enctype=\"multipart/form-data\""));
        assert!(body.contains("lang=\"vi\""));
        let (stamp, key) = (hidden(body, "form_stamp"), hidden(body, "idempotency_key"));

        let multipart = |stamp: &str, key: &str| {
            let mut form = Form::new();
            for (name, value) in filled(stamp, key) {
                form = form.text(name, value);
            }
            form.part(
                "attachments",
                Part::bytes(PDF.to_vec()).file_name("biên nhận hồ sơ.pdf"),
            )
        };
        let sent = app
            .send(Method::POST, "/gui-phan-anh", "/gui-phan-anh", |r| {
                r.header("Sec-Fetch-Site", "same-origin")
                    .multipart(multipart(&stamp, &key))
            })
            .await;
        assert_eq!(sent.status, StatusCode::CREATED, "{}", html(&sent));
        assert_eq!(sent.header("cache-control"), Some("no-store, private"));
        let done = html(&sent);
        let code = grouped(done, "ma-so");
        let token = grouped(done, "ma-tra-cuu");
        assert!(code.starts_with("PAKN.48."), "{code}");
        assert!(done.contains("biên nhận hồ sơ.pdf"));
        assert!(done.contains(&format!("/tra-cuu?ma={code}")));

        // The code and token open the item: a web-form item with its file.
        let view = app
            .send(
                Method::GET,
                "/api/v1/feedback/{tracking_code}",
                &format!("/api/v1/feedback/{code}"),
                |r| r.header("X-Lookup-Token", &token),
            )
            .await;
        assert_eq!(view.status, StatusCode::OK, "{:?}", view.body);
        assert_eq!(view.body["title"], "Thủ tục cấp giấy phép xây dựng quá hạn");
        assert_eq!(view.body["attachments"], 1);

        // A double click or a reload sends the same form again: the same
        // receipt, not a second item.
        let again = app
            .send(Method::POST, "/gui-phan-anh", "/gui-phan-anh", |r| {
                r.header("Sec-Fetch-Site", "same-origin")
                    .multipart(multipart(&stamp, &key))
            })
            .await;
        assert_eq!(again.status, StatusCode::CREATED);
        assert!(html(&again).contains(&code));
        assert_eq!(grouped(html(&again), "ma-tra-cuu"), token);
        assert_eq!(items_in_queue(&app).await, 1);

        // The back button and changed content under the same key: a new
        // form to send, not someone else's receipt.
        let changed = with(filled(&stamp, &key), "title", "Một phản ánh khác hẳn");
        let reused = post_form(&app, &changed).await;
        assert_eq!(reused.status, StatusCode::OK);
        assert!(html(&reused).contains("đã được gửi trước đó"));
        assert!(html(&reused).contains("Một phản ánh khác hẳn"));
        assert_ne!(hidden(html(&reused), "idempotency_key"), key);
        assert_eq!(items_in_queue(&app).await, 1);
    }
}

#[apply(case!)]
async fn mistakes_come_back_next_to_their_fields_with_what_was_typed() {
    for app in apps().await {
        let (stamp, key) = open_form(&app).await;
        let mut fields = filled(&stamp, &key);
        fields = with(fields, "submitter.full_name", "");
        fields = with(fields, "submitter.email", "an.nguyen@");
        fields = with(fields, "submitter.phone", "");
        fields = with(fields, "content", "Quá ngắn");
        fields = with(fields, "title", "<script>alert(1)</script> Giấy phép");
        fields = with(fields, "submitter.address.commune_code", "99999");
        let reply = post_form(&app, &fields).await;
        assert_eq!(reply.status, StatusCode::OK);
        let page = html(&reply);
        assert!(page.contains("<title>Chưa gửi được:"), "the title says so");
        // Each message sits by its field, which says it is invalid, and the
        // summary links to it.
        for (id, message) in [
            ("submitter-full_name", "Thông tin này là bắt buộc."),
            ("submitter-email", "Địa chỉ thư điện tử không hợp lệ."),
            ("content", "Nội dung quá ngắn"),
        ] {
            assert!(
                page.contains(&format!("id=\"{id}-loi\">{message}")),
                "{id}: {page}"
            );
            assert!(
                page.contains(&format!("href=\"#{id}\"")),
                "{id} in the summary"
            );
        }
        assert!(page.contains("aria-invalid=\"true\" aria-describedby=\"submitter-email-loi\""));
        // What was typed is still there, escaped.
        assert!(page.contains("value=\"an.nguyen@\""));
        assert!(
            page.contains("&#60;script&#62;alert(1)&#60;/script&#62; Giấy phép"),
            "{page}"
        );
        assert!(!page.contains("<script>alert(1)"));
        assert!(page.contains("Nguyễn") || page.contains("12 Lê Lợi"));
        assert_eq!(
            hidden(page, "idempotency_key"),
            key,
            "same key: nothing was created"
        );
        // The time already spent counts: the stamp goes back unchanged, so
        // a quick fix is not refused as "too fast".
        assert_eq!(hidden(page, "form_stamp"), stamp);
        // One message element per field, so each id is unique.
        for id in [
            "content-loi",
            "submitter-email-loi",
            "submitter-full_name-loi",
        ] {
            assert_eq!(page.matches(&format!("id=\"{id}\"")).count(), 1, "{id}");
        }
        assert_eq!(items_in_queue(&app).await, 0);
    }
}

#[apply(case!)]
async fn bots_are_turned_away_and_people_keep_what_they_typed() {
    for app in apps_with(|s| {
        s.public_pages.form_min_fill_seconds = 600;
        s.rate_limit.enabled = true;
        s.rate_limit.submission_burst = 3;
        s.rate_limit.submissions_per_minute = 1;
    })
    .await
    {
        let (stamp, key) = open_form(&app).await;
        // Posted at once after rendering: too fast for a person.
        let fast = post_form(&app, &filled(&stamp, &key)).await;
        assert_eq!(fast.status, StatusCode::OK);
        assert!(html(&fast).contains("quá nhanh"));
        assert!(html(&fast).contains("Thủ tục cấp giấy phép xây dựng quá hạn"));
        // A made-up stamp.
        let forged = post_form(&app, &filled("100.0123456789abcdef0123456789abcdef", &key)).await;
        assert_eq!(forged.status, StatusCode::OK);
        assert!(html(&forged).contains("Biểu mẫu không hợp lệ"));
        // The honeypot.
        let honey = post_form(
            &app,
            &with(filled(&stamp, &key), "website", "http://spam.example"),
        )
        .await;
        assert_eq!(honey.status, StatusCode::OK);
        assert!(html(&honey).contains("phải để trống"));
        // The rate limit, checked before the upload is read: the page says
        // so, and what was typed is one Back away in the browser.
        let limited = post_form(&app, &filled(&stamp, &key)).await;
        assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(limited.header("retry-after").is_some());
        assert!(html(&limited).contains("Chưa gửi được"));
        assert!(html(&limited).contains("Quay lại"));
        assert!(html(&limited).contains("đợi vài phút"));
        // Another site's page cannot post here.
        let cross = app
            .send(Method::POST, "/gui-phan-anh", "/gui-phan-anh", |r| {
                r.header("Sec-Fetch-Site", "cross-site")
                    .form(&filled(&stamp, &key))
            })
            .await;
        assert_eq!(cross.status, StatusCode::FORBIDDEN);
        assert_eq!(items_in_queue(&app).await, 0);
    }
}

#[apply(case!)]
async fn a_body_that_cannot_be_read_is_explained_to_browsers_and_programs() {
    for app in apps_with(|s| s.intake.max_request_bytes = 64 * 1024).await {
        let (stamp, key) = open_form(&app).await;
        let big = || {
            let mut form = Form::new();
            for (name, value) in filled(&stamp, &key) {
                form = form.text(name, value);
            }
            form.part(
                "attachments",
                Part::bytes(vec![b'%'; 128 * 1024]).file_name("lon.pdf"),
            )
        };
        let browser = app
            .send(Method::POST, "/gui-phan-anh", "/gui-phan-anh", |r| {
                r.header("Sec-Fetch-Site", "same-origin")
                    .header("Accept", "text/html,application/xhtml+xml")
                    .multipart(big())
            })
            .await;
        assert_eq!(browser.status, StatusCode::PAYLOAD_TOO_LARGE);
        assert!(html(&browser).contains("Chưa gửi được"));
        let program = app
            .send(Method::POST, "/gui-phan-anh", "/gui-phan-anh", |r| {
                r.header("Sec-Fetch-Site", "same-origin").multipart(big())
            })
            .await;
        assert_eq!(program.status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(program.body["code"], "payload_too_large");
        let text = app
            .send(Method::POST, "/gui-phan-anh", "/gui-phan-anh", |r| {
                r.header("Content-Type", "text/plain").body("xin chào")
            })
            .await;
        assert_eq!(text.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    }
}

#[apply(case!)]
async fn a_form_stamp_serves_one_form_on_every_instance() {
    for app in apps().await {
        let (stamp, key) = open_form(&app).await;
        let sent = post_form(&app, &filled(&stamp, &key)).await;
        assert_eq!(sent.status, StatusCode::CREATED);
        assert_eq!(items_in_queue(&app).await, 1);
        // A script replays the stamp with keys of its own, here and on a
        // second instance sharing the database.
        let second = crate::helpers::another_instance(&app).await;
        for (i, target) in [&app, &second].into_iter().enumerate() {
            let fresh_key = uuid::Uuid::new_v4().to_string();
            let fields = with(
                filled(&stamp, &fresh_key),
                "title",
                &format!("Phản ánh tự động số {i}"),
            );
            let replayed = post_form(target, &fields).await;
            assert_eq!(replayed.status, StatusCode::OK, "[{}]", app.backend);
            assert!(
                html(&replayed).contains("Biểu mẫu này đã được gửi trước đó"),
                "{}",
                html(&replayed)
            );
            // The person gets a fresh stamp to send it as a new item.
            assert_ne!(hidden(html(&replayed), "form_stamp"), stamp);
        }
        assert_eq!(
            items_in_queue(&app).await,
            1,
            "[{}] no item from a replayed stamp",
            app.backend
        );
        // A stamp without a key can be used once only.
        let (stamp2, _) = open_form(&app).await;
        let first = post_form(&app, &with(filled(&stamp2, ""), "title", "Lần một")).await;
        assert_eq!(first.status, StatusCode::CREATED);
        let second_use = post_form(&app, &with(filled(&stamp2, ""), "title", "Lần hai")).await;
        assert!(html(&second_use).contains("Biểu mẫu này đã được gửi trước đó"));
        assert_eq!(items_in_queue(&app).await, 2);
    }
}

#[apply(case!)]
async fn where_publication_is_a_duty_the_form_says_so_instead_of_asking() {
    for app in apps_with(|s| s.publication.basis = pakn::config::PublicationBasis::Duty).await {
        let page = app
            .send(Method::GET, "/gui-phan-anh", "/gui-phan-anh", |r| r)
            .await;
        let body = html(&page);
        assert!(
            !body.contains("name=\"consent_to_publish\""),
            "no consent box"
        );
        assert!(body.contains("sẽ được đăng công khai"), "{body}");
    }
    for app in apps().await {
        let page = app
            .send(Method::GET, "/gui-phan-anh", "/gui-phan-anh", |r| r)
            .await;
        assert!(html(&page).contains("name=\"consent_to_publish\""));
    }
}
