//! Agency succession in the database: counting what would move (the
//! preview) and moving it in one transaction (the apply), and the sweep
//! that moves anything a concurrent request still gave a dissolved agency.
//! Open items take the successor as handling (and, where it registered
//! them, receiving) agency, each with an audit record; their deadlines keep
//! running and move with them; open coordination requests, answer
//! templates, field links and, as chosen, staff accounts move too; the
//! predecessors get `valid_to`. Closed items keep their historic agency.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbBackend, EntityTrait,
    ExprTrait, PaginatorTrait, QueryFilter, QuerySelect, TransactionTrait, sea_query::Expr,
};
use serde::Serialize;
use uuid::Uuid;

use super::directory_cache::bump_directory_version;
use super::entities::{
    agency, agency_field, agency_succession, answer_template, coordination, feedback_deadline,
    feedback_item, staff_account, staff_session,
};
use super::journal::{AuditEntry, write_audit};
use super::{Store, StoreError};

/// The states in which the handling agency's work is over: such items
/// keep the agency that handled them.
pub const CLOSED_STATES: [&str; 6] = [
    "answered",
    "published",
    "withheld",
    "closed",
    "not_accepted",
    "merged",
];

/// One predecessor and where its work goes: `to` for everything, except
/// the items of a field listed in `by_field`.
#[derive(Debug, Clone)]
pub struct Move {
    pub from: Uuid,
    pub to: Uuid,
    pub by_field: Vec<(Uuid, Uuid)>,
}

impl Move {
    fn target(&self, field: Option<Uuid>) -> Uuid {
        field
            .and_then(|f| {
                self.by_field
                    .iter()
                    .find(|(x, _)| *x == f)
                    .map(|(_, to)| *to)
            })
            .unwrap_or(self.to)
    }
}

/// What moves from one predecessor.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MoveCounts {
    /// Open items per successor.
    pub open_items: HashMap<Uuid, u64>,
    pub coordination_requests: u64,
    pub open_deadlines: u64,
    pub answer_templates: u64,
    pub staff_accounts: u64,
    /// Items whose work is over (they keep the predecessor).
    pub closed_items: u64,
}

/// Whether the old agencies' accounts move to the successor or close.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StaffChoice {
    Move,
    Disable,
}

async fn open_items_of<C: ConnectionTrait>(
    conn: &C,
    agency: Uuid,
) -> Result<Vec<(Uuid, Option<Uuid>, String)>, StoreError> {
    Ok(feedback_item::Entity::find()
        .select_only()
        .column(feedback_item::Column::Id)
        .column(feedback_item::Column::FieldId)
        .column(feedback_item::Column::TrackingCode)
        .filter(feedback_item::Column::HandlingAgencyId.eq(agency))
        .filter(feedback_item::Column::State.is_not_in(CLOSED_STATES))
        .into_tuple()
        .all(conn)
        .await?)
}

impl Store {
    /// What a succession of `m` would move, as of now.
    pub async fn succession_counts(&self, m: &Move) -> Result<MoveCounts, StoreError> {
        let db = self.connection();
        let mut counts = MoveCounts::default();
        for (_, field, _) in open_items_of(db, m.from).await? {
            *counts.open_items.entry(m.target(field)).or_default() += 1;
        }
        counts.closed_items = feedback_item::Entity::find()
            .filter(feedback_item::Column::HandlingAgencyId.eq(m.from))
            .filter(feedback_item::Column::State.is_in(CLOSED_STATES))
            .count(db)
            .await?;
        counts.coordination_requests = coordination::Entity::find()
            .filter(coordination::Column::AgencyId.eq(m.from))
            .filter(coordination::Column::State.eq("requested"))
            .count(db)
            .await?;
        counts.open_deadlines = feedback_deadline::Entity::find()
            .filter(feedback_deadline::Column::AgencyId.eq(m.from))
            .filter(feedback_deadline::Column::State.eq("open"))
            .count(db)
            .await?;
        counts.answer_templates = answer_template::Entity::find()
            .filter(answer_template::Column::AgencyId.eq(m.from))
            .count(db)
            .await?;
        counts.staff_accounts = staff_account::Entity::find()
            .filter(staff_account::Column::AgencyId.eq(m.from))
            .filter(staff_account::Column::IsActive.eq(true))
            .count(db)
            .await?;
        Ok(counts)
    }

