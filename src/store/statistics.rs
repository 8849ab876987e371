//! Figures for supervisors and the six-monthly report (ND 20
//! Art. 22). Each figure is one grouped query over an indexed time column
//! (`received_at`, `answered_at`, `published_at`, `rated_at`) or over the
//! open items' answer deadlines: nothing reads every item of the database.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, JoinType};
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect, QueryTrait,
};
use uuid::Uuid;

use super::directory_cache::DirectorySnapshot;
use super::entities::{audit_event, feedback_deadline, feedback_item};
use super::{Store, StoreError};
use crate::domain::reporting::Distribution;
pub use crate::domain::reporting::{AnswerCounts, ForwardCounts, Statistics, Timeliness, UNROUTED};

/// Whose items: the province (none set), one handling agency (with the
/// agencies it succeeded, unless they are shown alone), one field.
#[derive(Debug, Clone, Default)]
pub struct StatsScope {
    pub agency_id: Option<Uuid>,
    pub field_id: Option<Uuid>,
    /// The agencies `agency_id` succeeded: their history counts as its.
    pub predecessors: Vec<Uuid>,
    /// Agencies listed as they were (each predecessor alone), not rolled
    /// up into today's successor.
    pub separate: bool,
}

impl StatsScope {
    /// The code an item's agency is counted under.
    pub(super) fn counted_as<'a>(
        &self,
        directory: &'a DirectorySnapshot,
        code: &'a str,
    ) -> &'a str {
        if self.separate {
            code
        } else {
            directory.current_code(code)
        }
    }
}

/// When the item came, when its answer was sent, and its deadline's
/// original and current due.
type AnswerTimes = (
    DateTime<Utc>,
    Option<DateTime<Utc>>,
    Option<Uuid>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
);

/// States in which an item still waits for its answer.
pub(super) const OPEN_STATES: [&str; 6] = [
    "received",
    "awaiting_information",
    "classified",
    "forwarded",
    "in_handling",
    "answer_under_review",
];

pub(super) fn scoped(scope: &StatsScope) -> Condition {
    let mut c = Condition::all();
    if let Some(a) = scope.agency_id {
        if scope.predecessors.is_empty() {
            c = c.add(feedback_item::Column::HandlingAgencyId.eq(a));
        } else {
            let mut all = scope.predecessors.clone();
            all.push(a);
            c = c.add(feedback_item::Column::HandlingAgencyId.is_in(all));
        }
    }
    if let Some(f) = scope.field_id {
        c = c.add(feedback_item::Column::FieldId.eq(f));
    }
    c
}

/// Joins an item's answer deadline (one per item).
pub(super) fn answer_deadline() -> sea_orm::sea_query::SimpleExpr {
    Expr::col((
        feedback_deadline::Entity,
        feedback_deadline::Column::FeedbackItemId,
    ))
    .equals((feedback_item::Entity, feedback_item::Column::Id))
    .and(Expr::col((feedback_deadline::Entity, feedback_deadline::Column::Kind)).eq("answer"))
}

/// `COUNT(*)`, not `COUNT(id)`: PostgreSQL answers it from an index that
/// holds the grouped columns (an index-only scan), where counting a
/// column not in the index reads every row (seen in the million-item load profile).
pub(super) fn count_rows() -> sea_orm::sea_query::SimpleExpr {
    Expr::cust("COUNT(*)")
}

fn count(map: &mut BTreeMap<String, u64>, key: String, n: i64) {
    *map.entry(key).or_default() += u64::try_from(n).unwrap_or(0);
}

