//! `GET /api/v1/staff/stats`: the figures of a reporting period
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
use crate::domain::reporting::{
    DateRange, Distribution, ReportPeriod, Statistics, handling_working_days,
};
use crate::domain::staff::{ApiScope, ItemScope, Permission};
use crate::domain::time::vietnam_date;
use crate::store::directory_cache::DirectorySnapshot;
use crate::store::statistics::StatsScope;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatsQuery {
    pub period: Option<String>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub agency: Option<String>,
    pub field: Option<String>,
    /// `1`: agencies merged in a reorganisation are shown each alone, not
    /// rolled up into their successor.
    pub tach_rieng: Option<String>,
}

/// A report's period and scope, resolved, with its figures.
pub struct Figures {
    pub period: ReportPeriod,
    pub dates: DateRange,
    pub scope: StatsScope,
    pub agency_code: Option<String>,
    pub field_code: Option<String>,
    pub statistics: Statistics,
}

/// The period a query names: `period` alone (`2026`, `2026-H2`), or
/// `from` and `to`; `default` when neither (an empty `period` counts as
/// none). Otherwise the field to blame.
pub(super) fn period_of(
    period: Option<&str>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    default: Option<ReportPeriod>,
) -> Result<ReportPeriod, &'static str> {
    match (period.filter(|p| !p.is_empty()), from, to) {
        (Some(p), None, None) => ReportPeriod::parse(p).map_err(|_| "period"),
        (None, Some(from), Some(to)) => ReportPeriod::range(from, to).map_err(|_| "to"),
        (None, None, None) => default.ok_or("period"),
        // A mix of both.
        _ => Err("period"),
    }
}

/// A period as the console pages and their JSON twins take it: `period`
/// (`2026`, `2026-H2`…) or `from`/`to`.
#[derive(Debug, Default, Deserialize)]
pub struct PeriodQuery {
    period: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

impl PeriodQuery {
    pub(super) fn new(period: Option<String>, from: Option<String>, to: Option<String>) -> Self {
        Self { period, from, to }
    }

    /// The query string of this period, empty parts left out.
    pub(super) fn query_string(&self) -> String {
        let mut pairs = Vec::new();
        for (k, v) in [
            ("period", &self.period),
            ("from", &self.from),
            ("to", &self.to),
        ] {
            if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                pairs.push((k, v));
            }
        }
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    }
}

/// The period asked for: `period` (`2026`, `2026-H2`…) or `from`/`to`;
/// the current six months when neither is given.
pub(super) fn dates(q: &PeriodQuery, state: &AppState) -> Result<DateRange, ApiError> {
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
    let period = period_of(
        q.period.as_deref(),
        day(&q.from, "from")?,
        day(&q.to, "to")?,
        Some(current),
    )
    .map_err(bad)?;
    Ok(period.dates(cutoff))
}

/// The period and scope a request asks for, within what the reader may
/// see: an agency's lead always gets their own agency. `default_period`
/// stands in when the request names none (the pages open on the current
/// six months).
pub(super) fn resolve(
    q: &StatsQuery,
    item_scope: ItemScope,
    directory: &DirectorySnapshot,
    default_period: Option<ReportPeriod>,
) -> Result<(ReportPeriod, StatsScope), ApiError> {
    let mut errors = Vec::new();
    let period = match period_of(q.period.as_deref(), q.from, q.to, default_period) {
        Ok(p) => Some(p),
        Err(field) => {
            errors.push(FieldError::new(field, "invalid_choice"));
            None
        }
    };
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
    scope.separate = matches!(q.tach_rieng.as_deref(), Some("1" | "true" | "on"));
    let Some(period) = period.filter(|_| errors.is_empty()) else {
        return Err(ApiError::invalid_query(errors));
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
    // An agency's figures include the history of those it succeeded.
    if let Some(own) = scope.agency_id
        && !scope.separate
        && let Some(code) = directory.agency_code(Some(own))
    {
        scope.predecessors = directory
            .successor_codes
            .iter()
            .filter(|(_, to)| to.as_str() == code)
            .filter_map(|(from, _)| directory.agencies.get(from).map(|id| id.as_uuid()))
            .collect();
    }
    Ok((period, scope))
}

/// The figures of a resolved period and scope, working days counted on
/// the calendar in force.
pub(super) async fn figures(
    state: &AppState,
    directory: &DirectorySnapshot,
    period: ReportPeriod,
    scope: StatsScope,
) -> Result<Figures, ApiError> {
    let dates = period.dates(state.settings.reporting.cutoff_day);
    let (from, to) = dates.instants();
    let mut statistics = state
        .store
        .statistics(scope.clone(), from, to, Utc::now())
        .await?;
    let calendar = state.calendar.current();
    // Kept with each answer when it was sent; counted here for answers
    // sent before that was kept.
    let counted = statistics
        .answered_spans
        .iter()
        .map(|(received, answered)| {
            (
                handling_working_days(&calendar.calendar, *received, *answered),
                1,
            )
        });
    statistics.handling_working_days = Distribution::of_counts(
        statistics
            .answered_working_days_kept
            .iter()
            .copied()
            .chain(counted),
    );
    Ok(Figures {
        period,
        dates,
        agency_code: directory.agency_code(scope.agency_id).map(str::to_string),
        field_code: directory.field_code(scope.field_id).map(str::to_string),
        scope,
        statistics,
    })
}

/// `GET /api/v1/staff/stats`
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
    let directory = state.store.directory_snapshot().await?;
    let (period, scope) = resolve(&query, item_scope, &directory, None)?;
    let f = figures(&state, &directory, period, scope).await?;
    Ok(HttpResponse::Ok()
        .insert_header(CacheControl(vec![
            CacheDirective::NoStore,
            CacheDirective::Private,
        ]))
        .json(serde_json::json!({
            "period": {
                "label": period.label_vi(),
                "from": f.dates.from,
                "to": f.dates.to,
                "cutoff_day": state.settings.reporting.cutoff_day,
            },
            "scope": {
                "agency": f.agency_code,
                "field": f.field_code,
            },
            "figures": f.statistics,
        })))
}
