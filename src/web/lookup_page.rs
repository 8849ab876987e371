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
use super::html::{
    CodeView, Flash, private_page, public_page, receipt_page, same_origin_post, wants_html,
};
use super::problem::{ApiError, REQUEST_ID};
use super::rate_limit::Bucket;
use crate::domain::feedback::FieldError;
use crate::domain::office::Office;
use crate::services::lookup::{self, CitizenView, LookupError};
use crate::services::recovery;
use crate::services::workflow::WorkflowError;
use crate::store::feedback::FeedbackRow;

const NOT_FOUND: &str = "Mã số hoặc mã tra cứu không đúng. Vui lòng kiểm tra lại.";

#[derive(Template)]
#[template(path = "lookup_form.html", config = "config/askama.toml")]
struct LookupFormPage {
    office: Office,
    section: &'static str,
    code: String,
    error: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "lookup_result.html", config = "config/askama.toml")]
struct LookupResultPage {
    office: Office,
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
            office: state.settings.office(),
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
    let office = state.settings.office();
    match lookup::lookup(&state.store, &state.settings, code, token, Utc::now()).await {
        Ok(v) => private_page(
            StatusCode::OK,
            &LookupResultPage {
                office,
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
            office: state.settings.office(),
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

/// Which part of the recovery a page shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RecoverStep {
    /// The form: tracking code and e-mail address.
    Ask,
    /// The one answer to every request.
    Sent,
    /// A live link: the button that issues the new token.
    Confirm,
    Issued,
    /// A link unknown, used or expired.
    Dead,
}

#[derive(Template)]
#[template(path = "lookup_recover.html", config = "config/askama.toml")]
struct RecoverPage {
    office: Office,
    section: &'static str,
    step: RecoverStep,
    minutes: u32,
    code: String,
    email: String,
    /// The link's secret, posted back by the confirm button.
    key: String,
    errors: Vec<(&'static str, &'static str)>,
    code_view: CodeView,
    token_view: CodeView,
}

impl RecoverPage {
    fn new(state: &AppState, step: RecoverStep) -> Self {
        Self {
            office: state.settings.office(),
            section: "tra-cuu",
            step,
            minutes: state.settings.public_pages.token_recovery_minutes,
            code: String::new(),
            email: String::new(),
            key: String::new(),
            errors: Vec::new(),
            code_view: CodeView::tracking(""),
            token_view: CodeView::token(""),
        }
    }

    fn error_for(&self, id: &str) -> Option<&'static str> {
        self.errors.iter().find(|(i, _)| *i == id).map(|(_, m)| *m)
    }
}

#[derive(Debug, Deserialize)]
pub struct RecoverQuery {
    khoa: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct RecoverForm {
    ma: String,
    email: String,
}

#[derive(Debug, Deserialize)]
pub struct RedeemForm {
    khoa: String,
}

/// The link page carries its secret in the address: never a referrer.
fn link_page(status: StatusCode, page: &RecoverPage) -> Result<HttpResponse, ApiError> {
    let mut response = private_page(status, page)?;
    response.headers_mut().insert(
        actix_web::http::header::REFERRER_POLICY,
        actix_web::http::header::HeaderValue::from_static("no-referrer"),
    );
    Ok(response)
}

/// `GET /tra-cuu/khoi-phuc`: the request form, or (with `?khoa=` from the
/// e-mail) the button that issues a new token. Opening the link changes
/// nothing: mail scanners open links too.
pub async fn recover_form(
    req: HttpRequest,
    query: web::Query<RecoverQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let Some(key) = query.into_inner().khoa else {
        return private_page(StatusCode::OK, &RecoverPage::new(&state, RecoverStep::Ask));
    };
    match recovery::link_item(&state, &key, Utc::now()).await? {
        Some(code) => {
            let mut page = RecoverPage::new(&state, RecoverStep::Confirm);
            page.code = code;
            page.key = key.chars().take(64).collect();
            link_page(StatusCode::OK, &page)
        }
        None if !wants_html(&req) => Err(ApiError::not_found()),
        None => link_page(
            StatusCode::NOT_FOUND,
            &RecoverPage::new(&state, RecoverStep::Dead),
        ),
    }
}

/// The checks a request's fields get before anything is looked up (what
/// the person typed is kept on the page).
fn recover_errors(code: &str, email: &str) -> Vec<(&'static str, &'static str)> {
    let mut errors = Vec::new();
    if code.is_empty() {
        errors.push(("ma", "Nhập mã số phản ánh, kiến nghị."));
    } else if code.len() > 64 {
        errors.push(("ma", "Mã số không đúng dạng PAKN.48.NămThángNgày.Số."));
    }
    if email.is_empty() {
        errors.push(("email", "Nhập địa chỉ thư điện tử đã ghi khi gửi."));
    } else if email.len() > 254 || !email.contains('@') {
        errors.push(("email", "Địa chỉ thư điện tử không hợp lệ."));
    }
    errors
}

/// `POST /tra-cuu/khoi-phuc`: the same answer whether or not the code and
/// address match an item.
pub async fn recover_submit(
    req: HttpRequest,
    form: web::Form<RecoverForm>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    guard(&req, &state, Bucket::Lookup)?;
    let code = form.ma.trim().to_ascii_uppercase();
    let email = form.email.trim().to_string();
    let errors = recover_errors(&code, &email);
    if !errors.is_empty() && !wants_html(&req) {
        return Err(recover_problem(&code, &email, &errors));
    }
    if !errors.is_empty() {
        let mut page = RecoverPage::new(&state, RecoverStep::Ask);
        page.code = code.chars().take(64).collect();
        page.email = email.chars().take(254).collect();
        page.errors = errors;
        return private_page(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    recovery::request(&state, &code, &email, Utc::now()).await?;
    private_page(StatusCode::OK, &RecoverPage::new(&state, RecoverStep::Sent))
}

/// `POST /tra-cuu/khoi-phuc/ma-moi`: uses the link up, shows the new
/// token once.
pub async fn recover_redeem(
    req: HttpRequest,
    form: web::Form<RedeemForm>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    guard(&req, &state, Bucket::Lookup)?;
    match recovery::redeem(&state, &form.khoa, Utc::now()).await? {
        Some(issued) => {
            let mut page = RecoverPage::new(&state, RecoverStep::Issued);
            page.code_view = CodeView::tracking(&issued.tracking_code);
            page.token_view = CodeView::token(&issued.lookup_token);
            page.code = issued.tracking_code;
            receipt_page(StatusCode::OK, &page)
        }
        None if !wants_html(&req) => Err(ApiError::not_found()),
        None => link_page(
            StatusCode::NOT_FOUND,
            &RecoverPage::new(&state, RecoverStep::Dead),
        ),
    }
}

#[derive(Debug, Deserialize)]
pub struct RecoverJson {
    tracking_code: String,
    email: String,
}

#[derive(Debug, Deserialize)]
pub struct RedeemJson {
    key: String,
}

fn recover_problem(code: &str, email: &str, errors: &[(&'static str, &'static str)]) -> ApiError {
    ApiError::validation(
        errors
            .iter()
            .map(|(id, _)| match *id {
                "ma" if code.is_empty() => FieldError::new("tracking_code", "required"),
                "ma" => FieldError::new("tracking_code", "too_long"),
                _ if email.is_empty() => FieldError::new("email", "required"),
                _ => FieldError::new("email", "email_invalid"),
            })
            .collect(),
    )
}

/// `POST /api/v1/lookup-recovery`: the JSON twin of the request form;
/// 202 whatever the code and address.
pub async fn recover_api(
    req: HttpRequest,
    body: web::Json<RecoverJson>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    state.rate_limits.check(Bucket::Lookup, &req)?;
    let code = body.tracking_code.trim().to_ascii_uppercase();
    let email = body.email.trim().to_string();
    let errors = recover_errors(&code, &email);
    if !errors.is_empty() {
        return Err(recover_problem(&code, &email, &errors));
    }
    recovery::request(&state, &code, &email, Utc::now()).await?;
    Ok(HttpResponse::Accepted().json(serde_json::json!({
        "message": "Nếu mã số và địa chỉ thư điện tử khớp với phản ánh, kiến nghị đã gửi, một thư có đường dẫn cấp lại mã tra cứu đã được gửi tới địa chỉ đó.",
        "link_minutes": state.settings.public_pages.token_recovery_minutes,
    })))
}

/// `POST /api/v1/lookup-recovery/redeem`: the link's secret in, a new
/// token out (once); 404 for a link unknown, used or expired.
pub async fn redeem_api(
    req: HttpRequest,
    body: web::Json<RedeemJson>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    state.rate_limits.check(Bucket::Lookup, &req)?;
    match recovery::redeem(&state, &body.key, Utc::now()).await? {
        Some(issued) => Ok(super::private_json(issued)),
        None => Err(ApiError::not_found()),
    }
}
