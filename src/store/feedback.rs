//! Feedback items: the intake transaction, tracking-code allocation, and the
//! reads behind the citizen's lookup.
//!
//! An item acknowledged with HTTP 201 must survive a crash, so the item, its
//! attachments, its first audit event and its idempotency record are written
//! in one transaction that commits before the response is sent.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    DbBackend, EntityTrait, QueryFilter, QueryOrder, Statement, TransactionTrait, Value,
};
use uuid::Uuid;

use super::deadlines::NewDeadline;
use super::entities::{
    attachment, attachment_blob, audit_event, feedback_item, idempotency_record,
};
use super::journal::{AuditEntry, NewNotice, queue_notices_at, queue_notices_in, write_audits};
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
    /// Set at intake only when an agency registers an item it received
    /// itself (it holds it from the start).
    pub handling_agency_id: Option<AgencyId>,
    /// When the item really reached the agency (deadlines count from it).
    pub received_at: DateTime<Utc>,
    /// When it was registered here (the tracking code's date; equal to
    /// `received_at` for the web form and e-mail, later for a letter or a
    /// call keyed in afterwards).
    pub registered_at: DateTime<Utc>,
    /// The staff member who keyed it in, and the channel's intake details
    /// (caller number, postmark date…), for staff-entered items.
    pub entered_by: Option<uuid::Uuid>,
    pub intake_details: Option<serde_json::Value>,
    /// The publicity source it came through (web form links).
    pub source_code: Option<String>,
    /// The answer deadline, copied onto the item for the queue's sort.
    pub due_at: Option<DateTime<Utc>>,
    pub deadlines: Vec<NewDeadline>,
    /// Send the submitter the acknowledgement (queued in the outbox with
    /// the item: it exists if and only if the item does).
    pub acknowledge: bool,
    pub attachments: Vec<NewAttachment>,
    pub audit: AuditEntry,
    /// The e-mail it came in (logged with the item, in one transaction:
    /// the same message cannot make two items).
    pub inbound_mail: Option<super::mail::NewInboundMail>,
    /// Further notices queued with the item; their payload's
    /// `tracking_code` is filled in once the code is known.
    pub extra_notices: Vec<NewNotice>,
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

