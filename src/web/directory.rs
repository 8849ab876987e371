//! Directory reads for portal forms: agencies, fields, administrative units.

use actix_web::http::header::{CacheControl, CacheDirective};
use actix_web::{HttpResponse, web};
use chrono::Utc;
use serde::Deserialize;

use super::AppState;
use super::problem::ApiError;
use crate::domain::directory::AgencyFilter;
use crate::domain::time::vietnam_date;

fn cacheable() -> CacheControl {
    CacheControl(vec![CacheDirective::Public, CacheDirective::MaxAge(300)])
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgencyQuery {
    level: Option<String>,
    kind: Option<String>,
    province_code: Option<String>,
    field_code: Option<String>,
    #[serde(default)]
    include_inactive: bool,
}

/// `GET /api/v1/agencies`
pub async fn list_agencies(
    query: web::Query<AgencyQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let filter = AgencyFilter {
        level: q.level,
        kind: q.kind,
        province_code: q.province_code,
        field_code: q.field_code,
        include_inactive: q.include_inactive,
    };
    let items = state
        .store
        .list_agencies(&filter, vietnam_date(Utc::now()))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(cacheable())
        .json(serde_json::json!({ "items": items })))
}

/// `GET /api/v1/fields`
pub async fn list_fields(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let items = state.store.list_fields().await?;
    Ok(HttpResponse::Ok()
        .insert_header(cacheable())
        .json(serde_json::json!({ "items": items })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitQuery {
    province_code: Option<String>,
}

/// `GET /api/v1/administrative-units`: provinces, or the communes of one.
pub async fn list_administrative_units(
    query: web::Query<UnitQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let items = state
        .store
        .list_administrative_units(query.province_code.as_deref())
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(cacheable())
        .json(serde_json::json!({ "items": items })))
}
