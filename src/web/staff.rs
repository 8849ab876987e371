//! Staff work on items through the JSON API: keying in calls and letters,
//! the queue, the item and its actions. Every handler asks the services
//! (`services::staff_items`, `services::queue`, `services::suggestions`)
//! and renders what they answer: who may see or do what is decided there.

use actix_web::http::header::{CacheControl, CacheDirective};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use serde_json::Value;

use super::auth::{Caller, Staff};
use super::intake_body::{read_body, submission_from_value};
use super::problem::{ApiError, request_id};
use super::{AppState, private_json};
use crate::domain::staff::{ApiScope, Permission};
use crate::domain::workflow::Action;
use crate::services::intake::{self, StaffParts};
use crate::services::queue::{self, QueueQuery};
use crate::services::staff_items::{self, ActionBody, FileDownload, Opened, Purpose};
use crate::services::suggestions;
use crate::services::workflow::AnswerFiles;
use crate::store::queue::QueueScope;

/// `POST /api/v1/staff/feedback`: the public submission's fields plus
/// `channel`, `received_at` and `intake`.
pub async fn create_staff_feedback(
    staff: Staff,
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (body, attachments) = read_body(&req, payload, &state.settings).await?;
    let Value::Object(mut fields) = body else {
        return Err(ApiError::malformed(
            "Nội dung gửi lên phải là một đối tượng JSON.",
        ));
    };
    let parts = StaffParts {
        channel: fields.remove("channel"),
        received_at: fields.remove("received_at"),
        intake: fields.remove("intake"),
    };
    let input = submission_from_value(Value::Object(fields)).map_err(ApiError::field_errors);
    let receipt = intake::receive_staff(
        &state,
        &staff.actor,
        input,
        parts,
        attachments,
        req.headers()
            .get("idempotency-key")
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()),
        request_id(),
        Utc::now(),
    )
    .await?;
    let mut response = HttpResponse::Created();
    if receipt.replayed {
        response.insert_header(("idempotent-replayed", "true"));
    }
    Ok(response
        .insert_header(CacheControl(vec![CacheDirective::NoStore]))
        .json(receipt.body))
}

/// `GET /api/v1/staff/feedback`: the queue, most urgent first.
pub async fn list_queue(
    staff: Staff,
    query: web::Query<QueueQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let page = queue::page(&state, &staff.actor, &query.into_inner(), Utc::now())
        .await?
        .map_err(|bad| ApiError::malformed(bad.message))?;
    Ok(private_json(page))
}

/// `GET /api/v1/staff/feedback/summary`: counts for a dashboard.
pub async fn queue_summary(
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    // Staff see their scope; a reporting tool's key (read_statistics)
    // sees the province's counts, which carry no personal data.
    let scope = match &caller {
        Caller::Staff(staff) => queue::scope(&staff.actor)?,
        Caller::Integration(client) if client.may(ApiScope::ReadStatistics) => QueueScope::Province,
        Caller::Integration(_) => return Err(ApiError::forbidden()),
    };
    Ok(private_json(
        queue::summary(&state, scope, Utc::now()).await?,
    ))
}

async fn open(
    state: &AppState,
    staff: &Staff,
    code: &str,
    purpose: Purpose,
) -> Result<Opened, ApiError> {
    Ok(staff_items::open(state, &staff.actor, code, purpose).await?)
}

/// The item after the caller's change, as they saw it.
async fn item_view(
    state: &AppState,
    staff: &Staff,
    opened: &Opened,
) -> Result<HttpResponse, ApiError> {
    let view = staff_items::after_change(state, &staff.actor, opened, Utc::now()).await?;
    Ok(HttpResponse::Ok()
        .insert_header(CacheControl(vec![
            CacheDirective::NoStore,
            CacheDirective::Private,
        ]))
        .insert_header(("etag", format!("\"{}\"", view.version)))
        .json(view))
}

/// `GET /api/v1/staff/feedback/{tracking_code}`: everything staff need.
pub async fn get_item(
    staff: Staff,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let opened = open(&state, &staff, &path.into_inner(), Purpose::View).await?;
    let view = staff_items::view(&state, &staff.actor, &opened, Utc::now()).await?;
    Ok(private_json(view))
}

