//! The submission form `/gui-phan-anh`: the same intake as
//! `POST /api/v1/feedback`, for people with a browser and nothing else.
//!
//! What the citizen typed is never lost: every refusal short of a broken
//! request renders the form again, filled in, with the message next to the
//! field it concerns and a summary on top that links to each. Bots meet a
//! honeypot and a signed stamp that must be some seconds old; a person who
//! trips either gets the filled form back with a word of explanation. A
//! hidden idempotency key makes a double click or a reload of the
//! confirmation page replay the first receipt instead of a second item.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::Utc;
use serde_json::Value;

use super::AppState;
use super::html::{
    Chosen, CodeView, PageErrors, SubmissionLists, private_page, receipt_page, same_origin_post,
    wants_html,
};
use super::intake_body::{place_commune_in_province, read_body, submission_from_value, text_at};
use super::problem::{ApiError, REQUEST_ID};
use super::rate_limit::Bucket;
use crate::domain::feedback::Channel;
use crate::domain::form_stamp::StampProblem;
use crate::domain::office::Office;
use crate::services::intake::{self, IntakeError, Submission};

/// The honeypot: a field people never see nor fill.
const HONEYPOT: &str = "website";
const STAMP: &str = "form_stamp";
/// The form field (and link parameter) naming a publicity source.
const SOURCE: &str = "nguon";

/// A source code as the form carries it: at most 64 characters (a longer
/// one is still carried, cut, and counts as unknown at intake).
fn source_of(raw: &str) -> String {
    raw.trim().chars().take(64).collect()
}
const IDEMPOTENCY: &str = "idempotency_key";

/// What the citizen typed, to fill the form again.
#[derive(Debug, Default)]
struct FormValues {
    kind: String,
    title: String,
    content: String,
    content_category: String,
    field_code: String,
    agency_code: String,
    submitter_type: String,
    full_name: String,
    organization_name: String,
    address_detail: String,
    commune_code: String,
    phone: String,
    email: String,
    consent_to_publish: bool,
    idempotency_key: String,
    /// The publicity source's code from the link the form was opened
    /// from (`?nguon=`), carried as given; checked at intake.
    source: String,
    /// A stamp that passed, to render the form again with.
    stamp: Option<String>,
}

impl FormValues {
    fn from_value(v: &Value) -> Self {
        let text = |path: &[&str]| text_at(v, path);
        Self {
            kind: text(&["kind"]),
            title: text(&["title"]),
            content: text(&["content"]),
            content_category: text(&["content_category"]),
            field_code: text(&["field_code"]),
            agency_code: text(&["agency_code"]),
            submitter_type: text(&["submitter", "type"]),
            full_name: text(&["submitter", "full_name"]),
            organization_name: text(&["submitter", "organization_name"]),
            address_detail: text(&["submitter", "address", "detail"]),
            commune_code: text(&["submitter", "address", "commune_code"]),
            phone: text(&["submitter", "phone"]),
            email: text(&["submitter", "email"]),
            consent_to_publish: matches!(
                text(&["consent_to_publish"]).as_str(),
                "true" | "on" | "1"
            ),
            idempotency_key: text(&[IDEMPOTENCY]),
            source: source_of(&text(&[SOURCE])),
            stamp: None,
        }
    }
}

fn page_field(field: &str) -> (String, &'static str) {
    let (anchor, label) = field_label(field);
    (anchor.to_string(), label)
}

