//! The agency's answer templates in the console (`/nhan-vien/mau-tra-loi`):
//! everyone who answers reads them and inserts one into a draft from the
//! item page; the agency's lead writes, renames and deletes them. The
//! rules (who, and that a template holds no citizen's data) are
//! `services::answers`'.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::Utc;

use super::AppState;
use super::console::{Nav, check_origin, refused};
use super::html::{Flash, PageErrors, StaffPage, console_page, see_other, wants_html};
use super::problem::{ApiError, request_id};
use crate::domain::staff::Permission;
use crate::services::answers::{self, TemplateInput, TemplateView};
use crate::services::staff_items::StaffError;

/// A template form as posted, with its messages.
#[derive(Default)]
pub struct TemplateForm {
    /// The template being changed (none: a new one).
    pub id: Option<uuid::Uuid>,
    pub name: String,
    pub body: String,
    pub errors: PageErrors,
}

impl TemplateForm {
    pub fn error(&self, id: Option<uuid::Uuid>, field: &str) -> String {
        if self.id != id {
            return String::new();
        }
        self.errors.joined(field)
    }
}

#[derive(Template)]
#[template(path = "console_templates.html", config = "config/askama.toml")]
struct TemplatesPage {
    nav: Nav,
    templates: Vec<TemplateView>,
    may_manage: bool,
    flash: Option<Flash>,
    posted: TemplateForm,
}

impl TemplatesPage {
    /// What a template's form shows: what was posted to it, else the
    /// template as stored.
    pub fn name_of(&self, t: &TemplateView) -> String {
        if self.posted.id == Some(t.id) {
            self.posted.name.clone()
        } else {
            t.name.clone()
        }
    }

    pub fn body_of(&self, t: &TemplateView) -> String {
        if self.posted.id == Some(t.id) {
            self.posted.body.clone()
        } else {
            t.body.clone()
        }
    }
}

async fn render(
    state: &AppState,
    staff: &StaffPage,
    flash: Option<Flash>,
    posted: TemplateForm,
    status: StatusCode,
) -> Result<HttpResponse, ApiError> {
    let actor = &staff.actor;
    let templates = answers::templates(state, actor).await?;
    console_page(
        status,
        &TemplatesPage {
            nav: Nav::of(state, actor, "mau-tra-loi"),
            templates,
            may_manage: actor.may(Permission::ManageAnswerTemplates),
            flash,
            posted,
        },
    )
}

#[derive(serde::Deserialize)]
pub struct DoneQuery {
    #[serde(default)]
    xong: Option<String>,
}

/// `GET /nhan-vien/mau-tra-loi`
pub async fn page(
    req: HttpRequest,
    staff: StaffPage,
    query: web::Query<DoneQuery>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let flash = match query.into_inner().xong.as_deref() {
        Some("luu") => Some(Flash::done("Đã lưu mẫu trả lời.")),
        Some("xoa") => Some(Flash::done("Đã xoá mẫu trả lời.")),
        _ => None,
    };
    render(
        &state,
        &staff,
        flash,
        TemplateForm::default(),
        StatusCode::OK,
    )
    .await
    .unwrap_or_else(|e| refused(&req, &state, e))
}

fn read_form(body: &[u8]) -> Result<TemplateInput, ApiError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
        .map_err(|_| ApiError::malformed("Biểu mẫu không hợp lệ."))?;
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    Ok(TemplateInput {
        name: get("name"),
        body: get("body"),
    })
}

fn template_id(raw: &str) -> Result<uuid::Uuid, ApiError> {
    uuid::Uuid::try_parse(raw).map_err(|_| ApiError::not_found())
}

async fn write(
    req: &HttpRequest,
    state: &AppState,
    staff: &StaffPage,
    id: Option<uuid::Uuid>,
    body: &[u8],
) -> Result<HttpResponse, ApiError> {
    check_origin(req, state)?;
    let input = read_form(body)?;
    match answers::write_template(state, &staff.actor, id, &input, request_id(), Utc::now()).await {
        Ok(_) => Ok(see_other("/nhan-vien/mau-tra-loi?xong=luu")),
        // A program gets the API's problem; a person the page.
        Err(StaffError::Invalid(errors)) if wants_html(req) => {
            let field_label = |f: &str| -> (String, &'static str) {
                let label = if f == "name" {
                    "Tên mẫu"
                } else {
                    "Nội dung"
                };
                (f.to_string(), label)
            };
            let posted = TemplateForm {
                id,
                name: input.name,
                body: input.body,
                errors: PageErrors::from_fields(&errors, field_label),
            };
            render(
                state,
                staff,
                Some(Flash::error(
                    "Chưa lưu được mẫu: vui lòng sửa các mục được nêu.",
                )),
                posted,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /nhan-vien/mau-tra-loi`: a new template.
pub async fn create(
    req: HttpRequest,
    staff: StaffPage,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    write(&req, &state, &staff, None, &body)
        .await
        .unwrap_or_else(|e| refused(&req, &state, e))
}

/// `POST /nhan-vien/mau-tra-loi/{template_id}`: a template rewritten.
pub async fn update(
    req: HttpRequest,
    staff: StaffPage,
    path: web::Path<String>,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    let result = async {
        let id = template_id(&path.into_inner())?;
        write(&req, &state, &staff, Some(id), &body).await
    }
    .await;
    result.unwrap_or_else(|e| refused(&req, &state, e))
}

/// `POST /nhan-vien/mau-tra-loi/{template_id}/xoa`
pub async fn delete(
    req: HttpRequest,
    staff: StaffPage,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let result = async {
        check_origin(&req, &state)?;
        let id = template_id(&path.into_inner())?;
        answers::delete_template(&state, &staff.actor, id, request_id(), Utc::now()).await?;
        Ok::<_, ApiError>(see_other("/nhan-vien/mau-tra-loi?xong=xoa"))
    }
    .await;
    result.unwrap_or_else(|e| refused(&req, &state, e))
}
