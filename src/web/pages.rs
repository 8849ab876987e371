//! Server-rendered pages for citizens, in Vietnamese, working
//! without JavaScript. Every page gets a strict Content-Security-Policy:
//! its own stylesheet and nothing else, no scripts, no framing. Text is
//! escaped by the templates (askama escapes every `{{ }}` in `.html`).

use actix_web::http::StatusCode;
use actix_web::http::header::{self, CacheControl, CacheDirective};
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::AppState;
use super::html::{public_page, wants_html};
use super::problem::ApiError;
use super::public::{QaQuery, parse_query};
use crate::domain::feedback::FeedbackKind;
use crate::domain::ids::AgencyId;
use crate::domain::office::Office;
use crate::domain::time::vietnam_date;
use crate::store::directory_cache::DirectorySnapshot;
use crate::store::public_qa::{PublicItem, PublicTotal};

const STYLESHEET: &str = include_str!("static/pakn.css");
const PER_PAGE: u64 = 20;

/// One item as the pages show it.
struct QaRow {
    tracking_code: String,
    title: String,
    kind_label: &'static str,
    agency_name: String,
    received_on: String,
    answered_on: String,
    excerpt: String,
    question: String,
    answer: String,
}

fn day(d: Option<chrono::DateTime<chrono::Utc>>) -> String {
    d.map(|d| vietnam_date(d).format("%d/%m/%Y").to_string())
        .unwrap_or_default()
}

fn row(item: &PublicItem, directory: &DirectorySnapshot) -> QaRow {
    let question = item.question_redacted.clone().unwrap_or_default();
    let excerpt: String = question.chars().take(280).collect();
    let excerpt = if excerpt.len() < question.len() {
        format!("{excerpt}…")
    } else {
        excerpt
    };
    QaRow {
        tracking_code: item.tracking_code.clone(),
        title: item.title_redacted.clone().unwrap_or_default(),
        kind_label: match FeedbackKind::parse(&item.kind) {
            Some(FeedbackKind::KienNghi) => "Kiến nghị",
            _ => "Phản ánh",
        },
        agency_name: item
            .handling_agency_id
            .and_then(|a| directory.agency_names.get(&AgencyId::from_uuid(a)))
            .map(|(_, name)| name.clone())
            .unwrap_or_else(|| "cơ quan có thẩm quyền".into()),
        received_on: day(Some(item.received_at)),
        answered_on: day(item.answered_at.or(item.published_at)),
        excerpt,
        question,
        answer: item.answer.clone().unwrap_or_default(),
    }
}

struct AgencyOption {
    code: String,
    name: String,
    selected: bool,
}

#[derive(Template)]
#[template(path = "qa_list.html", config = "config/askama.toml")]
struct QaListPage {
    office: Office,
    section: &'static str,
    q: String,
    kind: String,
    year: String,
    agencies: Vec<AgencyOption>,
    errors: Vec<&'static str>,
    total: u64,
    /// More than `total` match (counting stops there).
    more: bool,
    items: Vec<QaRow>,
    prev_page: Option<String>,
    next_page: Option<String>,
}

#[derive(Template)]
#[template(path = "qa_item.html", config = "config/askama.toml")]
struct QaItemPage {
    office: Office,
    section: &'static str,
    item: QaRow,
}

#[derive(Template)]
#[template(path = "about.html", config = "config/askama.toml")]
struct AboutPage {
    office: Office,
    section: &'static str,
    published_address: String,
}

#[derive(Template)]
#[template(path = "home.html", config = "config/askama.toml")]
struct HomePage {
    office: Office,
    section: &'static str,
    latest: Vec<QaRow>,
    published_address: String,
}

/// How many published answers the home page lists.
const HOME_LATEST: u64 = 5;

/// `GET /`: the office's PAKN home page: what the channel is for, the
/// three things a citizen can do, the latest published answers, and how to
/// reach the office.
pub async fn home(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let directory = state.store.directory_snapshot().await?;
    let filter = parse_query(
        &QaQuery::new(None, None, None, None, None),
        &directory,
        HOME_LATEST,
        0,
    )
    .map_err(|_| ApiError::internal())?;
    let list = state.public_cache.items(&state.store, &filter).await?;
    let items = &list.items;
    public_page(
        StatusCode::OK,
        &HomePage {
            office: state.settings.office(),
            section: "trang-chu",
            latest: items.iter().map(|i| row(i, &directory)).collect(),
            published_address: state.settings.mail.published_address.clone(),
        },
    )
}

/// `GET /gioi-thieu`: what this channel is for, what it is not, and where
/// complaints and denunciations go instead (ND 20 Art. 1).
pub async fn about(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    public_page(
        StatusCode::OK,
        &AboutPage {
            office: state.settings.office(),
            section: "gioi-thieu",
            published_address: state.settings.mail.published_address.clone(),
        },
    )
}

