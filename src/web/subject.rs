//! Data subjects' requests in the console (`/nhan-vien/du-lieu-ca-nhan`)
//! and over JSON (`/api/v1/staff/subject-requests…`), and the contact
//! access log (`/nhan-vien/quan-tri/truy-cap-lien-he`,
//! `/api/v1/admin/contact-access`). Who may do what, and what is written
//! down, are `services::subject`'s.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::Utc;
use serde::Deserialize;

use super::AppState;
use super::auth::Staff;
use super::console::{Nav, refused};
use super::html::{Flash, PageErrors, StaffPage, console_page, same_origin_post};
use super::private_json;
use super::problem::ApiError;
use crate::services::staff_items::StaffError;
use crate::services::subject::{self, AccessEntry, ErasureReport, Subject, SubjectView};
use crate::store::subject::ContactCorrection;

#[derive(Debug, Default, Deserialize)]
pub struct SubjectQuery {
    #[serde(default)]
    phone: String,
    #[serde(default)]
    email: String,
}

impl SubjectQuery {
    fn subject(&self) -> Subject {
        Subject {
            phone: Some(self.phone.clone()),
            email: Some(self.email.clone()),
        }
    }

    fn query_string(&self) -> String {
        serde_urlencoded::to_string([("phone", &self.phone), ("email", &self.email)])
            .unwrap_or_default()
    }
}

fn label(field: &str) -> (String, &'static str) {
    let label = match field {
        "phone" => "Số điện thoại",
        "email" => "Thư điện tử",
        _ => "Lý do",
    };
    (field.to_string(), label)
}

#[derive(Template)]
#[template(path = "console_subject.html", config = "config/askama.toml")]
struct SubjectPage {
    nav: Nav,
    q: SubjectQuery,
    view: Option<SubjectView>,
    export_href: String,
    reason: String,
    errors: PageErrors,
    flash: Option<Flash>,
}

async fn render(
    state: &AppState,
    staff: &StaffPage,
    q: SubjectQuery,
    reason: String,
    flash: Option<Flash>,
    mut errors: PageErrors,
    status: StatusCode,
) -> Result<HttpResponse, ApiError> {
    let asked = !(q.phone.trim().is_empty() && q.email.trim().is_empty());
    let view = if asked {
        match subject::find(state, &staff.actor, &q.subject(), Utc::now()).await {
            Ok(v) => Some(v),
            Err(StaffError::Invalid(e)) => {
                errors = PageErrors::from_fields(&e, label);
                None
            }
            Err(e) => return Err(e.into()),
        }
    } else if staff
        .actor
        .may(crate::domain::staff::Permission::HandleSubjectRequests)
    {
        None
    } else {
        return Err(ApiError::forbidden());
    };
    let status = if errors.is_empty() {
        status
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    console_page(
        status,
        &SubjectPage {
            nav: Nav::of(state, &staff.actor, "du-lieu-ca-nhan"),
            export_href: format!("/nhan-vien/du-lieu-ca-nhan/xuat?{}", q.query_string()),
            q,
            view,
            reason,
            errors,
            flash,
        },
    )
}

/// `GET /nhan-vien/du-lieu-ca-nhan`
pub async fn page(
    req: HttpRequest,
    staff: StaffPage,
    query: web::Query<SubjectQuery>,
    state: web::Data<AppState>,
) -> HttpResponse {
    render(
        &state,
        &staff,
        query.into_inner(),
        String::new(),
        None,
        PageErrors::default(),
        StatusCode::OK,
    )
    .await
    .unwrap_or_else(|e| refused(&req, &state, e))
}

#[derive(Debug, Default, Deserialize)]
pub struct EraseForm {
    #[serde(default)]
    phone: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    reason: String,
}

fn erased_message(r: &ErasureReport) -> String {
    let mut text = format!(
        "Đã xoá thông tin liên hệ của {} phản ánh, kiến nghị.",
        r.erased.len()
    );
    if !r.kept_open.is_empty() {
        text.push_str(&format!(
            " Giữ lại {} phản ánh đang xử lý ({}): cần thông tin liên hệ để gửi kết quả; xoá sau khi kết thúc.",
            r.kept_open.len(),
            r.kept_open.join(", ")
        ));
    }
    text
}

/// `POST /nhan-vien/du-lieu-ca-nhan/xoa`
pub async fn erase(
    req: HttpRequest,
    staff: StaffPage,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    let result = async {
        if !same_origin_post(&req, &state.settings.server.public_base_url) {
            return Err(ApiError::forbidden());
        }
        // Read leniently: who may erase is decided before what was typed.
        let form: EraseForm = serde_urlencoded::from_bytes(&body).unwrap_or_default();
        let q = SubjectQuery {
            phone: form.phone,
            email: form.email,
        };
        match subject::erase(&state, &staff.actor, &q.subject(), &form.reason, Utc::now()).await {
            Ok(report) => {
                render(
                    &state,
                    &staff,
                    q,
                    String::new(),
                    Some(Flash::done(erased_message(&report))),
                    PageErrors::default(),
                    StatusCode::OK,
                )
                .await
            }
            Err(StaffError::Invalid(e)) => {
                render(
                    &state,
                    &staff,
                    q,
                    form.reason,
                    None,
                    PageErrors::from_fields(&e, label),
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await
            }
            Err(e) => Err(e.into()),
        }
    }
    .await;
    result.unwrap_or_else(|e| refused(&req, &state, e))
}

fn download(body: &serde_json::Value) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"du-lieu-ca-nhan.json\"",
        ))
        .insert_header((header::CACHE_CONTROL, "no-store, private"))
        .body(serde_json::to_string_pretty(body).unwrap_or_default())
}

