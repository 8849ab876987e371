//! The e-mail channel end to end: inbound mail becomes items and replies,
//! robots and bounces create nothing, and the outbox delivers through a
//! real SMTP server (aiosmtpd) with threading headers and signed reply
//! addresses.

use crate::case;
use macro_rules_attribute::apply;

use chrono::Utc;
use pakn::config::{MailSecurity, MailTransport};
use pakn::domain::staff::{ApiScope, Role};
use pakn::services::auth::create_api_key;
use pakn::services::mail_intake::reply_addressing;
use pakn::services::outbox::{DeliveryReport, Mailer, Outbox};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::auth::sign_in_as;
use crate::helpers::{Reply, TestApp, apps};
use crate::mail_servers::SmtpSink;
use crate::workflow::current;

pub async fn gateway_key(app: &TestApp) -> String {
    create_api_key(
        &app.store,
        &format!("mail-gateway-{}", uuid::Uuid::now_v7().simple()),
        &[ApiScope::IngestEmail],
        "tester",
        Utc::now(),
    )
    .await
    .expect("api key")
}

pub async fn push(app: &TestApp, key: &str, raw: &str) -> Reply {
    let raw = raw.to_string();
    app.send(
        Method::POST,
        "/api/v1/staff/inbound-email",
        "/api/v1/staff/inbound-email",
        |r| {
            r.bearer_auth(key)
                .header("content-type", "message/rfc822")
                .body(raw)
        },
    )
    .await
}

/// A citizen's mail (UTF-8, RFC 2047 name).
pub fn citizen_mail(message_id: &str, from: &str, subject: &str, body: &str) -> String {
    format!(
        "From: =?utf-8?b?{}?= <{from}>\r\nTo: phananh@danang.gov.vn\r\nSubject: {subject}\r\nMessage-ID: <{message_id}>\r\nDate: Mon, 23 Nov 2026 08:00:00 +0700\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n",
        b64("Nguyễn Văn An")
    )
}

fn b64(s: &str) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = s.as_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

const COMPLETE_BODY: &str = "Kính gửi Văn phòng UBND thành phố,\n\nThủ tục cấp giấy phép xây dựng nhà ở riêng lẻ đòi nộp bản sao công chứng giấy tờ đất hai lần.\n\nHọ và tên: Nguyễn Văn An\nĐịa chỉ: 12 Lê Lợi, phường Hải Châu, TP Đà Nẵng\nĐiện thoại: 0905123456\n";

/// Delivers the outbox once through the SMTP sink.
pub async fn deliver(app: &TestApp, sink: &SmtpSink) -> DeliveryReport {
    let mut settings = app.settings.clone();
    settings.mail.outbound.transport = MailTransport::Smtp;
    settings.mail.outbound.smtp_host = "127.0.0.1".into();
    settings.mail.outbound.smtp_port = sink.port;
    settings.mail.outbound.smtp_security = MailSecurity::Plain;
    let mailer = Mailer::from_settings(&settings).expect("mailer");
    let addressing = reply_addressing(&app.store, &settings, Utc::now())
        .await
        .expect("addressing");
    Outbox {
        store: &app.store,
        settings: &settings,
        mailer: &mailer,
        addressing: &addressing,
        holder: "test",
    }
    .deliver_once(Utc::now())
    .await
    .expect("outbox pass")
}

/// The value of header `name` in a raw message (unfolded).
pub fn header(raw: &str, name: &str) -> Option<String> {
    let head = raw.split("\r\n\r\n").next().unwrap_or(raw);
    let head = head.split("\n\n").next().unwrap_or(head);
    let unfolded = head.replace("\r\n ", " ").replace("\n ", " ");
    unfolded.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
    })
}

async fn log_entry(app: &TestApp, token: &str, id: &str) -> Reply {
    app.send(
        Method::GET,
        "/api/v1/staff/inbound-email/{inbound_mail_id}",
        &format!("/api/v1/staff/inbound-email/{id}"),
        |r| r.bearer_auth(token),
    )
    .await
}

