//! The working-day calendar, public: a year's days off and swapped working
//! days (JSON and iCalendar) and the working-day calculator portals use to
//! tell citizens when to expect an answer.

use actix_web::http::header::{
    CacheControl, CacheDirective, ContentDisposition, DispositionParam, DispositionType,
};
use actix_web::{HttpResponse, web};
use chrono::{Datelike, NaiveDate, Utc};
use serde::Deserialize;

use super::AppState;
use super::auth::Staff;
use super::problem::ApiError;
use crate::domain::calendar::ics;
use crate::domain::calendar::lunar::{FIRST_YEAR, LAST_YEAR};
use crate::domain::calendar::working_days::MAX_PERIOD_DAYS;
use crate::domain::deadline::PeriodUnit;
use crate::domain::staff::Permission;
use crate::services::calendar::weekday_vi;

/// Calendars change a few times a year; a short cache keeps edits visible
/// within minutes.
fn cacheable() -> CacheControl {
    CacheControl(vec![CacheDirective::Public, CacheDirective::MaxAge(300)])
}

fn parse_year(raw: &str) -> Result<i32, ApiError> {
    raw.parse::<i32>()
        .ok()
        .filter(|y| (FIRST_YEAR..=LAST_YEAR).contains(y))
        .ok_or_else(ApiError::not_found)
}

/// `GET /api/v1/calendar/{year}`
pub async fn get_year(
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let year = parse_year(&path.into_inner())?;
    let view = state
        .calendar
        .year_view(year)
        .ok_or_else(ApiError::not_found)?;
    Ok(HttpResponse::Ok().insert_header(cacheable()).json(view))
}

