//! The citizen pages in a real browser: Debian's headless Chromium driven
//! over WebDriver (chromedriver, started here on 127.0.0.1). A person
//! fills the form, makes a mistake, fixes it, keeps the code and token and
//! finds the item later; searches the Q&A without diacritics; a portal page
//! frames the embed and runs `/embed.js`; a `<script>` a citizen typed never
//! runs anywhere; and axe-core finds no serious accessibility violation.
//!
//! `.ci/run` installs chromium, chromium-driver and axe-core (npm) and sets
//! `PAKN_TEST_REQUIRE_BROWSER=1`, so there a missing browser fails the run;
//! elsewhere these tests say so and stop early. Screenshots of the main
//! pages at phone and desktop widths are written to
//! `target/browser-screenshots/` (not committed).

use crate::case;
use macro_rules_attribute::apply;

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use pakn::domain::staff::Role;
use serde_json::json;

use crate::auth::sign_in_as;
use crate::helpers::{TestApp, apps_with, valid_submission};
use crate::public_qa::publish;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// What a hostile citizen types: it must show as text and never run.
/// Browser tests take turns: each drives Chromium and a server or two, and
/// on a two-core machine two at once starve each other's waits.
static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Held for the whole of a browser test.
pub async fn take_turn() -> tokio::sync::MutexGuard<'static, ()> {
    TURN.lock().await
}

pub const HOSTILE: &str =
    "<script>window.__pakn_xss=1</script><img src=x onerror=\"window.__pakn_xss=2\">";

fn required() -> bool {
    std::env::var("PAKN_TEST_REQUIRE_BROWSER").is_ok_and(|v| v == "1")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// axe-core, installed by `.ci/run` with npm under `target/`.
fn axe_source() -> Option<String> {
    let path = std::env::var("PAKN_TEST_AXE_JS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("target/browser-tools/node_modules/axe-core/axe.min.js")
        });
    std::fs::read_to_string(&path).ok()
}

/// chromedriver and one headless Chromium session.
pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
    axe: String,
}

