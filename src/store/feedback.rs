//! Feedback items: the intake transaction, tracking-code allocation, and the
//! reads behind the citizen's lookup.
//!
//! An item acknowledged with HTTP 201 must survive a crash, so the item, its
//! attachments, its first audit event and its idempotency record are written
//! in one transaction that commits before the response is sent.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbBackend, EntityTrait,
    QueryFilter, QueryOrder, Statement, TransactionTrait,
};
use uuid::Uuid;

use super::entities::{
    attachment, attachment_blob, audit_event, feedback_item, idempotency_record,
};
use super::{Store, StoreError, sql};
use crate::domain::ids::{AgencyId, FeedbackId, FieldId};
use crate::domain::time::vietnam_date;
use crate::domain::tracking::TrackingCode;

/// Everything the intake transaction writes, already validated and
/// resolved against the directory.
#[derive(Debug, Clone)]
pub struct NewFeedbackRecord {
    pub id: FeedbackId,
    pub province_code: String,
    pub lookup_token_hash: Vec<u8>,
    pub kind: String,
    pub content_category: Option<String>,
    pub channel: String,
    pub title: String,
    pub content: String,
    pub search_text: String,
    pub language_flagged: bool,
    pub field_id: Option<FieldId>,
    pub agency_hint_id: Option<AgencyId>,
    pub submitter_type: String,
    pub submitter_name: String,
    pub organization_name: Option<String>,
    pub address_detail: String,
    pub address_province_code: Option<String>,
    pub address_commune_code: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub consent_to_publish: bool,
    pub state: String,
    pub receiving_agency_id: AgencyId,
    pub received_at: DateTime<Utc>,
    pub attachments: Vec<NewAttachment>,
    pub audit: AuditEntry,
}

#[derive(Debug, Clone)]
pub struct NewAttachment {
    pub file_name: String,
    pub file_kind: String,
    pub media_type: String,
    pub sha256: String,
    pub content: Vec<u8>,
    pub source: String,
}

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

/// The idempotency record written with the item, if the client sent a key.
#[derive(Debug, Clone)]
pub struct IdempotencyWrite {
    pub key_hash: String,
    pub request_hash: String,
    pub sealed_token: Vec<u8>,
}

#[derive(Debug, Clone)]
pub struct StoredIdempotency {
    pub request_hash: String,
    pub response_body: serde_json::Value,
    pub sealed_token: Vec<u8>,
    pub created_at: DateTime<Utc>,
}

/// A stored item with its attachments and audit history, as read back.
#[derive(Debug, Clone)]
pub struct FeedbackRow {
    pub item: feedback_item::Model,
    pub attachments: Vec<attachment::Model>,
}

pub use audit_event::Model as AuditEventRow;

/// Attempts at a tracking code before giving up; only a counter that fell
/// behind (a restored backup, a lost asynchronous commit) ever needs more
/// than one.
const ALLOCATION_ATTEMPTS: usize = 3;

impl Store {
    /// Writes a new item and everything that goes with it. `response_body`
    /// builds the idempotency record's stored answer once the tracking code
    /// is known.
    pub async fn insert_feedback(
        &self,
        record: &NewFeedbackRecord,
        idempotency: Option<&IdempotencyWrite>,
        response_body: impl Fn(&TrackingCode) -> serde_json::Value,
    ) -> Result<TrackingCode, StoreError> {
        let day = vietnam_date(record.received_at);
        let mut last_err = None;
        for _ in 0..ALLOCATION_ATTEMPTS {
            match self
                .try_insert_feedback(record, day, idempotency, &response_body)
                .await
            {
                Ok(code) => return Ok(code),
                Err(StoreError::Conflict(m)) if m.contains("tracking_code") => {
                    tracing::warn!(province = %record.province_code, %day, "tracking sequence behind existing codes; resynchronising");
                    self.resync_sequence(&record.province_code, day).await?;
                    last_err = Some(StoreError::Conflict(m));
                }
                Err(e) => return Err(e),
            }
        }
        Err(last_err
            .unwrap_or_else(|| StoreError::Integrity("tracking code allocation failed".into())))
    }

