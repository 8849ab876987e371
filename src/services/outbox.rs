//! Delivering the outbox: every queued notice becomes one
//! e-mail, sent by one instance at a time, retried with exponential
//! back-off, and marked failed for an operator after the last attempt.
//! Each message has its own Message-ID (replies thread back to the item),
//! `In-Reply-To`/`References` to the citizen's own mail, the item's signed
//! reply address, a plain-text and an HTML part, and RFC 3834's
//! `Auto-Submitted` so other robots do not answer it.

use std::time::Duration;

use chrono::{DateTime, Utc};
use lettre::message::header::{ContentType, Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;
use serde::Serialize;

use crate::config::{MailSecurity, MailTransport, Settings};
use crate::domain::mail::is_machine_address;
use crate::domain::mail::is_valid_message_id;
use crate::domain::notice_templates::{Rendered, render};
use crate::domain::reply_address::ReplyAddressing;
use crate::domain::tracking::TrackingCode;
use crate::store::mail::{ClaimedNotice, DeliveryResult, SKIPPED_ADDRESS_FAILING};
use crate::store::{Store, StoreError};

/// How the outbox sends.
pub enum Mailer {
    File(AsyncFileTransport<Tokio1Executor>),
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Off,
}

impl Mailer {
    pub fn from_settings(settings: &Settings) -> Result<Self, String> {
        let out = &settings.mail.outbound;
        match out.transport {
            MailTransport::Off => Ok(Mailer::Off),
            MailTransport::File => {
                std::fs::create_dir_all(&out.file_dir).map_err(|e| {
                    format!("mail.outbound.file_dir {}: {e}", out.file_dir.display())
                })?;
                Ok(Mailer::File(AsyncFileTransport::new(&out.file_dir)))
            }
            MailTransport::Smtp => {
                let host = out.smtp_host.as_str();
                let mut builder = match out.smtp_security {
                    MailSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host)
                        .map_err(|e| format!("mail.outbound: {e}"))?,
                    MailSecurity::Starttls => {
                        AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)
                            .map_err(|e| format!("mail.outbound: {e}"))?
                    }
                    MailSecurity::Plain => {
                        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host).tls(Tls::None)
                    }
                }
                .port(out.smtp_port)
                .timeout(Some(Duration::from_secs(out.send_timeout_seconds)));
                if out.smtp_security == MailSecurity::Starttls {
                    // Never fall back to plain text on a relay that stops
                    // offering STARTTLS.
                    let tls = TlsParameters::new(host.to_string())
                        .map_err(|e| format!("mail.outbound: {e}"))?;
                    builder = builder.tls(Tls::Required(tls));
                }
                if !out.smtp_username.is_empty() {
                    builder = builder.credentials(Credentials::new(
                        out.smtp_username.clone(),
                        out.smtp_password.expose_secret().to_string(),
                    ));
                }
                Ok(Mailer::Smtp(builder.build()))
            }
        }
    }

    async fn send(
        &self,
        envelope: &lettre::address::Envelope,
        message: Message,
        timeout: Duration,
    ) -> Result<(), SendError> {
        let raw = message.formatted();
        let result = match self {
            Mailer::Off => return Err(SendError::Transient("delivery is off".into())),
            Mailer::File(t) => tokio::time::timeout(timeout, t.send_raw(envelope, &raw))
                .await
                .map(|r| {
                    r.map(|_| ())
                        .map_err(|e| SendError::Transient(e.to_string()))
                }),
            Mailer::Smtp(t) => tokio::time::timeout(timeout, t.send_raw(envelope, &raw))
                .await
                .map(|r| {
                    r.map(|_| ()).map_err(|e| {
                        if e.is_permanent() {
                            SendError::Permanent(e.to_string())
                        } else {
                            SendError::Transient(smtp_hint(&e))
                        }
                    })
                }),
        };
        result.unwrap_or_else(|_| Err(SendError::Transient("timed out".into())))
    }
}

