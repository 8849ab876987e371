//! The staff queue as the actor may see it: filters read from a query
//! (the same names in the JSON API and the console's URL), a page of rows
//! most urgent first with how urgent each is in working days, and the
//! counts per state of the actor's whole scope.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Services;
use super::staff_items::{AgencyRef, StaffError};
use crate::domain::feedback::{Channel, FeedbackKind, FeedbackState};
use crate::domain::ids::{AgencyId, FieldId};
use crate::domain::reporting::working_days_between;
use crate::domain::staff::{Actor, ItemScope, Permission};
use crate::domain::text::{clean_line, fold_for_search};
use crate::domain::time::{VnTime, vietnam_date, vietnam_instant};
use crate::domain::urgency::Urgency;
use crate::store::directory_cache::DirectorySnapshot;
use crate::store::queue::{QueueCursor, QueueEntry, QueueFilter, QueueScope};

/// The queue's filters as a query string carries them.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct QueueQuery {
    /// States, comma-separated (`received,classified`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agency_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overdue: Option<String>,
    /// Due before a date (`YYYY-MM-DD`, the end of that day) or an instant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_before: Option<String>,
    /// Due within this many working days from today (0 = today).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_within: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub received_from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub received_to: Option<String>,
    /// Words, without diacritics if one likes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<String>,
}

impl QueueQuery {
    /// The filters among `pairs` (a page's query string, a saved view):
    /// the names the queue knows are taken, anything else is left out.
    pub fn from_pairs<K: AsRef<str>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        let mut q = Self::default();
        for (name, value) in pairs {
            let slot = match name.as_ref() {
                "state" => &mut q.state,
                "channel" => &mut q.channel,
                "kind" => &mut q.kind,
                "field_code" => &mut q.field_code,
                "agency_code" => &mut q.agency_code,
                "overdue" => &mut q.overdue,
                "due_before" => &mut q.due_before,
                "due_within" => &mut q.due_within,
                "received_from" => &mut q.received_from,
                "received_to" => &mut q.received_to,
                "q" => &mut q.q,
                "cursor" => &mut q.cursor,
                "limit" => &mut q.limit,
                _ => continue,
            };
            *slot = Some(value.into());
        }
        q
    }

    /// [`QueueQuery::from_pairs`] of a query string.
    pub fn from_query_string(query: &str) -> Self {
        Self::from_pairs(
            serde_urlencoded::from_str::<Vec<(String, String)>>(query).unwrap_or_default(),
        )
    }

    /// The query with empty values dropped (a form sends every field).
    pub fn cleaned(self) -> Self {
        let keep = |v: Option<String>| v.filter(|v| !v.trim().is_empty());
        Self {
            state: keep(self.state),
            channel: keep(self.channel),
            kind: keep(self.kind),
            field_code: keep(self.field_code),
            agency_code: keep(self.agency_code),
            overdue: keep(self.overdue),
            due_before: keep(self.due_before),
            due_within: keep(self.due_within),
            received_from: keep(self.received_from),
            received_to: keep(self.received_to),
            q: keep(self.q),
            cursor: keep(self.cursor),
            limit: keep(self.limit),
        }
    }

    /// The same filters without paging (a saved view, "every item
    /// matching this filter").
    pub fn without_paging(&self) -> Self {
        Self {
            cursor: None,
            limit: None,
            ..self.clone()
        }
    }

    /// As a query string (for links), without empty values.
    pub fn to_query_string(&self) -> String {
        serde_urlencoded::to_string(self).unwrap_or_default()
    }
}

/// A filter the queue could not read: which one, and why, in Vietnamese.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadFilter {
    pub field: &'static str,
    pub message: &'static str,
}

fn bad(field: &'static str, message: &'static str) -> BadFilter {
    BadFilter { field, message }
}

/// Read filters, ready for the store.
#[derive(Debug, Clone)]
pub struct ParsedQuery {
    pub filter: QueueFilter,
    pub cursor: Option<QueueCursor>,
    pub limit: u64,
}

/// Start of a Vietnamese calendar day.
fn day_start(raw: &str) -> Option<DateTime<Utc>> {
    use chrono::Datelike;
    NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
        .ok()
        .filter(|d| (1900..=2199).contains(&d.year()))
        .map(|d| vietnam_instant(d, NaiveTime::MIN))
}

fn encode_cursor(entry: &QueueEntry) -> String {
    let due = entry
        .due_at
        .map_or_else(|| "n".to_string(), |t| t.timestamp_micros().to_string());
    format!("{due}.{}", entry.id.simple())
}

