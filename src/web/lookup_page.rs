//! The lookup page `/tra-cuu`: code and token in, the
//! submitter's own view out, and what they can do from there: complete an
//! item the office asked about, rate the answer, download the answer's
//! documents. The token travels only in POST bodies and in the page
//! itself (never cached), never in a URL, a log line or browser history.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::Utc;
use serde::Deserialize;

use super::AppState;
use super::html::{Flash, private_page, public_page, same_origin_post};
use super::problem::{ApiError, REQUEST_ID};
use super::rate_limit::Bucket;
use crate::services::lookup::{self, CitizenView, LookupError};
use crate::services::workflow::WorkflowError;
use crate::store::feedback::FeedbackRow;

const NOT_FOUND: &str = "Mã số hoặc mã tra cứu không đúng. Vui lòng kiểm tra lại.";

#[derive(Template)]
#[template(path = "lookup_form.html", config = "config/askama.toml")]
struct LookupFormPage {
    site_name: String,
    section: &'static str,
    code: String,
    error: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "lookup_result.html", config = "config/askama.toml")]
struct LookupResultPage {
    site_name: String,
    section: &'static str,
    v: CitizenView,
    /// Posted back by the page's own forms (the page is never cached).
    token: String,
    received_on: String,
    due_on: Option<String>,
    answered_on: Option<String>,
    rating_until: Option<String>,
    flash: Option<Flash>,
    /// A supplement that was refused, to be corrected rather than retyped.
    supplement_text: String,
}

#[derive(Debug, Deserialize)]
pub struct LookupPageQuery {
    ma: Option<String>,
}

/// `GET /tra-cuu`: the lookup form (the code may come in `?ma=`).
pub async fn lookup_form(
    query: web::Query<LookupPageQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    public_page(
        StatusCode::OK,
        &LookupFormPage {
            site_name: state.settings.mail.from_name.clone(),
            section: "tra-cuu",
            code: query
                .into_inner()
                .ma
                .unwrap_or_default()
                .chars()
                .take(64)
                .collect(),
            error: None,
        },
    )
}

#[derive(Debug, Deserialize)]
pub struct LookupPageForm {
    ma: String,
    token: String,
}

#[derive(Debug, Deserialize)]
pub struct SupplementPageForm {
    ma: String,
    token: String,
    noi_dung: String,
}

#[derive(Debug, Deserialize)]
pub struct RatingPageForm {
    ma: String,
    token: String,
    diem: Option<String>,
    gop_y: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct FilePageForm {
    ma: String,
    token: String,
    tep: String,
}

fn day(s: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|d| d.format("%d/%m/%Y").to_string())
        .unwrap_or_else(|_| s.to_string())
}

fn guard(req: &HttpRequest, state: &AppState, bucket: Bucket) -> Result<(), ApiError> {
    if !same_origin_post(req, &state.settings.server.public_base_url) {
        return Err(ApiError::forbidden());
    }
    state.rate_limits.check(bucket, req)
}

/// The item's page, or the form again with the one message that does not
/// tell an unknown code from a wrong token.
async fn item_page(
    state: &AppState,
    code: &str,
    token: &str,
    flash: Option<Flash>,
    supplement_text: String,
) -> Result<HttpResponse, ApiError> {
    let site_name = state.settings.mail.from_name.clone();
    match lookup::lookup(&state.store, &state.settings, code, token, Utc::now()).await {
        Ok(v) => private_page(
            StatusCode::OK,
            &LookupResultPage {
                site_name,
                section: "tra-cuu",
                token: token.to_string(),
                received_on: day(&v.received_at),
                due_on: v.due_at.as_deref().map(day),
                answered_on: v
                    .answer
                    .as_ref()
                    .and_then(|a| a.answered_at.as_deref())
                    .map(day),
                rating_until: v.rating_open_until.as_deref().map(|t| {
                    chrono::DateTime::parse_from_rfc3339(t)
                        .map(|d| d.format("%H:%M ngày %d/%m/%Y").to_string())
                        .unwrap_or_else(|_| t.to_string())
                }),
                v,
                flash,
                supplement_text,
            },
        ),
        Err(LookupError::NotFound) => not_found(state, code),
        Err(LookupError::Store(e)) => Err(e.into()),
    }
}

fn not_found(state: &AppState, code: &str) -> Result<HttpResponse, ApiError> {
    // The answer to a POST that carries what the person typed: not cached.
    private_page(
        StatusCode::OK,
        &LookupFormPage {
            site_name: state.settings.mail.from_name.clone(),
            section: "tra-cuu",
            code: code.chars().take(64).collect(),
            error: Some(NOT_FOUND),
        },
    )
}

