//! Staff accounts, run from the browser: an administrator lists, creates,
//! changes, disables, enables and unlocks accounts and hands out one-time
//! set-password links (never a password on screen); everyone keeps their
//! own profile (their password, the daily digest). The pages and the JSON
//! API read these views and call these operations; every change is
//! audited with who made it. The last active administrator can be neither
//! disabled nor given another role.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::Services;
use super::auth::{self, AuthError};
use super::staff_items::StaffError;
use crate::domain::digest::sha256_hex;
use crate::domain::feedback::FieldError;
use crate::domain::ids::AgencyId;
use crate::domain::staff::{
    Actor, Permission, Role, check_new_password, parse_staff_email, parse_username,
};
use crate::domain::time::VnTime;
use crate::store::StoreError;
use crate::store::journal::AuditEntry;
use crate::store::staff::{NewStaff, StaffChange, StaffRow};

/// One account as an administrator sees it (never its password hash).
#[derive(Debug, Clone, Serialize)]
pub struct AccountView {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub role_label: &'static str,
    pub agency_code: String,
    pub agency_name: String,
    pub email: Option<String>,
    pub active: bool,
    /// Locked after wrong passwords, until this time.
    pub locked_until: Option<VnTime>,
    pub daily_digest: bool,
    pub is_demo: bool,
    pub created_at: VnTime,
    pub updated_at: VnTime,
}

/// A one-time link to set a password, shown once to the administrator.
#[derive(Debug, Clone, Serialize)]
pub struct PasswordLink {
    pub username: String,
    pub url: String,
    pub expires_at: VnTime,
}

/// The fields of an account form (create or change).
#[derive(Debug, Clone, Default)]
pub struct AccountInput {
    /// Only when creating: it never changes afterwards.
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub agency_code: String,
    pub email: String,
}

/// A list of accounts and what it was asked for.
#[derive(Debug, Clone, Serialize)]
pub struct AccountList {
    pub accounts: Vec<AccountView>,
    pub total: usize,
}

/// One's own account, as the profile page and `GET /api/v1/auth/me` show it.
#[derive(Debug, Clone, Serialize)]
pub struct ProfileView {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub role_label: &'static str,
    pub agency_code: String,
    pub agency_name: String,
    pub email: Option<String>,
    pub daily_digest: bool,
    /// The hour the digest is queued on working days (none: no digest on
    /// this service).
    pub digest_hour: Option<u32>,
}

fn audit(
    actor: &Actor,
    action: &str,
    details: serde_json::Value,
    request_id: Option<String>,
) -> AuditEntry {
    AuditEntry::by_staff(&actor.username, action, details, request_id)
}

fn require(actor: &Actor, permission: Permission) -> Result<(), StaffError> {
    if actor.may(permission) {
        Ok(())
    } else {
        Err(StaffError::Forbidden)
    }
}

fn invalid(field: &str, code: &'static str) -> StaffError {
    StaffError::Invalid(vec![FieldError::new(field, code)])
}

fn auth_error(e: AuthError) -> StaffError {
    match e {
        AuthError::Store(e) => StaffError::Store(e),
        other => StaffError::Store(StoreError::Integrity(other.to_string())),
    }
}

async fn view(s: &Services, row: &StaffRow, now: DateTime<Utc>) -> Result<AccountView, StaffError> {
    let directory = s.store.directory_snapshot().await?;
    let (agency_code, agency_name) = directory
        .agency_names
        .get(&AgencyId::from_uuid(row.agency_id))
        .cloned()
        .unwrap_or_default();
    let role = Role::parse(&row.role)
        .ok_or_else(|| StoreError::Integrity(format!("unknown role {}", row.role)))?;
    Ok(AccountView {
        username: row.username.clone(),
        display_name: row.display_name.clone(),
        role,
        role_label: role.label_vi(),
        agency_code,
        agency_name,
        email: row.email.clone(),
        active: row.is_active,
        locked_until: row.locked_until.filter(|t| *t > now).map(VnTime),
        daily_digest: row.daily_digest,
        is_demo: row.is_demo,
        created_at: row.created_at.into(),
        updated_at: row.updated_at.into(),
    })
}

/// Every account matching `q` (username, name or address, any case) and
/// `role`, by username.
pub async fn list(
    s: &Services,
    actor: &Actor,
    q: &str,
    role: &str,
    now: DateTime<Utc>,
) -> Result<AccountList, StaffError> {
    require(actor, Permission::ManageStaff)?;
    let q = q.trim().to_lowercase();
    let role = Role::parse(role.trim());
    let mut accounts = Vec::new();
    for row in s.store.list_staff().await? {
        let matches = q.is_empty()
            || row.username.contains(&q)
            || row.display_name.to_lowercase().contains(&q)
            || row.email.as_deref().is_some_and(|e| e.contains(&q));
        if matches && role.is_none_or(|r| r.as_str() == row.role) {
            accounts.push(view(s, &row, now).await?);
        }
    }
    Ok(AccountList {
        total: accounts.len(),
        accounts,
    })
}

