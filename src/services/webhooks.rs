//! Webhooks for portals and partners: administrators subscribe a URL to
//! item events; every change raises one delivery per matching
//! subscription in its own transaction (`store::webhooks`), and this
//! module delivers them: signed, retried with back-off, given up after
//! `webhooks.max_attempts` with the reason kept, one instance at a time
//! per delivery and an item's events in order. A public subscription gets
//! the public Q&A's projection of published items and nothing else; an
//! agency's gets its own items without contact data, while the API key it
//! names keeps the `agency_webhooks` scope. A target on this machine or a
//! private network is refused when subscribing and again when connecting
//! (SSRF), unless `webhooks.allow_private_targets`.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::Url;
use serde::Serialize;
use uuid::Uuid;

use super::Services;
use super::staff_items::StaffError;
use crate::config::{Settings, WebhookSettings};
use crate::domain::digest::random_secret;
use crate::domain::feedback::{FeedbackState, FieldError};
use crate::domain::staff::{Actor, ApiScope, Permission, parse_username};
use crate::domain::time::{VnTime, to_vietnam_rfc3339};
use crate::domain::webhook::{
    WebhookEvent, WebhookScope, backoff_seconds, signature, target_allowed,
};
use crate::store::journal::AuditEntry;
use crate::store::webhooks::{DeliveryRow, SubscriptionRow, WebhookOutcome};
use crate::store::{Store, StoreError};

/// The longest URL a subscription may have.
const URL_MAX: usize = 2000;
/// The most deliveries one listing shows.
const DELIVERIES_MAX: u64 = 200;
/// How much of an error is kept.
const ERROR_MAX_CHARS: usize = 300;

/// A subscription as administrators see it (never its secret).
#[derive(Debug, Clone, Serialize)]
pub struct WebhookView {
    pub name: String,
    pub url: String,
    pub events: Vec<String>,
    pub scope: WebhookScope,
    pub agency: Option<String>,
    pub api_key: Option<String>,
    pub created_by: String,
    pub created_at: VnTime,
    pub disabled_at: Option<VnTime>,
    pub queued: u64,
    pub delivered: u64,
    pub dead: u64,
    pub skipped: u64,
}

/// A new subscription with its secret, shown once.
#[derive(Debug, Clone, Serialize)]
pub struct NewWebhook {
    #[serde(flatten)]
    pub view: WebhookView,
    pub secret: String,
}

/// One delivery as administrators see it.
#[derive(Debug, Clone, Serialize)]
pub struct DeliveryView {
    pub id: Uuid,
    pub event_id: Uuid,
    pub event: String,
    pub tracking_code: Option<String>,
    pub occurred_at: VnTime,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: Option<VnTime>,
    pub last_status: Option<i32>,
    /// Why the last attempt failed, or why it was given up or skipped.
    pub last_error: Option<String>,
    pub delivered_at: Option<VnTime>,
}

/// What an administrator asks for.
#[derive(Debug, Clone, Default)]
pub struct WebhookInput {
    pub name: String,
    pub url: String,
    pub events: Vec<String>,
    pub scope: Option<String>,
    pub agency: Option<String>,
    pub api_key: Option<String>,
}

fn require(actor: &Actor) -> Result<(), StaffError> {
    super::staff_items::require(actor, Permission::ManageStaff)
}

fn audit(
    actor: &Actor,
    action: &str,
    details: serde_json::Value,
    request_id: Option<String>,
) -> AuditEntry {
    AuditEntry::by_staff(&actor.username, action, details, request_id)
}

fn cut(text: &str) -> String {
    text.chars().take(ERROR_MAX_CHARS).collect()
}

async fn view(
    s: &Store,
    sub: &SubscriptionRow,
    agencies: &HashMap<Uuid, String>,
) -> Result<WebhookView, StoreError> {
    let counts = s.webhook_counts(sub.id).await?;
    let api_key = match sub.api_key_id {
        Some(id) => s.api_key_by_id(id).await?.map(|k| k.name),
        None => None,
    };
    Ok(WebhookView {
        name: sub.name.clone(),
        url: sub.url.clone(),
        events: event_names(sub),
        scope: WebhookScope::parse(&sub.scope).unwrap_or(WebhookScope::Public),
        agency: sub.agency_id.and_then(|a| agencies.get(&a).cloned()),
        api_key,
        created_by: sub.created_by.clone(),
        created_at: sub.created_at.into(),
        disabled_at: sub.disabled_at.map(VnTime),
        queued: counts.queued,
        delivered: counts.delivered,
        dead: counts.dead,
        skipped: counts.skipped,
    })
}