/// `GET /api/v1/calendar/{year}.ics`
pub async fn get_year_ics(
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let year = parse_year(&path.into_inner())?;
    let snapshot = state.calendar.current();
    let days = snapshot.calendar.schedule(year);
    let stamp = snapshot.changed_at.unwrap_or_else(|| {
        NaiveDate::from_ymd_opt(2026, 1, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|d| d.and_utc())
            .unwrap_or_else(Utc::now)
    });
    let body = ics::render(year, &days, snapshot.version, stamp);
    Ok(HttpResponse::Ok()
        .insert_header(cacheable())
        .insert_header(ContentDisposition {
            disposition: DispositionType::Inline,
            parameters: vec![DispositionParam::Filename(format!(
                "lich-lam-viec-{year}.ics"
            ))],
        })
        .content_type("text/calendar; charset=utf-8")
        .body(body))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddQuery {
    from: Option<String>,
    days: Option<String>,
    unit: Option<String>,
}

/// `GET /api/v1/calendar/add-working-days?from=YYYY-MM-DD&days=N[&unit=]`
pub async fn add_working_days(
    query: web::Query<AddQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let from = q
        .from
        .as_deref()
        .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
        .filter(|d| (FIRST_YEAR..=LAST_YEAR - 15).contains(&d.year()))
        .ok_or_else(|| {
            ApiError::malformed(format!(
                "Tham số from phải là một ngày dạng YYYY-MM-DD trong các năm {FIRST_YEAR}–{}.",
                LAST_YEAR - 15
            ))
        })?;
    let days = q
        .days
        .as_deref()
        .and_then(|s| s.parse::<u32>().ok())
        .filter(|d| *d <= MAX_PERIOD_DAYS)
        .ok_or_else(|| {
            ApiError::malformed(format!(
                "Tham số days phải là số nguyên từ 0 đến {MAX_PERIOD_DAYS}."
            ))
        })?;
    let unit = match q.unit.as_deref() {
        None | Some("working_days") => PeriodUnit::WorkingDays,
        Some("calendar_days") => PeriodUnit::CalendarDays,
        Some(_) => {
            return Err(ApiError::malformed(
                "Tham số unit chỉ nhận working_days (ngày làm việc) hoặc calendar_days (ngày).",
            ));
        }
    };
    let snapshot = state.calendar.current();
    let (due, skipped) = match unit {
        PeriodUnit::WorkingDays => snapshot.calendar.add_working_days(from, days),
        PeriodUnit::CalendarDays => snapshot.calendar.add_calendar_days(from, days),
    };
    let skipped: Vec<serde_json::Value> = skipped
        .iter()
        .map(|s| serde_json::json!({"date": s.date.to_string(), "weekday": weekday_vi(s.date), "reason": s.reason}))
        .collect();
    Ok(HttpResponse::Ok()
        .insert_header(cacheable())
        .json(serde_json::json!({
            "from": from.to_string(),
            "days": days,
            "unit": unit.as_str(),
            "due": due.to_string(),
            "due_weekday": weekday_vi(due),
            "skipped": skipped,
            "calendar_version": snapshot.version,
        })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DayBody {
    kind: crate::domain::calendar::holidays::DayKind,
    name: String,
    source: String,
    #[serde(default = "yes")]
    confirmed: bool,
    reason: Option<String>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RemoveQuery {
    reason: Option<String>,
}

fn parse_date(raw: &str) -> Result<NaiveDate, ApiError> {
    NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| ApiError::not_found())
}

/// An optional reason, cleaned (no control characters) and bounded.
fn reason(raw: Option<String>, default: String) -> Result<String, ApiError> {
    let cleaned = raw
        .map(|r| crate::domain::text::clean_line(&r))
        .filter(|r| !r.is_empty());
    match cleaned {
        Some(r) if r.chars().count() > 500 => Err(ApiError::validation(vec![
            crate::domain::feedback::FieldError::new("reason", "too_long"),
        ])),
        Some(r) => Ok(r),
        None => Ok(default),
    }
}

fn change(staff: &Staff, summary: String) -> crate::store::calendar::CalendarChange {
    crate::store::calendar::CalendarChange {
        actor_kind: "staff".into(),
        actor: staff.actor.username.clone(),
        summary,
        request_id: super::problem::REQUEST_ID.try_with(Clone::clone).ok(),
    }
}

/// `PUT /api/v1/admin/calendar/days/{date}`: add or correct one day.
pub async fn put_day(
    staff: Staff,
    path: web::Path<String>,
    body: web::Json<DayBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    staff.require(Permission::EditCalendar)?;
    let date = parse_date(&path.into_inner())?;
    let body = body.into_inner();
    let day = crate::domain::calendar::holidays::ScheduledDay {
        date,
        kind: body.kind,
        name: crate::domain::text::clean_line(&body.name),
        source: crate::domain::text::clean_line(&body.source),
        confirmed: body.confirmed,
    };
    let summary = reason(body.reason, format!("Cập nhật ngày {date}"))?;
    let now = Utc::now();
    let version = state
        .calendar
        .set_day(&day, &change(&staff, summary), now)
        .await?;
    let (recomputed, moved) = state.deadlines.recompute_behind(&state.store, now).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "calendar_version": version,
        "date": date.to_string(),
        "recomputed": recomputed,
        "moved": moved,
    })))
}

/// `DELETE /api/v1/admin/calendar/days/{date}`: remove one day's entry.
pub async fn delete_day(
    staff: Staff,
    path: web::Path<String>,
    query: web::Query<RemoveQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    staff.require(Permission::EditCalendar)?;
    let date = parse_date(&path.into_inner())?;
    let summary = reason(
        query.into_inner().reason,
        format!("Bỏ ngày {date} khỏi lịch"),
    )?;
    let now = Utc::now();
    let Some(version) = state
        .calendar
        .remove_day(date, &change(&staff, summary), now)
        .await?
    else {
        return Err(ApiError::not_found());
    };
    let (recomputed, moved) = state.deadlines.recompute_behind(&state.store, now).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "calendar_version": version,
        "date": date.to_string(),
        "recomputed": recomputed,
        "moved": moved,
    })))
}