async fn find(s: &Services, username: &str) -> Result<StaffRow, StaffError> {
    let name = parse_username(username).map_err(|_| StaffError::NotFound)?;
    s.store
        .find_staff_by_username(&name)
        .await?
        .ok_or(StaffError::NotFound)
}

/// One account.
pub async fn get(
    s: &Services,
    actor: &Actor,
    username: &str,
    now: DateTime<Utc>,
) -> Result<AccountView, StaffError> {
    require(actor, Permission::ManageStaff)?;
    let row = find(s, username).await?;
    view(s, &row, now).await
}

/// Checks a form: the role, an existing and current agency, the name and
/// the address; all mistakes at once.
async fn check(
    s: &Services,
    input: &AccountInput,
    now: DateTime<Utc>,
) -> Result<(Role, uuid::Uuid, String, Option<String>), StaffError> {
    let mut errors = Vec::new();
    let role = Role::parse(input.role.trim());
    if role.is_none() {
        errors.push(FieldError::new("role", "invalid_choice"));
    }
    let directory = s.store.directory_snapshot().await?;
    let agency = directory
        .agencies
        .get(input.agency_code.trim())
        .copied()
        .filter(|a| directory.agency_exists_on(*a, crate::domain::time::vietnam_date(now)));
    if input.agency_code.trim().is_empty() {
        errors.push(FieldError::new("agency_code", "required"));
    } else if agency.is_none() {
        errors.push(FieldError::new("agency_code", "unknown_code"));
    }
    let name = input.display_name.trim().to_string();
    if name.is_empty() {
        errors.push(FieldError::new("display_name", "required"));
    } else if name.chars().count() > 120 {
        errors.push(FieldError::new("display_name", "too_long"));
    }
    let email = match parse_staff_email(&input.email) {
        Ok(e) => e,
        Err(code) => {
            errors.push(FieldError::new("email", code));
            None
        }
    };
    match (role, agency) {
        (Some(role), Some(agency)) if errors.is_empty() => {
            Ok((role, agency.as_uuid(), name, email))
        }
        _ => Err(StaffError::Invalid(errors)),
    }
}

/// A fresh one-time link for `row`, replacing any earlier unused one.
async fn new_link(
    s: &Services,
    row: &StaffRow,
    created_by: Option<uuid::Uuid>,
    now: DateTime<Utc>,
) -> Result<PasswordLink, StaffError> {
    let token = crate::domain::digest::random_secret("pakn_pw_")
        .map_err(|e| StoreError::Integrity(format!("no randomness: {e}")))?;
    let expires_at = now + Duration::hours(i64::from(s.settings.auth.password_link_hours));
    s.store
        .insert_password_link(
            row.id,
            &sha256_hex(token.as_bytes()),
            created_by,
            now,
            expires_at,
        )
        .await?;
    Ok(PasswordLink {
        username: row.username.clone(),
        url: format!(
            "{}/nhan-vien/dat-mat-khau?ma={token}",
            s.settings.server.public_base_url.trim_end_matches('/')
        ),
        expires_at: expires_at.into(),
    })
}

/// Creates an account without a password: the answer carries the
/// one-time link its owner sets one with.
pub async fn create(
    s: &Services,
    actor: &Actor,
    input: &AccountInput,
    request_id: Option<String>,
    now: DateTime<Utc>,
) -> Result<(AccountView, PasswordLink), StaffError> {
    require(actor, Permission::ManageStaff)?;
    let username = parse_username(&input.username);
    let checked = check(s, input, now).await;
    let (role, agency, name, email) = match (username.is_ok(), checked) {
        (true, Ok(c)) => c,
        (ok, checked) => {
            let mut errors = match checked {
                Err(StaffError::Invalid(e)) => e,
                Err(other) => return Err(other),
                Ok(_) => Vec::new(),
            };
            if !ok {
                errors.insert(0, FieldError::new("username", "username_invalid"));
            }
            return Err(StaffError::Invalid(errors));
        }
    };
    let username = username.unwrap_or_default();
    // Nobody knows this password: the owner sets theirs with the link.
    let hash = hash(&auth::generate_password().map_err(auth_error)?).await?;
    let new = NewStaff {
        username: username.clone(),
        display_name: name.clone(),
        password_hash: hash,
        role: role.as_str().into(),
        agency_id: agency,
        is_demo: false,
        email: email.clone(),
    };
    let entry = audit(
        actor,
        "staff.account_created",
        serde_json::json!({
            "username": username,
            "role": role.as_str(),
            "agency_code": input.agency_code.trim(),
        }),
        request_id,
    );
    match s.store.insert_staff_audited(&new, &entry, now).await {
        Ok(_) => {}
        Err(StoreError::Conflict(_)) => return Err(invalid("username", "username_taken")),
        Err(e) => return Err(e.into()),
    }
    let row = find(s, &username).await?;
    let link = new_link(s, &row, Some(actor.staff_id), now).await?;
    Ok((view(s, &row, now).await?, link))
}

