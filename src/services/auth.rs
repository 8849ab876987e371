//! Staff sign-in: Argon2id passwords, opaque bearer tokens stored as
//! SHA-256 digests, lock-out after repeated failures, and no way to tell
//! an unknown username from a wrong password (same answer, same work).

use std::sync::LazyLock;

use crate::domain::digest::{random_secret, sha256_hex};
use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use chrono::{DateTime, Duration, Utc};

use crate::config::Settings;
use crate::domain::ids::AgencyId;
use crate::domain::staff::{
    Actor, ApiClient, ApiScope, PASSWORD_MAX_BYTES, Role, check_new_password, parse_username,
};
use crate::store::staff::{NewStaff, StaffRow};
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Unknown user, wrong password, disabled or locked account: one
    /// error, so nobody learns which.
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("no valid session")]
    Unauthenticated,
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Too many sign-ins are being checked at once.
    #[error("too many sign-ins at once")]
    Busy,
    #[error("internal error: {0}")]
    Internal(String),
}

/// A new session.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub actor: Actor,
}

/// Hashing a password the attacker chose never takes longer than one
/// Argon2id run with the default parameters (19 MiB, 2 passes).
fn argon2() -> Argon2<'static> {
    Argon2::default()
}

/// A hash to verify against when the username is unknown, so that the
/// answer takes as long as for a real account.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| hash_password("pakn-dummy-password-for-timing").unwrap_or_default());

pub fn hash_password(password: &str) -> Result<String, String> {
    let hash: PasswordHash = argon2()
        .hash_password(password.as_bytes())
        .map_err(|e| e.to_string())?;
    Ok(hash.to_string())
}

fn verify_password(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(parsed) => argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

fn token_digest(token: &str) -> String {
    sha256_hex(token.as_bytes())
}

fn new_secret(prefix: &str) -> Result<String, AuthError> {
    random_secret(prefix).map_err(|e| AuthError::Internal(format!("random source failed: {e}")))
}

/// A random password for a new or demo account (20 characters, about 100
/// bits), printed once.
pub fn generate_password() -> Result<String, AuthError> {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 20];
    getrandom::fill(&mut bytes)
        .map_err(|e| AuthError::Internal(format!("random source failed: {e}")))?;
    Ok(bytes
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect())
}

/// At most this many password hashes are computed at once (each takes
/// about 19 MiB): a flood of sign-ins from many addresses waits or gets a
/// 503 instead of exhausting memory.
static HASHING: LazyLock<tokio::sync::Semaphore> = LazyLock::new(|| tokio::sync::Semaphore::new(4));

async fn verify_limited(password: String, stored: String) -> Result<bool, AuthError> {
    let permit = tokio::time::timeout(std::time::Duration::from_secs(10), HASHING.acquire())
        .await
        .map_err(|_| AuthError::Busy)?
        .map_err(|_| AuthError::Busy)?;
    let matches = blocking(move || verify_password(&password, &stored)).await;
    drop(permit);
    matches
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, AuthError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| AuthError::Internal(format!("hashing task failed: {e}")))
}

/// The active account `username` acting from a shell (`pakn webhook
/// … --by NAME`): the same permissions as in the console.
pub async fn actor_by_username(store: &Store, username: &str) -> Result<Option<Actor>, AuthError> {
    match store.find_staff_by_username(username).await? {
        Some(row) if row.is_active => Ok(Some(actor(&row)?)),
        _ => Ok(None),
    }
}

fn actor(row: &StaffRow) -> Result<Actor, AuthError> {
    Ok(Actor {
        staff_id: row.id,
        username: row.username.clone(),
        display_name: row.display_name.clone(),
        role: Role::parse(&row.role).ok_or_else(|| {
            StoreError::Integrity(format!(
                "staff {} has unknown role {}",
                row.username, row.role
            ))
        })?,
        agency: AgencyId::from_uuid(row.agency_id),
    })
}

