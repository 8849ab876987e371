//! A data subject's requests (Luật Bảo vệ dữ liệu cá nhân 2025): the
//! control office finds every item and message of a person by phone
//! number or e-mail address, exports them as one file for that person, and
//! erases or corrects their contact data where the law allows — erasure
//! only of settled items (an item still being handled needs a way to send
//! its answer). Every step is audited with its reason; being shown
//! someone's contact data is written to the access log.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::Services;
use super::staff_items::StaffError;
use crate::domain::feedback::{FeedbackState, FieldError};
use crate::domain::phone::PhoneNumber;
use crate::domain::staff::{Actor, Permission};
use crate::domain::time::VnTime;
use crate::store::entities::feedback_item;
use crate::store::journal::AuditEntry;
use crate::store::retention::SETTLED_STATES;
use crate::store::subject::ContactCorrection;

/// Who the request is about.
#[derive(Debug, Clone, Default)]
pub struct Subject {
    pub phone: Option<String>,
    pub email: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SubjectItem {
    pub tracking_code: String,
    pub state: &'static str,
    pub state_label: &'static str,
    pub channel: String,
    pub received_at: VnTime,
    pub title: String,
    pub full_name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    /// Settled: its contact data may be erased.
    pub settled: bool,
    pub contact_erased_at: Option<VnTime>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SubjectView {
    pub phone: Option<String>,
    pub email: Option<String>,
    pub items: Vec<SubjectItem>,
}

fn allowed(actor: &Actor) -> Result<(), StaffError> {
    if actor.may(Permission::HandleSubjectRequests) {
        Ok(())
    } else {
        Err(StaffError::Forbidden)
    }
}

/// The phone (E.164) and e-mail (lower case) to look for; at least one.
fn parse(subject: &Subject) -> Result<(Option<String>, Option<String>), StaffError> {
    let mut errors = Vec::new();
    let phone = match subject
        .phone
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        Some(p) => match PhoneNumber::parse(p) {
            Ok(p) => Some(p.as_e164().to_string()),
            Err(_) => {
                errors.push(FieldError::new("phone", "phone_invalid"));
                None
            }
        },
        None => None,
    };
    let email = match subject
        .email
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty())
    {
        Some(e) if e.contains('@') && e.len() <= 254 => Some(e.to_lowercase()),
        Some(_) => {
            errors.push(FieldError::new("email", "email_invalid"));
            None
        }
        None => None,
    };
    if errors.is_empty() && phone.is_none() && email.is_none() {
        errors.push(FieldError::new("phone", "required"));
    }
    if errors.is_empty() {
        Ok((phone, email))
    } else {
        Err(StaffError::Invalid(errors))
    }
}

fn item_view(i: &feedback_item::Model) -> SubjectItem {
    let state = FeedbackState::parse(&i.state);
    SubjectItem {
        tracking_code: i.tracking_code.clone(),
        state: state.map_or("", |s| s.as_str()),
        state_label: state.map_or("", |s| s.label_vi()),
        channel: i.channel.clone(),
        received_at: i.received_at.into(),
        title: i.title.clone(),
        full_name: i.submitter_name.clone(),
        phone: i.phone.clone(),
        email: i.email.clone(),
        settled: SETTLED_STATES.contains(&i.state.as_str()),
        contact_erased_at: i.contact_erased_at.map(Into::into),
    }
}

async fn log_access(
    s: &Services,
    actor: &Actor,
    items: &[feedback_item::Model],
    purpose: &str,
    now: DateTime<Utc>,
) -> Result<(), StaffError> {
    for i in items {
        s.store
            .record_contact_access(actor.staff_id, &actor.username, i.id, purpose, now)
            .await?;
    }
    Ok(())
}

/// Every item of the person.
pub async fn find(
    s: &Services,
    actor: &Actor,
    subject: &Subject,
    now: DateTime<Utc>,
) -> Result<SubjectView, StaffError> {
    allowed(actor)?;
    let (phone, email) = parse(subject)?;
    let items = s
        .store
        .items_of_subject(phone.as_deref(), email.as_deref())
        .await?;
    log_access(s, actor, &items, "subject_request", now).await?;
    Ok(SubjectView {
        phone,
        email,
        items: items.iter().map(item_view).collect(),
    })
}

