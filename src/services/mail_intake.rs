//! Ingesting one inbound e-mail, whichever way it came (IMAP,
//! an MTA pipe, a gateway's POST): log it with its raw bytes as evidence,
//! and decide what it is: a new item, a reply to an item, an automatic
//! message or a bounce (logged, never answered), the same message again
//! (stored once), or unreadable (quarantined for staff). Never panics and
//! never stops the mailbox loop on a bad message; only an unavailable
//! database is an error (the caller retries).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::config::Settings;
use crate::domain::digest::sha256_hex;
use crate::domain::feedback::FeedbackState;
use crate::domain::ids::FeedbackId;
use crate::domain::mail::{self, InboundMessage, Unreadable};
use crate::domain::mail_intake::{self, Missing};
use crate::domain::rejection::RejectionReasons;
use crate::domain::reply_address::ReplyAddressing;
use crate::services::deadlines::DeadlineService;
use crate::services::intake::{self, IncomingAttachment, IntakeError, MailItem};
use crate::services::workflow::{Workflow, WorkflowError};
use crate::store::feedback::FeedbackRow;
use crate::store::mail::{NewInboundMail, is_same_message};
use crate::store::{Store, StoreError};

/// Where a message came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Imap,
    Pipe,
    Api,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Imap => "imap",
            Source::Pipe => "pipe",
            Source::Api => "api",
        }
    }
}

/// What became of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    NewItem,
    Reply,
    Automatic,
    Bounce,
    Quarantined,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::NewItem => "new_item",
            Outcome::Reply => "reply",
            Outcome::Automatic => "automatic",
            Outcome::Bounce => "bounce",
            Outcome::Quarantined => "quarantined",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "new_item" => Outcome::NewItem,
            "reply" => Outcome::Reply,
            "automatic" => Outcome::Automatic,
            "bounce" => Outcome::Bounce,
            _ => Outcome::Quarantined,
        }
    }
}

/// The result of ingesting one message.
#[derive(Debug, Clone)]
pub struct Ingested {
    pub inbound_mail_id: Uuid,
    pub outcome: Outcome,
    /// The message had been ingested before; nothing new was stored.
    pub duplicate: bool,
    pub tracking_code: Option<String>,
    pub matched_by: Option<&'static str>,
}

/// What ingestion needs.
pub struct MailIntake<'a> {
    pub store: &'a Store,
    pub settings: &'a Settings,
    pub deadlines: &'a DeadlineService,
    pub reasons: &'a RejectionReasons,
    pub addressing: &'a ReplyAddressing,
}

/// Message-IDs longer than this are keyed by their digest.
const MAX_KEY_CHARS: usize = 200;

fn ingest_key(message: Option<&InboundMessage>, sha256: &str) -> String {
    match message.and_then(|m| m.message_id.as_deref()) {
        Some(id) if id.len() <= MAX_KEY_CHARS => format!("mid:{id}"),
        Some(id) => format!("mid-sha256:{}", sha256_hex(id.as_bytes())),
        None => format!("sha256:{sha256}"),
    }
}

/// The log entry for `raw`, before its outcome is known.
fn log_entry(
    raw: &[u8],
    message: Option<&InboundMessage>,
    source: Source,
    now: DateTime<Utc>,
) -> NewInboundMail {
    let sha256 = sha256_hex(raw);
    NewInboundMail {
        id: Uuid::now_v7(),
        ingest_key: ingest_key(message, &sha256),
        message_id: message.and_then(|m| m.message_id.clone()),
        source: source.as_str().into(),
        received_at: now,
        from_address: message
            .and_then(|m| m.from.as_ref())
            .map(|m| m.address.chars().take(254).collect()),
        subject: message.map(|m| m.subject.chars().take(500).collect()),
        outcome: Outcome::Quarantined.as_str().into(),
        matched_by: None,
        feedback_item_id: None,
        note: None,
        raw_sha256: sha256,
        raw: raw.to_vec(),
    }
}