/// An operator-facing hint for the classic misconfiguration (lldap does
/// the same): implicit TLS against a STARTTLS port, or the reverse.
fn smtp_hint(e: &lettre::transport::smtp::Error) -> String {
    let text = e.to_string();
    if text.contains("corrupt") || text.contains("incomplete response") {
        format!("{text} (check mail.outbound.smtp_security: tls for port 465, starttls for 587)")
    } else {
        text
    }
}

#[derive(Debug)]
enum SendError {
    Transient(String),
    Permanent(String),
}

/// RFC 3834 `Auto-Submitted`.
#[derive(Debug, Clone)]
struct AutoSubmitted(&'static str);

impl Header for AutoSubmitted {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Auto-Submitted")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(match s.trim() {
            "auto-replied" => AutoSubmitted("auto-replied"),
            _ => AutoSubmitted("auto-generated"),
        })
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.to_string())
    }
}

/// Outlook's equivalent: do not send an out-of-office reply to this.
#[derive(Debug, Clone)]
struct SuppressAutoReply;

impl Header for SuppressAutoReply {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("X-Auto-Response-Suppress")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(SuppressAutoReply)
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "All".into())
    }
}

/// What one delivery pass did.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct DeliveryReport {
    pub sent: usize,
    pub skipped: usize,
    pub retried: usize,
    pub failed: usize,
}

/// Acknowledgements: at most one per sender per window.
const ACKNOWLEDGEMENTS: [&str; 2] = ["citizen_acknowledgement", "citizen_email_acknowledgement"];

/// The longest wait between two attempts.
const MAX_BACKOFF_SECONDS: u64 = 6 * 3600;

/// Delivers queued notices.
pub struct Outbox<'a> {
    pub store: &'a Store,
    pub settings: &'a Settings,
    pub mailer: &'a Mailer,
    pub addressing: &'a ReplyAddressing,
    /// This instance's name in claims.
    pub holder: &'a str,
}