fn event_names(sub: &SubscriptionRow) -> Vec<String> {
    sub.events
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

async fn agency_codes(s: &Services) -> Result<HashMap<Uuid, String>, StoreError> {
    let directory = s.store.directory_snapshot().await?;
    Ok(directory
        .agency_names
        .iter()
        .map(|(id, (code, _))| (id.as_uuid(), code.clone()))
        .collect())
}

/// Every subscription with its deliveries counted, live ones first.
pub async fn list(s: &Services, actor: &Actor) -> Result<Vec<WebhookView>, StaffError> {
    require(actor)?;
    let agencies = agency_codes(s).await?;
    let mut out = Vec::new();
    for sub in s.store.webhooks().await? {
        out.push(view(&s.store, &sub, &agencies).await?);
    }
    out.sort_by_key(|w| (w.disabled_at.is_some(), w.name.clone()));
    Ok(out)
}

/// Whether `url` may be a target: http(s), no credentials in it, a host
/// that resolves only to addresses deliveries may go to; https unless
/// private targets are allowed (a test or an intranet partner).
pub async fn check_target(url: &str, settings: &WebhookSettings) -> Result<Url, FieldError> {
    let invalid = || FieldError::new("url", "url_invalid");
    let url = url.trim();
    if url.is_empty() {
        return Err(FieldError::new("url", "required"));
    }
    if url.len() > URL_MAX {
        return Err(FieldError::new("url", "too_long"));
    }
    let parsed = Url::parse(url).map_err(|_| invalid())?;
    let scheme_ok = match parsed.scheme() {
        "https" => true,
        "http" => settings.allow_private_targets,
        _ => false,
    };
    if !scheme_ok || !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(invalid());
    }
    let Some(host) = parsed.host_str() else {
        return Err(invalid());
    };
    let port = parsed.port_or_known_default().unwrap_or(443);
    let addresses: Vec<IpAddr> = match literal_ip(host) {
        Some(ip) => vec![ip],
        None => tokio::time::timeout(
            Duration::from_secs(5),
            tokio::net::lookup_host((host, port)),
        )
        .await
        .ok()
        .and_then(Result::ok)
        .map(|addrs| addrs.map(|a| a.ip()).collect())
        .unwrap_or_default(),
    };
    if addresses.is_empty() {
        return Err(FieldError::new("url", "target_unresolvable"));
    }
    if addresses
        .iter()
        .any(|ip| !target_allowed(*ip, settings.allow_private_targets))
    {
        return Err(FieldError::new("url", "target_not_allowed"));
    }
    Ok(parsed)
}

/// The address in a URL's host, with IPv6 brackets taken off.
fn literal_ip(host: &str) -> Option<IpAddr> {
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()
}

