//! Making the channel known: the printable leaflet (`/to-gap`) and posters
//! (`/ap-phich`, a source's at `/ap-phich?nguon=`), the short links their
//! QR codes carry (`/n/{code}`), and the sources staff manage with what
//! each brought (`/nhan-vien/nguon`, CSV and XLSX; JSON at
//! `/api/v1/staff/sources`). The rules are `services::outreach`'.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::Utc;
use serde::Deserialize;

use super::AppState;
use super::auth::Staff;
use super::console::{Nav, Opt, check_origin, refused};
use super::html::{Flash, PageErrors, StaffPage, console_page, public_page, see_other};
use super::private_json;
use super::problem::{ApiError, request_id};
use super::report_doc::{Cell, table_csv, table_xlsx};
use super::reports::{XLSX, download};
use super::stats::{PeriodQuery, dates};
use crate::domain::outreach::{SourceKind, link_code};
use crate::services::outreach::{self, Material, SourceInput, SourcesReport};
use crate::services::staff_items::StaffError;

/// The address links and QR codes start with: the configured public one,
/// else the one this request came to.
fn base_url(req: &HttpRequest, state: &AppState) -> String {
    let configured = state.settings.server.public_base_url.trim_end_matches('/');
    if configured.is_empty() {
        let info = req.connection_info();
        format!("{}://{}", info.scheme(), info.host())
    } else {
        configured.to_string()
    }
}

/// A query read leniently: the material pages open whatever a link says.
fn query_value(req: &HttpRequest, key: &str) -> Option<String> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(req.query_string())
        .unwrap_or_default()
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}

#[derive(Template)]
#[template(path = "material_leaflet.html", config = "config/askama.toml")]
struct LeafletPage {
    m: Material,
}

#[derive(Template)]
#[template(path = "material_poster.html", config = "config/askama.toml")]
struct PosterPage {
    m: Material,
    size: &'static str,
    other_size_href: String,
}

/// `GET /to-gap`: the A4 leaflet.
pub async fn leaflet(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let m = outreach::material(&state, None, &base_url(&req, &state)).await?;
    public_page(StatusCode::OK, &LeafletPage { m })
}

/// `GET /ap-phich`: the poster, A4 or A3 (`kho`), the general one or a
/// live source's (`nguon`); any other value gives the general A4 poster.
pub async fn poster(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let nguon = query_value(&req, "nguon");
    let size = match query_value(&req, "kho").as_deref() {
        Some("a3") => "a3",
        _ => "a4",
    };
    let m = outreach::material(&state, nguon.as_deref(), &base_url(&req, &state)).await?;
    let mut other = vec![("kho", if size == "a4" { "a3" } else { "a4" }.to_string())];
    if let Some((code, _)) = &m.source {
        other.insert(0, ("nguon", code.clone()));
    }
    let other_size_href = format!(
        "/ap-phich?{}",
        serde_urlencoded::to_string(other).unwrap_or_default()
    );
    public_page(
        StatusCode::OK,
        &PosterPage {
            m,
            size,
            other_size_href,
        },
    )
}

/// `GET /n/{code}`: a poster's short link, to the form with its source
/// (a code no source has still opens the form; it counts as unknown).
pub async fn short_link(path: web::Path<String>) -> HttpResponse {
    let raw: String = path.into_inner().chars().take(64).collect();
    let code = link_code(&raw).unwrap_or(raw);
    let query = serde_urlencoded::to_string([("nguon", code)]).unwrap_or_default();
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, format!("/gui-phan-anh?{query}")))
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .finish()
}

// ------------------------------------------------------------ staff

fn label(field: &str) -> (String, &'static str) {
    let label = match field {
        "code" => "Mã nguồn",
        "name" => "Tên nguồn",
        "kind" => "Loại",
        _ => "Nơi đặt, số báo",
    };
    (field.to_string(), label)
}

#[derive(Template)]
#[template(path = "console_sources.html", config = "config/askama.toml")]
struct SourcesPage {
    nav: Nav,
    r: SourcesReport,
    from: String,
    to: String,
    from_vi: String,
    to_vi: String,
    query: String,
    kinds: Vec<Opt>,
    form: SourceInput,
    errors: PageErrors,
    flash: Option<Flash>,
}

