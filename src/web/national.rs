//! The national PAKN system's record over JSON: an item's national code
//! (`PUT /api/v1/staff/feedback/{tracking_code}/national-record`) and the
//! re-keying pack with its reconciliation
//! (`GET /api/v1/staff/national-backlog`, `.xlsx`), and the console page
//! the office works the backlog from (`/nhan-vien/cong-quoc-gia`). Who may
//! do what is `services::national`'s.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::{NaiveDate, Utc};
use rust_xlsxwriter::{Format, Workbook, XlsxError};
use serde::Deserialize;

use super::AppState;
use super::auth::Staff;
use super::console::{Nav, check_origin, refused};
use super::html::{Flash, StaffPage, console_page, see_other};
use super::private_json;
use super::problem::ApiError;
use super::stats::{PeriodQuery, dates};
use crate::services::national::{self, Pack};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordBody {
    national_code: String,
    #[serde(default)]
    reason: Option<String>,
}

/// `PUT /api/v1/staff/feedback/{tracking_code}/national-record`
pub async fn record_api(
    staff: Staff,
    path: web::Path<String>,
    body: web::Json<RecordBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let view = national::record(
        &state,
        &staff.actor,
        &path.into_inner(),
        &b.national_code,
        b.reason.as_deref(),
        Utc::now(),
    )
    .await?;
    Ok(private_json(view))
}

async fn pack(
    actor: &crate::domain::staff::Actor,
    q: &PeriodQuery,
    state: &AppState,
) -> Result<Pack, ApiError> {
    let dates = dates(q, state)?;
    national::pack(state, actor, dates, Utc::now())
        .await
        .map_err(super::subject::query_error)
}

/// `GET /api/v1/staff/national-backlog`
pub async fn backlog_api(
    staff: Staff,
    query: web::Query<PeriodQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    Ok(private_json(pack(&staff.actor, &query, &state).await?))
}

fn xlsx(pack: &Pack) -> Result<Vec<u8>, XlsxError> {
    let rows = national::pack_rows(pack);
    let mut workbook = Workbook::new();
    let bold = Format::new().set_bold();
    let sheet = workbook.add_worksheet();
    sheet.set_name("Cập nhật Cổng DVCQG")?;
    for (r, row) in rows.iter().enumerate() {
        for (c, text) in row.iter().enumerate() {
            // Text cells: never a formula, whatever a citizen wrote.
            if r == 0 {
                sheet.write_string_with_format(0, c as u16, text, &bold)?;
            } else {
                sheet.write_string(r as u32, c as u16, text)?;
            }
        }
    }
    for c in 0..rows[0].len() as u16 {
        sheet.set_column_width(c, if c == 10 { 60 } else { 20 })?;
    }
    sheet.set_freeze_panes(1, 0)?;
    workbook.save_to_buffer()
}

/// `GET /api/v1/staff/national-backlog.xlsx`
pub async fn backlog_xlsx(
    staff: Staff,
    query: web::Query<PeriodQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    xlsx_response(&pack(&staff.actor, &query, &state).await?)
}

fn xlsx_response(pack: &Pack) -> Result<HttpResponse, ApiError> {
    let body = xlsx(pack).map_err(|e| {
        tracing::error!(error = %e, "re-keying pack not written");
        ApiError::internal()
    })?;
    Ok(super::reports::download(
        super::reports::XLSX,
        format!("cap-nhat-cong-dvcqg-{}_{}.xlsx", pack.from, pack.to),
        body,
    ))
}

/// One item of the backlog as the page lists it.
struct Row {
    item: national::PackItem,
    received_vi: String,
    due_vi: String,
    /// What was typed for it when recording failed, and why.
    typed: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "console_national.html", config = "config/askama.toml")]
struct NationalPage {
    nav: Nav,
    from: String,
    to: String,
    from_vi: String,
    to_vi: String,
    query: String,
    pack: Pack,
    rows: Vec<Row>,
    flash: Option<Flash>,
}

/// What failed for one item.
struct Failed {
    tracking_code: String,
    typed: String,
    message: String,
}

