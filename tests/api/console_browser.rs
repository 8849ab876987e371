//! The staff console in a real browser (headless Chromium over WebDriver,
//! as `browser.rs` sets it up), on SQLite and PostgreSQL: a control-office
//! officer signs in, finds a web-form item and an e-mail item in the queue,
//! classifies one and forwards it as the routing suggestion proposes, and
//! it reaches the agency officer's queue while a colleague's browser (on
//! another instance, with PostgreSQL) sees the counts change live; a bulk
//! classification of 20 items; the intake desk keying in a call and
//! showing the caller's earlier items as the number is typed; a triage
//! done with the keyboard alone; and a version conflict between two
//! browsers that loses nothing. Every page: no citizen script runs, axe-core
//! finds no serious violation, screenshots at phone and desktop width.

use crate::case;
use macro_rules_attribute::apply;

use std::time::{Duration, Instant};

use pakn::domain::staff::Role;
use serde_json::json;

use crate::auth::{PASSWORD, sign_in_as};
use crate::browser::{Browser, HOSTILE};
use crate::helpers::{TestApp, another_instance, apps, valid_submission};
use crate::workflow::current;

const TAB: &str = "\u{E004}";
const ENTER: &str = "\u{E007}";

impl Browser {
    async fn sign_in(&self, base: &str, username: &str) {
        self.goto(&format!("{base}/nhan-vien/dang-nhap")).await;
        self.type_into("#username", username).await;
        self.type_into("#password", PASSWORD).await;
        self.click("form button[type=submit]").await;
    }

    async fn sign_out(&self) {
        self.click("form[action=\"/nhan-vien/dang-xuat\"] button")
            .await;
    }

    /// Keys sent to whatever has the focus, as a person types them.
    async fn press(&self, keys: &str) {
        let active = self
            .client
            .active_element()
            .await
            .expect("a focused element");
        active.send_keys(keys).await.expect("keys");
    }

    async fn value(&self, css: &str) -> String {
        self.find(css)
            .await
            .prop("value")
            .await
            .expect("value")
            .unwrap_or_default()
    }

