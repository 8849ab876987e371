//! Keyword routing rules in the console (`/nhan-vien/quan-tri/dinh-tuyen`)
//! and over JSON (`/api/v1/admin/routing-rules`): list, add, change,
//! delete, try on a text, export and import. The rules are
//! `services::routing_admin`'s.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::Utc;
use serde::Deserialize;

use super::AppState;
use super::accounts::{agency_options, form_pairs, get};
use super::auth::Staff;
use super::console::{Nav, Opt, check_origin, refused};
use super::html::{Flash, PageErrors, StaffPage, console_page, see_other, wants_html};
use super::private_json;
use super::problem::{ApiError, request_id};
use crate::services::routing_admin::{self, RuleInput, RuleView, TryResult};
use crate::services::staff_items::StaffError;

fn label(field: &str) -> (String, &'static str) {
    let label = match field {
        "words" => "Từ khoá",
        "agency_code" => "Cơ quan",
        "basis" => "Căn cứ",
        "file" => "Tệp quy tắc",
        _ => "Thông tin",
    };
    (field.to_string(), label)
}

/// What the page shows besides the rules.
#[derive(Default)]
struct Extra {
    /// The rule a form was posted for (none: the add form).
    posted_for: Option<uuid::Uuid>,
    input: RuleInput,
    errors: PageErrors,
    flash: Option<Flash>,
    try_title: String,
    try_content: String,
    tried: Option<TryResult>,
    file: String,
}

#[derive(Template)]
#[template(path = "console_routing.html", config = "config/askama.toml")]
struct RoutingPage {
    nav: Nav,
    rules: Vec<RuleView>,
    agencies: Vec<Opt>,
    extra: Extra,
}

impl RoutingPage {
    /// What a rule's form shows: what was posted to it, else the rule.
    fn words_of(&self, r: &RuleView) -> String {
        if self.extra.posted_for == Some(r.id) {
            self.extra.input.words.clone()
        } else {
            r.words.join(", ")
        }
    }

    fn basis_of(&self, r: &RuleView) -> String {
        if self.extra.posted_for == Some(r.id) {
            self.extra.input.basis.clone()
        } else {
            r.basis.clone()
        }
    }

    fn error_of(&self, r: Option<&RuleView>, field: &str) -> String {
        if self.extra.posted_for == r.map(|r| r.id) {
            self.extra.errors.joined(field)
        } else {
            String::new()
        }
    }
}

async fn render(
    state: &AppState,
    staff: &StaffPage,
    extra: Extra,
    status: StatusCode,
) -> Result<HttpResponse, ApiError> {
    let rules = routing_admin::list(state, &staff.actor).await?;
    let agencies = agency_options(state, extra.input.agency_code.trim()).await?;
    console_page(
        status,
        &RoutingPage {
            nav: Nav::of(state, &staff.actor, "quan-tri"),
            rules,
            agencies,
            extra,
        },
    )
}

#[derive(Deserialize)]
pub struct DoneQuery {
    #[serde(default)]
    xong: Option<String>,
}

/// `GET /nhan-vien/quan-tri/dinh-tuyen`
pub async fn page(
    req: HttpRequest,
    staff: StaffPage,
    query: web::Query<DoneQuery>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let flash = match query.xong.as_deref() {
        Some("luu") => Some(Flash::done(
            "Đã lưu quy tắc; mọi máy chủ dùng quy tắc mới trong vài giây.",
        )),
        Some("xoa") => Some(Flash::done("Đã xoá quy tắc.")),
        Some("nhap") => Some(Flash::done(
            "Đã nạp tệp quy tắc, thay cho các quy tắc trước.",
        )),
        _ => None,
    };
    render(
        &state,
        &staff,
        Extra {
            flash,
            ..Extra::default()
        },
        StatusCode::OK,
    )
    .await
    .unwrap_or_else(|e| refused(&req, &state, e))
}

fn rule_input(pairs: &[(String, String)]) -> RuleInput {
    RuleInput {
        words: get(pairs, "words"),
        agency_code: get(pairs, "agency_code"),
        basis: get(pairs, "basis"),
    }
}