#[apply(case!)]
async fn an_email_becomes_an_item_is_acknowledged_by_smtp_and_a_reply_threads_back() {
    for app in apps().await {
        // One sink per app: both backends issue the same tracking codes.
        let Some(sink) = SmtpSink::start() else {
            return;
        };
        let key = gateway_key(&app).await;
        let mail = citizen_mail(
            "first-1@example.vn",
            "an@example.vn",
            "Thủ tục cấp phép xây dựng",
            COMPLETE_BODY,
        );
        let r = push(&app, &key, &mail).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        assert_eq!(r.body["outcome"], "new_item");
        let code = r.body["tracking_code"].as_str().unwrap().to_string();

        let office = sign_in_as(&app, "kiemsoat.m", Role::ControlOffice, "48.VP").await;
        let item = current(&app, &office, &code).await;
        assert_eq!(
            item["state"], "received",
            "complete mail is not asked about"
        );
        assert_eq!(item["channel"], "email");
        assert_eq!(item["submitter"]["full_name"], "Nguyễn Văn An");
        assert_eq!(item["submitter"]["email"], "an@example.vn");

        // The acknowledgement goes out by SMTP, threaded to the citizen's
        // mail, with the signed reply address and RFC 3834 marking.
        let report = deliver(&app, &sink).await;
        assert!(report.sent >= 1, "{report:?}");
        let ack = sink
            .wait_for(|m| m.contains("To: an@example.vn") && m.contains(&code))
            .await;
        assert_eq!(
            header(&ack, "In-Reply-To").as_deref(),
            Some("<first-1@example.vn>")
        );
        assert_eq!(
            header(&ack, "Auto-Submitted").as_deref(),
            Some("auto-replied")
        );
        let reply_to = header(&ack, "Reply-To").expect("Reply-To");
        assert!(reply_to.contains(&format!("phananh+{code}-")), "{reply_to}");
        assert!(ack.contains("multipart/alternative"));
        assert!(ack.contains("text/html"));
        let our_id = header(&ack, "Message-ID").expect("Message-ID");

        // The citizen answers: the reply lands on the same item.
        let reply = format!(
            "From: an@example.vn\r\nTo: phananh@danang.gov.vn\r\nSubject: Re: ack\r\nMessage-ID: <reply-1@example.vn>\r\nIn-Reply-To: {our_id}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nTôi gửi thêm: số hồ sơ 123.\r\n"
        );
        let r = push(&app, &key, &reply).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        assert_eq!(r.body["outcome"], "reply");
        assert_eq!(r.body["matched_by"], "in_reply_to");
        assert_eq!(r.body["tracking_code"], code.as_str());

        // Staff see both directions on the item, and the log entry.
        let messages = app.staff_get(&office, &code, "/messages").await;
        assert_eq!(messages.status, StatusCode::OK, "{}", messages.body);
        let dirs: Vec<&str> = messages.body["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["direction"].as_str().unwrap())
            .collect();
        assert_eq!(dirs.first(), Some(&"in"), "{dirs:?}");
        assert!(dirs.contains(&"out") && dirs.iter().filter(|d| **d == "in").count() == 2);
        let entry = log_entry(&app, &office, r.body["inbound_mail_id"].as_str().unwrap()).await;
        assert_eq!(entry.status, StatusCode::OK);
        assert_eq!(entry.body["tracking_code"], code.as_str());

        // The same reply again changes nothing.
        let again = push(&app, &key, &reply).await;
        assert_eq!(again.status, StatusCode::OK);
        assert_eq!(again.body["duplicate"], true);
    }
}

#[apply(case!)]
async fn a_mail_without_an_address_waits_and_the_reply_to_the_signed_address_resumes_it() {
    for app in apps().await {
        let key = gateway_key(&app).await;
        let mail = citizen_mail(
            "noaddr-1@example.vn",
            "binh@example.vn",
            "Giờ làm việc bộ phận một cửa",
            "Bộ phận một cửa của phường đóng cửa sớm hơn giờ niêm yết, người dân phải quay lại nhiều lần.",
        );
        let r = push(&app, &key, &mail).await;
        assert_eq!(r.body["outcome"], "new_item");
        let code = r.body["tracking_code"].as_str().unwrap().to_string();
        let office = sign_in_as(&app, "kiemsoat.m", Role::ControlOffice, "48.VP").await;
        let item = current(&app, &office, &code).await;
        assert_eq!(item["state"], "awaiting_information", "{item}");
        let entry = log_entry(&app, &office, r.body["inbound_mail_id"].as_str().unwrap()).await;
        assert!(
            entry.body["note"].as_str().unwrap().contains("address"),
            "{}",
            entry.body
        );
        // The request went into the outbox, worded for a mail reply.
        let notices = app.store.list_notices(true, 50).await.unwrap();
        let request = notices
            .iter()
            .find(|n| n.kind == "citizen_request_info")
            .expect("request queued");
        let rendered = pakn::domain::notice_templates::render(
            &request.kind,
            &request.payload,
            &app.settings.office(),
        )
        .unwrap();
        assert!(rendered.body.contains("địa chỉ liên hệ"));
        assert!(rendered.body.contains("trả lời thư này"));

        // A reply to the signed address (no In-Reply-To: a client that
        // drops it) from the submitter completes the item.
        let settings = app.settings.clone();
        let addressing = reply_addressing(&app.store, &settings, Utc::now())
            .await
            .unwrap();
        let address = addressing.address_for(&code.parse().unwrap());
        let reply = format!(
            "From: binh@example.vn\r\nTo: {}\r\nSubject: Re: bổ sung\r\nMessage-ID: <noaddr-2@example.vn>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nĐịa chỉ: 5 Trần Phú, phường Hải Châu\r\n\r\nVào Th 2 Văn phòng đã viết:\r\n> Đề nghị bổ sung\r\n",
            address.to_lowercase()
        );
        let r = push(&app, &key, &reply).await;
        assert_eq!(r.body["outcome"], "reply", "{}", r.body);
        assert_eq!(r.body["matched_by"], "reply_address");
        let item = current(&app, &office, &code).await;
        assert_eq!(
            item["state"], "received",
            "the reply resumed the item: {item}"
        );
        let supplements = item["supplements"].to_string();
        assert!(supplements.contains("5 Trần Phú"), "{supplements}");
        assert!(
            !supplements.contains("Đề nghị bổ sung"),
            "quoted text dropped"
        );

        // A forged reply address (wrong signature) matches nothing.
        let forged = address.replacen('-', "-Z", 1);
        let r = push(
            &app,
            &key,
            &format!(
                "From: stranger@example.vn\r\nTo: {forged}\r\nSubject: hello\r\nMessage-ID: <forged-1@example.vn>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHọ và tên: Kẻ Lạ\r\nĐịa chỉ: không rõ\r\nNội dung thử nghiệm đủ dài để thành phản ánh.\r\n"
            ),
        )
        .await;
        assert_eq!(r.body["outcome"], "new_item");
        assert_ne!(r.body["tracking_code"], code.as_str());
    }
}

#[apply(case!)]
async fn the_code_in_a_subject_counts_only_from_the_submitter() {
    for app in apps().await {
        let key = gateway_key(&app).await;
        let r = push(
            &app,
            &key,
            &citizen_mail(
                "code-1@example.vn",
                "an@example.vn",
                "Thủ tục",
                COMPLETE_BODY,
            ),
        )
        .await;
        let code = r.body["tracking_code"].as_str().unwrap().to_string();
        let from_submitter = format!(
            "From: AN@example.vn\r\nTo: phananh@danang.gov.vn\r\nSubject: Bổ sung cho {code}\r\nMessage-ID: <code-2@example.vn>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nBổ sung số hồ sơ.\r\n"
        );
        let r = push(&app, &key, &from_submitter).await;
        assert_eq!(r.body["outcome"], "reply");
        assert_eq!(r.body["matched_by"], "subject_code");
        let stranger = format!(
            "From: other@example.vn\r\nTo: phananh@danang.gov.vn\r\nSubject: Về {code}\r\nMessage-ID: <code-3@example.vn>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHọ và tên: Trần Khác\r\nĐịa chỉ: 1 Bạch Đằng, Đà Nẵng\r\nTôi cũng gặp vấn đề tương tự khi làm thủ tục này.\r\n"
        );
        let r = push(&app, &key, &stranger).await;
        assert_eq!(
            r.body["outcome"], "new_item",
            "a stranger cannot write into an item"
        );
        assert_ne!(r.body["tracking_code"], code.as_str());
    }
}

#[apply(case!)]
async fn robots_bounces_and_unreadable_mail_create_no_item() {
    for app in apps().await {
        // One sink per app: both backends issue the same tracking codes.
        let Some(sink) = SmtpSink::start() else {
            return;
        };
        let key = gateway_key(&app).await;
        let office = sign_in_as(&app, "kiemsoat.m", Role::ControlOffice, "48.VP").await;
        let before = app.store.count_feedback().await.unwrap();
        for (file, outcome) in [
            ("auto_reply.eml", "automatic"),
            ("out_of_office.eml", "automatic"),
        ] {
            let raw = std::fs::read_to_string(format!(
                "{}/tests/data/mail/{file}",
                env!("CARGO_MANIFEST_DIR")
            ))
            .unwrap();
            let r = push(&app, &key, &raw).await;
            assert_eq!(r.body["outcome"], outcome, "{file}: {}", r.body);
        }
        let r = push(&app, &key, "this is not an e-mail at all").await;
        assert_eq!(r.status, StatusCode::CREATED);
        assert_eq!(r.body["outcome"], "quarantined");
        // A robot sender (noreply@…) gets no item and no answer either.
        let r = push(
            &app,
            &key,
            &citizen_mail(
                "robot-1@example.vn",
                "no-reply@bank.example.vn",
                "Sao kê",
                COMPLETE_BODY,
            ),
        )
        .await;
        assert_eq!(r.body["outcome"], "automatic");
        assert_eq!(app.store.count_feedback().await.unwrap(), before);

        // A real item, its acknowledgement sent, then bounced: the
        // address is marked and the next notice to it is not sent.
        let r = push(
            &app,
            &key,
            &citizen_mail(
                "bounce-1@example.vn",
                "gone@example.vn",
                "Thủ tục",
                COMPLETE_BODY,
            ),
        )
        .await;
        let code = r.body["tracking_code"].as_str().unwrap().to_string();
        deliver(&app, &sink).await;
        let ack = sink
            .wait_for(|m| m.contains("To: gone@example.vn") && m.contains(&code))
            .await;
        let our_id = header(&ack, "Message-ID").unwrap();
        let dsn = format!(
            "From: MAILER-DAEMON@mx.example.vn\r\nTo: phananh@danang.gov.vn\r\nSubject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn-1@mx.example.vn>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nThe mail system could not deliver.\r\n--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.vn\r\n\r\nFinal-Recipient: rfc822; gone@example.vn\r\nAction: failed\r\nStatus: 5.1.1\r\n--B\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: {our_id}\r\nTo: gone@example.vn\r\n--B--\r\n"
        );
        let r = push(&app, &key, &dsn).await;
        assert_eq!(r.body["outcome"], "bounce", "{}", r.body);
        assert_eq!(r.body["tracking_code"], code.as_str());
        let staff = current(&app, &office, &code).await;
        step_request_info(&app, &office, &code, staff["version"].as_i64().unwrap()).await;
        let report = deliver(&app, &sink).await;
        assert_eq!(report.sent, 0, "{report:?}");
        assert_eq!(report.skipped, 1, "{report:?}");
        let messages = app.staff_get(&office, &code, "/messages").await;
        let last_out = messages.body["messages"]
            .as_array()
            .unwrap()
            .iter()
            .rev()
            .find(|m| m["direction"] == "out")
            .unwrap()
            .clone();
        assert_eq!(last_out["delivery"], "skipped");
        assert!(last_out["error"].as_str().unwrap().contains("bounced"));
    }
}

async fn step_request_info(app: &TestApp, token: &str, code: &str, version: i64) {
    let r = crate::workflow::act(
        app,
        token,
        code,
        "request-info",
        json!({"version": version, "message": "Đề nghị cung cấp số hồ sơ."}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

#[apply(case!)]
async fn one_acknowledgement_per_sender_per_window() {
    for app in apps().await {
        // One sink per app: both backends issue the same tracking codes.
        let Some(sink) = SmtpSink::start() else {
            return;
        };
        let key = gateway_key(&app).await;
        for i in 0..3 {
            let r = push(
                &app,
                &key,
                &citizen_mail(
                    &format!("loop-{i}@example.vn"),
                    "loop@example.vn",
                    &format!("Thủ tục {i}"),
                    COMPLETE_BODY,
                ),
            )
            .await;
            assert_eq!(r.body["outcome"], "new_item");
        }
        let report = deliver(&app, &sink).await;
        assert_eq!((report.sent, report.skipped), (1, 2), "{report:?}");
    }
}

#[apply(case!)]
async fn only_a_gateway_key_may_push_and_only_the_office_and_auditors_read_the_log() {
    for app in apps().await {
        let key = gateway_key(&app).await;
        let portal = create_api_key(
            &app.store,
            "portal",
            &[ApiScope::SubmitFeedback],
            "tester",
            Utc::now(),
        )
        .await
        .unwrap();
        let office = sign_in_as(&app, "kiemsoat.m", Role::ControlOffice, "48.VP").await;
        let officer = sign_in_as(&app, "canbo.m", Role::AgencyOfficer, "48.SXD").await;
        let mail = citizen_mail(
            "auth-1@example.vn",
            "an@example.vn",
            "Thủ tục",
            COMPLETE_BODY,
        );
        for token in [&portal, &office] {
            assert_eq!(push(&app, token, &mail).await.status, StatusCode::FORBIDDEN);
        }
        let wrong_type = app
            .send(
                Method::POST,
                "/api/v1/staff/inbound-email",
                "/api/v1/staff/inbound-email",
                |r| {
                    r.bearer_auth(&key)
                        .header("content-type", "text/plain")
                        .body(mail.clone())
                },
            )
            .await;
        assert_eq!(wrong_type.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let r = push(&app, &key, &mail).await;
        assert_eq!(r.status, StatusCode::CREATED);
        let id = r.body["inbound_mail_id"].as_str().unwrap().to_string();

        let list = |token: String| {
            let app = &app;
            async move {
                app.send(
                    Method::GET,
                    "/api/v1/staff/inbound-email",
                    "/api/v1/staff/inbound-email?outcome=new_item",
                    |r| r.bearer_auth(token),
                )
                .await
            }
        };
        let page = list(office.clone()).await;
        assert_eq!(page.status, StatusCode::OK);
        assert_eq!(page.body["total"], 1);
        // A mistaken parameter is named, not blamed on Decree 20.
        let bad = app
            .send(
                Method::GET,
                "/api/v1/staff/inbound-email",
                "/api/v1/staff/inbound-email?outcome=spam",
                |r| r.bearer_auth(&office),
            )
            .await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        let detail = bad.body["detail"].as_str().unwrap();
        assert!(
            detail.contains("“outcome”") && !detail.contains("Nghị định 20"),
            "{detail}"
        );
        assert_eq!(list(officer.clone()).await.status, StatusCode::FORBIDDEN);
        let raw = app
            .send(
                Method::GET,
                "/api/v1/staff/inbound-email/{inbound_mail_id}/raw",
                &format!("/api/v1/staff/inbound-email/{id}/raw"),
                |r| r.bearer_auth(&office),
            )
            .await;
        assert_eq!(raw.status, StatusCode::OK);
        assert_eq!(raw.header("content-type"), Some("message/rfc822"));
        assert!(
            raw.header("content-disposition")
                .unwrap()
                .starts_with("attachment")
        );
        let unknown = log_entry(&app, &office, &uuid::Uuid::now_v7().to_string()).await;
        assert_eq!(unknown.status, StatusCode::NOT_FOUND);
        let bad: Value = list(office.clone()).await.body;
        assert!(bad["items"][0]["from_address"].is_string());
    }
}

#[apply(case!)]
async fn delivery_retries_with_back_off_and_gives_up_after_the_last_attempt() {
    for app in apps().await {
        let key = gateway_key(&app).await;
        push(
            &app,
            &key,
            &citizen_mail(
                "retry-1@example.vn",
                "an@example.vn",
                "Thủ tục",
                COMPLETE_BODY,
            ),
        )
        .await;
        // A relay that is not there: a temporary failure.
        let mut settings = app.settings.clone();
        settings.mail.outbound.transport = MailTransport::Smtp;
        settings.mail.outbound.smtp_host = "127.0.0.1".into();
        settings.mail.outbound.smtp_port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        settings.mail.outbound.smtp_security = MailSecurity::Plain;
        settings.mail.outbound.max_attempts = 2;
        settings.mail.outbound.retry_base_seconds = 3600;
        let mailer = Mailer::from_settings(&settings).unwrap();
        let addressing = reply_addressing(&app.store, &settings, Utc::now())
            .await
            .unwrap();
        let outbox = Outbox {
            store: &app.store,
            settings: &settings,
            mailer: &mailer,
            addressing: &addressing,
            holder: "test",
        };
        let first = outbox.deliver_once(Utc::now()).await.unwrap();
        assert_eq!(first.retried, 1, "{first:?}");
        // Not due again before the back-off has passed.
        let early = outbox.deliver_once(Utc::now()).await.unwrap();
        assert_eq!(early, DeliveryReport::default());
        let later = Utc::now() + chrono::Duration::seconds(3601);
        let last = outbox.deliver_once(later).await.unwrap();
        assert_eq!(last.failed, 1, "{last:?}");
        let failed = app.store.notices_with_status("failed", 10).await.unwrap();
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0].attempts, 2);
        assert!(
            failed[0]
                .last_error
                .as_deref()
                .unwrap()
                .contains("after 2 attempts")
        );
    }
}

#[apply(case!)]
async fn two_instances_delivering_send_each_notice_once() {
    for app in apps().await {
        let Some(sink) = SmtpSink::start() else {
            return;
        };
        let key = gateway_key(&app).await;
        for i in 0..8 {
            push(
                &app,
                &key,
                &citizen_mail(
                    &format!("pair-{i}@example.vn"),
                    &format!("dan{i}@example.vn"),
                    "Thủ tục",
                    COMPLETE_BODY,
                ),
            )
            .await;
        }
        let mut settings = app.settings.clone();
        settings.mail.outbound.transport = MailTransport::Smtp;
        settings.mail.outbound.smtp_host = "127.0.0.1".into();
        settings.mail.outbound.smtp_port = sink.port;
        settings.mail.outbound.smtp_security = MailSecurity::Plain;
        settings.mail.outbound.batch_size = 3;
        let mailer = Mailer::from_settings(&settings).unwrap();
        let addressing = reply_addressing(&app.store, &settings, Utc::now())
            .await
            .unwrap();
        let run = |holder: &'static str| {
            let (app, settings, mailer, addressing) = (&app, &settings, &mailer, &addressing);
            async move {
                let outbox = Outbox {
                    store: &app.store,
                    settings,
                    mailer,
                    addressing,
                    holder,
                };
                let mut sent = 0;
                loop {
                    let r = outbox.deliver_once(Utc::now()).await.unwrap();
                    if r == DeliveryReport::default() {
                        return sent;
                    }
                    sent += r.sent;
                }
            }
        };
        let (a, b) = tokio::join!(run("a"), run("b"));
        assert_eq!(a + b, 8, "a {a}, b {b}");
        assert_eq!(sink.messages().len(), 8, "each notice once");
    }
}

#[apply(case!)]
async fn ingest_email_tells_the_mta_what_to_do_by_exit_code() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    for app in apps().await {
        let run = |url: &str, input: &[u8]| {
            let mut child = Command::new(env!("CARGO_BIN_EXE_pakn"))
                .arg("ingest-email")
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .env("PAKN__DATABASE__URL", url)
                .env("PAKN__DATABASE__CONNECT_TIMEOUT_SECONDS", "2")
                .env("PAKN__DATABASE__ACQUIRE_TIMEOUT_SECONDS", "2")
                .env("PAKN__LOG__LEVEL", "error")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("pakn runs");
            child.stdin.take().unwrap().write_all(input).unwrap();
            let out = child.wait_with_output().unwrap();
            (
                out.status.code(),
                String::from_utf8_lossy(&out.stdout).into_owned(),
            )
        };
        let mail = citizen_mail(
            "pipe-1@example.vn",
            "an@example.vn",
            "Thủ tục",
            COMPLETE_BODY,
        );
        let (code, out) = run(&app.database_url, mail.as_bytes());
        assert_eq!(code, Some(0), "{out}");
        assert!(out.contains("\"outcome\":\"new_item\""), "{out}");
        // Again: stored already, still success (the MTA must not retry).
        let (code, out) = run(&app.database_url, mail.as_bytes());
        assert_eq!(code, Some(0));
        assert!(out.contains("\"duplicate\":true"), "{out}");
        // Unusable: EX_DATAERR, yet logged for staff.
        let (code, _) = run(&app.database_url, b"\x00\x01 not mail");
        assert_eq!(code, Some(65));
        let (log, _) = app
            .store
            .inbound_mail_log(&pakn::store::mail::InboundMailFilter {
                outcome: Some("quarantined".into()),
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(log.len(), 1);
        // No database: EX_TEMPFAIL, so the MTA keeps the message.
        let unreachable = if app.backend == "sqlite" {
            "sqlite:///nonexistent-dir/for/pakn/x.db?mode=ro".to_string()
        } else {
            "postgres://postgres@127.0.0.1:1/none".to_string()
        };
        let (code, _) = run(&unreachable, mail.as_bytes());
        assert_eq!(code, Some(75));
    }
}

#[apply(case!)]
async fn attachments_follow_the_web_form_rules_and_refusals_are_noted() {
    for app in apps().await {
        let key = gateway_key(&app).await;
        // A PNG (accepted) and a Windows program (refused by content, not
        // by its innocent name).
        let png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";
        let exe = "TVqQAAMAAAAEAAAA//8AALgAAAAAAAAAQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAgAAAAA==";
        let mail = format!(
            "From: an@example.vn\r\nTo: phananh@danang.gov.vn\r\nSubject: =?utf-8?q?C=C3=B3_=E1=BA=A3nh?=\r\nMessage-ID: <files-1@example.vn>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n--XX\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{}\r\n--XX\r\nContent-Type: image/png; name=\"anh.png\"\r\nContent-Disposition: attachment; filename=\"anh.png\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{png}\r\n--XX\r\nContent-Type: application/pdf; name=\"hoso.pdf\"\r\nContent-Disposition: attachment; filename=\"hoso.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{exe}\r\n--XX--\r\n",
            COMPLETE_BODY.replace('\n', "\r\n")
        );
        let r = push(&app, &key, &mail).await;
        assert_eq!(r.body["outcome"], "new_item", "{}", r.body);
        let code = r.body["tracking_code"].as_str().unwrap().to_string();
        let office = sign_in_as(&app, "kiemsoat.m", Role::ControlOffice, "48.VP").await;
        let item = current(&app, &office, &code).await;
        let files = item["attachments"].as_array().unwrap();
        assert_eq!(files.len(), 1, "{item}");
        assert_eq!(files[0]["file_name"], "anh.png");
        let entry = log_entry(&app, &office, r.body["inbound_mail_id"].as_str().unwrap()).await;
        let note = entry.body["note"].as_str().unwrap_or_default();
        assert!(note.contains("hoso.pdf"), "{note}");
    }
}

/// Delivers the outbox once into files (no mail server needed): what the
/// tests need when only the delivery state matters.
pub async fn deliver_to_files(app: &TestApp) -> DeliveryReport {
    let mut settings = app.settings.clone();
    settings.mail.outbound.transport = MailTransport::File;
    let dir = tempfile::tempdir().unwrap();
    settings.mail.outbound.file_dir = dir.path().to_path_buf();
    let mailer = Mailer::from_settings(&settings).expect("mailer");
    let addressing = reply_addressing(&app.store, &settings, Utc::now())
        .await
        .expect("addressing");
    Outbox {
        store: &app.store,
        settings: &settings,
        mailer: &mailer,
        addressing: &addressing,
        holder: "test",
    }
    .deliver_once(Utc::now())
    .await
    .expect("outbox pass")
}

/// A delivery report (RFC 3464) from a mail server to `to`, about
/// `recipient`, quoting `quoted_id` in its returned headers if given.
fn dsn(id: &str, to: &str, recipient: &str, status: &str, quoted_id: Option<&str>) -> String {
    let returned = quoted_id
        .map(|q| {
            format!(
                "--B\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: {q}\r\nTo: {recipient}\r\n"
            )
        })
        .unwrap_or_default();
    format!(
        "From: MAILER-DAEMON@mx.example.vn\r\nTo: {to}\r\nSubject: Undelivered Mail Returned to Sender\r\nMessage-ID: <{id}>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nThe mail system could not deliver.\r\n--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.vn\r\n\r\nFinal-Recipient: rfc822; {recipient}\r\nAction: failed\r\nStatus: {status}\r\n{returned}--B--\r\n"
    )
}

#[apply(case!)]
async fn only_a_report_about_a_message_we_sent_marks_an_address_failing() {
    for app in apps().await {
        let Some(sink) = SmtpSink::start() else {
            return;
        };
        let key = gateway_key(&app).await;
        let office = sign_in_as(&app, "kiemsoat.b", Role::ControlOffice, "48.VP").await;
        // A citizen whose mail lacks an address: the office asks for it.
        let r = push(
            &app,
            &key,
            &citizen_mail(
                "victim-1@example.vn",
                "victim@example.vn",
                "Thủ tục",
                "Bộ phận một cửa của phường đóng cửa sớm hơn giờ niêm yết, người dân phải quay lại nhiều lần.",
            ),
        )
        .await;
        let code = r.body["tracking_code"].as_str().unwrap().to_string();
        assert_eq!(
            current(&app, &office, &code).await["state"],
            "awaiting_information"
        );

        // Forged: a report naming the citizen, about nothing we sent.
        let r = push(
            &app,
            &key,
            &dsn(
                "forged-1@mx.example.vn",
                "phananh@danang.gov.vn",
                "victim@example.vn",
                "5.1.1",
                Some("<made-up-1@danang.gov.vn>"),
            ),
        )
        .await;
        assert_eq!(r.body["outcome"], "bounce", "{}", r.body);
        assert_eq!(r.body["matched_by"], Value::Null);
        assert_eq!(r.body["tracking_code"], Value::Null);
        let item = current(&app, &office, &code).await;
        assert_eq!(item["mail_failure"], Value::Null, "[{}]", app.backend);

        // The acknowledgement and the request reach the citizen, with the
        // notice's own return path (VERP).
        let report = deliver(&app, &sink).await;
        assert_eq!((report.sent, report.skipped), (2, 0), "{report:?}");
        let request = sink
            .wait_for(|m| {
                m.contains("To: victim@example.vn")
                    && header(m, "Auto-Submitted").as_deref() == Some("auto-generated")
            })
            .await;
        let our_id = header(&request, "Message-ID").unwrap();
        let notice: uuid::Uuid = our_id
            .trim_matches(['<', '>'])
            .strip_prefix("pakn.")
            .and_then(|s| s.split('@').next())
            .unwrap()
            .parse()
            .unwrap();
        let addressing = reply_addressing(&app.store, &app.settings, Utc::now())
            .await
            .unwrap();
        let return_path = addressing.bounce_address_for(notice).unwrap();
        assert_eq!(
            header(&request, "X-MailFrom").as_deref(),
            Some(return_path.as_str()),
            "the envelope sender names the notice"
        );
        assert_eq!(
            header(&request, "From").map(|f| f.contains("phananh@danang.gov.vn")),
            Some(true)
        );

        // Our real Message-ID, but about somebody else: still nothing.
        let r = push(
            &app,
            &key,
            &dsn(
                "forged-2@mx.example.vn",
                "phananh@danang.gov.vn",
                "someone.else@example.vn",
                "5.1.1",
                Some(&our_id),
            ),
        )
        .await;
        assert_eq!(r.body["matched_by"], Value::Null, "{}", r.body);
        // A temporary failure about our message never blocks the address.
        let r = push(
            &app,
            &key,
            &dsn(
                "delay-1@mx.example.vn",
                "phananh@danang.gov.vn",
                "victim@example.vn",
                "4.2.2",
                Some(&our_id),
            ),
        )
        .await;
        assert_eq!(r.body["matched_by"], "message_id", "{}", r.body);
        assert_eq!(
            current(&app, &office, &code).await["mail_failure"],
            Value::Null
        );

        // A genuine permanent failure, delivered to the return path without
        // any returned headers: the address fails, for a while, visibly.
        let r = push(
            &app,
            &key,
            &dsn(
                "real-1@mx.example.vn",
                &return_path,
                "victim@example.vn",
                "5.1.1",
                None,
            ),
        )
        .await;
        assert_eq!(r.body["matched_by"], "return_path", "{}", r.body);
        assert_eq!(r.body["tracking_code"], code.as_str());
        let item = current(&app, &office, &code).await;
        let failure = &item["mail_failure"];
        assert!(failure.is_object(), "[{}] {item}", app.backend);
        let blocked_until =
            chrono::DateTime::parse_from_rfc3339(failure["blocked_until"].as_str().unwrap())
                .unwrap();
        let days = (blocked_until.with_timezone(&Utc) - Utc::now()).num_days();
        assert!(
            (29..=30).contains(&days),
            "blocked for bounce_block_days: {days}"
        );

        // The next notice to the citizen is skipped, and says why.
        let note = crate::workflow::act(
            &app,
            &office,
            &code,
            "reject",
            json!({"version": item["version"], "reason_code": "R08"}),
        )
        .await;
        assert_eq!(note.status, StatusCode::OK, "{}", note.body);
        let report = deliver(&app, &sink).await;
        assert_eq!((report.sent, report.skipped), (0, 1), "{report:?}");
        let messages = app.staff_get(&office, &code, "/messages").await;
        let out: Vec<&Value> = messages.body["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["direction"] == "out")
            .collect();
        assert!(out.iter().any(|m| m["delivery"] == "bounced"), "{out:?}");
        let skipped = out.iter().find(|m| m["delivery"] == "skipped").unwrap();
        assert!(skipped["error"].as_str().unwrap().contains("bounced"));

        // Staff clear it: the skipped notice goes out after all.
        let cleared = app
            .send(
                Method::DELETE,
                "/api/v1/staff/feedback/{tracking_code}/mail-failure",
                &format!("/api/v1/staff/feedback/{code}/mail-failure"),
                |r| r.bearer_auth(&office),
            )
            .await;
        assert_eq!(cleared.status, StatusCode::OK, "{}", cleared.body);
        assert_eq!(cleared.body["mail_failure"], Value::Null);
        assert!(
            cleared.body["history"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["action"] == "feedback.mail_failure_cleared"
                    && e["actor"] == "kiemsoat.b")
        );
        let report = deliver(&app, &sink).await;
        assert_eq!((report.sent, report.skipped), (1, 0), "{report:?}");
        // Nothing left to clear.
        let again = app
            .send(
                Method::DELETE,
                "/api/v1/staff/feedback/{tracking_code}/mail-failure",
                &format!("/api/v1/staff/feedback/{code}/mail-failure"),
                |r| r.bearer_auth(&office),
            )
            .await;
        assert_eq!(again.status, StatusCode::NOT_FOUND);
    }
}

#[apply(case!)]
async fn reply_to_never_speaks_for_the_submitter() {
    for app in apps().await {
        let key = gateway_key(&app).await;
        let office = sign_in_as(&app, "kiemsoat.r", Role::ControlOffice, "48.VP").await;
        // A new item's submitter is who wrote it, not whom they name.
        let r = push(
            &app,
            &key,
            &format!(
                "From: writer@example.vn\r\nReply-To: victim@example.vn\r\nTo: phananh@danang.gov.vn\r\nSubject: Thủ tục\r\nMessage-ID: <rt-1@example.vn>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{COMPLETE_BODY}"
            ),
        )
        .await;
        let code = r.body["tracking_code"].as_str().unwrap().to_string();
        assert_eq!(
            current(&app, &office, &code).await["submitter"]["email"],
            "writer@example.vn"
        );

        // An item waiting for its submitter (no address given).
        let r = push(
            &app,
            &key,
            &citizen_mail(
                "rt-2@example.vn",
                "an@example.vn",
                "Giờ làm việc",
                "Bộ phận một cửa của phường đóng cửa sớm hơn giờ niêm yết, người dân phải quay lại nhiều lần.",
            ),
        )
        .await;
        let waiting = r.body["tracking_code"].as_str().unwrap().to_string();
        let addressing = reply_addressing(&app.store, &app.settings, Utc::now())
            .await
            .unwrap();
        let signed = addressing.address_for(&waiting.parse().unwrap());
        // A stranger writes to the signed address and to the subject code,
        // claiming the submitter in Reply-To: logged for staff only.
        for (i, to, subject) in [
            (3, signed.as_str(), "Re: bổ sung".to_string()),
            (4, "phananh@danang.gov.vn", format!("Bổ sung {waiting}")),
        ] {
            let r = push(
                &app,
                &key,
                &format!(
                    "From: stranger@example.vn\r\nReply-To: an@example.vn\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <rt-{i}@example.vn>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nĐịa chỉ: 1 Giả Mạo, phường Hải Châu\r\n"
                ),
            )
            .await;
            if i == 3 {
                assert_eq!(r.body["outcome"], "reply", "{}", r.body);
                assert_eq!(r.body["tracking_code"], waiting.as_str());
            } else {
                assert_ne!(r.body["tracking_code"], waiting.as_str(), "{}", r.body);
            }
            let item = current(&app, &office, &waiting).await;
            assert_eq!(
                item["state"], "awaiting_information",
                "[{}] the clock did not resume: {item}",
                app.backend
            );
            assert_eq!(item["supplements"], json!([]));
        }
    }
}

#[apply(case!)]
async fn headers_taken_from_strangers_are_checked_before_we_send_them() {
    for app in apps().await {
        let Some(sink) = SmtpSink::start() else {
            return;
        };
        let key = gateway_key(&app).await;
        let long = format!("{}@example.vn", "x".repeat(400));
        let r = push(
            &app,
            &key,
            &format!(
                "From: an@example.vn\r\nTo: phananh@danang.gov.vn\r\nSubject: Thủ tục\r\nMessage-ID: <{long}>\r\nReferences: <bad id@x> <ok-0@example.vn> <{long}>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{COMPLETE_BODY}"
            ),
        )
        .await;
        assert_eq!(r.body["outcome"], "new_item", "{}", r.body);
        let code = r.body["tracking_code"].as_str().unwrap().to_string();
        // Its own answer threads to something valid, or to nothing.
        let r2 = push(
            &app,
            &key,
            &format!(
                "From: an@example.vn\r\nTo: phananh@danang.gov.vn\r\nSubject: Bổ sung {code}\r\nMessage-ID: <ok-1@example.vn>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nBổ sung số hồ sơ.\r\n"
            ),
        )
        .await;
        assert_eq!(r2.body["outcome"], "reply");
        let office = sign_in_as(&app, "kiemsoat.h", Role::ControlOffice, "48.VP").await;
        let item = current(&app, &office, &code).await;
        crate::workflow::act(
            &app,
            &office,
            &code,
            "request-info",
            json!({"version": item["version"], "message": "Đề nghị cung cấp số hồ sơ."}),
        )
        .await;
        deliver(&app, &sink).await;
        let sent: Vec<String> = sink
            .messages()
            .iter()
            .map(|m| String::from_utf8_lossy(m).into_owned())
            .filter(|m| m.contains(&code) && m.contains("To: an@example.vn"))
            .collect();
        assert!(!sent.is_empty());
        for m in &sent {
            for line in m.lines() {
                assert!(line.len() <= 998, "a header line of {} bytes", line.len());
            }
            for h in ["In-Reply-To", "References"] {
                if let Some(v) = header(m, h) {
                    assert!(!v.contains("xxxx") && !v.contains("bad id"), "{h}: {v}");
                }
            }
            assert_eq!(
                header(m, "In-Reply-To").as_deref(),
                Some("<ok-1@example.vn>")
            );
        }
    }
}

#[apply(case!)]
async fn acknowledgements_to_one_address_are_limited_on_every_channel() {
    for app in apps().await {
        // The web form, three times with a victim's address.
        for i in 0..3 {
            let mut s = crate::helpers::valid_submission();
            s["submitter"]["email"] = json!("target@example.vn");
            s["title"] = json!(format!("Thủ tục số {i}"));
            assert_eq!(app.post_feedback(&s).await.status, StatusCode::CREATED);
        }
        let report = deliver_to_files(&app).await;
        assert_eq!(
            (report.sent, report.skipped),
            (1, 2),
            "[{}] {report:?}",
            app.backend
        );
        // And by e-mail afterwards: the window holds across channels.
        let key = gateway_key(&app).await;
        push(
            &app,
            &key,
            &citizen_mail(
                "ack-x@example.vn",
                "target@example.vn",
                "Thủ tục",
                COMPLETE_BODY,
            ),
        )
        .await;
        let report = deliver_to_files(&app).await;
        assert_eq!((report.sent, report.skipped), (0, 1), "{report:?}");
    }
}
