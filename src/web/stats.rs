//! `GET /api/v1/staff/stats` (issue #8): the figures of a reporting period
//! for the province, one agency or one field. An agency's lead always gets
//! their own agency's figures.

use actix_web::http::header::{CacheControl, CacheDirective};
use actix_web::{HttpResponse, web};
use chrono::{NaiveDate, Utc};
use serde::Deserialize;

use super::AppState;
use super::auth::Caller;
use super::problem::ApiError;
use crate::domain::feedback::FieldError;
use crate::domain::reporting::{Distribution, ReportPeriod, working_days_between};
use crate::domain::staff::{ApiScope, ItemScope, Permission};
use crate::domain::time::{vietnam_date, vietnam_instant};
use crate::store::statistics::StatsScope;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatsQuery {
    period: Option<String>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    agency: Option<String>,
    field: Option<String>,
}

pub async fn get_stats(
    caller: Caller,
    query: web::Query<StatsQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    // Staff within their scope; a reporting tool's key (`read_statistics`)
    // the province's figures, which carry no personal data.
    let item_scope = match &caller {
        Caller::Staff(staff) => staff.require(Permission::ReadStatistics)?.item_scope(),
        Caller::Integration(client) if client.may(ApiScope::ReadStatistics) => ItemScope::Province,
        Caller::Integration(_) => return Err(ApiError::forbidden()),
    };
    let q = query.into_inner();
    let mut errors = Vec::new();
    let period = match (&q.period, q.from, q.to) {
        (Some(p), None, None) => ReportPeriod::parse(p).map_err(|_| "period"),
        (None, Some(from), Some(to)) => ReportPeriod::range(from, to).map_err(|_| "to"),
        // Neither, or a mix of both.
        _ => Err("period"),
    };
    let period = match period {
        Ok(p) => Some(p),
        Err(field) => {
            errors.push(FieldError::new(field, "invalid_choice"));
            None
        }
    };
    let directory = state.store.directory_snapshot().await?;
    let mut scope = StatsScope::default();
    if let Some(code) = q.agency.as_deref().filter(|c| !c.is_empty()) {
        match directory.agencies.get(code) {
            Some(id) => scope.agency_id = Some(id.as_uuid()),
            None => errors.push(FieldError::new("agency", "unknown_code")),
        }
    }
    if let Some(code) = q.field.as_deref().filter(|c| !c.is_empty()) {
        match directory.fields.get(code) {
            Some(id) => scope.field_id = Some(id.as_uuid()),
            None => errors.push(FieldError::new("field", "unknown_code")),
        }
    }
    let Some(period) = period.filter(|_| errors.is_empty()) else {
        return Err(ApiError::validation(errors));
    };
    match item_scope {
        ItemScope::Province => {}
        ItemScope::OwnAgency(own) => {
            if scope.agency_id.is_some_and(|a| a != own.as_uuid()) {
                return Err(ApiError::forbidden());
            }
            scope.agency_id = Some(own.as_uuid());
        }
        ItemScope::Nothing => return Err(ApiError::forbidden()),
    }
    let cutoff = state.settings.reporting.cutoff_day;
    let dates = period.dates(cutoff);
    let from = vietnam_instant(dates.from, chrono::NaiveTime::MIN);
    let to = vietnam_instant(
        dates.to.succ_opt().unwrap_or(dates.to),
        chrono::NaiveTime::MIN,
    );
    let mut figures = state.store.statistics(scope, from, to, Utc::now()).await?;
    let calendar = state.calendar.current();
    figures.handling_working_days = Distribution::of(
        figures
            .answered_spans
            .iter()
            .map(|(received, answered)| {
                f64::from(working_days_between(
                    vietnam_date(*received),
                    vietnam_date(*answered),
                    |d| calendar.calendar.is_working_day(d),
                ))
            })
            .collect(),
    );
    let agency_code = scope.agency_id.and_then(|a| {
        directory
            .agency_names
            .get(&crate::domain::ids::AgencyId::from_uuid(a))
            .map(|(code, _)| code.clone())
    });
    Ok(HttpResponse::Ok()
        .insert_header(CacheControl(vec![
            CacheDirective::NoStore,
            CacheDirective::Private,
        ]))
        .json(serde_json::json!({
            "period": {
                "label": period.label_vi(),
                "from": dates.from,
                "to": dates.to,
                "cutoff_day": cutoff,
            },
            "scope": {
                "agency": agency_code,
                "field": q.field.filter(|f| !f.is_empty()),
            },
            "figures": figures,
        })))
}