impl Store {
    /// The figures for `[from, to)` in `scope`; "open" figures as of `now`.
    pub async fn statistics(
        &self,
        scope: StatsScope,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Statistics, StoreError> {
        use feedback_item::Column as C;
        let db = self.connection();
        let mut s = Statistics::default();

        let received: Vec<(String, String, Option<String>, i64)> = feedback_item::Entity::find()
            .select_only()
            .column(C::Channel)
            .column(C::Kind)
            .column(C::ContentCategory)
            .column_as(count_rows(), "n")
            .filter(scoped(&scope))
            .filter(C::ReceivedAt.gte(from))
            .filter(C::ReceivedAt.lt(to))
            .group_by(C::Channel)
            .group_by(C::Kind)
            .group_by(C::ContentCategory)
            .into_tuple()
            .all(db)
            .await?;
        for (channel, kind, category, n) in received {
            s.received_total += u64::try_from(n).unwrap_or(0);
            count(&mut s.received_by_channel, channel, n);
            count(&mut s.received_by_kind, kind, n);
            count(
                &mut s.received_by_content_category,
                category.unwrap_or_else(|| "unclassified".into()),
                n,
            );
        }

        let refused: Vec<(Option<String>, i64)> = feedback_item::Entity::find()
            .select_only()
            .column(C::RejectionCode)
            .column_as(count_rows(), "n")
            .filter(scoped(&scope))
            .filter(C::State.eq("not_accepted"))
            .filter(C::ReceivedAt.gte(from))
            .filter(C::ReceivedAt.lt(to))
            .group_by(C::RejectionCode)
            .into_tuple()
            .all(db)
            .await?;
        for (reason, n) in refused {
            s.not_accepted_total += u64::try_from(n).unwrap_or(0);
            count(
                &mut s.not_accepted_by_reason,
                reason.unwrap_or_else(|| "unknown".into()),
                n,
            );
        }

        let directory = self.directory_snapshot().await?;
        self.count_forwarding(scope.clone(), &directory, from, to, &mut s)
            .await?;

        // Answers sent in the period, against their answer deadline.
        let mut answered = feedback_item::Entity::find()
            .select_only()
            .column(C::ReceivedAt)
            .column(C::AnsweredAt)
            .column(C::HandlingAgencyId)
            .expr(Expr::col((
                feedback_deadline::Entity,
                feedback_deadline::Column::OriginalDueAt,
            )))
            .expr(Expr::col((
                feedback_deadline::Entity,
                feedback_deadline::Column::DueAt,
            )))
            .filter(scoped(&scope))
            .filter(C::AnsweredAt.gte(from))
            .filter(C::AnsweredAt.lt(to));
        QueryTrait::query(&mut answered).join(
            JoinType::LeftJoin,
            feedback_deadline::Entity,
            answer_deadline(),
        );
        let answered: Vec<AnswerTimes> = answered.into_tuple().all(db).await?;
        for (received_at, answered_at, handling, original_due, due) in answered {
            let Some(at) = answered_at else { continue };
            s.answered_total += 1;
            s.answered_spans.push((received_at, at));
            let timeliness = Timeliness::of_answer(at, original_due, due);
            match timeliness {
                Timeliness::OnTime => s.answered_on_time += 1,
                Timeliness::WithinExtension => s.answered_within_extension += 1,
                _ => s.answered_late += 1,
            }
            let agency = scope.counted_as(
                &directory,
                directory.agency_code(handling).unwrap_or(UNROUTED),
            );
            s.answered_by_agency
                .entry(agency.to_string())
                .or_default()
                .add(timeliness);
        }

        s.published = feedback_item::Entity::find()
            .filter(scoped(&scope))
            .filter(C::PublishedAt.gte(from))
            .filter(C::PublishedAt.lt(to))
            .filter(C::PublicSearchText.is_not_null())
            .count(db)
            .await?;

        let ratings: Vec<(Option<i32>, i64)> = feedback_item::Entity::find()
            .select_only()
            .column(C::RatingScore)
            .column_as(count_rows(), "n")
            .filter(scoped(&scope))
            .filter(C::RatedAt.gte(from))
            .filter(C::RatedAt.lt(to))
            .group_by(C::RatingScore)
            .into_tuple()
            .all(db)
            .await?;
        for (score, n) in ratings {
            let Some(score) = score else { continue };
            s.rated += u64::try_from(n).unwrap_or(0);
            count(&mut s.rating_by_score, score.to_string(), n);
        }

        // Counted, not listed: a province may have tens of thousands open.
        let open_total = feedback_item::Entity::find()
            .filter(scoped(&scope))
            .filter(C::State.is_in(OPEN_STATES))
            .count(db)
            .await?;
        // An item's `due_at` is its open answer deadline's due date (kept
        // so by every change to that deadline, cleared when it is met or
        // cancelled: store/workflow.rs, store/deadlines.rs), so no join:
        // the (state, due_at) index answers it.
        s.open_past_deadline = feedback_item::Entity::find()
            .filter(scoped(&scope))
            .filter(C::State.is_in(OPEN_STATES))
            .filter(C::DueAt.lt(now))
            .count(db)
            .await?;
        s.open_within_deadline = open_total.saturating_sub(s.open_past_deadline);
        let entered: Vec<(DateTime<Utc>, DateTime<Utc>)> = feedback_item::Entity::find()
            .select_only()
            .column(C::ReceivedAt)
            .column(C::CreatedAt)
            .filter(scoped(&scope))
            .filter(C::EnteredByStaffId.is_not_null())
            .filter(C::ReceivedAt.gte(from))
            .filter(C::ReceivedAt.lt(to))
            .into_tuple()
            .all(db)
            .await?;
        s.entry_delay_hours = Distribution::of(
            entered
                .into_iter()
                .map(|(received, created)| {
                    Ord::max((created - received).num_minutes(), 0) as f64 / 60.0
                })
                .collect(),
        );
        Ok(s)
    }

    /// Forwarding and returns, from the audit trail (the item's handling
    /// agency now says nothing of where it was before).
    async fn count_forwarding(
        &self,
        scope: StatsScope,
        directory: &DirectorySnapshot,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        s: &mut Statistics,
    ) -> Result<(), StoreError> {
        use audit_event::Column as A;
        let db = self.connection();
        let own_code = scope
            .agency_id
            .map(|id| directory.agency_code(Some(id)).unwrap_or_default());
        let mut events = audit_event::Entity::find()
            .select_only()
            .column(A::Action)
            .column(A::Details)
            .filter(A::Action.is_in([FORWARD, RETURN, RECALL]))
            .filter(A::OccurredAt.gte(from))
            .filter(A::OccurredAt.lt(to));
        if let Some(field) = scope.field_id {
            QueryTrait::query(&mut events).join(
                JoinType::InnerJoin,
                feedback_item::Entity,
                Expr::col((feedback_item::Entity, feedback_item::Column::Id))
                    .equals((audit_event::Entity, A::FeedbackItemId)),
            );
            events = events.filter(feedback_item::Column::FieldId.eq(field));
        }
        let events: Vec<(String, serde_json::Value)> = events.into_tuple().all(db).await?;
        for (action, details) in events {
            let (key, inbound) = if action == FORWARD {
                ("to", true)
            } else {
                ("from", false)
            };
            // A return written before returns named their agency counts
            // for the province only.
            let agency = details
                .get(key)
                .and_then(|v| v.as_str())
                .map(|code| scope.counted_as(directory, code));
            if let Some(own) = own_code
                && agency != Some(own)
            {
                continue;
            }
            if inbound {
                s.forwarded_in += 1;
            } else {
                s.forwarded_out += 1;
            }
            if let Some(code) = agency {
                let counts = s.forwarded_by_agency.entry(code.to_string()).or_default();
                if inbound {
                    counts.forwarded_in += 1;
                } else {
                    counts.forwarded_out += 1;
                }
            }
        }
        Ok(())
    }
}

const FORWARD: &str = "feedback.forward";
const RETURN: &str = "feedback.return";
const RECALL: &str = "feedback.recall";