impl Browser {
    pub async fn start() -> Option<Self> {
        let missing = [CHROMIUM, CHROMEDRIVER]
            .into_iter()
            .find(|p| !std::path::Path::new(p).exists());
        let axe = axe_source();
        let why = match (missing, &axe) {
            (Some(p), _) => format!("{p} is not installed"),
            (None, None) => "axe-core is not installed under target/browser-tools".into(),
            _ => String::new(),
        };
        if !why.is_empty() {
            if required() {
                panic!("the browser tests are required (PAKN_TEST_REQUIRE_BROWSER=1) but {why}");
            }
            crate::harness::not_run(format!(
                "no browser: {why}; `.ci/run` installs what the browser tests need"
            ));
        }
        let port = free_port();
        let mut driver = Command::new(CHROMEDRIVER)
            .args([format!("--port={port}"), "--allowed-ips=127.0.0.1".into()])
            // Vietnamese as the browser's own language: date and time
            // inputs read dd/mm/yyyy and 24 hours, as staff see them.
            .env("LANG", "vi_VN.UTF-8")
            .env("LANGUAGE", "vi")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group, with the Chromium it starts: a test
            // that fails half-way ends them all (see Drop).
            .process_group(0)
            .spawn()
            .expect("chromedriver starts");
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "chromedriver did not listen"
            );
            if let Ok(Some(status)) = driver.try_wait() {
                panic!("chromedriver exited: {status}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile = tempfile::tempdir().expect("profile dir");
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": CHROMIUM,
                // The machine's network is closed: Chromium's own background
                // traffic is switched off rather than refused many times.
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--disable-extensions",
                    "--lang=vi", "--window-size=1280,900",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            }),
        );
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("a Chromium session");
        Some(Self {
            client,
            driver,
            _profile: profile,
            axe: axe.unwrap_or_default(),
        })
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("navigates");
    }

    pub async fn find(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css}: {e}"))
    }

    /// The text of the element matching `css`; an element that htmx swaps
    /// out between finding and reading it is found again.
    pub async fn text(&self, css: &str) -> String {
        for _ in 0..50 {
            match self.find(css).await.text().await {
                Ok(t) => return t,
                Err(fantoccini::error::CmdError::Standard(e))
                    if e.error == fantoccini::error::ErrorStatus::StaleElementReference =>
                {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => panic!("text of {css}: {e}"),
            }
        }
        panic!("{css} kept being replaced")
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let field = self.find(css).await;
        field.clear().await.expect("clears");
        field.send_keys(text).await.expect("types");
    }

    /// Clicks a link or submit button and waits for the next page: until
    /// the old document is gone, a `find` could still answer from it (and
    /// its element go stale a moment later).
    pub async fn click(&self, css: &str) {
        let old = self.find("html").await;
        self.find(css).await.click().await.expect("clicks");
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            match old.tag_name().await {
                Err(fantoccini::error::CmdError::Standard(e))
                    if e.error == fantoccini::error::ErrorStatus::StaleElementReference =>
                {
                    break;
                }
                _ if std::time::Instant::now() > deadline => panic!("{css} led nowhere"),
                _ => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    }

    pub async fn page_text(&self) -> String {
        self.text("body").await
    }

    /// Whether any script a citizen typed ran in this document.
    pub async fn hostile_script_ran(&self) -> bool {
        let v = self
            .client
            .execute("return typeof window.__pakn_xss !== 'undefined';", vec![])
            .await
            .expect("script runs");
        v.as_bool().unwrap_or(true)
    }

    /// Serious or critical WCAG 2.1 A/AA violations axe-core finds.
    pub async fn accessibility_violations(&self) -> Vec<String> {
        self.client
            .execute(&self.axe, vec![])
            .await
            .expect("axe-core loads");
        let result = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})
                    .then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                        nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 3)}))))
                    .catch(e => done([{id: 'axe-error', impact: 'critical', help: String(e), nodes: []}]));",
                vec![],
            )
            .await
            .expect("axe-core runs");
        result
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
            .map(|v| {
                format!(
                    "{} ({}): {} at {}",
                    v["id"], v["impact"], v["help"], v["nodes"]
                )
            })
            .collect()
    }

    /// The page at a phone's and a desktop's width, kept with the test
    /// output.
    pub async fn screenshots(&self, name: &str) {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/browser-screenshots");
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        for (label, width, height) in [("phone", 390, 1600), ("desktop", 1280, 1400)] {
            self.client
                .set_window_size(width, height)
                .await
                .expect("resizes");
            let png = self.client.screenshot().await.expect("screenshot");
            std::fs::write(dir.join(format!("{name}-{label}.png")), png).expect("written");
        }
        self.client
            .set_window_size(1280, 900)
            .await
            .expect("resizes");
    }

    pub async fn check_page(&self, name: &str) {
        assert!(
            !self.hostile_script_ran().await,
            "{name}: a citizen's script ran"
        );
        let violations = self.accessibility_violations().await;
        assert!(violations.is_empty(), "{name}: {violations:#?}");
        self.screenshots(name).await;
    }

    pub async fn stop(self) {
        let _ = self.client.clone().close().await;
        // Drop ends chromedriver and anything left of its Chromium.
    }
}