async fn render(
    req: &HttpRequest,
    state: &AppState,
    staff: &StaffPage,
    q: &PeriodQuery,
    form: SourceInput,
    errors: PageErrors,
    flash: Option<Flash>,
) -> Result<HttpResponse, ApiError> {
    let r = outreach::report(state, &staff.actor, dates(q, state)?, &base_url(req, state))
        .await
        .map_err(super::subject::query_error)?;
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let query =
        serde_urlencoded::to_string([("from", r.from.to_string()), ("to", r.to.to_string())])
            .unwrap_or_default();
    let kinds = SourceKind::ALL
        .iter()
        .map(|k| Opt {
            value: k.as_str().to_string(),
            label: k.label_vi().to_string(),
            selected: form.kind == k.as_str(),
        })
        .collect();
    console_page(
        status,
        &SourcesPage {
            nav: Nav::of(state, &staff.actor, "nguon"),
            from: r.from.to_string(),
            to: r.to.to_string(),
            from_vi: r.from.format("%d/%m/%Y").to_string(),
            to_vi: r.to.format("%d/%m/%Y").to_string(),
            query,
            kinds,
            r,
            form,
            errors,
            flash,
        },
    )
}

#[derive(Debug, Default, Deserialize)]
pub struct SourcesPageQuery {
    period: Option<String>,
    from: Option<String>,
    to: Option<String>,
    xong: Option<String>,
}

impl SourcesPageQuery {
    fn period(&self) -> PeriodQuery {
        PeriodQuery::new(self.period.clone(), self.from.clone(), self.to.clone())
    }
}

/// `GET /nhan-vien/nguon`
pub async fn page(
    req: HttpRequest,
    staff: StaffPage,
    query: web::Query<SourcesPageQuery>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let flash = match query.xong.as_deref() {
        Some("tao") => Some(Flash::done(
            "Đã tạo nguồn. In áp phích của nguồn từ đường dẫn “Áp phích” trong bảng.",
        )),
        Some("ngung") => Some(Flash::done(
            "Đã ngừng dùng nguồn; phản ánh gửi qua đường dẫn cũ được tính là “không rõ nguồn”.",
        )),
        _ => None,
    };
    render(
        &req,
        &state,
        &staff,
        &query.period(),
        SourceInput {
            kind: "counter".into(),
            ..SourceInput::default()
        },
        PageErrors::default(),
        flash,
    )
    .await
    .unwrap_or_else(|e| refused(&req, &state, e))
}

#[derive(Debug, Default, Deserialize)]
struct SourceForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    place: String,
}

impl SourceForm {
    fn input(self) -> SourceInput {
        SourceInput {
            code: self.code,
            name: self.name,
            kind: self.kind,
            place: self.place,
        }
    }
}

/// `POST /nhan-vien/nguon`: a new source; a mistake stays beside its field
/// with what was typed.
pub async fn create_page(
    req: HttpRequest,
    staff: StaffPage,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    let result = async {
        check_origin(&req, &state)?;
        let input = serde_urlencoded::from_bytes::<SourceForm>(&body)
            .unwrap_or_default()
            .input();
        match outreach::create(&state, &staff.actor, &input, request_id(), Utc::now()).await {
            Ok(_) => Ok(see_other("/nhan-vien/nguon?xong=tao#ket-qua")),
            Err(StaffError::Invalid(e)) => {
                render(
                    &req,
                    &state,
                    &staff,
                    &PeriodQuery::default(),
                    input,
                    PageErrors::from_fields(&e, label),
                    None,
                )
                .await
            }
            Err(e) => Err(e.into()),
        }
    }
    .await;
    result.unwrap_or_else(|e| refused(&req, &state, e))
}

/// `POST /nhan-vien/nguon/{code}/ngung`
pub async fn retire_page(
    req: HttpRequest,
    staff: StaffPage,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let result = async {
        check_origin(&req, &state)?;
        outreach::retire(
            &state,
            &staff.actor,
            &path.into_inner(),
            request_id(),
            Utc::now(),
        )
        .await?;
        Ok::<_, ApiError>(see_other("/nhan-vien/nguon?xong=ngung#ket-qua"))
    }
    .await;
    result.unwrap_or_else(|e| refused(&req, &state, e))
}

const EXPORT_HEAD: [&str; 13] = [
    "Mã nguồn",
    "Tên nguồn",
    "Loại",
    "Nơi đặt",
    "Đường dẫn",
    "Tạo ngày",
    "Ngừng dùng ngày",
    "Số phản ánh, kiến nghị",
    "Được tiếp nhận",
    "Không tiếp nhận",
    "Chưa quyết định",
    "Tỷ lệ được tiếp nhận (%)",
    "Lý do không tiếp nhận",
];