/// Subscribes a URL; the secret is in this answer only.
pub async fn create(
    s: &Services,
    actor: &Actor,
    input: &WebhookInput,
    request_id: Option<String>,
    now: DateTime<Utc>,
) -> Result<NewWebhook, StaffError> {
    require(actor)?;
    let mut errors = Vec::new();
    let name = parse_username(&input.name)
        .map_err(|_| errors.push(FieldError::new("name", "username_invalid")))
        .ok();
    let url = match check_target(&input.url, &s.settings.webhooks).await {
        Ok(u) => Some(u),
        Err(e) => {
            errors.push(e);
            None
        }
    };
    let mut events: Vec<WebhookEvent> = Vec::new();
    for e in &input.events {
        match WebhookEvent::parse(e.trim()) {
            Some(ev) if !events.contains(&ev) => events.push(ev),
            Some(_) => {}
            None => errors.push(FieldError::new("events", "invalid_choice")),
        }
    }
    if input.events.is_empty() {
        errors.push(FieldError::new("events", "required"));
    }
    let scope = match input
        .scope
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
    {
        None => Some(WebhookScope::Public),
        Some(v) => WebhookScope::parse(v).or_else(|| {
            errors.push(FieldError::new("scope", "invalid_choice"));
            None
        }),
    };
    let directory = s.store.directory_snapshot().await?;
    let agency_code = input
        .agency
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty());
    let agency = match agency_code {
        None => None,
        Some(code) => match directory.agencies.get(code) {
            Some(id) => Some(id.as_uuid()),
            None => {
                errors.push(FieldError::new("agency", "invalid_choice"));
                None
            }
        },
    };
    let mut api_key_id = None;
    if scope == Some(WebhookScope::Agency) {
        if agency_code.is_none() {
            errors.push(FieldError::new("agency", "required"));
        }
        match input
            .api_key
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
        {
            None => errors.push(FieldError::new("api_key", "required")),
            Some(key_name) => match s.store.api_key_by_name(key_name).await? {
                Some(k) if key_allows(&k) => api_key_id = Some(k.id),
                Some(_) => errors.push(FieldError::new("api_key", "scope_missing")),
                None => errors.push(FieldError::new("api_key", "invalid_choice")),
            },
        }
    }
    let (Some(name), Some(url), Some(scope)) = (name, url, scope) else {
        return Err(StaffError::Invalid(errors));
    };
    if !errors.is_empty() {
        return Err(StaffError::Invalid(errors));
    }
    let secret = random_secret("whsec_")
        .map_err(|e| StoreError::Integrity(format!("random source failed: {e}")))?;
    let row = SubscriptionRow {
        id: Uuid::now_v7(),
        name: name.clone(),
        url: url.to_string(),
        events: serde_json::json!(events.iter().map(|e| e.as_str()).collect::<Vec<_>>()),
        scope: scope.as_str().into(),
        agency_id: agency,
        api_key_id,
        secret: secret.clone(),
        created_by: actor.username.clone(),
        created_at: now,
        disabled_at: None,
    };
    let entry = audit(
        actor,
        "webhook.created",
        serde_json::json!({
            "name": name,
            "url": row.url,
            "events": row.events,
            "scope": row.scope,
            "agency": input.agency,
        }),
        request_id,
    );
    match s.store.create_webhook(row.clone(), &entry, now).await {
        Err(StoreError::Conflict(_)) => {
            return Err(StaffError::Invalid(vec![FieldError::new(
                "name",
                "name_taken",
            )]));
        }
        other => other?,
    }
    let agencies = agency_codes(s).await?;
    Ok(NewWebhook {
        view: view(&s.store, &row, &agencies).await?,
        secret,
    })
}

fn key_allows(key: &crate::store::entities::api_key::Model) -> bool {
    key.revoked_at.is_none()
        && key.scopes.as_array().is_some_and(|a| {
            a.iter()
                .any(|v| v.as_str() == Some(ApiScope::AgencyWebhooks.as_str()))
        })
}

/// Stops a subscription; what waited for it is skipped.
pub async fn remove(
    s: &Services,
    actor: &Actor,
    name: &str,
    request_id: Option<String>,
    now: DateTime<Utc>,
) -> Result<(), StaffError> {
    require(actor)?;
    let entry = audit(
        actor,
        "webhook.removed",
        serde_json::json!({ "name": name }),
        request_id,
    );
    if !s.store.disable_webhook(name, &entry, now).await? {
        return Err(StaffError::NotFound);
    }
    Ok(())
}

async fn subscription(s: &Services, name: &str) -> Result<SubscriptionRow, StaffError> {
    s.store
        .webhook_by_name(name)
        .await?
        .ok_or(StaffError::NotFound)
}