async fn render(
    state: &AppState,
    staff: &StaffPage,
    q: &PeriodQuery,
    flash: Option<Flash>,
    failed: Option<Failed>,
) -> Result<HttpResponse, ApiError> {
    let pack = pack(&staff.actor, q, state).await?;
    let status = if failed.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let rows = pack
        .items
        .iter()
        .map(|i| {
            let mine = failed
                .as_ref()
                .filter(|f| f.tracking_code == i.tracking_code);
            Row {
                received_vi: i
                    .received_at
                    .get(..10)
                    .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                    .map(|d| d.format("%d/%m/%Y").to_string())
                    .unwrap_or_default(),
                due_vi: i.due_on.format("%d/%m/%Y").to_string(),
                typed: mine.map(|f| f.typed.clone()).unwrap_or_default(),
                error: mine.map(|f| f.message.clone()),
                item: i.clone(),
            }
        })
        .collect();
    let own = PeriodQuery::new(None, Some(pack.from.to_string()), Some(pack.to.to_string()));
    console_page(
        status,
        &NationalPage {
            nav: Nav::of(state, &staff.actor, "cong-quoc-gia"),
            from: pack.from.to_string(),
            to: pack.to.to_string(),
            from_vi: pack.from.format("%d/%m/%Y").to_string(),
            to_vi: pack.to.format("%d/%m/%Y").to_string(),
            query: own.query_string(),
            pack,
            rows,
            flash,
        },
    )
}

#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    period: Option<String>,
    from: Option<String>,
    to: Option<String>,
    xong: Option<String>,
}

/// `GET /nhan-vien/cong-quoc-gia`: the backlog to re-key, item by item,
/// with a field for the national code of each.
pub async fn page(
    req: HttpRequest,
    staff: StaffPage,
    query: web::Query<PageQuery>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let q = query.into_inner();
    // Only a tracking code is echoed back.
    let flash = q
        .xong
        .as_deref()
        .filter(|c| c.parse::<crate::domain::tracking::TrackingCode>().is_ok())
        .map(|c| Flash::done(format!("Đã ghi mã PAKN quốc gia cho {c}.")));
    let backlog = PeriodQuery::new(q.period, q.from, q.to);
    render(&state, &staff, &backlog, flash, None)
        .await
        .unwrap_or_else(|e| refused(&req, &state, e))
}

/// `GET /nhan-vien/cong-quoc-gia.xlsx`
pub async fn page_xlsx(
    req: HttpRequest,
    staff: StaffPage,
    query: web::Query<PeriodQuery>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let result = async { xlsx_response(&pack(&staff.actor, &query, &state).await?) }.await;
    result.unwrap_or_else(|e| refused(&req, &state, e))
}

#[derive(Debug, Default, Deserialize)]
struct RecordForm {
    #[serde(default)]
    tracking_code: String,
    #[serde(default)]
    national_code: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

/// `POST /nhan-vien/cong-quoc-gia`: records one item's national code and
/// comes back to the same period; a mistake is shown next to that item's
/// field with what was typed.
pub async fn record_page(
    req: HttpRequest,
    staff: StaffPage,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    let result = async {
        check_origin(&req, &state)?;
        let form: RecordForm = serde_urlencoded::from_bytes(&body).unwrap_or_default();
        let period = PeriodQuery::new(
            None,
            Some(form.from.clone()).filter(|v| !v.is_empty()),
            Some(form.to.clone()).filter(|v| !v.is_empty()),
        );
        match national::record(
            &state,
            &staff.actor,
            &form.tracking_code,
            &form.national_code,
            None,
            Utc::now(),
        )
        .await
        {
            Ok(view) => {
                let mut q = period.query_string();
                if !q.is_empty() {
                    q.push('&');
                }
                q.push_str(
                    &serde_urlencoded::to_string([("xong", &view.tracking_code)])
                        .unwrap_or_default(),
                );
                Ok(see_other(&format!("/nhan-vien/cong-quoc-gia?{q}#ket-qua")))
            }
            Err(crate::services::staff_items::StaffError::Invalid(errors)) => {
                let message = errors
                    .iter()
                    .map(|e| e.message.to_string())
                    .collect::<Vec<_>>()
                    .join(" ");
                let failed = Failed {
                    tracking_code: form.tracking_code.trim().to_ascii_uppercase(),
                    typed: form.national_code,
                    message,
                };
                render(&state, &staff, &period, None, Some(failed)).await
            }
            Err(e) => Err(e.into()),
        }
    }
    .await;
    result.unwrap_or_else(|e| refused(&req, &state, e))
}