fn export_rows(r: &SourcesReport) -> Vec<Vec<Cell>> {
    let counts = |o: &outreach::Outcomes| {
        vec![
            Cell::Count(o.items),
            Cell::Count(o.accepted),
            Cell::Count(o.not_accepted),
            Cell::Count(o.undecided),
            Cell::Decimal(o.accepted_share()),
            Cell::Text(
                o.reasons
                    .iter()
                    .map(|r| format!("{}: {}", r.label, r.items))
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
        ]
    };
    let mut rows: Vec<Vec<Cell>> = r
        .sources
        .iter()
        .map(|s| {
            let mut row = vec![
                Cell::Text(s.code.clone()),
                Cell::Text(s.name.clone()),
                Cell::Text(s.kind_label.to_string()),
                Cell::Text(s.place.clone().unwrap_or_default()),
                Cell::Text(s.link.clone()),
                Cell::Text(s.created_at.date_vi()),
                Cell::Text(s.retired_at.map(|t| t.date_vi()).unwrap_or_default()),
            ];
            row.extend(counts(&s.outcomes));
            row
        })
        .collect();
    for (code, name, o) in [
        ("unknown", "Đường dẫn không rõ nguồn", &r.unknown),
        (
            "",
            "Cổng thông tin, không qua nguồn nào",
            &r.web_form_direct,
        ),
    ] {
        let mut row = vec![
            Cell::Text(code.into()),
            Cell::Text(name.into()),
            Cell::Text(String::new()),
            Cell::Text(String::new()),
            Cell::Text(String::new()),
            Cell::Text(String::new()),
            Cell::Text(String::new()),
        ];
        row.extend(counts(o));
        rows.push(row);
    }
    rows
}

async fn export(
    req: &HttpRequest,
    staff: &StaffPage,
    q: &PeriodQuery,
    state: &AppState,
    xlsx: bool,
) -> Result<HttpResponse, ApiError> {
    let r = outreach::report(state, &staff.actor, dates(q, state)?, &base_url(req, state))
        .await
        .map_err(super::subject::query_error)?;
    let rows = export_rows(&r);
    let name = format!("nguon-tuyen-truyen-{}_{}", r.from, r.to);
    let failed = |e: String| {
        tracing::error!(error = %e, "sources file not written");
        ApiError::internal()
    };
    Ok(if xlsx {
        let body = table_xlsx("Nguồn tuyên truyền", &EXPORT_HEAD, &rows, 12)
            .map_err(|e| failed(e.to_string()))?;
        download(XLSX, format!("{name}.xlsx"), body)
    } else {
        let body = table_csv(&EXPORT_HEAD, &rows).map_err(|e| failed(e.to_string()))?;
        download("text/csv; charset=utf-8", format!("{name}.csv"), body)
    })
}

/// `GET /nhan-vien/nguon.csv`
pub async fn csv(
    req: HttpRequest,
    staff: StaffPage,
    query: web::Query<PeriodQuery>,
    state: web::Data<AppState>,
) -> HttpResponse {
    export(&req, &staff, &query, &state, false)
        .await
        .unwrap_or_else(|e| refused(&req, &state, e))
}

/// `GET /nhan-vien/nguon.xlsx`
pub async fn xlsx(
    req: HttpRequest,
    staff: StaffPage,
    query: web::Query<PeriodQuery>,
    state: web::Data<AppState>,
) -> HttpResponse {
    export(&req, &staff, &query, &state, true)
        .await
        .unwrap_or_else(|e| refused(&req, &state, e))
}

// ------------------------------------------------------------- JSON

/// `GET /api/v1/staff/sources`
pub async fn list_api(
    req: HttpRequest,
    staff: Staff,
    query: web::Query<PeriodQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let r = outreach::report(
        &state,
        &staff.actor,
        dates(&query, &state)?,
        &base_url(&req, &state),
    )
    .await
    .map_err(super::subject::query_error)?;
    Ok(private_json(r))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceBody {
    code: String,
    name: String,
    kind: String,
    #[serde(default)]
    place: Option<String>,
}

/// `POST /api/v1/staff/sources`
pub async fn create_api(
    staff: Staff,
    body: web::Json<SourceBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let input = SourceInput {
        code: b.code,
        name: b.name,
        kind: b.kind,
        place: b.place.unwrap_or_default(),
    };
    let view = outreach::create(&state, &staff.actor, &input, request_id(), Utc::now()).await?;
    Ok(HttpResponse::Created()
        .insert_header((header::CACHE_CONTROL, "no-store, private"))
        .json(view))
}

/// `POST /api/v1/staff/sources/{code}/retire`
pub async fn retire_api(
    staff: Staff,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    outreach::retire(
        &state,
        &staff.actor,
        &path.into_inner(),
        request_id(),
        Utc::now(),
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