/// A subscription's deliveries, newest first; `status` narrows them
/// (`dead` lists what was given up, with why).
pub async fn deliveries(
    s: &Services,
    actor: &Actor,
    name: &str,
    status: Option<&str>,
) -> Result<Vec<DeliveryView>, StaffError> {
    require(actor)?;
    if let Some(st) = status
        && !["queued", "delivered", "dead", "skipped"].contains(&st)
    {
        return Err(StaffError::Invalid(vec![FieldError::new(
            "status",
            "invalid_choice",
        )]));
    }
    let sub = subscription(s, name).await?;
    let rows = s
        .store
        .webhook_deliveries(sub.id, status, DELIVERIES_MAX)
        .await?;
    let mut codes: HashMap<Uuid, Option<String>> = HashMap::new();
    let mut out = Vec::with_capacity(rows.len());
    for d in rows {
        if let std::collections::hash_map::Entry::Vacant(slot) = codes.entry(d.feedback_item_id) {
            slot.insert(s.store.tracking_code_of(d.feedback_item_id).await?);
        }
        out.push(DeliveryView {
            id: d.id,
            event_id: d.event_id,
            event: d.event,
            tracking_code: codes.get(&d.feedback_item_id).cloned().flatten(),
            occurred_at: d.occurred_at.into(),
            status: d.status,
            attempts: d.attempts,
            next_attempt_at: d.next_attempt_at.map(VnTime),
            last_status: d.last_status,
            last_error: d.last_error,
            delivered_at: d.delivered_at.map(VnTime),
        });
    }
    Ok(out)
}

/// Sends a dead delivery again (after the partner fixed their end).
pub async fn retry(
    s: &Services,
    actor: &Actor,
    name: &str,
    delivery: Uuid,
    request_id: Option<String>,
    now: DateTime<Utc>,
) -> Result<(), StaffError> {
    require(actor)?;
    let sub = subscription(s, name).await?;
    if sub.disabled_at.is_some() {
        return Err(StaffError::NotFound);
    }
    let entry = audit(
        actor,
        "webhook.delivery_retried",
        serde_json::json!({ "name": name, "delivery": delivery }),
        request_id,
    );
    if !s
        .store
        .requeue_webhook_delivery(sub.id, delivery, &entry, now)
        .await?
    {
        return Err(StaffError::NotFound);
    }
    Ok(())
}

/// Resolves names for deliveries, refusing every address a delivery may
/// not go to, at the moment of connecting (a name that resolved to a
/// public address when subscribing may not later point inside).
struct GuardedResolver {
    allow_private: bool,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_string();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| target_allowed(a.ip(), allow_private))
                .collect();
            if found.is_empty() {
                return Err(format!("{host}: no address a webhook may be sent to").into());
            }
            let addrs: reqwest::dns::Addrs = Box::new(found.into_iter());
            Ok(addrs)
        })
    }
}

/// The HTTP client deliveries go out through: rustls on ring with the
/// Mozilla roots, no proxy from the environment, no redirects (a
/// redirect could lead anywhere), the guarded resolver.
pub fn http_client(settings: &WebhookSettings) -> Result<reqwest::Client, String> {
    use tokio_rustls::rustls;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("webhooks: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(settings.timeout_seconds))
        .connect_timeout(Duration::from_secs(settings.timeout_seconds.min(10)))
        .user_agent(concat!("pakn-webhooks/", env!("CARGO_PKG_VERSION")))
        .dns_resolver(Arc::new(GuardedResolver {
            allow_private: settings.allow_private_targets,
        }))
        .build()
        .map_err(|e| format!("webhooks: {e}"))
}

/// What one delivery pass did.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct PassReport {
    pub delivered: usize,
    pub retried: usize,
    pub dead: usize,
    pub skipped: usize,
}

impl PassReport {
    pub fn handled(&self) -> usize {
        self.delivered + self.retried + self.dead + self.skipped
    }
}

/// Delivers due webhook deliveries.
pub struct Deliverer<'a> {
    pub store: &'a Store,
    pub settings: &'a Settings,
    pub client: &'a reqwest::Client,
    /// This instance's name in claims.
    pub holder: &'a str,
}

/// The body and headers of one attempt.
pub struct Signed {
    pub body: Vec<u8>,
    pub timestamp: i64,
    pub signature: String,
}