impl Outbox<'_> {
    /// The notice's payload with what is read only when it is sent: the
    /// answer itself (the item holds it; the outbox keeps no copy), the
    /// lookup page's address, a recovery link's secret (computed, never
    /// stored).
    async fn payload_for(&self, c: &ClaimedNotice) -> Result<serde_json::Value, StoreError> {
        let n = &c.notice;
        let mut payload = n.payload.clone();
        match n.kind.as_str() {
            "citizen_answered" => {
                let Some(item) = &c.item else {
                    return Ok(payload);
                };
                payload["lookup_url"] = lookup_url(self.settings, &item.tracking_code).into();
                if self.settings.mail.answer_text_in_mail {
                    // A merged item's answer is its primary's.
                    let answer = match payload
                        .get("answered_in")
                        .and_then(serde_json::Value::as_str)
                        .and_then(|c| c.parse::<crate::domain::tracking::TrackingCode>().ok())
                    {
                        Some(primary) => self
                            .store
                            .find_feedback_by_code(&primary)
                            .await?
                            .and_then(|p| p.item.answer),
                        None => item.answer.clone(),
                    };
                    if let Some(answer) = answer.filter(|a| !a.trim().is_empty()) {
                        payload["answer"] = answer.into();
                    }
                }
            }
            "citizen_token_recovery" | "citizen_token_issue" => {
                if let Some(link) = payload
                    .get("recovery_id")
                    .and_then(serde_json::Value::as_str)
                    .and_then(|s| uuid::Uuid::parse_str(s).ok())
                {
                    payload["link"] = format!(
                        "{}/tra-cuu/khoi-phuc?khoa={}",
                        self.settings.server.public_base_url.trim_end_matches('/'),
                        self.addressing.recovery_secret(link)
                    )
                    .into();
                }
            }
            _ => {}
        }
        Ok(payload)
    }

    /// One pass: claims up to `batch_size` due notices and tries each once.
    pub async fn deliver_once(&self, now: DateTime<Utc>) -> Result<DeliveryReport, StoreError> {
        let out = &self.settings.mail.outbound;
        if matches!(self.mailer, Mailer::Off) {
            return Ok(DeliveryReport::default());
        }
        // A claim outlives one send's timeout per notice in the batch.
        let lease = chrono::Duration::seconds(
            i64::try_from(out.send_timeout_seconds * out.batch_size + 60).unwrap_or(3600),
        );
        let claimed = self
            .store
            .claim_notices(self.holder, out.batch_size, now + lease, now)
            .await?;
        let mut report = DeliveryReport::default();
        for c in claimed {
            let result = self.attempt(&c).await?;
            match &result {
                DeliveryResult::Sent { .. } => report.sent += 1,
                DeliveryResult::Skipped { .. } => report.skipped += 1,
                DeliveryResult::Retry { .. } => report.retried += 1,
                DeliveryResult::Failed { .. } => report.failed += 1,
            }
            if let DeliveryResult::Failed { error, .. } | DeliveryResult::Retry { error, .. } =
                &result
            {
                tracing::warn!(notice = %c.notice.id, kind = %c.notice.kind, attempts = c.notice.attempts, %error, "notice not delivered");
            }
            if !self
                .store
                .finish_delivery(c.notice.id, self.holder, &result, Utc::now())
                .await?
            {
                tracing::warn!(notice = %c.notice.id, "claim lost before the result was recorded");
            }
        }
        Ok(report)
    }

    async fn attempt(&self, c: &ClaimedNotice) -> Result<DeliveryResult, StoreError> {
        let n = &c.notice;
        let skip = |reason: &str| {
            Ok(DeliveryResult::Skipped {
                reason: reason.into(),
            })
        };
        let to_submitter = n.audience == "submitter";
        let recipient = match n.audience.as_str() {
            "submitter" => c.item.as_ref().and_then(|i| i.email.clone()),
            "staff" => c.staff_email.clone(),
            _ => c.agency_email.clone(),
        };
        let Some(recipient) = recipient.map(|r| r.trim().to_lowercase()) else {
            return skip(match n.audience.as_str() {
                "submitter" => {
                    "no e-mail address (the submitter follows the item by lookup or phone)"
                }
                "staff" => {
                    "the staff member has no e-mail address, is disabled or turned the digest off"
                }
                _ => "the agency has no e-mail address in the directory",
            });
        };
        // Never answer a robot (a loop through two autoresponders), and
        // never keep writing to an address that bounces.
        if is_machine_address(&recipient) {
            return skip("automatic address");
        }
        let block = chrono::Duration::days(i64::from(self.settings.mail.bounce_block_days));
        if self
            .store
            .address_failure(&recipient, block, Utc::now())
            .await?
            .is_some()
        {
            return skip(SKIPPED_ADDRESS_FAILING);
        }
        // Whatever the channel: nobody can make us mail a victim again and
        // again by submitting with their address.
        let window =
            chrono::Duration::minutes(i64::from(self.settings.mail.acknowledgement_window_minutes));
        if ACKNOWLEDGEMENTS.contains(&n.kind.as_str())
            && self
                .store
                .sent_recently(&recipient, &ACKNOWLEDGEMENTS, Utc::now() - window)
                .await?
        {
            return skip("one acknowledgement per sender per window");
        }
        let payload = self.payload_for(c).await?;
        let Some(rendered) = render(&n.kind, &payload, &self.settings.office()) else {
            return Ok(DeliveryResult::Failed {
                error: format!("no template for {}", n.kind),
                recipient: Some(recipient),
            });
        };
        let references = match (&c.item, to_submitter) {
            (Some(item), true) if item.channel == "email" => {
                self.store.submitter_message_ids(item.id).await?
            }
            _ => Vec::new(),
        };
        let message_id = self.message_id(n.id);
        let built = self.build(c, &recipient, &rendered, &message_id, &references);
        let (envelope, message) = match built {
            Ok(m) => m,
            Err(e) => {
                return Ok(DeliveryResult::Failed {
                    error: e,
                    recipient: Some(recipient),
                });
            }
        };
        let timeout = Duration::from_secs(self.settings.mail.outbound.send_timeout_seconds);
        Ok(match self.mailer.send(&envelope, message, timeout).await {
            Ok(()) => {
                tracing::info!(notice = %n.id, kind = %n.kind, "notice delivered");
                DeliveryResult::Sent {
                    message_id,
                    recipient,
                }
            }
            Err(SendError::Permanent(error)) => DeliveryResult::Failed {
                error,
                recipient: Some(recipient),
            },
            Err(SendError::Transient(error)) => {
                let out = &self.settings.mail.outbound;
                let attempts = u32::try_from(n.attempts.max(1)).unwrap_or(1);
                if attempts >= out.max_attempts {
                    DeliveryResult::Failed {
                        error: format!("{error} (after {attempts} attempts)"),
                        recipient: Some(recipient),
                    }
                } else {
                    let wait = out
                        .retry_base_seconds
                        .saturating_mul(1u64 << (attempts - 1).min(20))
                        .min(MAX_BACKOFF_SECONDS);
                    DeliveryResult::Retry {
                        error,
                        at: Utc::now()
                            + chrono::Duration::seconds(i64::try_from(wait).unwrap_or(3600)),
                    }
                }
            }
        })
    }

    /// Our Message-ID for a notice: the same on every attempt, so a
    /// message sent twice (a crash after the relay took it) is one message
    /// to the recipient's client.
    fn message_id(&self, notice: uuid::Uuid) -> String {
        let domain = self
            .settings
            .mail
            .published_address
            .rsplit_once('@')
            .map_or("pakn.invalid", |(_, d)| d);
        format!("pakn.{notice}@{domain}")
    }

    /// The message, and its envelope: the return path names the notice
    /// (VERP), so a delivery report can be matched to what we sent.
    fn build(
        &self,
        c: &ClaimedNotice,
        recipient: &str,
        rendered: &Rendered,
        message_id: &str,
        references: &[String],
    ) -> Result<(lettre::address::Envelope, Message), String> {
        let mail = &self.settings.mail;
        let published: lettre::Address = mail
            .published_address
            .parse()
            .map_err(|e| format!("mail.published_address: {e}"))?;
        let from = Mailbox::new(Some(mail.from_name.clone()), published.clone());
        let to: Mailbox = recipient
            .parse()
            .map_err(|e| format!("recipient address unusable: {e}"))?;
        let return_path = self
            .addressing
            .bounce_address_for(c.notice.id)
            .and_then(|a| a.parse::<lettre::Address>().ok())
            .unwrap_or(published);
        let envelope = lettre::address::Envelope::new(Some(return_path), vec![to.email.clone()])
            .map_err(|e| format!("envelope: {e}"))?;
        let mut builder = Message::builder()
            .from(from)
            .to(to)
            .subject(rendered.subject.clone())
            .message_id(Some(format!("<{message_id}>")))
            .date_now()
            .header(AutoSubmitted(
                if ACKNOWLEDGEMENTS.contains(&c.notice.kind.as_str()) {
                    "auto-replied"
                } else {
                    "auto-generated"
                },
            ))
            .header(SuppressAutoReply);
        // Replies from the submitter find the item by this address even
        // when their client drops In-Reply-To.
        if c.notice.audience == "submitter"
            && let Some(code) = c
                .notice
                .payload
                .get("tracking_code")
                .and_then(|v| v.as_str())
                .and_then(|v| v.parse::<TrackingCode>().ok())
            && let Ok(reply_to) = self
                .addressing
                .address_for(&code)
                .parse::<lettre::Address>()
        {
            builder = builder.reply_to(Mailbox::new(Some(mail.from_name.clone()), reply_to));
        }
        let references = thread_references(references);
        if let Some(last) = references.last() {
            builder = builder.in_reply_to(format!("<{last}>"));
            let all: Vec<String> = references.iter().map(|r| format!("<{r}>")).collect();
            builder = builder.references(all.join(" "));
        }
        let body = with_footer(rendered, self.settings);
        let message = builder
            .multipart(
                MultiPart::alternative()
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_PLAIN)
                            .body(body.clone()),
                    )
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_HTML)
                            .body(html_body(&rendered.subject, &body)),
                    ),
            )
            .map_err(|e| format!("message could not be built: {e}"))?;
        Ok((envelope, message))
    }
}

