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

/// The figures the province's statistics read from the rows kept per day,
/// in the shape the items' queries give them.
#[derive(Debug, Default)]
struct DayFigures {
    /// Channel, kind, content category.
    received: Vec<(String, String, Option<String>, i64)>,
    /// Reason.
    refused: Vec<(Option<String>, i64)>,
    /// Handling agency, timeliness.
    answers: Vec<(Option<Uuid>, String, i64)>,
    /// Working days.
    days: Vec<(i32, i64)>,
}

/// The Vietnam days `[first, end)` (days since 1970-01-01 at UTC+7) that
/// `[from, to)` covers, when it is the province's and both bounds are
/// midnights in Vietnam, as a report period's are.
fn province_days(scope: &StatsScope, from: DateTime<Utc>, to: DateTime<Utc>) -> Option<(i64, i64)> {
    const DAY: i64 = 86_400;
    let local =
        |t: DateTime<Utc>| t.timestamp() + i64::from(crate::domain::time::VIETNAM_OFFSET_SECONDS);
    let whole = |t: DateTime<Utc>| t.timestamp_subsec_nanos() == 0 && local(t).rem_euclid(DAY) == 0;
    (scope.agency_id.is_none() && scope.field_id.is_none() && whole(from) && whole(to))
        .then(|| (local(from).div_euclid(DAY), local(to).div_euclid(DAY)))
}

impl Store {
    /// The figures for `[from, to)` in `scope`; "open" figures as of `now`.
    /// The queries are independent and run at once, each on its own
    /// connection.
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

        // The province's figures over whole Vietnam days are sums of the
        // rows kept per day (migration 32); an agency's or a field's, and
        // any other period, are grouped from the items.
        let days = province_days(&scope, from, to);
        let by_day = async {
            match days {
                Some((first, end)) => self.figures_by_day(first, end).await.map(Some),
                None => Ok(None),
            }
        };
        let from_items = days.is_none();

        let received = async {
            if !from_items {
                return Ok(Vec::new());
            }
            feedback_item::Entity::find()
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
                .into_tuple::<(String, String, Option<String>, i64)>()
                .all(db)
                .await
        };

        let refused = async {
            if !from_items {
                return Ok(Vec::new());
            }
            feedback_item::Entity::find()
                .select_only()
                .column(C::RejectionCode)
                .column_as(count_rows(), "n")
                .filter(scoped(&scope))
                .filter(C::State.eq("not_accepted"))
                .filter(C::ReceivedAt.gte(from))
                .filter(C::ReceivedAt.lt(to))
                .group_by(C::RejectionCode)
                .into_tuple::<(Option<String>, i64)>()
                .all(db)
                .await
        };

        // Answers sent in the period, by how they stood against their
        // deadline and how many working days they took, both kept on the
        // item when it was sent: grouped in the database, from an index.
        let kept = async {
            if !from_items {
                return Ok(Vec::new());
            }
            feedback_item::Entity::find()
                .select_only()
                .column(C::HandlingAgencyId)
                .column(C::AnswerTimeliness)
                .column(C::HandlingWorkingDays)
                .column_as(count_rows(), "n")
                .filter(scoped(&scope))
                .filter(C::AnsweredAt.gte(from))
                .filter(C::AnsweredAt.lt(to))
                .filter(C::AnswerTimeliness.is_not_null())
                .filter(C::HandlingWorkingDays.is_not_null())
                .group_by(C::HandlingAgencyId)
                .group_by(C::AnswerTimeliness)
                .group_by(C::HandlingWorkingDays)
                .into_tuple::<(Option<Uuid>, String, i32, i64)>()
                .all(db)
                .await
        };
        // Answers sent before that was kept (until `pakn recount
        // --repair` counts them): against their answer deadline, as
        // before.
        let mut unkept = feedback_item::Entity::find()
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
            .filter(C::AnsweredAt.lt(to))
            .filter(
                Condition::any()
                    .add(C::AnswerTimeliness.is_null())
                    .add(C::HandlingWorkingDays.is_null()),
            );
        QueryTrait::query(&mut unkept).join(
            JoinType::LeftJoin,
            feedback_deadline::Entity,
            answer_deadline(),
        );
        let unkept = unkept.into_tuple::<AnswerTimes>().all(db);