impl Deliverer<'_> {
    /// One pass: claims up to `webhooks.batch_size` due deliveries (at
    /// most one per subscription and item) and attempts them concurrently.
    pub async fn deliver_once(&self, now: DateTime<Utc>) -> Result<PassReport, StoreError> {
        let w = &self.settings.webhooks;
        // A claim outlives every request in the batch.
        let lease =
            chrono::Duration::seconds(i64::try_from(w.timeout_seconds * 3 + 30).unwrap_or(60));
        let claimed = self
            .store
            .claim_webhook_deliveries(self.holder, w.batch_size, now + lease, now)
            .await?;
        let mut report = PassReport::default();
        if claimed.is_empty() {
            return Ok(report);
        }
        let mut subscriptions: HashMap<Uuid, Option<SubscriptionRow>> = HashMap::new();
        for d in &claimed {
            if let std::collections::hash_map::Entry::Vacant(slot) =
                subscriptions.entry(d.subscription_id)
            {
                slot.insert(self.store.webhook(d.subscription_id).await?);
            }
        }
        let directory = self.store.directory_snapshot().await?;
        let attempts = claimed.iter().map(|d| {
            let sub = subscriptions.get(&d.subscription_id).cloned().flatten();
            let directory = &directory;
            async move {
                let outcome = match sub {
                    Some(sub) if sub.disabled_at.is_none() => {
                        self.attempt(d, &sub, directory, now).await
                    }
                    _ => Ok(WebhookOutcome::Skipped {
                        reason: "subscription removed".into(),
                    }),
                };
                (d, outcome)
            }
        });
        for (d, outcome) in futures_util::future::join_all(attempts).await {
            let outcome = outcome?;
            match &outcome {
                WebhookOutcome::Delivered { .. } => report.delivered += 1,
                WebhookOutcome::Retry { .. } => report.retried += 1,
                WebhookOutcome::Dead { error, .. } => {
                    report.dead += 1;
                    tracing::warn!(delivery = %d.id, event = %d.event, %error, "webhook given up");
                }
                WebhookOutcome::Skipped { .. } => report.skipped += 1,
            }
            if !self
                .store
                .finish_webhook_delivery(d.seq, self.holder, &outcome, Utc::now())
                .await?
            {
                tracing::warn!(delivery = %d.id, "webhook claim lost before the result was recorded");
            }
        }
        Ok(report)
    }

    async fn attempt(
        &self,
        d: &DeliveryRow,
        sub: &SubscriptionRow,
        directory: &crate::store::directory_cache::DirectorySnapshot,
        now: DateTime<Utc>,
    ) -> Result<WebhookOutcome, StoreError> {
        let Some(payload) = self.payload(d, sub, directory).await? else {
            return Ok(WebhookOutcome::Skipped {
                reason: "the item is no longer public".into(),
            });
        };
        if let Err(reason) = self.may_still_send(sub).await? {
            return Ok(WebhookOutcome::Dead {
                status: None,
                error: reason,
            });
        }
        let signed = sign(sub, &payload, Utc::now().timestamp());
        let result = self.post(d, sub, &signed).await;
        let w = &self.settings.webhooks;
        let attempts = u32::try_from(d.attempts.max(1)).unwrap_or(1);
        Ok(match result {
            Ok(status) if (200..300).contains(&status) => WebhookOutcome::Delivered {
                status: i32::from(status),
            },
            other => {
                let (status, error) = match other {
                    Ok(status) => (Some(i32::from(status)), format!("HTTP {status}")),
                    Err(e) => (None, cut(&e)),
                };
                if attempts >= w.max_attempts {
                    WebhookOutcome::Dead {
                        status,
                        error: format!("{error} (sau {attempts} lần thử)"),
                    }
                } else {
                    let wait = backoff_seconds(w.retry_base_seconds, attempts);
                    WebhookOutcome::Retry {
                        status,
                        error,
                        at: now + chrono::Duration::seconds(i64::try_from(wait).unwrap_or(60)),
                    }
                }
            }
        })
    }

    /// Whether the subscription may still receive: an agency's needs its
    /// key live and holding the scope; its URL must still be allowed.
    async fn may_still_send(
        &self,
        sub: &SubscriptionRow,
    ) -> Result<Result<(), String>, StoreError> {
        if WebhookScope::parse(&sub.scope) == Some(WebhookScope::Agency) {
            let key = match sub.api_key_id {
                Some(id) => self.store.api_key_by_id(id).await?,
                None => None,
            };
            if !key.as_ref().is_some_and(key_allows) {
                return Ok(Err(
                    "khoá API của đăng ký đã bị thu hồi hoặc không còn quyền agency_webhooks"
                        .into(),
                ));
            }
        }
        let literal = Url::parse(&sub.url)
            .ok()
            .and_then(|u| u.host_str().and_then(literal_ip));
        if let Some(ip) = literal
            && !target_allowed(ip, self.settings.webhooks.allow_private_targets)
        {
            return Ok(Err("địa chỉ nhận không được phép (mạng nội bộ)".into()));
        }
        Ok(Ok(()))
    }

    async fn post(
        &self,
        d: &DeliveryRow,
        sub: &SubscriptionRow,
        signed: &Signed,
    ) -> Result<u16, String> {
        let response = self
            .client
            .post(&sub.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("Pakn-Event", d.event.as_str())
            .header("Pakn-Delivery", d.id.to_string())
            .header("Pakn-Timestamp", signed.timestamp.to_string())
            .header("Pakn-Signature", signed.signature.as_str())
            .body(signed.body.clone())
            .send()
            .await
            .map_err(|e| describe(&e))?;
        Ok(response.status().as_u16())
    }

    /// The body: the public projection for a public subscription (none
    /// when the item is no longer public, except for its withdrawal), the
    /// agency's view for an agency's.
    async fn payload(
        &self,
        d: &DeliveryRow,
        sub: &SubscriptionRow,
        directory: &crate::store::directory_cache::DirectorySnapshot,
    ) -> Result<Option<serde_json::Value>, StoreError> {
        let Some(item) = self.store.webhook_item(d.feedback_item_id).await? else {
            return Ok(None);
        };
        let mut body = serde_json::json!({
            "id": d.id,
            "event_id": d.event_id,
            "event": d.event,
            "occurred_at": to_vietnam_rfc3339(d.occurred_at),
            "subscription": sub.name,
            "tracking_code": item.tracking_code,
        });
        let scope = WebhookScope::parse(&sub.scope).unwrap_or(WebhookScope::Public);
        let projection = match scope {
            WebhookScope::Public => {
                if d.event == WebhookEvent::Unpublished.as_str() {
                    serde_json::Value::Null
                } else {
                    match self.store.public_item(&item.tracking_code).await? {
                        Some(public) => super::public_qa::item_json(
                            &public,
                            directory,
                            &self.settings.server.public_base_url,
                        ),
                        None => return Ok(None),
                    }
                }
            }
            WebhookScope::Agency => {
                body["from_state"] = serde_json::json!(d.from_state);
                body["to_state"] = serde_json::json!(d.to_state);
                if item.handling_agency_id == sub.agency_id {
                    agency_json(&item, directory)
                } else {
                    // Moved to another agency since: the event only.
                    serde_json::Value::Null
                }
            }
        };
        body["item"] = projection;
        Ok(Some(body))
    }
}