/// The longest header line RFC 5322 §2.1.1 allows.
const MAX_HEADER_LINE: usize = 998;

/// The Message-IDs our `References` carry: only valid ones (old log rows
/// predate the check), the thread's first and as many of the newest as
/// fit on one header line (RFC 5322 §3.6.4 trims the middle).
fn thread_references(ids: &[String]) -> Vec<&str> {
    let valid: Vec<&str> = ids
        .iter()
        .map(String::as_str)
        .filter(|id| is_valid_message_id(id))
        .collect();
    let Some((first, rest)) = valid.split_first() else {
        return Vec::new();
    };
    // "References: <first>" and " <id>" for each further one.
    let mut used = "References: ".len() + first.len() + 2;
    let mut newest: Vec<&str> = Vec::new();
    for id in rest.iter().rev() {
        if used + id.len() + 3 > MAX_HEADER_LINE {
            break;
        }
        used += id.len() + 3;
        newest.push(id);
    }
    newest.reverse();
    let mut out = vec![*first];
    out.extend(newest);
    out
}

/// The lookup page for `code` (the token is never in a link).
pub fn lookup_url(settings: &Settings, code: &str) -> String {
    format!(
        "{}/tra-cuu?ma={code}",
        settings.server.public_base_url.trim_end_matches('/')
    )
}

