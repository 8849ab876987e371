//! Liveness and readiness for load balancers and orchestrators.

use actix_web::{HttpResponse, web};

use super::AppState;
use super::problem::ApiError;

/// `GET /health/live`: the process answers.
pub async fn live() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

/// `GET /health/ready`: the database answers and the directory has this
/// province's receiving office, so a submission can be taken.
pub async fn ready(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    state.store.ping().await?;
    if state
        .store
        .receiving_office_id(&state.settings.province.code)
        .await?
        .is_none()
    {
        return Err(crate::services::intake::IntakeError::NoReceivingOffice(
            state.settings.province.code.clone(),
        )
        .into());
    }
    Ok(HttpResponse::Ok().json(
        serde_json::json!({ "status": "ready", "checks": { "database": "ok", "directory": "ok" } }),
    ))
}