/// The file for the person: every item with what they sent, what they
/// were answered, and the messages exchanged.
pub async fn export(
    s: &Services,
    actor: &Actor,
    subject: &Subject,
    now: DateTime<Utc>,
) -> Result<serde_json::Value, StaffError> {
    allowed(actor)?;
    let (phone, email) = parse(subject)?;
    let items = s
        .store
        .items_of_subject(phone.as_deref(), email.as_deref())
        .await?;
    log_access(s, actor, &items, "subject_export", now).await?;
    let office = s.settings.office();
    let mut out = Vec::new();
    for i in &items {
        let (notices, mails) = s.store.subject_messages(i.id).await?;
        let supplements = s
            .store
            .supplements_for(crate::domain::ids::FeedbackId::from_uuid(i.id))
            .await?;
        out.push(serde_json::json!({
            "tracking_code": i.tracking_code,
            "kind": i.kind,
            "channel": i.channel,
            "received_at": VnTime::from(i.received_at),
            "state": i.state,
            "title": i.title,
            "content": i.content,
            "submitter": {
                "type": i.submitter_type,
                "full_name": i.submitter_name,
                "organization_name": i.organization_name,
                "address": i.address_detail,
                "commune_code": i.address_commune_code,
                "phone": i.phone,
                "email": i.email,
                "contact_erased_at": i.contact_erased_at.map(VnTime::from),
            },
            "consent_to_publish": i.consent_to_publish,
            "supplements": supplements.iter().map(|x| serde_json::json!({"at": VnTime::from(x.created_at), "text": x.text})).collect::<Vec<_>>(),
            "answer": i.answer,
            "answered_at": i.answered_at.map(VnTime::from),
            "rating": i.rating_score,
            "messages_sent": notices.iter().map(|n| serde_json::json!({
                "at": VnTime::from(n.sent_at.unwrap_or(n.created_at)),
                "subject": crate::domain::notice_templates::render(&n.kind, &n.payload, &office).map(|r| r.subject),
                "delivery": n.status,
            })).collect::<Vec<_>>(),
            "messages_received": mails.iter().map(|(at, subject, outcome)| serde_json::json!({
                "at": VnTime::from(*at),
                "subject": subject,
                "outcome": outcome,
            })).collect::<Vec<_>>(),
        }));
    }
    s.store
        .audit_items(
            &items.iter().map(|i| i.id).collect::<Vec<_>>(),
            &audit(
                actor,
                "feedback.subject_exported",
                "Xuất dữ liệu theo yêu cầu của chủ thể dữ liệu",
            ),
            now,
        )
        .await?;
    Ok(serde_json::json!({
        "controller": office.name,
        "generated_at": VnTime::from(now),
        "subject": {"phone": phone, "email": email},
        "items": out,
    }))
}

fn audit(actor: &Actor, action: &str, reason: &str) -> AuditEntry {
    AuditEntry {
        actor_kind: "staff".into(),
        actor_id: Some(actor.username.clone()),
        action: action.into(),
        from_state: None,
        to_state: None,
        reason: Some(reason.to_string()),
        details: serde_json::json!({}),
        request_id: None,
    }
}

fn reason_of(reason: &str) -> Result<String, StaffError> {
    let r = reason.trim();
    if r.chars().count() < 5 || r.chars().count() > 1000 {
        return Err(StaffError::Invalid(vec![FieldError::new(
            "reason",
            "reason_required",
        )]));
    }
    Ok(r.to_string())
}

/// What an erasure did.
#[derive(Debug, Clone, Serialize)]
pub struct ErasureReport {
    pub erased: Vec<String>,
    /// Items still being handled: kept, so their answer can reach the person.
    pub kept_open: Vec<String>,
}

