//! The directory of agencies kept by an administrator in the browser or
//! over JSON: create an agency, change its name, contact details (the
//! e-mail address agencies are told of new work at), validity and fields;
//! its code never changes once it exists. Every change is audited with
//! what it was and what it became (the agency's history), and reaches
//! every instance within seconds (the directory version). An agency still
//! holding open items cannot simply be ended: that is a succession.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde_json::{Value, json};

use super::Services;
use super::staff_items::StaffError;
use crate::domain::directory::{Agency, AgencyFilter};
use crate::domain::feedback::FieldError;
use crate::domain::staff::{Actor, Permission, parse_staff_email};
use crate::domain::time::{VnTime, vietnam_date};
use crate::store::StoreError;
use crate::store::directory::AgencyEdit;
use crate::store::journal::AuditEntry;

/// The kinds of agency (DOMAIN §10) with their names.
pub const KINDS: [(&str, &str); 13] = [
    ("bo", "Bộ, cơ quan ngang bộ"),
    ("vpcp", "Văn phòng Chính phủ"),
    ("tinh", "Tỉnh"),
    ("thanh_pho", "Thành phố trực thuộc trung ương"),
    ("ubnd_tinh", "Ủy ban nhân dân tỉnh, thành phố"),
    ("vp_ubnd_tinh", "Văn phòng Ủy ban nhân dân tỉnh, thành phố"),
    ("so", "Sở, cơ quan chuyên môn"),
    ("nganh_doc", "Cơ quan ngành dọc"),
    ("thanh_tra", "Thanh tra"),
    ("ubnd_xa", "Ủy ban nhân dân xã, phường, đặc khu"),
    ("xa", "Xã"),
    ("phuong", "Phường"),
    ("dac_khu", "Đặc khu"),
];

/// The levels of government.
pub const LEVELS: [(&str, &str); 3] =
    [("trung_uong", "Trung ương"), ("tinh", "Tỉnh"), ("xa", "Xã")];

/// An agency form as typed.
#[derive(Debug, Clone, Default)]
pub struct AgencyInput {
    /// Only when creating.
    pub code: String,
    pub name: String,
    pub short_name: String,
    pub kind: String,
    pub level: String,
    pub parent_code: String,
    pub address: String,
    pub phone: String,
    pub email: String,
    pub website: String,
    pub valid_from: String,
    pub valid_to: String,
    pub field_codes: Vec<String>,
}

/// One change in an agency's history.
#[derive(Debug, Clone, Serialize)]
pub struct AgencyChange {
    pub at: VnTime,
    pub by: String,
    pub created: bool,
    /// "Tên: A → B", one per changed attribute.
    pub changes: Vec<String>,
}

/// An agency as an administrator sees it, with its history.
#[derive(Debug, Clone, Serialize)]
pub struct AgencyAdminView {
    pub agency: Agency,
    pub history: Vec<AgencyChange>,
    /// Open items it holds now (it cannot be ended while it holds any).
    pub open_items: u64,
}

fn require(actor: &Actor) -> Result<(), StaffError> {
    super::staff_items::require(actor, Permission::ManageDirectory)
}