/// A file attached to an item (its content is stored by digest).
pub use attachment::Model as AttachmentRow;
/// A stored item's own row.
pub use feedback_item::Model as ItemRow;

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
        let day = vietnam_date(record.registered_at);
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
        let simple = record.attachments.is_empty()
            && idempotency.is_none()
            && record.inbound_mail.is_none()
            && record.extra_notices.is_empty();
        // PostgreSQL numbers from a per-day sequence (no row lock, shared
        // by every instance), created here on the day's first item; a
        // number drawn by a statement that then fails is skipped: a gap,
        // never a duplicate. SQLite has one writer at a time and takes
        // numbers from the day's counter row inside the transaction, so
        // none is ever skipped.
        if self.backend() == DbBackend::Postgres {
            self.ensure_tracking_sequence(&record.province_code, day)
                .await?;
        }
        let code = if simple {
            // A plain submission joins the next group commit: one commit
            // (one flush to disk) for every submission waiting.
            self.intake_writer.submit(db, record.clone()).await?
        } else {
            // One with files, a key or mail keeps a transaction of its own.
            let txn = db.begin().await?;
            let code = insert_new_items(&txn, &[record])
                .await?
                .pop()
                .ok_or_else(|| StoreError::Integrity("item insert wrote nothing".into()))?;
            write_extras(&txn, record, idempotency, response_body(&code)).await?;
            write_mail_extras(&txn, record, &code).await?;
            txn.commit().await?;
            code
        };
        Ok(code)
    }

    /// Makes sure the day's PostgreSQL sequence exists, created on first
    /// use (and started past any code already issued that day, e.g. by an
    /// earlier version).
    async fn ensure_tracking_sequence(
        &self,
        province_code: &str,
        day: NaiveDate,
    ) -> Result<(), StoreError> {
        let name = tracking_sequence_name(province_code, day)?;
        if self
            .known_sequences()
            .lock()
            .is_ok_and(|known| known.contains(&name))
        {
            return Ok(());
        }
        let db = self.connection();
        if !sequence_exists(db, &name).await? {
            // Two instances may race to create it; the loser's error is fine
            // as long as the sequence exists afterwards.
            let created = db
                .execute_unprepared(&format!("CREATE SEQUENCE IF NOT EXISTS {name}"))
                .await;
            if !sequence_exists(db, &name).await? {
                created?;
                return Err(StoreError::Integrity(format!(
                    "sequence {name} could not be created"
                )));
            }
            self.resync_sequence(province_code, day).await?;
        }
        if let Ok(mut known) = self.known_sequences().lock() {
            known.insert(name);
        }
        Ok(())
    }

    /// Moves the day's counter past every code already issued.
    async fn resync_sequence(&self, province_code: &str, day: NaiveDate) -> Result<(), StoreError> {
        let prefix = tracking_prefix(province_code, day);
        let codes: Vec<String> = feedback_item::Entity::find()
            .filter(feedback_item::Column::TrackingCode.starts_with(&prefix))
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
        if backend == DbBackend::Postgres {
            if max > 0 {
                let name = tracking_sequence_name(province_code, day)?;
                self.connection()
                    .execute_raw(Statement::from_sql_and_values(
                        backend,
                        "SELECT setval($1::regclass, GREATEST($2, (SELECT last_value FROM pg_sequences WHERE sequencename = $3)))",
                        [name.clone().into(), max.into(), name.into()],
                    ))
                    .await?;
            }
            return Ok(());
        }
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

/// Takes `count` tracking numbers of the province's day from its counter
/// row (SQLite, inside the writer's transaction); returns the last.
async fn take_numbers<C: ConnectionTrait>(
    conn: &C,
    province_code: &str,
    day: NaiveDate,
    count: i64,
) -> Result<i64, StoreError> {
    let backend = conn.get_database_backend();
    let row = conn
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            sql(
                backend,
                "INSERT INTO tracking_sequence (province_code, day, last_value) VALUES ($1, $2, $3) \
                 ON CONFLICT (province_code, day) DO UPDATE SET last_value = tracking_sequence.last_value + excluded.last_value \
                 RETURNING last_value",
            ),
            [province_code.into(), day.into(), count.into()],
        ))
        .await?
        .ok_or_else(|| StoreError::Integrity("sequence upsert returned no row".into()))?;
    Ok(row.try_get::<i64>("", "last_value")?)
}

/// The items' tracking codes, in their order: one counter update per
/// province and day among them, so the numbers have no gaps.
async fn take_tracking_codes<C: ConnectionTrait>(
    conn: &C,
    records: &[&NewFeedbackRecord],
) -> Result<Vec<TrackingCode>, StoreError> {
    let mut keys: Vec<(String, NaiveDate)> = Vec::with_capacity(records.len());
    for r in records {
        keys.push((r.province_code.clone(), vietnam_date(r.registered_at)));
    }
    let mut counts: Vec<((String, NaiveDate), i64)> = Vec::new();
    for key in &keys {
        match counts.iter_mut().find(|(k, _)| k == key) {
            Some((_, n)) => *n += 1,
            None => counts.push((key.clone(), 1)),
        }
    }
    // Each key's next number to hand out.
    let mut next = Vec::with_capacity(counts.len());
    for ((province, day), count) in counts {
        let last = take_numbers(conn, &province, day, count).await?;
        next.push(((province, day), last - count + 1));
    }
    keys.iter()
        .map(|key| {
            let (_, number) = next
                .iter_mut()
                .find(|(k, _)| k == key)
                .ok_or_else(|| StoreError::Integrity("tracking key not counted".into()))?;
            let sequence = u32::try_from(*number)
                .map_err(|_| StoreError::Integrity("daily sequence overflow".into()))?;
            *number += 1;
            Ok(TrackingCode::new(&key.0, key.1, sequence))
        })
        .collect()
}

