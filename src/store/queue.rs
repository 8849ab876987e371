//! The staff queue: filtered, scoped, sorted by due date, paged by a
//! keyset cursor (due date, id) so that new items never shift a page.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{NullOrdering, Order};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::coordination::ACTIVE;
use super::entities::{coordination, feedback_item};
use super::statistics::count_rows;
use super::{Store, StoreError};

/// Who may see what: everything of the instance's province, or the items
/// one agency handles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QueueScope {
    Province,
    HandledBy(Uuid),
}

/// Filters, all optional, already resolved to identifiers and instants.
#[derive(Debug, Clone, Default)]
pub struct QueueFilter {
    pub states: Vec<String>,
    pub channel: Option<String>,
    pub kind: Option<String>,
    /// `Some(None)`: a code that names no field (nothing matches).
    pub field_id: Option<Option<Uuid>>,
    pub agency_id: Option<Option<Uuid>>,
    pub overdue: Option<bool>,
    pub due_before: Option<DateTime<Utc>>,
    pub received_from: Option<DateTime<Utc>>,
    pub received_before: Option<DateTime<Utc>>,
    /// Folded search words (see `fold_for_search`).
    pub words: Vec<String>,
    /// Words with `%` or `_`, which folding drops: they must occur as
    /// typed (those characters meaning themselves, not wildcards) in the
    /// title or the text.
    pub literals: Vec<String>,
}

/// `text` as a LIKE pattern that matches it anywhere, `%`, `_` and the
/// escape character meaning themselves.
fn contains_pattern(text: &str) -> sea_orm::sea_query::LikeExpr {
    let mut escaped = String::with_capacity(text.len() + 2);
    escaped.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped.push('%');
    sea_orm::sea_query::LikeExpr::new(escaped).escape('\\')
}

/// Where the previous page ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueCursor {
    pub due_at: Option<DateTime<Utc>>,
    pub id: Uuid,
}

/// One row of the queue: what a list shows, never the text or the
/// submitter.
#[derive(Debug, Clone, PartialEq, Eq, sea_orm::FromQueryResult)]
pub struct QueueEntry {
    pub id: Uuid,
    pub tracking_code: String,
    pub title: String,
    pub kind: String,
    pub channel: String,
    pub state: String,
    pub receiving_agency_id: Uuid,
    pub handling_agency_id: Option<Uuid>,
    pub field_id: Option<Uuid>,
    pub received_at: DateTime<Utc>,
    pub due_at: Option<DateTime<Utc>>,
    pub language_flagged: bool,
    pub needs_attention: bool,
}

fn entry_columns<E: QuerySelect>(query: E) -> E {
    use feedback_item::Column as C;
    query.select_only().columns([
        C::Id,
        C::TrackingCode,
        C::Title,
        C::Kind,
        C::Channel,
        C::State,
        C::ReceivingAgencyId,
        C::HandlingAgencyId,
        C::FieldId,
        C::ReceivedAt,
        C::DueAt,
        C::LanguageFlagged,
        C::NeedsAttention,
    ])
}

