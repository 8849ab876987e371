//! Polling a real IMAP server (Dovecot): mail dropped into the mailbox
//! becomes items, the acknowledgement goes out through a real SMTP sink,
//! the reply comes back through the mailbox onto the same item; robots
//! and bounces create nothing; two instances and a killed process neither
//! lose nor double a message.

use crate::case;
use macro_rules_attribute::apply;

use std::process::Command;

use chrono::Utc;
use pakn::config::{MailSecurity, Settings};
use pakn::services::imap::{ImapPoller, PollReport};
use pakn::services::mail_intake::{MailIntake, reply_addressing};
use reqwest::StatusCode;

use crate::auth::sign_in_as;
use crate::helpers::{TestApp, apps};
use crate::mail::{citizen_mail, deliver, header};
use crate::mail_servers::{Imap, SmtpSink};

/// A complete citizen mail body (name and address given).
pub const BODY: &str = "Thủ tục đăng ký hộ kinh doanh tại phường đòi nộp lại giấy tờ đã có trên cơ sở dữ liệu quốc gia.\n\nHọ và tên: Lê Thị Hoa\nĐịa chỉ: 3 Hùng Vương, phường Hải Châu, TP Đà Nẵng\n";

fn imap_settings(app: &TestApp, imap: &Imap) -> Settings {
    let mut s = app.settings.clone();
    s.mail.imap.host = "127.0.0.1".into();
    s.mail.imap.port = imap.port;
    s.mail.imap.security = MailSecurity::Plain;
    s.mail.imap.username = imap.user.into();
    s.mail.imap.password = imap.password.to_string().into();
    s.mail.imap.timeout_seconds = 20;
    s
}

async fn poll(app: &TestApp, settings: &Settings, holder: &str) -> PollReport {
    let addressing = reply_addressing(&app.store, settings, Utc::now())
        .await
        .unwrap();
    let reasons = settings.rejection_reasons().unwrap();
    ImapPoller {
        intake: MailIntake {
            store: &app.store,
            settings,
            deadlines: &app.deadlines,
            reasons: &reasons,
            addressing: &addressing,
        },
        imap: &settings.mail.imap,
        holder,
    }
    .poll_once()
    .await
    .expect("poll")
}

