//! What the service proposes to the control office for an item: where to
//! send it (with the reasons), which recent items may be the same matter
//! (with a score), and what to remove before publishing. Proposals only:
//! staff decide, through the workflow.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::Services;
use super::publication::RedactionSuggestion;
use super::staff_items::{Opened, Purpose, StaffError};
use crate::domain::duplicates::{Fingerprint, Prepared, pair_hashes};
use crate::domain::feedback::FeedbackState;
use crate::domain::ids::{AgencyId, FieldId};
use crate::domain::routing::{Candidate, ItemFacts, Suggestion, suggest};
use crate::domain::staff::Actor;
use crate::domain::time::VnTime;
use crate::domain::workflow::{Action, role_may_ever};
use crate::store::queue::DuplicateCandidate;

/// Only those who take the action a proposal is for see it: open the
/// item with `Purpose::Act` of that action.
pub const ROUTING: Purpose = Purpose::Act(Action::Forward);
pub const DUPLICATES: Purpose = Purpose::Act(Action::Merge);
pub const REDACTION: Purpose = Purpose::Act(Action::Publish);

fn may_see(actor: &Actor, purpose: Purpose) -> Result<(), StaffError> {
    match purpose {
        Purpose::Act(action) if role_may_ever(action, actor.role) => Ok(()),
        _ => Err(StaffError::Forbidden),
    }
}

/// The agencies that could act on the item, best first, each with its
/// reasons.
pub async fn routing(
    s: &Services,
    actor: &Actor,
    opened: &Opened,
    now: DateTime<Utc>,
) -> Result<Vec<Suggestion>, StaffError> {
    may_see(actor, ROUTING)?;
    let item = &opened.row().item;
    let directory = s.store.directory_snapshot().await?;
    let today = crate::domain::time::vietnam_date(now);
    let agencies = s
        .store
        .list_agencies(&crate::domain::directory::AgencyFilter::default(), today)
        .await?;
    let fields = s.store.list_fields().await?;
    let field_code = item
        .field_id
        .and_then(|f| directory.field_codes.get(&FieldId::from_uuid(f)).cloned());
    let field_name = field_code
        .as_ref()
        .and_then(|c| fields.iter().find(|f| &f.code == c))
        .map(|f| f.name.clone());
    let hint = item
        .agency_hint_id
        .and_then(|a| directory.agency_names.get(&AgencyId::from_uuid(a)))
        .map(|(code, _)| code.clone());
    let receiving = directory
        .agency_names
        .get(&AgencyId::from_uuid(item.receiving_agency_id))
        .map(|(code, _)| code.clone())
        .unwrap_or_default();
    let candidates: Vec<Candidate<'_>> = agencies
        .iter()
        .map(|a| Candidate {
            code: &a.code,
            name: &a.name,
            kind: &a.kind,
            province_code: a.province_code.as_deref(),
            commune_code: a.commune_code.as_deref(),
            field_codes: &a.field_codes,
        })
        .collect();
    let facts = ItemFacts {
        field_code: field_code.as_deref(),
        field_name: field_name.as_deref(),
        commune_code: item.address_commune_code.as_deref(),
        agency_hint: hint.as_deref(),
        folded_text: &item.search_text,
    };
    // A rule naming an agency that was since succeeded routes to its
    // successor.
    let rules: Vec<crate::domain::routing::KeywordRule> = directory
        .routing_rules
        .iter()
        .map(|r| crate::domain::routing::KeywordRule {
            agency: directory.current_code(&r.agency).to_string(),
            ..r.clone()
        })
        .collect();
    Ok(suggest(
        &facts,
        &candidates,
        &rules,
        &s.settings.province.code,
        &receiving,
    ))
}

/// A recent item that may be the same matter.
#[derive(Debug, Clone, Serialize)]
pub struct DuplicateView {
    pub tracking_code: String,
    pub title: String,
    pub state: FeedbackState,
    pub received_at: VnTime,
    pub score: u32,
    pub reasons: Vec<String>,
}