fn apply(filter: &QueueFilter, scope: QueueScope, now: DateTime<Utc>) -> Condition {
    use feedback_item::Column as C;
    let mut c = Condition::all();
    if let QueueScope::HandledBy(agency) = scope {
        // Its own items, and those it was asked to contribute to.
        let coordinating = sea_orm::sea_query::Query::select()
            .column(coordination::Column::FeedbackItemId)
            .from(coordination::Entity)
            .and_where(coordination::Column::AgencyId.eq(agency))
            .and_where(coordination::Column::State.is_in(ACTIVE))
            .to_owned();
        c = c.add(
            Condition::any()
                .add(C::HandlingAgencyId.eq(agency))
                .add(C::Id.in_subquery(coordinating)),
        );
    }
    if !filter.states.is_empty() {
        c = c.add(C::State.is_in(filter.states.clone()));
    }
    if let Some(channel) = &filter.channel {
        c = c.add(C::Channel.eq(channel.clone()));
    }
    if let Some(kind) = &filter.kind {
        c = c.add(C::Kind.eq(kind.clone()));
    }
    match filter.field_id {
        Some(Some(id)) => c = c.add(C::FieldId.eq(id)),
        Some(None) => c = c.add(C::Id.is_null()),
        None => {}
    }
    match filter.agency_id {
        // The agency holding the item: its handler, or the receiving
        // office until there is one.
        Some(Some(id)) => {
            c = c.add(
                Condition::any().add(C::HandlingAgencyId.eq(id)).add(
                    Condition::all()
                        .add(C::HandlingAgencyId.is_null())
                        .add(C::ReceivingAgencyId.eq(id)),
                ),
            )
        }
        Some(None) => c = c.add(C::Id.is_null()),
        None => {}
    }
    match filter.overdue {
        Some(true) => c = c.add(C::DueAt.lt(now)),
        Some(false) => {
            c = c.add(
                Condition::any()
                    .add(C::DueAt.gte(now))
                    .add(C::DueAt.is_null()),
            )
        }
        None => {}
    }
    if let Some(t) = filter.due_before {
        c = c.add(C::DueAt.lt(t));
    }
    if let Some(t) = filter.received_from {
        c = c.add(C::ReceivedAt.gte(t));
    }
    if let Some(t) = filter.received_before {
        c = c.add(C::ReceivedAt.lt(t));
    }
    for word in &filter.words {
        c = c.add(C::SearchText.like(contains_pattern(word)));
    }
    for literal in &filter.literals {
        c = c.add(
            Condition::any()
                .add(C::Title.like(contains_pattern(literal)))
                .add(C::Content.like(contains_pattern(literal))),
        );
    }
    c
}

impl Store {
    /// One page of the queue, `limit` rows, and whether more follow.
    pub async fn queue_page(
        &self,
        filter: &QueueFilter,
        scope: QueueScope,
        after: Option<QueueCursor>,
        limit: u64,
        now: DateTime<Utc>,
    ) -> Result<(Vec<QueueEntry>, bool), StoreError> {
        use feedback_item::Column as C;
        let mut condition = apply(filter, scope, now);
        if let Some(cursor) = after {
            // Sorted by due date (nulls, i.e. paused items, last), then id.
            condition = condition.add(match cursor.due_at {
                Some(due) => Condition::any()
                    .add(C::DueAt.gt(due))
                    .add(
                        Condition::all()
                            .add(C::DueAt.eq(due))
                            .add(C::Id.gt(cursor.id)),
                    )
                    .add(C::DueAt.is_null()),
                None => Condition::all()
                    .add(C::DueAt.is_null())
                    .add(C::Id.gt(cursor.id)),
            });
        }
        let mut rows = entry_columns(feedback_item::Entity::find())
            .filter(condition)
            .order_by_with_nulls(C::DueAt, Order::Asc, NullOrdering::Last)
            .order_by_asc(C::Id)
            .limit(limit + 1)
            .into_model::<QueueEntry>()
            .all(self.connection())
            .await?;
        let more = rows.len() as u64 > limit;
        rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        Ok((rows, more))
    }

    /// The items matching `filter` in `scope` (at most `limit`, most
    /// urgent first): a bulk action's "every item matching this filter".
    pub async fn queue_codes(
        &self,
        filter: &QueueFilter,
        scope: QueueScope,
        limit: u64,
        now: DateTime<Utc>,
    ) -> Result<Vec<String>, StoreError> {
        use feedback_item::Column as C;
        Ok(feedback_item::Entity::find()
            .select_only()
            .column(C::TrackingCode)
            .filter(apply(filter, scope, now))
            .order_by_with_nulls(C::DueAt, Order::Asc, NullOrdering::Last)
            .order_by_asc(C::Id)
            .limit(limit)
            .into_tuple::<String>()
            .all(self.connection())
            .await?)
    }

    /// How many items match `filter` in `scope`, counted up to `cap`.
    pub async fn queue_count(
        &self,
        filter: &QueueFilter,
        scope: QueueScope,
        cap: u64,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        use sea_orm::PaginatorTrait;
        let capped = feedback_item::Entity::find()
            .select_only()
            .column(feedback_item::Column::Id)
            .filter(apply(filter, scope, now))
            .limit(cap);
        Ok(capped.count(self.connection()).await?)
    }

