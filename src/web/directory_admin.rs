//! The directory in the console (`/nhan-vien/quan-tri/co-quan…`) and over
//! JSON (`/api/v1/admin/agencies…`): list, create and change agencies.
//! The rules are `services::directory_admin`'s.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::Utc;
use serde::Deserialize;

use super::AppState;
use super::accounts::{form_pairs, get};
use super::auth::Staff;
use super::console::{Nav, Opt, check_origin, refused};
use super::html::{Flash, PageErrors, StaffPage, console_page, see_other, wants_html};
use super::private_json;
use super::problem::{ApiError, request_id};
use crate::domain::directory::Agency;
use crate::services::directory_admin::{self, AgencyAdminView, AgencyInput, KINDS, LEVELS};
use crate::services::staff_items::StaffError;

fn label(field: &str) -> (String, &'static str) {
    let label = match field {
        "code" => "Mã cơ quan",
        "name" => "Tên",
        "short_name" => "Tên viết tắt",
        "kind" => "Loại",
        "level" => "Cấp",
        "parent_code" => "Cơ quan cấp trên",
        "address" => "Địa chỉ",
        "phone" => "Điện thoại",
        "email" => "Thư điện tử",
        "website" => "Trang thông tin",
        "valid_from" => "Hiệu lực từ",
        "valid_to" => "Hết hiệu lực từ",
        "description" => "Mô tả",
        "sort_order" => "Thứ tự",
        "source" => "Văn bản căn cứ",
        _ => "Lĩnh vực",
    };
    (field.to_string(), label)
}

fn input_of(pairs: &[(String, String)]) -> AgencyInput {
    AgencyInput {
        code: get(pairs, "code"),
        name: get(pairs, "name"),
        short_name: get(pairs, "short_name"),
        kind: get(pairs, "kind"),
        level: get(pairs, "level"),
        parent_code: get(pairs, "parent_code"),
        address: get(pairs, "address"),
        phone: get(pairs, "phone"),
        email: get(pairs, "email"),
        website: get(pairs, "website"),
        valid_from: get(pairs, "valid_from"),
        valid_to: get(pairs, "valid_to"),
        field_codes: pairs
            .iter()
            .filter(|(k, _)| k == "field_codes")
            .map(|(_, v)| v.clone())
            .collect(),
    }
}

fn input_from(a: &Agency) -> AgencyInput {
    AgencyInput {
        code: a.code.clone(),
        name: a.name.clone(),
        short_name: a.short_name.clone().unwrap_or_default(),
        kind: a.kind.clone(),
        level: a.level.clone(),
        parent_code: a.parent_code.clone().unwrap_or_default(),
        address: a.address.clone().unwrap_or_default(),
        phone: a.phone.clone().unwrap_or_default(),
        email: a.email.clone().unwrap_or_default(),
        website: a.website.clone().unwrap_or_default(),
        valid_from: a.valid_from.to_string(),
        valid_to: a.valid_to.map(|d| d.to_string()).unwrap_or_default(),
        field_codes: a.field_codes.clone(),
    }
}

/// The form's choices, with what was typed selected.
pub struct FormLists {
    pub kinds: Vec<Opt>,
    pub levels: Vec<Opt>,
    pub fields: Vec<Opt>,
}

async fn lists(state: &AppState, input: &AgencyInput) -> Result<FormLists, ApiError> {
    let pick = |all: &[(&str, &str)], chosen: &str| -> Vec<Opt> {
        all.iter()
            .map(|(v, l)| Opt {
                value: (*v).into(),
                label: (*l).into(),
                selected: *v == chosen,
            })
            .collect()
    };
    Ok(FormLists {
        kinds: pick(&KINDS, input.kind.trim()),
        levels: pick(&LEVELS, input.level.trim()),
        fields: state
            .store
            .list_fields()
            .await?
            .into_iter()
            .map(|f| Opt {
                selected: input.field_codes.contains(&f.code),
                value: f.code,
                label: f.name,
            })
            .collect(),
    })
}

#[derive(Template)]
#[template(path = "console_agencies.html", config = "config/askama.toml")]
struct AgenciesPage {
    nav: Nav,
    agencies: Vec<Agency>,
    q: String,
    input: AgencyInput,
    lists: FormLists,
    errors: PageErrors,
    flash: Option<Flash>,
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
}

async fn render_list(
    state: &AppState,
    staff: &StaffPage,
    q: String,
    input: AgencyInput,
    errors: PageErrors,
    flash: Option<Flash>,
    status: StatusCode,
) -> Result<HttpResponse, ApiError> {
    let agencies = directory_admin::list(state, &staff.actor, &q).await?;
    console_page(
        status,
        &AgenciesPage {
            nav: Nav::of(state, &staff.actor, "quan-tri"),
            agencies,
            q,
            lists: lists(state, &input).await?,
            input,
            errors,
            flash,
        },
    )
}

