//! The supervisor's pages: signing in with a cookie, the
//! dashboard, the six-monthly report (HTML and XLSX) and the item exports
//! (CSV and XLSX), each checked against a known set of items.

use crate::case;
use macro_rules_attribute::apply;

use calamine::{Data, Reader, Xlsx};
use pakn::domain::staff::Role;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::auth::{PASSWORD, sign_in_as};
use crate::helpers::{Reply, TestApp, apps, apps_with, valid_submission};
use crate::public_qa::publish;
use crate::stats::{answered_by_the_so, current_half_year};
use crate::workflow::step;

async fn page(app: &TestApp, path: &str, query: &str, token: &str) -> Reply {
    app.send(Method::GET, path, &format!("{path}?{query}"), |r| {
        r.bearer_auth(token).header("Accept", "text/html")
    })
    .await
}

async fn file(app: &TestApp, path: &str, query: &str, token: &str) -> Reply {
    app.send(Method::GET, path, &format!("{path}?{query}"), |r| {
        r.bearer_auth(token)
    })
    .await
}

fn sheet(bytes: &[u8], name: &str) -> Vec<Vec<Data>> {
    let mut book = Xlsx::new(std::io::Cursor::new(bytes.to_vec())).expect("an XLSX file");
    let range = book.worksheet_range(name).expect("the sheet");
    range.rows().map(|r| r.to_vec()).collect()
}

fn text(cell: &Data) -> String {
    match cell {
        Data::String(s) => s.clone(),
        Data::Float(f) => f.to_string(),
        Data::Int(i) => i.to_string(),
        Data::Empty => String::new(),
        other => format!("{other:?}"),
    }
}

/// The row whose first cell is `label`, as numbers after it.
fn figures_of(rows: &[Vec<Data>], label: &str) -> Vec<f64> {
    let row = rows
        .iter()
        .find(|r| r.first().map(text).as_deref() == Some(label))
        .unwrap_or_else(|| panic!("no row {label:?}"));
    row[1..]
        .iter()
        .filter_map(|c| match c {
            Data::Float(f) => Some(*f),
            Data::Int(i) => Some(*i as f64),
            _ => None,
        })
        .collect()
}