impl MailIntake<'_> {
    /// Ingests one raw RFC 5322 message.
    #[tracing::instrument(name = "Ingesting e-mail", skip_all, fields(source = source.as_str(), bytes = raw.len()))]
    pub async fn ingest(
        &self,
        raw: &[u8],
        source: Source,
        now: DateTime<Utc>,
    ) -> Result<Ingested, StoreError> {
        let parsed = mail::parse(raw);
        let message = parsed.as_ref().ok();
        let mut log = log_entry(raw, message, source, now);
        if let Some(existing) = self.store.inbound_mail_by_key(&log.ingest_key).await? {
            return self.duplicate(existing).await;
        }
        let message = match parsed {
            Ok(m) => m,
            Err(why) => {
                if why == Unreadable::TooLarge {
                    // Kept as evidence up to the limit only.
                    log.raw.truncate(mail::MAX_MESSAGE_BYTES);
                }
                log.note = Some(format!("Không đọc được thư: {}", unreadable_vi(why)));
                return self.log_only(log, Outcome::Quarantined, None).await;
            }
        };
        if let Some(bounce) = &message.bounce {
            return self.bounce(log, &message, bounce, now).await;
        }
        if let Some(why) = message.automatic {
            log.note = Some(format!("Thư tự động ({why:?}); không trả lời."));
            return self.log_only(log, Outcome::Automatic, None).await;
        }
        if let Some((item, matched_by)) = self.match_item(&message).await? {
            return self.reply(log, &message, item, matched_by, now).await;
        }
        self.new_item(log, &message, now).await
    }

    /// A delivery report. It is believed only about a message we sent
    /// (named by the return path it came back to, or by the Message-ID it
    /// quotes), and only for that message's recipient; anything else is
    /// logged as unmatched and changes nothing, so a stranger cannot make
    /// us stop writing to a citizen.
    async fn bounce(
        &self,
        mut log: NewInboundMail,
        message: &InboundMessage,
        bounce: &mail::Bounce,
        now: DateTime<Utc>,
    ) -> Result<Ingested, StoreError> {
        let by_return_path = message
            .recipients
            .iter()
            .find_map(|r| self.addressing.notice_in(r));
        let sent = self
            .store
            .reported_notice(by_return_path, bounce.original_message_id.as_deref())
            .await?;
        let about_its_recipient = sent
            .as_ref()
            .and_then(|n| n.recipient.as_deref())
            .is_some_and(|r| {
                bounce.recipients.is_empty()
                    || bounce.recipients.iter().any(|b| b.eq_ignore_ascii_case(r))
            });
        let Some(sent) = sent.filter(|_| about_its_recipient) else {
            tracing::info!("delivery report about no message we sent; ignored");
            log.note = Some(
                "Báo cáo gửi thư không khớp với thư nào hệ thống đã gửi tới địa chỉ đó; không thay đổi gì."
                    .into(),
            );
            return self.log_only(log, Outcome::Bounce, None).await;
        };
        let matched_by = if by_return_path == Some(sent.id) {
            "return_path"
        } else {
            "message_id"
        };
        self.store
            .record_bounce(&sent, bounce.permanent, now)
            .await?;
        log.feedback_item_id = sent.feedback_item_id;
        log.note = Some(if bounce.permanent {
            format!(
                "Thư báo không gửi được (lỗi vĩnh viễn); địa chỉ người nhận tạm ngừng nhận thư báo {} ngày hoặc đến khi cán bộ gỡ.",
                self.settings.mail.bounce_block_days
            )
        } else {
            "Thư báo gửi chậm hoặc lỗi tạm thời; địa chỉ vẫn nhận thư báo.".into()
        });
        self.log_only(log, Outcome::Bounce, Some(matched_by)).await
    }

    async fn code_of(&self, item: Option<Uuid>) -> Result<Option<String>, StoreError> {
        match item {
            Some(id) => self.store.tracking_code_of(id).await,
            None => Ok(None),
        }
    }

    async fn duplicate(
        &self,
        existing: crate::store::mail::InboundMailRow,
    ) -> Result<Ingested, StoreError> {
        tracing::info!(inbound_mail = %existing.id, "message already ingested; ignored");
        let tracking_code = self.code_of(existing.feedback_item_id).await?;
        Ok(Ingested {
            inbound_mail_id: existing.id,
            outcome: Outcome::parse(&existing.outcome),
            duplicate: true,
            tracking_code,
            matched_by: None,
        })
    }

    async fn log_only(
        &self,
        mut log: NewInboundMail,
        outcome: Outcome,
        matched_by: Option<&'static str>,
    ) -> Result<Ingested, StoreError> {
        log.outcome = outcome.as_str().into();
        log.matched_by = matched_by.map(Into::into);
        if !self.store.insert_inbound_mail(&log).await? {
            // Another instance logged the same message a moment ago.
            if let Some(existing) = self.store.inbound_mail_by_key(&log.ingest_key).await? {
                return self.duplicate(existing).await;
            }
        }
        tracing::info!(outcome = outcome.as_str(), inbound_mail = %log.id, "e-mail logged");
        let tracking_code = self.code_of(log.feedback_item_id).await?;
        Ok(Ingested {
            inbound_mail_id: log.id,
            outcome,
            duplicate: false,
            tracking_code,
            matched_by,
        })
    }

    /// The item a message answers: our own Message-ID in `In-Reply-To`
    /// or `References`, then a signed reply address among the recipients,
    /// then a tracking code in the subject, only from that item's
    /// submitter (anyone can type a code; nobody can forge the others).
    /// These identify the item, never the person: who wrote is `From`.
    async fn match_item(
        &self,
        message: &InboundMessage,
    ) -> Result<Option<(FeedbackRow, &'static str)>, StoreError> {
        let from = message.from.as_ref().map(|m| m.address.as_str());
        for (ids, how) in [
            (&message.in_reply_to, "in_reply_to"),
            (&message.references, "references"),
        ] {
            if let Some(id) = self.store.item_for_message_ids(ids, from).await?
                && let Some(row) = self
                    .store
                    .find_feedback_by_id(FeedbackId::from_uuid(id))
                    .await?
            {
                return Ok(Some((row, how)));
            }
        }
        for recipient in &message.recipients {
            if let Some(code) = self.addressing.item_in(recipient)
                && let Some(row) = self.store.find_feedback_by_code(&code).await?
            {
                return Ok(Some((row, "reply_address")));
            }
        }
        for code in mail_intake::tracking_codes_in(&message.subject) {
            if let Some(row) = self.store.find_feedback_by_code(&code).await?
                && let Some(submitter) = row.item.email.as_deref()
                && from.is_some_and(|a| a.eq_ignore_ascii_case(submitter))
            {
                return Ok(Some((row, "subject_code")));
            }
        }
        Ok(None)
    }

    /// A reply on an item. From the item's submitter (by `From`: a
    /// `Reply-To` is the sender's wish for answers, not who they are)
    /// while the office waits for information, it completes the item and
    /// restarts the clock; otherwise staff are told and read it in the
    /// item's messages.
    async fn reply(
        &self,
        mut log: NewInboundMail,
        message: &InboundMessage,
        row: FeedbackRow,
        matched_by: &'static str,
        now: DateTime<Utc>,
    ) -> Result<Ingested, StoreError> {
        log.feedback_item_id = Some(row.item.id);
        let from_submitter = row
            .item
            .email
            .as_deref()
            .zip(message.from.as_ref())
            .is_some_and(|(submitter, from)| from.address.eq_ignore_ascii_case(submitter));
        let text = mail_intake::reply_text(&message.text);
        let files = message.attachments.len();
        let mut notes = Vec::new();
        if files > 0 {
            notes.push(format!("{files} tệp đính kèm, xem trong thư gốc."));
        }
        let waiting = row.item.state == FeedbackState::AwaitingInformation.as_str();
        // Log first: the same reply fetched twice must not supplement twice.
        let logged = if from_submitter && waiting && !text.is_empty() {
            notes.push("Người gửi bổ sung thông tin; thời hạn xử lý tính tiếp.".into());
            log.note = Some(notes.join(" "));
            let ingested = self.log_only(log, Outcome::Reply, Some(matched_by)).await?;
            if ingested.duplicate {
                return Ok(ingested);
            }
            let workflow = self.workflow();
            match workflow
                .citizen_supplement(&row, &truncate(&text, 5000), None, now)
                .await
            {
                Ok(()) => {}
                Err(WorkflowError::Store(e)) => return Err(e),
                Err(e) => tracing::warn!(error = %e, "e-mail reply not applied as a supplement"),
            }
            ingested
        } else {
            notes.push(if from_submitter {
                "Thư trả lời của người gửi; cán bộ xem và xử lý.".into()
            } else {
                "Thư không phải từ người gửi phản ánh; chỉ lưu để cán bộ xem.".into()
            });
            log.note = Some(notes.join(" "));
            let ingested = self.log_only(log, Outcome::Reply, Some(matched_by)).await?;
            if !ingested.duplicate && from_submitter {
                self.store
                    .queue_notices(
                        &[crate::store::journal::NewNotice {
                            dedupe_key: format!(
                                "{}:control_office_mail_reply:{}",
                                row.item.id, ingested.inbound_mail_id
                            ),
                            kind: "control_office_mail_reply".into(),
                            audience: "control_office".into(),
                            agency_id: row.item.receiving_agency_id,
                            feedback_item_id: Some(row.item.id),
                            deadline_id: None,
                            staff_account_id: None,
                            payload: serde_json::json!({"tracking_code": row.item.tracking_code}),
                        }],
                        now,
                    )
                    .await?;
            }
            ingested
        };
        Ok(Ingested {
            tracking_code: Some(row.item.tracking_code.clone()),
            ..logged
        })
    }

    async fn new_item(
        &self,
        mut log: NewInboundMail,
        message: &InboundMessage,
        now: DateTime<Utc>,
    ) -> Result<Ingested, StoreError> {
        let Some(sender) = message.from.as_ref() else {
            log.note = Some("Thư không có địa chỉ người gửi.".into());
            return self.log_only(log, Outcome::Quarantined, None).await;
        };
        if mail::is_machine_address(&sender.address) {
            log.note = Some("Gửi từ địa chỉ tự động; không tạo phản ánh.".into());
            return self.log_only(log, Outcome::Automatic, None).await;
        }
        let submission = mail_intake::from_mail(message, &self.settings.intake_rules());
        let mut notes = Vec::new();
        if !submission.missing.is_empty() {
            let what: Vec<&str> = submission.missing.iter().map(|m| m.as_str()).collect();
            notes.push(format!("Thiếu: {}.", what.join(", ")));
        }
        if submission.truncated {
            notes.push("Nội dung dài hơn giới hạn; bản đầy đủ trong thư gốc.".into());
        }
        let files: Vec<IncomingAttachment> = message
            .attachments
            .iter()
            .map(|f| IncomingAttachment {
                file_name: f.file_name.clone(),
                content: f.content.clone(),
            })
            .collect();
        let log_id = log.id;
        let key = log.ingest_key.clone();
        let base_notes = notes.clone();
        log.outcome = Outcome::NewItem.as_str().into();
        log.note = (!notes.is_empty()).then(|| notes.join(" "));
        let receipt = match intake::receive_mail(
            self.store,
            self.settings,
            self.deadlines,
            MailItem {
                feedback: submission.feedback.clone(),
                files,
                log,
            },
            now,
        )
        .await
        {
            Ok(r) => r,
            // The same message, stored by another instance meanwhile.
            Err(IntakeError::Store(e)) if is_same_message(&e) => {
                let existing = self.store.inbound_mail_by_key(&key).await?.ok_or_else(|| {
                    StoreError::Integrity("inbound mail conflict without a row".into())
                })?;
                return self.duplicate(existing).await;
            }
            Err(IntakeError::Store(e)) => return Err(e),
            // No receiving office configured, or no randomness: the
            // operator's problem, not the sender's. Nothing is stored and
            // the caller keeps the message for another try.
            Err(e) => {
                tracing::error!(error = %e, "e-mail could not become an item");
                return Err(StoreError::Integrity(format!("e-mail intake failed: {e}")));
            }
        };
        if !receipt.refused_files.is_empty() {
            tracing::info!(
                refused = receipt.refused_files.len(),
                "attachments refused under the web form's rules"
            );
            let mut notes = base_notes;
            for (name, code) in &receipt.refused_files {
                notes.push(format!(
                    "Tệp \"{name}\" không nhận: {}.",
                    crate::domain::feedback::message_vi(code)
                ));
            }
            self.store
                .set_inbound_mail_note(log_id, &notes.join(" "))
                .await?;
        }
        if !submission.missing.is_empty() {
            self.ask_for(receipt.id, &submission.missing, now).await?;
        }
        Ok(Ingested {
            inbound_mail_id: log_id,
            outcome: Outcome::NewItem,
            duplicate: false,
            tracking_code: Some(receipt.tracking_code.to_string()),
            matched_by: None,
        })
    }

    /// Asks the submitter for what Decree 20 requires. If this fails the
    /// item stays `received` with the gap noted in the mail log, and the
    /// control office asks by hand.
    async fn ask_for(
        &self,
        id: FeedbackId,
        missing: &[Missing],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let Some(row) = self.store.find_feedback_by_id(id).await? else {
            return Err(StoreError::Integrity("new e-mail item vanished".into()));
        };
        match self
            .workflow()
            .request_missing_information(&row, &mail_intake::request_for(missing), now)
            .await
        {
            Ok(()) => Ok(()),
            Err(WorkflowError::Store(e)) => Err(e),
            Err(e) => {
                tracing::warn!(error = %e, "could not ask for the missing information");
                Ok(())
            }
        }
    }

    fn workflow(&self) -> Workflow<'_> {
        Workflow {
            store: self.store,
            settings: self.settings,
            deadlines: self.deadlines,
            reasons: self.reasons,
        }
    }
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