fn corpus(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/data/mail/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

#[apply(case!)]
async fn mail_in_the_mailbox_becomes_an_item_and_the_reply_comes_back_to_it() {
    for app in apps().await {
        let Some(imap) = Imap::start() else { return };
        let Some(sink) = SmtpSink::start() else {
            return;
        };
        let settings = imap_settings(&app, &imap);
        imap.deliver(
            citizen_mail(
                "imap-1@example.vn",
                "hoa@example.vn",
                "Đăng ký hộ kinh doanh",
                BODY,
            )
            .as_bytes(),
        );
        imap.deliver(&corpus("auto_reply.eml"));
        imap.deliver(&corpus("bounce_dsn.eml"));
        imap.deliver(&corpus("windows1258_nfd.eml"));
        let report = poll(&app, &settings, "one").await;
        assert_eq!((report.fetched, report.stored), (4, 4), "{report:?}");
        // The auto-reply and the bounce made no item.
        assert_eq!(app.store.count_feedback().await.unwrap(), 2);
        // Everything fetched is flagged \Seen in the mailbox.
        let cur = std::fs::read_dir(imap.root().join("mail/intake/cur"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect::<Vec<_>>();
        assert_eq!(cur.len(), 4, "{cur:?}");
        assert!(
            cur.iter().all(|n| n.contains(":2,") && n.ends_with('S')),
            "{cur:?}"
        );

        // The acknowledgement goes out; the citizen's reply comes back in
        // through the mailbox and lands on the same item.
        deliver(&app, &sink).await;
        let ack = sink.wait_for(|m| m.contains("To: hoa@example.vn")).await;
        let our_id = header(&ack, "Message-ID").unwrap();
        let code = header(&ack, "Reply-To")
            .and_then(|r| r.split('+').nth(1).map(|s| s[..21].to_string()))
            .unwrap();
        imap.deliver(
            format!(
                "From: hoa@example.vn\r\nTo: phananh@danang.gov.vn\r\nSubject: Re: ok\r\nMessage-ID: <imap-2@example.vn>\r\nIn-Reply-To: {our_id}\r\nReferences: <imap-1@example.vn> {our_id}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nCảm ơn, tôi bổ sung số biên nhận 42.\r\n"
            )
            .as_bytes(),
        );
        let report = poll(&app, &settings, "one").await;
        assert_eq!((report.fetched, report.stored), (1, 1), "{report:?}");
        assert_eq!(app.store.count_feedback().await.unwrap(), 2);
        let office = sign_in_as(
            &app,
            "kiemsoat.i",
            pakn::domain::staff::Role::ControlOffice,
            "48.VP",
        )
        .await;
        let messages = app.staff_get(&office, &code, "/messages").await;
        assert_eq!(messages.status, StatusCode::OK);
        let inbound: Vec<_> = messages.body["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["direction"] == "in")
            .collect();
        assert_eq!(inbound.len(), 2, "{}", messages.body);
        assert_eq!(inbound[1]["matched_by"], "in_reply_to");

        // Nothing new: nothing fetched.
        let report = poll(&app, &settings, "one").await;
        assert_eq!(report.fetched, 0, "{report:?}");
    }
}

#[apply(case!)]
async fn two_instances_polling_one_mailbox_store_each_message_once() {
    for app in apps().await {
        let Some(imap) = Imap::start() else { return };
        let settings = imap_settings(&app, &imap);
        for i in 0..6 {
            imap.deliver(
                citizen_mail(
                    &format!("multi-{i}@example.vn"),
                    &format!("dan{i}@example.vn"),
                    &format!("Thủ tục số {i}"),
                    BODY,
                )
                .as_bytes(),
            );
        }
        let (a, b) = tokio::join!(poll(&app, &settings, "a"), poll(&app, &settings, "b"));
        assert_eq!(a.stored + b.stored, 6, "{a:?} {b:?}");
        assert!(a.leased_elsewhere || b.leased_elsewhere || a.stored == 0 || b.stored == 0);
        assert_eq!(app.store.count_feedback().await.unwrap(), 6);
    }
}

/// `pakn poll-imap` as a separate process on the app's database.
fn poll_process(app: &TestApp, imap: &Imap, failpoint: Option<&str>) -> std::process::ExitStatus {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pakn"));
    cmd.arg("poll-imap")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("PAKN__DATABASE__URL", &app.database_url)
        .env("PAKN__LOG__LEVEL", "error")
        .env("PAKN__MAIL__IMAP__HOST", "127.0.0.1")
        .env("PAKN__MAIL__IMAP__PORT", imap.port.to_string())
        .env("PAKN__MAIL__IMAP__SECURITY", "plain")
        .env("PAKN__MAIL__IMAP__USERNAME", imap.user)
        .env("PAKN__MAIL__IMAP__PASSWORD", imap.password)
        .env("PAKN__MAIL__OUTBOUND__TRANSPORT", "off")
        .env_remove("PAKN_FAILPOINT")
        .stdout(std::process::Stdio::null());
    if let Some(f) = failpoint {
        cmd.env("PAKN_FAILPOINT", f);
    }
    cmd.status().expect("pakn runs")
}

async fn expire_leases(app: &TestApp) {
    use sea_orm::ConnectionTrait;
    app.store
        .connection()
        .execute_unprepared("UPDATE service_lease SET expires_at = '2000-01-01 00:00:00+00:00'")
        .await
        .unwrap();
}

#[apply(case!)]
async fn killing_the_poller_between_fetch_and_commit_loses_and_doubles_nothing() {
    for app in apps().await {
        let Some(imap) = Imap::start() else { return };
        imap.deliver(
            citizen_mail(
                "crash-1@example.vn",
                "hoa@example.vn",
                "Đăng ký hộ kinh doanh",
                BODY,
            )
            .as_bytes(),
        );
        // Killed after fetching, before storing: nothing stored.
        let status = poll_process(&app, &imap, Some("imap_after_fetch"));
        assert!(!status.success(), "the failpoint aborts");
        assert_eq!(app.store.count_feedback().await.unwrap(), 0);
        // The dead process's lease on the mailbox runs out (here: now).
        expire_leases(&app).await;
        // Killed after storing, before marking the message: stored once.
        let status = poll_process(&app, &imap, Some("imap_after_commit"));
        assert!(!status.success());
        assert_eq!(app.store.count_feedback().await.unwrap(), 1);
        expire_leases(&app).await;
        // The next run sees the message again, recognises it, marks it.
        assert!(poll_process(&app, &imap, None).success());
        assert_eq!(app.store.count_feedback().await.unwrap(), 1);
        let (log, _) = app
            .store
            .inbound_mail_log(&pakn::store::mail::InboundMailFilter {
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(log.len(), 1, "one log entry for one message");
        assert_eq!(
            app.store.imap_position("INBOX").await.unwrap().map(|p| p.1),
            Some(1)
        );
    }
}