/// The last half year is where duplicates of a live item are.
const DUPLICATE_WINDOW_DAYS: i64 = 183;

/// How many of the newest open items an item is compared with.
const DUPLICATE_CANDIDATES: u64 = 2000;
/// How long the newest items are reused while nothing happens.
const CANDIDATES_FRESH_SECONDS: i64 = 30;

/// The newest open items, as duplicate detection compares them; every
/// item page compares its item with the same ones, so they are read once
/// and reused while nothing happened (the newest audit event is the same,
/// on whichever instance it was written) and for at most
/// [`CANDIDATES_FRESH_SECONDS`].
#[derive(Default)]
pub struct CandidateCache(std::sync::Mutex<Option<Candidates>>);

/// The candidates, the newest activity when they were read, and when.
type Candidates = (Option<DateTime<Utc>>, DateTime<Utc>, Arc<Vec<Hashed>>);

/// A candidate with its text's word pairs, hashed once.
type Hashed = (DuplicateCandidate, HashSet<u64>);

async fn recent_candidates(
    s: &Services,
    now: DateTime<Utc>,
) -> Result<Arc<Vec<Hashed>>, StaffError> {
    let marker = s.store.latest_activity().await?;
    if let Ok(cache) = s.duplicate_candidates.0.lock()
        && let Some((seen, at, list)) = cache.as_ref()
        && *seen == marker
        && (now - *at).num_seconds().abs() < CANDIDATES_FRESH_SECONDS
    {
        return Ok(list.clone());
    }
    let since = now - chrono::Duration::days(DUPLICATE_WINDOW_DAYS);
    let list = Arc::new(
        s.store
            .duplicate_candidates(since, DUPLICATE_CANDIDATES)
            .await?
            .into_iter()
            .map(|c| {
                let pairs = pair_hashes(&c.search_text);
                (c, pairs)
            })
            .collect::<Vec<_>>(),
    );
    if let Ok(mut cache) = s.duplicate_candidates.0.lock() {
        *cache = Some((marker, now, list.clone()));
    }
    Ok(list)
}

/// Recent items that may be the same matter, best first (at most ten).
pub async fn duplicates(
    s: &Services,
    actor: &Actor,
    opened: &Opened,
    now: DateTime<Utc>,
) -> Result<Vec<DuplicateView>, StaffError> {
    may_see(actor, DUPLICATES)?;
    let item = &opened.row().item;
    let me = Prepared::new(Fingerprint {
        folded_text: &item.search_text,
        phone: item.phone.as_deref(),
        email: item.email.as_deref(),
        procedure_code: item.procedure_code.as_deref(),
    });
    let candidates = recent_candidates(s, now).await?;
    let mut found: Vec<DuplicateView> = candidates
        .iter()
        .filter(|(c, _)| c.id != item.id)
        .filter_map(|(c, pairs)| {
            let other = Fingerprint {
                folded_text: &c.search_text,
                phone: c.phone.as_deref(),
                email: c.email.as_deref(),
                procedure_code: c.procedure_code.as_deref(),
            };
            let state = FeedbackState::parse(&c.state)?;
            me.compare(&other, pairs).map(|l| DuplicateView {
                tracking_code: c.tracking_code.clone(),
                title: c.title.clone(),
                state,
                received_at: c.received_at.into(),
                score: l.score,
                reasons: l.reasons,
            })
        })
        .collect();
    found.sort_by_key(|f| std::cmp::Reverse(f.score));
    found.truncate(10);
    Ok(found)
}

/// The public copies proposed for publication.
pub fn redaction(actor: &Actor, opened: &Opened) -> Result<RedactionSuggestion, StaffError> {
    may_see(actor, REDACTION)?;
    Ok(super::publication::suggest(&opened.row().item))
}
