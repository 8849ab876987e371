//! Coordinating agencies' requests and contributions. Every
//! write happens inside a workflow transition, so it carries the item's
//! version like any other change.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, ExprTrait, QueryFilter,
    QueryOrder, sea_query::Expr,
};
use uuid::Uuid;

use super::entities::{coordination, feedback_deadline};
use super::{Store, StoreError};
use crate::domain::ids::{AgencyId, FeedbackId};

pub use coordination::Model as CoordinationRow;

/// The states in which the coordinating agency sees the item.
pub const ACTIVE: [&str; 2] = ["requested", "contributed"];

/// The agencies that see an item because they were asked to contribute.
pub fn active_agencies(rows: &[CoordinationRow]) -> Vec<AgencyId> {
    rows.iter()
        .filter(|c| ACTIVE.contains(&c.state.as_str()))
        .map(|c| AgencyId::from_uuid(c.agency_id))
        .collect()
}

/// One change to an item's coordination, written with its transition.
#[derive(Debug, Clone)]
pub enum CoordinationWrite {
    /// Ask `agency` (again, if it was withdrawn) with the sub-deadline
    /// `deadline_id` written by the same transition.
    Request {
        agency: Uuid,
        note: String,
        requested_by: String,
        deadline_id: Uuid,
    },
    /// No longer needed from `agency`; its sub-deadline is cancelled.
    Withdraw { agency: Uuid },
    /// The lead agency is no longer the lead (returned, merged) or the
    /// answer went out: every open request ends.
    WithdrawOpen,
    /// `agency` gives (or revises) its contribution; its sub-deadline is
    /// met the first time.
    Contribute {
        agency: Uuid,
        text: String,
        by: String,
    },
}

/// A contribution asked of an agency and not yet given.
#[derive(Debug, Clone, PartialEq, Eq, sea_orm::FromQueryResult)]
pub struct OpenRequest {
    pub tracking_code: String,
    pub title: String,
    pub requested_at: DateTime<Utc>,
    pub due_at: Option<DateTime<Utc>>,
}

impl Store {
    /// The contributions asked of `agency` and not yet given, oldest
    /// request first (at most `limit`), and how many there are.
    pub async fn open_requests_to(
        &self,
        agency: uuid::Uuid,
        limit: u64,
    ) -> Result<(Vec<OpenRequest>, u64), StoreError> {
        use sea_orm::{PaginatorTrait, QuerySelect};
        let asked = coordination::Entity::find()
            .filter(coordination::Column::AgencyId.eq(agency))
            .filter(coordination::Column::State.eq("requested"));
        let total = asked.clone().count(self.connection()).await?;
        let rows = asked
            .order_by_asc(coordination::Column::RequestedAt)
            .limit(limit)
            .all(self.connection())
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let item = super::entities::feedback_item::Entity::find_by_id(r.feedback_item_id)
                .one(self.connection())
                .await?;
            let due = match r.deadline_id {
                Some(d) => feedback_deadline::Entity::find_by_id(d)
                    .one(self.connection())
                    .await?
                    .and_then(|d| d.due_at),
                None => None,
            };
            if let Some(item) = item {
                out.push(OpenRequest {
                    tracking_code: item.tracking_code,
                    title: item.title,
                    requested_at: r.requested_at,
                    due_at: due,
                });
            }
        }
        Ok((out, total))
    }

    pub async fn coordinations_for(
        &self,
        item: FeedbackId,
    ) -> Result<Vec<CoordinationRow>, StoreError> {
        Ok(coordination::Entity::find()
            .filter(coordination::Column::FeedbackItemId.eq(item.as_uuid()))
            .order_by_asc(coordination::Column::RequestedAt)
            .all(self.connection())
            .await?)
    }
}

