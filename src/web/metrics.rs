//! `GET /metrics` on the metrics listener (`[metrics] bind`), apart from
//! the public port: the Prometheus text format, behind a bearer token when
//! one is set.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use secrecy::ExposeSecret;

use crate::services::Services;

/// `GET /metrics`
pub async fn metrics(req: HttpRequest, services: web::Data<Services>) -> HttpResponse {
    let token = services.settings.metrics.token.expose_secret();
    if !token.is_empty() {
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        let same = given.len() == token.len()
            && given
                .bytes()
                .zip(token.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        if !same {
            return HttpResponse::Unauthorized()
                .insert_header((header::WWW_AUTHENTICATE, "Bearer"))
                .finish();
        }
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(services.metrics.render(&services, Utc::now()))
}

/// The metrics listener's one route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/metrics", web::get().to(metrics))
        .default_service(web::to(HttpResponse::NotFound));
}