/// The item's columns and values, except the tracking code, shared by
/// both databases' insert statements.
fn item_columns(r: &NewFeedbackRecord) -> (Vec<&'static str>, Vec<Value>) {
    let at = r.registered_at;
    let pairs: Vec<(&'static str, Value)> = vec![
        ("id", r.id.as_uuid().into()),
        ("lookup_token_hash", r.lookup_token_hash.clone().into()),
        ("kind", r.kind.clone().into()),
        ("content_category", r.content_category.clone().into()),
        ("channel", r.channel.clone().into()),
        ("title", r.title.clone().into()),
        ("content", r.content.clone().into()),
        ("search_text", r.search_text.clone().into()),
        ("language_flagged", r.language_flagged.into()),
        ("field_id", r.field_id.map(FieldId::as_uuid).into()),
        (
            "agency_hint_id",
            r.agency_hint_id.map(AgencyId::as_uuid).into(),
        ),
        ("submitter_type", r.submitter_type.clone().into()),
        ("submitter_name", r.submitter_name.clone().into()),
        ("organization_name", r.organization_name.clone().into()),
        ("address_detail", r.address_detail.clone().into()),
        (
            "address_province_code",
            r.address_province_code.clone().into(),
        ),
        (
            "address_commune_code",
            r.address_commune_code.clone().into(),
        ),
        ("phone", r.phone.clone().into()),
        ("email", r.email.clone().into()),
        ("consent_to_publish", r.consent_to_publish.into()),
        ("state", r.state.clone().into()),
        (
            "receiving_agency_id",
            r.receiving_agency_id.as_uuid().into(),
        ),
        (
            "handling_agency_id",
            r.handling_agency_id.map(AgencyId::as_uuid).into(),
        ),
        ("received_at", r.received_at.into()),
        ("due_at", r.due_at.into()),
        ("entered_by_staff_id", r.entered_by.into()),
        ("intake_details", r.intake_details.clone().into()),
        ("source_code", r.source_code.clone().into()),
        ("created_at", at.into()),
        ("updated_at", at.into()),
        ("version", 1i32.into()),
    ];
    pairs.into_iter().unzip()
}

/// The `$n` placeholders of `row`'s values, appended to `values`:
/// `($4, $5, $6)`.
fn placeholders(values: &mut Vec<Value>, row: Vec<Value>) -> String {
    let first = values.len() + 1;
    let tuple = (first..first + row.len())
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ");
    values.extend(row);
    format!("({tuple})")
}

/// A day's tracking codes without their number: `PAKN.48.20261204.`.
fn tracking_prefix(province_code: &str, day: NaiveDate) -> String {
    let code = TrackingCode::new(province_code, day, 1).to_string();
    code.trim_end_matches("0001").to_string()
}

