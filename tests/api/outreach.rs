//! Making the channel known: a counter's poster brings items that are
//! counted by source, in scope or not by reason, exported and reported;
//! a link's unknown, retired or malformed source is never the citizen's
//! problem; the leaflet and posters come from the settings, leave out
//! what is not set and say tỉnh or thành phố as the settings do.

use macro_rules_attribute::apply;
use pakn::domain::staff::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::auth::sign_in_as;
use crate::case;
use crate::console::{html, page};
use crate::helpers::{Reply, TestApp, apps, apps_with, valid_submission};
use crate::submit_page::{filled, post_form, with};
use crate::workflow::step;

async fn create(app: &TestApp, token: &str, body: Value) -> Reply {
    app.send(
        Method::POST,
        "/api/v1/staff/sources",
        "/api/v1/staff/sources",
        |r| r.bearer_auth(token).json(&body),
    )
    .await
}

async fn sources(app: &TestApp, token: &str) -> Value {
    let r = app
        .send(
            Method::GET,
            "/api/v1/staff/sources",
            "/api/v1/staff/sources",
            |r| r.bearer_auth(token),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body
}

/// Opens the form as a link opens it and sends it; the tracking code.
async fn send_through(app: &TestApp, link: &str) -> String {
    let form = app.send(Method::GET, "/gui-phan-anh", link, |r| r).await;
    assert_eq!(form.status, StatusCode::OK);
    let body = html(&form).to_string();
    let hidden = |name: &str| {
        let marker = format!("name=\"{name}\" value=\"");
        body.find(&marker).map(|i| {
            body[i + marker.len()..]
                .split('"')
                .next()
                .unwrap()
                .to_string()
        })
    };
    let mut fields = filled(
        &hidden("form_stamp").unwrap(),
        &hidden("idempotency_key").unwrap(),
    );
    if let Some(source) = hidden("nguon") {
        fields.push(("nguon", source));
    }
    fields = with(fields, "title", "Thủ tục chứng thực bản sao bị chậm");
    let done = post_form(app, &fields).await;
    assert_eq!(done.status, StatusCode::CREATED);
    let text = html(&done);
    let start = text
        .find("PAKN.48.")
        .expect("a tracking code on the receipt");
    text[start..start + 21].to_string()
}

async fn source_of(app: &TestApp, code: &str) -> Option<String> {
    app.store
        .find_feedback_by_code(&code.parse().unwrap())
        .await
        .unwrap()
        .unwrap()
        .item
        .source_code
}

fn outcomes<'a>(report: &'a Value, code: &str) -> &'a Value {
    report["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["code"] == code)
        .unwrap_or_else(|| panic!("no source {code} in {report}"))
}

