//! "Tôi không còn mã tra cứu": a citizen who lost the lookup token gets a
//! one-time link at the e-mail address on file for the tracking code, and
//! through it a new token (the old one stops working). The answer to a
//! request is the same whether or not the code and the address match, so
//! nobody learns whose item is whose; at most one link per item per
//! period, whoever asks.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::Services;
use crate::domain::digest::sha256_hex;
use crate::domain::tracking::{LookupToken, TrackingCode};
use crate::store::StoreError;
use crate::store::journal::{AuditEntry, NewNotice};
use crate::store::recovery::NewRecovery;

/// A new lookup token, shown once.
#[derive(Debug, Clone, Serialize)]
pub struct Reissued {
    pub tracking_code: String,
    pub lookup_token: String,
}

/// The link's secret as it appears in the link: 64 hex digits.
fn parse_secret(secret: &str) -> Option<String> {
    let s = secret.trim().to_ascii_lowercase();
    (s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())).then_some(s)
}

fn citizen(action: &str, details: serde_json::Value) -> AuditEntry {
    AuditEntry {
        actor_kind: "citizen".into(),
        actor_id: None,
        action: action.into(),
        from_state: None,
        to_state: None,
        reason: None,
        details,
        request_id: None,
    }
}

/// Queues a recovery link when `code` names an item whose e-mail address
/// is `email`; otherwise does nothing. The caller answers the same either
/// way.
pub async fn request(
    s: &Services,
    code: &str,
    email: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    link_to_address_on_file(s, code, email, LinkKind::Recovery, now).await
}

/// Sends the submitter of a partner's item, at `email` (the address on
/// file), a one-time link to its lookup token.
pub async fn issue_by_mail(
    s: &Services,
    code: &str,
    email: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    link_to_address_on_file(s, code, email, LinkKind::Issue, now).await
}

/// Why a one-time link to a new token is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LinkKind {
    /// The citizen asked on /tra-cuu.
    Recovery,
    /// A partner (Open311) sent the item: its answer never carries the
    /// token, so the submitter gets it this way.
    Issue,
}

/// Queues the link when `code` names an item whose e-mail address is
/// `email`; nothing otherwise.
async fn link_to_address_on_file(
    s: &Services,
    code: &str,
    email: &str,
    kind: LinkKind,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let Ok(code) = code.trim().to_ascii_uppercase().parse::<TrackingCode>() else {
        return Ok(());
    };
    let Some(row) = s.store.find_feedback_by_code(&code).await? else {
        return Ok(());
    };
    let on_file = row.item.email.as_deref().map(|e| e.trim().to_lowercase());
    let asked = email.trim().to_lowercase();
    if asked.is_empty() || on_file.as_deref() != Some(asked.as_str()) {
        return Ok(());
    }
    let period = match kind {
        LinkKind::Recovery => {
            chrono::Duration::minutes(i64::from(s.settings.public_pages.token_recovery_minutes))
        }
        LinkKind::Issue => {
            chrono::Duration::hours(i64::from(s.settings.public_pages.token_link_hours))
        }
    };
    queue_link(s, &row.item, kind, period, now).await
}

async fn queue_link(
    s: &Services,
    item: &crate::store::entities::feedback_item::Model,
    kind: LinkKind,
    period: chrono::Duration,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    if s.store
        .recovery_requested_since(item.id, now - period)
        .await?
    {
        tracing::debug!("a lookup link for this item is still live");
        return Ok(());
    }
    let (notice_kind, action) = match kind {
        LinkKind::Recovery => (
            "citizen_token_recovery",
            "feedback.lookup_recovery_requested",
        ),
        LinkKind::Issue => ("citizen_token_issue", "feedback.lookup_link_sent"),
    };
    let id = Uuid::now_v7();
    let secret = s.reply_addressing.recovery_secret(id);
    let recovery = NewRecovery {
        id,
        item: item.id,
        token_hash: sha256_hex(secret.as_bytes()),
        expires_at: now + period,
        notice: NewNotice {
            dedupe_key: format!("{id}:{notice_kind}"),
            kind: notice_kind.into(),
            audience: "submitter".into(),
            agency_id: item.receiving_agency_id,
            feedback_item_id: Some(item.id),
            deadline_id: None,
            staff_account_id: None,
            payload: serde_json::json!({
                "tracking_code": item.tracking_code,
                "recovery_id": id.to_string(),
                "minutes": period.num_minutes(),
                "hours": period.num_hours(),
            }),
        },
    };
    let audit = citizen(
        action,
        serde_json::json!({"expires_at": recovery.expires_at}),
    );
    s.store.insert_recovery(&recovery, &audit, now).await
}

/// The tracking code a live link is for (the link's page names it).
pub async fn link_item(
    s: &Services,
    secret: &str,
    now: DateTime<Utc>,
) -> Result<Option<String>, StoreError> {
    let Some(secret) = parse_secret(secret) else {
        return Ok(None);
    };
    s.store
        .recovery_item_code(&sha256_hex(secret.as_bytes()), now)
        .await
}

/// Uses the link up and issues a new token; `None` for a link that is
/// unknown, used or expired (one answer for all three).
pub async fn redeem(
    s: &Services,
    secret: &str,
    now: DateTime<Utc>,
) -> Result<Option<Reissued>, StoreError> {
    let Some(secret) = parse_secret(secret) else {
        return Ok(None);
    };
    let token = LookupToken::generate()
        .map_err(|e| StoreError::Integrity(format!("random source failed: {e}")))?;
    let audit = citizen("feedback.lookup_token_reissued", serde_json::json!({}));
    let code = s
        .store
        .redeem_recovery(&sha256_hex(secret.as_bytes()), token.hash(), &audit, now)
        .await?;
    Ok(code.map(|tracking_code| Reissued {
        tracking_code,
        lookup_token: token.display_form(),
    }))
}
