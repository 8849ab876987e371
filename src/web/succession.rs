//! Agency succession in the console (`/nhan-vien/quan-tri/sap-nhap`) and
//! over JSON (`/api/v1/admin/agency-successions`): the form, a preview of
//! what moves and to whom, then the apply behind an explicit confirmation.
//! The rules are `services::succession`'s.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::Utc;
use serde::Deserialize;

use super::AppState;
use super::accounts::{agency_options, form_pairs, get};
use super::auth::Staff;
use super::console::{Nav, Opt, check_origin, refused};
use super::html::{Flash, PageErrors, StaffPage, console_page, wants_html};
use super::private_json;
use super::problem::{ApiError, request_id};
use crate::domain::staff::Permission;
use crate::services::staff_items::StaffError;
use crate::services::succession::{self, SuccessionInput, SuccessionPreview, SuccessionRecord};
use crate::store::succession::StaffChoice;

/// How many field-by-field rows the form offers.
const SPLIT_ROWS: usize = 3;

/// The form as typed.
#[derive(Default, Clone)]
pub struct Typed {
    pub from: Vec<String>,
    pub to: String,
    pub on: String,
    pub fields: Vec<(String, String)>,
    pub disable_staff: bool,
}

/// One field-by-field row of the form.
pub struct SplitRow {
    pub index: usize,
    /// What was chosen: field code, agency code.
    pub field: String,
    pub agency: String,
    pub fields: Vec<Opt>,
    pub agencies: Vec<Opt>,
}

#[derive(Template)]
#[template(path = "console_succession.html", config = "config/askama.toml")]
struct SuccessionPage {
    nav: Nav,
    typed: Typed,
    from_options: Vec<Opt>,
    to_options: Vec<Opt>,
    split: Vec<SplitRow>,
    errors: PageErrors,
    flash: Option<Flash>,
    preview: Option<SuccessionPreview>,
    records: Vec<SuccessionRecord>,
}

fn label(field: &str) -> (String, &'static str) {
    let (anchor, label) = match field {
        "from" => ("from", "Cơ quan được sắp xếp"),
        "to" => ("to", "Cơ quan kế thừa"),
        "on" => ("on", "Từ ngày"),
        f if f.starts_with("by_field.") => {
            let i = f.split('.').nth(1).unwrap_or("0");
            if f.ends_with(".field") {
                return (format!("field_{i}"), "Lĩnh vực tách riêng");
            }
            return (format!("agency_{i}"), "Cơ quan nhận lĩnh vực");
        }
        _ => ("from", "Thông tin"),
    };
    (anchor.to_string(), label)
}

fn input_of(typed: &Typed) -> SuccessionInput {
    SuccessionInput {
        from: typed.from.clone(),
        to: typed.to.clone(),
        on: typed.on.clone(),
        by_field: typed.fields.clone(),
        staff: if typed.disable_staff {
            StaffChoice::Disable
        } else {
            StaffChoice::Move
        },
    }
}

fn read(body: &[u8]) -> Result<(Typed, String, bool), ApiError> {
    let pairs = form_pairs(body)?;
    let from = pairs
        .iter()
        .filter(|(k, v)| k == "from" && !v.trim().is_empty())
        .map(|(_, v)| v.trim().to_string())
        .collect();
    let fields = (0..SPLIT_ROWS)
        .map(|i| {
            (
                get(&pairs, &format!("field_{i}")),
                get(&pairs, &format!("agency_{i}")),
            )
        })
        .collect();
    Ok((
        Typed {
            from,
            to: get(&pairs, "to"),
            on: get(&pairs, "on"),
            fields,
            disable_staff: get(&pairs, "staff") == "disable",
        },
        get(&pairs, "buoc"),
        get(&pairs, "xac_nhan") == "on",
    ))
}

async fn render(
    state: &AppState,
    staff: &StaffPage,
    typed: Typed,
    errors: PageErrors,
    flash: Option<Flash>,
    preview: Option<SuccessionPreview>,
    status: StatusCode,
) -> Result<HttpResponse, ApiError> {
    staff.require(Permission::ManageDirectory)?;
    let all = agency_options(state, "").await?;
    let pick = |selected: &dyn Fn(&str) -> bool| -> Vec<Opt> {
        all.iter()
            .map(|o| Opt {
                value: o.value.clone(),
                label: o.label.clone(),
                selected: selected(&o.value),
            })
            .collect()
    };
    let fields = state.store.list_fields().await?;
    let split = (0..SPLIT_ROWS)
        .map(|i| {
            let (f, a) = typed.fields.get(i).cloned().unwrap_or_default();
            SplitRow {
                index: i,
                field: f.clone(),
                agency: a.clone(),
                fields: fields
                    .iter()
                    .map(|x| Opt {
                        value: x.code.clone(),
                        label: x.name.clone(),
                        selected: x.code == f,
                    })
                    .collect(),
                agencies: pick(&|v| v == a),
            }
        })
        .collect();
    console_page(
        status,
        &SuccessionPage {
            nav: Nav::of(state, &staff.actor, "quan-tri"),
            from_options: pick(&|v| typed.from.iter().any(|f| f == v)),
            to_options: pick(&|v| v == typed.to),
            split,
            typed,
            errors,
            flash,
            preview,
            records: succession::records(&state.store).await?,
        },
    )
}