    async fn try_insert_feedback(
        &self,
        record: &NewFeedbackRecord,
        day: NaiveDate,
        idempotency: Option<&IdempotencyWrite>,
        response_body: &impl Fn(&TrackingCode) -> serde_json::Value,
    ) -> Result<TrackingCode, StoreError> {
        let db = self.connection();
        let backend = self.backend();
        // PostgreSQL: take the number in one autocommit statement before the
        // intake transaction. Every submission of the day shares the counter
        // row, so its lock must last one statement and its commit, never a
        // client round trip. A number taken by a transaction that then fails
        // is skipped (a gap, never a duplicate). SQLite has a single writer
        // anyway, so the number is taken inside the intake transaction and
        // none is ever skipped.
        let txn;
        let sequence = if backend == DbBackend::Postgres {
            let seq = next_sequence(db, &record.province_code, day).await?;
            txn = db.begin().await?;
            seq
        } else {
            txn = db.begin().await?;
            next_sequence(&txn, &record.province_code, day).await?
        };
        let sequence = u32::try_from(sequence)
            .map_err(|_| StoreError::Integrity("daily sequence overflow".into()))?;
        let code = TrackingCode::new(&record.province_code, day, sequence);
        write_item(&txn, record, &code).await?;
        if let Some(idem) = idempotency {
            idempotency_record::Entity::insert(idempotency_record::ActiveModel {
                key_hash: Set(idem.key_hash.clone()),
                request_hash: Set(idem.request_hash.clone()),
                feedback_item_id: Set(record.id.as_uuid()),
                response_body: Set(response_body(&code)),
                sealed_token: Set(idem.sealed_token.clone()),
                created_at: Set(record.received_at),
            })
            .exec_without_returning(&txn)
            .await?;
        }
        txn.commit().await?;
        Ok(code)
    }

    /// Moves the day's counter past every code already issued.
    async fn resync_sequence(&self, province_code: &str, day: NaiveDate) -> Result<(), StoreError> {
        let prefix = TrackingCode::new(province_code, day, 1).to_string();
        let prefix = prefix.trim_end_matches("0001");
        let codes: Vec<String> = feedback_item::Entity::find()
            .filter(feedback_item::Column::TrackingCode.starts_with(prefix))
            .all(self.connection())
            .await?
            .into_iter()
            .map(|m| m.tracking_code)
            .collect();
        let max = codes
            .iter()
            .filter_map(|c| c.parse::<TrackingCode>().ok())
            .map(|c| i64::from(c.sequence()))
            .max()
            .unwrap_or(0);
        let backend = self.backend();
        self.connection()
            .execute_raw(Statement::from_sql_and_values(
                backend,
                sql(backend, "UPDATE tracking_sequence SET last_value = $1 WHERE province_code = $2 AND day = $3 AND last_value < $1"),
                [max.into(), province_code.into(), day.into()],
            ))
            .await?;
        Ok(())
    }

    pub async fn find_idempotency(
        &self,
        key_hash: &str,
    ) -> Result<Option<StoredIdempotency>, StoreError> {
        Ok(idempotency_record::Entity::find_by_id(key_hash.to_string())
            .one(self.connection())
            .await?
            .map(|r| StoredIdempotency {
                request_hash: r.request_hash,
                response_body: r.response_body,
                sealed_token: r.sealed_token,
                created_at: r.created_at,
            }))
    }

    /// Forgets idempotency keys older than `cutoff`.
    pub async fn purge_idempotency(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError> {
        Ok(idempotency_record::Entity::delete_many()
            .filter(idempotency_record::Column::CreatedAt.lt(cutoff))
            .exec(self.connection())
            .await?
            .rows_affected)
    }

    pub async fn find_feedback_by_code(
        &self,
        code: &TrackingCode,
    ) -> Result<Option<FeedbackRow>, StoreError> {
        let db = self.connection();
        let Some(item) = feedback_item::Entity::find()
            .filter(feedback_item::Column::TrackingCode.eq(code.to_string()))
            .one(db)
            .await?
        else {
            return Ok(None);
        };
        let attachments = attachment::Entity::find()
            .filter(attachment::Column::FeedbackItemId.eq(item.id))
            .order_by_asc(attachment::Column::CreatedAt)
            .all(db)
            .await?;
        Ok(Some(FeedbackRow { item, attachments }))
    }

    pub async fn audit_events_for(
        &self,
        item_id: FeedbackId,
    ) -> Result<Vec<AuditEventRow>, StoreError> {
        Ok(audit_event::Entity::find()
            .filter(audit_event::Column::FeedbackItemId.eq(item_id.as_uuid()))
            .order_by_asc(audit_event::Column::OccurredAt)
            .order_by_asc(audit_event::Column::Id)
            .all(self.connection())
            .await?)
    }

    pub async fn attachment_content(&self, sha256: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(attachment_blob::Entity::find_by_id(sha256.to_string())
            .one(self.connection())
            .await?
            .map(|b| b.content))
    }

    pub async fn count_feedback(&self) -> Result<u64, StoreError> {
        use sea_orm::PaginatorTrait;
        Ok(feedback_item::Entity::find()
            .count(self.connection())
            .await?)
    }
}

async fn next_sequence<C: ConnectionTrait>(
    conn: &C,
    province_code: &str,
    day: NaiveDate,
) -> Result<i64, StoreError> {
    let backend = conn.get_database_backend();
    let row = conn
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            sql(
                backend,
                "INSERT INTO tracking_sequence (province_code, day, last_value) VALUES ($1, $2, 1) \
                 ON CONFLICT (province_code, day) DO UPDATE SET last_value = tracking_sequence.last_value + 1 \
                 RETURNING last_value",
            ),
            [province_code.into(), day.into()],
        ))
        .await?
        .ok_or_else(|| StoreError::Integrity("sequence upsert returned no row".into()))?;
    Ok(row.try_get::<i64>("", "last_value")?)
}