#[derive(Template)]
#[template(path = "not_found.html", config = "config/askama.toml")]
struct NotFoundPage {
    office: Office,
    section: &'static str,
    message: &'static str,
}

#[derive(Debug, Deserialize)]
pub struct QaPageQuery {
    q: Option<String>,
    agency: Option<String>,
    kind: Option<String>,
    year: Option<String>,
    page: Option<u64>,
}

fn page_link(query: &QaPageQuery, page: u64) -> String {
    let mut params: Vec<(&str, String)> = Vec::new();
    for (k, v) in [
        ("q", &query.q),
        ("agency", &query.agency),
        ("kind", &query.kind),
        ("year", &query.year),
    ] {
        if let Some(v) = v.as_ref().filter(|v| !v.is_empty()) {
            params.push((k, v.clone()));
        }
    }
    params.push(("page", page.to_string()));
    format!(
        "/hoi-dap?{}",
        serde_urlencoded::to_string(&params).unwrap_or_default()
    )
}

/// `GET /hoi-dap`: the public Q&A with search and filters.
pub async fn qa_list(
    query: web::Query<QaPageQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let page = query.page.unwrap_or(1).clamp(1, 10_000);
    let directory = state.store.directory_snapshot().await?;
    let mut errors = Vec::new();
    // A year that is not a number is the visitor's typo, not a fault.
    let year = match query
        .year
        .as_deref()
        .map(str::trim)
        .filter(|y| !y.is_empty())
    {
        Some(y) => match y.parse::<i32>() {
            Ok(y) => Some(y),
            Err(_) => {
                errors.push("Năm phải là số, ví dụ 2026.");
                None
            }
        },
        None => None,
    };
    let filter = parse_query(
        &QaQuery::new(
            query.q.clone(),
            query.agency.clone(),
            None,
            query.kind.clone(),
            year,
        ),
        &directory,
        PER_PAGE,
        (page - 1) * PER_PAGE,
    );
    let (items, total) = match filter {
        Ok(filter) => {
            let list = state.public_cache.items(&state.store, &filter).await?;
            (list.items.clone(), list.total)
        }
        Err(e) => {
            for f in e.field_errors() {
                errors.push(match f.field.as_str() {
                    "agency" => "Không có cơ quan này trong danh bạ.",
                    "kind" => "Loại phải là phản ánh hoặc kiến nghị.",
                    "year" => "Năm phải từ 2000 đến 2199.",
                    _ => "Bộ lọc không hợp lệ.",
                });
            }
            (Vec::new(), PublicTotal::default())
        }
    };
    let mut agencies: Vec<AgencyOption> = directory
        .agency_names
        .values()
        .map(|(code, name)| AgencyOption {
            selected: query.agency.as_deref() == Some(code.as_str()),
            code: code.clone(),
            name: name.clone(),
        })
        .collect();
    agencies.sort_by(|a, b| a.code.cmp(&b.code));
    let shown = (page - 1) * PER_PAGE + items.len() as u64;
    let more = total.capped;
    let total = total.count;
    let page_view = QaListPage {
        more,
        office: state.settings.office(),
        section: "hoi-dap",
        q: query.q.clone().unwrap_or_default(),
        kind: query.kind.clone().unwrap_or_default(),
        year: year.map(|y| y.to_string()).unwrap_or_default(),
        agencies,
        errors,
        total,
        items: items.iter().map(|i| row(i, &directory)).collect(),
        prev_page: (page > 1).then(|| page_link(&query, page - 1)),
        next_page: (shown < total).then(|| page_link(&query, page + 1)),
    };
    public_page(StatusCode::OK, &page_view)
}

