//! The national PAKN system's record over JSON: an item's national code
//! (`PUT /api/v1/staff/feedback/{tracking_code}/national-record`) and the
//! re-keying pack with its reconciliation
//! (`GET /api/v1/staff/national-backlog`, `.xlsx`). Who may do what is
//! `services::national`'s.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use chrono::{NaiveDate, Utc};
use rust_xlsxwriter::{Format, Workbook, XlsxError};
use serde::Deserialize;

use super::AppState;
use super::auth::Staff;
use super::private_json;
use super::problem::ApiError;
use crate::domain::feedback::FieldError;
use crate::domain::reporting::{DateRange, ReportPeriod};
use crate::domain::time::vietnam_date;
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

#[derive(Debug, Default, Deserialize)]
pub struct BacklogQuery {
    period: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

/// The period asked for: `period` (`2026`, `2026-H2`…) or `from`/`to`;
/// the current six months when neither is given.
fn dates(q: &BacklogQuery, state: &AppState) -> Result<DateRange, ApiError> {
    let cutoff = state.settings.reporting.cutoff_day;
    let bad = |field: &str| {
        ApiError::invalid_query(vec![FieldError::new(field.to_string(), "invalid_choice")])
    };
    let day = |value: &Option<String>, field: &'static str| {
        value
            .as_deref()
            .map(|v| NaiveDate::parse_from_str(v, "%Y-%m-%d").map_err(|_| bad(field)))
            .transpose()
    };
    let current = ReportPeriod::half_containing(vietnam_date(Utc::now()), cutoff);
    let period = super::stats::period_of(
        q.period.as_deref(),
        day(&q.from, "from")?,
        day(&q.to, "to")?,
        Some(current),
    )
    .map_err(bad)?;
    Ok(period.dates(cutoff))
}

async fn pack(staff: &Staff, q: &BacklogQuery, state: &AppState) -> Result<Pack, ApiError> {
    let dates = dates(q, state)?;
    national::pack(state, &staff.actor, dates, Utc::now())
        .await
        .map_err(super::subject::query_error)
}

/// `GET /api/v1/staff/national-backlog`
pub async fn backlog_api(
    staff: Staff,
    query: web::Query<BacklogQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    Ok(private_json(pack(&staff, &query, &state).await?))
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
    query: web::Query<BacklogQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let pack = pack(&staff, &query, &state).await?;
    let body = xlsx(&pack).map_err(|e| {
        tracing::error!(error = %e, "re-keying pack not written");
        ApiError::internal()
    })?;
    Ok(HttpResponse::Ok()
        .content_type("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!(
                "attachment; filename=\"cap-nhat-cong-dvcqg-{}_{}.xlsx\"",
                pack.from, pack.to
            ),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store, private"))
        .body(body))
}