#[apply(case!)]
async fn a_counter_poster_brings_items_counted_by_source_in_scope_or_not_and_reported() {
    for app in apps().await {
        let control = sign_in_as(&app, "kiemsoat.ng", Role::ControlOffice, "48.VP").await;
        let made = create(
            &app,
            &control,
            json!({"code": "Mot-Cua-Hai-Chau", "name": "Bộ phận Một cửa quận Hải Châu", "kind": "counter", "place": "Tầng 1, 270 Trưng Nữ Vương"}),
        )
        .await;
        assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
        assert_eq!(made.body["code"], "mot-cua-hai-chau");
        assert!(
            made.body["link"]
                .as_str()
                .unwrap()
                .ends_with("/n/mot-cua-hai-chau")
        );
        assert_eq!(made.body["poster"], "/ap-phich?nguon=mot-cua-hai-chau");
        let leaflets = create(
            &app,
            &control,
            json!({"code": "to-gap-2026", "name": "Tờ gấp in năm 2026", "kind": "leaflet"}),
        )
        .await;
        assert_eq!(leaflets.status, StatusCode::CREATED);
        // Mistakes, each on its field.
        for (body, field, code) in [
            (
                json!({"code": "có dấu", "name": "x", "kind": "counter"}),
                "code",
                "source_code_invalid",
            ),
            (
                json!({"code": "mot-cua-hai-chau", "name": "x", "kind": "counter"}),
                "code",
                "source_code_taken",
            ),
            (
                json!({"code": "bang-ron", "name": "x", "kind": "billboard"}),
                "kind",
                "invalid_choice",
            ),
            (
                json!({"code": "bang-ron", "name": "  ", "kind": "portal"}),
                "name",
                "required",
            ),
            (
                json!({"code": "unknown", "name": "x", "kind": "portal"}),
                "code",
                "source_code_invalid",
            ),
        ] {
            let r = create(&app, &control, body.clone()).await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
            assert_eq!(
                r.field_errors(),
                vec![(field.to_string(), code.to_string())],
                "{body}"
            );
        }
        let officer = sign_in_as(&app, "canbo.ng", Role::AgencyOfficer, "48.SXD").await;
        assert_eq!(
            create(
                &app,
                &officer,
                json!({"code": "x1", "name": "x", "kind": "other"})
            )
            .await
            .status,
            StatusCode::FORBIDDEN
        );

        // The QR code's short link leads to the form with the source.
        let short = app
            .send(Method::GET, "/n/{code}", "/n/mot-cua-hai-chau", |r| r)
            .await;
        assert_eq!(short.status, StatusCode::SEE_OTHER);
        assert_eq!(
            short.header("location"),
            Some("/gui-phan-anh?nguon=mot-cua-hai-chau")
        );
        let counter_items = [
            send_through(&app, "/gui-phan-anh?nguon=mot-cua-hai-chau").await,
            send_through(&app, "/gui-phan-anh?nguon=MOT-CUA-HAI-CHAU").await,
        ];
        for code in &counter_items {
            assert_eq!(
                source_of(&app, code).await.as_deref(),
                Some("mot-cua-hai-chau")
            );
        }
        // Mistyped, malformed, oversized: the form works, counted as unknown.
        let long = format!("/gui-phan-anh?nguon={}", "x".repeat(5000));
        let mut unknown = Vec::new();
        for link in [
            "/gui-phan-anh?nguon=mot-cua-hai-cha",
            "/gui-phan-anh?nguon=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
            long.as_str(),
            "/gui-phan-anh?nguon=%ZZ",
        ] {
            let code = send_through(&app, link).await;
            unknown.push((link, source_of(&app, &code).await));
        }
        for (link, source) in &unknown {
            assert_eq!(
                source.as_deref(),
                Some("unknown"),
                "{}",
                &link[..link.len().min(60)]
            );
        }
        let direct = send_through(&app, "/gui-phan-anh").await;
        assert_eq!(source_of(&app, &direct).await, None);
        let by_api = app.post_feedback(&valid_submission()).await;
        assert_eq!(by_api.status, StatusCode::CREATED);

        // One counter item is taken in, the other is not (with a reason).
        step(
            &app,
            &control,
            &counter_items[0],
            "classify",
            json!({"content_category": "implementation_problem"}),
        )
        .await;
        step(
            &app,
            &control,
            &counter_items[1],
            "reject",
            json!({"reason_code": "R01"}),
        )
        .await;

        let report = sources(&app, &control).await;
        let counter = outcomes(&report, "mot-cua-hai-chau");
        assert_eq!(counter["items"], 2, "[{}] {report}", app.backend);
        assert_eq!(counter["accepted"], 1);
        assert_eq!(counter["not_accepted"], 1);
        assert_eq!(counter["undecided"], 0);
        assert_eq!(counter["reasons"][0]["code"], "R01");
        assert_eq!(outcomes(&report, "to-gap-2026")["items"], 0);
        assert_eq!(report["unknown"]["items"], 4);
        // The form opened without a source's link, and the API's.
        assert_eq!(report["web_form_direct"]["items"], 2);
        let web = report["channels"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["channel"] == "web_form")
            .unwrap();
        assert_eq!(web["items"], 8);
        assert_eq!(web["not_accepted"], 1);

        // Retired: its link still opens the form; it now counts as unknown.
        let retired = app
            .send(
                Method::POST,
                "/api/v1/staff/sources/{code}/retire",
                "/api/v1/staff/sources/mot-cua-hai-chau/retire",
                |r| r.bearer_auth(&control),
            )
            .await;
        assert_eq!(retired.status, StatusCode::NO_CONTENT);
        let after = send_through(&app, "/gui-phan-anh?nguon=mot-cua-hai-chau").await;
        assert_eq!(source_of(&app, &after).await.as_deref(), Some("unknown"));
        let again = app
            .send(
                Method::POST,
                "/api/v1/staff/sources/{code}/retire",
                "/api/v1/staff/sources/mot-cua-hai-chau/retire",
                |r| r.bearer_auth(&control),
            )
            .await;
        assert_eq!(again.status, StatusCode::NOT_FOUND);

        // The page, the exports, the report and the dashboard.
        let listed = page(&app, &control, "/nhan-vien/nguon", "/nhan-vien/nguon").await;
        assert_eq!(listed.status, StatusCode::OK);
        let text = html(&listed);
        assert!(text.contains("id=\"nguon-mot-cua-hai-chau\"") && text.contains("ngừng dùng ngày"));
        assert!(text.contains("/ap-phich?nguon=to-gap-2026"));
        let csv = app
            .send(
                Method::GET,
                "/nhan-vien/nguon.csv",
                "/nhan-vien/nguon.csv",
                |r| r.bearer_auth(&control),
            )
            .await;
        assert_eq!(csv.status, StatusCode::OK);
        let csv_text = String::from_utf8(csv.bytes.clone()).unwrap();
        let counter_row = csv_text
            .lines()
            .find(|l| l.starts_with("mot-cua-hai-chau,"))
            .unwrap_or_else(|| panic!("{csv_text}"));
        assert!(counter_row.contains(",2,1,1,0,50,"), "{counter_row}");
        let xlsx = app
            .send(
                Method::GET,
                "/nhan-vien/nguon.xlsx",
                "/nhan-vien/nguon.xlsx",
                |r| r.bearer_auth(&control),
            )
            .await;
        assert!(xlsx.bytes.starts_with(b"PK"));
        let report_page = page(&app, &control, "/nhan-vien/bao-cao", "/nhan-vien/bao-cao").await;
        let text = html(&report_page);
        assert!(
            text.contains("Công tác tuyên truyền về kênh tiếp nhận"),
            "the report's section"
        );
        assert!(text.contains("Bộ phận Một cửa quận Hải Châu"));
        let dashboard = page(&app, &control, "/nhan-vien/thong-ke", "/nhan-vien/thong-ke").await;
        assert!(html(&dashboard).contains("Qua áp phích, tờ gấp (mã QR)"));
        assert!(html(&dashboard).contains("id=\"theo-nguon\""));
    }
}