/// The input a wire field is typed into, and its name on the page. Errors
/// about anything else point at the top of the form.
pub(crate) fn field_label(field: &str) -> (&'static str, &'static str) {
    match field {
        "kind" => ("kind", "Loại"),
        "title" => ("title", "Tiêu đề"),
        "content" => ("content", "Nội dung"),
        "content_category" => ("content_category", "Nội dung thuộc loại"),
        "field_code" => ("field_code", "Lĩnh vực"),
        "agency_code" => ("agency_code", "Cơ quan nhận"),
        "submitter" | "submitter.type" => ("submitter-type", "Người gửi là"),
        "submitter.full_name" => ("submitter-full_name", "Họ và tên"),
        "submitter.organization_name" => ("submitter-organization_name", "Tên tổ chức"),
        "submitter.address" | "submitter.address.detail" => ("submitter-address-detail", "Địa chỉ"),
        "submitter.address.province_code" | "submitter.address.commune_code" => {
            ("submitter-address-commune_code", "Xã, phường")
        }
        "submitter.phone" => ("submitter-phone", "Số điện thoại"),
        "submitter.email" => ("submitter-email", "Thư điện tử"),
        "consent_to_publish" => ("consent_to_publish", "Đồng ý công khai"),
        "attachments" => ("attachments", "Tệp đính kèm"),
        _ => ("bieu-mau", "Biểu mẫu"),
    }
}

#[derive(Template)]
#[template(path = "submit_form.html", config = "config/askama.toml")]
struct SubmitFormPage {
    office: Office,
    section: &'static str,
    v: FormValues,
    errors: PageErrors,
    /// A message about the whole form (bot checks, files to choose again).
    notice: Option<&'static str>,
    lists: SubmissionLists,
    stamp: String,
    /// Staff typing for someone else (the intake desk); here, no.
    desk: bool,
}

#[derive(Template)]
#[template(path = "submit_done.html", config = "config/askama.toml")]
struct SubmitDonePage {
    office: Office,
    section: &'static str,
    tracking_code: String,
    code_view: CodeView,
    token_view: CodeView,
    received_on: String,
    attachments: Vec<String>,
    gave_email: bool,
    language_flagged: bool,
}

#[derive(Template)]
#[template(path = "submit_refused.html", config = "config/askama.toml")]
struct SubmitRefusedPage {
    office: Office,
    section: &'static str,
    title: String,
    detail: String,
    /// What to do before sending again.
    advice: &'static str,
}

/// `GET /gui-phan-anh`: the empty form; `?nguon=` (a poster's or a
/// leaflet's link) is carried along, whatever it says.
pub async fn submit_form(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    // Read leniently: a mangled link still opens the form.
    let source = serde_urlencoded::from_str::<Vec<(String, String)>>(req.query_string())
        .unwrap_or_default()
        .into_iter()
        .find(|(k, _)| k == SOURCE)
        .map(|(_, v)| source_of(&v))
        .unwrap_or_default();
    let values = FormValues {
        kind: "phan_anh".into(),
        submitter_type: "individual".into(),
        source,
        ..FormValues::default()
    };
    form_page(&state, values, PageErrors::default(), None, StatusCode::OK).await
}

