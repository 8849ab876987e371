//! Receiving a phản ánh or kiến nghị (ND 20/2008 Art. 6–8 as amended by
//! ND 92/2017): validate, resolve against the directory, store with its
//! tracking code, lookup token, attachments and first audit event.

use chacha20poly1305::aead::Aead;
use chacha20poly1305::{ChaCha20Poly1305, KeyInit, Nonce};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::config::Settings;
use crate::domain::attachment::{AttachmentKind, safe_file_name};
use crate::domain::digest::hex;
use crate::domain::feedback::{
    Channel, CitizenStatus, FeedbackState, FieldError, NewFeedback, SubmissionInput,
};
use crate::domain::ids::{AgencyId, FeedbackId, FieldId};
use crate::domain::text::fold_for_search;
use crate::domain::time::to_vietnam_rfc3339;
use crate::domain::tracking::{LookupToken, TrackingCode};
use crate::services::deadlines::DeadlineService;
use crate::store::directory_cache::DirectorySnapshot;
use crate::store::feedback::{
    IdempotencyWrite, NewAttachment, NewFeedbackRecord, StoredIdempotency,
};
use crate::store::journal::AuditEntry;
use crate::store::{Store, StoreError};

/// A file as it arrived, before any check.
#[derive(Debug, Clone)]
pub struct IncomingAttachment {
    pub file_name: Option<String>,
    pub content: Vec<u8>,
}

/// One submission on any channel.
#[derive(Debug, Clone)]
pub struct Submission {
    pub input: SubmissionInput,
    pub attachments: Vec<IncomingAttachment>,
    pub channel: Channel,
    pub idempotency_key: Option<String>,
    pub request_id: Option<String>,
    /// Staff-entered items: when the item really reached the agency (the
    /// deadline counts from then), who keyed it in, and the channel's
    /// intake details. `None` for the public form.
    pub staff_entry: Option<StaffEntry>,
    /// The integration (API key name) that pushed it, if any.
    pub via_integration: Option<String>,
    /// The publicity source a web form link named (`?nguon=`), as given.
    pub source: Option<String>,
}

/// What staff add when they key in a call, a letter or a survey form.
#[derive(Debug, Clone)]
pub struct StaffEntry {
    pub received_at: DateTime<Utc>,
    pub operator: crate::domain::staff::Actor,
    pub intake_details: serde_json::Value,
}