    /// Applies a succession in one transaction; returns how many open
    /// items moved. `audit` is the record of the whole operation.
    pub async fn apply_succession(
        &self,
        moves: &[Move],
        on: NaiveDate,
        staff: StaffChoice,
        actor: Option<Uuid>,
        audit: &AuditEntry,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let txn = self.connection().begin().await?;
        if self.backend() == DbBackend::Postgres {
            // Nothing changes the predecessors' items while they move
            // (other writers wait a moment; readers never do).
            txn.execute_unprepared("LOCK TABLE feedback_item IN SHARE ROW EXCLUSIVE MODE")
                .await?;
        }
        let mut moved = 0;
        for m in moves {
            moved += move_items(&txn, m, audit, now).await?;
            move_rest(&txn, m, staff, now).await?;
            agency::Entity::update_many()
                .col_expr(agency::Column::ValidTo, Expr::value(on))
                .col_expr(agency::Column::UpdatedAt, Expr::value(now))
                .filter(agency::Column::Id.eq(m.from))
                .exec(&txn)
                .await?;
            let mut rows = vec![(None, m.to)];
            rows.extend(m.by_field.iter().map(|(f, to)| (Some(*f), *to)));
            for (field, to) in rows {
                agency_succession::Entity::insert(agency_succession::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    predecessor_id: Set(m.from),
                    successor_id: Set(to),
                    field_id: Set(field),
                    effective_on: Set(on),
                    applied_at: Set(now),
                    applied_by: Set(actor),
                })
                .exec_without_returning(&txn)
                .await?;
            }
        }
        write_audit(&txn, None, audit, now).await?;
        bump_directory_version(&txn, now).await?;
        txn.commit().await?;
        self.directory_cache().invalidate();
        Ok(moved)
    }

    /// The recorded successions, oldest first.
    pub async fn successions(&self) -> Result<Vec<agency_succession::Model>, StoreError> {
        use sea_orm::QueryOrder;
        Ok(agency_succession::Entity::find()
            .order_by_asc(agency_succession::Column::AppliedAt)
            .order_by_asc(agency_succession::Column::Id)
            .all(self.connection())
            .await?)
    }

    /// Moves open items that a dissolved agency still holds (a forward
    /// that raced the succession) to its successor; returns how many.
    pub async fn sweep_successions(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let rows = self.successions().await?;
        if rows.is_empty() {
            return Ok(0);
        }
        let mut moves: HashMap<Uuid, Move> = HashMap::new();
        for r in rows {
            let m = moves.entry(r.predecessor_id).or_insert(Move {
                from: r.predecessor_id,
                to: r.successor_id,
                by_field: Vec::new(),
            });
            match r.field_id {
                Some(f) => m.by_field.push((f, r.successor_id)),
                None => m.to = r.successor_id,
            }
        }
        let mut moved = 0;
        for m in moves.values() {
            if open_items_of(self.connection(), m.from).await?.is_empty() {
                continue;
            }
            let audit = AuditEntry {
                actor_kind: "system".into(),
                actor_id: Some("succession".into()),
                action: "directory.succession_sweep".into(),
                from_state: None,
                to_state: None,
                reason: None,
                details: serde_json::json!({ "predecessor_id": m.from }),
                request_id: None,
            };
            let txn = self.connection().begin().await?;
            moved += move_items(&txn, m, &audit, now).await?;
            txn.commit().await?;
        }
        Ok(moved)
    }
}

/// Moves the predecessor's open items (each audited) and their open
/// deadlines; returns how many items moved.
async fn move_items(
    txn: &DatabaseTransaction,
    m: &Move,
    audit: &AuditEntry,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let items = open_items_of(txn, m.from).await?;
    for (id, field, code) in &items {
        let to = m.target(*field);
        feedback_item::Entity::update_many()
            .col_expr(feedback_item::Column::HandlingAgencyId, Expr::value(to))
            .col_expr(
                feedback_item::Column::Version,
                Expr::col(feedback_item::Column::Version).add(1),
            )
            .col_expr(feedback_item::Column::UpdatedAt, Expr::value(now))
            .filter(feedback_item::Column::Id.eq(*id))
            .exec(txn)
            .await?;
        feedback_item::Entity::update_many()
            .col_expr(feedback_item::Column::ReceivingAgencyId, Expr::value(to))
            .filter(feedback_item::Column::Id.eq(*id))
            .filter(feedback_item::Column::ReceivingAgencyId.eq(m.from))
            .exec(txn)
            .await?;
        feedback_deadline::Entity::update_many()
            .col_expr(feedback_deadline::Column::AgencyId, Expr::value(to))
            .filter(feedback_deadline::Column::FeedbackItemId.eq(*id))
            .filter(feedback_deadline::Column::AgencyId.eq(m.from))
            .filter(feedback_deadline::Column::State.eq("open"))
            .exec(txn)
            .await?;
        let entry = AuditEntry {
            action: "agency_succeeded".into(),
            details: serde_json::json!({
                "tracking_code": code,
                "from_agency_id": m.from,
                "to_agency_id": to,
                "operation": audit.details,
            }),
            ..audit.clone()
        };
        write_audit(
            txn,
            Some(crate::domain::ids::FeedbackId::from_uuid(*id)),
            &entry,
            now,
        )
        .await?;
    }
    Ok(items.len() as u64)
}

