//! The working-day calendar in the console (`/nhan-vien/quan-tri/lich`)
//! and the JSON preview of an edit (`/api/v1/admin/calendar/preview`).
//! The rules are `services::calendar_admin`'s; saving goes through the
//! same calendar service as `PUT /api/v1/admin/calendar/days/{date}`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::{Datelike, Utc};
use serde::Deserialize;

use super::AppState;
use super::accounts::{form_pairs, get};
use super::auth::Staff;
use super::console::{Nav, Opt, check_origin, refused};
use super::html::{Flash, PageErrors, StaffPage, console_page, see_other, wants_html};
use super::private_json;
use super::problem::{ApiError, request_id};
use crate::services::calendar::YearView;
use crate::services::calendar_admin::{self, DayInput, DayPreview};
use crate::services::staff_items::StaffError;

const KINDS: [(&str, &str); 4] = [
    ("holiday", "Ngày lễ, Tết (nghỉ theo luật)"),
    ("day_off", "Ngày nghỉ (nghỉ bù, hoán đổi)"),
    ("working_day", "Ngày làm việc bù (thứ Bảy, Chủ nhật đi làm)"),
    ("remove", "Bỏ điều chỉnh, trở về mặc định"),
];

fn label(field: &str) -> (String, &'static str) {
    let label = match field {
        "date" => "Ngày",
        "kind" => "Loại ngày",
        "name" => "Tên ngày",
        "source" => "Văn bản căn cứ",
        _ => "Thông tin",
    };
    (field.to_string(), label)
}

fn kind_label(kind: &str) -> &'static str {
    KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or("", |(_, l)| *l)
}

#[derive(Template)]
#[template(path = "console_calendar.html", config = "config/askama.toml")]
struct CalendarPage {
    nav: Nav,
    view: YearView,
    kinds: Vec<Opt>,
    input: DayInput,
    errors: PageErrors,
    flash: Option<Flash>,
    preview: Option<DayPreview>,
}

impl CalendarPage {
    fn kind_of(&self, kind: &crate::domain::calendar::holidays::DayKind) -> &'static str {
        let key = serde_json::to_value(kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        kind_label(&key)
    }

    fn date_vi(&self, date: &str) -> String {
        chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d")
            .map(|d| d.format("%d/%m/%Y").to_string())
            .unwrap_or_else(|_| date.to_string())
    }
}

#[derive(Deserialize, Default)]
pub struct YearQuery {
    nam: Option<i32>,
    #[serde(default)]
    xong: Option<String>,
    #[serde(default)]
    moved: Option<usize>,
}

async fn render(
    state: &AppState,
    staff: &StaffPage,
    year: i32,
    (input, errors): (DayInput, PageErrors),
    flash: Option<Flash>,
    preview: Option<DayPreview>,
    status: StatusCode,
) -> Result<HttpResponse, ApiError> {
    let view = calendar_admin::year(state, &staff.actor, year)?;
    let kinds = KINDS
        .iter()
        .map(|(v, l)| Opt {
            value: (*v).into(),
            label: (*l).into(),
            selected: input.kind == *v,
        })
        .collect();
    console_page(
        status,
        &CalendarPage {
            nav: Nav::of(state, &staff.actor, "quan-tri"),
            view,
            kinds,
            input,
            errors,
            flash,
            preview,
        },
    )
}

/// `GET /nhan-vien/quan-tri/lich?nam=2026`
pub async fn page(
    req: HttpRequest,
    staff: StaffPage,
    query: web::Query<YearQuery>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let q = query.into_inner();
    let year = q
        .nam
        .unwrap_or_else(|| crate::domain::time::vietnam_date(Utc::now()).year());
    let flash = (q.xong.as_deref() == Some("luu")).then(|| {
        Flash::done(format!(
            "Đã lưu; {} thời hạn của phản ánh đang xử lý được tính lại theo lịch mới.",
            q.moved.unwrap_or(0)
        ))
    });
    render(
        &state,
        &staff,
        year,
        (DayInput::default(), PageErrors::default()),
        flash,
        None,
        StatusCode::OK,
    )
    .await
    .unwrap_or_else(|e| refused(&req, &state, e))
}

/// `POST /nhan-vien/quan-tri/lich`: `buoc=xem-truoc` shows which due
/// dates would move; `buoc=luu` with `xac_nhan=on` saves.
pub async fn post(
    req: HttpRequest,
    staff: StaffPage,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    let result = async {
        check_origin(&req, &state)?;
        let pairs = form_pairs(&body)?;
        let input = DayInput {
            date: get(&pairs, "date"),
            kind: get(&pairs, "kind"),
            name: get(&pairs, "name"),
            source: get(&pairs, "source"),
            confirmed: get(&pairs, "confirmed") == "on",
        };
        let year = chrono::NaiveDate::parse_from_str(input.date.trim(), "%Y-%m-%d")
            .map(|d| d.year())
            .unwrap_or_else(|_| crate::domain::time::vietnam_date(Utc::now()).year());
        let saving = get(&pairs, "buoc") == "luu" && get(&pairs, "xac_nhan") == "on";
        let outcome = if saving {
            calendar_admin::save(&state, &staff.actor, &input, request_id(), Utc::now())
                .await
                .map(Err)
        } else {
            calendar_admin::preview(&state, &staff.actor, &input)
                .await
                .map(Ok)
        };
        match outcome {
            Ok(Err(moved)) => Ok(see_other(&format!(
                "/nhan-vien/quan-tri/lich?nam={year}&xong=luu&moved={moved}"
            ))),
            Ok(Ok(preview)) => {
                let flash = (get(&pairs, "buoc") == "luu")
                    .then(|| Flash::error("Chưa lưu: vui lòng đánh dấu ô xác nhận rồi bấm lại."));
                render(
                    &state,
                    &staff,
                    year,
                    (input, PageErrors::default()),
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
                    year,
                    (input, PageErrors::from_fields(&errors, label)),
                    Some(Flash::error(
                        "Chưa xem trước được: vui lòng sửa các mục được nêu.",
                    )),
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
pub struct PreviewBody {
    date: String,
    kind: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    source: String,
    #[serde(default)]
    confirmed: bool,
}

/// `POST /api/v1/admin/calendar/preview`: which open due dates an edit
/// would move; nothing changes.
pub async fn preview_api(
    staff: Staff,
    body: web::Json<PreviewBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let input = DayInput {
        date: b.date,
        kind: b.kind,
        name: b.name,
        source: b.source,
        confirmed: b.confirmed,
    };
    Ok(private_json(
        calendar_admin::preview(&state, &staff.actor, &input).await?,
    ))
}