impl Drop for Browser {
    /// A test that fails before `stop` must not leave chromedriver and
    /// Chromium running: the whole process group goes.
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.driver.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

#[apply(case!)]
async fn a_person_submits_fixes_a_mistake_and_finds_the_item_later() {
    let _turn = crate::browser::take_turn().await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    for app in apps_with(|s| s.public_pages.form_min_fill_seconds = 1).await {
        let base = &app.base;
        // The home page and the token recovery form, as a newcomer meets them.
        browser.goto(&format!("{base}/")).await;
        browser.check_page(&format!("{}-home", app.backend)).await;
        browser.click("a[href=\"/tra-cuu/khoi-phuc\"]").await;
        browser
            .check_page(&format!("{}-recover", app.backend))
            .await;
        browser.goto(&format!("{base}/gui-phan-anh")).await;
        browser.check_page(&format!("{}-form", app.backend)).await;
        browser
            .type_into("#title", &format!("Cấp phép xây dựng chậm {HOSTILE}"))
            .await;
        browser.type_into("#content", "Quá ngắn").await;
        browser
            .type_into("#submitter-full_name", "Nguyễn Thị Bình")
            .await;
        browser
            .type_into("#submitter-address-detail", "25 Trần Phú")
            .await;
        browser.type_into("#submitter-phone", "0905 123 456").await;
        browser
            .find("#field_code")
            .await
            .select_by_value("xay_dung")
            .await
            .expect("selects");
        // A person takes more than a second to fill a form.
        tokio::time::sleep(Duration::from_millis(1100)).await;
        browser.click("form.submit button[type=submit]").await;

        // The mistake is shown by its field; what was typed is still there.
        let message = browser.text("#content-loi").await;
        assert!(message.contains("quá ngắn"), "{message}");
        let summary = browser.text("#bieu-mau").await;
        assert!(summary.contains("Nội dung"), "{summary}");
        let name = browser.find("#submitter-full_name").await;
        assert_eq!(
            name.prop("value").await.expect("value").as_deref(),
            Some("Nguyễn Thị Bình")
        );
        let title = browser.find("#title").await;
        assert!(
            title
                .prop("value")
                .await
                .expect("value")
                .unwrap_or_default()
                .contains("<script>")
        );
        browser
            .check_page(&format!("{}-form-errors", app.backend))
            .await;

        browser
            .type_into(
                "#content",
                "Hồ sơ xin cấp giấy phép xây dựng nộp ngày 02/10 đến nay đã quá hạn mà chưa có kết quả.",
            )
            .await;
        tokio::time::sleep(Duration::from_millis(1100)).await;
        browser.click("form.submit button[type=submit]").await;
        let code = browser.text("#ma-so").await;
        let token = browser.text("#ma-tra-cuu").await;
        assert!(code.starts_with("PAKN.48."), "{code}");
        assert!(token.len() >= 16, "{token}");
        browser
            .check_page(&format!("{}-confirmation", app.backend))
            .await;
        // Where scripts run, the copy buttons appear beside the codes.
        let copy = browser.find("button.copy[data-copy=\"ma-tra-cuu\"]").await;
        assert!(
            copy.is_displayed().await.expect("displayed"),
            "the copy button shows where scripts run"
        );

        // Later: the lookup page, from the link on the confirmation.
        browser
            .click(&format!("a[href=\"/tra-cuu?ma={code}\"]"))
            .await;
        let prefilled = browser.find("#ma").await;
        assert_eq!(
            prefilled.prop("value").await.expect("value").as_deref(),
            Some(code.as_str())
        );
        browser.check_page(&format!("{}-lookup", app.backend)).await;
        browser.type_into("#token", &token).await;
        browser.click("form.lookup button[type=submit]").await;
        let h1 = browser.text("h1").await;
        assert!(
            h1.contains("Cấp phép xây dựng chậm <script>"),
            "shown as text: {h1}"
        );
        assert!(browser.page_text().await.contains("Đã tiếp nhận"));
        browser
            .check_page(&format!("{}-lookup-result", app.backend))
            .await;
        // The token never appears in a URL.
        let url = browser.client.current_url().await.expect("url");
        assert!(!url.as_str().contains(&token), "{url}");
    }
    browser.stop().await;
}

#[apply(case!)]
async fn the_public_qa_is_searchable_and_embeddable_and_never_runs_citizen_script() {
    let _turn = crate::browser::take_turn().await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    // The portal page is served before the app starts: its origin must be
    // configured as allowed to frame the embed.
    let portal_html = |app_base: &str| {
        format!(
            "<!DOCTYPE html><html lang=\"vi\"><head><meta charset=\"utf-8\"><title>Cổng thông tin</title></head><body>\
             <h1>Cổng thông tin thử</h1>\
             <iframe id=\"khung\" src=\"{app_base}/hoi-dap/embed?limit=5\" title=\"Hỏi – đáp\" style=\"width:100%;height:30rem\"></iframe>\
             <div id=\"tin\" data-pakn-hoi-dap data-limit=\"5\"></div>\
             <script src=\"{app_base}/embed.js\" async></script></body></html>"
        )
    };
    // One portal per backend, each told where its app is once the app runs.
    for backend in crate::harness::backends() {
        // The app's port is only known once it runs; the portal learns it
        // through a shared cell.
        let app_base = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let portal_port = {
            let cell = app_base.clone();
            portal(move || portal_html(&cell.lock().expect("lock"))).await
        };
        let allowed = format!("http://127.0.0.1:{portal_port}");
        let app = crate::helpers::spawn(backend, &|s: &mut pakn::config::Settings| {
            s.public_pages.embed_origins = vec![allowed.clone()];
        })
        .await;
        *app_base.lock().expect("lock") = app.base.clone();
        run_public_scenario(&browser, &app, portal_port).await;
    }
    browser.stop().await;
}

async fn run_public_scenario(browser: &Browser, app: &TestApp, portal_port: u16) {
    let control = sign_in_as(app, "kiemsoat.b", Role::ControlOffice, "48.VP").await;
    let mut submission = valid_submission();
    submission["title"] = json!(format!("Cấp phép xây dựng {HOSTILE}"));
    submission["content"] = json!(format!(
        "Hồ sơ cấp phép xây dựng của tôi đã quá hạn. {HOSTILE}"
    ));
    let code = publish(
        app,
        &control,
        submission,
        &format!("Cấp phép xây dựng quá hạn {HOSTILE}"),
        &format!("Hồ sơ cấp phép xây dựng quá hạn. {HOSTILE}"),
        "Sở Xây dựng đã trả kết quả ngày 10/11/2026.",
    )
    .await;

    // Search without diacritics, as people type on a phone.
    browser.goto(&format!("{}/hoi-dap", app.base)).await;
    browser.type_into("#q", "cap phep xay dung").await;
    browser.click("form.search button[type=submit]").await;
    let hit = browser.text(&format!("a[href=\"/hoi-dap/{code}\"]")).await;
    assert!(hit.contains("Cấp phép xây dựng quá hạn <script>"), "{hit}");
    browser
        .check_page(&format!("{}-qa-list", app.backend))
        .await;
    browser.click(&format!("a[href=\"/hoi-dap/{code}\"]")).await;
    assert!(
        browser
            .text(".answer")
            .await
            .contains("Sở Xây dựng đã trả kết quả")
    );
    browser
        .check_page(&format!("{}-qa-item", app.backend))
        .await;
    browser.goto(&format!("{}/gioi-thieu", app.base)).await;
    browser.check_page(&format!("{}-about", app.backend)).await;
    browser.goto(&format!("{}/hoi-dap/embed", app.base)).await;
    browser.check_page(&format!("{}-embed", app.backend)).await;

    // The portal that was allowed: the frame shows the answer, the script
    // renders it as text into the portal's own page.
    browser
        .goto(&format!("http://127.0.0.1:{portal_port}/"))
        .await;
    let rendered = browser.text("#tin .pakn-hoi-dap li a").await;
    assert!(
        rendered.contains("Cấp phép xây dựng quá hạn <script>"),
        "{rendered}"
    );
    assert!(
        !browser.hostile_script_ran().await,
        "embed.js ran a citizen's script"
    );
    browser
        .client
        .enter_frame(0)
        .await
        .expect("enters the frame");
    let framed = browser.text("ol.qa h2 a").await;
    assert!(framed.contains("Cấp phép xây dựng quá hạn"), "{framed}");
    assert!(!browser.hostile_script_ran().await);
    browser
        .client
        .enter_parent_frame()
        .await
        .expect("leaves the frame");

    // The same page from an origin that was not allowed: the frame stays
    // empty, the script (public data, CORS) still works.
    browser
        .goto(&format!("http://localhost:{portal_port}/"))
        .await;
    browser.find("#tin .pakn-hoi-dap li a").await;
    browser
        .client
        .enter_frame(0)
        .await
        .expect("enters the frame");
    let blocked = browser.client.find(Locator::Css("ol.qa")).await.is_err();
    browser
        .client
        .enter_parent_frame()
        .await
        .expect("leaves the frame");
    assert!(blocked, "a portal that was not configured framed the embed");
}

/// Serves `html()` (evaluated per request) on a new port.
async fn portal(html: impl Fn() -> String + Send + Sync + 'static) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let html = std::sync::Arc::new(html);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let page = html();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf).await;
                let response = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
                    page.len(),
                    page
                );
                let _ = stream.write_all(response.as_bytes()).await;
            });
        }
    });
    port
}
