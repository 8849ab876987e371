//! Cross-cutting HTTP concerns: request IDs and access logs, and the
//! security headers every response carries.

use std::time::Instant;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use tracing::Instrument;
use uuid::Uuid;

use super::problem::REQUEST_ID;

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Accepts a caller's `X-Request-Id` if it is short and plain (so that a
/// proxy's ID carries through), otherwise makes one; runs the request in a
/// span that carries it; echoes it; logs one line per request without the
/// query string or any body.
pub async fn request_context(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let request_id = req
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        })
        .map(str::to_string)
        .unwrap_or_else(|| Uuid::now_v7().to_string());
    let method = req.method().clone();
    let metrics = req
        .app_data::<actix_web::web::Data<super::AppState>>()
        .map(|s| s.metrics.clone());
    let span = tracing::info_span!("http_request", request_id = %request_id, method = %method);
    let started = Instant::now();
    let result = REQUEST_ID
        .scope(request_id.clone(), next.call(req).instrument(span.clone()))
        .await;
    let mut res = result?;
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "(unmatched)".to_string());
    let status = res.status().as_u16();
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    if let Some(metrics) = metrics {
        // A method label from a fixed set: a client cannot invent labels.
        let method_label = match method.as_str() {
            m @ ("GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS") => m,
            _ => "other",
        };
        metrics.observe_http(&route, method_label, status, latency_ms / 1000.0);
    }
    span.in_scope(|| {
        if status == 503 {
            // Told to come back (database away, overloaded): the service
            // working as designed, with the cause logged where it arose.
            // ERROR stays for what someone must fix.
            tracing::warn!(%route, status, latency_ms, "request refused for now");
        } else if status >= 500 {
            tracing::error!(%route, status, latency_ms, "request failed");
        } else {
            tracing::info!(%route, status, latency_ms, "request");
        }
    });
    let headers = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        headers.insert(HeaderName::from_static(REQUEST_ID_HEADER), v);
    }
    apply_security_headers(headers);
    Ok(res)
}

/// Browser-made cross-site requests that change state are refused on the
/// API (the pages check their own forms and answer with a page): a web
/// page elsewhere must not be able to post a citizen's browser into our
/// intake, a lookup or a sign-in. A request with credentials (an API key
/// or a staff token, which no other site's page can attach) and a program
/// that sends neither `Sec-Fetch-Site` nor `Origin` pass.
pub async fn refuse_cross_site(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let changes_state = !matches!(
        *req.method(),
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    );
    if changes_state
        && req.path().starts_with("/api/")
        && !req.headers().contains_key(header::AUTHORIZATION)
    {
        let base = req
            .app_data::<actix_web::web::Data<super::AppState>>()
            .map(|s| s.settings.server.public_base_url.clone())
            .unwrap_or_default();
        if !super::html::same_origin_post(req.request(), &base) {
            tracing::info!(path = %req.path(), "cross-site request refused");
            let response =
                actix_web::ResponseError::error_response(&super::problem::ApiError::cross_site());
            return Ok(req.into_response(response).map_into_right_body());
        }
    }
    Ok(next.call(req).await?.map_into_left_body())
}

/// Defaults for an API that serves no pages yet: nothing may be framed,
/// sniffed or loaded from a response. Routes that need other values set
/// them themselves; these never overwrite what a handler chose.
fn apply_security_headers(headers: &mut actix_web::http::header::HeaderMap) {
    let defaults = [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; frame-ancestors 'none'; base-uri 'none'",
        ),
        (
            HeaderName::from_static("cross-origin-resource-policy"),
            "same-origin",
        ),
    ];
    // A page that names who may frame it (the embeddable Q&A) must not be
    // contradicted by the blanket X-Frame-Options.
    let framable = headers
        .get(header::CONTENT_SECURITY_POLICY)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|csp| {
            csp.split(';').any(|d| {
                let d = d.trim();
                d.starts_with("frame-ancestors") && !d.contains("'none'")
            })
        });
    for (name, value) in defaults {
        if name == header::X_FRAME_OPTIONS && framable {
            continue;
        }
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
}
