//! The audit log in the console (`/nhan-vien/quan-tri/nhat-ky`, its CSV)
//! and over JSON (`/api/v1/admin/audit-log`), for administrators and
//! auditors. The view and who may read it are `services::audit_log`'s.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::AppState;
use super::auth::Staff;
use super::console::{Nav, Opt, refused};
use super::html::{PageErrors, StaffPage, console_page};
use super::private_json;
use super::problem::ApiError;
use super::report_doc::defuse;
use crate::services::audit_log::{self, AuditLogView, AuditQuery, GROUPS};
use crate::services::staff_items::StaffError;

fn label(field: &str) -> (String, &'static str) {
    let label = match field {
        "item" => "Mã phản ánh",
        "action" => "Loại hành động",
        "to" => "Đến ngày",
        _ => "Trang",
    };
    (field.to_string(), label)
}

/// A search that cannot be read is a mistake in the query (422, naming
/// the parameter), not a server error.
fn query_error(e: StaffError) -> ApiError {
    match e {
        StaffError::Invalid(errors) => ApiError::invalid_query(errors),
        other => other.into(),
    }
}

#[derive(Template)]
#[template(path = "console_audit.html", config = "config/askama.toml")]
struct AuditPage {
    nav: Nav,
    q: AuditQuery,
    groups: Vec<Opt>,
    log: AuditLogView,
    next_href: Option<String>,
    csv_href: String,
    errors: PageErrors,
}

fn query_string(q: &AuditQuery, before: Option<&str>) -> String {
    let mut pairs: Vec<(&str, String)> = Vec::new();
    for (k, v) in [
        ("item", &q.item),
        ("actor", &q.actor),
        ("action", &q.action),
    ] {
        if !v.trim().is_empty() {
            pairs.push((k, v.trim().to_string()));
        }
    }
    if let Some(d) = q.from {
        pairs.push(("from", d.to_string()));
    }
    if let Some(d) = q.to {
        pairs.push(("to", d.to_string()));
    }
    if let Some(b) = before {
        pairs.push(("before", b.to_string()));
    }
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

/// `GET /nhan-vien/quan-tri/nhat-ky`
pub async fn page(
    req: HttpRequest,
    staff: StaffPage,
    query: web::Query<AuditQuery>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let q = query.into_inner();
    let result = async {
        let (log, errors, status) = match audit_log::page(&state, &staff.actor, &q).await {
            Ok(log) => (log, PageErrors::default(), StatusCode::OK),
            Err(StaffError::Invalid(errors)) => (
                AuditLogView {
                    entries: Vec::new(),
                    next: None,
                },
                PageErrors::from_fields(&errors, label),
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            Err(e) => return Err(e.into()),
        };
        let next_href = log
            .next
            .as_deref()
            .map(|b| format!("/nhan-vien/quan-tri/nhat-ky?{}", query_string(&q, Some(b))));
        let mut groups = vec![Opt {
            value: String::new(),
            label: "Mọi hành động".into(),
            selected: q.action.is_empty(),
        }];
        groups.extend(GROUPS.iter().map(|(v, l)| Opt {
            value: (*v).into(),
            label: (*l).into(),
            selected: q.action == *v,
        }));
        console_page(
            status,
            &AuditPage {
                errors,
                nav: Nav::of(&state, &staff.actor, "nhat-ky"),
                csv_href: format!("/nhan-vien/quan-tri/nhat-ky.csv?{}", query_string(&q, None)),
                groups,
                log,
                next_href,
                q,
            },
        )
    }
    .await;
    result.unwrap_or_else(|e: ApiError| refused(&req, &state, e))
}

/// `GET /nhan-vien/quan-tri/nhat-ky.csv`: the whole search (UTF-8 with a
/// byte-order mark for spreadsheet programs; cells that a spreadsheet
/// would run as formulas are defused).
pub async fn csv(
    req: HttpRequest,
    staff: StaffPage,
    query: web::Query<AuditQuery>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let result = async {
        let log = audit_log::export(&state, &staff.actor, &query)
            .await
            .map_err(query_error)?;
        let mut w = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
        let failed = |e: csv::Error| {
            tracing::error!(error = %e, "audit log file not written");
            ApiError::internal()
        };
        w.write_record([
            "Thời điểm",
            "Người thực hiện",
            "Loại người thực hiện",
            "Hành động",
            "Mô tả",
            "Mã phản ánh",
            "Trạng thái trước",
            "Trạng thái sau",
            "Lý do",
        ])
        .map_err(failed)?;
        for e in &log.entries {
            w.write_record([
                e.occurred_at.datetime_vi(),
                defuse(&e.actor),
                e.actor_kind.clone(),
                e.action.clone(),
                e.label.clone(),
                e.tracking_code.clone().unwrap_or_default(),
                e.from_state.clone().unwrap_or_default(),
                e.to_state.clone().unwrap_or_default(),
                defuse(e.reason.as_deref().unwrap_or("")),
            ])
            .map_err(failed)?;
        }
        let body = w.into_inner().map_err(|e| failed(e.into_error().into()))?;
        let mut response = HttpResponse::Ok();
        response
            .insert_header((
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            ))
            .insert_header((
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"nhat-ky.csv\"",
            ))
            .insert_header((header::CACHE_CONTROL, "no-store, private"));
        if log.next.is_some() {
            // More than one file holds: said, not silently cut.
            response.insert_header(("x-pakn-truncated", "true"));
        }
        Ok::<_, ApiError>(response.body(body))
    }
    .await;
    result.unwrap_or_else(|e| refused(&req, &state, e))
}

/// `GET /api/v1/admin/audit-log`
pub async fn api(
    staff: Staff,
    query: web::Query<AuditQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    Ok(private_json(
        audit_log::page(&state, &staff.actor, &query)
            .await
            .map_err(query_error)?,
    ))
}