/// `DELETE /api/v1/staff/feedback/{tracking_code}/mail-failure`: the
/// submitter's address works again (they said so, the mailbox was
/// fixed): notices to it resume, and those of this item that were not
/// sent because of it are queued again. Answers the updated item.
pub async fn clear_mail_failure(
    staff: Staff,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let purpose = Purpose::Permitted(Permission::ClearMailFailure);
    let opened = open(&state, &staff, &path.into_inner(), purpose).await?;
    staff_items::clear_mail_failure(&state, &staff.actor, &opened, request_id(), Utc::now())
        .await?;
    item_view(&state, &staff, &opened).await
}

/// `POST /api/v1/staff/feedback/{tracking_code}/{action}`: one workflow
/// action with its own fields; answers the updated item.
async fn act(
    action: Action,
    staff: Staff,
    path: web::Path<String>,
    body: web::Json<Value>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let opened = open(&state, &staff, &path.into_inner(), Purpose::Act(action)).await?;
    let body = ActionBody::Json(body.into_inner());
    staff_items::act(
        &state,
        &staff.actor,
        &opened,
        action,
        body,
        request_id(),
        Utc::now(),
    )
    .await?;
    item_view(&state, &staff, &opened).await
}

macro_rules! action_handlers {
    ($($name:ident => $action:expr),+ $(,)?) => {
        /// One handler per workflow action (the route names the action).
        pub mod actions {
            use super::*;
            $(
                pub async fn $name(
                    staff: Staff,
                    path: web::Path<String>,
                    body: web::Json<Value>,
                    state: web::Data<AppState>,
                ) -> Result<HttpResponse, ApiError> {
                    act($action, staff, path, body, state).await
                }
            )+
        }
    };
}