/// The plain text with the sender's signature and how to reach the office.
fn with_footer(rendered: &Rendered, settings: &Settings) -> String {
    let office = settings.office();
    let mut footer = format!(
        "{}\n{}",
        settings.mail.from_name,
        settings.server.public_base_url.trim_end_matches('/')
    );
    if !office.hotline.is_empty() {
        footer.push_str(&format!("\nĐường dây nóng: {}", office.hotline));
    }
    format!("{}\n\n--\n{footer}", rendered.body)
}

/// The HTML part: the same text, escaped, one paragraph per block, in
/// Vietnamese (`lang="vi"`) so screen readers pronounce it right.
fn html_body(subject: &str, text: &str) -> String {
    let paragraphs: Vec<String> = text
        .split("\n\n")
        .map(|p| format!("<p>{}</p>", escape(p).replace('\n', "<br>\n")))
        .collect();
    format!(
        "<!DOCTYPE html>\n<html lang=\"vi\"><head><meta charset=\"utf-8\"><title>{}</title></head>\n<body style=\"font-family: Arial, sans-serif; font-size: 15px; line-height: 1.5; color: #1a1a1a\">\n{}\n</body></html>\n",
        escape(subject),
        paragraphs.join("\n")
    )
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_hold_only_valid_ids_on_one_header_line() {
        let long = |i: usize| format!("{i}.{}@example.vn", "x".repeat(200));
        let mut ids: Vec<String> = (0..10).map(long).collect();
        ids.insert(3, "not an id".into());
        let kept = thread_references(&ids);
        assert_eq!(kept.first().copied(), Some(ids[0].as_str()));
        assert_eq!(kept.last().copied(), ids.last().map(String::as_str));
        assert!(!kept.contains(&"not an id"));
        let line = format!(
            "References: {}",
            kept.iter()
                .map(|k| format!("<{k}>"))
                .collect::<Vec<_>>()
                .join(" ")
        );
        assert!(line.len() <= MAX_HEADER_LINE, "{}", line.len());
        assert!(thread_references(&["bad".into()]).is_empty());
    }

    #[test]
    fn html_part_escapes_everything() {
        let html = html_body("<b>", "a <script>alert(1)</script> & \"b\"\n\nđoạn 2");
        assert!(!html.contains("<script>"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;b&quot;"));
        assert!(html.contains("<p>đoạn 2</p>"));
        assert!(html.contains("lang=\"vi\""));
    }
}
