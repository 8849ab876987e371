//! The public Q&A as data: JSON for portals (which call it from
//! the browser: CORS is open for these GETs) and an Atom feed. Only
//! published items and only what was published of them (DOMAIN §8): the
//! redacted title and question, the answer, the handling agency, field,
//! kind, submitter type and dates. Responses carry an `ETag` and
//! `Last-Modified`; a conditional request that matches gets 304.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use serde::Deserialize;

use super::AppState;
use super::problem::ApiError;
use crate::domain::digest::sha256_hex;
use crate::domain::feedback::{FeedbackKind, FieldError};
use crate::domain::ids::AgencyId;
use crate::domain::text::fold_for_search;
use crate::services::public_qa;
use crate::store::directory_cache::DirectorySnapshot;
use crate::store::public_qa::{PublicItem, PublicQuery};

/// How long a browser or proxy may reuse an answer without asking.
const MAX_AGE_SECONDS: u32 = 60;
const PER_PAGE_DEFAULT: u64 = 20;
const PER_PAGE_MAX: u64 = 50;
/// Entries in the Atom feed.
const FEED_ENTRIES: u64 = 50;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QaQuery {
    q: Option<String>,
    agency: Option<String>,
    field: Option<String>,
    kind: Option<String>,
    year: Option<i32>,
    page: Option<u64>,
    per_page: Option<u64>,
}

impl QaQuery {
    /// Filters without paging (the HTML page and the feed page themselves).
    pub(super) fn new(
        q: Option<String>,
        agency: Option<String>,
        field: Option<String>,
        kind: Option<String>,
        year: Option<i32>,
    ) -> Self {
        Self {
            q,
            agency,
            field,
            kind,
            year,
            page: None,
            per_page: None,
        }
    }
}

/// The start of `year` in Vietnam (UTC+7, no daylight saving).
fn year_start(year: i32) -> Option<DateTime<Utc>> {
    let day = NaiveDate::from_ymd_opt(year, 1, 1)?;
    let local = day.and_hms_opt(0, 0, 0)?;
    chrono::FixedOffset::east_opt(7 * 3600)?
        .from_local_datetime(&local)
        .single()
        .map(|d| d.with_timezone(&Utc))
}

pub(super) fn parse_query(
    q: &QaQuery,
    directory: &DirectorySnapshot,
    limit: u64,
    offset: u64,
) -> Result<PublicQuery, ApiError> {
    let mut errors = Vec::new();
    let folded = fold_for_search(q.q.as_deref().unwrap_or_default());
    let terms: Vec<String> = folded
        .split_whitespace()
        .filter(|t| !t.is_empty())
        .take(8)
        .map(|t| t.chars().take(64).collect())
        .collect();
    let agency_id = match q.agency.as_deref().filter(|a| !a.is_empty()) {
        Some(code) => match directory.agencies.get(code) {
            Some(id) => Some(id.as_uuid()),
            None => {
                errors.push(FieldError::new("agency", "unknown_code"));
                None
            }
        },
        None => None,
    };
    let field_id = match q.field.as_deref().filter(|f| !f.is_empty()) {
        Some(code) => match directory.fields.get(code) {
            Some(id) => Some(id.as_uuid()),
            None => {
                errors.push(FieldError::new("field", "unknown_code"));
                None
            }
        },
        None => None,
    };
    let kind = match q.kind.as_deref().filter(|k| !k.is_empty()) {
        Some(k) => match FeedbackKind::parse(k) {
            Some(k) => Some(k.as_str().to_string()),
            None => {
                errors.push(FieldError::new("kind", "invalid_choice"));
                None
            }
        },
        None => None,
    };
    let (published_from, published_to) = match q.year {
        Some(y) if (2000..=2199).contains(&y) => (year_start(y), year_start(y + 1)),
        Some(_) => {
            errors.push(FieldError::new("year", "out_of_range"));
            (None, None)
        }
        None => (None, None),
    };
    if !errors.is_empty() {
        return Err(ApiError::invalid_query(errors));
    }
    Ok(PublicQuery {
        terms,
        agency_id,
        field_id,
        kind,
        published_from,
        published_to,
        limit,
        offset,
    })
}

/// When the public copy of `item` last changed (its publication for
/// items published before that was recorded).
fn public_time(item: &PublicItem) -> Option<DateTime<Utc>> {
    item.public_changed_at.or(item.published_at)
}