fn decode_cursor(raw: &str) -> Option<QueueCursor> {
    let (due, id) = raw.split_once('.')?;
    let id = Uuid::try_parse(id).ok()?;
    let due_at = if due == "n" {
        None
    } else {
        Some(DateTime::from_timestamp_micros(due.parse().ok()?)?)
    };
    Some(QueueCursor { due_at, id })
}

/// Reads `q` against the directory and the working-day calendar.
pub fn parse(
    s: &Services,
    q: &QueueQuery,
    directory: &DirectorySnapshot,
    now: DateTime<Utc>,
) -> Result<ParsedQuery, BadFilter> {
    let q = q.clone().cleaned();
    let mut f = QueueFilter::default();
    if let Some(states) = q.state.as_deref() {
        for part in states.split(',') {
            let state = FeedbackState::parse(part.trim()).ok_or(bad(
                "state",
                "Tham số state không hợp lệ (ví dụ: received,classified).",
            ))?;
            f.states.push(state.as_str().to_string());
        }
    }
    if let Some(c) = q.channel.as_deref() {
        f.channel = Some(
            Channel::parse(c)
                .ok_or(bad("channel", "Tham số channel không hợp lệ."))?
                .as_str()
                .to_string(),
        );
    }
    if let Some(k) = q.kind.as_deref() {
        f.kind = Some(
            FeedbackKind::parse(k)
                .ok_or(bad(
                    "kind",
                    "Tham số kind chỉ nhận phan_anh hoặc kien_nghi.",
                ))?
                .as_str()
                .to_string(),
        );
    }
    if let Some(code) = q.field_code.as_deref() {
        f.field_id = Some(directory.fields.get(code).map(|id| id.as_uuid()));
    }
    if let Some(code) = q.agency_code.as_deref() {
        f.agency_id = Some(directory.agencies.get(code).map(|id| id.as_uuid()));
    }
    f.overdue = match q.overdue.as_deref() {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(_) => return Err(bad("overdue", "Tham số overdue chỉ nhận true hoặc false.")),
    };
    if let Some(raw) = q.due_before.as_deref() {
        f.due_before = Some(match DateTime::parse_from_rfc3339(raw) {
            Ok(t) => t.with_timezone(&Utc),
            // A date: due before the end of that day.
            Err(_) => {
                day_start(raw).ok_or(bad(
                    "due_before",
                    "Tham số due_before phải là ngày YYYY-MM-DD hoặc thời điểm RFC 3339.",
                ))? + Duration::days(1)
            }
        });
    }
    if let Some(raw) = q.due_within.as_deref() {
        let days = raw
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|n| *n <= 60)
            .ok_or(bad(
                "due_within",
                "Tham số due_within là số ngày làm việc từ 0 đến 60.",
            ))?;
        let today = vietnam_date(now);
        let calendar = s.calendar.current();
        let last = calendar.calendar.add_working_days(today, days).0;
        let end = vietnam_instant(last + Duration::days(1), NaiveTime::MIN);
        f.due_before = Some(f.due_before.map_or(end, |b| b.min(end)));
    }
    if let Some(raw) = q.received_from.as_deref() {
        f.received_from = Some(day_start(raw).ok_or(bad(
            "received_from",
            "Tham số received_from phải là ngày YYYY-MM-DD.",
        ))?);
    }
    if let Some(raw) = q.received_to.as_deref() {
        f.received_before = Some(
            day_start(raw).ok_or(bad(
                "received_to",
                "Tham số received_to phải là ngày YYYY-MM-DD.",
            ))? + Duration::days(1),
        );
    }
    if let Some(text) = q.q.as_deref() {
        if text.chars().count() > 200 {
            return Err(bad("q", "Từ khoá tìm kiếm dài tối đa 200 ký tự."));
        }
        // Folded like the stored text: đường = duong = ĐƯỜNG, NFC or NFD.
        f.words = fold_for_search(text)
            .split_whitespace()
            .take(10)
            .map(str::to_string)
            .collect();
        // Folding keeps letters and digits only; a word with `%` or `_` (a
        // rate, a file name) is also looked for as typed, so those
        // characters mean themselves instead of matching anything.
        f.literals = clean_line(text)
            .split_whitespace()
            .filter(|w| w.contains(['%', '_']))
            .take(10)
            .map(str::to_string)
            .collect();
    }
    let cursor = match q.cursor.as_deref() {
        None => None,
        Some(raw) => Some(decode_cursor(raw).ok_or(bad("cursor", "Tham số cursor không hợp lệ."))?),
    };
    let limit = match q.limit.as_deref() {
        None => 50,
        Some(raw) => raw
            .parse::<u64>()
            .ok()
            .filter(|n| (1..=100).contains(n))
            .ok_or(bad("limit", "Tham số limit phải từ 1 đến 100."))?,
    };
    Ok(ParsedQuery {
        filter: f,
        cursor,
        limit,
    })
}

