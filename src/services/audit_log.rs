//! The audit log for administrators and auditors: every recorded change,
//! searchable by item, by who acted, by kind of action and by date, each
//! entry said in Vietnamese; the page, its CSV and the JSON API read this
//! one view. Entries show who, what, when, which item and the state change;
//! never the details an item's record keeps (message texts, notes), and the
//! stated reason only to auditors (administrators see no item's content).

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde::Serialize;

use super::Services;
use super::staff_items::{StaffError, history_label};
use crate::domain::feedback::FieldError;
use crate::domain::staff::{Actor, ItemScope, Permission, parse_username};
use crate::domain::time::{VnTime, vietnam_instant};
use crate::domain::tracking::TrackingCode;
use crate::store::audit_log::AuditLogFilter;

/// Entries per page (and the most one CSV export holds: `EXPORT_MAX`).
pub const PAGE: u64 = 100;
pub const EXPORT_MAX: u64 = 50_000;

/// The kinds of action one can filter by: a group prefix and its name.
pub const GROUPS: [(&str, &str); 7] = [
    ("feedback.", "Xử lý phản ánh, kiến nghị"),
    ("deadline.", "Thời hạn"),
    ("staff.", "Tài khoản cán bộ"),
    ("api_key.", "Khoá API"),
    ("calendar.", "Lịch ngày làm việc"),
    ("directory.", "Danh mục cơ quan, sắp xếp tổ chức"),
    ("agency_succeeded", "Chuyển cơ quan do sắp xếp"),
];

/// A search as asked (query parameters).
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    pub item: String,
    #[serde(default)]
    pub actor: String,
    #[serde(default)]
    pub action: String,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    #[serde(default)]
    pub before: String,
}

/// One entry, readable.
#[derive(Debug, Clone, Serialize)]
pub struct AuditEntryView {
    pub id: uuid::Uuid,
    pub occurred_at: VnTime,
    /// `staff`, `submitter`, `system`, `integration`, `cli`…
    pub actor_kind: String,
    /// Who, in words: a username, "Người gửi", "Hệ thống"…
    pub actor: String,
    pub action: String,
    pub label: String,
    pub tracking_code: Option<String>,
    pub from_state: Option<String>,
    pub to_state: Option<String>,
    /// Only for auditors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// One page of the log.
#[derive(Debug, Clone, Serialize)]
pub struct AuditLogView {
    pub entries: Vec<AuditEntryView>,
    /// The next page's `before`, when there is one.
    pub next: Option<String>,
}

fn actor_word(kind: &str) -> &'static str {
    match kind {
        "submitter" => "Người gửi",
        "system" => "Hệ thống",
        "integration" => "Hệ thống tích hợp",
        "cli" | "admin_cli" => "Dòng lệnh quản trị",
        _ => "Không rõ",
    }
}

/// Reads the search: mistakes by parameter, all at once.
async fn filter_of(s: &Services, q: &AuditQuery) -> Result<AuditLogFilter, StaffError> {
    let mut errors = Vec::new();
    let mut f = AuditLogFilter::default();
    let item = q.item.trim();
    if !item.is_empty() {
        match item.parse::<TrackingCode>() {
            Ok(code) => match s.store.find_feedback_by_code(&code).await? {
                Some(row) => f.item = Some(row.item.id),
                // An unknown code matches nothing, like any filter.
                None => f.item = Some(uuid::Uuid::nil()),
            },
            Err(_) => errors.push(FieldError::new("item", "invalid")),
        }
    }
    let actor = q.actor.trim();
    if !actor.is_empty() {
        // Staff are recorded by username (it never changes).
        f.actor_id = Some(parse_username(actor).unwrap_or_else(|_| actor.to_string()));
    }
    let action = q.action.trim();
    if !action.is_empty() {
        if action.len() > 64
            || !action
                .chars()
                .all(|c| c.is_ascii_lowercase() || "._-".contains(c))
        {
            errors.push(FieldError::new("action", "invalid_choice"));
        } else {
            f.action = Some(action.to_string());
        }
    }
    f.from = q.from.map(|d| vietnam_instant(d, NaiveTime::MIN));
    f.to =
        q.to.and_then(|d| d.succ_opt())
            .map(|d| vietnam_instant(d, NaiveTime::MIN));
    if let (Some(a), Some(b)) = (q.from, q.to)
        && b < a
    {
        errors.push(FieldError::new("to", "out_of_range"));
    }
    if !q.before.is_empty() {
        let parsed = q.before.split_once('_').and_then(|(t, id)| {
            Some((
                DateTime::parse_from_rfc3339(t).ok()?.with_timezone(&Utc),
                uuid::Uuid::try_parse(id).ok()?,
            ))
        });
        match parsed {
            Some(p) => f.before = Some(p),
            None => errors.push(FieldError::new("before", "invalid")),
        }
    }
    if errors.is_empty() {
        Ok(f)
    } else {
        Err(StaffError::Invalid(errors))
    }
}

async fn read(
    s: &Services,
    actor: &Actor,
    f: &AuditLogFilter,
    limit: u64,
) -> Result<AuditLogView, StaffError> {
    let rows = s.store.audit_log(f, limit + 1).await?;
    let more = rows.len() as u64 > limit;
    let rows: Vec<_> = rows.into_iter().take(limit as usize).collect();
    let items: HashMap<_, _> = s
        .store
        .tracking_codes_of(rows.iter().filter_map(|r| r.feedback_item_id).collect())
        .await?
        .into_iter()
        .collect();
    let show_reason = actor.item_scope() == ItemScope::Province;
    let next = if more {
        rows.last()
            .map(|r| format!("{}_{}", r.occurred_at.to_rfc3339(), r.id))
    } else {
        None
    };
    let entries = rows
        .into_iter()
        .map(|r| {
            let who = match r.actor_kind.as_str() {
                "staff" => r.actor_id.clone().unwrap_or_else(|| "Cán bộ".into()),
                "integration" => format!(
                    "{} ({})",
                    actor_word("integration"),
                    r.actor_id.clone().unwrap_or_default()
                ),
                other => actor_word(other).to_string(),
            };
            AuditEntryView {
                id: r.id,
                occurred_at: r.occurred_at.into(),
                actor: who,
                label: history_label(&r.action),
                tracking_code: r.feedback_item_id.and_then(|i| items.get(&i).cloned()),
                from_state: r.from_state,
                to_state: r.to_state,
                reason: if show_reason { r.reason } else { None },
                actor_kind: r.actor_kind,
                action: r.action,
            }
        })
        .collect();
    Ok(AuditLogView { entries, next })
}

/// One page of the log.
pub async fn page(s: &Services, actor: &Actor, q: &AuditQuery) -> Result<AuditLogView, StaffError> {
    if !actor.may(Permission::ReadAuditLog) {
        return Err(StaffError::Forbidden);
    }
    let f = filter_of(s, q).await?;
    read(s, actor, &f, PAGE).await
}

/// The whole search for a file (at most [`EXPORT_MAX`] entries, newest
/// first; `next` is set when there were more).
pub async fn export(
    s: &Services,
    actor: &Actor,
    q: &AuditQuery,
) -> Result<AuditLogView, StaffError> {
    if !actor.may(Permission::ReadAuditLog) {
        return Err(StaffError::Forbidden);
    }
    let mut f = filter_of(s, q).await?;
    f.before = None;
    read(s, actor, &f, EXPORT_MAX).await
}