/// `GET /nhan-vien/du-lieu-ca-nhan/xuat`: the file for the person.
pub async fn export_page(
    req: HttpRequest,
    staff: StaffPage,
    query: web::Query<SubjectQuery>,
    state: web::Data<AppState>,
) -> HttpResponse {
    match subject::export(&state, &staff.actor, &query.subject(), Utc::now()).await {
        Ok(body) => download(&body),
        Err(e) => refused(&req, &state, e.into()),
    }
}

/// `GET /api/v1/staff/subject-requests`
pub async fn find_api(
    staff: Staff,
    query: web::Query<SubjectQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let view = subject::find(&state, &staff.actor, &query.subject(), Utc::now())
        .await
        .map_err(query_error)?;
    Ok(private_json(view))
}

/// A refused query string is the client's (400 family), field by field.
pub(super) fn query_error(e: StaffError) -> ApiError {
    match e {
        StaffError::Invalid(errors) => ApiError::invalid_query(errors),
        other => other.into(),
    }
}

/// `GET /api/v1/staff/subject-requests/export`
pub async fn export_api(
    staff: Staff,
    query: web::Query<SubjectQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let body = subject::export(&state, &staff.actor, &query.subject(), Utc::now())
        .await
        .map_err(query_error)?;
    Ok(download(&body))
}

#[derive(Debug, Deserialize)]
pub struct EraseBody {
    phone: Option<String>,
    email: Option<String>,
    reason: String,
}

/// `POST /api/v1/staff/subject-requests/erase`
pub async fn erase_api(
    staff: Staff,
    body: web::Json<EraseBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let report = subject::erase(
        &state,
        &staff.actor,
        &Subject {
            phone: b.phone,
            email: b.email,
        },
        &b.reason,
        Utc::now(),
    )
    .await?;
    Ok(private_json(report))
}

#[derive(Debug, Deserialize)]
pub struct CorrectBody {
    tracking_code: String,
    full_name: Option<String>,
    address: Option<String>,
    phone: Option<String>,
    email: Option<String>,
    reason: String,
}

/// `POST /api/v1/staff/subject-requests/correct`
pub async fn correct_api(
    staff: Staff,
    body: web::Json<CorrectBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let correction = ContactCorrection {
        full_name: b.full_name.map(|n| n.trim().to_string()),
        address_detail: b.address.map(|a| a.trim().to_string()),
        phone: b
            .phone
            .map(|p| Some(p.trim().to_string()).filter(|p| !p.is_empty())),
        email: b
            .email
            .map(|e| Some(e.trim().to_string()).filter(|e| !e.is_empty())),
    };
    subject::correct(
        &state,
        &staff.actor,
        &b.tracking_code,
        &correction,
        &b.reason,
        Utc::now(),
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Default, Deserialize)]
pub struct AccessQuery {
    #[serde(default)]
    item: String,
    #[serde(default)]
    staff: String,
}

/// `GET /api/v1/admin/contact-access`
pub async fn access_api(
    staff: Staff,
    query: web::Query<AccessQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let entries = subject::access_log(&state, &staff.actor, Some(&query.item), Some(&query.staff))
        .await
        .map_err(query_error)?;
    Ok(private_json(serde_json::json!({ "entries": entries })))
}

#[derive(Template)]
#[template(path = "console_access_log.html", config = "config/askama.toml")]
struct AccessPage {
    nav: Nav,
    q: AccessQuery,
    entries: Vec<AccessEntry>,
    errors: PageErrors,
}

/// `GET /nhan-vien/quan-tri/truy-cap-lien-he`
pub async fn access_page(
    req: HttpRequest,
    staff: StaffPage,
    query: web::Query<AccessQuery>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let q = query.into_inner();
    let result = async {
        let (entries, errors, status) =
            match subject::access_log(&state, &staff.actor, Some(&q.item), Some(&q.staff)).await {
                Ok(e) => (e, PageErrors::default(), StatusCode::OK),
                Err(StaffError::Invalid(e)) => (
                    Vec::new(),
                    PageErrors::from_fields(&e, |f| (f.to_string(), "Mã phản ánh")),
                    StatusCode::UNPROCESSABLE_ENTITY,
                ),
                Err(e) => return Err(e.into()),
            };
        console_page(
            status,
            &AccessPage {
                nav: Nav::of(&state, &staff.actor, "truy-cap"),
                q,
                entries,
                errors,
            },
        )
    }
    .await;
    result.unwrap_or_else(|e: ApiError| refused(&req, &state, e))
}