        let published = feedback_item::Entity::find()
            .filter(scoped(&scope))
            .filter(C::PublishedAt.gte(from))
            .filter(C::PublishedAt.lt(to))
            .filter(C::PublicSearchText.is_not_null())
            .count(db);

        let ratings = feedback_item::Entity::find()
            .select_only()
            .column(C::RatingScore)
            .column_as(count_rows(), "n")
            .filter(scoped(&scope))
            .filter(C::RatedAt.gte(from))
            .filter(C::RatedAt.lt(to))
            .group_by(C::RatingScore)
            .into_tuple::<(Option<i32>, i64)>()
            .all(db);

        // Counted, not listed: a province may have tens of thousands open.
        // The province's come from the kept queue counts.
        let open = async {
            if !from_items {
                return self.province_open_counts(now).await;
            }
            let open_total = feedback_item::Entity::find()
                .filter(scoped(&scope))
                .filter(C::State.is_in(OPEN_STATES))
                .count(db);
            // An item's `due_at` is its open answer deadline's due date (kept
            // so by every change to that deadline, cleared when it is met or
            // cancelled: store/workflow.rs, store/deadlines.rs), so no join:
            // the (state, due_at) index answers it.
            let open_past_deadline = feedback_item::Entity::find()
                .filter(scoped(&scope))
                .filter(C::State.is_in(OPEN_STATES))
                .filter(C::DueAt.lt(now))
                .count(db);
            Ok(tokio::try_join!(open_total, open_past_deadline)?)
        };
        let entered = feedback_item::Entity::find()
            .select_only()
            .column(C::ReceivedAt)
            .column(C::CreatedAt)
            .filter(scoped(&scope))
            .filter(C::EnteredByStaffId.is_not_null())
            .filter(C::ReceivedAt.gte(from))
            .filter(C::ReceivedAt.lt(to))
            .into_tuple::<(DateTime<Utc>, DateTime<Utc>)>()
            .all(db);

        let directory = self.directory_snapshot().await?;
        let forwarding = self.forwarding_events(&scope, from, to);
        let (
            by_day,
            received,
            refused,
            kept,
            unkept,
            published,
            ratings,
            (open_total, open_past_deadline),
            entered,
            forwarding,
        ) = tokio::try_join!(
            by_day,
            async { Ok::<_, StoreError>(received.await?) },
            async { Ok::<_, StoreError>(refused.await?) },
            async { Ok::<_, StoreError>(kept.await?) },
            async { Ok::<_, StoreError>(unkept.await?) },
            async { Ok::<_, StoreError>(published.await?) },
            async { Ok::<_, StoreError>(ratings.await?) },
            open,
            async { Ok::<_, StoreError>(entered.await?) },
            async { Ok::<_, StoreError>(forwarding.await?) },
        )?;
        let (received, refused, kept_answers, kept_days) = match by_day {
            Some(f) => (f.received, f.refused, f.answers, f.days),
            None => {
                let mut answers = Vec::with_capacity(kept.len());
                let mut days = Vec::with_capacity(kept.len());
                for (handling, timeliness, d, n) in kept {
                    answers.push((handling, timeliness, n));
                    days.push((d, n));
                }
                (received, refused, answers, days)
            }
        };

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
        for (reason, n) in refused {
            s.not_accepted_total += u64::try_from(n).unwrap_or(0);
            count(
                &mut s.not_accepted_by_reason,
                reason.unwrap_or_else(|| "unknown".into()),
                n,
            );
        }
        count_forwarding(&scope, &directory, forwarding, &mut s);

        let mut answered = |handling: Option<Uuid>, timeliness: Timeliness, n: u64| {
            s.answered_total += n;
            match timeliness {
                Timeliness::OnTime => s.answered_on_time += n,
                Timeliness::WithinExtension => s.answered_within_extension += n,
                _ => s.answered_late += n,
            }
            let agency = scope.counted_as(
                &directory,
                directory.agency_code(handling).unwrap_or(UNROUTED),
            );
            s.answered_by_agency
                .entry(agency.to_string())
                .or_default()
                .add_many(timeliness, n);
        };
        for (handling, timeliness, n) in kept_answers {
            answered(
                handling,
                Timeliness::from_kept(&timeliness),
                u64::try_from(n).unwrap_or(0),
            );
        }
        let days_kept = kept_days
            .into_iter()
            .map(|(days, n)| {
                (
                    u32::try_from(days).unwrap_or(0),
                    u64::try_from(n).unwrap_or(0),
                )
            })
            .collect();
        let mut spans = Vec::with_capacity(unkept.len());
        for (received_at, answered_at, handling, original_due, due) in unkept {
            let Some(at) = answered_at else { continue };
            spans.push((received_at, at));
            answered(handling, Timeliness::of_answer(at, original_due, due), 1);
        }
        s.answered_working_days_kept = days_kept;
        s.answered_spans = spans;