/// Erases the person's contact data on every settled item of theirs.
pub async fn erase(
    s: &Services,
    actor: &Actor,
    subject: &Subject,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<ErasureReport, StaffError> {
    allowed(actor)?;
    let reason = reason_of(reason)?;
    let (phone, email) = parse(subject)?;
    let items = s
        .store
        .items_of_subject(phone.as_deref(), email.as_deref())
        .await?;
    let mut report = ErasureReport {
        erased: Vec::new(),
        kept_open: Vec::new(),
    };
    let entry = audit(
        actor,
        "feedback.contact_erased",
        &format!("Yêu cầu của chủ thể dữ liệu: {reason}"),
    );
    for i in &items {
        if !SETTLED_STATES.contains(&i.state.as_str()) {
            report.kept_open.push(i.tracking_code.clone());
        } else if s.store.erase_contact_data(i.id, &entry, now).await? {
            report.erased.push(i.tracking_code.clone());
        }
    }
    Ok(report)
}

/// Corrects the contact data of one item (the person's request, or staff
/// finding it wrong).
pub async fn correct(
    s: &Services,
    actor: &Actor,
    code: &str,
    correction: &ContactCorrection,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(), StaffError> {
    allowed(actor)?;
    let reason = reason_of(reason)?;
    let code = code
        .trim()
        .to_ascii_uppercase()
        .parse()
        .map_err(|_| StaffError::NotFound)?;
    let row = s
        .store
        .find_feedback_by_code(&code)
        .await?
        .ok_or(StaffError::NotFound)?;
    if row.item.contact_erased_at.is_some() {
        return Err(StaffError::Invalid(vec![FieldError::new(
            "tracking_code",
            "contact_erased",
        )]));
    }
    let mut fields = Vec::new();
    let mut errors = Vec::new();
    let mut c = correction.clone();
    if let Some(name) = &c.full_name {
        if name.trim().is_empty() || name.chars().count() > 150 {
            errors.push(FieldError::new("full_name", "required"));
        }
        fields.push("full_name");
    }
    if c.address_detail.is_some() {
        fields.push("address");
    }
    if let Some(Some(p)) = &c.phone {
        match PhoneNumber::parse(p) {
            Ok(p) => c.phone = Some(Some(p.as_e164().to_string())),
            Err(_) => errors.push(FieldError::new("phone", "phone_invalid")),
        }
        fields.push("phone");
    }
    if let Some(Some(e)) = &c.email {
        if !e.contains('@') || e.len() > 254 {
            errors.push(FieldError::new("email", "email_invalid"));
        }
        fields.push("email");
    }
    if fields.is_empty() {
        errors.push(FieldError::new("full_name", "required"));
    }
    if !errors.is_empty() {
        return Err(StaffError::Invalid(errors));
    }
    let mut entry = audit(actor, "feedback.contact_corrected", &reason);
    // Which fields changed, never their values.
    entry.details = serde_json::json!({ "fields": fields });
    s.store
        .correct_contact_data(row.item.id, &c, &entry, now)
        .await?;
    Ok(())
}

/// Writes down that `actor` was shown `item`'s contact data for
/// `purpose` ("item_page", "raw_mail"): once per person, item and purpose
/// in ten minutes, so reloading a page does not flood the log.
pub async fn record_view(
    s: &Services,
    actor: &Actor,
    item: uuid::Uuid,
    purpose: &str,
    now: DateTime<Utc>,
) -> Result<(), crate::store::StoreError> {
    let since = now - chrono::Duration::minutes(10);
    if !s
        .store
        .contact_access_since(actor.staff_id, item, purpose, since)
        .await?
    {
        s.store
            .record_contact_access(actor.staff_id, &actor.username, item, purpose, now)
            .await?;
    }
    Ok(())
}

/// One entry of the access log as supervisors read it.
#[derive(Debug, Clone, Serialize)]
pub struct AccessEntry {
    pub staff: String,
    pub tracking_code: String,
    pub purpose: &'static str,
    pub at: VnTime,
}

fn purpose_label(p: &str) -> &'static str {
    match p {
        "item_page" => "Xem phản ánh (trang hoặc API)",
        "raw_mail" => "Tải thư gốc",
        "subject_request" => "Tra cứu theo yêu cầu của chủ thể dữ liệu",
        "subject_export" => "Xuất dữ liệu cho chủ thể dữ liệu",
        "national_rekey" => "Lập danh sách cập nhật lên Hệ thống PAKN quốc gia",
        _ => "Khác",
    }
}

/// Who was shown whose contact data: by item, by staff member, or the
/// newest entries.
pub async fn access_log(
    s: &Services,
    actor: &Actor,
    code: Option<&str>,
    staff: Option<&str>,
) -> Result<Vec<AccessEntry>, StaffError> {
    if !actor.may(Permission::ReadContactAccessLog) {
        return Err(StaffError::Forbidden);
    }
    let item = match code.map(str::trim).filter(|c| !c.is_empty()) {
        Some(c) => match c.to_ascii_uppercase().parse() {
            Ok(code) => match s.store.find_feedback_by_code(&code).await? {
                Some(row) => Some(row.item.id),
                None => return Ok(Vec::new()),
            },
            Err(_) => {
                return Err(StaffError::Invalid(vec![FieldError::new(
                    "item",
                    "tracking_code_invalid",
                )]));
            }
        },
        None => None,
    };
    let staff = staff.map(str::trim).filter(|u| !u.is_empty());
    Ok(s.store
        .contact_access_log(item, staff, 500)
        .await?
        .into_iter()
        .map(|r| AccessEntry {
            purpose: purpose_label(&r.purpose),
            staff: r.staff_username,
            tracking_code: r.tracking_code,
            at: r.at.into(),
        })
        .collect())
}
