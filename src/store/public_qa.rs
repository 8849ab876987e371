//! The public Q&A's reads: only published items, only what was
//! published of them. Nothing here selects a name, a contact, a token or
//! the private original text, so nothing above can leak it.

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use sea_orm::sea_query::Expr;
use sea_orm::{ConnectionTrait, DbBackend, FromQueryResult, QueryTrait, Statement};

use super::entities::feedback_item;

use super::{Store, StoreError};

/// One published item as the public sees it.
#[derive(Debug, Clone, PartialEq, Eq, sea_orm::FromQueryResult)]
pub struct PublicItem {
    pub tracking_code: String,
    pub title_redacted: Option<String>,
    pub question_redacted: Option<String>,
    /// The redacted answer.
    pub answer: Option<String>,
    pub kind: String,
    pub field_id: Option<Uuid>,
    pub handling_agency_id: Option<Uuid>,
    pub submitter_type: String,
    pub received_at: DateTime<Utc>,
    pub answered_at: Option<DateTime<Utc>>,
    pub published_at: Option<DateTime<Utc>>,
    /// When what the public sees of it last changed.
    pub public_changed_at: Option<DateTime<Utc>>,
}

/// Matches are counted up to this many.
pub const PUBLIC_COUNT_CAP: u64 = 10_000;

/// A search lists this many matches at most: on PostgreSQL the newest,
/// ranked by `ts_rank`; on SQLite the best by `bm25`.
const RANK_WINDOW: u64 = 1_000;

/// PostgreSQL reads a search's matches in windows of the public items:
/// the newest 16,000, then those down to the 128,000th newest, then the
/// rest. A word in one item of twelve fills [`RANK_WINDOW`] from the first
/// window's 1,300 or so rows instead of reading every match to find the
/// newest.
const SEARCH_WINDOWS: [u64; 2] = [16 * RANK_WINDOW, 128 * RANK_WINDOW];

/// How long an instance keeps the windows' bounds. Any bounds give the
/// same answer (the windows never overlap and together hold every item);
/// stale ones only make a window larger or smaller than meant.
const SEARCH_WINDOWS_KEPT: std::time::Duration = std::time::Duration::from_secs(600);

/// How many items match: exact up to [`PUBLIC_COUNT_CAP`], else the cap
/// and `capped`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PublicTotal {
    pub count: u64,
    pub capped: bool,
}

/// Filters of the public list; `terms` are folded (see
/// `domain::text::fold_for_search`) and must all occur.
#[derive(Debug, Clone, Default)]
pub struct PublicQuery {
    pub terms: Vec<String>,
    pub agency_id: Option<Uuid>,
    pub field_id: Option<Uuid>,
    pub kind: Option<String>,
    /// Published in `[from, to)`.
    pub published_from: Option<DateTime<Utc>>,
    pub published_to: Option<DateTime<Utc>>,
    pub limit: u64,
    pub offset: u64,
}

/// Public rows. `publish` sets the redacted copies, the publication time
/// and the folded public text together, and `unpublish` clears the text:
/// an item is public exactly while it has public text, whatever happens
/// to the case after (closing a published item leaves it public). This is
/// the predicate of the partial indexes (migration 16), so counting the
/// public rows reads an index, not the table.
fn published() -> Condition {
    // A literal, not a bound parameter: a planner can only use a partial
    // index when it can see that the query's condition implies the
    // index's (SQLite never, PostgreSQL not in a generic plan).
    Condition::all().add(Expr::cust("feedback_item.public_search_text IS NOT NULL"))
}

/// What the public reads of an item: the redacted copies only (the
/// answer too), never the original text, the submitter or `updated_at`
/// (which private events such as a rating move).
fn public_columns<E: QuerySelect>(query: E) -> E {
    use feedback_item::Column as C;
    query
        .select_only()
        .columns([C::TrackingCode, C::TitleRedacted, C::QuestionRedacted])
        .column_as(C::AnswerRedacted, "answer")
        .columns([
            C::Kind,
            C::FieldId,
            C::HandlingAgencyId,
            C::SubmitterType,
            C::ReceivedAt,
            C::AnsweredAt,
            C::PublishedAt,
            C::PublicChangedAt,
        ])
}