/// The item the code and token open, or the lookup form again (the same
/// answer for an unknown code and a wrong token).
async fn authorized(
    state: &AppState,
    code: &str,
    token: &str,
) -> Result<Result<FeedbackRow, HttpResponse>, ApiError> {
    match lookup::authorize(&state.store, code, token).await {
        Ok(row) => Ok(Ok(row)),
        Err(LookupError::NotFound) => not_found(state, code).map(Err),
        Err(LookupError::Store(e)) => Err(e.into()),
    }
}

fn normalize(code: &str, token: &str) -> (String, String) {
    (code.trim().to_ascii_uppercase(), token.trim().to_string())
}

/// `POST /tra-cuu`: code and token in, the citizen's view out.
pub async fn lookup_submit(
    req: HttpRequest,
    form: web::Form<LookupPageForm>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    guard(&req, &state, Bucket::Lookup)?;
    let (code, token) = normalize(&form.ma, &form.token);
    item_page(&state, &code, &token, None, String::new()).await
}

/// What a refused action tells the submitter; faults stay faults.
fn refusal(e: WorkflowError, not_now: &str) -> Result<Flash, ApiError> {
    let text = match e {
        WorkflowError::Invalid(errors) => errors
            .iter()
            .map(|e| e.message)
            .collect::<Vec<_>>()
            .join(" "),
        WorkflowError::InvalidTransition { .. } => not_now.to_string(),
        WorkflowError::VersionConflict { .. } => {
            "Phản ánh, kiến nghị vừa được cập nhật. Vui lòng xem lại tình trạng dưới đây rồi thử lại."
                .to_string()
        }
        other => return Err(other.into()),
    };
    Ok(Flash {
        text,
        is_error: true,
    })
}

/// `POST /tra-cuu/bo-sung`: the submitter completes an item the office
/// asked about (ND 20 Art. 7); the clock resumes.
pub async fn supplement_submit(
    req: HttpRequest,
    form: web::Form<SupplementPageForm>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    guard(&req, &state, Bucket::Submission)?;
    let form = form.into_inner();
    let (code, token) = normalize(&form.ma, &form.token);
    let row = match authorized(&state, &code, &token).await? {
        Ok(row) => row,
        Err(form_again) => return Ok(form_again),
    };
    let outcome = state
        .workflow()
        .citizen_supplement(
            &row,
            &form.noi_dung,
            REQUEST_ID.try_with(Clone::clone).ok(),
            Utc::now(),
        )
        .await;
    let (flash, kept) = match outcome {
        Ok(()) => (
            Flash {
                text: "Đã gửi thông tin bổ sung. Văn phòng sẽ tiếp tục xem xét phản ánh, kiến nghị của Ông/Bà.".into(),
                is_error: false,
            },
            String::new(),
        ),
        Err(e) => (
            refusal(
                e,
                "Phản ánh, kiến nghị này hiện không chờ bổ sung thông tin.",
            )?,
            form.noi_dung.chars().take(5000).collect(),
        ),
    };
    item_page(&state, &code, &token, Some(flash), kept).await
}

/// `POST /tra-cuu/danh-gia`: the submitter rates the answer, once.
pub async fn rating_submit(
    req: HttpRequest,
    form: web::Form<RatingPageForm>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    guard(&req, &state, Bucket::Submission)?;
    let form = form.into_inner();
    let (code, token) = normalize(&form.ma, &form.token);
    let row = match authorized(&state, &code, &token).await? {
        Ok(row) => row,
        Err(form_again) => return Ok(form_again),
    };
    // No choice, or a made-up one, is "choose one of 1–5", not a fault.
    let score = form
        .diem
        .as_deref()
        .and_then(|d| d.trim().parse::<i64>().ok())
        .unwrap_or(0);
    let comment = form
        .gop_y
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty());
    let flash = match state
        .workflow()
        .rate(&row, score, comment, Utc::now())
        .await
    {
        Ok(()) => Flash {
            text: "Cảm ơn Ông/Bà đã đánh giá kết quả trả lời.".into(),
            is_error: false,
        },
        Err(e) => refusal(
            e,
            "Không thể đánh giá: kết quả trả lời đã được đánh giá hoặc đã quá thời hạn đánh giá.",
        )?,
    };
    item_page(&state, &code, &token, Some(flash), String::new()).await
}

/// `POST /tra-cuu/tep`: one of the answer's documents (or a file the
/// submitter sent), downloaded without the token in a URL.
pub async fn file_submit(
    req: HttpRequest,
    form: web::Form<FilePageForm>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    guard(&req, &state, Bucket::Lookup)?;
    let form = form.into_inner();
    let (code, token) = normalize(&form.ma, &form.token);
    let Ok(file) = uuid::Uuid::try_parse(form.tep.trim()) else {
        return not_found(&state, &code);
    };
    match lookup::citizen_file(&state.store, &code, &token, file).await {
        Ok(mut file) => {
            file.inline = false;
            Ok(super::staff::file_download(file))
        }
        Err(LookupError::NotFound) => not_found(&state, &code),
        Err(LookupError::Store(e)) => Err(e.into()),
    }
}