#[derive(Template)]
#[template(path = "qa_embed.html", config = "config/askama.toml")]
struct QaEmbedPage {
    office: Office,
    items: Vec<QaRow>,
    total: u64,
    more: bool,
    error: bool,
    /// The full Q&A with the same filters, opened outside the frame.
    all_link: String,
    next_page: Option<String>,
    prev_page: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct QaEmbedQuery {
    q: Option<String>,
    agency: Option<String>,
    field: Option<String>,
    kind: Option<String>,
    // Text, read leniently: a portal's typo must not turn the frame into
    // an error that the frame policy then refuses to show.
    year: Option<String>,
    limit: Option<String>,
    page: Option<String>,
}

/// The embed may be framed by the portals configured, and by nobody else.
pub fn embed_csp(origins: &[String]) -> String {
    let mut ancestors = String::from("'self'");
    for o in origins {
        ancestors.push(' ');
        ancestors.push_str(o);
    }
    format!(
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors {ancestors}"
    )
}

/// `GET /hoi-dap/embed`: the latest answers without the site's header and
/// footer, for portals to show in an iframe (filters in the query string).
pub async fn qa_embed(
    query: web::Query<QaEmbedQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let number = |v: &Option<String>| v.as_deref().and_then(|v| v.trim().parse::<u64>().ok());
    let limit = number(&query.limit).unwrap_or(10).clamp(1, 50);
    let page = number(&query.page).unwrap_or(1).clamp(1, 10_000);
    let year_text = query
        .year
        .as_deref()
        .map(str::trim)
        .filter(|y| !y.is_empty());
    let year = year_text.and_then(|y| y.parse::<i32>().ok());
    let bad_year = year_text.is_some() && year.is_none();
    let directory = state.store.directory_snapshot().await?;
    let filter = parse_query(
        &QaQuery::new(
            query.q.clone(),
            query.agency.clone(),
            query.field.clone(),
            query.kind.clone(),
            year,
        ),
        &directory,
        limit,
        (page - 1) * limit,
    );
    // A portal's typo in a filter shows an empty list with a note, not a
    // broken frame.
    let (items, total, error) = match filter {
        Ok(_) if bad_year => (Vec::new(), PublicTotal::default(), true),
        Ok(filter) => {
            let list = state.public_cache.items(&state.store, &filter).await?;
            (list.items.clone(), list.total, false)
        }
        Err(_) => (Vec::new(), PublicTotal::default(), true),
    };
    let (total, more) = (total.count, total.capped);
    let mut params: Vec<(&str, String)> = Vec::new();
    for (k, v) in [
        ("q", &query.q),
        ("agency", &query.agency),
        ("kind", &query.kind),
    ] {
        if let Some(v) = v.as_ref().filter(|v| !v.is_empty()) {
            params.push((k, v.clone()));
        }
    }
    if let Some(y) = year {
        params.push(("year", y.to_string()));
    }
    let all_query = serde_urlencoded::to_string(&params).unwrap_or_default();
    let base = state.settings.server.public_base_url.trim_end_matches('/');
    let all_link = if all_query.is_empty() {
        format!("{base}/hoi-dap")
    } else {
        format!("{base}/hoi-dap?{all_query}")
    };
    let embed_link = |p: u64| {
        let mut params = params.clone();
        if let Some(f) = query.field.as_ref().filter(|f| !f.is_empty()) {
            params.push(("field", f.clone()));
        }
        params.push(("limit", limit.to_string()));
        params.push(("page", p.to_string()));
        format!(
            "/hoi-dap/embed?{}",
            serde_urlencoded::to_string(&params).unwrap_or_default()
        )
    };
    let shown = (page - 1) * limit + items.len() as u64;
    let view = QaEmbedPage {
        office: state.settings.office(),
        items: items.iter().map(|i| row(i, &directory)).collect(),
        total,
        more,
        error,
        all_link,
        prev_page: (page > 1).then(|| embed_link(page - 1)),
        next_page: (shown < total).then(|| embed_link(page + 1)),
    };
    let mut response = public_page(StatusCode::OK, &view)?;
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        header::HeaderValue::from_str(&embed_csp(&state.settings.public_pages.embed_origins))
            .map_err(|_| ApiError::internal())?,
    );
    Ok(response)
}

const EMBED_JS: &str = include_str!("static/embed.js");

/// `GET /embed.js`: renders the latest answers into an element of the
/// host page from the JSON, as text only.
pub async fn embed_script() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(CacheControl(vec![
            CacheDirective::Public,
            CacheDirective::MaxAge(3600),
        ]))
        // Loaded by other sites' pages.
        .insert_header(("cross-origin-resource-policy", "cross-origin"))
        .content_type("text/javascript; charset=utf-8")
        .body(EMBED_JS)
}

/// `GET /hoi-dap/{tracking_code}`: one answered item.
pub async fn qa_item(
    req: actix_web::HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let code = path.into_inner();
    let office = state.settings.office();
    let item = if code.len() <= 64 {
        state.store.public_item(&code.to_ascii_uppercase()).await?
    } else {
        None
    };
    let Some(item) = item else {
        // A browser gets a page; anything else the usual problem+json.
        if !wants_html(&req) {
            return Err(ApiError::qa_not_found());
        }
        return public_page(
            StatusCode::NOT_FOUND,
            &NotFoundPage {
                office,
                section: "hoi-dap",
                message: "Không có câu hỏi – trả lời công khai với mã số này.",
            },
        );
    };
    let directory = state.store.directory_snapshot().await?;
    public_page(
        StatusCode::OK,
        &QaItemPage {
            office,
            section: "hoi-dap",
            item: row(&item, &directory),
        },
    )
}

/// `GET /static/pakn.css`
pub async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(CacheControl(vec![
            CacheDirective::Public,
            CacheDirective::MaxAge(86_400),
        ]))
        .content_type("text/css; charset=utf-8")
        .body(STYLESHEET)
}
