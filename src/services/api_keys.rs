//! API keys for integrations (a portal pushing its form, a reporting tool,
//! a mail gateway), run by administrators from the console or the JSON API
//! as `pakn api-key` does from a shell: created with their scopes (the key
//! shown once, stored as a digest), listed with when each was last used,
//! revoked. Audited with who did it.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::Services;
use super::auth::{AuthError, create_api_key};
use super::staff_items::StaffError;
use crate::domain::feedback::FieldError;
use crate::domain::staff::{Actor, ApiScope, Permission, parse_username};
use crate::domain::time::VnTime;
use crate::store::StoreError;
use crate::store::journal::AuditEntry;

/// The scopes with their Vietnamese description.
pub const SCOPES: [(ApiScope, &str); 4] = [
    (
        ApiScope::SubmitFeedback,
        "Gửi phản ánh thay cho người dân (cổng thông tin, biểu mẫu của hệ thống khác)",
    ),
    (
        ApiScope::ReadStatistics,
        "Đọc số liệu thống kê (không có thông tin cá nhân)",
    ),
    (
        ApiScope::IngestEmail,
        "Chuyển thư điện tử đến địa chỉ tiếp nhận (cổng thư)",
    ),
    (
        ApiScope::AgencyWebhooks,
        "Nhận webhook về phản ánh của một cơ quan (không có thông tin liên hệ của người gửi)",
    ),
];

/// One key as listed (never the key).
#[derive(Debug, Clone, Serialize)]
pub struct ApiKeyView {
    pub name: String,
    pub scopes: Vec<ApiScope>,
    pub created_by: String,
    pub created_at: VnTime,
    pub last_used_at: Option<VnTime>,
    pub revoked_at: Option<VnTime>,
}

/// A new key, shown once.
#[derive(Debug, Clone, Serialize)]
pub struct NewApiKey {
    pub name: String,
    pub key: String,
    pub scopes: Vec<ApiScope>,
}

fn require(actor: &Actor) -> Result<(), StaffError> {
    super::staff_items::require(actor, Permission::ManageStaff)
}

fn audit(actor: &Actor, action: &str, name: &str, request_id: Option<String>) -> AuditEntry {
    AuditEntry::by_staff(
        &actor.username,
        action,
        serde_json::json!({ "name": name }),
        request_id,
    )
}

/// Every key, live ones first, by name.
pub async fn list(s: &Services, actor: &Actor) -> Result<Vec<ApiKeyView>, StaffError> {
    require(actor)?;
    let mut keys: Vec<ApiKeyView> = s
        .store
        .list_api_keys()
        .await?
        .into_iter()
        .map(|k| ApiKeyView {
            scopes: k
                .scopes
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().and_then(ApiScope::parse))
                        .collect()
                })
                .unwrap_or_default(),
            name: k.name,
            created_by: k.created_by,
            created_at: k.created_at.into(),
            last_used_at: k.last_used_at.map(VnTime),
            revoked_at: k.revoked_at.map(VnTime),
        })
        .collect();
    keys.sort_by_key(|k| (k.revoked_at.is_some(), k.name.clone()));
    Ok(keys)
}

/// Creates a key; the answer is the only time it is shown.
pub async fn create(
    s: &Services,
    actor: &Actor,
    name: &str,
    scopes: &[String],
    request_id: Option<String>,
    now: DateTime<Utc>,
) -> Result<NewApiKey, StaffError> {
    require(actor)?;
    let mut errors = Vec::new();
    let name = match parse_username(name) {
        Ok(n) => Some(n),
        Err(_) => {
            errors.push(FieldError::new("name", "username_invalid"));
            None
        }
    };
    let mut parsed = Vec::new();
    for scope in scopes {
        match ApiScope::parse(scope.trim()) {
            Some(sc) if !parsed.contains(&sc) => parsed.push(sc),
            Some(_) => {}
            None => errors.push(FieldError::new("scopes", "invalid_choice")),
        }
    }
    if scopes.is_empty() {
        errors.push(FieldError::new("scopes", "required"));
    }
    let Some(name) = name.filter(|_| errors.is_empty()) else {
        return Err(StaffError::Invalid(errors));
    };
    let key = match create_api_key(&s.store, &name, &parsed, &actor.username, now).await {
        Ok(k) => k,
        Err(AuthError::Invalid(_)) => {
            return Err(StaffError::Invalid(vec![FieldError::new(
                "name",
                "name_taken",
            )]));
        }
        Err(AuthError::Store(e)) => return Err(e.into()),
        Err(e) => return Err(StoreError::Integrity(e.to_string()).into()),
    };
    s.store
        .record_staff_event(&audit(actor, "api_key.created", &name, request_id), now)
        .await?;
    Ok(NewApiKey {
        name,
        key,
        scopes: parsed,
    })
}

/// Revokes a key by name; a key already revoked or unknown is not found.
pub async fn revoke(
    s: &Services,
    actor: &Actor,
    name: &str,
    request_id: Option<String>,
    now: DateTime<Utc>,
) -> Result<(), StaffError> {
    require(actor)?;
    let entry = audit(actor, "api_key.revoked", name, request_id);
    if !s.store.revoke_api_key(name, Some(&entry), now).await? {
        return Err(StaffError::NotFound);
    }
    Ok(())
}