#[tracing::instrument(name = "Staff login", skip_all)]
pub async fn login(
    store: &Store,
    settings: &Settings,
    username: &str,
    password: &str,
    now: DateTime<Utc>,
) -> Result<SignedIn, AuthError> {
    let password = password.to_string();
    if password.is_empty() || password.len() > PASSWORD_MAX_BYTES {
        return Err(AuthError::InvalidCredentials);
    }
    let row = match parse_username(username) {
        Ok(name) => store.find_staff_by_username(&name).await?,
        Err(_) => None,
    };
    let stored = row
        .as_ref()
        .map(|r| r.password_hash.clone())
        .unwrap_or_else(|| DUMMY_HASH.clone());
    let matches = verify_limited(password, stored).await?;
    let auth = &settings.auth;
    let lock_after = i32::try_from(auth.lock_after_failures).unwrap_or(i32::MAX);
    let lock_until = now + Duration::minutes(i64::from(auth.lock_minutes));
    let Some(row) = row else {
        // The same bookkeeping statements as for a real account, so the
        // answer takes as long (they match no row).
        store
            .record_failed_login(uuid::Uuid::nil(), lock_after, lock_until, false)
            .await?;
        return Err(AuthError::InvalidCredentials);
    };
    let locked = row.locked_until.is_some_and(|until| until > now);
    // A lock that has run out starts the count afresh.
    let expired_lock = row.locked_until.is_some_and(|until| until <= now);
    if !matches {
        if locked {
            // Guessing during a lock neither counts nor extends it, so
            // nobody can keep an account locked for ever; the statements
            // still run (on no row) to keep the timing.
            store
                .record_failed_login(uuid::Uuid::nil(), lock_after, lock_until, false)
                .await?;
        } else {
            store
                .record_failed_login(row.id, lock_after, lock_until, expired_lock)
                .await?;
        }
        tracing::warn!(staff = %row.id, "failed staff login");
        return Err(AuthError::InvalidCredentials);
    }
    if locked || !row.is_active {
        tracing::warn!(staff = %row.id, locked, active = row.is_active, "login refused");
        return Err(AuthError::InvalidCredentials);
    }
    if row.failed_logins > 0 {
        store.reset_failed_logins(row.id).await?;
    }
    let token = new_secret("pakn_st_")?;
    let expires_at = now + Duration::hours(i64::from(settings.auth.session_hours));
    store
        .insert_session(&token_digest(&token), row.id, now, expires_at)
        .await?;
    tracing::info!(staff = %row.id, "staff signed in");
    Ok(SignedIn {
        token,
        expires_at,
        actor: actor(&row)?,
    })
}

