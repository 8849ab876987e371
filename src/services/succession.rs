//! Agency succession (the 2025 reorganisation: Sở merged, districts
//! abolished): one or more agencies are succeeded by another from a date,
//! or split by field. The preview counts what would move and to whom; the
//! apply moves it in one transaction (`store::succession`). The console's
//! page, the JSON API and `pakn agency succession` all come here.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use super::staff_items::StaffError;
use crate::domain::feedback::FieldError;
use crate::domain::ids::AgencyId;
use crate::domain::staff::{Actor, Permission};
use crate::domain::time::vietnam_date;
use crate::store::Store;
use crate::store::journal::AuditEntry;
use crate::store::succession::{Move, StaffChoice};

/// A succession as asked for: agency codes, the date, a split by field
/// (field code → agency code), and what happens to the old accounts.
#[derive(Debug, Clone)]
pub struct SuccessionInput {
    pub from: Vec<String>,
    pub to: String,
    pub on: String,
    pub by_field: Vec<(String, String)>,
    pub staff: StaffChoice,
}

/// Where one predecessor's open items go, and how many.
#[derive(Debug, Clone, Serialize)]
pub struct Destination {
    pub agency_code: String,
    pub agency_name: String,
    pub open_items: u64,
}

/// What moves from one predecessor.
#[derive(Debug, Clone, Serialize)]
pub struct PredecessorPreview {
    pub code: String,
    pub name: String,
    pub open_items: Vec<Destination>,
    pub closed_items: u64,
    pub coordination_requests: u64,
    pub open_deadlines: u64,
    pub answer_templates: u64,
    pub staff_accounts: u64,
    /// Routing rules that name it (they route to the successor from now).
    pub routing_rules: Vec<String>,
}

/// The whole preview (and, once applied, what was done).
#[derive(Debug, Clone, Serialize)]
pub struct SuccessionPreview {
    pub to_code: String,
    pub to_name: String,
    pub on: NaiveDate,
    pub staff: StaffChoice,
    pub predecessors: Vec<PredecessorPreview>,
    pub open_items: u64,
    /// Only after applying: the open items moved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moved: Option<u64>,
}

impl SuccessionPreview {
    /// `03/12/2026`
    pub fn on_vi(&self) -> String {
        self.on.format("%d/%m/%Y").to_string()
    }

    pub fn staff_moves(&self) -> bool {
        self.staff == StaffChoice::Move
    }
}

/// One recorded succession, for the list.
#[derive(Debug, Clone, Serialize)]
pub struct SuccessionRecord {
    pub predecessor_code: String,
    pub predecessor_name: String,
    pub successor_code: String,
    pub successor_name: String,
    /// Only the items of this field went to this successor.
    pub field_code: Option<String>,
    pub effective_on: NaiveDate,
}

impl SuccessionRecord {
    pub fn effective_on_vi(&self) -> String {
        self.effective_on.format("%d/%m/%Y").to_string()
    }
}

fn require(actor: Option<&Actor>) -> Result<(), StaffError> {
    match actor {
        Some(a) if !a.may(Permission::ManageDirectory) => Err(StaffError::Forbidden),
        _ => Ok(()),
    }
}

/// Checks the input against the directory: every mistake at once.
async fn plan(
    store: &Store,
    input: &SuccessionInput,
    now: DateTime<Utc>,
) -> Result<(Vec<Move>, NaiveDate, AgencyId), StaffError> {
    let directory = store.directory_snapshot().await?;
    let today = vietnam_date(now);
    let mut errors = Vec::new();
    let on = NaiveDate::parse_from_str(input.on.trim(), "%Y-%m-%d").ok();
    match on {
        None => errors.push(FieldError::new("on", "date_invalid")),
        Some(d) if d > today => errors.push(FieldError::new("on", "succession_in_future")),
        Some(_) => {}
    }
    let current = |code: &str, field: &str, errors: &mut Vec<FieldError>| -> Option<AgencyId> {
        match directory.agencies.get(code.trim()) {
            None => {
                errors.push(FieldError::new(
                    field,
                    if code.trim().is_empty() {
                        "required"
                    } else {
                        "unknown_code"
                    },
                ));
                None
            }
            Some(id) if !directory.agency_exists_on(*id, today) => {
                errors.push(FieldError::new(field, "dissolved_agency"));
                None
            }
            Some(id) => Some(*id),
        }
    };
    let to = current(&input.to, "to", &mut errors);
    let mut from = Vec::new();
    if input.from.iter().all(|c| c.trim().is_empty()) {
        errors.push(FieldError::new("from", "required"));
    }
    for code in input.from.iter().filter(|c| !c.trim().is_empty()) {
        if let Some(id) = current(code, "from", &mut errors) {
            if Some(id) == to {
                errors.push(FieldError::new("from", "same_agency"));
            } else if !from.contains(&id) {
                from.push(id);
            }
        }
    }
    let mut by_field = Vec::new();
    for (i, (field, agency)) in input.by_field.iter().enumerate() {
        if field.trim().is_empty() && agency.trim().is_empty() {
            continue;
        }
        let f = directory.fields.get(field.trim()).copied();
        if f.is_none() {
            errors.push(FieldError::new(
                format!("by_field.{i}.field"),
                "unknown_code",
            ));
        }
        let a = current(agency, &format!("by_field.{i}.agency"), &mut errors);
        if let (Some(f), Some(a)) = (f, a) {
            if from.contains(&a) {
                errors.push(FieldError::new(
                    format!("by_field.{i}.agency"),
                    "same_agency",
                ));
            }
            by_field.push((f.as_uuid(), a.as_uuid()));
        }
    }
    match (to, on) {
        (Some(to), Some(on)) if errors.is_empty() => Ok((
            from.into_iter()
                .map(|p| Move {
                    from: p.as_uuid(),
                    to: to.as_uuid(),
                    by_field: by_field.clone(),
                })
                .collect(),
            on,
            to,
        )),
        _ => Err(StaffError::Invalid(errors)),
    }
}