/// Writes new items on PostgreSQL in one statement (a data-modifying
/// CTE), however many: the items, each numbered from its day's sequence
/// (which must exist) as it is inserted, their first audit events,
/// deadlines and acknowledgements (which name the code drawn). One
/// statement is atomic: if it fails, nothing of it is kept (numbers drawn
/// are skipped, a gap, never a duplicate). Answers the codes in the
/// records' order. Every statement costs the database far more than a
/// row (protocol, planning, locks on each table and its indexes, the
/// commit): eight items in one statement took 6,500–8,000 items/s on this
/// machine where one a statement took 3,500–4,400 (pgbench,
/// benches/README). A group commit's batch of 64 binds about 6,500
/// parameters, a tenth of PostgreSQL's limit.
async fn insert_items_pg<C: ConnectionTrait>(
    conn: &C,
    batch: &[&NewFeedbackRecord],
) -> Result<Vec<TrackingCode>, StoreError> {
    let mut values: Vec<Value> = Vec::new();
    let mut item_columns_named: Vec<&'static str> = Vec::new();
    let mut item_rows = Vec::with_capacity(batch.len());
    for r in batch {
        let day = vietnam_date(r.registered_at);
        let (columns, mut row) = item_columns(r);
        item_columns_named = columns;
        row.push(tracking_prefix(&r.province_code, day).into());
        row.push(tracking_sequence_name(&r.province_code, day)?.into());
        item_rows.push(placeholders(&mut values, row));
    }
    let mut audit_rows = Vec::with_capacity(batch.len());
    for r in batch {
        let a = &r.audit;
        audit_rows.push(placeholders(
            &mut values,
            vec![
                Uuid::now_v7().into(),
                r.id.as_uuid().into(),
                a.actor_kind.clone().into(),
                a.actor_id.clone().into(),
                a.action.clone().into(),
                a.from_state.clone().into(),
                a.to_state.clone().into(),
                a.reason.clone().into(),
                a.details.clone().into(),
                a.request_id.clone().into(),
                r.registered_at.into(),
            ],
        ));
    }
    // The deadlines and acknowledgements refer to items inserted by the
    // same statement: foreign keys are checked at its end.
    let mut deadline_columns: Vec<&'static str> = Vec::new();
    let mut deadline_rows = Vec::new();
    for r in batch {
        for d in &r.deadlines {
            let (columns, row): (Vec<&'static str>, Vec<Value>) =
                d.columns(r.id, r.registered_at).into_iter().unzip();
            deadline_columns = columns;
            deadline_rows.push(placeholders(&mut values, row));
        }
    }
    let mut ack_rows = Vec::new();
    for r in batch.iter().filter(|r| r.acknowledge) {
        ack_rows.push(placeholders(
            &mut values,
            vec![
                r.id.as_uuid().into(),
                Uuid::now_v7().into(),
                acknowledgement_key(r).into(),
                r.receiving_agency_id.as_uuid().into(),
                r.registered_at.into(),
            ],
        ));
    }
    let columns = item_columns_named.join(", ");
    let mut sql = format!(
        "WITH v ({columns}, tracking_prefix, tracking_sequence) AS (VALUES {rows}), \
         item AS (INSERT INTO feedback_item ({columns}, tracking_code) \
                  SELECT {columns}, tracking_prefix || CASE WHEN n < 10000 THEN lpad(n::text, 4, '0') ELSE n::text END \
                  FROM (SELECT v.*, nextval(tracking_sequence::regclass) AS n FROM v) numbered \
                  RETURNING id, tracking_code), \
         audit AS (INSERT INTO audit_event (id, feedback_item_id, actor_kind, actor_id, action, from_state, to_state, reason, details, request_id, occurred_at) \
                   VALUES {audits})",
        rows = item_rows.join(", "),
        audits = audit_rows.join(", "),
    );
    if !deadline_rows.is_empty() {
        sql.push_str(&format!(
            ", deadlines AS (INSERT INTO feedback_deadline ({}) VALUES {})",
            deadline_columns.join(", "),
            deadline_rows.join(", ")
        ));
    }
    if !ack_rows.is_empty() {
        sql.push_str(&format!(
            ", ack AS (INSERT INTO notice (id, dedupe_key, kind, audience, agency_id, feedback_item_id, deadline_id, payload, created_at, sent_at, attempts, last_error) \
               SELECT a.id, a.dedupe_key, 'citizen_acknowledgement', 'submitter', a.agency_id, item.id, NULL, json_build_object('tracking_code', item.tracking_code), a.created_at, NULL, 0, NULL \
               FROM (VALUES {}) a (item_id, id, dedupe_key, agency_id, created_at) JOIN item ON item.id = a.item_id)",
            ack_rows.join(", ")
        ));
    }
    sql.push_str(" SELECT id, tracking_code FROM item");
    let rows = conn
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
            values,
        ))
        .await?;
    // Outside a transaction (the group commit's) the statement has
    // committed by now: anything wrong with its answer is an
    // inconsistency, not a refusal (the group commit writes a refused
    // batch again; it must not write this one twice).
    let unreadable = |e: sea_orm::DbErr| StoreError::Integrity(format!("item insert answer: {e}"));
    let mut drawn = std::collections::HashMap::with_capacity(rows.len());
    for row in rows {
        let id: Uuid = row.try_get("", "id").map_err(unreadable)?;
        let code: String = row.try_get("", "tracking_code").map_err(unreadable)?;
        let code: TrackingCode = code
            .parse()
            .map_err(|_| StoreError::Integrity(format!("malformed tracking code {code}")))?;
        drawn.insert(id, code);
    }
    batch
        .iter()
        .map(|r| {
            drawn
                .remove(&r.id.as_uuid())
                .ok_or_else(|| StoreError::Integrity("an item insert returned no code".into()))
        })
        .collect()
}