/// Which items the actor's queue holds.
pub fn scope(actor: &Actor) -> Result<QueueScope, StaffError> {
    if !actor.may(Permission::ViewItems) {
        return Err(StaffError::Forbidden);
    }
    match actor.item_scope() {
        ItemScope::Province => Ok(QueueScope::Province),
        ItemScope::OwnAgency(agency) => Ok(QueueScope::HandledBy(agency.as_uuid())),
        ItemScope::Nothing => Err(StaffError::Forbidden),
    }
}

/// One row of the queue.
#[derive(Debug, Clone, Serialize)]
pub struct QueueRowView {
    pub tracking_code: String,
    pub title: String,
    pub kind: FeedbackKind,
    pub channel: Channel,
    pub state: FeedbackState,
    /// Who holds the item: its handling agency, or the receiving office.
    pub handling_agency: AgencyRef,
    pub field_code: Option<String>,
    pub received_at: VnTime,
    pub due_at: Option<VnTime>,
    pub overdue: bool,
    pub language_flagged: bool,
    pub urgency: Urgency,
    pub needs_attention: bool,
    /// Another item from the same phone or e-mail, recently.
    pub possible_duplicate: bool,
}

impl QueueRowView {
    pub fn state_label(&self) -> &'static str {
        self.state.label_vi()
    }

    pub fn channel_label(&self) -> &'static str {
        self.channel.label_vi()
    }

    pub fn channel_short_label(&self) -> &'static str {
        self.channel.short_label_vi()
    }

    /// Waiting for the citizen.
    pub fn awaiting_citizen(&self) -> bool {
        self.state == FeedbackState::AwaitingInformation
    }
}

/// A page of the queue.
#[derive(Debug, Clone, Serialize)]
pub struct QueuePage {
    pub items: Vec<QueueRowView>,
    pub next_cursor: Option<String>,
}

/// How far back "the same person wrote before" looks.
const DUPLICATE_WINDOW_DAYS: i64 = 183;

/// The page of the queue `q` asks for, as `actor` may see it.
pub async fn page(
    s: &Services,
    actor: &Actor,
    q: &QueueQuery,
    now: DateTime<Utc>,
) -> Result<Result<QueuePage, BadFilter>, StaffError> {
    let scope = scope(actor)?;
    let directory = s.store.directory_snapshot().await?;
    let parsed = match parse(s, q, &directory, now) {
        Ok(p) => p,
        Err(bad) => return Ok(Err(bad)),
    };
    let (rows, more) = s
        .store
        .queue_page(&parsed.filter, scope, parsed.cursor, parsed.limit, now)
        .await?;
    let next_cursor = if more {
        rows.last().map(encode_cursor)
    } else {
        None
    };
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let duplicates = s
        .store
        .possible_duplicates(&ids, now - Duration::days(DUPLICATE_WINDOW_DAYS))
        .await?;
    let today = vietnam_date(now);
    let calendar = s.calendar.current();
    let working_days = |a: NaiveDate, b: NaiveDate| {
        working_days_between(a, b, |d| calendar.calendar.is_working_day(d))
    };
    let items = rows
        .iter()
        .map(|r| {
            let holder = AgencyId::from_uuid(r.handling_agency_id.unwrap_or(r.receiving_agency_id));
            let (code, name) = directory
                .agency_names
                .get(&holder)
                .cloned()
                .unwrap_or_default();
            let state = FeedbackState::parse(&r.state).unwrap_or(FeedbackState::Received);
            QueueRowView {
                tracking_code: r.tracking_code.clone(),
                title: r.title.clone(),
                kind: FeedbackKind::parse(&r.kind).unwrap_or(FeedbackKind::PhanAnh),
                channel: Channel::parse(&r.channel).unwrap_or(Channel::WebForm),
                state,
                handling_agency: AgencyRef { code, name },
                field_code: r
                    .field_id
                    .and_then(|f| directory.field_codes.get(&FieldId::from_uuid(f)).cloned()),
                received_at: r.received_at.into(),
                due_at: r.due_at.map(VnTime),
                overdue: r.due_at.is_some_and(|d| d < now),
                language_flagged: r.language_flagged,
                urgency: Urgency::of(
                    today,
                    r.due_at.map(vietnam_date),
                    state == FeedbackState::AwaitingInformation,
                    working_days,
                ),
                needs_attention: r.needs_attention,
                possible_duplicate: duplicates.contains(&r.id),
            }
        })
        .collect();
    Ok(Ok(QueuePage { items, next_cursor }))
}