/// Answers `body` with validators and caching headers, or 304 when the
/// client's copy is current (`If-None-Match` wins over
/// `If-Modified-Since`, RFC 9110 §13.2.2).
fn cacheable(
    req: &HttpRequest,
    content_type: &'static str,
    body: Vec<u8>,
    modified: Option<DateTime<Utc>>,
) -> HttpResponse {
    let etag = format!("\"{}\"", &sha256_hex(&body)[..32]);
    let last_modified = modified.map(|m| m.format("%a, %d %b %Y %H:%M:%S GMT").to_string());
    let not_modified = match req.headers().get(header::IF_NONE_MATCH) {
        Some(v) => v.to_str().is_ok_and(|v| {
            v.split(',')
                .map(|t| t.trim().trim_start_matches("W/"))
                .any(|t| t == "*" || t == etag)
        }),
        None => match (req.headers().get(header::IF_MODIFIED_SINCE), modified) {
            (Some(since), Some(m)) => since
                .to_str()
                .ok()
                .and_then(|s| DateTime::parse_from_rfc2822(s).ok())
                .is_some_and(|since| m.timestamp() <= since.timestamp()),
            _ => false,
        },
    };
    let mut response = if not_modified {
        HttpResponse::build(StatusCode::NOT_MODIFIED)
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((header::ETAG, etag))
        .insert_header((
            header::CACHE_CONTROL,
            format!("public, max-age={MAX_AGE_SECONDS}"),
        ))
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
        // Portals' pages load these from another origin.
        .insert_header(("cross-origin-resource-policy", "cross-origin"))
        .insert_header((header::ACCESS_CONTROL_EXPOSE_HEADERS, "ETag, Last-Modified"));
    if let Some(lm) = last_modified
        && let Ok(v) = HeaderValue::from_str(&lm)
    {
        response.insert_header((header::LAST_MODIFIED, v));
    }
    if not_modified {
        return response.finish();
    }
    response.content_type(content_type).body(body)
}

/// `GET /api/v1/public/qa`: published items, newest first, filtered.
pub async fn list_qa(
    req: HttpRequest,
    query: web::Query<QaQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let per_page = query.per_page.unwrap_or(PER_PAGE_DEFAULT);
    let page = query.page.unwrap_or(1);
    if !(1..=PER_PAGE_MAX).contains(&per_page) || !(1..=10_000).contains(&page) {
        return Err(ApiError::invalid_query(vec![FieldError::new(
            if (1..=PER_PAGE_MAX).contains(&per_page) {
                "page"
            } else {
                "per_page"
            },
            "out_of_range",
        )]));
    }
    let directory = state.store.directory_snapshot().await?;
    let filter = parse_query(&query, &directory, per_page, (page - 1) * per_page)?;
    let list = state.public_cache.items(&state.store, &filter).await?;
    let (items, total) = (&list.items, list.total);
    let base = &state.settings.server.public_base_url;
    let body = serde_json::json!({
        "items": items.iter().map(|i| public_qa::item_json(i, &directory, base)).collect::<Vec<_>>(),
        "total": total.count,
        "total_capped": total.capped,
        "page": page,
        "per_page": per_page,
    });
    // A list changes when anything public changes, also when an item
    // leaves it: the public version, not its rows' times.
    let (modified, _) = state.public_cache.version(&state.store).await?;
    Ok(cacheable(
        &req,
        "application/json",
        serde_json::to_vec(&body).unwrap_or_default(),
        modified,
    ))
}

/// `GET /api/v1/public/qa/{tracking_code}`: one published item; the same
/// 404 for an unknown code and for an item that is not published.
pub async fn get_qa(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let code = path.into_inner();
    if code.len() > 64 {
        return Err(ApiError::qa_not_found());
    }
    let item = state
        .store
        .public_item(&code.to_ascii_uppercase())
        .await?
        .ok_or_else(ApiError::qa_not_found)?;
    let directory = state.store.directory_snapshot().await?;
    let body = public_qa::item_json(&item, &directory, &state.settings.server.public_base_url);
    Ok(cacheable(
        &req,
        "application/json",
        serde_json::to_vec(&body).unwrap_or_default(),
        public_time(&item),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedQuery {
    agency: Option<String>,
    field: Option<String>,
}

/// `GET /hoi-dap/feed.atom`: the latest answers, optionally for one agency
/// or field. Entry IDs are tag URIs of the tracking code: stable when the
/// service moves to another address.
pub async fn atom_feed(
    req: HttpRequest,
    query: web::Query<FeedQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    use atom_syndication::{Content, Entry, Feed, Link, Person, Text};
    let query = query.into_inner();
    let directory = state.store.directory_snapshot().await?;
    let filter = parse_query(
        &QaQuery::new(None, query.agency.clone(), query.field.clone(), None, None),
        &directory,
        FEED_ENTRIES,
        0,
    )?;
    let list = state.public_cache.items(&state.store, &filter).await?;
    let items = &list.items;
    let base = state
        .settings
        .server
        .public_base_url
        .trim_end_matches('/')
        .to_string();
    let domain = state
        .settings
        .mail
        .published_address
        .rsplit_once('@')
        .map_or("pakn.invalid", |(_, d)| d)
        .to_string();
    // An empty feed still needs <updated>: a fixed date keeps its ETag
    // stable until the first item is published.
    let (modified, _) = state.public_cache.version(&state.store).await?;
    let updated = modified.unwrap_or_else(|| {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
            .single()
            .unwrap_or_default()
    });
    let mut self_url = format!("{base}/hoi-dap/feed.atom");
    let mut params = Vec::new();
    if let Some(a) = &query.agency {
        params.push(("agency", a.as_str()));
    }
    if let Some(f) = &query.field {
        params.push(("field", f.as_str()));
    }
    if !params.is_empty() {
        self_url.push('?');
        self_url.push_str(&serde_urlencoded::to_string(&params).unwrap_or_default());
    }
    let entries: Vec<Entry> = items
        .iter()
        .map(|i| {
            let mut entry = Entry::default();
            entry.set_id(format!("tag:{domain},2026:{}", i.tracking_code));
            entry.set_title(Text::plain(i.title_redacted.clone().unwrap_or_default()));
            let published = i.published_at.unwrap_or(i.received_at);
            entry.set_updated(public_time(i).unwrap_or(published).fixed_offset());
            entry.set_published(Some(published.fixed_offset()));
            entry.set_links(vec![Link {
                href: public_qa::item_url(&base, &i.tracking_code),
                rel: "alternate".into(),
                mime_type: Some("text/html".into()),
                ..Link::default()
            }]);
            if let Some((_, name)) = i
                .handling_agency_id
                .and_then(|a| directory.agency_names.get(&AgencyId::from_uuid(a)))
            {
                entry.set_authors(vec![Person {
                    name: name.clone(),
                    ..Person::default()
                }]);
            }
            entry.set_summary(Some(Text::plain(
                i.question_redacted.clone().unwrap_or_default(),
            )));
            // Plain text: no markup from anyone reaches a feed reader.
            let mut content = Content::default();
            content.set_content_type(Some("text".to_string()));
            content.set_value(Some(format!(
                "Câu hỏi: {}\n\nTrả lời: {}",
                i.question_redacted.clone().unwrap_or_default(),
                i.answer.clone().unwrap_or_default()
            )));
            entry.set_content(Some(content));
            entry
        })
        .collect();
    let mut feed = Feed::default();
    feed.set_id(format!(
        "tag:{domain},2026:hoi-dap{}",
        self_url
            .split_once('?')
            .map(|(_, q)| format!("?{q}"))
            .unwrap_or_default()
    ));
    feed.set_title(Text::plain(format!(
        "Hỏi – đáp phản ánh, kiến nghị — {}",
        state.settings.office().name
    )));
    feed.set_updated(updated.fixed_offset());
    feed.set_lang(Some("vi".to_string()));
    feed.set_links(vec![
        Link {
            href: self_url,
            rel: "self".into(),
            mime_type: Some("application/atom+xml".into()),
            ..Link::default()
        },
        Link {
            href: format!("{base}/hoi-dap"),
            rel: "alternate".into(),
            mime_type: Some("text/html".into()),
            ..Link::default()
        },
    ]);
    feed.set_entries(entries);
    Ok(cacheable(
        &req,
        "application/atom+xml; charset=utf-8",
        feed.to_string().into_bytes(),
        modified,
    ))
}
