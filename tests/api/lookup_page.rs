//! What the submitter does from the lookup page: complete an item the
//! office asked about, download the answer's documents, rate the answer;
//! the token only ever in POST bodies.

use crate::case;
use macro_rules_attribute::apply;

use pakn::domain::staff::Role;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::auth::sign_in_as;
use crate::helpers::{Reply, TestApp, apps};
use crate::workflow::{current, step, submit};

const PDF: &[u8] = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n";

async fn post(app: &TestApp, path: &str, fields: &[(&str, &str)]) -> Reply {
    app.send(Method::POST, path, path, |r| {
        r.header("Sec-Fetch-Site", "same-origin").form(fields)
    })
    .await
}

fn page(reply: &Reply) -> &str {
    reply.body.as_str().expect("an HTML page")
}

/// The value of the first hidden input `name` after `after` in the page.
fn hidden_after(html: &str, after: &str, name: &str) -> String {
    let from = html
        .find(after)
        .unwrap_or_else(|| panic!("no {after} in {html}"));
    let marker = format!("name=\"{name}\" value=\"");
    let start = html[from..].find(&marker).unwrap() + from + marker.len();
    html[start..].split('"').next().unwrap().to_string()
}

#[apply(case!)]
async fn the_submitter_completes_downloads_and_rates_from_the_lookup_page() {
    for app in apps().await {
        let control = sign_in_as(&app, "kiemsoat.tc", Role::ControlOffice, "48.VP").await;
        let (code, token) = submit(&app).await;
        let asked = "Đề nghị Ông/Bà cung cấp số biên nhận hồ sơ <b>và</b> ngày nộp.";
        step(
            &app,
            &control,
            &code,
            "request-info",
            json!({"message": asked}),
        )
        .await;

        // The page says what was asked, escaped, and offers the form.
        let shown = post(&app, "/tra-cuu", &[("ma", &code), ("token", &token)]).await;
        assert_eq!(shown.status, StatusCode::OK);
        let html = page(&shown);
        assert!(html.contains("Cơ quan đề nghị bổ sung thông tin"));
        assert!(
            html.contains("&#60;b&#62;và&#60;/b&#62; ngày nộp"),
            "{html}"
        );
        assert!(html.contains("action=\"/tra-cuu/bo-sung\""));
        assert!(
            !html.contains("action=\"/tra-cuu/danh-gia\""),
            "nothing to rate yet"
        );
        // The token is only in the page's forms, which are never cached.
        assert_eq!(shown.header("cache-control"), Some("no-store, private"));

        // An empty supplement is refused on the page; a real one resumes
        // the item.
        let empty = post(
            &app,
            "/tra-cuu/bo-sung",
            &[("ma", &code), ("token", &token), ("noi_dung", "   ")],
        )
        .await;
        assert_eq!(empty.status, StatusCode::OK);
        assert!(page(&empty).contains("Thông tin này là bắt buộc."));
        assert_eq!(
            current(&app, &control, &code).await["state"],
            "awaiting_information"
        );
        let sent = post(
            &app,
            "/tra-cuu/bo-sung",
            &[
                ("ma", &code.to_lowercase()),
                ("token", &token),
                ("noi_dung", "Biên nhận số 123/BN, nộp ngày 02/10/2026."),
            ],
        )
        .await;
        assert!(
            page(&sent).contains("Đã gửi thông tin bổ sung"),
            "{}",
            page(&sent)
        );
        assert!(!page(&sent).contains("action=\"/tra-cuu/bo-sung\""));
        assert_eq!(current(&app, &control, &code).await["state"], "received");
        // A second one is refused: the item no longer waits.
        let again = post(
            &app,
            "/tra-cuu/bo-sung",
            &[("ma", &code), ("token", &token), ("noi_dung", "Thêm nữa")],
        )
        .await;
        assert!(page(&again).contains("hiện không chờ bổ sung"));
        assert!(page(&again).contains("Thêm nữa"), "the text is kept");

        // The office answers with a document.
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
            json!({"text": "Sở đã giải quyết hồ sơ."}),
        )
        .await;
        let version = current(&app, &control, &code).await["version"].clone();
        let form = reqwest::multipart::Form::new()
            .text("version", version.to_string())
            .part(
                "attachments",
                reqwest::multipart::Part::bytes(PDF.to_vec()).file_name("Công văn trả lời.pdf"),
            );
        let attached = app
            .send(
                Method::POST,
                "/api/v1/staff/feedback/{tracking_code}/answer/attachments",
                &format!("/api/v1/staff/feedback/{code}/answer/attachments"),
                |r| r.bearer_auth(&control).multipart(form),
            )
            .await;
        assert_eq!(attached.status, StatusCode::OK, "{:?}", attached.body);
        step(&app, &control, &code, "sign-off", json!({})).await;
        step(&app, &control, &code, "approve", json!({})).await;

        let answered = post(&app, "/tra-cuu", &[("ma", &code), ("token", &token)]).await;
        let html = page(&answered);
        assert!(html.contains("Sở đã giải quyết hồ sơ."));
        assert!(html.contains("Tải về Công văn trả lời.pdf"));
        assert!(html.contains("action=\"/tra-cuu/danh-gia\""));
        let file = hidden_after(html, "action=\"/tra-cuu/tep\"", "tep");

        // The document downloads by POST; a wrong token or another id gets
        // the lookup form, not the file.
        let download = post(
            &app,
            "/tra-cuu/tep",
            &[("ma", &code), ("token", &token), ("tep", &file)],
        )
        .await;
        assert_eq!(download.status, StatusCode::OK);
        assert_eq!(download.header("content-type"), Some("application/pdf"));
        assert!(
            download
                .header("content-disposition")
                .unwrap()
                .starts_with("attachment")
        );
        assert_eq!(download.header("cache-control"), Some("no-store, private"));
        for (t, f) in [
            ("AAAA-BBBB-CCCC-DDDD", file.as_str()),
            (token.as_str(), "00000000-0000-0000-0000-000000000000"),
            (token.as_str(), "not-a-uuid"),
        ] {
            let refused = post(
                &app,
                "/tra-cuu/tep",
                &[("ma", &code), ("token", t), ("tep", f)],
            )
            .await;
            assert_eq!(refused.status, StatusCode::OK);
            assert!(page(&refused).contains("Mã số hoặc mã tra cứu không đúng"));
        }

        // Rating: no choice is explained; a choice is kept; only once.
        let none = post(
            &app,
            "/tra-cuu/danh-gia",
            &[("ma", &code), ("token", &token)],
        )
        .await;
        assert!(
            page(&none).contains("Giá trị không hợp lệ"),
            "{}",
            page(&none)
        );
        let rated = post(
            &app,
            "/tra-cuu/danh-gia",
            &[
                ("ma", &code),
                ("token", &token),
                ("diem", "4"),
                ("gop_y", "Nhanh"),
            ],
        )
        .await;
        assert!(page(&rated).contains("Cảm ơn Ông/Bà đã đánh giá"));
        assert!(page(&rated).contains("<strong>4/5</strong>"));
        assert!(!page(&rated).contains("action=\"/tra-cuu/danh-gia\""));
        let twice = post(
            &app,
            "/tra-cuu/danh-gia",
            &[("ma", &code), ("token", &token), ("diem", "1")],
        )
        .await;
        assert!(page(&twice).contains("đã được đánh giá"));
        assert_eq!(current(&app, &control, &code).await["rating"]["score"], 4);

        // Another site cannot post any of these.
        for path in ["/tra-cuu/bo-sung", "/tra-cuu/danh-gia", "/tra-cuu/tep"] {
            let cross = app
                .send(Method::POST, path, path, |r| {
                    r.header("Sec-Fetch-Site", "cross-site").form(&[
                        ("ma", code.as_str()),
                        ("token", token.as_str()),
                        ("tep", file.as_str()),
                        ("noi_dung", "x"),
                        ("diem", "5"),
                    ])
                })
                .await;
            assert_eq!(cross.status, StatusCode::FORBIDDEN, "{path}");
        }
    }
}
