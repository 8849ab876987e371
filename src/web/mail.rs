//! The e-mail channel's routes: a mail gateway pushes raw messages, staff
//! read the inbound mail log and an item's messages.

use actix_web::http::header::{self, CacheControl, CacheDirective};
use actix_web::web::BytesMut;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use super::AppState;
use super::auth::{Caller, Staff};
use super::problem::ApiError;
use crate::domain::mail::MAX_MESSAGE_BYTES;
use crate::domain::staff::{ApiScope, Permission};
use crate::domain::time::to_vietnam_rfc3339;
use crate::services::mail_intake::Source;
use crate::store::mail::{InboundMailFilter, InboundMailRow};

/// `POST /api/v1/staff/inbound-email`: one raw message (`message/rfc822`)
/// from a mail gateway with an `ingest_email` API key.
pub async fn push_inbound_email(
    req: HttpRequest,
    caller: Caller,
    mut payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    match caller {
        Caller::Integration(client) if client.may(ApiScope::IngestEmail) => {}
        _ => return Err(ApiError::forbidden()),
    }
    let essence = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    if essence != "message/rfc822" {
        return Err(ApiError::unsupported_media_type());
    }
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_MESSAGE_BYTES) {
        return Err(ApiError::payload_too_large());
    }
    let mut raw = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| ApiError::malformed("Không đọc được dữ liệu gửi lên."))?;
        if raw.len() + chunk.len() > MAX_MESSAGE_BYTES {
            return Err(ApiError::payload_too_large());
        }
        raw.extend_from_slice(&chunk);
    }
    let ingested = state
        .mail_intake()
        .ingest(&raw, Source::Api, Utc::now())
        .await?;
    let body = serde_json::json!({
        "inbound_mail_id": ingested.inbound_mail_id,
        "outcome": ingested.outcome.as_str(),
        "duplicate": ingested.duplicate,
        "tracking_code": ingested.tracking_code,
        "matched_by": ingested.matched_by,
    });
    // The same message again changes nothing: 200, not 201.
    let mut response = if ingested.duplicate {
        HttpResponse::Ok()
    } else {
        HttpResponse::Created()
    };
    Ok(response
        .insert_header(CacheControl(vec![CacheDirective::NoStore]))
        .json(body))
}