/// Open311's filters over the published items: `codes` alone when given
/// (the standard's `service_request_id` "overrides all other arguments").
#[derive(Debug, Clone, Default)]
pub struct Open311Query {
    pub codes: Vec<String>,
    /// `Some`: only items in these fields (`None`: in no field); an empty
    /// list matches nothing.
    pub fields: Option<Vec<Option<Uuid>>>,
    /// Received in `[from, to]`.
    pub received_from: Option<DateTime<Utc>>,
    pub received_to: Option<DateTime<Utc>>,
    /// `Some(true)`: answered (closed) only; `Some(false)`: not yet.
    pub answered: Option<bool>,
    pub limit: u64,
}

impl Store {
    /// Published items for Open311, newest received first.
    pub async fn open311_items(&self, q: &Open311Query) -> Result<Vec<PublicItem>, StoreError> {
        use feedback_item::Column as C;
        let mut filter = published();
        if !q.codes.is_empty() {
            filter = filter.add(C::TrackingCode.is_in(q.codes.clone()));
        } else {
            if let Some(fields) = &q.fields {
                let ids: Vec<Uuid> = fields.iter().flatten().copied().collect();
                let none = fields.contains(&None);
                if ids.is_empty() && !none {
                    return Ok(Vec::new());
                }
                let mut any = Condition::any();
                if !ids.is_empty() {
                    any = any.add(C::FieldId.is_in(ids));
                }
                if none {
                    any = any.add(C::FieldId.is_null());
                }
                filter = filter.add(any);
            }
            if let Some(from) = q.received_from {
                filter = filter.add(C::ReceivedAt.gte(from));
            }
            if let Some(to) = q.received_to {
                filter = filter.add(C::ReceivedAt.lte(to));
            }
            match q.answered {
                Some(true) => filter = filter.add(C::AnsweredAt.is_not_null()),
                Some(false) => filter = filter.add(C::AnsweredAt.is_null()),
                None => {}
            }
        }
        Ok(public_columns(feedback_item::Entity::find().filter(filter))
            .order_by_desc(C::ReceivedAt)
            .order_by_desc(C::TrackingCode)
            .limit(q.limit)
            .into_model::<PublicItem>()
            .all(self.reader())
            .await?)
    }

    /// A page of published items, newest first (with words: the best
    /// matches first), and how many match.
    pub async fn public_items(
        &self,
        q: &PublicQuery,
    ) -> Result<(Vec<PublicItem>, PublicTotal), StoreError> {
        if !q.terms.is_empty() {
            return self.public_search(q).await;
        }
        let mut filter = published();
        if let Some(a) = q.agency_id {
            filter = filter.add(feedback_item::Column::HandlingAgencyId.eq(a));
        }
        if let Some(f) = q.field_id {
            filter = filter.add(feedback_item::Column::FieldId.eq(f));
        }
        if let Some(k) = &q.kind {
            filter = filter.add(feedback_item::Column::Kind.eq(k.as_str()));
        }
        if let Some(from) = q.published_from {
            filter = filter.add(feedback_item::Column::PublishedAt.gte(from));
        }
        if let Some(to) = q.published_to {
            filter = filter.add(feedback_item::Column::PublishedAt.lt(to));
        }
        let select = public_columns(feedback_item::Entity::find().filter(filter));
        // Counted up to a cap: past it, the exact number costs a pass over
        // every match (the whole table for a plain list on SQLite) and
        // tells a reader nothing a "more than" does not.
        let mut counting = select.clone();
        QueryTrait::query(&mut counting)
            .clear_order_by()
            .clear_selects()
            .expr(Expr::val(1))
            .limit(PUBLIC_COUNT_CAP + 1);
        let counted = counting.count(self.reader()).await?;
        let total = PublicTotal {
            count: counted.min(PUBLIC_COUNT_CAP),
            capped: counted > PUBLIC_COUNT_CAP,
        };
        let items = select
            .order_by_desc(feedback_item::Column::PublishedAt)
            .order_by_desc(feedback_item::Column::TrackingCode)
            .limit(q.limit)
            .offset(q.offset)
            .into_model::<PublicItem>()
            .all(self.reader())
            .await?;
        Ok((items, total))
    }