    /// Which of `items` may be the same matter as another item: another
    /// item from the same phone number or e-mail address received since
    /// `since` that is not merged or refused. One EXISTS per contact, each
    /// on its own index: a single EXISTS over `phone OR email` cannot use
    /// either, and PostgreSQL costed it high enough to JIT-compile it on
    /// every queue page (about 15 ms a page on a million items).
    pub async fn possible_duplicates(
        &self,
        items: &[Uuid],
        since: DateTime<Utc>,
    ) -> Result<Vec<Uuid>, StoreError> {
        use sea_orm::{ConnectionTrait, Statement};
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let backend = self.backend();
        let placeholders: Vec<String> = (0..items.len()).map(|i| format!("${}", i + 2)).collect();
        let statement = format!(
            "SELECT a.id AS id FROM feedback_item a WHERE a.id IN ({ids}) AND (\
               (a.phone IS NOT NULL AND EXISTS ({other} AND b.phone = a.phone)) \
               OR (a.email IS NOT NULL AND EXISTS ({other} AND b.email = a.email)))",
            ids = placeholders.join(", "),
            other = "SELECT 1 FROM feedback_item b WHERE b.id <> a.id AND b.received_at >= $1 \
                     AND b.state NOT IN ('merged', 'not_accepted')"
        );
        let mut values: Vec<sea_orm::Value> = vec![since.into()];
        values.extend(items.iter().map(|id| sea_orm::Value::from(*id)));
        let rows = self
            .connection()
            .query_all_raw(Statement::from_sql_and_values(
                backend,
                super::sql(backend, &statement),
                values,
            ))
            .await?;
        rows.iter()
            .map(|r| Ok(r.try_get::<Uuid>("", "id")?))
            .collect()
    }

    /// Counts per state and overdue counts, within the scope. The counts
    /// are sums of the state deltas the triggers of migration 29 write
    /// (exact, whatever the number of items); an agency's scope adds the
    /// items it was asked to contribute to, which are few. The province's
    /// overdue counts are sums of the due-hour rows of migration 31 for
    /// the hours already over, plus the current hour's overdue items; an
    /// agency's are counted from its overdue items.
    pub async fn queue_summary(
        &self,
        scope: QueueScope,
        now: DateTime<Utc>,
    ) -> Result<Vec<(String, i64, i64)>, StoreError> {
        use feedback_item::Column as C;
        use sea_orm::{ConnectionTrait, Statement};
        let backend = self.backend();
        let db = self.connection();
        let (statement, values): (&str, Vec<sea_orm::Value>) = match scope {
            QueueScope::Province => (
                "SELECT state, CAST(SUM(delta) AS BIGINT) AS n FROM item_state_delta \
                 GROUP BY state",
                Vec::new(),
            ),
            QueueScope::HandledBy(agency) => (
                "SELECT state, CAST(SUM(delta) AS BIGINT) AS n FROM item_state_delta \
                 WHERE handling_agency_id = $1 GROUP BY state \
                 UNION ALL \
                 SELECT state, COUNT(*) AS n FROM feedback_item \
                 WHERE id IN (SELECT feedback_item_id FROM coordination \
                              WHERE agency_id = $1 AND state IN ('requested', 'contributed')) \
                   AND (handling_agency_id IS NULL OR handling_agency_id <> $1) \
                 GROUP BY state",
                vec![agency.into()],
            ),
        };
        let counts = db.query_all_raw(Statement::from_sql_and_values(
            backend,
            super::sql(backend, statement),
            values,
        ));
        let overdue = async {
            let rows: Vec<(String, i64)> = match scope {
                // The hours already over from the kept due-hour rows, the
                // current hour's overdue items from the due-time index.
                QueueScope::Province => {
                    let hour = now.timestamp().div_euclid(3600);
                    let hour_start = DateTime::from_timestamp(hour * 3600, 0).unwrap_or(now);
                    let rows = db
                        .query_all_raw(Statement::from_sql_and_values(
                            backend,
                            super::sql(
                                backend,
                                "SELECT state, CAST(SUM(delta) AS BIGINT) AS n FROM item_due_delta \
                                 WHERE due_hour < $1 GROUP BY state \
                                 UNION ALL \
                                 SELECT state, COUNT(*) AS n FROM feedback_item \
                                 WHERE due_at >= $2 AND due_at < $3 GROUP BY state",
                            ),
                            [hour.into(), hour_start.into(), now.into()],
                        ))
                        .await?;
                    rows.iter()
                        .map(|r| Ok((r.try_get("", "state")?, r.try_get("", "n")?)))
                        .collect::<Result<_, StoreError>>()?
                }
                // An agency's share is counted from its items.
                QueueScope::HandledBy(_) => {
                    let overdue_only = QueueFilter {
                        overdue: Some(true),
                        ..QueueFilter::default()
                    };
                    feedback_item::Entity::find()
                        .select_only()
                        .column(C::State)
                        .column_as(count_rows(), "n")
                        .filter(apply(&overdue_only, scope, now))
                        .group_by(C::State)
                        .into_tuple::<(String, i64)>()
                        .all(db)
                        .await?
                }
            };
            let mut late: std::collections::BTreeMap<String, i64> = Default::default();
            for (state, n) in rows {
                *late.entry(state).or_default() += n;
            }
            Ok::<_, StoreError>(late)
        };
        // At once, each on its own connection.
        let (rows, overdue) =
            tokio::try_join!(async { Ok::<_, StoreError>(counts.await?) }, overdue)?;
        let mut totals: std::collections::BTreeMap<String, i64> = Default::default();
        for row in rows {
            let state: String = row.try_get("", "state")?;
            let n: i64 = row.try_get("", "n")?;
            *totals.entry(state).or_default() += n;
        }
        Ok(totals
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .map(|(state, n)| {
                let late = overdue.get(&state).copied().unwrap_or(0);
                (state, n, late)
            })
            .collect())
    }
}