/// `GET /nhan-vien/quan-tri/sap-nhap`
pub async fn page(req: HttpRequest, staff: StaffPage, state: web::Data<AppState>) -> HttpResponse {
    let typed = Typed {
        on: crate::domain::time::vietnam_date(Utc::now())
            .format("%Y-%m-%d")
            .to_string(),
        ..Typed::default()
    };
    render(
        &state,
        &staff,
        typed,
        PageErrors::default(),
        None,
        None,
        StatusCode::OK,
    )
    .await
    .unwrap_or_else(|e| refused(&req, &state, e))
}

/// `POST /nhan-vien/quan-tri/sap-nhap`: `buoc=xem-truoc` previews;
/// `buoc=ap-dung` with `xac_nhan=on` applies.
pub async fn post(
    req: HttpRequest,
    staff: StaffPage,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    let result = async {
        check_origin(&req, &state)?;
        let (typed, step, confirmed) = read(&body)?;
        let input = input_of(&typed);
        let now = Utc::now();
        let outcome = if step == "ap-dung" && confirmed {
            succession::apply(&state.store, Some(&staff.actor), &input, request_id(), now)
                .await
        } else {
            succession::preview(&state.store, Some(&staff.actor), &input, now).await
        };
        match outcome {
            Ok(report) if report.moved.is_some() => {
                let flash = Flash::done(format!(
                    "Đã áp dụng: {} phản ánh đang xử lý chuyển sang {}; các cơ quan cũ không còn nhận phản ánh từ ngày {}.",
                    report.moved.unwrap_or(0),
                    report.to_name,
                    report.on_vi()
                ));
                render(
                    &state,
                    &staff,
                    Typed::default(),
                    PageErrors::default(),
                    Some(flash),
                    Some(report),
                    StatusCode::OK,
                )
                .await
            }
            Ok(preview) => {
                let flash = (step == "ap-dung").then(|| {
                    Flash::error("Chưa áp dụng: vui lòng đánh dấu ô xác nhận rồi bấm lại.")
                });
                render(
                    &state,
                    &staff,
                    typed,
                    PageErrors::default(),
                    flash,
                    Some(preview),
                    StatusCode::OK,
                )
                .await
            }
            Err(StaffError::Invalid(errors)) if wants_html(&req) => {
                render(
                    &state,
                    &staff,
                    typed,
                    PageErrors::from_fields(&errors, label),
                    Some(Flash::error("Chưa xem trước được: vui lòng sửa các mục được nêu.")),
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuccessionBody {
    from: Vec<String>,
    to: String,
    on: String,
    #[serde(default)]
    by_field: std::collections::BTreeMap<String, String>,
    #[serde(default = "default_staff")]
    staff: String,
    #[serde(default)]
    dry_run: bool,
}

fn default_staff() -> String {
    "move".into()
}

/// `POST /api/v1/admin/agency-successions`: a preview with `dry_run`,
/// else applied (201).
pub async fn create_api(
    staff: Staff,
    body: web::Json<SuccessionBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let choice = match body.staff.as_str() {
        "move" => StaffChoice::Move,
        "disable" => StaffChoice::Disable,
        _ => {
            return Err(ApiError::validation(vec![
                crate::domain::feedback::FieldError::new("staff", "invalid_choice"),
            ]));
        }
    };
    let input = SuccessionInput {
        from: body.from,
        to: body.to,
        on: body.on,
        by_field: body.by_field.into_iter().collect(),
        staff: choice,
    };
    let now = Utc::now();
    if body.dry_run {
        Ok(private_json(
            succession::preview(&state.store, Some(&staff.actor), &input, now).await?,
        ))
    } else {
        let report =
            succession::apply(&state.store, Some(&staff.actor), &input, request_id(), now).await?;
        Ok(HttpResponse::Created()
            .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store, private"))
            .json(report))
    }
}

/// `GET /api/v1/admin/agency-successions`
pub async fn list_api(staff: Staff, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    staff.require(Permission::ManageDirectory)?;
    Ok(private_json(serde_json::json!({
        "items": succession::records(&state.store).await?
    })))
}