async fn describe(
    store: &Store,
    moves: &[Move],
    on: NaiveDate,
    to: AgencyId,
    staff: StaffChoice,
) -> Result<SuccessionPreview, StaffError> {
    let directory = store.directory_snapshot().await?;
    let name = |id: uuid::Uuid| {
        directory
            .agency_names
            .get(&AgencyId::from_uuid(id))
            .cloned()
            .unwrap_or_default()
    };
    let rules = &directory.routing_rules;
    let mut predecessors = Vec::new();
    let mut total = 0;
    for m in moves {
        let counts = store.succession_counts(m).await?;
        let (code, pname) = name(m.from);
        let mut open_items: Vec<Destination> = counts
            .open_items
            .iter()
            .map(|(to, n)| {
                let (c, n2) = name(*to);
                Destination {
                    agency_code: c,
                    agency_name: n2,
                    open_items: *n,
                }
            })
            .collect();
        open_items.sort_by(|a, b| a.agency_code.cmp(&b.agency_code));
        total += counts.open_items.values().sum::<u64>();
        predecessors.push(PredecessorPreview {
            routing_rules: rules
                .iter()
                .filter(|r| r.agency == code)
                .map(|r| r.words.join(", "))
                .collect(),
            code,
            name: pname,
            open_items,
            closed_items: counts.closed_items,
            coordination_requests: counts.coordination_requests,
            open_deadlines: counts.open_deadlines,
            answer_templates: counts.answer_templates,
            staff_accounts: counts.staff_accounts,
        });
    }
    let (to_code, to_name) = name(to.as_uuid());
    Ok(SuccessionPreview {
        to_code,
        to_name,
        on,
        staff,
        predecessors,
        open_items: total,
        moved: None,
    })
}

/// What a succession would move, changing nothing.
pub async fn preview(
    store: &Store,
    actor: Option<&Actor>,
    input: &SuccessionInput,
    now: DateTime<Utc>,
) -> Result<SuccessionPreview, StaffError> {
    require(actor)?;
    let (moves, on, to) = plan(store, input, now).await?;
    describe(store, &moves, on, to, input.staff).await
}

/// Applies a succession; `actor` is none from the command line.
pub async fn apply(
    store: &Store,
    actor: Option<&Actor>,
    input: &SuccessionInput,
    request_id: Option<String>,
    now: DateTime<Utc>,
) -> Result<SuccessionPreview, StaffError> {
    require(actor)?;
    let (moves, on, to) = plan(store, input, now).await?;
    let mut report = describe(store, &moves, on, to, input.staff).await?;
    let audit = AuditEntry {
        actor_kind: if actor.is_some() { "staff" } else { "cli" }.into(),
        actor_id: actor.map(|a| a.username.clone()),
        action: "directory.succession".into(),
        from_state: None,
        to_state: None,
        reason: None,
        details: serde_json::json!({
            "from": report.predecessors.iter().map(|p| p.code.clone()).collect::<Vec<_>>(),
            "to": report.to_code,
            "on": on,
            "by_field": input.by_field,
            "staff": input.staff,
        }),
        request_id,
    };
    let moved = store
        .apply_succession(
            &moves,
            on,
            input.staff,
            actor.map(|a| a.staff_id),
            &audit,
            now,
        )
        .await?;
    // A forward that raced the move is caught at once (and by every
    // scheduler pass after).
    let swept = store.sweep_successions(now).await?;
    report.moved = Some(moved + swept);
    tracing::info!(moved, swept, to = %report.to_code, "agency succession applied");
    Ok(report)
}

/// Every recorded succession, newest first.
pub async fn records(store: &Store) -> Result<Vec<SuccessionRecord>, StaffError> {
    let directory = store.directory_snapshot().await?;
    let name = |id: uuid::Uuid| {
        directory
            .agency_names
            .get(&AgencyId::from_uuid(id))
            .cloned()
            .unwrap_or_default()
    };
    let mut out: Vec<SuccessionRecord> = store
        .successions()
        .await?
        .into_iter()
        .map(|r| {
            let (pc, pn) = name(r.predecessor_id);
            let (sc, sn) = name(r.successor_id);
            SuccessionRecord {
                predecessor_code: pc,
                predecessor_name: pn,
                successor_code: sc,
                successor_name: sn,
                field_code: r.field_id.and_then(|f| {
                    directory
                        .field_codes
                        .get(&crate::domain::ids::FieldId::from_uuid(f))
                        .cloned()
                }),
                effective_on: r.effective_on,
            }
        })
        .collect();
    out.reverse();
    Ok(out)
}