fn unreadable_vi(why: Unreadable) -> &'static str {
    match why {
        Unreadable::Empty => "thư rỗng",
        Unreadable::TooLarge => "thư quá lớn",
        Unreadable::NotMail => "không phải định dạng thư điện tử",
    }
}

/// The per-item reply addresses: signed with `mail.reply_secret`, or with
/// a key generated once and kept in the database (so every instance, and
/// every restart, signs the same way).
pub async fn reply_addressing(
    store: &Store,
    settings: &Settings,
    now: DateTime<Utc>,
) -> Result<ReplyAddressing, StoreError> {
    use secrecy::ExposeSecret;
    let configured = settings
        .mail
        .reply_secret
        .expose_secret()
        .as_bytes()
        .to_vec();
    let secret = if configured.is_empty() {
        store
            .service_secret(
                "reply_address_key",
                || {
                    let mut key = vec![0u8; 32];
                    // Without randomness the key is the fallback below;
                    // an empty key would refuse to sign at all.
                    if getrandom::fill(&mut key).is_err() {
                        key = Uuid::new_v4().as_bytes().repeat(2);
                    }
                    key
                },
                now,
            )
            .await?
    } else {
        configured
    };
    ReplyAddressing::new(&settings.mail.published_address, &secret).ok_or_else(|| {
        StoreError::Integrity("mail.published_address or the reply key is unusable".into())
    })
}
