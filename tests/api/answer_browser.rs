//! From a citizen's form to the public Q&A entirely through browser pages
//! (headless Chromium, as `browser.rs` sets it up), on SQLite and
//! PostgreSQL: the citizen submits on `/gui-phan-anh`; the control office
//! forwards; the agency officer accepts and asks a second agency, whose
//! officer contributes without ever seeing the submitter; the officer
//! writes the answer, the browser is left mid-sentence and a new session
//! finds every word; the lead sends it back once (the reason at the top of
//! the item), then signs it off; the control office approves and publishes
//! from the redaction suggestion (the phone number in the question never
//! reaches `/hoi-dap`); the citizen reads the answer on `/tra-cuu` and rates
//! it. Every page: axe-core clean, screenshots at phone and desktop width.

use crate::case;
use macro_rules_attribute::apply;

use std::time::{Duration, Instant};

use pakn::domain::staff::Role;

use crate::auth::{PASSWORD, sign_in_as};
use crate::browser::Browser;
use crate::helpers::{TestApp, apps_with};
use crate::workflow::current;

impl Browser {
    async fn staff_sign_in(&self, base: &str, username: &str) {
        self.goto(&format!("{base}/nhan-vien/dang-nhap")).await;
        self.type_into("#username", username).await;
        self.type_into("#password", PASSWORD).await;
        self.click("form button[type=submit]").await;
    }

    async fn staff_sign_out(&self) {
        self.click("form[action=\"/nhan-vien/dang-xuat\"] button")
            .await;
    }

    async fn open_item(&self, base: &str, code: &str) {
        self.goto(&format!("{base}/nhan-vien/phan-anh/{code}"))
            .await;
    }

    /// Opens an action's form on the item page and sends it.
    async fn act(&self, action: &str, fields: &[(&str, &str)]) {
        self.find(&format!("#tac-vu-{action} summary"))
            .await
            .click()
            .await
            .expect("opens");
        for (name, value) in fields {
            self.type_into(&format!("#{action}-{name}"), value).await;
        }
        self.click(&format!("#tac-vu-{action} form > button[type=submit]"))
            .await;
    }

    async fn flash(&self) -> String {
        self.text(".flash").await
    }
}

#[apply(case!)]
async fn an_item_goes_from_the_citizens_form_to_the_public_page_in_the_browser() {
    let _turn = crate::browser::take_turn().await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    for app in apps_with(|s| s.public_pages.form_min_fill_seconds = 1).await {
        scenario(&browser, &app).await;
    }
    browser.stop().await;
}