        s.published = published;
        for (score, n) in ratings {
            let Some(score) = score else { continue };
            s.rated += u64::try_from(n).unwrap_or(0);
            count(&mut s.rating_by_score, score.to_string(), n);
        }
        s.open_past_deadline = open_past_deadline;
        s.open_within_deadline = open_total.saturating_sub(open_past_deadline);
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

    /// The province's open items and those of them past their due time,
    /// from the kept queue and due-hour counts.
    async fn province_open_counts(&self, now: DateTime<Utc>) -> Result<(u64, u64), StoreError> {
        let summary = self
            .queue_summary(super::queue::QueueScope::Province, now)
            .await?;
        let (mut open, mut late) = (0, 0);
        for (state, n, overdue) in summary {
            if OPEN_STATES.contains(&state.as_str()) {
                open += u64::try_from(n).unwrap_or(0);
                late += u64::try_from(overdue).unwrap_or(0);
            }
        }
        Ok((open, late))
    }

    /// The province's received, not-accepted and kept-answer figures for
    /// Vietnam days `[first, end)`, summed from the rows kept per day.
    async fn figures_by_day(&self, first: i64, end: i64) -> Result<DayFigures, StoreError> {
        use sea_orm::{ConnectionTrait, Statement};
        let backend = self.backend();
        let rows = self
            .connection()
            .query_all_raw(Statement::from_sql_and_values(
                backend,
                super::sql(
                    backend,
                    "SELECT figure, k1, k2, k3, CAST(SUM(delta) AS BIGINT) AS n \
                     FROM stat_day_delta \
                     WHERE figure IN ('received', 'not_accepted', 'answered', 'answer_days') \
                       AND day >= $1 AND day < $2 \
                     GROUP BY figure, k1, k2, k3",
                ),
                [first.into(), end.into()],
            ))
            .await?;
        let mut f = DayFigures::default();
        let given = |s: String| (!s.is_empty()).then_some(s);
        for row in rows {
            let n: i64 = row.try_get("", "n")?;
            if n == 0 {
                continue;
            }
            let figure: String = row.try_get("", "figure")?;
            let k1: String = row.try_get("", "k1")?;
            let k2: String = row.try_get("", "k2")?;
            let k3: String = row.try_get("", "k3")?;
            match figure.as_str() {
                "received" => f.received.push((k1, k2, given(k3), n)),
                "not_accepted" => f.refused.push((given(k1), n)),
                "answered" => {
                    let agency = given(k1)
                        .map(|hex| Uuid::try_parse(&hex))
                        .transpose()
                        .map_err(|e| StoreError::Integrity(format!("kept agency {e}")))?;
                    f.answers.push((agency, k2, n));
                }
                "answer_days" => {
                    let days = k1
                        .parse()
                        .map_err(|e| StoreError::Integrity(format!("kept working days {e}")))?;
                    f.days.push((days, n));
                }
                _ => {}
            }
        }
        Ok(f)
    }

    /// Forwarding and returns of the period, from the audit trail (the
    /// item's handling agency now says nothing of where it was before).
    async fn forwarding_events(
        &self,
        scope: &StatsScope,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<(String, serde_json::Value)>, sea_orm::DbErr> {
        use audit_event::Column as A;
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
        events.into_tuple().all(self.connection()).await
    }
}

/// Counts forwarding and returns into `s`, for the scope's agency only
/// when it has one.
fn count_forwarding(
    scope: &StatsScope,
    directory: &DirectorySnapshot,
    events: Vec<(String, serde_json::Value)>,
    s: &mut Statistics,
) {
    let own_code = scope
        .agency_id
        .map(|id| directory.agency_code(Some(id)).unwrap_or_default());
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
}

const FORWARD: &str = "feedback.forward";
const RETURN: &str = "feedback.return";
const RECALL: &str = "feedback.recall";

/// What `pakn recount` found of the answers' kept figures.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct AnswerFiguresCheck {
    /// Items with an answer.
    pub answered: u64,
    /// Whose kept timeliness is missing or differs from their deadline.
    pub timeliness_differing: u64,
    /// Whose working days were never counted (answered before they were
    /// kept).
    pub working_days_missing: u64,
}