async fn write(
    req: &HttpRequest,
    state: &AppState,
    staff: &StaffPage,
    id: Option<uuid::Uuid>,
    body: &[u8],
) -> Result<HttpResponse, ApiError> {
    check_origin(req, state)?;
    let input = rule_input(&form_pairs(body)?);
    let now = Utc::now();
    let result = match id {
        Some(id) => routing_admin::change(state, &staff.actor, id, &input, request_id(), now).await,
        None => routing_admin::add(state, &staff.actor, &input, request_id(), now)
            .await
            .map(|_| ()),
    };
    match result {
        Ok(()) => Ok(see_other("/nhan-vien/quan-tri/dinh-tuyen?xong=luu")),
        Err(StaffError::Invalid(errors)) if wants_html(req) => {
            render(
                state,
                staff,
                Extra {
                    posted_for: id,
                    input,
                    errors: PageErrors::from_fields(&errors, label),
                    flash: Some(Flash::error(
                        "Chưa lưu được quy tắc: vui lòng sửa các mục được nêu.",
                    )),
                    ..Extra::default()
                },
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

fn rule_id(raw: &str) -> Result<uuid::Uuid, ApiError> {
    uuid::Uuid::try_parse(raw).map_err(|_| ApiError::not_found())
}

/// `POST /nhan-vien/quan-tri/dinh-tuyen`: a new rule.
pub async fn add(
    req: HttpRequest,
    staff: StaffPage,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    write(&req, &state, &staff, None, &body)
        .await
        .unwrap_or_else(|e| refused(&req, &state, e))
}

/// `POST /nhan-vien/quan-tri/dinh-tuyen/{rule_id}`: a rule rewritten.
pub async fn change(
    req: HttpRequest,
    staff: StaffPage,
    path: web::Path<String>,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    let result = async {
        let id = rule_id(&path.into_inner())?;
        write(&req, &state, &staff, Some(id), &body).await
    }
    .await;
    result.unwrap_or_else(|e| refused(&req, &state, e))
}

/// `POST /nhan-vien/quan-tri/dinh-tuyen/{rule_id}/xoa`
pub async fn delete(
    req: HttpRequest,
    staff: StaffPage,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let result = async {
        check_origin(&req, &state)?;
        let id = rule_id(&path.into_inner())?;
        routing_admin::delete(&state, &staff.actor, id, request_id(), Utc::now()).await?;
        Ok::<_, ApiError>(see_other("/nhan-vien/quan-tri/dinh-tuyen?xong=xoa"))
    }
    .await;
    result.unwrap_or_else(|e| refused(&req, &state, e))
}

/// `POST /nhan-vien/quan-tri/dinh-tuyen/thu`: which rule fires for a text
/// (changes nothing).
pub async fn try_page(
    req: HttpRequest,
    staff: StaffPage,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    let result = async {
        check_origin(&req, &state)?;
        let pairs = form_pairs(&body)?;
        let (title, content) = (get(&pairs, "title"), get(&pairs, "content"));
        let tried = routing_admin::try_text(&state, &staff.actor, &title, &content).await?;
        render(
            &state,
            &staff,
            Extra {
                try_title: title,
                try_content: content,
                tried: Some(tried),
                ..Extra::default()
            },
            StatusCode::OK,
        )
        .await
    }
    .await;
    result.unwrap_or_else(|e| refused(&req, &state, e))
}

/// `POST /nhan-vien/quan-tri/dinh-tuyen/nhap`: every rule replaced by a
/// file's, checked whole first.
pub async fn import(
    req: HttpRequest,
    staff: StaffPage,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    let result = async {
        check_origin(&req, &state)?;
        let file = get(&form_pairs(&body)?, "file");
        match routing_admin::import(&state, &staff.actor, &file, request_id(), Utc::now()).await {
            Ok(_) => Ok(see_other("/nhan-vien/quan-tri/dinh-tuyen?xong=nhap")),
            Err(StaffError::Invalid(errors)) if wants_html(&req) => {
                render(
                    &state,
                    &staff,
                    Extra {
                        file,
                        errors: PageErrors::from_fields(&errors, label),
                        posted_for: Some(uuid::Uuid::nil()),
                        flash: Some(Flash::error(
                            "Chưa nạp được tệp: tệp sai cú pháp, hoặc có quy tắc thiếu từ khoá, căn cứ hay nêu cơ quan không còn trong danh mục. Các quy tắc hiện có không thay đổi.",
                        )),
                        ..Extra::default()
                    },
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

/// `GET /nhan-vien/quan-tri/dinh-tuyen.toml`
pub async fn export(
    req: HttpRequest,
    staff: StaffPage,
    state: web::Data<AppState>,
) -> HttpResponse {
    let result = async {
        let text = routing_admin::export(&state, &staff.actor).await?;
        Ok::<_, ApiError>(
            HttpResponse::Ok()
                .insert_header((
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/toml; charset=utf-8"),
                ))
                .insert_header((
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"routing.toml\"",
                ))
                .insert_header((header::CACHE_CONTROL, "no-store, private"))
                .body(text),
        )
    }
    .await;
    result.unwrap_or_else(|e| refused(&req, &state, e))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleBody {
    words: Vec<String>,
    agency_code: String,
    basis: String,
}

impl RuleBody {
    fn input(self) -> RuleInput {
        RuleInput {
            words: self.words.join(","),
            agency_code: self.agency_code,
            basis: self.basis,
        }
    }
}

/// `GET /api/v1/admin/routing-rules`
pub async fn list_api(staff: Staff, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    Ok(private_json(serde_json::json!({
        "items": routing_admin::list(&state, &staff.actor).await?
    })))
}

/// `POST /api/v1/admin/routing-rules`
pub async fn add_api(
    staff: Staff,
    body: web::Json<RuleBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = routing_admin::add(
        &state,
        &staff.actor,
        &body.into_inner().input(),
        request_id(),
        Utc::now(),
    )
    .await?;
    Ok(HttpResponse::Created()
        .insert_header((header::CACHE_CONTROL, "no-store, private"))
        .json(serde_json::json!({ "id": id })))
}

/// `PUT /api/v1/admin/routing-rules/{rule_id}`
pub async fn change_api(
    staff: Staff,
    path: web::Path<String>,
    body: web::Json<RuleBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = rule_id(&path.into_inner())?;
    routing_admin::change(
        &state,
        &staff.actor,
        id,
        &body.into_inner().input(),
        request_id(),
        Utc::now(),
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `DELETE /api/v1/admin/routing-rules/{rule_id}`
pub async fn delete_api(
    staff: Staff,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = rule_id(&path.into_inner())?;
    routing_admin::delete(&state, &staff.actor, id, request_id(), Utc::now()).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TryBody {
    #[serde(default)]
    title: String,
    #[serde(default)]
    content: String,
}

/// `POST /api/v1/admin/routing-rules/try`
pub async fn try_api(
    staff: Staff,
    body: web::Json<TryBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    Ok(private_json(
        routing_admin::try_text(&state, &staff.actor, &b.title, &b.content).await?,
    ))
}
