//! The answer desk over JSON: the draft saved as it is written, and the
//! agency's answer templates. The console's pages use the same services.

use actix_web::{HttpResponse, web};
use chrono::Utc;
use serde::Deserialize;

use super::auth::Staff;
use super::problem::{ApiError, request_id};
use super::{AppState, private_json};
use crate::domain::workflow::Action;
use crate::services::answers::{self, TemplateInput};
use crate::services::staff_items::{self, Purpose};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DraftBody {
    text: String,
    /// The revision the writer started from (none: nothing was saved).
    #[serde(default)]
    revision: Option<i32>,
    #[serde(default)]
    overwrite: bool,
}

/// `PUT /api/v1/staff/feedback/{tracking_code}/answer/draft`: saves the
/// answer being written (not yet recorded on the item: the `answer`
/// action does that, under the version check).
pub async fn save_draft(
    staff: Staff,
    path: web::Path<String>,
    body: web::Json<DraftBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let opened = staff_items::open(
        &state,
        &staff.actor,
        &path.into_inner(),
        Purpose::Act(Action::Answer),
    )
    .await?;
    let body = body.into_inner();
    let saved = answers::save_draft(
        &state,
        &staff.actor,
        &opened,
        &body.text,
        body.revision,
        body.overwrite,
        Utc::now(),
    )
    .await?;
    Ok(private_json(saved))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateBody {
    name: String,
    body: String,
}

impl From<TemplateBody> for TemplateInput {
    fn from(b: TemplateBody) -> Self {
        TemplateInput {
            name: b.name,
            body: b.body,
        }
    }
}

fn template_id(raw: &str) -> Result<uuid::Uuid, ApiError> {
    uuid::Uuid::try_parse(raw).map_err(|_| ApiError::not_found())
}

/// `GET /api/v1/staff/answer-templates`: the caller's agency's templates.
pub async fn list_templates(
    staff: Staff,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let items = answers::templates(&state, &staff.actor).await?;
    Ok(private_json(serde_json::json!({ "items": items })))
}

/// `POST /api/v1/staff/answer-templates`
pub async fn create_template(
    staff: Staff,
    body: web::Json<TemplateBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let written = answers::write_template(
        &state,
        &staff.actor,
        None,
        &body.into_inner().into(),
        request_id(),
        Utc::now(),
    )
    .await?;
    Ok(HttpResponse::Created().json(written))
}

/// `PUT /api/v1/staff/answer-templates/{template_id}`
pub async fn update_template(
    staff: Staff,
    path: web::Path<String>,
    body: web::Json<TemplateBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = template_id(&path.into_inner())?;
    let written = answers::write_template(
        &state,
        &staff.actor,
        Some(id),
        &body.into_inner().into(),
        request_id(),
        Utc::now(),
    )
    .await?;
    Ok(private_json(written))
}

/// `DELETE /api/v1/staff/answer-templates/{template_id}`
pub async fn delete_template(
    staff: Staff,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = template_id(&path.into_inner())?;
    answers::delete_template(&state, &staff.actor, id, request_id(), Utc::now()).await?;
    Ok(HttpResponse::NoContent().finish())
}