#[apply(case!)]
async fn the_leaflet_and_posters_come_from_the_settings_and_leave_out_what_is_not_set() {
    for app in apps().await {
        let leaflet = app.send(Method::GET, "/to-gap", "/to-gap", |r| r).await;
        assert_eq!(leaflet.status, StatusCode::OK);
        let text = html(&leaflet);
        for expected in [
            "Ủy ban nhân dân thành phố Đà Nẵng",
            "trong thành phố",
            "1022",
            "Hòm thư góp ý",
            "Trung tâm Hành chính thành phố, tầng 1",
            "Ban Tiếp công dân thành phố",
            "Khiếu nại, tố cáo",
            "<svg",
        ] {
            assert!(text.contains(expected), "{expected} missing");
        }
        let poster = app
            .send(
                Method::GET,
                "/ap-phich",
                "/ap-phich?kho=a3&nguon=khong-co",
                |r| r,
            )
            .await;
        assert_eq!(poster.status, StatusCode::OK);
        assert!(html(&poster).contains("poster-a3"));
        assert!(html(&poster).contains("/gui-phan-anh"), "the general form");
    }
    // A tỉnh, with nothing but its name set.
    for app in apps_with(|s| {
        s.province.kind = "tinh".into();
        s.province.name = "Quảng Ngãi".into();
        s.province.hotline = String::new();
        s.province.postal_address = String::new();
        // The office's e-mail falls back to the published address.
        s.province.email = String::new();
        s.province.opening_hours = String::new();
        s.province.letter_boxes = vec![];
        s.province.complaints_office = String::new();
    })
    .await
    {
        for path in ["/to-gap", "/ap-phich"] {
            let r = app.send(Method::GET, path, path, |r| r).await;
            assert_eq!(r.status, StatusCode::OK);
            let text = html(&r);
            assert!(
                text.contains("tỉnh Quảng Ngãi") || text.contains("Tỉnh Quảng Ngãi"),
                "{path}"
            );
            assert!(!text.contains("thành phố Đà Nẵng"), "{path}");
            for absent in [
                "<dt>Điện thoại</dt>",
                "<dt>Gửi thư</dt>",
                "<dt>Hòm thư góp ý</dt>",
                "null",
                "None",
            ] {
                assert!(
                    !text.contains(absent),
                    "{path}: {absent} shown without a setting"
                );
            }
        }
    }
}