/// The staff member behind a bearer token.
pub async fn authenticate(
    store: &Store,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Actor, AuthError> {
    if !token.starts_with("pakn_st_") || token.len() > 128 {
        return Err(AuthError::Unauthenticated);
    }
    match store.find_live_session(&token_digest(token), now).await? {
        Some((_, row)) => actor(&row),
        None => Err(AuthError::Unauthenticated),
    }
}

pub async fn logout(store: &Store, token: &str, now: DateTime<Utc>) -> Result<(), AuthError> {
    store.revoke_session(&token_digest(token), now).await?;
    Ok(())
}

/// An account to create.
#[derive(Debug, Clone)]
pub struct StaffSpec {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub agency_code: String,
    /// `None` generates one, returned so it can be shown once.
    pub password: Option<String>,
    pub is_demo: bool,
    /// Where the daily digest and set-password links go.
    pub email: Option<String>,
}

/// Creates an account (CLI, demo data); returns the normalised username
/// and the password.
pub async fn add_staff(
    store: &Store,
    spec: StaffSpec,
    now: DateTime<Utc>,
) -> Result<(String, String), AuthError> {
    let StaffSpec {
        username,
        display_name,
        role,
        agency_code,
        password,
        is_demo,
        email,
    } = spec;
    let email = match email {
        Some(e) => crate::domain::staff::parse_staff_email(&e)
            .map_err(|_| AuthError::Invalid(format!("{e:?} is not an e-mail address")))?,
        None => None,
    };
    let agency_code = agency_code.as_str();
    let username = parse_username(&username).map_err(|e| AuthError::Invalid(e.into()))?;
    let agency = store
        .find_agency_by_code(agency_code)
        .await?
        .ok_or_else(|| AuthError::Invalid(format!("no agency with code {agency_code}")))?;
    let password = match password {
        Some(p) => {
            check_new_password(&p).map_err(|e| AuthError::Invalid(e.into()))?;
            p
        }
        None => generate_password()?,
    };
    let to_hash = password.clone();
    let hash = blocking(move || hash_password(&to_hash))
        .await?
        .map_err(AuthError::Internal)?;
    let new = NewStaff {
        username: username.clone(),
        display_name: if display_name.trim().is_empty() {
            username.clone()
        } else {
            display_name.trim().to_string()
        },
        password_hash: hash,
        role: role.as_str().into(),
        agency_id: agency.id.as_uuid(),
        is_demo,
        email,
    };
    match store.insert_staff(&new, now).await {
        Ok(_) => Ok((username, password)),
        Err(StoreError::Conflict(_)) => {
            Err(AuthError::Invalid(format!("username {username} is taken")))
        }
        Err(e) => Err(e.into()),
    }
}

/// The demo accounts, one per role, for the embedded default. Returns
/// (username, role, agency, password) of those created now.
pub async fn create_demo_accounts(
    store: &Store,
    now: DateTime<Utc>,
) -> Result<Vec<(String, Role, String, String)>, AuthError> {
    if store.count_staff().await? > 0 {
        return Ok(Vec::new());
    }
    let accounts = [
        ("admin", "Quản trị hệ thống (demo)", Role::Admin, "48.VP"),
        (
            "kiemsoat",
            "Chuyên viên Phòng Kiểm soát TTHC (demo)",
            Role::ControlOffice,
            "48.VP",
        ),
        (
            "sxd.chuyenvien",
            "Chuyên viên Sở Xây dựng (demo)",
            Role::AgencyOfficer,
            "48.SXD",
        ),
        (
            "sxd.lanhdao",
            "Lãnh đạo Sở Xây dựng (demo)",
            Role::AgencyLead,
            "48.SXD",
        ),
        // Building and land are where most demo items are routed.
        (
            "snnmt.chuyenvien",
            "Chuyên viên Sở Nông nghiệp và Môi trường (demo)",
            Role::AgencyOfficer,
            "48.SNNMT",
        ),
        (
            "snnmt.lanhdao",
            "Lãnh đạo Sở Nông nghiệp và Môi trường (demo)",
            Role::AgencyLead,
            "48.SNNMT",
        ),
        (
            "thanhtra",
            "Giám sát (demo, chỉ xem)",
            Role::Auditor,
            "48.VP",
        ),
    ];
    let mut out = Vec::new();
    for (username, name, role, agency) in accounts {
        let spec = StaffSpec {
            username: username.into(),
            display_name: name.into(),
            role,
            agency_code: agency.into(),
            password: None,
            is_demo: true,
            // example.org's reserved domain: a demo digest goes nowhere.
            email: Some(format!("{username}@demo.example")),
        };
        let (username, password) = add_staff(store, spec, now).await?;
        out.push((username, role, agency.to_string(), password));
    }
    Ok(out)
}

/// Creates an API key; returns the key (shown once, stored as a digest).
pub async fn create_api_key(
    store: &Store,
    name: &str,
    scopes: &[ApiScope],
    created_by: &str,
    now: DateTime<Utc>,
) -> Result<String, AuthError> {
    let name = parse_username(name).map_err(|_| {
        AuthError::Invalid("key name must be 3–64 characters of a–z, 0–9, '.', '_' or '-'".into())
    })?;
    if scopes.is_empty() {
        return Err(AuthError::Invalid(
            "an API key needs at least one scope".into(),
        ));
    }
    let key = new_secret("pakn_ak_")?;
    let scopes: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
    match store
        .insert_api_key(&name, &token_digest(&key), &scopes, created_by, now)
        .await
    {
        Ok(()) => Ok(key),
        Err(StoreError::Conflict(_)) => Err(AuthError::Invalid(format!(
            "an API key named {name} exists"
        ))),
        Err(e) => Err(e.into()),
    }
}

/// The integration behind an API key.
pub async fn authenticate_api_key(store: &Store, key: &str) -> Result<ApiClient, AuthError> {
    if !key.starts_with("pakn_ak_") || key.len() > 128 {
        return Err(AuthError::Unauthenticated);
    }
    let row = store
        .find_live_api_key(&token_digest(key))
        .await?
        .ok_or(AuthError::Unauthenticated)?;
    // "Last used" for the administrator; a failure to note it never
    // refuses the request.
    if let Err(e) = store.note_api_key_use(row.id, Utc::now()).await {
        tracing::warn!(error = %e, "API key use not recorded");
    }
    let scopes = row
        .scopes
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().and_then(ApiScope::parse))
                .collect()
        })
        .unwrap_or_default();
    Ok(ApiClient {
        name: row.name,
        scopes,
    })
}