/// The dedupe key of a new item's acknowledgement: one per item.
fn acknowledgement_key(r: &NewFeedbackRecord) -> String {
    format!("{}:citizen_acknowledgement", r.id.as_uuid())
}

/// The acknowledgement notice of a new item (SQLite; PostgreSQL builds it
/// in its statement, which draws the code).
fn acknowledgement(r: &NewFeedbackRecord, code: &TrackingCode) -> NewNotice {
    NewNotice {
        dedupe_key: acknowledgement_key(r),
        kind: "citizen_acknowledgement".into(),
        audience: "submitter".into(),
        agency_id: r.receiving_agency_id.as_uuid(),
        feedback_item_id: Some(r.id.as_uuid()),
        deadline_id: None,
        staff_account_id: None,
        payload: serde_json::json!({"tracking_code": code.to_string()}),
    }
}

/// The items' deadlines in one statement (SQLite; PostgreSQL writes them
/// in `insert_items_pg`'s statement).
async fn insert_deadlines<C: ConnectionTrait>(
    conn: &C,
    records: &[&NewFeedbackRecord],
) -> Result<(), StoreError> {
    let mut rows = Vec::new();
    for r in records {
        for d in &r.deadlines {
            rows.push(d.columns(r.id, r.registered_at));
        }
    }
    insert_rows(conn, "feedback_deadline", rows).await
}

