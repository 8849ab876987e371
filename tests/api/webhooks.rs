//! Webhooks: a partner subscribes, receives signed deliveries of item
//! events exactly once and in order per item, from several instances; a
//! failing endpoint is retried with back-off and given up with the reason
//! shown; public subscriptions see only the public projection; targets
//! inside the machine or a private network are refused.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use chrono::{Duration, Utc};
use hmac::{Hmac, Mac};
use macro_rules_attribute::apply;
use pakn::domain::staff::Role;
use pakn::services::webhooks::{Deliverer, PassReport, http_client};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::auth::sign_in_as;
use crate::helpers::{Reply, TestApp, another_instance, apps, apps_with, valid_submission};
use crate::public_qa::publish;
use crate::workflow::step;
use crate::{case, case_once};

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
struct Received {
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }

    fn header(&self, name: &str) -> &str {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
            .unwrap_or("")
    }
}

#[derive(Default)]
struct ReceiverState {
    received: Mutex<Vec<Received>>,
    /// The status to answer with (200 when unset).
    status: Mutex<Option<u16>>,
}

/// A partner's endpoint on loopback that records every request.
struct Receiver {
    url: String,
    state: Arc<ReceiverState>,
    handle: actix_web::dev::ServerHandle,
}

impl Receiver {
    async fn start() -> Self {
        let state = Arc::new(ReceiverState::default());
        let shared = web::Data::from(state.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(shared.clone())
                .default_service(web::to(record))
        })
        .workers(1)
        .bind("127.0.0.1:0")
        .expect("bind the receiver");
        let port = server.addrs()[0].port();
        let server = server.run();
        let handle = server.handle();
        tokio::spawn(server);
        Receiver {
            url: format!("http://127.0.0.1:{port}/pakn-hook"),
            state,
            handle,
        }
    }

    fn answer_with(&self, status: u16) {
        *self.state.status.lock().unwrap() = Some(status);
    }

    fn received(&self) -> Vec<Received> {
        self.state.received.lock().unwrap().clone()
    }

    async fn stop(self) {
        self.handle.stop(false).await;
    }
}

async fn record(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<ReceiverState>,
) -> HttpResponse {
    let headers = req
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    state.received.lock().unwrap().push(Received {
        headers,
        body: body.to_vec(),
    });
    let status = state.status.lock().unwrap().unwrap_or(200);
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap()).finish()
}

/// Checks the signature as a partner would, with the hmac crate directly.
fn signed_by(secret: &str, r: &Received) -> bool {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(r.header("Pakn-Timestamp").as_bytes());
    mac.update(b".");
    mac.update(&r.body);
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    r.header("Pakn-Signature") == format!("v1={expected}")
}

async fn subscribe(app: &TestApp, admin: &str, body: Value) -> Reply {
    app.send(
        Method::POST,
        "/api/v1/admin/webhooks",
        "/api/v1/admin/webhooks",
        |r| r.bearer_auth(admin).json(&body),
    )
    .await
}

async fn deliveries(app: &TestApp, admin: &str, name: &str, query: &str) -> Reply {
    app.send(
        Method::GET,
        "/api/v1/admin/webhooks/{name}/deliveries",
        &format!("/api/v1/admin/webhooks/{name}/deliveries{query}"),
        |r| r.bearer_auth(admin),
    )
    .await
}

/// One pass by the instance `holder` of `app`.
async fn pass(app: &TestApp, holder: &str, now: chrono::DateTime<Utc>) -> PassReport {
    let client = http_client(&app.settings.webhooks).unwrap();
    Deliverer {
        store: &app.store,
        settings: &app.settings,
        client: &client,
        holder,
    }
    .deliver_once(now)
    .await
    .unwrap()
}

/// Passes by both instances at once until neither finds anything due.
async fn drain(a: &TestApp, b: &TestApp) -> usize {
    let mut total = 0;
    loop {
        let now = Utc::now();
        let (x, y) = tokio::join!(pass(a, "instance-a", now), pass(b, "instance-b", now));
        let handled = x.handled() + y.handled();
        total += handled;
        if handled == 0 {
            return total;
        }
    }
}