/// `GET /nhan-vien/quan-tri/co-quan`
pub async fn list_page(
    req: HttpRequest,
    staff: StaffPage,
    query: web::Query<ListQuery>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let q: String = query.into_inner().q.chars().take(100).collect();
    let input = AgencyInput {
        kind: "so".into(),
        level: "tinh".into(),
        ..AgencyInput::default()
    };
    render_list(
        &state,
        &staff,
        q,
        input,
        PageErrors::default(),
        None,
        StatusCode::OK,
    )
    .await
    .unwrap_or_else(|e| refused(&req, &state, e))
}

/// `POST /nhan-vien/quan-tri/co-quan`: a new agency.
pub async fn create(
    req: HttpRequest,
    staff: StaffPage,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    let result = async {
        check_origin(&req, &state)?;
        let input = input_of(&form_pairs(&body)?);
        match directory_admin::create(&state, &staff.actor, &input, request_id(), Utc::now()).await
        {
            Ok(a) => Ok(see_other(&format!(
                "/nhan-vien/quan-tri/co-quan/{}?xong=tao",
                a.code
            ))),
            Err(StaffError::Invalid(errors)) if wants_html(&req) => {
                render_list(
                    &state,
                    &staff,
                    String::new(),
                    input,
                    PageErrors::from_fields(&errors, label),
                    Some(Flash::error(
                        "Chưa thêm được cơ quan: vui lòng sửa các mục được nêu.",
                    )),
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

#[derive(Template)]
#[template(path = "console_agency.html", config = "config/askama.toml")]
struct AgencyPage {
    nav: Nav,
    view: AgencyAdminView,
    input: AgencyInput,
    lists: FormLists,
    errors: PageErrors,
    flash: Option<Flash>,
}

async fn render_one(
    state: &AppState,
    staff: &StaffPage,
    code: &str,
    posted: Option<(AgencyInput, PageErrors)>,
    flash: Option<Flash>,
    status: StatusCode,
) -> Result<HttpResponse, ApiError> {
    let view = directory_admin::get(state, &staff.actor, code).await?;
    let (input, errors) =
        posted.unwrap_or_else(|| (input_from(&view.agency), PageErrors::default()));
    console_page(
        status,
        &AgencyPage {
            nav: Nav::of(state, &staff.actor, "quan-tri"),
            lists: lists(state, &input).await?,
            view,
            input,
            errors,
            flash,
        },
    )
}

#[derive(Deserialize)]
pub struct DoneQuery {
    #[serde(default)]
    xong: Option<String>,
}

/// `GET /nhan-vien/quan-tri/co-quan/{code}`
pub async fn one_page(
    req: HttpRequest,
    staff: StaffPage,
    path: web::Path<String>,
    query: web::Query<DoneQuery>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let flash = match query.xong.as_deref() {
        Some("tao") => Some(Flash::done("Đã thêm cơ quan.")),
        Some("luu") => Some(Flash::done(
            "Đã lưu; mọi máy chủ dùng thông tin mới trong vài giây.",
        )),
        _ => None,
    };
    render_one(
        &state,
        &staff,
        &path.into_inner(),
        None,
        flash,
        StatusCode::OK,
    )
    .await
    .unwrap_or_else(|e| refused(&req, &state, e))
}

/// `POST /nhan-vien/quan-tri/co-quan/{code}`
pub async fn change(
    req: HttpRequest,
    staff: StaffPage,
    path: web::Path<String>,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    let code = path.into_inner();
    let result = async {
        check_origin(&req, &state)?;
        let input = input_of(&form_pairs(&body)?);
        match directory_admin::change(
            &state,
            &staff.actor,
            &code,
            &input,
            request_id(),
            Utc::now(),
        )
        .await
        {
            Ok(a) => Ok(see_other(&format!(
                "/nhan-vien/quan-tri/co-quan/{}?xong=luu",
                a.code
            ))),
            Err(StaffError::Invalid(errors)) if wants_html(&req) => {
                render_one(
                    &state,
                    &staff,
                    &code,
                    Some((input, PageErrors::from_fields(&errors, label))),
                    Some(Flash::error(
                        "Chưa lưu được: vui lòng sửa các mục được nêu.",
                    )),
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgencyBody {
    #[serde(default)]
    code: String,
    name: String,
    #[serde(default)]
    short_name: Option<String>,
    kind: String,
    level: String,
    #[serde(default)]
    parent_code: Option<String>,
    #[serde(default)]
    address: Option<String>,
    #[serde(default)]
    phone: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    website: Option<String>,
    #[serde(default)]
    valid_from: Option<String>,
    #[serde(default)]
    valid_to: Option<String>,
    #[serde(default)]
    field_codes: Vec<String>,
}

impl AgencyBody {
    fn input(self) -> AgencyInput {
        AgencyInput {
            code: self.code,
            name: self.name,
            short_name: self.short_name.unwrap_or_default(),
            kind: self.kind,
            level: self.level,
            parent_code: self.parent_code.unwrap_or_default(),
            address: self.address.unwrap_or_default(),
            phone: self.phone.unwrap_or_default(),
            email: self.email.unwrap_or_default(),
            website: self.website.unwrap_or_default(),
            valid_from: self.valid_from.unwrap_or_default(),
            valid_to: self.valid_to.unwrap_or_default(),
            field_codes: self.field_codes,
        }
    }
}

/// `POST /api/v1/admin/agencies`
pub async fn create_api(
    staff: Staff,
    body: web::Json<AgencyBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let a = directory_admin::create(
        &state,
        &staff.actor,
        &body.into_inner().input(),
        request_id(),
        Utc::now(),
    )
    .await?;
    Ok(HttpResponse::Created()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store, private"))
        .json(a))
}

/// `GET /api/v1/admin/agencies/{code}`: the agency and its history.
pub async fn get_api(
    staff: Staff,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    Ok(private_json(
        directory_admin::get(&state, &staff.actor, &path.into_inner()).await?,
    ))
}

/// `PUT /api/v1/admin/agencies/{code}`
pub async fn change_api(
    staff: Staff,
    path: web::Path<String>,
    body: web::Json<AgencyBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    Ok(private_json(
        directory_admin::change(
            &state,
            &staff.actor,
            &path.into_inner(),
            &body.into_inner().input(),
            request_id(),
            Utc::now(),
        )
        .await?,
    ))
}

// ------------------------------------------------- fields and communes

use crate::services::directory_admin::{FieldInput, UNIT_KINDS, UnitInput, UnitView};

#[derive(Template)]
#[template(path = "console_fields.html", config = "config/askama.toml")]
struct FieldsPage {
    nav: Nav,
    fields: Vec<crate::domain::directory::Field>,
    posted: FieldInput,
    errors: PageErrors,
    flash: Option<Flash>,
}

impl FieldsPage {
    /// A message for the add form's input (the posted code is new).
    fn new_error(&self, field: &str) -> String {
        if self
            .fields
            .iter()
            .any(|f| f.code == self.posted.code.trim())
        {
            String::new()
        } else {
            self.errors.joined(field)
        }
    }

    fn error_for(&self, code: &str, field: &str) -> String {
        if self.posted.code.trim() == code {
            self.errors.joined(field)
        } else {
            String::new()
        }
    }
}

async fn render_fields(
    state: &AppState,
    staff: &StaffPage,
    posted: FieldInput,
    errors: PageErrors,
    flash: Option<Flash>,
    status: StatusCode,
) -> Result<HttpResponse, ApiError> {
    let fields = directory_admin::fields(state, &staff.actor).await?;
    console_page(
        status,
        &FieldsPage {
            nav: Nav::of(state, &staff.actor, "quan-tri"),
            fields,
            posted,
            errors,
            flash,
        },
    )
}

/// `GET /nhan-vien/quan-tri/linh-vuc`
pub async fn fields_page(
    req: HttpRequest,
    staff: StaffPage,
    query: web::Query<DoneQuery>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let flash = (query.xong.as_deref() == Some("luu")).then(|| Flash::done("Đã lưu lĩnh vực."));
    render_fields(
        &state,
        &staff,
        FieldInput::default(),
        PageErrors::default(),
        flash,
        StatusCode::OK,
    )
    .await
    .unwrap_or_else(|e| refused(&req, &state, e))
}

/// `POST /nhan-vien/quan-tri/linh-vuc`: a field added (new code) or
/// changed.
pub async fn save_field(
    req: HttpRequest,
    staff: StaffPage,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    let result = async {
        check_origin(&req, &state)?;
        let pairs = form_pairs(&body)?;
        let input = FieldInput {
            code: get(&pairs, "code"),
            name: get(&pairs, "name"),
            description: get(&pairs, "description"),
            sort_order: get(&pairs, "sort_order"),
        };
        match directory_admin::save_field(&state, &staff.actor, &input, request_id(), Utc::now())
            .await
        {
            Ok(_) => Ok(see_other("/nhan-vien/quan-tri/linh-vuc?xong=luu")),
            Err(StaffError::Invalid(errors)) if wants_html(&req) => {
                render_fields(
                    &state,
                    &staff,
                    input,
                    PageErrors::from_fields(&errors, label),
                    Some(Flash::error(
                        "Chưa lưu được: vui lòng sửa các mục được nêu.",
                    )),
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

#[derive(Template)]
#[template(path = "console_units.html", config = "config/askama.toml")]
struct UnitsPage {
    nav: Nav,
    office: crate::domain::office::Office,
    units: Vec<UnitView>,
    kinds: Vec<Opt>,
    posted: UnitInput,
    errors: PageErrors,
    flash: Option<Flash>,
}

impl UnitsPage {
    fn kind_name(&self, kind: &str) -> &'static str {
        UNIT_KINDS
            .iter()
            .find(|(k, _)| *k == kind)
            .map_or("", |(_, l)| *l)
    }
}

async fn render_units(
    state: &AppState,
    staff: &StaffPage,
    posted: UnitInput,
    errors: PageErrors,
    flash: Option<Flash>,
    status: StatusCode,
) -> Result<HttpResponse, ApiError> {
    let units = directory_admin::units(state, &staff.actor).await?;
    let kinds = UNIT_KINDS
        .iter()
        .map(|(v, l)| Opt {
            value: (*v).into(),
            label: (*l).into(),
            selected: posted.kind == *v,
        })
        .collect();
    console_page(
        status,
        &UnitsPage {
            nav: Nav::of(state, &staff.actor, "quan-tri"),
            office: state.settings.office(),
            units,
            kinds,
            posted,
            errors,
            flash,
        },
    )
}

/// `GET /nhan-vien/quan-tri/xa-phuong`
pub async fn units_page(
    req: HttpRequest,
    staff: StaffPage,
    query: web::Query<DoneQuery>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let flash = (query.xong.as_deref() == Some("luu")).then(|| Flash::done("Đã lưu xã, phường."));
    let posted = UnitInput {
        kind: "xa".into(),
        ..UnitInput::default()
    };
    render_units(
        &state,
        &staff,
        posted,
        PageErrors::default(),
        flash,
        StatusCode::OK,
    )
    .await
    .unwrap_or_else(|e| refused(&req, &state, e))
}

/// `POST /nhan-vien/quan-tri/xa-phuong`: a commune added or changed.
pub async fn save_unit(
    req: HttpRequest,
    staff: StaffPage,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    let result = async {
        check_origin(&req, &state)?;
        let pairs = form_pairs(&body)?;
        let input = UnitInput {
            code: get(&pairs, "code"),
            name: get(&pairs, "name"),
            kind: get(&pairs, "kind"),
            valid_from: get(&pairs, "valid_from"),
            valid_to: get(&pairs, "valid_to"),
            source: get(&pairs, "source"),
        };
        match directory_admin::save_unit(&state, &staff.actor, &input, request_id(), Utc::now())
            .await
        {
            Ok(_) => Ok(see_other("/nhan-vien/quan-tri/xa-phuong?xong=luu")),
            Err(StaffError::Invalid(errors)) if wants_html(&req) => {
                render_units(
                    &state,
                    &staff,
                    input,
                    PageErrors::from_fields(&errors, label),
                    Some(Flash::error(
                        "Chưa lưu được: vui lòng sửa các mục được nêu.",
                    )),
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldBody {
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    sort_order: Option<i32>,
}

/// `PUT /api/v1/admin/fields/{code}`: added (201) or changed (200).
pub async fn put_field_api(
    staff: Staff,
    path: web::Path<String>,
    body: web::Json<FieldBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let input = FieldInput {
        code: path.into_inner(),
        name: b.name,
        description: b.description.unwrap_or_default(),
        sort_order: b.sort_order.map(|v| v.to_string()).unwrap_or_default(),
    };
    let created =
        directory_admin::save_field(&state, &staff.actor, &input, request_id(), Utc::now()).await?;
    Ok(if created {
        HttpResponse::Created().finish()
    } else {
        HttpResponse::NoContent().finish()
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitBody {
    name: String,
    kind: String,
    #[serde(default)]
    valid_from: Option<String>,
    #[serde(default)]
    valid_to: Option<String>,
    #[serde(default)]
    source: Option<String>,
}

/// `PUT /api/v1/admin/administrative-units/{code}`: one of the province's
/// communes added (201) or changed (204).
pub async fn put_unit_api(
    staff: Staff,
    path: web::Path<String>,
    body: web::Json<UnitBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let input = UnitInput {
        code: path.into_inner(),
        name: b.name,
        kind: b.kind,
        valid_from: b.valid_from.unwrap_or_default(),
        valid_to: b.valid_to.unwrap_or_default(),
        source: b.source.unwrap_or_default(),
    };
    let created =
        directory_admin::save_unit(&state, &staff.actor, &input, request_id(), Utc::now()).await?;
    Ok(if created {
        HttpResponse::Created().finish()
    } else {
        HttpResponse::NoContent().finish()
    })
}