/// `POST /gui-phan-anh` (multipart/form-data or urlencoded).
pub async fn submit_post(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    if !same_origin_post(&req, &state.settings.server.public_base_url) {
        return Err(ApiError::forbidden());
    }
    // Before the body is read: a client over its limit does not get to
    // upload (up to `intake.max_request_bytes`) first. What the person
    // typed is still in their browser, one Back away.
    if let Err(limited) = state.rate_limits.check(Bucket::Submission, &req) {
        if !wants_html(&req) {
            return Err(limited);
        }
        let mut response = refused_page(&state, limited)?;
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
        return Ok(response);
    }
    let (mut body, files) = match read_body(&req, payload, &state.settings).await {
        Ok(read) => read,
        // The body itself could not be read (too large, not a form): there
        // is nothing to fill the form with. Browsers get a page that says
        // what happened; the back button still holds what was typed.
        Err(e) if wants_html(&req) => return refused_page(&state, e),
        Err(e) => return Err(e),
    };
    let mut values = FormValues::from_value(&body);
    let honeypot = take(&mut body, HONEYPOT);
    let stamp = take(&mut body, STAMP);
    let key = take(&mut body, IDEMPOTENCY);
    let source = take(&mut body, SOURCE);
    let files_note = (!files.is_empty()).then_some(
        " Các tệp đính kèm cần được chọn lại (trình duyệt không giữ tệp khi biểu mẫu được hiển thị lại).",
    );
    let again = |values: FormValues, errors: PageErrors, notice: &'static str| {
        let state = state.clone();
        async move {
            form_page(
                &state,
                values,
                errors,
                Some(notice),
                // The form again is a page like the first one (as on
                // /tra-cuu); programs read the intake's 422 at /api/v1.
                StatusCode::OK,
            )
            .await
        }
    };
    if !honeypot.trim().is_empty() {
        tracing::info!("submission form: honeypot filled, not accepted");
        return again(
            values,
            PageErrors::default(),
            "Biểu mẫu chưa được gửi: ô “Không điền vào ô này” phải để trống. Vui lòng xóa nội dung ô đó rồi bấm Gửi.",
        )
        .await;
    }
    let checked = state.form_stamps.check(&stamp, Utc::now().timestamp());
    if checked.is_ok() {
        // Corrections go back with the time already spent on the form,
        // not a fresh stamp that would make a quick fix "too fast".
        values.stamp = Some(stamp.clone());
    }
    // A stamp serves one form: the same form again (a correction, a double
    // click) keeps its idempotency key and passes; the stamp replayed with
    // another key is refused, on every instance.
    if let Ok((issued, nonce)) = &checked {
        let key_hash = if key.is_empty() {
            // No key to recognise a second post by: one post only.
            uuid::Uuid::new_v4().to_string()
        } else {
            crate::domain::digest::sha256_hex(format!("form-key:{key}").as_bytes())
        };
        let expires = chrono::DateTime::from_timestamp(state.form_stamps.expires_at(*issued), 0)
            .unwrap_or_else(Utc::now);
        if !state
            .store
            .use_form_stamp(nonce, &key_hash, expires)
            .await?
        {
            tracing::info!("submission form: stamp used before, refused");
            values.stamp = None;
            values.idempotency_key = uuid::Uuid::new_v4().to_string();
            return again(
                values,
                PageErrors::default(),
                "Biểu mẫu này đã được gửi trước đó. Nếu Ông/Bà muốn gửi thêm một phản ánh, kiến nghị, vui lòng kiểm tra thông tin rồi bấm Gửi.",
            )
            .await;
        }
    }
    if let Err(problem) = checked {
        tracing::info!(?problem, "submission form: stamp refused");
        let notice = match problem {
            StampProblem::TooFast => {
                "Biểu mẫu được gửi quá nhanh sau khi mở, nên chưa được tiếp nhận (để chống gửi tự động). Vui lòng kiểm tra lại thông tin rồi bấm Gửi một lần nữa."
            }
            StampProblem::Expired => {
                "Biểu mẫu đã được mở quá lâu nên chưa được tiếp nhận. Thông tin Ông/Bà đã nhập vẫn được giữ; vui lòng kiểm tra rồi bấm Gửi một lần nữa."
            }
            StampProblem::Invalid => {
                "Biểu mẫu không hợp lệ hoặc không được mở từ trang này. Vui lòng kiểm tra thông tin rồi bấm Gửi một lần nữa."
            }
        };
        return again(values, PageErrors::default(), notice).await;
    }
    place_commune_in_province(&mut body, &state.settings.province.code);
    let input = match submission_from_value(body) {
        Ok(input) => input,
        Err(e) => {
            let errors = PageErrors::from_fields(&e.field_errors(), page_field);
            return again(values, errors, files_note.unwrap_or(CHECK_FIELDS)).await;
        }
    };
    let gave_email = input
        .submitter
        .as_ref()
        .and_then(|s| s.email.as_deref())
        .is_some_and(|e| !e.trim().is_empty());
    let submission = Submission {
        input,
        attachments: files,
        channel: Channel::WebForm,
        idempotency_key: (!key.is_empty()).then_some(key),
        request_id: REQUEST_ID.try_with(Clone::clone).ok(),
        staff_entry: None,
        via_integration: None,
        source: (!source.trim().is_empty()).then_some(source),
    };
    let had_files = !submission.attachments.is_empty();
    match intake::receive(
        &state.store,
        &state.settings,
        &state.deadlines,
        submission,
        Utc::now(),
    )
    .await
    {
        Ok(receipt) => done_page(&state, &receipt.body, gave_email),
        Err(IntakeError::Invalid(errors)) => {
            let notice = if had_files {
                "Vui lòng sửa các mục được nêu dưới đây. Các tệp đính kèm cần được chọn lại (trình duyệt không giữ tệp khi biểu mẫu được hiển thị lại)."
            } else {
                CHECK_FIELDS
            };
            again(values, PageErrors::from_fields(&errors, page_field), notice).await
        }
        // The key came from an earlier rendering whose form was already
        // sent with other content (the back button): this is a new item.
        Err(IntakeError::IdempotencyKeyReused | IntakeError::IdempotencyKeyInvalid) => {
            values.idempotency_key = uuid::Uuid::new_v4().to_string();
            // The stamp was spent on the old key: a new one goes with it.
            values.stamp = None;
            again(
                values,
                PageErrors::default(),
                "Biểu mẫu này đã được gửi trước đó với nội dung khác. Nếu Ông/Bà muốn gửi thêm một phản ánh, kiến nghị mới, vui lòng kiểm tra rồi bấm Gửi.",
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

const CHECK_FIELDS: &str = "Vui lòng sửa các mục được nêu dưới đây.";

/// Removes a page-only field from the body and returns its text.
fn take(body: &mut Value, name: &str) -> String {
    body.as_object_mut()
        .and_then(|m| m.remove(name))
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

async fn form_page(
    state: &AppState,
    mut values: FormValues,
    errors: PageErrors,
    notice: Option<&'static str>,
    status: StatusCode,
) -> Result<HttpResponse, ApiError> {
    if uuid::Uuid::try_parse(&values.idempotency_key).is_err() {
        values.idempotency_key = uuid::Uuid::new_v4().to_string();
    }
    let lists = SubmissionLists::load(
        state,
        Chosen {
            field_code: &values.field_code,
            agency_code: &values.agency_code,
            commune_code: &values.commune_code,
            content_category: &values.content_category,
        },
    )
    .await?;
    let page = SubmitFormPage {
        office: state.settings.office(),
        section: "gui-phan-anh",
        desk: false,
        lists,
        stamp: values.stamp.take().unwrap_or_else(|| {
            state.form_stamps.issue(
                Utc::now().timestamp(),
                &crate::domain::form_stamp::FormStamps::new_nonce(),
            )
        }),
        v: values,
        errors,
        notice,
    };
    private_page(status, &page)
}

fn done_page(
    state: &AppState,
    receipt: &Value,
    gave_email: bool,
) -> Result<HttpResponse, ApiError> {
    let s = |k: &str| receipt.get(k).and_then(Value::as_str).unwrap_or_default();
    let page = SubmitDonePage {
        office: state.settings.office(),
        section: "gui-phan-anh",
        tracking_code: s("tracking_code").to_string(),
        code_view: CodeView::tracking(s("tracking_code")),
        token_view: CodeView::token(s("lookup_token")),
        received_on: chrono::DateTime::parse_from_rfc3339(s("received_at"))
            .map(|d| d.format("%H:%M ngày %d/%m/%Y").to_string())
            .unwrap_or_default(),
        attachments: receipt
            .get("attachments")
            .and_then(Value::as_array)
            .map(|files| {
                files
                    .iter()
                    .filter_map(|f| f.get("file_name").and_then(Value::as_str))
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
        gave_email,
        language_flagged: receipt
            .get("language_flagged")
            .and_then(Value::as_bool)
            .unwrap_or(false),
    };
    receipt_page(StatusCode::CREATED, &page)
}

fn refused_page(state: &AppState, error: ApiError) -> Result<HttpResponse, ApiError> {
    let status = actix_web::ResponseError::status_code(&error);
    let (title, detail) = error.title_and_detail();
    private_page(
        status,
        &SubmitRefusedPage {
            office: state.settings.office(),
            section: "gui-phan-anh",
            title,
            detail,
            advice: if status == StatusCode::TOO_MANY_REQUESTS {
                "đợi vài phút"
            } else {
                "bớt hoặc thu nhỏ tệp đính kèm"
            },
        },
    )
}