impl Store {
    /// The answers' kept figures against the deadlines and what is
    /// missing.
    pub async fn check_answer_figures(&self) -> Result<AnswerFiguresCheck, StoreError> {
        use sea_orm::{ConnectionTrait, Statement};
        let backend = self.backend();
        let row = self
            .connection()
            .query_one_raw(Statement::from_string(
                backend,
                format!(
                    "SELECT COUNT(*) AS answered, \
                        CAST(COALESCE(SUM(CASE WHEN answer_timeliness IS NULL \
                            OR answer_timeliness <> {t} THEN 1 ELSE 0 END), 0) AS BIGINT) AS differing, \
                        CAST(COALESCE(SUM(CASE WHEN handling_working_days IS NULL \
                            THEN 1 ELSE 0 END), 0) AS BIGINT) AS missing \
                     FROM feedback_item WHERE answered_at IS NOT NULL",
                    t = migration::TIMELINESS_SQL
                ),
            ))
            .await?;
        let get = |name: &str| -> Result<u64, StoreError> {
            Ok(match &row {
                Some(row) => u64::try_from(row.try_get::<i64>("", name)?).unwrap_or(0),
                None => 0,
            })
        };
        Ok(AnswerFiguresCheck {
            answered: get("answered")?,
            timeliness_differing: get("differing")?,
            working_days_missing: get("missing")?,
        })
    }

    /// Sets the kept timeliness of answers where it is missing or
    /// differs, from their deadlines.
    pub async fn repair_answer_timeliness(&self) -> Result<u64, StoreError> {
        use sea_orm::{ConnectionTrait, Statement};
        let backend = self.backend();
        let done = self
            .connection()
            .execute_raw(Statement::from_string(
                backend,
                format!(
                    "UPDATE feedback_item SET answer_timeliness = {t} \
                     WHERE answered_at IS NOT NULL \
                       AND (answer_timeliness IS NULL OR answer_timeliness <> {t})",
                    t = migration::TIMELINESS_SQL
                ),
            ))
            .await?;
        Ok(done.rows_affected())
    }

    /// Up to `limit` answers whose working days were never counted: (id,
    /// received, answered).
    pub async fn answers_without_working_days(
        &self,
        limit: u64,
    ) -> Result<Vec<(Uuid, DateTime<Utc>, DateTime<Utc>)>, StoreError> {
        use feedback_item::Column as C;
        let rows: Vec<(Uuid, DateTime<Utc>, Option<DateTime<Utc>>)> = feedback_item::Entity::find()
            .select_only()
            .columns([C::Id, C::ReceivedAt, C::AnsweredAt])
            .filter(C::AnsweredAt.is_not_null())
            .filter(C::HandlingWorkingDays.is_null())
            .limit(limit)
            .into_tuple()
            .all(self.connection())
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, received, answered)| Some((id, received, answered?)))
            .collect())
    }

    /// Keeps the working days counted for these answers, in one
    /// statement.
    pub async fn keep_working_days(&self, days: &[(Uuid, i32)]) -> Result<(), StoreError> {
        use sea_orm::{ConnectionTrait, Statement};
        if days.is_empty() {
            return Ok(());
        }
        let backend = self.backend();
        let mut values: Vec<sea_orm::Value> = Vec::with_capacity(days.len() * 2);
        let (mut cases, mut ids) = (String::new(), Vec::with_capacity(days.len()));
        for (id, n) in days {
            values.push((*id).into());
            values.push((*n).into());
            let (i, v) = (values.len() - 1, values.len());
            cases += &format!(" WHEN ${i} THEN ${v}");
            ids.push(format!("${i}"));
        }
        self.connection()
            .execute_raw(Statement::from_sql_and_values(
                backend,
                super::sql(
                    backend,
                    &format!(
                        "UPDATE feedback_item SET handling_working_days = CASE id{cases} END \
                         WHERE id IN ({}) AND handling_working_days IS NULL",
                        ids.join(", ")
                    ),
                ),
                values,
            ))
            .await?;
        Ok(())
    }
}