    /// Waits until the text of `css` contains `needle` (a partial update).
    async fn wait_for_text(&self, css: &str, needle: &str, within: Duration) -> String {
        let start = Instant::now();
        loop {
            let text = self.text(css).await;
            if text.contains(needle) {
                return text;
            }
            assert!(
                start.elapsed() < within,
                "{css} did not show {needle:?} within {within:?}: {text}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits for the next page after keys that navigate.
    async fn press_and_wait(&self, keys: &str) {
        let old = self.find("html").await;
        self.press(keys).await;
        let deadline = Instant::now() + Duration::from_secs(10);
        while old.tag_name().await.is_ok() {
            assert!(Instant::now() < deadline, "{keys:?} led nowhere");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn code_of(reply: &crate::helpers::Reply) -> String {
    reply.body["tracking_code"].as_str().unwrap().to_string()
}

#[apply(case!)]
async fn a_day_of_triage_in_the_browser() {
    let _turn = crate::browser::take_turn().await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    let Some(colleague) = Browser::start().await else {
        return;
    };
    for app in apps().await {
        triage_scenario(&browser, &colleague, &app).await;
    }
    colleague.stop().await;
    browser.stop().await;
}

async fn triage_scenario(browser: &Browser, colleague: &Browser, app: &TestApp) {
    let backend = app.backend;
    let base = &app.base;
    let control = sign_in_as(app, "kiemsoat.a", Role::ControlOffice, "48.VP").await;
    sign_in_as(app, "kiemsoat.b", Role::ControlOffice, "48.VP").await;
    sign_in_as(app, "sxd.a", Role::AgencyOfficer, "48.SXD").await;
    let mut web = valid_submission();
    web["title"] = json!(format!("Cấp phép xây dựng quá hạn {HOSTILE}"));
    web["content"] = json!(format!(
        "Hồ sơ cấp giấy phép xây dựng nhà ở riêng lẻ của tôi đã quá hạn 15 ngày. {HOSTILE}"
    ));
    let web_code = code_of(&app.post_feedback(&web).await);
    let key = crate::mail::gateway_key(app).await;
    let mail = crate::mail::push(
        app,
        &key,
        &crate::mail::citizen_mail(
            "thu-1@dan.example",
            "binh.tran@example.vn",
            "Giấy phép kinh doanh",
            "Kính gửi Văn phòng,\n\nThủ tục đăng ký hộ kinh doanh yêu cầu nộp bản sao công chứng hai lần.\n\nHọ và tên: Trần Thị Bình\nĐịa chỉ: 5 Hùng Vương, Hải Châu\nĐiện thoại: 0905111222\n",
        ),
    )
    .await;
    assert!(mail.status.is_success(), "{}", mail.body);

    // The colleague watches the counts, through another instance when
    // the database is shared.
    let other = if backend == "postgres" {
        Some(another_instance(app).await)
    } else {
        None
    };
    let watched = other.as_ref().map_or(base.as_str(), |o| o.base.as_str());
    colleague.sign_in(watched, "kiemsoat.b").await;
    // The live stream has connected and swapped its counts in. (On a
    // loaded two-core machine the page, its deferred scripts and the
    // stream's first message have taken more than the usual 10 s.)
    let connected = Instant::now();
    loop {
        let found = colleague
            .client
            .find_all(fantoccini::Locator::Css("#so-lieu [data-live]"))
            .await
            .map(|found| !found.is_empty())
            .unwrap_or(false);
        if found {
            break;
        }
        if connected.elapsed() > Duration::from_secs(30) {
            let html = colleague
                .find("#so-lieu")
                .await
                .html(false)
                .await
                .unwrap_or_default();
            panic!("[{backend}] the live counts never arrived: {html}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let before = colleague.text("#so-lieu").await;
    assert!(before.contains("2 tất cả"), "[{backend}] {before}");

    // Sign in: the queue, with both items.
    browser.sign_in(base, "kiemsoat.a").await;
    let queue = browser.text("table.queue").await;
    assert!(queue.contains(&web_code), "[{backend}] {queue}");
    assert!(queue.contains("Thư điện tử"), "[{backend}] the e-mail item");
    assert!(
        queue.contains("<script>"),
        "[{backend}] citizen text shown as text"
    );
    browser
        .check_page(&format!("{backend}-console-queue"))
        .await;

    // Open the web item, classify it.
    browser
        .click(&format!(
            "a[href=\"/nhan-vien/phan-anh/{web_code}\"][data-open]"
        ))
        .await;
    browser.check_page(&format!("{backend}-console-item")).await;
    browser
        .find("#tac-vu-classify summary")
        .await
        .click()
        .await
        .expect("opens");
    browser
        .find("#classify-content_category")
        .await
        .select_by_value("implementation_problem")
        .await
        .expect("selects");
    browser.click("#tac-vu-classify button[type=submit]").await;
    assert!(browser.text(".flash").await.contains("Phân loại"));
    // Forward as the routing suggestion proposes: one click.
    let suggestion = browser.text("ol.suggestions li strong").await;
    assert!(suggestion.contains("Xây dựng"), "[{backend}] {suggestion}");
    browser
        .click("ol.suggestions form[action$=\"/forward\"] button")
        .await;
    assert!(
        browser.text(".flash").await.contains("Chuyển"),
        "[{backend}]"
    );
    assert_eq!(
        current(app, &control, &web_code).await["state"],
        "forwarded"
    );

    // The colleague's counts moved without a reload.
    let moved = colleague
        .wait_for_text(
            "#so-lieu",
            "Đã chuyển cơ quan xử lý",
            Duration::from_secs(5),
        )
        .await;
    assert!(moved.contains("2 tất cả"), "[{backend}] {moved}");

    // The agency officer now has it.
    browser.sign_out().await;
    browser.sign_in(base, "sxd.a").await;
    let theirs = browser.text("table.queue").await;
    assert!(
        theirs.contains(&web_code),
        "[{backend}] reached the agency: {theirs}"
    );
    browser
        .check_page(&format!("{backend}-console-agency-queue"))
        .await;
    browser.sign_out().await;

    bulk_scenario(browser, app).await;
    intake_scenario(browser, app).await;
    keyboard_scenario(browser, app, &control).await;
    conflict_scenario(browser, colleague, app, &control, watched).await;
}

/// Twenty items classified at once from the queue.
async fn bulk_scenario(browser: &Browser, app: &TestApp) {
    let backend = app.backend;
    let mut codes = Vec::new();
    for n in 0..20 {
        let mut item = valid_submission();
        item["title"] = json!(format!("Lô thử hàng loạt số {n}"));
        codes.push(code_of(&app.post_feedback(&item).await));
    }
    browser.sign_in(&app.base, "kiemsoat.a").await;
    browser
        .goto(&format!(
            "{}/nhan-vien/phan-anh?q=lo+thu+hang+loat&state=received",
            app.base
        ))
        .await;
    browser
        .find("#chon-tat-ca")
        .await
        .click()
        .await
        .expect("selects all");
    browser
        .find("#bulk_action")
        .await
        .select_by_value("classify")
        .await
        .expect("action");
    browser
        .find("#bulk-category")
        .await
        .select_by_value("implementation_problem")
        .await
        .expect("category");
    browser.click("fieldset.bulk button[type=submit]").await;
    let result = browser.text("main").await;
    assert!(
        result.contains("Đã thực hiện 20 trên 20"),
        "[{backend}] {result}"
    );
    browser.check_page(&format!("{backend}-console-bulk")).await;
    browser.sign_out().await;
}

/// A call keyed in at the desk; the caller's earlier item appears as the
/// number is typed.
async fn intake_scenario(browser: &Browser, app: &TestApp) {
    let backend = app.backend;
    browser.sign_in(&app.base, "kiemsoat.a").await;
    browser
        .goto(&format!("{}/nhan-vien/tiep-nhan", app.base))
        .await;
    // Only the hotline's evidence shows for a call.
    assert!(
        browser
            .find("fieldset.evidence[data-kenh=\"hotline\"]")
            .await
            .is_displayed()
            .await
            .unwrap()
    );
    assert!(
        !browser
            .find("fieldset.evidence[data-kenh=\"letter_box\"]")
            .await
            .is_displayed()
            .await
            .unwrap()
    );
    browser
        .check_page(&format!("{backend}-console-intake"))
        .await;
    // The number of valid_submission's sender, typed as a caller says it.
    browser.type_into("#submitter-phone", "0912 345 678").await;
    let hint = browser
        .wait_for_text("#nguoi-gui-cu", "đã gửi", Duration::from_secs(5))
        .await;
    assert!(hint.contains("PAKN.48."), "[{backend}] {hint}");
    browser
        .type_into("#intake-caller_number", "0912 345 678")
        .await;
    browser
        .type_into("#submitter-full_name", "Nguyễn Văn An")
        .await;
    browser
        .type_into("#submitter-address-detail", "12 Lê Lợi")
        .await;
    browser
        .type_into("#title", "Hỏi về thủ tục cấp đổi giấy phép lái xe")
        .await;
    browser
        .type_into(
            "#content",
            "Người gọi hỏi vì sao thủ tục cấp đổi giấy phép lái xe yêu cầu giấy khám sức khoẻ mới.",
        )
        .await;
    browser.click("form.intake > p > button[type=submit]").await;
    let receipt = browser.text(".receipt").await;
    assert!(
        receipt.contains("Mã số") && receipt.contains("Mã tra cứu"),
        "[{backend}] {receipt}"
    );
    browser
        .check_page(&format!("{backend}-console-intake-done"))
        .await;
    // A data subject's request: the caller's items by phone number.
    browser
        .goto(&format!(
            "{}/nhan-vien/du-lieu-ca-nhan?phone=0912345678",
            app.base
        ))
        .await;
    assert!(browser.page_text().await.contains("phản ánh, kiến nghị"));
    browser
        .check_page(&format!("{backend}-console-subject-request"))
        .await;
    // The national re-keying backlog: the call just taken is in it; its
    // national code is recorded from the page.
    browser
        .goto(&format!("{}/nhan-vien/cong-quoc-gia", app.base))
        .await;
    browser
        .check_page(&format!("{backend}-console-national-backlog"))
        .await;
    browser
        .type_into("ol.rekey > li input[name=national_code]", "PAKN-2026-4242")
        .await;
    browser
        .click("ol.rekey > li form button[type=submit]")
        .await;
    let done = browser.text("#ket-qua").await;
    assert!(
        done.contains("Đã ghi mã PAKN quốc gia"),
        "[{backend}] {done}"
    );
    browser
        .check_page(&format!("{backend}-console-national-recorded"))
        .await;
    // The publicity sources: one created from the page.
    browser.goto(&format!("{}/nhan-vien/nguon", app.base)).await;
    browser.type_into("#code", "mot-cua-lien-chieu").await;
    browser
        .type_into("#name", "Bộ phận Một cửa quận Liên Chiểu")
        .await;
    browser.click("#tao-nguon button[type=submit]").await;
    assert!(
        browser.text("#ket-qua").await.contains("Đã tạo nguồn"),
        "[{backend}]"
    );
    assert!(browser.page_text().await.contains("mot-cua-lien-chieu"));
    browser
        .check_page(&format!("{backend}-console-sources"))
        .await;
    // The six-monthly report as it is printed, with its publicity section.
    browser
        .goto(&format!("{}/nhan-vien/bao-cao", app.base))
        .await;
    assert!(
        browser
            .page_text()
            .await
            .contains("Công tác tuyên truyền về kênh tiếp nhận"),
        "[{backend}]"
    );
    browser
        .check_page(&format!("{backend}-console-report"))
        .await;
    // The printable report has no console header: back to the console.
    browser.goto(&format!("{}/nhan-vien", app.base)).await;
    browser.sign_out().await;
}

/// One item triaged with the keyboard alone: j to the first row, Enter to
/// open it, c to classify, f to forward.
async fn keyboard_scenario(browser: &Browser, app: &TestApp, control: &str) {
    let backend = app.backend;
    let mut item = valid_submission();
    item["title"] = json!("Phân loại bằng bàn phím");
    let code = code_of(&app.post_feedback(&item).await);
    browser.sign_in(&app.base, "kiemsoat.a").await;
    browser
        .goto(&format!("{}/nhan-vien/phan-anh?q=ban+phim", app.base))
        .await;
    browser.press("?").await;
    assert!(
        browser
            .find("#phim-tat")
            .await
            .attr("open")
            .await
            .unwrap()
            .is_some()
    );
    browser.press("?").await;
    browser.press("j").await;
    let focused = browser
        .client
        .active_element()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(focused, code, "[{backend}] j moves to the first row");
    browser.press_and_wait(ENTER).await;
    assert!(browser.text("h1").await.contains(&code));
    browser.press("c").await;
    // The classify form is open with the focus in it: kind, then category.
    browser.press(TAB).await;
    browser.press("V").await;
    browser.press(TAB).await;
    browser.press(TAB).await;
    browser.press("Cấp giấy phép xây dựng").await;
    browser.press_and_wait(ENTER).await;
    let state = current(app, control, &code).await;
    assert_eq!(state["state"], "classified", "[{backend}] {state}");
    assert_eq!(state["content_category"], "implementation_problem");
    browser.press("f").await;
    browser.press("48.SXD").await;
    browser.press_and_wait(ENTER).await;
    assert_eq!(
        current(app, control, &code).await["state"],
        "forwarded",
        "[{backend}]"
    );
    browser.sign_out().await;
}

/// Two browsers on one item; the second to act is told what changed and
/// keeps what it typed.
async fn conflict_scenario(
    browser: &Browser,
    colleague: &Browser,
    app: &TestApp,
    control: &str,
    colleague_base: &str,
) {
    let backend = app.backend;
    let mut item = valid_submission();
    item["title"] = json!("Hai người cùng mở");
    let code = code_of(&app.post_feedback(&item).await);
    browser.sign_in(&app.base, "kiemsoat.a").await;
    browser
        .goto(&format!("{}/nhan-vien/phan-anh/{code}", app.base))
        .await;
    colleague
        .goto(&format!("{colleague_base}/nhan-vien/phan-anh/{code}"))
        .await;
    assert!(
        colleague
            .text("#dang-xem")
            .await
            .contains("Cán bộ kiemsoat.a"),
        "[{backend}] presence"
    );
    // The first classifies.
    browser
        .find("#tac-vu-classify summary")
        .await
        .click()
        .await
        .unwrap();
    browser
        .find("#classify-content_category")
        .await
        .select_by_value("other")
        .await
        .unwrap();
    browser.click("#tac-vu-classify button[type=submit]").await;
    // The second, on the page drawn before, rejects.
    colleague
        .find("#tac-vu-reject summary")
        .await
        .click()
        .await
        .unwrap();
    colleague
        .find("#tac-vu-reject input[value=\"R02\"]")
        .await
        .click()
        .await
        .unwrap();
    colleague
        .type_into("#reject-note", "Nội dung đã gõ cẩn thận")
        .await;
    colleague.click("#tac-vu-reject button[type=submit]").await;
    let conflict = colleague.text(".conflict").await;
    assert!(
        conflict.contains("Phân loại"),
        "[{backend}] what changed: {conflict}"
    );
    assert_eq!(
        colleague.value("#reject-note").await,
        "Nội dung đã gõ cẩn thận"
    );
    colleague
        .check_page(&format!("{backend}-console-conflict"))
        .await;
    assert_eq!(current(app, control, &code).await["state"], "classified");
    browser.sign_out().await;
    colleague.sign_out().await;
}