fn opt(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

fn snapshot(a: &AgencyEdit, parent: &str, fields: &[String]) -> Value {
    json!({
        "name": a.name, "short_name": a.short_name, "kind": a.kind, "level": a.level,
        "parent": parent, "address": a.address, "phone": a.phone, "email": a.email,
        "website": a.website, "valid_from": a.valid_from, "valid_to": a.valid_to,
        "fields": fields,
    })
}

const LABELS: [(&str, &str); 12] = [
    ("name", "Tên"),
    ("short_name", "Tên viết tắt"),
    ("kind", "Loại"),
    ("level", "Cấp"),
    ("parent", "Cơ quan cấp trên"),
    ("address", "Địa chỉ"),
    ("phone", "Điện thoại"),
    ("email", "Thư điện tử"),
    ("website", "Trang thông tin"),
    ("valid_from", "Hiệu lực từ"),
    ("valid_to", "Hết hiệu lực từ"),
    ("fields", "Lĩnh vực"),
];

fn shown(v: &Value) -> String {
    match v {
        Value::Null => "—".into(),
        Value::String(s) if s.is_empty() => "—".into(),
        Value::String(s) => s.clone(),
        Value::Array(a) if a.is_empty() => "—".into(),
        Value::Array(a) => a
            .iter()
            .map(|x| x.as_str().unwrap_or_default().to_string())
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    }
}

/// Checks a form against the directory: all mistakes at once.
async fn check(
    s: &Services,
    input: &AgencyInput,
    code: &str,
    existing: Option<&Agency>,
    now: DateTime<Utc>,
) -> Result<(AgencyEdit, Vec<String>), StaffError> {
    let directory = s.store.directory_snapshot().await?;
    let mut errors = Vec::new();
    let name = input.name.trim().to_string();
    if name.is_empty() {
        errors.push(FieldError::new("name", "required"));
    } else if name.chars().count() > 300 {
        errors.push(FieldError::new("name", "too_long"));
    }
    if input.short_name.trim().chars().count() > 100 {
        errors.push(FieldError::new("short_name", "too_long"));
    }
    if !KINDS.iter().any(|(k, _)| *k == input.kind.trim()) {
        errors.push(FieldError::new("kind", "invalid_choice"));
    }
    if !LEVELS.iter().any(|(l, _)| *l == input.level.trim()) {
        errors.push(FieldError::new("level", "invalid_choice"));
    }
    let parent_id = match opt(&input.parent_code) {
        None => None,
        Some(p) if p == code => {
            errors.push(FieldError::new("parent_code", "same_agency"));
            None
        }
        Some(p) => match directory.agencies.get(&p) {
            Some(id) => Some(id.as_uuid()),
            None => {
                errors.push(FieldError::new("parent_code", "unknown_code"));
                None
            }
        },
    };
    let email = match parse_staff_email(&input.email) {
        Ok(e) => e,
        Err(c) => {
            errors.push(FieldError::new("email", c));
            None
        }
    };
    for (field, value, max) in [
        ("address", &input.address, 500),
        ("phone", &input.phone, 50),
    ] {
        if value.trim().chars().count() > max {
            errors.push(FieldError::new(field, "too_long"));
        }
    }
    let website = opt(&input.website);
    if let Some(w) = &website
        && (w.len() > 200 || !(w.starts_with("https://") || w.starts_with("http://")))
    {
        errors.push(FieldError::new("website", "invalid"));
    }
    let valid_from = date(&input.valid_from, "valid_from", &mut errors)
        .or(existing.map(|a| a.valid_from))
        .unwrap_or_else(|| vietnam_date(now));
    let valid_to = date(&input.valid_to, "valid_to", &mut errors);
    if valid_to.is_some_and(|to| to <= valid_from) {
        errors.push(FieldError::new("valid_to", "out_of_range"));
    }
    let mut field_ids = Vec::new();
    let mut field_codes = Vec::new();
    for f in input
        .field_codes
        .iter()
        .map(|f| f.trim())
        .filter(|f| !f.is_empty())
    {
        match directory.fields.get(f) {
            Some(id) if !field_ids.contains(&id.as_uuid()) => {
                field_ids.push(id.as_uuid());
                field_codes.push(f.to_string());
            }
            Some(_) => {}
            None => errors.push(FieldError::new("field_codes", "unknown_code")),
        }
    }
    field_codes.sort();
    // Ending an agency that still holds work is a succession, not an edit.
    if let Some(a) = existing
        && valid_to.is_some()
        && a.valid_to.is_none()
    {
        let open = s
            .store
            .succession_counts(&crate::store::succession::Move {
                from: a.id.as_uuid(),
                to: a.id.as_uuid(),
                by_field: Vec::new(),
            })
            .await?
            .open_items
            .values()
            .sum::<u64>();
        if open > 0 {
            errors.push(FieldError::new("valid_to", "agency_has_open_items"));
        }
    }
    if !errors.is_empty() {
        return Err(StaffError::Invalid(errors));
    }
    Ok((
        AgencyEdit {
            name,
            short_name: opt(&input.short_name),
            kind: input.kind.trim().to_string(),
            level: input.level.trim().to_string(),
            parent_id,
            province_code: existing
                .and_then(|a| a.province_code.clone())
                .or_else(|| Some(s.settings.province.code.clone())),
            address: opt(&input.address),
            phone: opt(&input.phone),
            email,
            website,
            valid_from,
            valid_to,
            field_ids,
        },
        field_codes,
    ))
}

/// An optional `YYYY-MM-DD` field: empty is none; anything else that is
/// not a date is a mistake on that field.
fn date(raw: &str, field: &str, errors: &mut Vec<FieldError>) -> Option<NaiveDate> {
    let t = raw.trim();
    if t.is_empty() {
        return None;
    }
    let d = NaiveDate::parse_from_str(t, "%Y-%m-%d").ok();
    if d.is_none() {
        errors.push(FieldError::new(field, "date_invalid"));
    }
    d
}

fn audit(actor: &Actor, action: &str, details: Value, request_id: Option<String>) -> AuditEntry {
    AuditEntry::by_staff(&actor.username, action, details, request_id)
}

/// Every agency (ended ones too), matching `q` in code or name.
pub async fn list(s: &Services, actor: &Actor, q: &str) -> Result<Vec<Agency>, StaffError> {
    require(actor)?;
    let q = crate::domain::text::fold_for_search(q.trim());
    let all = s
        .store
        .list_agencies(
            &AgencyFilter {
                include_inactive: true,
                ..AgencyFilter::default()
            },
            vietnam_date(Utc::now()),
        )
        .await?;
    Ok(all
        .into_iter()
        .filter(|a| {
            q.is_empty()
                || crate::domain::text::fold_for_search(&a.code).contains(&q)
                || crate::domain::text::fold_for_search(&a.name).contains(&q)
        })
        .collect())
}

async fn find(s: &Services, code: &str) -> Result<Agency, StaffError> {
    s.store
        .find_agency_by_code(code.trim())
        .await?
        .ok_or(StaffError::NotFound)
}

/// One agency with its history.
pub async fn get(s: &Services, actor: &Actor, code: &str) -> Result<AgencyAdminView, StaffError> {
    require(actor)?;
    let agency = find(s, code).await?;
    let open_items = s
        .store
        .succession_counts(&crate::store::succession::Move {
            from: agency.id.as_uuid(),
            to: agency.id.as_uuid(),
            by_field: Vec::new(),
        })
        .await?
        .open_items
        .values()
        .sum();
    let history = s
        .store
        .agency_history(&agency.code)
        .await?
        .into_iter()
        .map(|r| {
            let before = r.details.get("before").cloned().unwrap_or(Value::Null);
            let after = r.details.get("after").cloned().unwrap_or(Value::Null);
            let changes = LABELS
                .iter()
                .filter(|(k, _)| before.get(k) != after.get(k))
                .map(|(k, label)| {
                    if before.is_null() {
                        format!("{label}: {}", shown(after.get(k).unwrap_or(&Value::Null)))
                    } else {
                        format!(
                            "{label}: {} → {}",
                            shown(before.get(k).unwrap_or(&Value::Null)),
                            shown(after.get(k).unwrap_or(&Value::Null))
                        )
                    }
                })
                .collect();
            AgencyChange {
                at: r.occurred_at.into(),
                by: r.actor_id.unwrap_or_default(),
                created: r.action == "directory.agency_created",
                changes,
            }
        })
        .collect();
    Ok(AgencyAdminView {
        agency,
        history,
        open_items,
    })
}

/// Creates an agency.
pub async fn create(
    s: &Services,
    actor: &Actor,
    input: &AgencyInput,
    request_id: Option<String>,
    now: DateTime<Utc>,
) -> Result<Agency, StaffError> {
    require(actor)?;
    let code = input.code.trim().to_string();
    let code_ok = (2..=32).contains(&code.len())
        && code.starts_with(|c: char| c.is_ascii_alphanumeric())
        && code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    let checked = check(s, input, &code, None, now).await;
    let taken = code_ok && s.store.find_agency_by_code(&code).await?.is_some();
    let (edit, fields) = match (code_ok && !taken, checked) {
        (true, Ok(c)) => c,
        (_, checked) => {
            let mut errors = match checked {
                Err(StaffError::Invalid(e)) => e,
                Err(other) => return Err(other),
                Ok(_) => Vec::new(),
            };
            if !code_ok {
                errors.insert(0, FieldError::new("code", "invalid"));
            } else if taken {
                errors.insert(0, FieldError::new("code", "code_taken"));
            }
            return Err(StaffError::Invalid(errors));
        }
    };
    let details = json!({
        "code": code,
        "before": Value::Null,
        "after": snapshot(&edit, input.parent_code.trim(), &fields),
    });
    match s
        .store
        .insert_agency(
            &code,
            &edit,
            &audit(actor, "directory.agency_created", details, request_id),
            now,
        )
        .await
    {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => {
            return Err(StaffError::Invalid(vec![FieldError::new(
                "code",
                "code_taken",
            )]));
        }
        Err(e) => return Err(e.into()),
    }
    find(s, &code).await
}

/// Changes an agency (not its code).
pub async fn change(
    s: &Services,
    actor: &Actor,
    code: &str,
    input: &AgencyInput,
    request_id: Option<String>,
    now: DateTime<Utc>,
) -> Result<Agency, StaffError> {
    require(actor)?;
    let existing = find(s, code).await?;
    let (edit, fields) = check(s, input, &existing.code, Some(&existing), now).await?;
    let before = AgencyEdit {
        name: existing.name.clone(),
        short_name: existing.short_name.clone(),
        kind: existing.kind.clone(),
        level: existing.level.clone(),
        parent_id: None,
        province_code: existing.province_code.clone(),
        address: existing.address.clone(),
        phone: existing.phone.clone(),
        email: existing.email.clone(),
        website: existing.website.clone(),
        valid_from: existing.valid_from,
        valid_to: existing.valid_to,
        field_ids: Vec::new(),
    };
    let details = json!({
        "code": existing.code,
        "before": snapshot(&before, existing.parent_code.as_deref().unwrap_or(""), &existing.field_codes),
        "after": snapshot(&edit, input.parent_code.trim(), &fields),
    });
    if details["before"] != details["after"] {
        s.store
            .change_agency(
                existing.id,
                &edit,
                &audit(actor, "directory.agency_changed", details, request_id),
                now,
            )
            .await?;
    }
    find(s, code).await
}

/// A field as typed.
#[derive(Debug, Clone, Default)]
pub struct FieldInput {
    pub code: String,
    pub name: String,
    pub description: String,
    pub sort_order: String,
}

/// A commune as typed.
#[derive(Debug, Clone, Default)]
pub struct UnitInput {
    pub code: String,
    pub name: String,
    pub kind: String,
    pub valid_from: String,
    pub valid_to: String,
    pub source: String,
}

/// The kinds of commune-level unit (QĐ 19/2025).
pub const UNIT_KINDS: [(&str, &str); 3] =
    [("xa", "Xã"), ("phuong", "Phường"), ("dac_khu", "Đặc khu")];

/// A commune as listed.
#[derive(Debug, Clone, Serialize)]
pub struct UnitView {
    pub code: String,
    pub name: String,
    pub kind: String,
    pub valid_from: NaiveDate,
    pub valid_to: Option<NaiveDate>,
    pub source: Option<String>,
}

fn code_ok(code: &str, max: usize) -> bool {
    (1..=max).contains(&code.len())
        && code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// Every field, in order.
pub async fn fields(
    s: &Services,
    actor: &Actor,
) -> Result<Vec<crate::domain::directory::Field>, StaffError> {
    require(actor)?;
    Ok(s.store.list_fields().await?)
}

/// Adds a field (a new code) or changes one (its name, description,
/// order); audited. Answers whether it was new.
pub async fn save_field(
    s: &Services,
    actor: &Actor,
    input: &FieldInput,
    request_id: Option<String>,
    now: DateTime<Utc>,
) -> Result<bool, StaffError> {
    require(actor)?;
    let mut errors = Vec::new();
    let code = input.code.trim().to_string();
    if !code_ok(&code, 64) {
        errors.push(FieldError::new("code", "invalid"));
    }
    let name = input.name.trim().to_string();
    if name.is_empty() {
        errors.push(FieldError::new("name", "required"));
    } else if name.chars().count() > 200 {
        errors.push(FieldError::new("name", "too_long"));
    }
    if input.description.trim().chars().count() > 1000 {
        errors.push(FieldError::new("description", "too_long"));
    }
    let sort_order = match input.sort_order.trim() {
        "" => 100,
        n => match n.parse::<i32>() {
            Ok(v) if (0..=10_000).contains(&v) => v,
            _ => {
                errors.push(FieldError::new("sort_order", "out_of_range"));
                0
            }
        },
    };
    if !errors.is_empty() {
        return Err(StaffError::Invalid(errors));
    }
    let edit = crate::store::directory::FieldEdit {
        code: code.clone(),
        name,
        description: opt(&input.description),
        sort_order,
    };
    let entry = audit(
        actor,
        "directory.field_saved",
        json!({ "code": code, "name": edit.name, "description": edit.description, "sort_order": sort_order }),
        request_id,
    );
    Ok(s.store.save_field(&edit, &entry, now).await?)
}

/// The province's communes, ended ones too.
pub async fn units(s: &Services, actor: &Actor) -> Result<Vec<UnitView>, StaffError> {
    require(actor)?;
    Ok(s.store
        .province_units(&s.settings.province.code)
        .await?
        .into_iter()
        .map(|u| UnitView {
            code: u.code,
            name: u.name,
            kind: u.kind,
            valid_from: u.valid_from,
            valid_to: u.valid_to,
            source: u.source,
        })
        .collect())
}

/// Adds or changes one of the province's communes; audited.
pub async fn save_unit(
    s: &Services,
    actor: &Actor,
    input: &UnitInput,
    request_id: Option<String>,
    now: DateTime<Utc>,
) -> Result<bool, StaffError> {
    require(actor)?;
    let mut errors = Vec::new();
    let code = input.code.trim().to_string();
    if code.len() != 5 || !code.chars().all(|c| c.is_ascii_digit()) {
        errors.push(FieldError::new("code", "invalid"));
    }
    let name = input.name.trim().to_string();
    if name.is_empty() {
        errors.push(FieldError::new("name", "required"));
    } else if name.chars().count() > 200 {
        errors.push(FieldError::new("name", "too_long"));
    }
    if !UNIT_KINDS.iter().any(|(k, _)| *k == input.kind.trim()) {
        errors.push(FieldError::new("kind", "invalid_choice"));
    }
    let valid_from =
        date(&input.valid_from, "valid_from", &mut errors).unwrap_or_else(|| vietnam_date(now));
    let valid_to = date(&input.valid_to, "valid_to", &mut errors);
    if valid_to.is_some_and(|to| to <= valid_from) {
        errors.push(FieldError::new("valid_to", "out_of_range"));
    }
    // A code of another province is not this office's to change.
    if let Some(existing) = s.store.find_unit(&code).await?
        && existing.province_code.as_deref() != Some(s.settings.province.code.as_str())
    {
        errors.push(FieldError::new("code", "commune_not_in_province"));
    }
    if !errors.is_empty() {
        return Err(StaffError::Invalid(errors));
    }
    let edit = crate::store::directory::UnitEdit {
        code: code.clone(),
        name,
        kind: input.kind.trim().to_string(),
        province_code: s.settings.province.code.clone(),
        valid_from,
        valid_to,
        source: opt(&input.source),
    };
    let entry = audit(
        actor,
        "directory.unit_saved",
        json!({ "code": code, "name": edit.name, "kind": edit.kind, "valid_to": valid_to }),
        request_id,
    );
    Ok(s.store.save_unit(&edit, &entry, now).await?)
}
