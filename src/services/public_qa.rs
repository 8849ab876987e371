//! The public Q&A's projection of one published item: what the JSON API,
//! the Atom feed's portals and public webhook subscriptions receive. Only
//! what was published (DOMAIN §8): the redacted title and question, the
//! answer, the handling agency, field, kind, submitter type and dates.

use serde_json::Value;

use crate::domain::feedback::FeedbackKind;
use crate::domain::ids::{AgencyId, FieldId};
use crate::domain::time::to_vietnam_rfc3339;
use crate::store::directory_cache::DirectorySnapshot;
use crate::store::public_qa::PublicItem;

/// The item's page on the public Q&A.
pub fn item_url(base: &str, code: &str) -> String {
    format!("{}/hoi-dap/{code}", base.trim_end_matches('/'))
}

pub fn item_json(item: &PublicItem, directory: &DirectorySnapshot, base: &str) -> Value {
    let agency = item
        .handling_agency_id
        .and_then(|a| directory.agency_names.get(&AgencyId::from_uuid(a)))
        .map(|(code, name)| serde_json::json!({"code": code, "name": name}));
    let kind = FeedbackKind::parse(&item.kind);
    serde_json::json!({
        "tracking_code": item.tracking_code,
        "title": item.title_redacted,
        "question": item.question_redacted,
        "answer": item.answer,
        "kind": item.kind,
        "kind_label": kind.map(kind_label),
        "agency": agency,
        "field_code": item
            .field_id
            .and_then(|f| directory.field_codes.get(&FieldId::from_uuid(f)).cloned()),
        "submitter_type": item.submitter_type,
        "received_at": to_vietnam_rfc3339(item.received_at),
        "answered_at": item.answered_at.map(to_vietnam_rfc3339),
        "published_at": item.published_at.map(to_vietnam_rfc3339),
        "url": item_url(base, &item.tracking_code),
    })
}

pub fn kind_label(kind: FeedbackKind) -> &'static str {
    match kind {
        FeedbackKind::PhanAnh => "Phản ánh",
        FeedbackKind::KienNghi => "Kiến nghị",
    }
}

/// What the public Q&A reads most — its lists (the first page a portal
/// embeds, the feed), the searches people repeat, and the time anything
/// public last changed — kept in this instance and read again from the
/// database when that time has moved. The time is read at most once a
/// second, so a publication or unpublication on any instance shows
/// everywhere within a second, with no message between instances; on the
/// instance that made it, at once.
#[derive(Default)]
pub struct PublicCache {
    inner: std::sync::Mutex<CacheState>,
}

#[derive(Default)]
struct CacheState {
    checked: Option<std::time::Instant>,
    /// The store's public epoch when the version was read.
    epoch: u64,
    /// Since when a request is reading the version again.
    refreshing: Option<std::time::Instant>,
    version: Option<chrono::DateTime<chrono::Utc>>,
    /// Bumped whenever the lists are dropped: a list read under an older
    /// generation is not kept.
    generation: u64,
    lists: std::collections::HashMap<String, std::sync::Arc<CachedList>>,
    /// Search pages, kept apart so that many different searches cannot
    /// push out the lists every portal reads.
    searches: std::collections::HashMap<String, std::sync::Arc<CachedList>>,
}

/// One list as read.
pub struct CachedList {
    pub items: Vec<PublicItem>,
    pub total: crate::store::public_qa::PublicTotal,
}

/// Lists kept at most (the distinct first pages and filters portals ask
/// for); beyond it the oldest are dropped all at once.
const LISTS_MAX: usize = 512;
/// Search pages kept at most: the searches people repeat (a popular
/// word, a portal's link to a topic) are then read once a version; past
/// it the oldest are dropped all at once. A page is a few tens of KiB.
const SEARCHES_MAX: usize = 256;
/// How long the public version is trusted before it is read again.
const VERSION_TTL: std::time::Duration = std::time::Duration::from_secs(1);

impl PublicCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, CacheState> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// When anything public last changed, at most a second old; the lists
    /// kept are dropped when it moved. Also the generation a list read
    /// now belongs to.
    pub async fn version(
        &self,
        store: &crate::store::Store,
    ) -> Result<(Option<chrono::DateTime<chrono::Utc>>, u64), crate::store::StoreError> {
        let epoch = store.public_epoch();
        {
            let mut s = self.lock();
            if s.epoch == epoch && s.checked.is_some_and(|at| at.elapsed() < VERSION_TTL) {
                return Ok((s.version, s.generation));
            }
            // One request reads it again; the others meanwhile go on with
            // what is known (unless this instance changed it: then each
            // waits for the new one).
            let local_change = s.epoch != epoch || s.checked.is_none();
            if !local_change && s.refreshing.is_some_and(|at| at.elapsed() < VERSION_TTL) {
                return Ok((s.version, s.generation));
            }
            s.refreshing = Some(std::time::Instant::now());
        }
        let read = store.public_version().await;
        let mut s = self.lock();
        s.refreshing = None;
        let version = read?;
        if s.epoch != epoch {
            // This instance changed it: whatever the clock says.
            s.lists.clear();
            s.searches.clear();
            s.generation += 1;
            s.epoch = epoch;
        }
        if s.version != version || s.checked.is_none() {
            s.lists.clear();
            s.searches.clear();
            s.generation += 1;
        }
        s.version = version;
        s.checked = Some(std::time::Instant::now());
        Ok((s.version, s.generation))
    }

    /// Published items for `filter`: from this instance's copy when
    /// nothing public changed since it was read (a list or a search).
    pub async fn items(
        &self,
        store: &crate::store::Store,
        filter: &crate::store::public_qa::PublicQuery,
    ) -> Result<std::sync::Arc<CachedList>, crate::store::StoreError> {
        let search = !filter.terms.is_empty();
        let (_, generation) = self.version(store).await?;
        let key = format!("{filter:?}");
        {
            let s = self.lock();
            let kept = if search { &s.searches } else { &s.lists };
            if let Some(hit) = kept.get(&key) {
                return Ok(hit.clone());
            }
        }
        let (items, total) = store.public_items(filter).await?;
        let list = std::sync::Arc::new(CachedList { items, total });
        let mut s = self.lock();
        if s.generation == generation {
            let (kept, max) = if search {
                (&mut s.searches, SEARCHES_MAX)
            } else {
                (&mut s.lists, LISTS_MAX)
            };
            if kept.len() >= max {
                kept.clear();
            }
            kept.insert(key, list.clone());
        }
        Ok(list)
    }
}
