//! API keys in the console (`/nhan-vien/quan-tri/khoa-api`) and over JSON
//! (`/api/v1/admin/api-keys`). The rules are `services::api_keys`'.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::Utc;
use serde::Deserialize;

use super::AppState;
use super::accounts::{form_pairs, get};
use super::auth::Staff;
use super::console::{Nav, check_origin, refused};
use super::html::{Flash, PageErrors, StaffPage, console_page, see_other, wants_html};
use super::private_json;
use super::problem::{ApiError, request_id};
use crate::services::api_keys::{self, ApiKeyView, NewApiKey, SCOPES};
use crate::services::staff_items::StaffError;

/// A scope's checkbox.
pub struct ScopeBox {
    pub value: &'static str,
    pub label: &'static str,
    pub checked: bool,
}

#[derive(Template)]
#[template(path = "console_api_keys.html", config = "config/askama.toml")]
struct ApiKeysPage {
    nav: Nav,
    keys: Vec<ApiKeyView>,
    scopes: Vec<ScopeBox>,
    name: String,
    errors: PageErrors,
    flash: Option<Flash>,
    created: Option<NewApiKey>,
}

fn label(field: &str) -> (String, &'static str) {
    match field {
        "name" => ("name".into(), "Tên tích hợp"),
        _ => ("scopes".into(), "Quyền"),
    }
}

/// The form as posted, with its messages.
#[derive(Default)]
struct Posted {
    name: String,
    scopes: Vec<String>,
    errors: PageErrors,
}

async fn render(
    state: &AppState,
    staff: &StaffPage,
    posted: Posted,
    flash: Option<Flash>,
    created: Option<NewApiKey>,
    status: StatusCode,
) -> Result<HttpResponse, ApiError> {
    let keys = api_keys::list(state, &staff.actor).await?;
    let Posted {
        name,
        scopes: chosen,
        errors,
    } = posted;
    console_page(
        status,
        &ApiKeysPage {
            nav: Nav::of(state, &staff.actor, "quan-tri"),
            keys,
            scopes: SCOPES
                .iter()
                .map(|(s, l)| ScopeBox {
                    value: s.as_str(),
                    label: l,
                    checked: chosen.iter().any(|c| c == s.as_str()),
                })
                .collect(),
            name,
            errors,
            flash,
            created,
        },
    )
}

#[derive(Deserialize)]
pub struct DoneQuery {
    #[serde(default)]
    xong: Option<String>,
}

/// `GET /nhan-vien/quan-tri/khoa-api`
pub async fn page(
    req: HttpRequest,
    staff: StaffPage,
    query: web::Query<DoneQuery>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let flash = (query.xong.as_deref() == Some("thu-hoi"))
        .then(|| Flash::done("Đã thu hồi khoá; hệ thống dùng khoá đó không truy cập được nữa."));
    render(
        &state,
        &staff,
        Posted::default(),
        flash,
        None,
        StatusCode::OK,
    )
    .await
    .unwrap_or_else(|e| refused(&req, &state, e))
}

/// `POST /nhan-vien/quan-tri/khoa-api`: a new key, shown once on the page.
pub async fn create(
    req: HttpRequest,
    staff: StaffPage,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    let result = async {
        check_origin(&req, &state)?;
        let pairs = form_pairs(&body)?;
        let name = get(&pairs, "name");
        let scopes: Vec<String> = pairs
            .iter()
            .filter(|(k, _)| k == "scopes")
            .map(|(_, v)| v.clone())
            .collect();
        match api_keys::create(&state, &staff.actor, &name, &scopes, request_id(), Utc::now()).await {
            Ok(key) => {
                render(
                    &state,
                    &staff,
                    Posted::default(),
                    Some(Flash::done(
                        "Đã tạo khoá. Sao chép và giao cho hệ thống tích hợp qua kênh an toàn: khoá chỉ hiện một lần.",
                    )),
                    Some(key),
                    StatusCode::CREATED,
                )
                .await
            }
            Err(StaffError::Invalid(errors)) if wants_html(&req) => {
                render(
                    &state,
                    &staff,
                    Posted {
                        name,
                        scopes,
                        errors: PageErrors::from_fields(&errors, label),
                    },
                    Some(Flash::error("Chưa tạo được khoá: vui lòng sửa các mục được nêu.")),
                    None,
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

/// `POST /nhan-vien/quan-tri/khoa-api/{name}/thu-hoi`
pub async fn revoke(
    req: HttpRequest,
    staff: StaffPage,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let result = async {
        check_origin(&req, &state)?;
        api_keys::revoke(
            &state,
            &staff.actor,
            &path.into_inner(),
            request_id(),
            Utc::now(),
        )
        .await?;
        Ok::<_, ApiError>(see_other("/nhan-vien/quan-tri/khoa-api?xong=thu-hoi"))
    }
    .await;
    result.unwrap_or_else(|e| refused(&req, &state, e))
}

/// `GET /api/v1/admin/api-keys`
pub async fn list_api(staff: Staff, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    Ok(private_json(serde_json::json!({
        "items": api_keys::list(&state, &staff.actor).await?
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyBody {
    name: String,
    scopes: Vec<String>,
}

/// `POST /api/v1/admin/api-keys`
pub async fn create_api(
    staff: Staff,
    body: web::Json<KeyBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let key = api_keys::create(
        &state,
        &staff.actor,
        &body.name,
        &body.scopes,
        request_id(),
        Utc::now(),
    )
    .await?;
    Ok(HttpResponse::Created()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store, private"))
        .json(key))
}

/// `POST /api/v1/admin/api-keys/{name}/revoke`
pub async fn revoke_api(
    staff: Staff,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    api_keys::revoke(
        &state,
        &staff.actor,
        &path.into_inner(),
        request_id(),
        Utc::now(),
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