/// The count of one state in the actor's scope.
#[derive(Debug, Clone, Serialize)]
pub struct StateCount {
    pub state: FeedbackState,
    pub count: i64,
    pub overdue: i64,
}

impl StateCount {
    pub fn label(&self) -> &'static str {
        self.state.label_vi()
    }
}

/// Counts for the whole scope.
#[derive(Debug, Clone, Serialize)]
pub struct QueueSummary {
    pub total: i64,
    pub overdue: i64,
    pub by_state: Vec<StateCount>,
}

impl QueueSummary {
    pub fn count_of(&self, state: &str) -> i64 {
        self.by_state
            .iter()
            .find(|c| c.state.as_str() == state)
            .map_or(0, |c| c.count)
    }
}

/// An item that just arrived where the reader works: a new item for the
/// control office, one forwarded to the agency for an agency.
#[derive(Debug, Clone, Serialize)]
pub struct Arrival {
    pub tracking_code: String,
    pub title: String,
    pub channel: Channel,
    pub at: VnTime,
}

impl Arrival {
    pub fn channel_label(&self) -> &'static str {
        self.channel.label_vi()
    }
}

/// How many arrivals the console's live counts list.
pub const ARRIVALS: u64 = 5;

/// The newest items waiting for `scope`'s first step: received items for
/// the province, forwarded ones for an agency. Titles are the citizen's
/// words, so this is for staff only (never the statistics summary).
pub async fn arrivals(
    s: &Services,
    scope: QueueScope,
    now: DateTime<Utc>,
) -> Result<Vec<Arrival>, StaffError> {
    let waiting = match scope {
        QueueScope::Province => FeedbackState::Received,
        QueueScope::HandledBy(_) => FeedbackState::Forwarded,
    };
    let rows = s
        .store
        .newest_in_state(scope, waiting.as_str(), ARRIVALS, now)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            Some(Arrival {
                channel: Channel::parse(&r.channel)?,
                tracking_code: r.tracking_code,
                title: r.title,
                at: VnTime(r.updated_at),
            })
        })
        .collect())
}

/// How long counts are reused while nothing happens (the overdue counts
/// move with the clock alone).
const SUMMARY_FRESH_SECONDS: i64 = 10;

/// Each scope's latest counts, reused while nothing happened since (the
/// newest audit event is the same, on whichever instance it was written)
/// and for at most [`SUMMARY_FRESH_SECONDS`]: counting a million items
/// takes tens of milliseconds, and every queue page, every live-count
/// message and the API's summary shows them.
/// One recount at a time: whoever arrives while the counts are being
/// counted waits for them instead of counting again.
#[derive(Default)]
pub struct SummaryCache {
    counted: std::sync::Mutex<std::collections::HashMap<QueueScope, Counted>>,
    recount: tokio::sync::Mutex<()>,
}

/// Counts, with the newest activity when they were counted and when.
type Counted = (Option<DateTime<Utc>>, DateTime<Utc>, QueueSummary);

/// The counts of `scope`.
pub async fn summary(
    s: &Services,
    scope: QueueScope,
    now: DateTime<Utc>,
) -> Result<QueueSummary, StaffError> {
    let marker = s.store.latest_activity().await?;
    let fresh = |(seen, at, _): &Counted| {
        *seen == marker && (now - *at).num_seconds().abs() < SUMMARY_FRESH_SECONDS
    };
    let cached = || {
        s.summary_cache
            .counted
            .lock()
            .ok()
            .and_then(|c| c.get(&scope).filter(|c| fresh(c)).map(|c| c.2.clone()))
    };
    if let Some(hit) = cached() {
        return Ok(hit);
    }
    let _one = s.summary_cache.recount.lock().await;
    // Counted by someone else while this request waited.
    if let Some(hit) = cached() {
        return Ok(hit);
    }
    let counted = count_summary(s, scope, now).await?;
    if let Ok(mut cache) = s.summary_cache.counted.lock() {
        cache.insert(scope, (marker, now, counted.clone()));
    }
    Ok(counted)
}

async fn count_summary(
    s: &Services,
    scope: QueueScope,
    now: DateTime<Utc>,
) -> Result<QueueSummary, StaffError> {
    let rows = s.store.queue_summary(scope, now).await?;
    let total = rows.iter().map(|r| r.1).sum();
    let overdue = rows.iter().map(|r| r.2).sum();
    let by_state = rows
        .into_iter()
        .filter_map(|(state, count, overdue)| {
            FeedbackState::parse(&state).map(|state| StateCount {
                state,
                count,
                overdue,
            })
        })
        .collect();
    Ok(QueueSummary {
        total,
        overdue,
        by_state,
    })
}