/// A newly arrived item, as the live counts list it.
#[derive(Debug, Clone, PartialEq, Eq, sea_orm::FromQueryResult)]
pub struct ArrivalRow {
    pub tracking_code: String,
    pub title: String,
    pub channel: String,
    pub updated_at: DateTime<Utc>,
}

impl Store {
    /// The items of `scope` waiting in `state`, most recently changed
    /// first (served by the state/updated_at index).
    pub async fn newest_in_state(
        &self,
        scope: QueueScope,
        state: &str,
        limit: u64,
        now: DateTime<Utc>,
    ) -> Result<Vec<ArrivalRow>, StoreError> {
        use feedback_item::Column as C;
        let filter = QueueFilter {
            states: vec![state.to_string()],
            ..QueueFilter::default()
        };
        Ok(feedback_item::Entity::find()
            .select_only()
            .columns([C::TrackingCode, C::Title, C::Channel, C::UpdatedAt])
            .filter(apply(&filter, scope, now))
            .order_by_desc(C::UpdatedAt)
            .limit(limit)
            .into_model::<ArrivalRow>()
            .all(self.connection())
            .await?)
    }
}

/// What duplicate detection compares of a recent item.
#[derive(Debug, Clone, sea_orm::FromQueryResult)]
pub struct DuplicateCandidate {
    pub id: Uuid,
    pub tracking_code: String,
    pub title: String,
    pub state: String,
    pub received_at: DateTime<Utc>,
    pub search_text: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub procedure_code: Option<String>,
}

impl Store {
    /// Items received since `since` (newest first, at most `limit`) that
    /// could be the primary of a cluster: not merged, not rejected.
    pub async fn duplicate_candidates(
        &self,
        since: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<DuplicateCandidate>, StoreError> {
        use feedback_item::Column as C;
        // Only what the comparison reads: the candidates are many, their
        // full rows (the content above all) are not needed.
        Ok(feedback_item::Entity::find()
            .select_only()
            .columns([
                C::Id,
                C::TrackingCode,
                C::Title,
                C::State,
                C::ReceivedAt,
                C::SearchText,
                C::Phone,
                C::Email,
                C::ProcedureCode,
            ])
            .filter(C::ReceivedAt.gte(since))
            .filter(C::State.is_not_in(["merged", "not_accepted"]))
            .order_by_desc(C::ReceivedAt)
            .limit(limit)
            .into_model::<DuplicateCandidate>()
            .all(self.connection())
            .await?)
    }
}