#[apply(case!)]
async fn the_report_and_the_exports_say_what_happened_and_no_more() {
    for app in apps().await {
        let control = sign_in_as(&app, "kiemsoat.bc", Role::ControlOffice, "48.VP").await;
        let auditor = sign_in_as(&app, "thanhtra.bc", Role::Auditor, "48.VP").await;
        let lead = sign_in_as(&app, "lanhdao.bc", Role::AgencyLead, "48.SXD").await;
        let officer = sign_in_as(&app, "chuyenvien.bc", Role::AgencyOfficer, "48.SXD").await;

        // A: answered by the office and published.
        let a = publish(
            &app,
            &control,
            valid_submission(),
            "Cấp phép xây dựng chậm",
            "Hồ sơ cấp phép xây dựng quá hạn.",
            "Đã trả kết quả.",
        )
        .await;
        // B: a title a spreadsheet would run as a formula; not accepted.
        let mut b = valid_submission();
        b["title"] = json!("=HYPERLINK(\"http://x.example\";\"Thủ tục cấp phép\")");
        let b = app.post_feedback(&b).await;
        assert_eq!(b.status, StatusCode::CREATED, "{}", b.body);
        let b_code = b.body["tracking_code"].as_str().unwrap().to_string();
        step(
            &app,
            &control,
            &b_code,
            "reject",
            json!({"reason_code": "R02", "note": "Tố cáo"}),
        )
        .await;
        // D: forwarded to the Sở Xây dựng and answered there.
        let (d_code, _) = answered_by_the_so(&app, &control, &officer, &lead).await;

        let period = current_half_year();
        let query = format!("period={period}");

        // The report as a page: a state document's head, the figures, the
        // assessment.
        let report = page(&app, "/nhan-vien/bao-cao", &query, &auditor).await;
        assert_eq!(report.status, StatusCode::OK, "{}", report.body);
        let html = report.body.as_str().unwrap();
        for expected in [
            "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
            "Độc lập - Tự do - Hạnh phúc",
            "Văn phòng Ủy ban nhân dân thành phố Đà Nẵng",
            "Đà Nẵng, ngày ",
            "BÁO CÁO",
            "Trong kỳ, tiếp nhận 3 phản ánh, kiến nghị (3 phản ánh, 0 kiến nghị)",
            "Đã trả lời 2 phản ánh, kiến nghị, trong đó 2 đúng hạn (100%)",
            "Nội dung là tố cáo (R02)",
            "Sở Xây dựng",
            "(Ký, ghi rõ họ tên, đóng dấu)",
        ] {
            assert!(
                html.contains(expected),
                "[{}] {expected:?} in\n{html}",
                app.backend
            );
        }
        assert_eq!(report.header("cache-control"), Some("no-store, private"));
        // No submitter on it.
        assert!(!html.contains("Nguyễn"), "{html}");

        // The same report as a workbook, figures as numbers.
        let xlsx = file(&app, "/nhan-vien/bao-cao.xlsx", &query, &auditor).await;
        assert_eq!(xlsx.status, StatusCode::OK);
        assert!(
            xlsx.header("content-disposition")
                .unwrap()
                .starts_with(&format!("attachment; filename=\"bao-cao-{period}"))
        );
        let rows = sheet(&xlsx.bytes, "Báo cáo");
        assert_eq!(text(&rows[0][3]), "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM");
        assert_eq!(figures_of(&rows, "Đã trả lời"), vec![2.0]);
        assert_eq!(figures_of(&rows, "  – Đúng hạn"), vec![2.0]);
        assert_eq!(figures_of(&rows, "Không tiếp nhận"), vec![1.0]);
        assert_eq!(figures_of(&rows, "Chuyển đến cơ quan xử lý"), vec![1.0]);
        // Sở Xây dựng: forwarded 1, returned 0, answered 1, on time 1, 0, 0, 100%.
        let sxd = rows
            .iter()
            .find(|r| text(&r[0]).contains("Sở Xây dựng"))
            .expect("the Sở's row");
        assert_eq!(
            sxd[1..8].iter().map(text).collect::<Vec<_>>(),
            ["1", "0", "1", "1", "0", "0", "100"]
        );

        // The items: three rows, codes and states, no personal data, and
        // the formula kept as text.
        let csv = file(&app, "/nhan-vien/du-lieu.csv", &query, &auditor).await;
        assert_eq!(csv.status, StatusCode::OK);
        assert!(csv.header("content-type").unwrap().starts_with("text/csv"));
        assert!(csv.bytes.starts_with(b"\xEF\xBB\xBF"));
        let mut reader = csv::Reader::from_reader(&csv.bytes[3..]);
        let head = reader.headers().unwrap().clone();
        assert_eq!(&head[0], "Mã số");
        let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(records.len(), 3, "{records:?}");
        let codes: Vec<&str> = records.iter().map(|r| &r[0]).collect();
        for code in [a.as_str(), b_code.as_str(), d_code.as_str()] {
            assert!(codes.contains(&code), "{code} in {codes:?}");
        }
        let b_row = records.iter().find(|r| r[0] == b_code).unwrap();
        assert!(b_row[8].starts_with("'=HYPERLINK"), "{b_row:?}");
        assert_eq!(&b_row[7], "Không tiếp nhận");
        assert_eq!(&b_row[13], "R02");
        let d_row = records.iter().find(|r| r[0] == d_code).unwrap();
        assert_eq!(&d_row[6], "Sở Xây dựng thành phố Đà Nẵng");
        assert_eq!(&d_row[12], "Đúng hạn");
        let everything = String::from_utf8_lossy(&csv.bytes).to_string();
        let submitter = &valid_submission()["submitter"];
        for personal in ["full_name", "phone", "email"] {
            let value = submitter[personal].as_str().unwrap();
            assert!(!everything.contains(value), "{personal} leaked");
        }

        let xlsx = file(&app, "/nhan-vien/du-lieu.xlsx", &query, &auditor).await;
        assert_eq!(xlsx.status, StatusCode::OK);
        let rows = sheet(&xlsx.bytes, "Phản ánh, kiến nghị");
        assert_eq!(rows.len(), 4);
        // A text cell, not a formula.
        let b_cells = rows.iter().find(|r| text(&r[0]) == b_code).unwrap();
        assert!(matches!(&b_cells[8], Data::String(s) if s.starts_with("=HYPERLINK")));

        // The Sở's lead: the Sở's item only; an officer: nothing.
        let own = file(&app, "/nhan-vien/du-lieu.csv", &query, &lead).await;
        assert_eq!(own.status, StatusCode::OK);
        let own_rows = csv::Reader::from_reader(&own.bytes[3..])
            .records()
            .map(Result::unwrap)
            .collect::<Vec<_>>();
        assert_eq!(own_rows.len(), 1);
        assert_eq!(&own_rows[0][0], d_code);
        let other = file(
            &app,
            "/nhan-vien/du-lieu.csv",
            &format!("{query}&agency=48.VP"),
            &lead,
        )
        .await;
        assert_eq!(other.status, StatusCode::FORBIDDEN);
        let refused = file(&app, "/nhan-vien/du-lieu.xlsx", &query, &officer).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        assert_eq!(refused.body["code"], "forbidden");
        // A browser gets the refusal as a page.
        let refused = page(&app, "/nhan-vien/thong-ke", "", &officer).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        assert!(refused.body.as_str().unwrap().contains("<h1>"));
        // A bad period is named.
        let bad = file(&app, "/nhan-vien/bao-cao.xlsx", "period=2026-H3", &auditor).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            bad.field_errors(),
            vec![("period".into(), "invalid_choice".into())]
        );

        // The dashboard draws the period's figures.
        let dashboard = page(&app, "/nhan-vien/thong-ke", &query, &auditor).await;
        assert_eq!(dashboard.status, StatusCode::OK);
        let html = dashboard.body.as_str().unwrap();
        assert_eq!(html.matches("<svg").count(), 4, "{html}");
        assert!(html.contains("Cổng thông tin (biểu mẫu trực tuyến)"));
        // On time per agency: the Sở 1 of 1.
        assert!(html.contains("100% (1/1)"), "{html}");
        assert!(html.contains(&format!("/nhan-vien/du-lieu.csv?period={period}")));
    }
}