/// Coordination requests, answer templates, field links and staff.
async fn move_rest(
    txn: &DatabaseTransaction,
    m: &Move,
    staff: StaffChoice,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    // A request to the predecessor goes to the successor, unless the
    // successor holds the item itself (it would coordinate with itself).
    for c in coordination::Entity::find()
        .filter(coordination::Column::AgencyId.eq(m.from))
        .filter(coordination::Column::State.eq("requested"))
        .all(txn)
        .await?
    {
        let holder = feedback_item::Entity::find_by_id(c.feedback_item_id)
            .one(txn)
            .await?
            .and_then(|i| i.handling_agency_id);
        let duplicate = coordination::Entity::find()
            .filter(coordination::Column::FeedbackItemId.eq(c.feedback_item_id))
            .filter(coordination::Column::AgencyId.eq(m.to))
            .count(txn)
            .await?
            > 0;
        let mut update = coordination::Entity::update_many()
            .col_expr(coordination::Column::UpdatedAt, Expr::value(now))
            .filter(coordination::Column::Id.eq(c.id));
        if holder == Some(m.to) || duplicate {
            update = update.col_expr(coordination::Column::State, Expr::value("withdrawn"));
        } else {
            update = update.col_expr(coordination::Column::AgencyId, Expr::value(m.to));
        }
        update.exec(txn).await?;
    }
    feedback_deadline::Entity::update_many()
        .col_expr(feedback_deadline::Column::AgencyId, Expr::value(m.to))
        .filter(feedback_deadline::Column::AgencyId.eq(m.from))
        .filter(feedback_deadline::Column::State.eq("open"))
        .exec(txn)
        .await?;
    // Templates keep their names, told apart where the successor has one
    // of the same name.
    let taken: Vec<String> = answer_template::Entity::find()
        .filter(answer_template::Column::AgencyId.eq(m.to))
        .all(txn)
        .await?
        .into_iter()
        .map(|t| t.name)
        .collect();
    let from_code = agency::Entity::find_by_id(m.from)
        .one(txn)
        .await?
        .map(|a| a.code)
        .unwrap_or_default();
    for t in answer_template::Entity::find()
        .filter(answer_template::Column::AgencyId.eq(m.from))
        .all(txn)
        .await?
    {
        let name = if taken.contains(&t.name) {
            format!("{} ({from_code})", t.name)
        } else {
            t.name.clone()
        };
        answer_template::Entity::update_many()
            .col_expr(answer_template::Column::AgencyId, Expr::value(m.to))
            .col_expr(answer_template::Column::Name, Expr::value(name))
            .filter(answer_template::Column::Id.eq(t.id))
            .exec(txn)
            .await?;
    }
    // The successor takes on the predecessor's fields.
    let fields: Vec<Uuid> = agency_field::Entity::find()
        .filter(agency_field::Column::AgencyId.eq(m.from))
        .all(txn)
        .await?
        .into_iter()
        .map(|l| l.field_id)
        .collect();
    for field in fields {
        agency_field::Entity::insert(agency_field::ActiveModel {
            agency_id: Set(m.target(Some(field))),
            field_id: Set(field),
        })
        .on_conflict_do_nothing_on([
            agency_field::Column::AgencyId,
            agency_field::Column::FieldId,
        ])
        .exec_without_returning(txn)
        .await?;
    }
    let accounts: Vec<Uuid> = staff_account::Entity::find()
        .filter(staff_account::Column::AgencyId.eq(m.from))
        .filter(staff_account::Column::IsActive.eq(true))
        .all(txn)
        .await?
        .into_iter()
        .map(|s| s.id)
        .collect();
    match staff {
        StaffChoice::Move => {
            staff_account::Entity::update_many()
                .col_expr(staff_account::Column::AgencyId, Expr::value(m.to))
                .col_expr(staff_account::Column::UpdatedAt, Expr::value(now))
                .filter(staff_account::Column::Id.is_in(accounts))
                .exec(txn)
                .await?;
        }
        StaffChoice::Disable => {
            staff_account::Entity::update_many()
                .col_expr(staff_account::Column::IsActive, Expr::value(false))
                .col_expr(staff_account::Column::UpdatedAt, Expr::value(now))
                .filter(staff_account::Column::Id.is_in(accounts.clone()))
                .exec(txn)
                .await?;
            staff_session::Entity::update_many()
                .col_expr(staff_session::Column::RevokedAt, Expr::value(now))
                .filter(staff_session::Column::StaffId.is_in(accounts))
                .filter(staff_session::Column::RevokedAt.is_null())
                .exec(txn)
                .await?;
        }
    }
    Ok(())
}