/// Whether taking `row` out of the administrators (by role or by
/// disabling it) would leave none active.
async fn is_last_admin(s: &Services, row: &StaffRow) -> Result<bool, StaffError> {
    Ok(row.role == Role::Admin.as_str()
        && row.is_active
        && s.store.count_active_with_role(Role::Admin.as_str()).await? <= 1)
}

/// Changes name, role, agency and address.
pub async fn change(
    s: &Services,
    actor: &Actor,
    username: &str,
    input: &AccountInput,
    request_id: Option<String>,
    now: DateTime<Utc>,
) -> Result<AccountView, StaffError> {
    require(actor, Permission::ManageStaff)?;
    let row = find(s, username).await?;
    let (role, agency, name, email) = check(s, input, now).await?;
    if role != Role::Admin && is_last_admin(s, &row).await? {
        return Err(invalid("role", "last_admin"));
    }
    let change = StaffChange {
        display_name: name,
        role: role.as_str().into(),
        agency_id: agency,
        email,
    };
    let entry = audit(
        actor,
        "staff.account_changed",
        serde_json::json!({
            "username": row.username,
            "role": { "from": row.role, "to": role.as_str() },
            "agency_changed": row.agency_id != agency,
            "name_changed": row.display_name != change.display_name,
            "email_changed": row.email != change.email,
        }),
        request_id,
    );
    s.store.change_staff(row.id, &change, &entry, now).await?;
    let row = find(s, username).await?;
    view(s, &row, now).await
}

/// What an administrator can do to an account besides editing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountAction {
    Disable,
    Enable,
    Unlock,
    /// A new one-time set-password link (the old password keeps working
    /// until the link is used).
    PasswordLink,
}

impl AccountAction {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "disable" => Self::Disable,
            "enable" => Self::Enable,
            "unlock" => Self::Unlock,
            "password-link" => Self::PasswordLink,
            _ => return None,
        })
    }
}

/// Applies `action`; a new link is returned for [`AccountAction::PasswordLink`].
pub async fn act(
    s: &Services,
    actor: &Actor,
    username: &str,
    action: AccountAction,
    request_id: Option<String>,
    now: DateTime<Utc>,
) -> Result<(AccountView, Option<PasswordLink>), StaffError> {
    require(actor, Permission::ManageStaff)?;
    let row = find(s, username).await?;
    let details = serde_json::json!({ "username": row.username });
    let mut link = None;
    match action {
        AccountAction::Disable => {
            if is_last_admin(s, &row).await? {
                return Err(invalid("username", "last_admin"));
            }
            if row.is_active {
                let entry = audit(actor, "staff.account_disabled", details, request_id);
                s.store.set_staff_active(row.id, false, &entry, now).await?;
            }
        }
        AccountAction::Enable => {
            if !row.is_active {
                let entry = audit(actor, "staff.account_enabled", details, request_id);
                s.store.set_staff_active(row.id, true, &entry, now).await?;
            }
        }
        AccountAction::Unlock => {
            if row.failed_logins > 0 || row.locked_until.is_some() {
                let entry = audit(actor, "staff.account_unlocked", details, request_id);
                s.store.unlock_staff(row.id, &entry, now).await?;
            }
        }
        AccountAction::PasswordLink => {
            let entry = audit(actor, "staff.password_link_issued", details, request_id);
            link = Some(new_link(s, &row, Some(actor.staff_id), now).await?);
            s.store.record_staff_event(&entry, now).await?;
        }
    }
    let row = find(s, username).await?;
    Ok((view(s, &row, now).await?, link))
}