/// One multi-row INSERT of `rows` into `table`; every row has the same
/// columns in the same order (each table's rows come from one function).
/// Callers keep rows × columns under SQLite's 32,766 parameters: a group
/// commit's batch is at most 64 items of 33 columns, or 192 deadlines.
async fn insert_rows<C: ConnectionTrait>(
    conn: &C,
    table: &str,
    rows: Vec<Vec<(&'static str, Value)>>,
) -> Result<(), StoreError> {
    let backend = conn.get_database_backend();
    let mut columns: Vec<&'static str> = Vec::new();
    let mut values: Vec<Value> = Vec::new();
    let mut tuples = Vec::new();
    for row in rows {
        let (names, row): (Vec<&'static str>, Vec<Value>) = row.into_iter().unzip();
        columns = names;
        tuples.push(placeholders(&mut values, row));
    }
    if tuples.is_empty() {
        return Ok(());
    }
    conn.execute_raw(Statement::from_sql_and_values(
        backend,
        sql(
            backend,
            &format!(
                "INSERT INTO {table} ({}) VALUES {}",
                columns.join(", "),
                tuples.join(", ")
            ),
        ),
        values,
    ))
    .await?;
    Ok(())
}

/// Stores `attachments` of `item` (contents deduplicated by digest) in
/// the caller's transaction.
pub(crate) async fn write_attachments<C: sea_orm::ConnectionTrait>(
    txn: &C,
    item: FeedbackId,
    attachments: &[NewAttachment],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    for a in attachments {
        attachment_blob::Entity::insert(attachment_blob::ActiveModel {
            sha256: Set(a.sha256.clone()),
            size_bytes: Set(i64::try_from(a.content.len()).unwrap_or(i64::MAX)),
            content: Set(a.content.clone()),
            created_at: Set(now),
        })
        .on_conflict_do_nothing_on([attachment_blob::Column::Sha256])
        .exec_without_returning(txn)
        .await?;
        attachment::Entity::insert(attachment::ActiveModel {
            id: Set(Uuid::now_v7()),
            feedback_item_id: Set(item.as_uuid()),
            file_name: Set(a.file_name.clone()),
            file_kind: Set(a.file_kind.clone()),
            media_type: Set(a.media_type.clone()),
            size_bytes: Set(i64::try_from(a.content.len()).unwrap_or(i64::MAX)),
            sha256: Set(a.sha256.clone()),
            source: Set(a.source.clone()),
            created_at: Set(now),
        })
        .exec_without_returning(txn)
        .await?;
    }
    Ok(())
}

/// Attachments and the idempotency record, in the intake transaction.
async fn write_extras(
    txn: &DatabaseTransaction,
    r: &NewFeedbackRecord,
    idempotency: Option<&IdempotencyWrite>,
    response_body: serde_json::Value,
) -> Result<(), StoreError> {
    write_attachments(txn, r.id, &r.attachments, r.registered_at).await?;
    if let Some(idem) = idempotency {
        idempotency_record::Entity::insert(idempotency_record::ActiveModel {
            key_hash: Set(idem.key_hash.clone()),
            request_hash: Set(idem.request_hash.clone()),
            feedback_item_id: Set(r.id.as_uuid()),
            response_body: Set(response_body),
            sealed_token: Set(idem.sealed_token.clone()),
            created_at: Set(r.registered_at),
        })
        .exec_without_returning(txn)
        .await?;
    }
    Ok(())
}

/// The e-mail's log entry and the extra notices (e-mail intake).
async fn write_mail_extras(
    txn: &DatabaseTransaction,
    r: &NewFeedbackRecord,
    code: &TrackingCode,
) -> Result<(), StoreError> {
    if let Some(mail) = &r.inbound_mail {
        super::mail::insert_inbound_mail_in(txn, mail).await?;
    }
    if !r.extra_notices.is_empty() {
        let notices: Vec<NewNotice> = r
            .extra_notices
            .iter()
            .cloned()
            .map(|mut n| {
                n.payload["tracking_code"] = code.to_string().into();
                n
            })
            .collect();
        queue_notices_in(txn, &notices, r.registered_at).await?;
    }
    Ok(())
}

async fn sequence_exists<C: ConnectionTrait>(conn: &C, name: &str) -> Result<bool, StoreError> {
    let row = conn
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT to_regclass($1) IS NOT NULL AS present",
            [name.into()],
        ))
        .await?;
    Ok(row
        .map(|r| r.try_get::<bool>("", "present"))
        .transpose()?
        .unwrap_or(false))
}

/// `tracking_<province>_<yyyymmdd>`: built only from validated digits.
fn tracking_sequence_name(province_code: &str, day: NaiveDate) -> Result<String, StoreError> {
    if province_code.len() != 2 || !province_code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(StoreError::Integrity(format!(
            "bad province code {province_code:?}"
        )));
    }
    Ok(format!("tracking_{province_code}_{}", day.format("%Y%m%d")))
}

impl Store {
    /// Drops PostgreSQL tracking sequences of days more than `keep_days`
    /// before `today` (they are only drawn from on their own day). Safe to
    /// run from several instances at once. Returns how many were dropped.
    pub async fn drop_stale_tracking_sequences(
        &self,
        today: NaiveDate,
        keep_days: i64,
    ) -> Result<usize, StoreError> {
        if self.backend() != DbBackend::Postgres {
            return Ok(0);
        }
        let cutoff = today - chrono::Duration::days(keep_days);
        let rows = self
            .connection()
            .query_all_raw(Statement::from_string(
                DbBackend::Postgres,
                "SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema() AND sequencename LIKE 'tracking\\_%'",
            ))
            .await?;
        let mut dropped = 0;
        for row in rows {
            let name: String = row.try_get("", "sequencename")?;
            let day = name
                .rsplit('_')
                .next()
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y%m%d").ok());
            let valid_name = name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
            if let Some(day) = day
                && day < cutoff
                && valid_name
            {
                self.connection()
                    .execute_unprepared(&format!("DROP SEQUENCE IF EXISTS {name}"))
                    .await?;
                if let Ok(mut known) = self.known_sequences().lock() {
                    known.remove(&name);
                }
                dropped += 1;
            }
        }
        Ok(dropped)
    }
}