    /// A search: the newest [`RANK_WINDOW`] matches, read from the
    /// search structure that holds only public items (PostgreSQL's
    /// `public_search_doc`, SQLite's FTS table), ranked there (`ts_rank`,
    /// `bm25`), best first and newest among equals; then the page's items
    /// by id. A common word costs the same as a rare one: the window is
    /// one index walk that stops at [`RANK_WINDOW`] + 1 matches, and only
    /// those are ranked.
    async fn public_search(
        &self,
        q: &PublicQuery,
    ) -> Result<(Vec<PublicItem>, PublicTotal), StoreError> {
        self.public_search_in_windows(q, None).await
    }

    /// The search with the windows' bounds given (newest first), not the
    /// ones this instance keeps: for proving that any bounds find the
    /// same.
    #[doc(hidden)]
    pub async fn public_search_in_windows(
        &self,
        q: &PublicQuery,
        windows: Option<&[DateTime<Utc>]>,
    ) -> Result<(Vec<PublicItem>, PublicTotal), StoreError> {
        #[derive(sea_orm::FromQueryResult)]
        struct Match {
            item_id: Uuid,
            published_at: DateTime<Utc>,
            tracking_code: String,
            score: f64,
        }
        let backend = self.backend();
        let mut values: Vec<sea_orm::Value> = Vec::new();
        let bind = |v: sea_orm::Value, values: &mut Vec<sea_orm::Value>| {
            values.push(v);
            match backend {
                DbBackend::Postgres => format!("${}", values.len()),
                _ => "?".to_string(),
            }
        };
        // The words first (each backend's own match), then the filters,
        // on the search table's columns (PostgreSQL) or the item's.
        let (matching, prefix) = match backend {
            DbBackend::Postgres => {
                let phrase = self.corrected_terms(&q.terms).await?.join(" ");
                let query = format!(
                    "plainto_tsquery('simple', {})",
                    bind(phrase.into(), &mut values)
                );
                (query, "")
            }
            _ => {
                // Every word, each quoted (FTS5 syntax has operators).
                let words: Vec<String> = q
                    .terms
                    .iter()
                    .map(|t| format!("\"{}\"", t.replace('"', "\"\"")))
                    .collect();
                (bind(words.join(" ").into(), &mut values), "f.")
            }
        };
        let mut filters = String::new();
        let mut filter = |condition: &str, value: sea_orm::Value| {
            filters += &format!(" AND {prefix}{condition} {}", bind(value, &mut values));
        };
        if let Some(a) = q.agency_id {
            filter("handling_agency_id =", a.into());
        }
        if let Some(f) = q.field_id {
            filter("field_id =", f.into());
        }
        if let Some(k) = &q.kind {
            filter("kind =", k.clone().into());
        }
        if let Some(from) = q.published_from {
            filter("published_at >=", from.into());
        }
        if let Some(to) = q.published_to {
            filter("published_at <", to.into());
        }
        let mut matches = match backend {
            DbBackend::Postgres => {
                let bounds = match windows {
                    Some(bounds) => bounds.to_vec(),
                    None => self.search_window_bounds().await?,
                };
                // Newest windows first; each read only while the newest
                // RANK_WINDOW + 1 matches are not yet all found. Every
                // item of a window is newer than every item of the next,
                // so the matches come in the order one query would give.
                let mut matches: Vec<Match> = Vec::new();
                for arm in 0..=bounds.len() {
                    let wanted = RANK_WINDOW + 1 - matches.len() as u64;
                    let mut values = values.clone();
                    let mut window = String::new();
                    if let Some(newer) = arm.checked_sub(1).map(|i| bounds[i]) {
                        window +=
                            &format!(" AND published_at < {}", bind(newer.into(), &mut values));
                    }
                    if let Some(older) = bounds.get(arm) {
                        window += &format!(
                            " AND published_at >= {}",
                            bind((*older).into(), &mut values)
                        );
                    }
                    let sql = format!(
                        "SELECT item_id, published_at, tracking_code, \
                                ts_rank(tsv, {matching})::float8 AS score \
                         FROM (SELECT item_id, published_at, tracking_code, tsv \
                               FROM public_search_doc WHERE tsv @@ {matching}{filters}{window} \
                               ORDER BY published_at DESC, tracking_code DESC LIMIT {wanted}) AS newest"
                    );
                    matches.extend(
                        Match::find_by_statement(Statement::from_sql_and_values(
                            backend, sql, values,
                        ))
                        .all(self.reader())
                        .await?,
                    );
                    if matches.len() as u64 > RANK_WINDOW {
                        break;
                    }
                }
                matches
            }
            // The FTS table's rowid grows as public text is written, so
            // its newest rows are the newest matches; FTS5 walks them
            // backwards and scores only those it returns. bm25: lower is
            // better, so it is negated to sort like ts_rank.
            _ => {
                let sql = format!(
                    "SELECT f.id AS item_id, f.published_at AS published_at, \
                            f.tracking_code AS tracking_code, -bm25(public_search) AS score \
                     FROM public_search JOIN feedback_item f ON f.id = public_search.item_id \
                     WHERE public_search MATCH {matching} \
                       AND f.public_search_text IS NOT NULL{filters} \
                     ORDER BY public_search.rowid DESC LIMIT {}",
                    RANK_WINDOW + 1
                );
                Match::find_by_statement(Statement::from_sql_and_values(backend, sql, values))
                    .all(self.reader())
                    .await?
            }
        };
        // Where only RANK_WINDOW matches are listed, that is what the
        // total promises too (no page past them comes up empty).
        let total = PublicTotal {
            count: (matches.len() as u64).min(RANK_WINDOW),
            capped: matches.len() as u64 > RANK_WINDOW,
        };
        matches.truncate(RANK_WINDOW as usize);
        matches.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then(b.published_at.cmp(&a.published_at))
                .then(b.tracking_code.cmp(&a.tracking_code))
        });
        let page: Vec<&Match> = matches
            .iter()
            .skip(q.offset as usize)
            .take(q.limit as usize)
            .collect();
        if page.is_empty() {
            return Ok((Vec::new(), total));
        }
        let found = public_columns(feedback_item::Entity::find().filter(published()).filter(
            feedback_item::Column::Id.is_in(page.iter().map(|m| m.item_id).collect::<Vec<_>>()),
        ))
        .into_model::<PublicItem>()
        .all(self.reader())
        .await?;
        let mut by_code: std::collections::HashMap<String, PublicItem> = found
            .into_iter()
            .map(|i| (i.tracking_code.clone(), i))
            .collect();
        let items = page
            .iter()
            .filter_map(|m| by_code.remove(&m.tracking_code))
            .collect();
        Ok((items, total))
    }

    /// The publication times that end the search windows (PostgreSQL):
    /// that of the [`SEARCH_WINDOWS`]-th newest public item each, fewer
    /// when there are fewer items; kept [`SEARCH_WINDOWS_KEPT`]. Each is
    /// read backwards along the newest-first index, without the table.
    async fn search_window_bounds(&self) -> Result<Vec<DateTime<Utc>>, StoreError> {
        if let Ok(kept) = self.search_windows.lock()
            && let Some((at, bounds)) = kept.as_ref()
            && at.elapsed() < SEARCH_WINDOWS_KEPT
        {
            return Ok(bounds.clone());
        }
        let mut bounds = Vec::with_capacity(SEARCH_WINDOWS.len());
        for size in SEARCH_WINDOWS {
            let row = self
                .connection()
                .query_one_raw(Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    "SELECT published_at FROM public_search_doc \
                     ORDER BY published_at DESC, tracking_code DESC OFFSET $1 LIMIT 1",
                    [i64::try_from(size - 1).unwrap_or(i64::MAX).into()],
                ))
                .await?;
            match row {
                Some(row) => bounds.push(row.try_get::<DateTime<Utc>>("", "published_at")?),
                None => break,
            }
        }
        if let Ok(mut kept) = self.search_windows.lock() {
            *kept = Some((std::time::Instant::now(), bounds.clone()));
        }
        Ok(bounds)
    }

    /// The words to search for on PostgreSQL: each as typed when some
    /// published text has it, else the nearest word that does (one edit
    /// away, two for long words), else as typed (and nothing matches).
    async fn corrected_terms(&self, terms: &[String]) -> Result<Vec<String>, StoreError> {
        if !self.has_fuzzy_match().await? {
            return Ok(terms.to_vec());
        }
        let mut out = Vec::with_capacity(terms.len());
        for term in terms {
            let len = term.chars().count();
            // Short words and numbers have too many neighbours to guess.
            // ("mat" is one edit from "mot", "mat", "mau", …: guessing
            // would find what nobody asked for.)
            if len < 4 || term.chars().any(|c| c.is_ascii_digit()) {
                out.push(term.clone());
                continue;
            }
            let max_edits: i32 = if len >= 7 { 2 } else { 1 };
            let row = self
                .connection()
                .query_one_raw(Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    "SELECT word FROM public_search_word WHERE word = $1 \
                     UNION ALL \
                     (SELECT word FROM public_search_word \
                      WHERE length(word) BETWEEN length($1) - $2 AND length($1) + $2 \
                        AND levenshtein(word, $1) <= $2 \
                      ORDER BY levenshtein(word, $1), word LIMIT 1) \
                     LIMIT 1",
                    [term.clone().into(), max_edits.into()],
                ))
                .await?;
            let word = match row {
                Some(row) => row.try_get::<String>("", "word")?,
                None => term.clone(),
            };
            out.push(word);
        }
        Ok(out)
    }

    /// Whether PostgreSQL has `fuzzystrmatch` (migration 13, best effort),
    /// asked once.
    async fn has_fuzzy_match(&self) -> Result<bool, StoreError> {
        let known = self
            .fuzzy_match
            .get_or_try_init(|| async {
                let row = self
                    .connection()
                    .query_one_raw(Statement::from_string(
                        DbBackend::Postgres,
                        "SELECT 1 AS present FROM pg_extension WHERE extname = 'fuzzystrmatch'",
                    ))
                    .await?;
                if row.is_none() {
                    tracing::warn!(
                        "fuzzystrmatch is not installed: public search does not correct typos"
                    );
                }
                Ok::<_, StoreError>(row.is_some())
            })
            .await?;
        Ok(*known)
    }

    /// When anything the public sees last changed: a publication, an
    /// unpublication, an edit of public text, anywhere (an unpublished
    /// item keeps the time it left). Every public list's `Last-Modified`;
    /// read from an index.
    pub async fn public_version(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        Ok(feedback_item::Entity::find()
            .select_only()
            .expr(sea_orm::sea_query::ExprTrait::max(Expr::col(
                feedback_item::Column::PublicChangedAt,
            )))
            .into_tuple::<Option<DateTime<Utc>>>()
            .one(self.reader())
            .await?
            .flatten())
    }

    /// One published item by its tracking code.
    pub async fn public_item(&self, tracking_code: &str) -> Result<Option<PublicItem>, StoreError> {
        Ok(public_columns(
            feedback_item::Entity::find()
                .filter(published())
                .filter(feedback_item::Column::TrackingCode.eq(tracking_code)),
        )
        .into_model::<PublicItem>()
        .one(self.reader())
        .await?)
    }
}