/// The account a set-password link is for, while it is live and unused
/// (the same `None` for an unknown, used or expired link).
pub async fn link_account(
    s: &Services,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Option<String>, StaffError> {
    if !token.starts_with("pakn_pw_") || token.len() > 128 {
        return Ok(None);
    }
    Ok(s.store
        .password_link_account(&sha256_hex(token.as_bytes()), now)
        .await?
        .filter(|r| r.is_active)
        .map(|r| r.username))
}

/// Sets the password of a link's account and uses the link up. `None`
/// when the link is unknown, used, expired or the account disabled.
pub async fn set_password_with_link(
    s: &Services,
    token: &str,
    password: &str,
    again: &str,
    request_id: Option<String>,
    now: DateTime<Utc>,
) -> Result<Option<String>, StaffError> {
    if !token.starts_with("pakn_pw_") || token.len() > 128 {
        return Ok(None);
    }
    let digest = sha256_hex(token.as_bytes());
    let Some(row) = s
        .store
        .password_link_account(&digest, now)
        .await?
        .filter(|r| r.is_active)
    else {
        return Ok(None);
    };
    check_password_pair(password, again)?;
    let hash = hash(password).await?;
    // Used up first: of two posts of one link, one sets the password.
    if !s.store.use_password_link(&digest, now).await? {
        return Ok(None);
    }
    let entry = AuditEntry {
        actor_kind: "staff".into(),
        actor_id: Some(row.username.clone()),
        action: "staff.password_set".into(),
        from_state: None,
        to_state: None,
        reason: None,
        details: serde_json::json!({ "username": row.username, "with": "link" }),
        request_id,
    };
    s.store
        .set_password_hash(row.id, &hash, &entry, now)
        .await?;
    Ok(Some(row.username))
}

fn check_password_pair(password: &str, again: &str) -> Result<(), StaffError> {
    if check_new_password(password).is_err() {
        return Err(invalid("new_password", "password_weak"));
    }
    if password != again {
        return Err(invalid("new_password_again", "password_mismatch"));
    }
    Ok(())
}

async fn hash(password: &str) -> Result<String, StaffError> {
    let to_hash = password.to_string();
    Ok(
        tokio::task::spawn_blocking(move || auth::hash_password(&to_hash))
            .await
            .map_err(|e| StoreError::Integrity(format!("hashing task failed: {e}")))?
            .map_err(StoreError::Integrity)?,
    )
}

/// One's own profile.
pub async fn profile(s: &Services, actor: &Actor) -> Result<ProfileView, StaffError> {
    let row = s
        .store
        .find_staff(actor.staff_id)
        .await?
        .ok_or(StaffError::NotFound)?;
    let directory = s.store.directory_snapshot().await?;
    let (agency_code, agency_name) = directory
        .agency_names
        .get(&actor.agency)
        .cloned()
        .unwrap_or_default();
    Ok(ProfileView {
        username: row.username,
        display_name: row.display_name,
        role: actor.role,
        role_label: actor.role.label_vi(),
        agency_code,
        agency_name,
        email: row.email,
        daily_digest: row.daily_digest,
        digest_hour: u32::try_from(s.settings.auth.digest_hour).ok(),
    })
}

/// Turns one's own daily digest on or off.
pub async fn set_daily_digest(
    s: &Services,
    actor: &Actor,
    wanted: bool,
    request_id: Option<String>,
    now: DateTime<Utc>,
) -> Result<ProfileView, StaffError> {
    let entry = audit(
        actor,
        "staff.daily_digest_changed",
        serde_json::json!({ "daily_digest": wanted }),
        request_id,
    );
    s.store
        .set_daily_digest(actor.staff_id, wanted, &entry, now)
        .await?;
    profile(s, actor).await
}

/// Changes one's own password; the current one is required. Every other
/// session of the account ends (the caller signs in again).
pub async fn change_own_password(
    s: &Services,
    actor: &Actor,
    current: &str,
    password: &str,
    again: &str,
    request_id: Option<String>,
    now: DateTime<Utc>,
) -> Result<(), StaffError> {
    match auth::login(&s.store, &s.settings, &actor.username, current, now).await {
        Ok(signed_in) => {
            // The check signed in once more: that session is not wanted.
            auth::logout(&s.store, &signed_in.token, now)
                .await
                .map_err(auth_error)?;
        }
        Err(AuthError::InvalidCredentials) => {
            return Err(invalid("current_password", "password_wrong"));
        }
        Err(e) => return Err(auth_error(e)),
    }
    check_password_pair(password, again)?;
    let hash = hash(password).await?;
    let entry = audit(
        actor,
        "staff.password_set",
        serde_json::json!({ "username": actor.username, "with": "current_password" }),
        request_id,
    );
    s.store
        .set_password_hash(actor.staff_id, &hash, &entry, now)
        .await?;
    Ok(())
}
