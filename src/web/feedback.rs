//! Public feedback endpoints: submit, and look up one's own item.

use actix_web::http::header::{self, CacheControl, CacheDirective};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use serde::Deserialize;

use super::auth::OptionalIntegration;
use super::intake_body::read_submission;
use super::problem::{ApiError, REQUEST_ID};
use super::rate_limit::Bucket;
use super::{AppState, private_json};
use crate::domain::feedback::Channel;
use crate::domain::staff::ApiScope;
use crate::services::intake::{self, Submission};
use crate::services::lookup;

/// `POST /api/v1/feedback`
pub async fn create_feedback(
    req: HttpRequest,
    integration: OptionalIntegration,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    // A portal pushing its form with an API key speaks for many citizens
    // from one address: the per-address limit would throttle them all.
    match &integration.0 {
        Some(client) if client.may(ApiScope::SubmitFeedback) => {}
        Some(_) => return Err(ApiError::forbidden()),
        None => state.rate_limits.check(Bucket::Submission, &req)?,
    }
    let (input, attachments) = read_submission(&req, payload, &state.settings).await?;
    let submission = Submission {
        input,
        attachments,
        channel: Channel::WebForm,
        // Read the raw bytes: a key that is present but not visible ASCII
        // must be refused, not silently ignored (which would duplicate).
        idempotency_key: req
            .headers()
            .get("idempotency-key")
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()),
        request_id: REQUEST_ID.try_with(Clone::clone).ok(),
        staff_entry: None,
        via_integration: integration.0.map(|c| c.name),
        source: None,
    };
    let receipt = intake::receive(
        &state.store,
        &state.settings,
        &state.deadlines,
        submission,
        Utc::now(),
    )
    .await?;
    let mut response = HttpResponse::Created();
    if let Some(location) = receipt.body.get("lookup_url").and_then(|v| v.as_str()) {
        response.insert_header((header::LOCATION, location.to_string()));
    }
    if receipt.replayed {
        response.insert_header(("idempotent-replayed", "true"));
    }
    Ok(response
        .insert_header(CacheControl(vec![CacheDirective::NoStore]))
        .json(receipt.body))
}

#[derive(Debug, Deserialize)]
pub struct LookupQuery {
    token: Option<String>,
}

/// `GET /api/v1/feedback/{tracking_code}`: the token comes in
/// `X-Lookup-Token` (preferred: it stays out of access logs and browser
/// history) or `?token=`.
pub async fn get_feedback(
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<LookupQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    state.rate_limits.check(Bucket::Lookup, &req)?;
    let token = lookup_token(&req, query.into_inner())?;
    let view = lookup::lookup(
        &state.store,
        &state.settings,
        &path.into_inner(),
        &token,
        Utc::now(),
    )
    .await?;
    Ok(private_json(view))
}

/// `GET /api/v1/feedback/{tracking_code}/deadlines`: how each due date of
/// the item was computed, for its submitter (same token as the lookup).
pub async fn get_feedback_deadlines(
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<LookupQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    state.rate_limits.check(Bucket::Lookup, &req)?;
    let token = lookup_token(&req, query.into_inner())?;
    let view = lookup::deadlines(
        &state.store,
        &state.deadlines,
        &path.into_inner(),
        &token,
        Utc::now(),
    )
    .await?;
    Ok(private_json(view))
}

fn lookup_token(req: &HttpRequest, query: LookupQuery) -> Result<String, ApiError> {
    header_str(req, "x-lookup-token")
        .map(str::to_string)
        .or(query.token)
        .ok_or_else(|| {
            ApiError::new(
                actix_web::http::StatusCode::BAD_REQUEST,
                "lookup_token_required",
                "Thiếu mã tra cứu",
                "Vui lòng nhập mã tra cứu được cấp khi gửi phản ánh, kiến nghị.",
            )
        })
}

/// `GET /api/v1/feedback/{tracking_code}/attachments/{attachment_id}`:
/// a file the submitter sent, or one of the answer sent to them, with the
/// same token as the lookup.
pub async fn download_file(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    query: web::Query<LookupQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    state.rate_limits.check(Bucket::Lookup, &req)?;
    let token = lookup_token(&req, query.into_inner())?;
    let (code, file) = path.into_inner();
    let file = uuid::Uuid::try_parse(&file).map_err(|_| lookup::LookupError::NotFound)?;
    let mut file = lookup::citizen_file(&state.store, &code, &token, file).await?;
    file.inline = false;
    Ok(super::staff::file_download(file))
}

fn header_str<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SupplementBody {
    text: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RatingBody {
    score: i64,
    comment: Option<String>,
}

/// `POST /api/v1/feedback/{tracking_code}/supplements`: the submitter
/// completes an item the office asked about (same token as the lookup).
pub async fn post_supplement(
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<LookupQuery>,
    body: web::Json<SupplementBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    state.rate_limits.check(Bucket::Submission, &req)?;
    let token = lookup_token(&req, query.into_inner())?;
    let code = path.into_inner();
    let row = lookup::authorize(&state.store, &code, &token).await?;
    state
        .workflow()
        .citizen_supplement(
            &row,
            &body.into_inner().text,
            REQUEST_ID.try_with(Clone::clone).ok(),
            Utc::now(),
        )
        .await?;
    let view = lookup::lookup(&state.store, &state.settings, &code, &token, Utc::now()).await?;
    Ok(private_json(view))
}

/// `POST /api/v1/feedback/{tracking_code}/rating`: the submitter rates the
/// answer (1–5, optional comment) within the window.
pub async fn post_rating(
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<LookupQuery>,
    body: web::Json<RatingBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    state.rate_limits.check(Bucket::Submission, &req)?;
    let token = lookup_token(&req, query.into_inner())?;
    let code = path.into_inner();
    let row = lookup::authorize(&state.store, &code, &token).await?;
    let body = body.into_inner();
    state
        .workflow()
        .rate(&row, body.score, body.comment.as_deref(), Utc::now())
        .await?;
    let view = lookup::lookup(&state.store, &state.settings, &code, &token, Utc::now()).await?;
    Ok(private_json(view))
}
