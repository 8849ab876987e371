//! An administrator runs staff accounts in Chromium, on SQLite and
//! PostgreSQL: the overview, a form answered next to its field, a new
//! account whose one-time link is shown once; the new officer opens the
//! link, sets a password, signs in and turns the daily digest off on their
//! profile. Every page axe-core clean, screenshots at phone and desktop
//! width.

use crate::case;
use macro_rules_attribute::apply;

use pakn::domain::staff::Role;

use crate::auth::{PASSWORD, sign_in_as};
use crate::browser::Browser;
use crate::helpers::{TestApp, apps};

#[apply(case!)]
async fn an_administrator_creates_an_account_and_its_owner_sets_a_password_in_the_browser() {
    let _turn = crate::browser::take_turn().await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    for app in apps().await {
        scenario(&browser, &app).await;
    }
    browser.stop().await;
}

async fn sign_in(browser: &Browser, base: &str, username: &str, password: &str) {
    browser.goto(&format!("{base}/nhan-vien/dang-nhap")).await;
    browser.type_into("#username", username).await;
    browser.type_into("#password", password).await;
    browser.click("form button[type=submit]").await;
}

async fn scenario(browser: &Browser, app: &TestApp) {
    let backend = app.backend;
    let base = &app.base;
    sign_in_as(app, "quantri.web", Role::Admin, "48.VP").await;
    sign_in(browser, base, "quantri.web", PASSWORD).await;

    browser.goto(&format!("{base}/nhan-vien/quan-tri")).await;
    assert!(browser.page_text().await.contains("Tài khoản cán bộ"));
    browser
        .check_page(&format!("admin-overview-{backend}"))
        .await;

    // The agency left out: said next to the field, the rest kept.
    browser
        .goto(&format!("{base}/nhan-vien/quan-tri/tai-khoan"))
        .await;
    browser.type_into("#username", "cv.moi.web").await;
    browser.type_into("#display_name", "Lê Thị Web").await;
    browser
        .find("#role")
        .await
        .select_by_value("agency_officer")
        .await
        .expect("selects");
    browser.type_into("#email", "cv.moi@sxd.example").await;
    // The browser's own check would stop an empty required select; the
    // server's is what is tested here.
    browser
        .client
        .execute(
            "document.getElementById('agency_code').removeAttribute('required');",
            vec![],
        )
        .await
        .expect("script runs");
    browser
        .click("form[action=\"/nhan-vien/quan-tri/tai-khoan\"][method=post] button[type=submit]")
        .await;
    assert!(
        browser.text("#agency_code-loi").await.contains("bắt buộc"),
        "[{backend}] the error is by its field"
    );
    assert_eq!(
        browser
            .find("#display_name")
            .await
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("Lê Thị Web")
    );
    browser
        .check_page(&format!("admin-account-error-{backend}"))
        .await;

    browser
        .find("#agency_code")
        .await
        .select_by_value("48.SXD")
        .await
        .expect("selects");
    browser
        .click("form[action=\"/nhan-vien/quan-tri/tai-khoan\"][method=post] button[type=submit]")
        .await;
    let link = browser.text("code.secret").await;
    assert!(
        link.contains("/nhan-vien/dat-mat-khau?ma=pakn_pw_"),
        "[{backend}] {link}"
    );
    assert!(browser.page_text().await.contains("cv.moi.web"));
    browser
        .check_page(&format!("admin-account-created-{backend}"))
        .await;

    // A merger: previewed, then applied behind its confirmation.
    browser
        .goto(&format!("{base}/nhan-vien/quan-tri/sap-nhap"))
        .await;
    browser
        .find("#from")
        .await
        .select_by_value("48.SCT")
        .await
        .expect("selects");
    browser
        .find("#to")
        .await
        .select_by_value("48.STC")
        .await
        .expect("selects");
    browser.click("#preview-button").await;
    assert!(
        browser.text("#xem-truoc").await.contains("Sở Tài chính"),
        "[{backend}]"
    );
    browser
        .check_page(&format!("admin-succession-preview-{backend}"))
        .await;
    browser
        .find("#xac_nhan")
        .await
        .click()
        .await
        .expect("ticks");
    browser.click("form.confirm button[type=submit]").await;
    assert!(
        browser.text(".flash").await.contains("Đã áp dụng"),
        "[{backend}]"
    );
    assert!(
        browser
            .page_text()
            .await
            .contains("Sở Công Thương thành phố Đà Nẵng (48.SCT) → Sở Tài chính")
    );
    browser
        .check_page(&format!("admin-succession-applied-{backend}"))
        .await;

    // An API key, shown once; the audit log finds who did all this.
    browser
        .goto(&format!("{base}/nhan-vien/quan-tri/khoa-api"))
        .await;
    browser.type_into("#name", "cong-dvc-web").await;
    browser
        .find("#scope-submit_feedback")
        .await
        .click()
        .await
        .expect("ticks");
    browser
        .click("form[action=\"/nhan-vien/quan-tri/khoa-api\"] button[type=submit]")
        .await;
    assert!(browser.text("code.secret").await.starts_with("pakn_ak_"));
    browser
        .check_page(&format!("admin-api-keys-{backend}"))
        .await;
    browser
        .goto(&format!(
            "{base}/nhan-vien/quan-tri/nhat-ky?actor=quantri.web"
        ))
        .await;
    let log = browser.page_text().await;
    assert!(
        log.contains("Tạo khoá API") && log.contains("Tạo tài khoản cán bộ"),
        "{log}"
    );
    browser
        .check_page(&format!("admin-audit-log-{backend}"))
        .await;

    // The directory: an agency's address set, its history shown.
    browser
        .goto(&format!("{base}/nhan-vien/quan-tri/co-quan"))
        .await;
    browser
        .check_page(&format!("admin-agencies-{backend}"))
        .await;
    browser
        .goto(&format!("{base}/nhan-vien/quan-tri/co-quan/48.SXD"))
        .await;
    browser.type_into("#email", "vanthu@sxd.example").await;
    browser
        .click("form[action=\"/nhan-vien/quan-tri/co-quan/48.SXD\"] button[type=submit]")
        .await;
    assert!(browser.text(".flash").await.contains("Đã lưu"));
    assert!(
        browser
            .text("#lich-su ~ ul")
            .await
            .contains("vanthu@sxd.example")
    );
    browser.check_page(&format!("admin-agency-{backend}")).await;

    // Routing rules: tried on a text in the page.
    browser
        .goto(&format!("{base}/nhan-vien/quan-tri/dinh-tuyen"))
        .await;
    browser.type_into("#title", "Xin giấy phép xây dựng").await;
    browser
        .click("form[action=\"/nhan-vien/quan-tri/dinh-tuyen/thu\"] button")
        .await;
    assert!(browser.text("#ket-qua-thu").await.contains("48.SXD"));
    browser
        .check_page(&format!("admin-routing-{backend}"))
        .await;

    // The calendar: a year's days and an edit previewed.
    browser
        .goto(&format!("{base}/nhan-vien/quan-tri/lich?nam=2026"))
        .await;
    assert!(browser.page_text().await.contains("Quốc khánh"));
    browser
        .check_page(&format!("admin-calendar-{backend}"))
        .await;

    // Fields and communes.
    browser
        .goto(&format!("{base}/nhan-vien/quan-tri/linh-vuc"))
        .await;
    browser.check_page(&format!("admin-fields-{backend}")).await;
    browser
        .goto(&format!("{base}/nhan-vien/quan-tri/xa-phuong"))
        .await;
    assert!(browser.page_text().await.contains("Hải Châu"));
    browser.check_page(&format!("admin-units-{backend}")).await;
    // Who was shown whose contact data.
    browser
        .goto(&format!("{base}/nhan-vien/quan-tri/truy-cap-lien-he"))
        .await;
    assert!(browser.text("h1").await.contains("Ai đã xem"));
    browser
        .check_page(&format!("admin-contact-access-{backend}"))
        .await;
    browser
        .click("form[action=\"/nhan-vien/dang-xuat\"] button")
        .await;

    // The new officer's link: a password, then signing in with it.
    browser.goto(&link).await;
    assert!(browser.text("h1").await.contains("cv.moi.web"));
    browser.check_page(&format!("set-password-{backend}")).await;
    browser
        .type_into("#new_password", "cụm từ bí mật của tôi")
        .await;
    browser
        .type_into("#new_password_again", "cụm từ bí mật của tôi")
        .await;
    browser.click("form button[type=submit]").await;
    assert!(
        browser
            .text(".flash")
            .await
            .contains("Mật khẩu đã được đặt")
    );
    sign_in(browser, base, "cv.moi.web", "cụm từ bí mật của tôi").await;
    browser.goto(&format!("{base}/nhan-vien/ho-so")).await;
    assert!(browser.page_text().await.contains("cv.moi@sxd.example"));
    browser.check_page(&format!("profile-{backend}")).await;
    browser
        .find("#daily_digest")
        .await
        .click()
        .await
        .expect("unticks");
    browser
        .click("form[action=\"/nhan-vien/ho-so/thu-tong-hop\"] button")
        .await;
    assert!(browser.text(".flash").await.contains("Đã lưu"));
    assert!(
        !browser
            .find("#daily_digest")
            .await
            .is_selected()
            .await
            .unwrap(),
        "[{backend}] the digest is off"
    );
    browser
        .click("form[action=\"/nhan-vien/dang-xuat\"] button")
        .await;
    // The used link no longer works.
    browser.goto(&link).await;
    assert!(browser.text("h1").await.contains("không còn hiệu lực"));
}