fn log_json(row: &InboundMailRow, tracking_code: Option<&str>) -> Value {
    serde_json::json!({
        "id": row.id,
        "received_at": to_vietnam_rfc3339(row.received_at),
        "source": row.source,
        "message_id": row.message_id,
        "from_address": row.from_address,
        "subject": row.subject,
        "outcome": row.outcome,
        "matched_by": row.matched_by,
        "tracking_code": tracking_code,
        "note": row.note,
        "size_bytes": row.size_bytes,
        "sha256": row.raw_sha256,
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogQuery {
    outcome: Option<String>,
    limit: Option<u64>,
    offset: Option<u64>,
}

const OUTCOMES: [&str; 5] = ["new_item", "reply", "automatic", "bounce", "quarantined"];

async fn code_of(state: &AppState, item: Option<Uuid>) -> Result<Option<String>, ApiError> {
    Ok(match item {
        Some(id) => state.store.tracking_code_of(id).await?,
        None => None,
    })
}

/// `GET /api/v1/staff/inbound-email`: the inbound mail log, newest first.
pub async fn list_inbound_email(
    staff: Staff,
    query: web::Query<LogQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    staff.require(Permission::ReadMailLog)?;
    let query = query.into_inner();
    if let Some(o) = query.outcome.as_deref()
        && !OUTCOMES.contains(&o)
    {
        return Err(ApiError::invalid_query(vec![
            crate::domain::feedback::FieldError::new("outcome", "invalid_choice"),
        ]));
    }
    let limit = query.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::invalid_query(vec![
            crate::domain::feedback::FieldError::new("limit", "out_of_range"),
        ]));
    }
    let offset = query.offset.unwrap_or(0).min(1_000_000);
    let (rows, total) = state
        .store
        .inbound_mail_log(&InboundMailFilter {
            outcome: query.outcome,
            feedback_item_id: None,
            limit,
            offset,
        })
        .await?;
    let mut items = Vec::with_capacity(rows.len());
    for row in &rows {
        let code = code_of(&state, row.feedback_item_id).await?;
        items.push(log_json(row, code.as_deref()));
    }
    Ok(HttpResponse::Ok()
        .insert_header(CacheControl(vec![
            CacheDirective::NoStore,
            CacheDirective::Private,
        ]))
        .json(
            serde_json::json!({"items": items, "total": total, "limit": limit, "offset": offset}),
        ))
}

async fn log_entry(state: &AppState, id: &str) -> Result<InboundMailRow, ApiError> {
    let id = Uuid::try_parse(id).map_err(|_| ApiError::not_found())?;
    state
        .store
        .inbound_mail_by_id(id)
        .await?
        .ok_or_else(ApiError::not_found)
}

/// `GET /api/v1/staff/inbound-email/{id}`
pub async fn get_inbound_email(
    staff: Staff,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    staff.require(Permission::ReadMailLog)?;
    let row = log_entry(&state, &path.into_inner()).await?;
    let code = code_of(&state, row.feedback_item_id).await?;
    Ok(HttpResponse::Ok()
        .insert_header(CacheControl(vec![
            CacheDirective::NoStore,
            CacheDirective::Private,
        ]))
        .json(log_json(&row, code.as_deref())))
}

/// `GET /api/v1/staff/inbound-email/{id}/raw`: the message exactly as
/// received (the evidence), always as a download.
pub async fn get_inbound_email_raw(
    staff: Staff,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    staff.require(Permission::ReadMailLog)?;
    let row = log_entry(&state, &path.into_inner()).await?;
    if let Some(item) = row.feedback_item_id {
        crate::services::subject::record_view(&state, &staff.actor, item, "raw_mail", Utc::now())
            .await?;
    }
    Ok(HttpResponse::Ok()
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{}.eml\"", row.id),
        ))
        .insert_header(CacheControl(vec![
            CacheDirective::NoStore,
            CacheDirective::Private,
        ]))
        .insert_header(("x-content-type-options", "nosniff"))
        .content_type("message/rfc822")
        .body(row.raw))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageBody {
    text: String,
}

/// `POST /api/v1/staff/feedback/{tracking_code}/messages`: a message to
/// the submitter, through the outbox (the clock does not pause).
pub async fn send_message(
    staff: Staff,
    path: web::Path<String>,
    body: web::Json<MessageBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    use crate::domain::staff::Permission;
    use crate::services::staff_items::{self, Purpose};
    let opened = staff_items::open(
        &state,
        &staff.actor,
        &path.into_inner(),
        Purpose::Permitted(Permission::MessageSubmitter),
    )
    .await?;
    staff_items::message_submitter(
        &state,
        &staff.actor,
        &opened,
        &body.into_inner().text,
        super::problem::request_id(),
        chrono::Utc::now(),
    )
    .await?;
    let messages = staff_items::item_messages(&state, &opened).await?;
    Ok(HttpResponse::Created()
        .insert_header(CacheControl(vec![
            CacheDirective::NoStore,
            CacheDirective::Private,
        ]))
        .json(serde_json::json!({"messages": messages})))
}

/// `GET /api/v1/staff/feedback/{tracking_code}/messages`: what was sent
/// to the submitter and what they wrote back, oldest first. Not for a
/// coordinating agency (it does not see the submitter).
pub async fn item_messages(
    staff: Staff,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    use crate::services::staff_items::{self, Purpose};
    let opened = staff_items::open(&state, &staff.actor, &path.into_inner(), Purpose::View).await?;
    let messages = staff_items::item_messages(&state, &opened).await?;
    Ok(HttpResponse::Ok()
        .insert_header(CacheControl(vec![
            CacheDirective::NoStore,
            CacheDirective::Private,
        ]))
        .json(serde_json::json!({"messages": messages})))
}
