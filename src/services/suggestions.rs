//! What the service proposes to the control office for an item: where to
//! send it (with the reasons), which recent items may be the same matter
//! (with a score), and what to remove before publishing. Proposals only:
//! staff decide, through the workflow.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::Services;
use super::publication::RedactionSuggestion;
use super::staff_items::{Opened, Purpose, StaffError};
use crate::domain::duplicates::{Fingerprint, compare};
use crate::domain::feedback::FeedbackState;
use crate::domain::ids::{AgencyId, FieldId};
use crate::domain::routing::{Candidate, ItemFacts, Suggestion, suggest};
use crate::domain::staff::Actor;
use crate::domain::time::VnTime;
use crate::domain::workflow::{Action, role_may_ever};

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
    Ok(suggest(
        &facts,
        &candidates,
        &s.routing_rules,
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

/// Recent items that may be the same matter, best first (at most ten).
pub async fn duplicates(
    s: &Services,
    actor: &Actor,
    opened: &Opened,
    now: DateTime<Utc>,
) -> Result<Vec<DuplicateView>, StaffError> {
    may_see(actor, DUPLICATES)?;
    let item = &opened.row().item;
    let me = Fingerprint {
        folded_text: &item.search_text,
        phone: item.phone.as_deref(),
        email: item.email.as_deref(),
        procedure_code: item.procedure_code.as_deref(),
    };
    let since = now - chrono::Duration::days(DUPLICATE_WINDOW_DAYS);
    let candidates = s.store.duplicate_candidates(since, 2000).await?;
    let mut found: Vec<DuplicateView> = candidates
        .iter()
        .filter(|c| c.id != item.id)
        .filter_map(|c| {
            let other = Fingerprint {
                folded_text: &c.search_text,
                phone: c.phone.as_deref(),
                email: c.email.as_deref(),
                procedure_code: c.procedure_code.as_deref(),
            };
            let state = FeedbackState::parse(&c.state)?;
            compare(&me, &other).map(|l| DuplicateView {
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