/// What the submitter is told: the 201 body.
#[derive(Debug, Clone)]
pub struct Receipt {
    pub tracking_code: String,
    pub body: serde_json::Value,
    /// True when an `Idempotency-Key` matched an earlier submission.
    pub replayed: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error("the actor may not key in items")]
    Forbidden,
    #[error("the submission does not meet Decree 20's requirements")]
    Invalid(Vec<FieldError>),
    #[error("the Idempotency-Key header is malformed")]
    IdempotencyKeyInvalid,
    #[error("the Idempotency-Key was already used for a different submission")]
    IdempotencyKeyReused,
    #[error("no receiving office is configured for province {0}")]
    NoReceivingOffice(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

/// What staff add to a submission when they key in a call, a letter or
/// a survey form, as it came (JSON or a form).
#[derive(Debug, Default)]
pub struct StaffParts {
    pub channel: Option<serde_json::Value>,
    pub received_at: Option<serde_json::Value>,
    pub intake: Option<serde_json::Value>,
}

/// Receives an item keyed in by `operator` (the JSON API and the intake
/// desk): both halves, the submission and the staff part, are checked
/// before answering, so staff see every problem at once.
#[allow(clippy::too_many_arguments)]
pub async fn receive_staff(
    services: &crate::services::Services,
    operator: &crate::domain::staff::Actor,
    input: Result<SubmissionInput, Vec<FieldError>>,
    parts: StaffParts,
    attachments: Vec<IncomingAttachment>,
    idempotency_key: Option<String>,
    request_id: Option<String>,
    now: DateTime<Utc>,
) -> Result<Receipt, IntakeError> {
    if !operator.may(crate::domain::staff::Permission::EnterFeedback) {
        return Err(IntakeError::Forbidden);
    }
    let staff_part = crate::domain::staff_intake::parse_staff_intake(
        parts.channel,
        parts.received_at,
        parts.intake,
        now,
    );
    let (input, entry) = match (input, staff_part) {
        (Ok(input), Ok(entry)) => (input, entry),
        (Err(errors), Ok(_)) => return Err(IntakeError::Invalid(errors)),
        (Ok(input), Err(mut errors)) => {
            if let Err(more) = input.normalized().parse(&services.settings.intake_rules()) {
                errors.extend(more);
            }
            return Err(IntakeError::Invalid(errors));
        }
        (Err(more), Err(mut errors)) => {
            errors.extend(more);
            return Err(IntakeError::Invalid(errors));
        }
    };
    let submission = Submission {
        input,
        attachments,
        channel: entry.channel,
        idempotency_key,
        request_id,
        staff_entry: Some(StaffEntry {
            received_at: entry.received_at,
            operator: operator.clone(),
            intake_details: entry.details,
        }),
        via_integration: None,
        source: None,
    };
    receive(
        &services.store,
        &services.settings,
        &services.deadlines,
        submission,
        now,
    )
    .await
}

/// Receives one submission.
#[tracing::instrument(name = "Receiving feedback", skip_all, fields(channel = %submission.channel, tracking_code = tracing::field::Empty))]
pub async fn receive(
    store: &Store,
    settings: &Settings,
    deadlines: &DeadlineService,
    submission: Submission,
    now: DateTime<Utc>,
) -> Result<Receipt, IntakeError> {
    let Submission {
        input,
        attachments: files,
        channel,
        idempotency_key,
        request_id,
        staff_entry,
        via_integration,
        source,
    } = submission;
    let received_at = staff_entry.as_ref().map_or(now, |e| e.received_at);
    let input = input.normalized();
    let key = idempotency_key
        .as_deref()
        .map(parse_idempotency_key)
        .transpose()?;
    // A key belongs to whoever used it: an integration's to its API key, a
    // staff member's to them; anonymous callers share one space, where the
    // key itself (random, 16 characters at least) is the secret.
    let caller = match (&via_integration, &staff_entry) {
        (Some(key_name), _) => format!("api_key:{key_name}"),
        (None, Some(entry)) => format!("staff:{}", entry.operator.staff_id),
        (None, None) => "anonymous".to_string(),
    };
    let attachments = check_attachments(&files, settings);
    // Only a keyed request needs its fingerprint.
    let request_hash = if key.is_some() {
        let staff_part = staff_entry
            .as_ref()
            .map(|e| format!("{}|{}", e.received_at.to_rfc3339(), e.intake_details));
        request_fingerprint(&input, channel, &files, staff_part.as_deref())
    } else {
        String::new()
    };

    // A retried request replays the first answer instead of creating a
    // duplicate item; the same key with another body is the client's bug.
    let retention = settings.idempotency_retention();
    if let Some(key) = key
        && let Some(existing) = store
            .find_idempotency(&idempotency_key_hash(&caller, key))
            .await?
    {
        if existing.created_at + retention > now {
            return replay(key, &request_hash, existing);
        }
        // An expired key may be reused: forget the old records first.
        store.purge_idempotency(now - retention).await?;
    }

    let parsed = input.clone().parse(&settings.intake_rules());
    let mut errors = match &parsed {
        Ok(_) => Vec::new(),
        Err(e) => e.clone(),
    };
    let attachments = match attachments {
        Ok(a) => a,
        Err(mut e) => {
            errors.append(&mut e);
            Vec::new()
        }
    };
    // Codes a portal sends must exist in our directory: the codes are
    // optional, but a code given must be one we know.
    let directory = store.directory_snapshot().await?;
    let resolved = match &parsed {
        Ok(feedback) => resolve_references(&directory, feedback, &mut errors),
        Err(_) => Resolved::default(),
    };
    let feedback = match parsed {
        Ok(f) if errors.is_empty() => f,
        _ => return Err(IntakeError::Invalid(errors)),
    };
    let receiving_agency_id = *directory
        .receiving_offices
        .get(&settings.province.code)
        .ok_or_else(|| IntakeError::NoReceivingOffice(settings.province.code.clone()))?;

    let token = LookupToken::generate()
        .map_err(|e| IntakeError::Internal(format!("random source failed: {e}")))?;
    let mut record = build_record(
        &feedback,
        &resolved,
        attachments,
        receiving_agency_id,
        &token,
        (channel, request_id),
        settings,
        now,
    );
    // The clock starts when the item really reached the agency, which for
    // a letter or a call keyed in later is before now.
    record.received_at = received_at;
    (record.deadlines, record.due_at) = deadlines.for_new_item(received_at);
    record.source_code = source_of(store, source.as_deref()).await?;
    if let Some(via) = &via_integration {
        record.audit.actor_kind = "integration".into();
        record.audit.actor_id = Some(via.clone());
    }
    if let Some(entry) = &staff_entry {
        record.entered_by = Some(entry.operator.staff_id);
        // A letter or call that reached an agency directly stays in that
        // agency's hands (and sight); the control office sees it too.
        if let crate::domain::staff::ItemScope::OwnAgency(agency) = entry.operator.item_scope() {
            record.handling_agency_id = Some(agency);
            record.audit.details["registered_by_agency"] = true.into();
        }
        record.intake_details = Some(entry.intake_details.clone());
        record.audit.actor_kind = "staff".into();
        record.audit.actor_id = Some(entry.operator.username.clone());
        record.audit.details["entered_by"] = entry.operator.username.clone().into();
        // The gap between arrival and registration is recorded (and
        // reported): deadlines ran during it.
        record.audit.details["intake_delay_seconds"] = (now - received_at).num_seconds().into();
    }
    let idempotency = match key {
        Some(key) => Some(IdempotencyWrite {
            key_hash: idempotency_key_hash(&caller, key),
            request_hash: request_hash.clone(),
            sealed_token: seal(key, &request_hash, &token)?,
        }),
        None => None,
    };
    let public_base = settings
        .server
        .public_base_url
        .trim_end_matches('/')
        .to_string();
    let attachments_summary: Vec<serde_json::Value> = record
        .attachments
        .iter()
        .map(|a| serde_json::json!({"file_name": a.file_name, "kind": a.file_kind, "size_bytes": a.content.len()}))
        .collect();
    let body_for = |code: &TrackingCode| {
        receipt_body(
            code,
            received_at,
            &public_base,
            feedback.language_flagged,
            &attachments_summary,
        )
    };
    let code = match store
        .insert_feedback(&record, idempotency.as_ref(), body_for)
        .await
    {
        Ok(code) => code,
        // Two retries of one request raced: the loser replays the winner.
        Err(StoreError::Conflict(m)) if m.contains("idempotency") => {
            let (Some(key), Some(idem)) = (key, idempotency.as_ref()) else {
                return Err(StoreError::Conflict(m).into());
            };
            let existing = store
                .find_idempotency(&idem.key_hash)
                .await?
                .ok_or_else(|| IntakeError::Internal("idempotency record vanished".into()))?;
            return replay(key, &request_hash, existing);
        }
        Err(e) => return Err(e.into()),
    };
    tracing::Span::current().record("tracking_code", tracing::field::display(&code));
    tracing::info!(
        language_flagged = feedback.language_flagged,
        attachments = record.attachments.len(),
        "feedback received"
    );
    let mut body = receipt_body(
        &code,
        received_at,
        &public_base,
        feedback.language_flagged,
        &attachments_summary,
    );
    body["lookup_token"] = serde_json::Value::String(token.display_form());
    Ok(Receipt {
        tracking_code: code.to_string(),
        body,
        replayed: false,
    })
}

/// What an e-mail brings to the intake: the item read from it, its files,
/// and the log entry that goes into the same transaction.
pub struct MailItem {
    pub feedback: NewFeedback,
    pub files: Vec<IncomingAttachment>,
    pub log: crate::store::mail::NewInboundMail,
}

/// An item created from an e-mail.
#[derive(Debug, Clone)]
pub struct MailReceipt {
    pub id: FeedbackId,
    pub tracking_code: TrackingCode,
    /// Files refused under the web form's rules, with the reason code.
    pub refused_files: Vec<(String, &'static str)>,
}

/// Stores an item that came by e-mail (ND 20 as amended by ND 92/2017:
/// e-mail to the published address is a lawful channel). The clock starts
/// on receipt; what Decree 20 requires and the mail lacks is asked for
/// afterwards (see `services::mail_intake`), so nothing is dropped.
pub async fn receive_mail(
    store: &Store,
    settings: &Settings,
    deadlines: &DeadlineService,
    mail: MailItem,
    now: DateTime<Utc>,
) -> Result<MailReceipt, IntakeError> {
    let MailItem {
        feedback,
        files,
        mut log,
    } = mail;
    // Each file on its own: one bad file must not cost the others.
    let mut attachments = Vec::new();
    let mut refused_files = Vec::new();
    for file in &files {
        let name = file.file_name.clone().unwrap_or_default();
        match check_files(
            std::slice::from_ref(file),
            settings,
            attachments.len(),
            "submitter",
        ) {
            Ok(mut ok) => attachments.append(&mut ok),
            Err(errors) => refused_files.push((
                name,
                errors
                    .first()
                    .map_or("attachment_type_forbidden", |e| e.code),
            )),
        }
    }
    let directory = store.directory_snapshot().await?;
    let receiving_agency_id = *directory
        .receiving_offices
        .get(&settings.province.code)
        .ok_or_else(|| IntakeError::NoReceivingOffice(settings.province.code.clone()))?;
    // The e-mail's sender follows the item by e-mail; a lookup token is
    // still made (staff can tell it on the phone) but never mailed.
    let token = LookupToken::generate()
        .map_err(|e| IntakeError::Internal(format!("random source failed: {e}")))?;
    let mut record = build_record(
        &feedback,
        &Resolved::default(),
        attachments,
        receiving_agency_id,
        &token,
        (Channel::Email, None),
        settings,
        now,
    );
    (record.deadlines, record.due_at) = deadlines.for_new_item(now);
    record.audit.details["inbound_mail_id"] = log.id.to_string().into();
    record.audit.details["refused_attachments"] = refused_files.len().into();
    // The e-mail acknowledgement has its own wording (reply to this mail);
    // it goes to the sender only (the outbox never answers robots).
    record.acknowledge = false;
    if feedback.submitter.email.is_some() {
        record.extra_notices.push(crate::store::journal::NewNotice {
            dedupe_key: format!("{}:citizen_acknowledgement", record.id.as_uuid()),
            kind: "citizen_email_acknowledgement".into(),
            audience: "submitter".into(),
            agency_id: receiving_agency_id.as_uuid(),
            feedback_item_id: Some(record.id.as_uuid()),
            deadline_id: None,
            staff_account_id: None,
            payload: serde_json::json!({}),
        });
    }
    log.feedback_item_id = Some(record.id.as_uuid());
    record.inbound_mail = Some(log);
    let id = record.id;
    let code = store
        .insert_feedback(&record, None, |_| serde_json::Value::Null)
        .await?;
    tracing::info!(tracking_code = %code, attachments = record.attachments.len(), refused = refused_files.len(), "feedback received by e-mail");
    Ok(MailReceipt {
        id,
        tracking_code: code,
        refused_files,
    })
}

fn receipt_body(
    code: &TrackingCode,
    received_at: DateTime<Utc>,
    public_base: &str,
    language_flagged: bool,
    attachments: &[serde_json::Value],
) -> serde_json::Value {
    let status = FeedbackState::Received.citizen_status();
    serde_json::json!({
        "tracking_code": code.to_string(),
        "status": status.as_str(),
        "status_label": status.label_vi(),
        "received_at": to_vietnam_rfc3339(received_at),
        "lookup_url": format!("{public_base}/api/v1/feedback/{code}"),
        "language_flagged": language_flagged,
        "attachments": attachments,
        "message": acknowledgement_text(code),
    })
}

/// The acknowledgement shown to the submitter (ND 92/2017: the receiving
/// agency confirms receipt of a data message).
fn acknowledgement_text(code: &TrackingCode) -> String {
    format!(
        "Phản ánh, kiến nghị của Ông/Bà đã được tiếp nhận với mã số {code}. \
         Vui lòng lưu lại mã số và mã tra cứu để theo dõi kết quả xử lý; mã tra cứu chỉ hiển thị một lần."
    )
}

/// The first answer again for a retried request, or a refusal when the key
/// was used for a different submission.
fn replay(
    key: &str,
    request_hash: &str,
    existing: StoredIdempotency,
) -> Result<Receipt, IntakeError> {
    if existing.request_hash != request_hash {
        return Err(IntakeError::IdempotencyKeyReused);
    }
    let token = unseal(key, request_hash, &existing.sealed_token)?;
    let mut body = existing.response_body;
    body["lookup_token"] = serde_json::Value::String(token);
    let tracking_code = body["tracking_code"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    Ok(Receipt {
        tracking_code,
        body,
        replayed: true,
    })
}

#[derive(Debug, Default)]
struct Resolved {
    field_id: Option<FieldId>,
    agency_hint_id: Option<AgencyId>,
    province_code: Option<String>,
}

fn resolve_references(
    directory: &DirectorySnapshot,
    f: &NewFeedback,
    errors: &mut Vec<FieldError>,
) -> Resolved {
    let mut resolved = Resolved {
        province_code: f.submitter.address.province_code.clone(),
        ..Resolved::default()
    };
    if let Some(code) = &f.field_code {
        match directory.fields.get(code) {
            Some(id) => resolved.field_id = Some(*id),
            None => errors.push(FieldError::new("field_code", "unknown_code")),
        }
    }
    if let Some(code) = &f.agency_code {
        match directory.agencies.get(code) {
            Some(id) => resolved.agency_hint_id = Some(*id),
            None => errors.push(FieldError::new("agency_code", "unknown_code")),
        }
    }
    if let Some(code) = &f.submitter.address.province_code
        && directory
            .units
            .get(code)
            .is_none_or(|(level, _)| level != "province")
    {
        errors.push(FieldError::new(
            "submitter.address.province_code",
            "unknown_code",
        ));
    }
    if let Some(code) = &f.submitter.address.commune_code {
        match directory.units.get(code) {
            Some((level, province)) if level == "commune" => {
                match (&f.submitter.address.province_code, province) {
                    (Some(given), Some(actual)) if given != actual => {
                        errors.push(FieldError::new(
                            "submitter.address.commune_code",
                            "commune_not_in_province",
                        ));
                    }
                    _ => {
                        resolved.province_code =
                            resolved.province_code.take().or_else(|| province.clone())
                    }
                }
            }
            _ => errors.push(FieldError::new(
                "submitter.address.commune_code",
                "unknown_code",
            )),
        }
    }
    resolved
}

/// Checks count, size and type (by content) of every file.
fn check_attachments(
    files: &[IncomingAttachment],
    settings: &Settings,
) -> Result<Vec<NewAttachment>, Vec<FieldError>> {
    check_files(files, settings, 0, "submitter")
}

/// Checks files under the web form's rules, `already` being kept for the
/// same purpose; `source` says whose they are (`submitter`, `answer`).
pub fn check_files(
    files: &[IncomingAttachment],
    settings: &Settings,
    already: usize,
    source: &str,
) -> Result<Vec<NewAttachment>, Vec<FieldError>> {
    let allowed = settings.allowed_attachment_kinds();
    let mut errors = Vec::new();
    if already + files.len() > settings.intake.max_attachments {
        errors.push(FieldError::new("attachments", "too_many_attachments"));
    }
    let mut out = Vec::with_capacity(files.len());
    for (i, file) in files.iter().enumerate() {
        let field = format!("attachments.{i}");
        if file.content.is_empty() {
            errors.push(FieldError::new(field, "attachment_empty"));
            continue;
        }
        if file.content.len() > settings.intake.max_attachment_bytes {
            errors.push(FieldError::new(field, "attachment_too_large"));
            continue;
        }
        let Some(kind) = AttachmentKind::sniff(&file.content).filter(|k| allowed.contains(k))
        else {
            errors.push(FieldError::new(field, "attachment_type_forbidden"));
            continue;
        };
        out.push(NewAttachment {
            file_name: safe_file_name(file.file_name.as_deref(), kind),
            file_kind: kind.as_str().to_string(),
            media_type: kind.media_type().to_string(),
            sha256: hash_hex(&[&file.content]),
            content: file.content.clone(),
            source: source.to_string(),
        });
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

#[allow(clippy::too_many_arguments)]
fn build_record(
    f: &NewFeedback,
    resolved: &Resolved,
    attachments: Vec<NewAttachment>,
    receiving_agency_id: AgencyId,
    token: &LookupToken,
    (channel, request_id): (Channel, Option<String>),
    settings: &Settings,
    now: DateTime<Utc>,
) -> NewFeedbackRecord {
    let state = FeedbackState::Received;
    NewFeedbackRecord {
        id: FeedbackId::generate(),
        province_code: settings.province.code.clone(),
        lookup_token_hash: token.hash(),
        kind: f.kind.as_str().to_string(),
        content_category: f.content_category.map(|c| c.as_str().to_string()),
        channel: channel.as_str().to_string(),
        title: f.title.clone(),
        content: f.content.clone(),
        search_text: fold_for_search(&format!("{} {}", f.title, f.content)),
        language_flagged: f.language_flagged,
        field_id: resolved.field_id,
        agency_hint_id: resolved.agency_hint_id,
        submitter_type: f.submitter.submitter_type.as_str().to_string(),
        submitter_name: f.submitter.full_name.clone(),
        organization_name: f.submitter.organization_name.clone(),
        address_detail: f.submitter.address.detail.clone(),
        address_province_code: resolved.province_code.clone(),
        address_commune_code: f.submitter.address.commune_code.clone(),
        phone: f.submitter.phone.as_ref().map(|p| p.as_e164().to_string()),
        email: f.submitter.email.clone(),
        consent_to_publish: f.consent_to_publish,
        state: state.as_str().to_string(),
        receiving_agency_id,
        handling_agency_id: None,
        received_at: now,
        registered_at: now,
        entered_by: None,
        intake_details: None,
        source_code: None,
        due_at: None,
        deadlines: Vec::new(),
        // Whoever left an e-mail address or a phone number hears back.
        acknowledge: f.submitter.email.is_some() || f.submitter.phone.is_some(),
        audit: AuditEntry {
            actor_kind: "submitter".into(),
            actor_id: None,
            action: "feedback.received".into(),
            from_state: None,
            to_state: Some(state.as_str().into()),
            reason: None,
            // No personal data in the audit details: the item holds it.
            details: serde_json::json!({
                "channel": channel.as_str(),
                "attachments": attachments.len(),
                "language_flagged": f.language_flagged,
                "citizen_status": CitizenStatus::Received.as_str(),
            }),
            request_id,
        },
        attachments,
        inbound_mail: None,
        extra_notices: Vec::new(),
    }
}

/// The publicity source a link named: a live source's code, `unknown` for
/// anything else given (never an error to the citizen), none when the link
/// named none.
async fn source_of(store: &Store, raw: Option<&str>) -> Result<Option<String>, IntakeError> {
    use crate::domain::outreach::{UNKNOWN_SOURCE, link_code};
    let Some(raw) = raw.map(str::trim).filter(|r| !r.is_empty()) else {
        return Ok(None);
    };
    let live = match link_code(raw) {
        Some(code) => store
            .source(&code)
            .await?
            .filter(|s| s.retired_at.is_none())
            .map(|s| s.code),
        None => None,
    };
    Ok(Some(live.unwrap_or_else(|| UNKNOWN_SOURCE.to_string())))
}

/// The shortest key accepted: an anonymous caller's key is what stands
/// between another caller and their receipt (with its lookup token), so
/// it must be too long to guess (a random UUID is 36).
pub const IDEMPOTENCY_KEY_MIN_CHARS: usize = 16;

/// 16–255 visible ASCII characters (the draft IETF header allows any
/// string; we bound it so it cannot be guessed nor abused as storage).
fn parse_idempotency_key(raw: &str) -> Result<&str, IntakeError> {
    let key = raw.trim();
    if !(IDEMPOTENCY_KEY_MIN_CHARS..=255).contains(&key.len())
        || !key.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(IntakeError::IdempotencyKeyInvalid);
    }
    Ok(key)
}

/// What makes two requests "the same submission": the normalised content,
/// the channel and the attachments' bytes and names.
fn request_fingerprint(
    input: &SubmissionInput,
    channel: Channel,
    files: &[IncomingAttachment],
    staff_part: Option<&str>,
) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"pakn.submission.v1:");
    // Staff-entered items: the arrival time and evidence make a different
    // request (a corrected received_at must not replay the first answer).
    if let Some(staff) = staff_part {
        hasher.update(b"staff:");
        hasher.update(staff.as_bytes());
        hasher.update([0u8]);
    }
    hasher.update(serde_json::to_vec(input).unwrap_or_default());
    hasher.update(channel.as_str().as_bytes());
    for f in files {
        hasher.update(Sha256::digest(&f.content));
        hasher.update(f.file_name.as_deref().unwrap_or_default().as_bytes());
        hasher.update([0u8]);
    }
    hex(&hasher.finalize())
}

/// The lookup token of a keyed submission is kept only sealed with a key
/// derived from the client's Idempotency-Key and the request itself, so a
/// copy of the database does not reveal it (tokens are otherwise stored
/// only hashed). Each derived key seals exactly one token, so a fixed nonce
/// is safe.
fn seal(key: &str, request_hash: &str, token: &LookupToken) -> Result<Vec<u8>, IntakeError> {
    cipher(key, request_hash)?
        .encrypt(&Nonce::default(), token.display_form().as_bytes())
        .map_err(|_| IntakeError::Internal("sealing the lookup token failed".into()))
}

fn unseal(key: &str, request_hash: &str, sealed: &[u8]) -> Result<String, IntakeError> {
    let plain = cipher(key, request_hash)?
        .decrypt(&Nonce::default(), sealed)
        .map_err(|_| IntakeError::Internal("unsealing the lookup token failed".into()))?;
    String::from_utf8(plain)
        .map_err(|_| IntakeError::Internal("sealed lookup token is not text".into()))
}

fn cipher(key: &str, request_hash: &str) -> Result<ChaCha20Poly1305, IntakeError> {
    let derived = Sha256::new()
        .chain_update(b"pakn.idempotency.seal.v1:")
        .chain_update(key.as_bytes())
        .chain_update(b":")
        .chain_update(request_hash.as_bytes())
        .finalize();
    ChaCha20Poly1305::new_from_slice(&derived)
        .map_err(|_| IntakeError::Internal("bad seal key length".into()))
}

/// The stored name of `caller`'s key: the same key from another caller
/// is another record.
fn idempotency_key_hash(caller: &str, key: &str) -> String {
    hash_hex(&[
        b"pakn.idempotency.key.v2:",
        caller.as_bytes(),
        b"\0",
        key.as_bytes(),
    ])
}

fn hash_hex(parts: &[&[u8]]) -> String {
    let mut hasher = Sha256::new();
    for p in parts {
        hasher.update(p);
    }
    hex(&hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_tokens_open_only_with_the_same_key_and_request() {
        let token = LookupToken::generate().unwrap();
        let sealed = seal("key-1", "hash-a", &token).unwrap();
        assert_eq!(
            unseal("key-1", "hash-a", &sealed).unwrap(),
            token.display_form()
        );
        assert!(unseal("key-2", "hash-a", &sealed).is_err());
        assert!(unseal("key-1", "hash-b", &sealed).is_err());
    }

    #[test]
    fn idempotency_keys_are_bounded_visible_ascii() {
        assert!(parse_idempotency_key("0b6c1c3e-5f0e-4d3a-9e84-1f6d2b8f9a10").is_ok());
        assert!(parse_idempotency_key("0123456789abcdef").is_ok());
        assert!(parse_idempotency_key("").is_err());
        assert!(
            parse_idempotency_key("retry-1").is_err(),
            "too short to be a secret"
        );
        assert!(parse_idempotency_key("0123456789abcde").is_err());
        assert!(parse_idempotency_key("có dấu").is_err());
        assert!(parse_idempotency_key(&"x".repeat(256)).is_err());
    }
}
