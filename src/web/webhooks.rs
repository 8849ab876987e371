//! Webhook subscriptions over JSON (`/api/v1/admin/webhooks`), for
//! administrators: subscribe, list with delivery counts, stop, read a
//! subscription's deliveries (dead letters with their reason) and send a
//! dead one again. The rules are `services::webhooks`'.

use actix_web::{HttpResponse, web};
use chrono::Utc;
use serde::Deserialize;
use uuid::Uuid;

use super::AppState;
use super::auth::Staff;
use super::private_json;
use super::problem::{ApiError, request_id};
use crate::services::webhooks::{self, WebhookInput};

/// `GET /api/v1/admin/webhooks`
pub async fn list_api(staff: Staff, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    Ok(private_json(serde_json::json!({
        "items": webhooks::list(&state, &staff.actor).await?
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookBody {
    name: String,
    url: String,
    events: Vec<String>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    agency: Option<String>,
    #[serde(default)]
    api_key: Option<String>,
}

/// `POST /api/v1/admin/webhooks`: the secret is in this answer only.
pub async fn create_api(
    staff: Staff,
    body: web::Json<WebhookBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let input = WebhookInput {
        name: b.name,
        url: b.url,
        events: b.events,
        scope: b.scope,
        agency: b.agency,
        api_key: b.api_key,
    };
    let created = webhooks::create(&state, &staff.actor, &input, request_id(), Utc::now()).await?;
    Ok(HttpResponse::Created()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store, private"))
        .json(created))
}

/// `DELETE /api/v1/admin/webhooks/{name}`
pub async fn remove_api(
    staff: Staff,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    webhooks::remove(
        &state,
        &staff.actor,
        &path.into_inner(),
        request_id(),
        Utc::now(),
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveriesQuery {
    status: Option<String>,
}

/// `GET /api/v1/admin/webhooks/{name}/deliveries`
pub async fn deliveries_api(
    staff: Staff,
    path: web::Path<String>,
    query: web::Query<DeliveriesQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let list = webhooks::deliveries(
        &state,
        &staff.actor,
        &path.into_inner(),
        query.status.as_deref(),
    )
    .await
    .map_err(super::subject::query_error)?;
    Ok(private_json(serde_json::json!({ "items": list })))
}

/// `POST /api/v1/admin/webhooks/{name}/deliveries/{delivery_id}/retry`
pub async fn retry_api(
    staff: Staff,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (name, delivery) = path.into_inner();
    let Ok(delivery) = Uuid::parse_str(&delivery) else {
        return Err(ApiError::not_found());
    };
    webhooks::retry(
        &state,
        &staff.actor,
        &name,
        delivery,
        request_id(),
        Utc::now(),
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
