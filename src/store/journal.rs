//! The record every change leaves behind, written inside the change's own
//! transaction: its append-only audit event, the notices it queues
//! (delivered later by the outbox) and the webhook deliveries it raises.
//! Every store module that writes a change writes through these, so none
//! of them needs another's.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait};
use uuid::Uuid;

use super::StoreError;
use super::entities::{audit_event, notice};
use crate::domain::ids::FeedbackId;

/// One append-only audit event.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub actor_kind: String,
    pub actor_id: Option<String>,
    pub action: String,
    pub from_state: Option<String>,
    pub to_state: Option<String>,
    pub reason: Option<String>,
    pub details: serde_json::Value,
    pub request_id: Option<String>,
}

impl AuditEntry {
    /// A staff member's change to something other than an item's state
    /// (accounts, the directory, rules, keys, subscriptions, sources).
    pub fn by_staff(
        username: &str,
        action: &str,
        details: serde_json::Value,
        request_id: Option<String>,
    ) -> Self {
        Self {
            actor_kind: "staff".into(),
            actor_id: Some(username.to_string()),
            action: action.into(),
            from_state: None,
            to_state: None,
            reason: None,
            details,
            request_id,
        }
    }
}

/// A notice to queue.
#[derive(Debug, Clone)]
pub struct NewNotice {
    pub dedupe_key: String,
    pub kind: String,
    pub audience: String,
    pub agency_id: Uuid,
    pub feedback_item_id: Option<Uuid>,
    pub deadline_id: Option<Uuid>,
    /// A notice to one staff member (audience `staff`).
    pub staff_account_id: Option<Uuid>,
    pub payload: serde_json::Value,
}

/// Writes one audit event (and the webhook deliveries it raises) in the
/// caller's transaction.
pub(crate) async fn write_audit<C: ConnectionTrait>(
    conn: &C,
    item_id: Option<FeedbackId>,
    entry: &AuditEntry,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    write_audits(conn, &[(item_id, entry, at)]).await
}

/// Writes audit events in one statement (the rows of a group commit),
/// then the webhook deliveries any of them raises.
pub(crate) async fn write_audits<C: ConnectionTrait>(
    conn: &C,
    entries: &[(Option<FeedbackId>, &AuditEntry, DateTime<Utc>)],
) -> Result<(), StoreError> {
    for chunk in entries.chunks(ROWS_PER_STATEMENT) {
        audit_event::Entity::insert_many(chunk.iter().map(|(item_id, entry, at)| {
            audit_event::ActiveModel {
                id: Set(Uuid::now_v7()),
                feedback_item_id: Set(item_id.map(FeedbackId::as_uuid)),
                actor_kind: Set(entry.actor_kind.clone()),
                actor_id: Set(entry.actor_id.clone()),
                action: Set(entry.action.clone()),
                from_state: Set(entry.from_state.clone()),
                to_state: Set(entry.to_state.clone()),
                reason: Set(entry.reason.clone()),
                details: Set(entry.details.clone()),
                request_id: Set(entry.request_id.clone()),
                occurred_at: Set(*at),
            }
        }))
        .exec_without_returning(conn)
        .await?;
    }
    for (item_id, entry, at) in entries {
        if let Some(item) = item_id {
            super::webhooks::raise_webhook_events(conn, item.as_uuid(), entry, *at).await?;
        }
    }
    Ok(())
}

/// Rows written by one multi-row statement at most: far below both
/// databases' limits on parameters (SQLite 32,766; PostgreSQL 65,535)
/// for the widest table written this way.
const ROWS_PER_STATEMENT: usize = 500;

/// Queues notices inside a caller's transaction (the outbox pattern: the
/// notice exists if and only if the change that raised it does), each at
/// most once (a notice's dedupe key is unique); returns how many were new.
pub(crate) async fn queue_notices_in<C: ConnectionTrait>(
    conn: &C,
    notices: &[NewNotice],
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let timed: Vec<(&NewNotice, DateTime<Utc>)> = notices.iter().map(|n| (n, now)).collect();
    queue_notices_at(conn, &timed).await
}

/// Queues notices each created at its own time, in one statement per
/// `ROWS_PER_STATEMENT` (the acknowledgements of a group commit).
pub(crate) async fn queue_notices_at<C: ConnectionTrait>(
    conn: &C,
    notices: &[(&NewNotice, DateTime<Utc>)],
) -> Result<usize, StoreError> {
    let mut queued = 0;
    for chunk in notices.chunks(ROWS_PER_STATEMENT) {
        let result = notice::Entity::insert_many(chunk.iter().map(|(n, at)| notice::ActiveModel {
            id: Set(Uuid::now_v7()),
            dedupe_key: Set(n.dedupe_key.clone()),
            kind: Set(n.kind.clone()),
            audience: Set(n.audience.clone()),
            agency_id: Set(n.agency_id),
            feedback_item_id: Set(n.feedback_item_id),
            deadline_id: Set(n.deadline_id),
            payload: Set(n.payload.clone()),
            created_at: Set(*at),
            sent_at: Set(None),
            attempts: Set(0),
            last_error: Set(None),
            status: Set("queued".into()),
            next_attempt_at: Set(None),
            claimed_until: Set(None),
            claimed_by: Set(None),
            message_id: Set(None),
            recipient: Set(None),
            staff_account_id: Set(n.staff_account_id),
        }))
        // A key already queued, or twice among these, is skipped.
        .on_conflict_do_nothing_on([notice::Column::DedupeKey])
        .exec_without_returning(conn)
        .await?;
        if let sea_orm::TryInsertResult::Inserted(n) = result {
            queued += usize::try_from(n).unwrap_or(0);
        }
    }
    Ok(queued)
}