/// The QR codes a file shows, read by zbar (an independent decoder).
fn scan(file: &std::path::Path) -> Vec<String> {
    let out = std::process::Command::new("zbarimg")
        .args(["--raw", "-q", "-Sdisable", "-Sqrcode.enable"])
        .arg(file)
        .output()
        .expect("zbarimg (Debian's zbar-tools) runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// Prints the page as Chromium prints it, keeps the PDF, and reads the
/// QR codes on its first page (rasterised by Ghostscript).
async fn print_and_scan(
    browser: &crate::browser::Browser,
    name: &str,
    size: fantoccini::wd::PrintSize,
) -> Vec<String> {
    let config = fantoccini::wd::PrintConfiguration::builder()
        .size(size)
        .background(true)
        .build()
        .unwrap();
    let pdf = browser.client.print(config).await.expect("prints");
    let dir =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/browser-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let pdf_path = dir.join(format!("{name}-print.pdf"));
    std::fs::write(&pdf_path, pdf).unwrap();
    let png_path = dir.join(format!("{name}-print.png"));
    let gs = std::process::Command::new("gs")
        .args([
            "-q",
            "-dSAFER",
            "-dBATCH",
            "-dNOPAUSE",
            "-dFirstPage=1",
            "-dLastPage=1",
            "-sDEVICE=pnggray",
            "-r150",
        ])
        .arg(format!("-sOutputFile={}", png_path.display()))
        .arg(&pdf_path)
        .status()
        .expect("Ghostscript runs");
    assert!(gs.success());
    scan(&png_path)
}

#[apply(case!)]
async fn the_printed_leaflet_and_a_counter_poster_scan_to_the_form() {
    let _turn = crate::browser::take_turn().await;
    let Some(browser) = crate::browser::Browser::start().await else {
        return;
    };
    for which in ["zbarimg", "gs"] {
        if std::process::Command::new(which)
            .arg("--version")
            .output()
            .is_err()
        {
            crate::harness::not_run(format!(
                "{which} is not installed (zbar-tools, ghostscript)"
            ));
        }
    }
    for app in apps().await {
        let backend = app.backend;
        let control = sign_in_as(&app, "kiemsoat.qr", Role::ControlOffice, "48.VP").await;
        let made = create(
            &app,
            &control,
            json!({"code": "mot-cua-son-tra", "name": "Bộ phận Một cửa quận Sơn Trà", "kind": "counter"}),
        )
        .await;
        assert_eq!(made.status, StatusCode::CREATED);
        let base = app.base.trim_end_matches('/');

        browser.goto(&format!("{base}/to-gap")).await;
        browser
            .check_page(&format!("{backend}-material-leaflet"))
            .await;
        let desktop = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!(
            "target/browser-screenshots/{backend}-material-leaflet-desktop.png"
        ));
        assert_eq!(
            scan(&desktop),
            vec![format!("{base}/gui-phan-anh")],
            "[{backend}] on screen"
        );
        let printed = print_and_scan(
            &browser,
            &format!("{backend}-material-leaflet"),
            fantoccini::wd::PrintSize::A4,
        )
        .await;
        assert_eq!(
            printed,
            vec![format!("{base}/gui-phan-anh")],
            "[{backend}] printed leaflet"
        );

        browser
            .goto(&format!("{base}/ap-phich?nguon=mot-cua-son-tra&kho=a3"))
            .await;
        browser
            .check_page(&format!("{backend}-material-poster-a3"))
            .await;
        assert!(
            browser
                .page_text()
                .await
                .contains("Bộ phận Một cửa quận Sơn Trà")
        );
        let a3 = fantoccini::wd::PrintSize {
            width: 29.7,
            height: 42.0,
        };
        let printed = print_and_scan(&browser, &format!("{backend}-material-poster-a3"), a3).await;
        let short = format!("{base}/n/mot-cua-son-tra");
        assert_eq!(printed, vec![short.clone()], "[{backend}] printed poster");

        // What a phone does with it: the form, carrying the source.
        browser.goto(&short).await;
        let carried = browser
            .find("input[name=nguon]")
            .await
            .attr("value")
            .await
            .unwrap();
        assert_eq!(carried.as_deref(), Some("mot-cua-son-tra"), "[{backend}]");
    }
    browser.stop().await;
}