async fn write_item(
    txn: &DatabaseTransaction,
    r: &NewFeedbackRecord,
    code: &TrackingCode,
) -> Result<(), StoreError> {
    feedback_item::Entity::insert(feedback_item::ActiveModel {
        id: Set(r.id.as_uuid()),
        tracking_code: Set(code.to_string()),
        lookup_token_hash: Set(r.lookup_token_hash.clone()),
        kind: Set(r.kind.clone()),
        content_category: Set(r.content_category.clone()),
        channel: Set(r.channel.clone()),
        title: Set(r.title.clone()),
        content: Set(r.content.clone()),
        search_text: Set(r.search_text.clone()),
        language_flagged: Set(r.language_flagged),
        field_id: Set(r.field_id.map(FieldId::as_uuid)),
        agency_hint_id: Set(r.agency_hint_id.map(AgencyId::as_uuid)),
        submitter_type: Set(r.submitter_type.clone()),
        submitter_name: Set(r.submitter_name.clone()),
        organization_name: Set(r.organization_name.clone()),
        address_detail: Set(r.address_detail.clone()),
        address_province_code: Set(r.address_province_code.clone()),
        address_commune_code: Set(r.address_commune_code.clone()),
        phone: Set(r.phone.clone()),
        email: Set(r.email.clone()),
        consent_to_publish: Set(r.consent_to_publish),
        state: Set(r.state.clone()),
        receiving_agency_id: Set(r.receiving_agency_id.as_uuid()),
        handling_agency_id: Set(None),
        received_at: Set(r.received_at),
        due_at: Set(None),
        answer: Set(None),
        answered_at: Set(None),
        created_at: Set(r.received_at),
        updated_at: Set(r.received_at),
        version: Set(1),
    })
    .exec_without_returning(txn)
    .await?;
    for a in &r.attachments {
        attachment_blob::Entity::insert(attachment_blob::ActiveModel {
            sha256: Set(a.sha256.clone()),
            size_bytes: Set(i64::try_from(a.content.len()).unwrap_or(i64::MAX)),
            content: Set(a.content.clone()),
            created_at: Set(r.received_at),
        })
        .on_conflict_do_nothing_on([attachment_blob::Column::Sha256])
        .exec_without_returning(txn)
        .await?;
        attachment::Entity::insert(attachment::ActiveModel {
            id: Set(Uuid::now_v7()),
            feedback_item_id: Set(r.id.as_uuid()),
            file_name: Set(a.file_name.clone()),
            file_kind: Set(a.file_kind.clone()),
            media_type: Set(a.media_type.clone()),
            size_bytes: Set(i64::try_from(a.content.len()).unwrap_or(i64::MAX)),
            sha256: Set(a.sha256.clone()),
            source: Set(a.source.clone()),
            created_at: Set(r.received_at),
        })
        .exec_without_returning(txn)
        .await?;
    }
    write_audit(txn, Some(r.id), &r.audit, r.received_at).await
}

pub(crate) async fn write_audit<C: ConnectionTrait>(
    conn: &C,
    item_id: Option<FeedbackId>,
    entry: &AuditEntry,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    audit_event::Entity::insert(audit_event::ActiveModel {
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
        occurred_at: Set(at),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(())
}