#[apply(case!)]
async fn an_export_too_long_for_one_file_is_refused_not_cut_short() {
    for app in apps_with(|s| s.reporting.export_max_rows = 1).await {
        let auditor = sign_in_as(&app, "thanhtra.gh", Role::Auditor, "48.VP").await;
        for _ in 0..2 {
            app.post_feedback(&valid_submission()).await;
        }
        let query = format!("period={}", current_half_year());
        let refused = file(&app, "/nhan-vien/du-lieu.csv", &query, &auditor).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            refused.field_errors(),
            vec![("period".into(), "too_many_items".into())]
        );
    }
}

#[apply(case!)]
async fn staff_sign_in_with_a_strict_cookie_and_come_back_to_the_page() {
    for app in apps().await {
        sign_in_as(&app, "thanhtra.dn", Role::Auditor, "48.VP").await;
        // A browser without a session is sent to sign in, and back.
        let away = app
            .send(
                Method::GET,
                "/nhan-vien/thong-ke",
                "/nhan-vien/thong-ke?period=2026-H1",
                |r| r.header("Accept", "text/html"),
            )
            .await;
        assert_eq!(away.status, StatusCode::SEE_OTHER);
        assert_eq!(
            away.header("location"),
            Some("/nhan-vien/dang-nhap?tiep=%2Fnhan-vien%2Fthong-ke%3Fperiod%3D2026-H1")
        );
        // A program gets 401.
        let program = app
            .send(
                Method::GET,
                "/nhan-vien/thong-ke",
                "/nhan-vien/thong-ke",
                |r| r,
            )
            .await;
        assert_eq!(program.status, StatusCode::UNAUTHORIZED);

        let form = app
            .send(
                Method::GET,
                "/nhan-vien/dang-nhap",
                "/nhan-vien/dang-nhap?tiep=%2Fnhan-vien%2Fbao-cao",
                |r| r,
            )
            .await;
        assert!(
            form.body
                .as_str()
                .unwrap()
                .contains("value=\"/nhan-vien/bao-cao\"")
        );

        let sign_in = |password: &'static str, next: &'static str| {
            app.send(
                Method::POST,
                "/nhan-vien/dang-nhap",
                "/nhan-vien/dang-nhap",
                move |r| {
                    r.header("Sec-Fetch-Site", "same-origin").form(&[
                        ("username", "thanhtra.dn"),
                        ("password", password),
                        ("tiep", next),
                    ])
                },
            )
        };
        let wrong = sign_in("sai mật khẩu rồi", "/nhan-vien/bao-cao").await;
        assert_eq!(wrong.status, StatusCode::OK);
        assert!(wrong.body.as_str().unwrap().contains("không đúng"));
        assert!(wrong.header("set-cookie").is_none());

        // Another site is never where sign-in leads.
        let elsewhere = sign_in(PASSWORD, "//evil.example/nhan-vien/").await;
        assert_eq!(elsewhere.status, StatusCode::SEE_OTHER);
        assert_eq!(elsewhere.header("location"), Some("/nhan-vien"));

        let signed_in = sign_in(PASSWORD, "/nhan-vien/bao-cao").await;
        assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
        assert_eq!(signed_in.header("location"), Some("/nhan-vien/bao-cao"));
        let cookie = signed_in.header("set-cookie").unwrap().to_string();
        for attribute in ["HttpOnly", "SameSite=Strict", "Path=/nhan-vien", "Max-Age="] {
            assert!(cookie.contains(attribute), "{cookie}");
        }
        // Served over plain HTTP here: not marked Secure (it would be lost).
        assert!(!cookie.contains("Secure"));
        let session = cookie.split(';').next().unwrap().to_string();
        let with_cookie = |path: &'static str| {
            let session = session.clone();
            app.send(Method::GET, path, path, move |r| {
                r.header("Cookie", session).header("Accept", "text/html")
            })
        };
        let dashboard = with_cookie("/nhan-vien/thong-ke").await;
        assert_eq!(dashboard.status, StatusCode::OK, "{}", dashboard.body);
        assert!(dashboard.body.as_str().unwrap().contains("Bảng số liệu"));

        // A cross-site form cannot sign anyone out (or in).
        let forged = app
            .send(
                Method::POST,
                "/nhan-vien/dang-xuat",
                "/nhan-vien/dang-xuat",
                |r| {
                    r.header("Cookie", session.clone())
                        .header("Sec-Fetch-Site", "cross-site")
                },
            )
            .await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN);
        let out = app
            .send(
                Method::POST,
                "/nhan-vien/dang-xuat",
                "/nhan-vien/dang-xuat",
                |r| {
                    r.header("Cookie", session.clone())
                        .header("Sec-Fetch-Site", "same-origin")
                },
            )
            .await;
        assert_eq!(out.status, StatusCode::SEE_OTHER);
        assert!(out.header("set-cookie").unwrap().contains("Max-Age=0"));
        // The session is over: the cookie opens nothing.
        let after = with_cookie("/nhan-vien/thong-ke").await;
        assert_eq!(after.status, StatusCode::SEE_OTHER);
    }
}