const PRIVATE: [&str; 5] = [
    "Nguyễn Văn An",
    "0912 345",
    "0912345",
    "an.nguyen@example.vn",
    "12 Lê Lợi",
];

const ALL_EVENTS: [&str; 4] = [
    "item.published",
    "item.unpublished",
    "item.answered",
    "item.state_changed",
];

#[apply(case!)]
async fn a_partner_receives_signed_webhooks_exactly_once_in_order_from_two_instances() {
    for app in apps().await {
        let other = another_instance(&app).await;
        let portal = Receiver::start().await;
        let agency_system = Receiver::start().await;
        let admin = sign_in_as(&app, "quantri.wh", Role::Admin, "48.VP").await;
        let control = sign_in_as(&app, "kiemsoat.wh", Role::ControlOffice, "48.VP").await;

        let public = subscribe(
            &app,
            &admin,
            json!({"name": "cong-tinh", "url": portal.url, "events": ALL_EVENTS}),
        )
        .await;
        assert_eq!(public.status, StatusCode::CREATED, "{}", public.body);
        let public_secret = public.body["secret"].as_str().unwrap().to_string();
        assert!(public_secret.starts_with("whsec_") && public_secret.len() > 60);
        assert_eq!(public.header("cache-control"), Some("no-store, private"));

        let key = app
            .send(
                Method::POST,
                "/api/v1/admin/api-keys",
                "/api/v1/admin/api-keys",
                |r| {
                    r.bearer_auth(&admin)
                        .json(&json!({"name": "vp-he-thong", "scopes": ["agency_webhooks"]}))
                },
            )
            .await;
        assert_eq!(key.status, StatusCode::CREATED, "{}", key.body);
        let agency = subscribe(
            &app,
            &admin,
            json!({"name": "vp-noi-bo", "url": agency_system.url, "events": ["item.state_changed", "item.answered"],
                   "scope": "agency", "agency": "48.VP", "api_key": "vp-he-thong"}),
        )
        .await;
        assert_eq!(agency.status, StatusCode::CREATED, "{}", agency.body);
        let agency_secret = agency.body["secret"].as_str().unwrap().to_string();

        // The secret is never shown again.
        let list = app
            .send(
                Method::GET,
                "/api/v1/admin/webhooks",
                "/api/v1/admin/webhooks",
                |r| r.bearer_auth(&admin),
            )
            .await;
        assert_eq!(list.status, StatusCode::OK);
        assert!(!list.body.to_string().contains(&public_secret));
        assert_eq!(list.body["items"].as_array().unwrap().len(), 2);

        // Two items published, one left unpublished.
        let mut published = Vec::new();
        for n in 0..2 {
            published.push(
                publish(
                    &app,
                    &control,
                    valid_submission(),
                    &format!("Hồ sơ đất đai số {n} bị chậm"),
                    "Hồ sơ cấp giấy chứng nhận bị chậm quá hạn.",
                    "Sở đã xử lý xong hồ sơ.",
                )
                .await,
            );
        }
        let hidden = app.post_feedback(&valid_submission()).await.body["tracking_code"]
            .as_str()
            .unwrap()
            .to_string();
        step(
            &app,
            &control,
            &hidden,
            "classify",
            json!({"content_category": "implementation_problem"}),
        )
        .await;
        step(&app, &control, &hidden, "accept", json!({})).await;

        let handled = drain(&app, &other).await;
        assert!(handled > 0);

        // Exactly once: every delivery id once, as many as were recorded
        // delivered; each signed with its subscription's secret.
        let to_portal = portal.received();
        let to_agency = agency_system.received();
        for (got, secret, name) in [
            (&to_portal, &public_secret, "cong-tinh"),
            (&to_agency, &agency_secret, "vp-noi-bo"),
        ] {
            let ids: HashSet<&str> = got.iter().map(|r| r.header("Pakn-Delivery")).collect();
            assert_eq!(
                ids.len(),
                got.len(),
                "[{}] a delivery repeated",
                app.backend
            );
            let recorded = deliveries(&app, &admin, name, "?status=delivered").await;
            assert_eq!(recorded.status, StatusCode::OK, "{}", recorded.body);
            assert_eq!(recorded.body["items"].as_array().unwrap().len(), got.len());
            for r in got.iter() {
                assert!(signed_by(secret, r), "[{}] bad signature", app.backend);
                assert_eq!(r.header("content-type"), "application/json");
                assert_eq!(r.json()["event"], r.header("Pakn-Event"));
                assert_eq!(r.json()["id"], r.header("Pakn-Delivery"));
                assert_eq!(r.json()["subscription"], name);
                let ts: i64 = r.header("Pakn-Timestamp").parse().unwrap();
                assert!((Utc::now().timestamp() - ts).abs() < 300);
            }
        }

        // The portal heard of the published items only, with the public
        // projection and nothing personal.
        let portal_events: Vec<(String, String)> = to_portal
            .iter()
            .map(|r| {
                let b = r.json();
                (
                    b["tracking_code"].as_str().unwrap().to_string(),
                    b["event"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        for code in &published {
            let mine: Vec<&str> = portal_events
                .iter()
                .filter(|(c, _)| c == code)
                .map(|(_, e)| e.as_str())
                .collect();
            assert_eq!(
                mine,
                vec!["item.state_changed", "item.published"],
                "[{}] {code}",
                app.backend
            );
        }
        assert!(portal_events.iter().all(|(c, _)| c != &hidden));
        let text: String = to_portal
            .iter()
            .map(|r| String::from_utf8_lossy(&r.body).to_string())
            .collect();
        for private in PRIVATE {
            assert!(
                !text.contains(private),
                "{private} leaked to a public subscription"
            );
        }
        let first = to_portal
            .iter()
            .find(|r| r.header("Pakn-Event") == "item.published")
            .unwrap()
            .json();
        assert!(
            first["item"]["title"]
                .as_str()
                .unwrap()
                .starts_with("Hồ sơ đất đai số")
        );
        assert_eq!(first["item"]["agency"]["code"], "48.VP");
        assert!(first.get("from_state").is_none());

        // The agency's system heard every change of its items in order:
        // each state change starts where the previous one ended.
        let mut by_item: HashMap<String, Vec<Value>> = HashMap::new();
        for r in &to_agency {
            let b = r.json();
            by_item
                .entry(b["tracking_code"].as_str().unwrap().to_string())
                .or_default()
                .push(b);
        }
        for code in published.iter().chain([&hidden]) {
            let events = by_item
                .get(code)
                .unwrap_or_else(|| panic!("[{}] nothing for {code}", app.backend));
            let mut last_to: Option<String> = None;
            for e in events.iter().filter(|e| e["event"] == "item.state_changed") {
                if let Some(prev) = &last_to {
                    assert_eq!(
                        &e["from_state"],
                        prev.as_str(),
                        "[{}] {code} out of order: {events:?}",
                        app.backend
                    );
                }
                last_to = Some(e["to_state"].as_str().unwrap().to_string());
            }
            assert!(events.iter().all(|e| e["item"]["content"].is_string()));
        }
        let answered: Vec<&Value> = by_item[&published[0]]
            .iter()
            .filter(|e| e["event"] == "item.answered")
            .collect();
        assert_eq!(answered.len(), 1);
        assert!(
            answered[0]["item"]["answer"]
                .as_str()
                .unwrap()
                .contains("xử lý xong")
        );
        let text: String = to_agency
            .iter()
            .map(|r| String::from_utf8_lossy(&r.body).to_string())
            .collect();
        for private in PRIVATE {
            assert!(
                !text.contains(private),
                "{private} (contact data) went to an agency subscription"
            );
        }

        // Taken off the Q&A: the portal hears of it, without the item.
        step(
            &app,
            &control,
            &published[0],
            "unpublish",
            json!({"note": "Có thông tin cá nhân cần xoá thêm."}),
        )
        .await;
        drain(&app, &other).await;
        let withdrawn: Vec<Value> = portal
            .received()
            .iter()
            .map(Received::json)
            .filter(|b| b["event"] == "item.unpublished")
            .collect();
        assert_eq!(withdrawn.len(), 1);
        assert_eq!(withdrawn[0]["tracking_code"], published[0].as_str());
        assert!(withdrawn[0]["item"].is_null());

        // The partner's check, exactly as the README gives it, accepts a
        // real delivery and refuses it tampered with.
        readme_snippet_verifies(&public_secret, &portal.received()[0]);

        // The agency key revoked: its deliveries are given up with why.
        let revoked = app
            .send(
                Method::POST,
                "/api/v1/admin/api-keys/{name}/revoke",
                "/api/v1/admin/api-keys/vp-he-thong/revoke",
                |r| r.bearer_auth(&admin),
            )
            .await;
        assert_eq!(revoked.status, StatusCode::NO_CONTENT);
        step(
            &app,
            &control,
            &hidden,
            "answer",
            json!({"text": "Đang xem xét."}),
        )
        .await;
        step(&app, &control, &hidden, "sign-off", json!({})).await;
        let before = agency_system.received().len();
        drain(&app, &other).await;
        assert_eq!(
            agency_system.received().len(),
            before,
            "sent after the key was revoked"
        );
        let dead = deliveries(&app, &admin, "vp-noi-bo", "?status=dead").await;
        assert_eq!(
            dead.body["items"].as_array().unwrap().len(),
            1,
            "{}",
            dead.body
        );
        assert!(
            dead.body["items"][0]["last_error"]
                .as_str()
                .unwrap()
                .contains("agency_webhooks")
        );

        // Removed: nothing more is raised for it.
        let removed = app
            .send(
                Method::DELETE,
                "/api/v1/admin/webhooks/{name}",
                "/api/v1/admin/webhooks/cong-tinh",
                |r| r.bearer_auth(&admin),
            )
            .await;
        assert_eq!(removed.status, StatusCode::NO_CONTENT);
        step(
            &app,
            &control,
            &published[1],
            "unpublish",
            json!({"note": "Có thông tin cá nhân cần xoá thêm."}),
        )
        .await;
        let before = portal.received().len();
        drain(&app, &other).await;
        assert_eq!(portal.received().len(), before);
        let again = app
            .send(
                Method::DELETE,
                "/api/v1/admin/webhooks/{name}",
                "/api/v1/admin/webhooks/cong-tinh",
                |r| r.bearer_auth(&admin),
            )
            .await;
        assert_eq!(again.status, StatusCode::NOT_FOUND);
        portal.stop().await;
        agency_system.stop().await;
    }
}

/// Runs the README's Python verification snippet on `delivery`.
fn readme_snippet_verifies(secret: &str, delivery: &Received) {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let start = readme
        .find("```python\n# verify a pakn webhook")
        .expect("the snippet in README");
    let code = &readme[start + "```python\n".len()..];
    let code = &code[..code.find("```").unwrap()];
    let python = std::env::var("PAKN_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = format!(
        "{code}\nimport json, sys, time\ncase = json.load(sys.stdin)\nbody = case['body'].encode()\n\
         print(verify(case['secret'].encode(), case['headers'], body), \
         verify(case['secret'].encode(), case['headers'], body + b' '))\n"
    );
    let case = json!({
        "secret": secret,
        "headers": {
            "Pakn-Timestamp": delivery.header("Pakn-Timestamp"),
            "Pakn-Signature": delivery.header("Pakn-Signature"),
        },
        "body": String::from_utf8(delivery.body.clone()).unwrap(),
    });
    let mut child = std::process::Command::new(python)
        .arg("-c")
        .arg(script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(case.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "True False");
}

#[apply(case!)]
async fn a_failing_endpoint_is_retried_with_back_off_then_given_up_and_sent_again_on_request() {
    for app in apps_with(|s| {
        s.webhooks.max_attempts = 3;
        s.webhooks.retry_base_seconds = 60;
    })
    .await
    {
        let partner = Receiver::start().await;
        partner.answer_with(503);
        let admin = sign_in_as(&app, "quantri.rt", Role::Admin, "48.VP").await;
        let control = sign_in_as(&app, "kiemsoat.rt", Role::ControlOffice, "48.VP").await;
        let made = subscribe(
            &app,
            &admin,
            json!({"name": "doi-tac", "url": partner.url, "events": ["item.published", "item.unpublished"]}),
        )
        .await;
        assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
        let code = publish(
            &app,
            &control,
            valid_submission(),
            "Tiêu đề công khai",
            "Câu hỏi công khai.",
            "Trả lời.",
        )
        .await;
        // Unpublished while the first event still waits: it must not overtake it.
        step(
            &app,
            &control,
            &code,
            "unpublish",
            json!({"note": "Cần biên tập lại nội dung."}),
        )
        .await;
        step(
            &app,
            &control,
            &code,
            "publish",
            json!({"title_redacted": "Tiêu đề đã sửa", "question_redacted": "Câu hỏi đã sửa."}),
        )
        .await;

        let t0 = Utc::now();
        let first = pass(&app, "a", t0).await;
        assert_eq!(
            first,
            PassReport {
                retried: 1,
                ..PassReport::default()
            },
            "one at a time per item"
        );
        assert_eq!(partner.received().len(), 1);
        assert_eq!(partner.received()[0].header("Pakn-Event"), "item.published");
        // Not before its back-off.
        assert_eq!(
            pass(&app, "a", t0 + Duration::seconds(30)).await.handled(),
            0
        );
        let queued = deliveries(&app, &admin, "doi-tac", "?status=queued").await;
        let waiting = queued.body["items"].as_array().unwrap();
        assert_eq!(waiting.len(), 3);
        let oldest = waiting.last().unwrap();
        assert_eq!(oldest["last_status"], 503);
        assert_eq!(oldest["last_error"], "HTTP 503");
        assert!(oldest["next_attempt_at"].is_string());
        // Second attempt after 60 s, the third after a further 120 s.
        assert_eq!(pass(&app, "a", t0 + Duration::seconds(61)).await.retried, 1);
        assert_eq!(
            pass(&app, "a", t0 + Duration::seconds(150)).await.handled(),
            0
        );
        assert_eq!(pass(&app, "a", t0 + Duration::seconds(200)).await.dead, 1);
        let same: HashSet<String> = partner
            .received()
            .iter()
            .map(|r| r.header("Pakn-Delivery").to_string())
            .collect();
        assert_eq!(same.len(), 1, "retries carry the same delivery id");
        let dead = deliveries(&app, &admin, "doi-tac", "?status=dead").await;
        let dead_items = dead.body["items"].as_array().unwrap();
        assert_eq!(dead_items.len(), 1);
        assert_eq!(dead_items[0]["attempts"], 3);
        assert_eq!(dead_items[0]["last_error"], "HTTP 503 (sau 3 lần thử)");
        assert_eq!(dead_items[0]["tracking_code"], code.as_str());

        // Given up, it no longer holds back the item's later events, which
        // then arrive in order.
        partner.answer_with(200);
        let later = pass(&app, "a", t0 + Duration::seconds(201)).await;
        assert_eq!(later.delivered, 1);
        assert_eq!(
            pass(&app, "a", t0 + Duration::seconds(202)).await.delivered,
            1
        );
        let events: Vec<String> = partner
            .received()
            .iter()
            .map(|r| r.header("Pakn-Event").to_string())
            .collect();
        assert_eq!(
            events,
            [
                "item.published",
                "item.published",
                "item.published",
                "item.unpublished",
                "item.published"
            ]
        );
        // The last one carries the item as it is now.
        assert_eq!(
            partner.received()[4].json()["item"]["title"],
            "Tiêu đề đã sửa"
        );

        // The administrator sends the dead one again.
        let id = dead_items[0]["id"].as_str().unwrap();
        let retry = app
            .send(
                Method::POST,
                "/api/v1/admin/webhooks/{name}/deliveries/{delivery_id}/retry",
                &format!("/api/v1/admin/webhooks/doi-tac/deliveries/{id}/retry"),
                |r| r.bearer_auth(&admin),
            )
            .await;
        assert_eq!(retry.status, StatusCode::NO_CONTENT, "{}", retry.body);
        assert_eq!(pass(&app, "a", Utc::now()).await.delivered, 1);
        assert_eq!(
            partner.received().last().unwrap().header("Pakn-Delivery"),
            id
        );
        // Only a dead delivery can be sent again.
        let twice = app
            .send(
                Method::POST,
                "/api/v1/admin/webhooks/{name}/deliveries/{delivery_id}/retry",
                &format!("/api/v1/admin/webhooks/doi-tac/deliveries/{id}/retry"),
                |r| r.bearer_auth(&admin),
            )
            .await;
        assert_eq!(twice.status, StatusCode::NOT_FOUND);
        let bad_status = deliveries(&app, &admin, "doi-tac", "?status=lost").await;
        assert_eq!(
            bad_status.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            bad_status.body
        );
        assert_eq!(
            bad_status.field_errors(),
            vec![("status".to_string(), "invalid_choice".to_string())]
        );
        partner.stop().await;
    }
}

#[apply(case!)]
async fn targets_inside_the_machine_or_a_private_network_are_refused() {
    for app in apps_with(|s| s.webhooks.allow_private_targets = false).await {
        let admin = sign_in_as(&app, "quantri.ssrf", Role::Admin, "48.VP").await;
        for (url, code) in [
            ("https://127.0.0.1/hook", "target_not_allowed"),
            ("https://10.0.0.7/hook", "target_not_allowed"),
            ("https://192.168.1.20/hook", "target_not_allowed"),
            (
                "https://169.254.169.254/latest/meta-data",
                "target_not_allowed",
            ),
            ("https://[::1]:8443/hook", "target_not_allowed"),
            ("https://[::ffff:10.0.0.1]/hook", "target_not_allowed"),
            ("https://localhost/hook", "target_not_allowed"),
            ("http://203.119.8.10/hook", "url_invalid"),
            ("ftp://203.119.8.10/hook", "url_invalid"),
            ("https://user:pw@203.119.8.10/hook", "url_invalid"),
            ("không phải địa chỉ", "url_invalid"),
            ("https://khong-ton-tai.invalid/hook", "target_unresolvable"),
            ("", "required"),
        ] {
            let r = subscribe(
                &app,
                &admin,
                json!({"name": "thu", "url": url, "events": ["item.published"]}),
            )
            .await;
            assert_eq!(
                r.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{url}: {}",
                r.body
            );
            assert_eq!(
                r.field_errors(),
                vec![("url".to_string(), code.to_string())],
                "{url}"
            );
        }
        // A public address is accepted (nothing is sent when subscribing).
        let ok = subscribe(&app, &admin, json!({"name": "thu", "url": "https://203.119.8.10/hook", "events": ["item.published"]})).await;
        assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.body);

        // The other fields.
        let r = subscribe(
            &app,
            &admin,
            json!({"name": "thu", "url": "https://203.119.8.10/x", "events": ["item.deleted"]}),
        )
        .await;
        assert_eq!(
            r.field_errors(),
            vec![("events".to_string(), "invalid_choice".to_string())]
        );
        let r = subscribe(
            &app,
            &admin,
            json!({"name": "thu", "url": "https://203.119.8.10/x", "events": ["item.published"]}),
        )
        .await;
        assert_eq!(
            r.field_errors(),
            vec![("name".to_string(), "name_taken".to_string())]
        );
        let r = subscribe(&app, &admin, json!({"name": "co-quan", "url": "https://203.119.8.10/x", "events": [], "scope": "agency"})).await;
        let errors = r.field_errors();
        for expected in [
            ("events", "required"),
            ("agency", "required"),
            ("api_key", "required"),
        ] {
            assert!(
                errors.contains(&(expected.0.into(), expected.1.into())),
                "{expected:?} in {errors:?}"
            );
        }
        let stats_key = app
            .send(
                Method::POST,
                "/api/v1/admin/api-keys",
                "/api/v1/admin/api-keys",
                |r| {
                    r.bearer_auth(&admin)
                        .json(&json!({"name": "thong-ke", "scopes": ["read_statistics"]}))
                },
            )
            .await;
        assert_eq!(stats_key.status, StatusCode::CREATED);
        let r = subscribe(
            &app,
            &admin,
            json!({"name": "co-quan", "url": "https://203.119.8.10/x", "events": ["item.answered"],
            "scope": "agency", "agency": "48.KHONG-CO", "api_key": "thong-ke"}),
        )
        .await;
        let errors = r.field_errors();
        assert!(
            errors.contains(&("agency".into(), "invalid_choice".into())),
            "{errors:?}"
        );
        assert!(
            errors.contains(&("api_key".into(), "scope_missing".into())),
            "{errors:?}"
        );
        // Unknown fields are refused; other roles may not subscribe.
        let r = subscribe(&app, &admin, json!({"name": "x1", "url": "https://203.119.8.10/x", "events": ["item.published"], "secret": "mine"})).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        let control = sign_in_as(&app, "kiemsoat.ssrf", Role::ControlOffice, "48.VP").await;
        let r = subscribe(
            &app,
            &control,
            json!({"name": "x2", "url": "https://203.119.8.10/x", "events": ["item.published"]}),
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
    }
}

#[apply(case_once!)]
async fn a_target_that_turns_private_after_subscribing_is_not_contacted() {
    // Subscribed while private targets were allowed (or a name that later
    // points inside): the delivery checks again when it connects.
    let app = crate::helpers::spawn("sqlite", &|_: &mut pakn::config::Settings| {}).await;
    let partner = Receiver::start().await;
    let admin = sign_in_as(&app, "quantri.dns", Role::Admin, "48.VP").await;
    let control = sign_in_as(&app, "kiemsoat.dns", Role::ControlOffice, "48.VP").await;
    let by_name = partner.url.replace("127.0.0.1", "localhost");
    for (name, url) in [("theo-ip", partner.url.clone()), ("theo-ten", by_name)] {
        let r = subscribe(
            &app,
            &admin,
            json!({"name": name, "url": url, "events": ["item.published"]}),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    publish(
        &app,
        &control,
        valid_submission(),
        "Tiêu đề",
        "Câu hỏi.",
        "Trả lời.",
    )
    .await;
    let mut strict = app.settings.clone();
    strict.webhooks.allow_private_targets = false;
    let client = http_client(&strict.webhooks).unwrap();
    let report = Deliverer {
        store: &app.store,
        settings: &strict,
        client: &client,
        holder: "strict",
    }
    .deliver_once(Utc::now())
    .await
    .unwrap();
    assert_eq!(
        report,
        PassReport {
            dead: 1,
            retried: 1,
            ..PassReport::default()
        }
    );
    assert!(
        partner.received().is_empty(),
        "a private target was contacted"
    );
    let by_ip = deliveries(&app, &admin, "theo-ip", "?status=dead").await;
    assert!(
        by_ip.body["items"][0]["last_error"]
            .as_str()
            .unwrap()
            .contains("không được phép")
    );
    let by_name = deliveries(&app, &admin, "theo-ten", "?status=queued").await;
    assert!(
        by_name.body["items"][0]["last_error"]
            .as_str()
            .unwrap()
            .contains("no address a webhook may be sent to"),
        "{}",
        by_name.body
    );
    partner.stop().await;
}

#[apply(case!)]
async fn the_service_delivers_in_the_background_without_being_asked() {
    for app in apps_with(|s| {
        s.webhooks.deliver = true;
        s.webhooks.interval_seconds = 1;
    })
    .await
    {
        let partner = Receiver::start().await;
        let admin = sign_in_as(&app, "quantri.bg", Role::Admin, "48.VP").await;
        let control = sign_in_as(&app, "kiemsoat.bg", Role::ControlOffice, "48.VP").await;
        let made = subscribe(
            &app,
            &admin,
            json!({"name": "nen", "url": partner.url, "events": ["item.published"]}),
        )
        .await;
        assert_eq!(made.status, StatusCode::CREATED);
        let code = publish(
            &app,
            &control,
            valid_submission(),
            "Tiêu đề",
            "Câu hỏi.",
            "Trả lời.",
        )
        .await;
        let mut got = Vec::new();
        for _ in 0..50 {
            got = partner.received();
            if !got.is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(
            got.len(),
            1,
            "[{}] delivered by the service itself",
            app.backend
        );
        assert_eq!(got[0].json()["tracking_code"], code.as_str());
        partner.stop().await;
    }
}