/// An agency's own item without the submitter's contact data (name,
/// organisation, address, phone, e-mail stay in pakn).
fn agency_json(
    item: &crate::store::feedback::ItemRow,
    directory: &crate::store::directory_cache::DirectorySnapshot,
) -> serde_json::Value {
    serde_json::json!({
        "tracking_code": item.tracking_code,
        "state": item.state,
        "state_label": FeedbackState::parse(&item.state).map(FeedbackState::label_vi),
        "kind": item.kind,
        "content_category": item.content_category,
        "channel": item.channel,
        "title": item.title,
        "content": item.content,
        "field_code": directory.field_code(item.field_id),
        "agency_code": directory.agency_code(item.handling_agency_id),
        "submitter_type": item.submitter_type,
        "received_at": to_vietnam_rfc3339(item.received_at),
        "due_at": item.due_at.map(to_vietnam_rfc3339),
        "answer": item.answer,
        "answered_at": item.answered_at.map(to_vietnam_rfc3339),
        "published_at": item.published_at.map(to_vietnam_rfc3339),
    })
}

/// Signs `payload` for `sub` at `timestamp` (Unix seconds).
pub fn sign(sub: &SubscriptionRow, payload: &serde_json::Value, timestamp: i64) -> Signed {
    let body = serde_json::to_vec(payload).unwrap_or_default();
    let signature = signature(&sub.secret, timestamp, &body);
    Signed {
        body,
        timestamp,
        signature,
    }
}

/// A failed request in words an administrator can act on, without the
/// library's internals.
fn describe(e: &reqwest::Error) -> String {
    use std::error::Error as _;
    let mut text = if e.is_timeout() {
        "hết thời gian chờ".to_string()
    } else if e.is_connect() {
        "không kết nối được".to_string()
    } else {
        "lỗi khi gửi".to_string()
    };
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    cut(&text)
}