/// Writes new SQLite items numbered `codes`, in their order: the items,
/// their audit events, deadlines and acknowledgements, one statement for
/// each table whatever their number (a group commit's batch is one round
/// trip to the database per table, not one per item).
async fn write_new_items<C: ConnectionTrait>(
    txn: &C,
    records: &[&NewFeedbackRecord],
    codes: &[TrackingCode],
) -> Result<(), StoreError> {
    let mut items = Vec::with_capacity(records.len());
    for (r, code) in records.iter().zip(codes) {
        let (columns, values) = item_columns(r);
        let mut row: Vec<(&'static str, Value)> = columns.into_iter().zip(values).collect();
        row.push(("tracking_code", code.to_string().into()));
        items.push(row);
    }
    insert_rows(txn, "feedback_item", items).await?;
    let audits: Vec<_> = records
        .iter()
        .map(|r| (Some(r.id), &r.audit, r.registered_at))
        .collect();
    write_audits(txn, &audits).await?;
    insert_deadlines(txn, records).await?;
    let acknowledgements: Vec<(NewNotice, DateTime<Utc>)> = records
        .iter()
        .zip(codes)
        .filter(|(r, _)| r.acknowledge)
        .map(|(r, code)| (acknowledgement(r, code), r.registered_at))
        .collect();
    let acknowledgements: Vec<_> = acknowledgements.iter().map(|(n, at)| (n, *at)).collect();
    queue_notices_at(txn, &acknowledgements).await?;
    Ok(())
}

/// Writes new items and answers their codes in the records' order:
/// PostgreSQL in one statement (`insert_items_pg`); SQLite, inside the
/// caller's transaction, numbered from the day's counter row (gap-free)
/// and then `write_new_items`.
async fn insert_new_items<C: ConnectionTrait>(
    conn: &C,
    records: &[&NewFeedbackRecord],
) -> Result<Vec<TrackingCode>, StoreError> {
    if conn.get_database_backend() == DbBackend::Postgres {
        return insert_items_pg(conn, records).await;
    }
    let codes = take_tracking_codes(conn, records).await?;
    write_new_items(conn, records, &codes).await?;
    Ok(codes)
}

/// Writes a group commit's batch and commits it; on failure nothing of it
/// is kept. PostgreSQL's one statement needs no transaction of its own (a
/// statement is atomic and commits by itself); SQLite's statements share
/// one.
async fn insert_batch(
    db: &DatabaseConnection,
    records: &[NewFeedbackRecord],
) -> Result<Vec<TrackingCode>, StoreError> {
    let records: Vec<&NewFeedbackRecord> = records.iter().collect();
    if db.get_database_backend() == DbBackend::Postgres {
        return insert_new_items(db, &records).await;
    }
    let txn = db.begin().await?;
    match insert_new_items(&txn, &records).await {
        Ok(codes) => {
            txn.commit().await?;
            Ok(codes)
        }
        Err(e) => {
            txn.rollback().await?;
            Err(e)
        }
    }
}

/// The group commit's writer: `insert_batch`.
pub(super) fn write_intake_batch<'a>(
    db: &'a DatabaseConnection,
    records: &'a [NewFeedbackRecord],
) -> futures_util::future::BoxFuture<'a, Result<Vec<TrackingCode>, StoreError>> {
    Box::pin(insert_batch(db, records))
}