action_handlers! {
    classify => Action::Classify,
    request_info => Action::RequestInfo,
    reject => Action::Reject,
    forward => Action::Forward,
    accept => Action::Accept,
    return_item => Action::Return,
    answer => Action::Answer,
    sign_off => Action::SignOff,
    approve => Action::Approve,
    send_back => Action::SendBack,
    publish => Action::Publish,
    withhold => Action::Withhold,
    unpublish => Action::Unpublish,
    close => Action::Close,
    merge => Action::Merge,
    supplement => Action::Supplement,
    request_coordination => Action::RequestCoordination,
    withdraw_coordination => Action::WithdrawCoordination,
    contribute => Action::Contribute,
    recall => Action::Recall,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoteBody {
    body: String,
}

/// `POST /api/v1/staff/feedback/{tracking_code}/notes`
pub async fn add_note(
    staff: Staff,
    path: web::Path<String>,
    body: web::Json<NoteBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let purpose = Purpose::Permitted(Permission::AddNote);
    let opened = open(&state, &staff, &path.into_inner(), purpose).await?;
    let note = staff_items::add_note(
        &state,
        &staff.actor,
        &opened,
        &body.into_inner().body,
        request_id(),
        Utc::now(),
    )
    .await?;
    Ok(HttpResponse::Created().json(note))
}

/// `GET /api/v1/staff/feedback/{tracking_code}/attachments/{attachment_id}`:
/// the file, always as a download with the type decided from its content.
pub async fn download_attachment(
    staff: Staff,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (code, file) = path.into_inner();
    let opened = open(&state, &staff, &code, Purpose::View).await?;
    let mut file = staff_items::attachment(&state, &opened, &file).await?;
    // The API always downloads; only the console shows images in a page.
    file.inline = false;
    Ok(file_download(file))
}

/// A stored file, as a download (or shown, for an image on a staff page)
/// with the type decided from its content, never cached.
pub(super) fn file_download(file: FileDownload) -> HttpResponse {
    use actix_web::http::header::{
        Charset, ContentDisposition, DispositionParam, DispositionType, ExtendedValue,
    };
    let disposition = ContentDisposition {
        disposition: if file.inline {
            DispositionType::Inline
        } else {
            DispositionType::Attachment
        },
        parameters: vec![DispositionParam::FilenameExt(ExtendedValue {
            charset: Charset::Ext("UTF-8".into()),
            language_tag: None,
            value: file.file_name.into_bytes(),
        })],
    };
    HttpResponse::Ok()
        .insert_header(disposition)
        .insert_header(CacheControl(vec![
            CacheDirective::NoStore,
            CacheDirective::Private,
        ]))
        .insert_header(("x-content-type-options", "nosniff"))
        .content_type(file.media_type)
        .body(file.content)
}

/// The item's version from `If-Match: "7"` (or `W/"7"`).
fn if_match_version(req: &HttpRequest) -> Option<i32> {
    let raw = req.headers().get("if-match")?.to_str().ok()?.trim();
    raw.trim_start_matches("W/").trim_matches('"').parse().ok()
}

/// The updated item, after an answer file was added or removed.
async fn answer_files_changed(
    state: &AppState,
    staff: &Staff,
    opened: &Opened,
    change: AnswerFiles,
    version: Option<i32>,
) -> Result<HttpResponse, ApiError> {
    staff_items::edit_answer_files(
        state,
        &staff.actor,
        opened,
        version,
        change,
        request_id(),
        Utc::now(),
    )
    .await?;
    item_view(state, staff, opened).await
}

/// `POST /api/v1/staff/feedback/{tracking_code}/answer/attachments`:
/// multipart with the item's `version` and files under `attachments`.
pub async fn add_answer_files(
    staff: Staff,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let opened = open(
        &state,
        &staff,
        &path.into_inner(),
        Purpose::Act(Action::Answer),
    )
    .await?;
    let (fields, files) = read_body(&req, payload, &state.settings).await?;
    let Value::Object(mut fields) = fields else {
        return Err(ApiError::malformed(
            "Nội dung gửi lên phải là một biểu mẫu.",
        ));
    };
    // Forms send text: "7" and 7 are the same version.
    let version = match fields.remove("version") {
        Some(Value::Number(n)) => n.as_i64().and_then(|v| i32::try_from(v).ok()),
        Some(Value::String(v)) => v.trim().parse().ok(),
        _ => None,
    }
    .or_else(|| if_match_version(&req));
    if let Some(unknown) = fields.keys().next() {
        return Err(ApiError::validation(vec![
            crate::domain::feedback::FieldError::new(unknown.clone(), "unknown_field"),
        ]));
    }
    answer_files_changed(&state, &staff, &opened, AnswerFiles::Add(files), version).await
}

/// `DELETE /api/v1/staff/feedback/{tracking_code}/answer/attachments/{attachment_id}`
/// with `If-Match: "<version>"`.
pub async fn remove_answer_file(
    staff: Staff,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (code, file) = path.into_inner();
    let opened = open(&state, &staff, &code, Purpose::Act(Action::Answer)).await?;
    let file = uuid::Uuid::try_parse(&file).map_err(|_| ApiError::not_found())?;
    answer_files_changed(
        &state,
        &staff,
        &opened,
        AnswerFiles::Remove(file),
        if_match_version(&req),
    )
    .await
}

/// `GET /api/v1/staff/feedback/{tracking_code}/redaction-suggestion`: the
/// public copies with personal data replaced, and the spans found, for
/// the control office to confirm or edit before publishing.
pub async fn redaction_suggestion(
    staff: Staff,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let opened = open(&state, &staff, &path.into_inner(), suggestions::REDACTION).await?;
    let s = suggestions::redaction(&staff.actor, &opened)?;
    Ok(private_json(serde_json::json!({
        "question_redacted": s.question.redacted,
        "spans": s.question.spans,
        "title_redacted": s.title.redacted,
        "title_spans": s.title.spans,
        "answer_redacted": s.answer.as_ref().map(|a| &a.redacted),
        "answer_spans": s.answer.as_ref().map(|a| &a.spans),
    })))
}

/// `GET /api/v1/staff/feedback/{tracking_code}/routing-suggestion`: the
/// agencies that could act on the item, best first, each with its
/// reasons, for the control office to accept or override.
pub async fn routing_suggestion(
    staff: Staff,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let opened = open(&state, &staff, &path.into_inner(), suggestions::ROUTING).await?;
    let list = suggestions::routing(&state, &staff.actor, &opened, Utc::now()).await?;
    Ok(private_json(serde_json::json!({"suggestions": list})))
}

/// `GET /api/v1/staff/feedback/{tracking_code}/duplicate-suggestions`:
/// recent items that may be the same matter, with a score and reasons.
pub async fn duplicate_suggestions(
    staff: Staff,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let opened = open(&state, &staff, &path.into_inner(), suggestions::DUPLICATES).await?;
    let list = suggestions::duplicates(&state, &staff.actor, &opened, Utc::now()).await?;
    Ok(private_json(serde_json::json!({"candidates": list})))
}