async fn scenario(browser: &Browser, app: &TestApp) {
    let backend = app.backend;
    let base = &app.base;
    let control = sign_in_as(app, "kiemsoat.e2e", Role::ControlOffice, "48.VP").await;
    let officer = sign_in_as(app, "sxd.cv.e2e", Role::AgencyOfficer, "48.SXD").await;
    sign_in_as(app, "sxd.ld.e2e", Role::AgencyLead, "48.SXD").await;
    sign_in_as(app, "stc.cv.e2e", Role::AgencyOfficer, "48.STC").await;

    // The citizen's form, with a phone number written into the question.
    browser.goto(&format!("{base}/gui-phan-anh")).await;
    browser
        .type_into("#title", "Cấp phép xây dựng nhà ở quá hạn")
        .await;
    browser
        .type_into(
            "#content",
            "Hồ sơ cấp giấy phép xây dựng nộp ngày 02/10 đến nay quá hạn; xin gọi lại cho tôi số 0905 777 888.",
        )
        .await;
    browser
        .type_into("#submitter-full_name", "Lê Văn Cường")
        .await;
    browser
        .type_into("#submitter-address-detail", "7 Bạch Đằng")
        .await;
    browser.type_into("#submitter-phone", "0905 777 888").await;
    browser
        .find("#field_code")
        .await
        .select_by_value("xay_dung")
        .await
        .expect("selects");
    browser
        .find("#consent_to_publish")
        .await
        .click()
        .await
        .expect("consents");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    browser.click("form.submit button[type=submit]").await;
    let code = browser.text("#ma-so").await;
    let token = browser.text("#ma-tra-cuu").await;

    // The control office classifies and forwards.
    browser.staff_sign_in(base, "kiemsoat.e2e").await;
    browser.open_item(base, &code).await;
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
    browser
        .click("#tac-vu-classify form > button[type=submit]")
        .await;
    browser.act("forward", &[("agency_code", "48.SXD")]).await;
    assert!(browser.flash().await.contains("Chuyển"), "[{backend}]");
    browser.staff_sign_out().await;

    // The agency officer accepts and asks the Sở Tài chính.
    browser.staff_sign_in(base, "sxd.cv.e2e").await;
    browser.open_item(base, &code).await;
    browser.act("accept", &[]).await;
    browser
        .act(
            "request-coordination",
            &[
                ("agency_code", "48.STC"),
                ("note", "Đề nghị cho ý kiến về lệ phí."),
            ],
        )
        .await;
    assert!(browser.flash().await.contains("phối hợp"), "[{backend}]");
    browser.staff_sign_out().await;

    // The coordinating officer sees the question, never the submitter.
    browser.staff_sign_in(base, "stc.cv.e2e").await;
    browser.open_item(base, &code).await;
    let seen = browser.page_text().await;
    assert!(!seen.contains("Lê Văn Cường"), "[{backend}] {seen}");
    assert!(seen.contains("Cơ quan phối hợp không xem thông tin người gửi"));
    browser
        .check_page(&format!("{backend}-answer-coordinating"))
        .await;
    browser
        .act(
            "contribute",
            &[("text", "Lệ phí theo Nghị quyết của HĐND tỉnh.")],
        )
        .await;
    browser.staff_sign_out().await;

    // The officer writes; "Việc của tôi" leads to the item, whose page
    // saves the draft on its own.
    browser.staff_sign_in(base, "sxd.cv.e2e").await;
    browser
        .goto(&format!("{base}/nhan-vien/viec-cua-toi"))
        .await;
    let work = browser.text("main").await;
    assert!(work.contains(&code), "[{backend}] {work}");
    browser.check_page(&format!("{backend}-my-work")).await;
    browser
        .click(&format!(
            "section.work a[href=\"/nhan-vien/phan-anh/{code}\"]"
        ))
        .await;
    assert!(
        browser.page_text().await.contains("Lệ phí theo Nghị quyết"),
        "[{backend}] the contribution"
    );
    browser
        .find("#tac-vu-answer summary")
        .await
        .click()
        .await
        .expect("opens");
    browser
        .type_into("#answer-text", "Kính gửi Ông Cường, Sở Xây dựng đã")
        .await;
    wait_until(Duration::from_secs(10), || async {
        browser
            .text("#ban-nhap-trang-thai")
            .await
            .contains("Đã lưu bản nháp")
    })
    .await;
    let saved = current(app, &officer, &code).await["saved_draft"]["text"].clone();
    assert_eq!(saved, "Kính gửi Ông Cường, Sở Xây dựng đã", "[{backend}]");
    browser.check_page(&format!("{backend}-answer-draft")).await;
    // More words, then the browser is left at once (before the next save).
    browser
        .find("#answer-text")
        .await
        .send_keys(" trả kết quả ngày 25/11.")
        .await
        .expect("types");
    browser.goto(&format!("{base}/nhan-vien/phan-anh")).await;
    wait_until(Duration::from_secs(5), || async {
        current(app, &officer, &code).await["saved_draft"]["text"]
            == "Kính gửi Ông Cường, Sở Xây dựng đã trả kết quả ngày 25/11."
    })
    .await;
    // A new session (a colleague taking over, or the same person after a
    // crash) finds every word.
    let Some(other) = Browser::start().await else {
        return;
    };
    other.staff_sign_in(base, "sxd.cv.e2e").await;
    other.open_item(base, &code).await;
    let kept = other
        .find("#answer-text")
        .await
        .prop("value")
        .await
        .expect("value")
        .unwrap_or_default();
    assert_eq!(
        kept, "Kính gửi Ông Cường, Sở Xây dựng đã trả kết quả ngày 25/11.",
        "[{backend}]"
    );
    // Recorded on the item for the lead.
    other
        .find("#tac-vu-answer summary")
        .await
        .click()
        .await
        .expect("opens");
    other
        .click("#tac-vu-answer form > button[type=submit]")
        .await;
    let done = other.flash().await;
    assert!(done.contains("Soạn trả lời"), "[{backend}] {done}");
    assert!(other.page_text().await.contains("Người gửi sẽ thấy"));
    other.stop().await;
    browser.staff_sign_out().await;

    // The lead keeps the agency's templates (one with a phone number in it
    // is refused by its field), then sends the draft back once and signs
    // it off.
    browser.staff_sign_in(base, "sxd.ld.e2e").await;
    browser.goto(&format!("{base}/nhan-vien/mau-tra-loi")).await;
    browser.type_into("#ten-moi", "Lời kết").await;
    browser
        .type_into("#noi-dung-moi", "Mọi thắc mắc xin gọi 0905 123 456.")
        .await;
    browser
        .click("form[action=\"/nhan-vien/mau-tra-loi\"] button")
        .await;
    assert!(
        browser
            .text("#noi-dung-moi-loi")
            .await
            .contains("thông tin cá nhân")
    );
    browser.type_into("#noi-dung-moi", "Trân trọng./.").await;
    browser
        .click("form[action=\"/nhan-vien/mau-tra-loi\"] button")
        .await;
    assert!(browser.flash().await.contains("Đã lưu mẫu"), "[{backend}]");
    browser
        .check_page(&format!("{backend}-answer-templates"))
        .await;
    browser.open_item(base, &code).await;
    browser
        .act("send-back", &[("note", "Ghi rõ số giấy phép đã cấp.")])
        .await;
    browser.staff_sign_out().await;
    browser.staff_sign_in(base, "sxd.cv.e2e").await;
    browser.open_item(base, &code).await;
    let top = browser.text("#tra-lai").await;
    assert!(
        top.contains("Ghi rõ số giấy phép đã cấp."),
        "[{backend}] {top}"
    );
    browser
        .check_page(&format!("{backend}-answer-sent-back"))
        .await;
    browser
        .find("#tac-vu-answer summary")
        .await
        .click()
        .await
        .expect("opens");
    browser
        .type_into(
            "#answer-text",
            "Sở Xây dựng đã cấp Giấy phép xây dựng số 125/GPXD ngày 25/11 và trả kết quả cho Ông.",
        )
        .await;
    browser
        .click("#tac-vu-answer form > button[type=submit]")
        .await;
    browser.staff_sign_out().await;
    browser.staff_sign_in(base, "sxd.ld.e2e").await;
    browser.open_item(base, &code).await;
    browser.act("sign-off", &[]).await;
    browser.staff_sign_out().await;

    // The control office approves and publishes from the suggestion.
    browser.staff_sign_in(base, "kiemsoat.e2e").await;
    browser.open_item(base, &code).await;
    browser.act("approve", &[]).await;
    browser
        .find("#tac-vu-publish summary")
        .await
        .click()
        .await
        .expect("opens");
    let question = browser
        .find("#publish-question_redacted")
        .await
        .prop("value")
        .await
        .expect("value")
        .unwrap_or_default();
    assert!(!question.contains("0905"), "[{backend}] {question}");
    assert!(browser.text("#tac-vu-publish mark").await.contains("0905"));
    browser
        .check_page(&format!("{backend}-answer-publish"))
        .await;
    browser
        .click("#tac-vu-publish form > button[type=submit]")
        .await;
    assert_eq!(current(app, &control, &code).await["state"], "published");
    browser.staff_sign_out().await;
    browser.goto(&format!("{base}/hoi-dap")).await;
    let public = browser.page_text().await;
    assert!(
        public.contains("Cấp phép xây dựng nhà ở quá hạn"),
        "[{backend}]"
    );
    assert!(!public.contains("0905"), "[{backend}] {public}");

    // The citizen reads the answer and rates it.
    browser.goto(&format!("{base}/tra-cuu?ma={code}")).await;
    browser.type_into("#token", &token).await;
    browser.click("form.lookup button[type=submit]").await;
    assert!(
        browser
            .page_text()
            .await
            .contains("Giấy phép xây dựng số 125/GPXD"),
        "[{backend}]"
    );
    browser
        .find("input[name=diem][value=\"5\"]")
        .await
        .click()
        .await
        .expect("chooses");
    browser
        .click("form[action=\"/tra-cuu/danh-gia\"] button[type=submit]")
        .await;
    assert!(browser.page_text().await.contains("5/5"), "[{backend}]");
}

async fn wait_until<F, Fut>(within: Duration, check: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !check().await {
        assert!(start.elapsed() < within, "not within {within:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