pub(crate) async fn write_coordination<C: ConnectionTrait>(
    conn: &C,
    item: FeedbackId,
    write: &CoordinationWrite,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    use coordination::Column as C;
    let ended_deadline = |id: Uuid, state: &'static str| {
        feedback_deadline::Entity::update_many()
            .col_expr(feedback_deadline::Column::State, Expr::value(state))
            .col_expr(feedback_deadline::Column::MetAt, Expr::value(Some(now)))
            .col_expr(
                feedback_deadline::Column::RowVersion,
                Expr::col(feedback_deadline::Column::RowVersion).add(1),
            )
            .filter(feedback_deadline::Column::Id.eq(id))
            .filter(feedback_deadline::Column::State.eq("open"))
    };
    let existing = |agency: Uuid| {
        coordination::Entity::find()
            .filter(C::FeedbackItemId.eq(item.as_uuid()))
            .filter(C::AgencyId.eq(agency))
    };
    match write {
        CoordinationWrite::Request {
            agency,
            note,
            requested_by,
            deadline_id,
        } => {
            if let Some(row) = existing(*agency).one(conn).await? {
                // Asked again after a withdrawal: the request starts over.
                coordination::Entity::update_many()
                    .col_expr(C::State, Expr::value("requested"))
                    .col_expr(C::RequestNote, Expr::value(note.clone()))
                    .col_expr(C::RequestedBy, Expr::value(requested_by.clone()))
                    .col_expr(C::RequestedAt, Expr::value(now))
                    .col_expr(C::DeadlineId, Expr::value(Some(*deadline_id)))
                    .col_expr(C::Contribution, Expr::value(None::<String>))
                    .col_expr(C::ContributedBy, Expr::value(None::<String>))
                    .col_expr(C::ContributedAt, Expr::value(None::<DateTime<Utc>>))
                    .col_expr(C::UpdatedAt, Expr::value(now))
                    .filter(C::Id.eq(row.id))
                    .exec(conn)
                    .await?;
            } else {
                coordination::Entity::insert(coordination::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    feedback_item_id: Set(item.as_uuid()),
                    agency_id: Set(*agency),
                    state: Set("requested".into()),
                    request_note: Set(note.clone()),
                    requested_by: Set(requested_by.clone()),
                    requested_at: Set(now),
                    deadline_id: Set(Some(*deadline_id)),
                    contribution: Set(None),
                    contributed_by: Set(None),
                    contributed_at: Set(None),
                    updated_at: Set(now),
                })
                .exec_without_returning(conn)
                .await?;
            }
        }
        CoordinationWrite::Withdraw { agency } => {
            if let Some(row) = existing(*agency).one(conn).await? {
                coordination::Entity::update_many()
                    .col_expr(C::State, Expr::value("withdrawn"))
                    .col_expr(C::UpdatedAt, Expr::value(now))
                    .filter(C::Id.eq(row.id))
                    .exec(conn)
                    .await?;
                if let Some(deadline) = row.deadline_id {
                    ended_deadline(deadline, "cancelled").exec(conn).await?;
                }
            }
        }
        CoordinationWrite::WithdrawOpen => {
            // Their sub-deadlines are cancelled with the transition's
            // other deadline effects (kind `coordinate`).
            coordination::Entity::update_many()
                .col_expr(C::State, Expr::value("withdrawn"))
                .col_expr(C::UpdatedAt, Expr::value(now))
                .filter(C::FeedbackItemId.eq(item.as_uuid()))
                .filter(C::State.eq("requested"))
                .exec(conn)
                .await?;
        }
        CoordinationWrite::Contribute { agency, text, by } => {
            if let Some(row) = existing(*agency).one(conn).await? {
                coordination::Entity::update_many()
                    .col_expr(C::State, Expr::value("contributed"))
                    .col_expr(C::Contribution, Expr::value(Some(text.clone())))
                    .col_expr(C::ContributedBy, Expr::value(Some(by.clone())))
                    .col_expr(C::ContributedAt, Expr::value(Some(now)))
                    .col_expr(C::UpdatedAt, Expr::value(now))
                    .filter(C::Id.eq(row.id))
                    .exec(conn)
                    .await?;
                if let Some(deadline) = row.deadline_id {
                    ended_deadline(deadline, "met").exec(conn).await?;
                }
            }
        }
    }
    Ok(())
}
