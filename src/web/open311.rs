//! Open311 GeoReport v2 at `/open311/v2`: the format is the path's
//! suffix (`.json` or `.xml`, the standard's required one), errors are the
//! standard's list in that format, and every view comes from
//! `services::open311`.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, CacheControl, CacheDirective};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use serde::Deserialize;

use super::AppState;
use super::problem::REQUEST_ID;
use super::rate_limit::Bucket;
use crate::services::auth;
use crate::services::open311::{self, ListQuery, Node, Open311Error, Open311Errors, RequestForm};

/// The largest POST body: the standard's 4,000-character description
/// percent-encoded (up to 9 bytes a character in Vietnamese) and the
/// other fields, far below the web form's upload limit.
const MAX_FORM_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Xml,
}

impl Format {
    fn parse(s: &str) -> Option<Self> {
        match s {
            "json" => Some(Format::Json),
            "xml" => Some(Format::Xml),
            _ => None,
        }
    }
}

fn to_json(node: &Node) -> serde_json::Value {
    match node {
        Node::Text(t) => t.clone().map_or(serde_json::Value::Null, Into::into),
        Node::Bool(b) => (*b).into(),
        Node::Int(i) => (*i).into(),
        Node::List { items, .. } => items.iter().map(to_json).collect(),
        Node::Object(fields) => fields
            .iter()
            .map(|(k, v)| ((*k).to_string(), to_json(v)))
            .collect::<serde_json::Map<_, _>>()
            .into(),
    }
}

fn write_xml(w: &mut Writer<Vec<u8>>, name: &str, node: &Node) -> std::io::Result<()> {
    let empty = match node {
        Node::Text(None) => true,
        Node::List { items, .. } => items.is_empty(),
        Node::Object(fields) => fields.is_empty(),
        _ => false,
    };
    if empty {
        return w.write_event(Event::Empty(BytesStart::new(name)));
    }
    w.write_event(Event::Start(BytesStart::new(name)))?;
    match node {
        Node::Text(Some(t)) => w.write_event(Event::Text(BytesText::new(t)))?,
        Node::Text(None) => {}
        Node::Bool(b) => w.write_event(Event::Text(BytesText::new(if *b {
            "true"
        } else {
            "false"
        })))?,
        Node::Int(i) => w.write_event(Event::Text(BytesText::new(&i.to_string())))?,
        Node::List { item, items } => {
            for i in items {
                write_xml(w, item, i)?;
            }
        }
        Node::Object(fields) => {
            for (k, v) in fields {
                write_xml(w, k, v)?;
            }
        }
    }
    w.write_event(Event::End(BytesEnd::new(name)))
}

/// The standard's XML: a UTF-8 declaration, no namespace, no schema.
pub fn to_xml(root: &str, node: &Node) -> String {
    let mut w = Writer::new(Vec::new());
    let written = w
        .write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))
        .and_then(|()| write_xml(&mut w, root, node));
    if let Err(e) = written {
        // Writing into memory cannot fail; say so loudly if it ever does.
        tracing::error!(error = %e, "Open311 XML was not written");
    }
    String::from_utf8(w.into_inner()).unwrap_or_default()
}

fn render(format: Format, status: StatusCode, root: &str, node: &Node) -> HttpResponse {
    let mut r = HttpResponse::build(status);
    // Public lists change on publication; a client may re-read at will.
    r.insert_header(CacheControl(vec![CacheDirective::NoCache]));
    match format {
        Format::Json => r
            .content_type("application/json; charset=utf-8")
            .body(to_json(node).to_string()),
        Format::Xml => r
            .content_type("text/xml; charset=utf-8")
            .body(to_xml(root, node)),
    }
}

fn error(format: Format, errors: &Open311Errors) -> HttpResponse {
    let status = StatusCode::from_u16(errors.status()).unwrap_or(StatusCode::BAD_REQUEST);
    render(format, status, "errors", &errors.node())
}

/// The `{name}.{format}` of a path: an unknown format is a resource that
/// does not exist (404, in XML, the standard's required format).
fn unknown_format() -> HttpResponse {
    error(
        Format::Xml,
        &Open311Error::new(404, "Định dạng chỉ có thể là .xml hoặc .json.").into(),
    )
}

macro_rules! format_or_return {
    ($raw:expr) => {
        match Format::parse($raw) {
            Some(f) => f,
            None => return unknown_format(),
        }
    };
}

/// `GET /open311/v2/discovery.{format}`
pub async fn discovery(path: web::Path<String>, state: web::Data<AppState>) -> HttpResponse {
    let format = format_or_return!(&path);
    render(
        format,
        StatusCode::OK,
        "discovery",
        &open311::discovery(&state),
    )
}

/// `GET /open311/v2/services.{format}`
pub async fn services(path: web::Path<String>, state: web::Data<AppState>) -> HttpResponse {
    let format = format_or_return!(&path);
    match open311::services(&state).await {
        Ok(list) => render(
            format,
            StatusCode::OK,
            "services",
            &open311::services_node(&list),
        ),
        Err(e) => error(format, &e.into()),
    }
}

/// `GET /open311/v2/services/{service_code}.{format}`
pub async fn service_definition(
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let (code, format) = path.into_inner();
    let format = format_or_return!(&format);
    match open311::definition(&state, &code).await {
        Ok(node) => render(format, StatusCode::OK, "service_definition", &node),
        Err(e) => error(format, &e),
    }
}

/// `POST /open311/v2/requests.{format}`: form-urlencoded, `api_key` in
/// the body (or a bearer token); an `Idempotency-Key` header works as on
/// the web form.
pub async fn create_request(
    req: HttpRequest,
    path: web::Path<String>,
    mut payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    use futures_util::StreamExt;
    let format = format_or_return!(&path);
    let form_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    if form_type.as_deref() != Some("application/x-www-form-urlencoded") {
        return error(
            format,
            &Open311Error::new(
                400,
                "Nội dung phải gửi dạng application/x-www-form-urlencoded, mã hóa UTF-8.",
            )
            .into(),
        );
    }
    let too_large = || {
        error(
            format,
            &Open311Error::new(400, "Nội dung gửi quá lớn (tối đa 64 KiB).").into(),
        )
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_FORM_BYTES) {
        return too_large();
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let Ok(chunk) = chunk else {
            return error(
                format,
                &Open311Error::new(400, "Nội dung gửi bị gián đoạn.").into(),
            );
        };
        if body.len() + chunk.len() > MAX_FORM_BYTES {
            return too_large();
        }
        body.extend_from_slice(&chunk);
    }
    // Every byte must be UTF-8 once decoded: the standard requires it, and
    // replacing what is not would change what the citizen wrote.
    let decoded = percent_encoding::percent_decode(&body).collect::<Vec<u8>>();
    let parsed = std::str::from_utf8(&decoded)
        .ok()
        .and_then(|_| serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body).ok());
    let Some(pairs) = parsed else {
        return error(
            format,
            &Open311Error::new(
                400,
                "Không đọc được nội dung gửi (cần UTF-8, dạng biểu mẫu).",
            )
            .into(),
        );
    };
    let form = RequestForm::new(pairs);
    let key = form
        .get("api_key")
        .map(str::to_string)
        .or_else(|| super::auth::bearer(&req));
    let client = match key {
        Some(key) => auth::authenticate_api_key(&state.store, key.trim())
            .await
            .ok(),
        None => None,
    };
    // Without a working key the request is refused; the refusals of one
    // address are limited as the web form's submissions are.
    if client.is_none()
        && let Err(limited) = state.rate_limits.check(Bucket::Submission, &req)
    {
        let mut response = error(
            format,
            &Open311Error::new(
                429,
                "Quá nhiều yêu cầu trong thời gian ngắn. Vui lòng thử lại sau ít phút.",
            )
            .into(),
        );
        if let Some(seconds) = limited.retry_after()
            && let Ok(value) = header::HeaderValue::from_str(&seconds.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return response;
    }
    let idempotency_key = req
        .headers()
        .get("idempotency-key")
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    match open311::create(
        &state,
        client,
        &form,
        idempotency_key,
        REQUEST_ID.try_with(Clone::clone).ok(),
        Utc::now(),
    )
    .await
    {
        Ok(created) => {
            let mut response = render(format, StatusCode::OK, "service_requests", &created.node());
            response.headers_mut().insert(
                header::CACHE_CONTROL,
                header::HeaderValue::from_static("no-store"),
            );
            if created.replayed {
                response.headers_mut().insert(
                    header::HeaderName::from_static("idempotent-replayed"),
                    header::HeaderValue::from_static("true"),
                );
            }
            response
        }
        Err(e) => error(format, &e),
    }
}

#[derive(Debug, Deserialize)]
pub struct RequestsQuery {
    service_request_id: Option<String>,
    service_code: Option<String>,
    start_date: Option<String>,
    end_date: Option<String>,
    status: Option<String>,
}

/// `GET /open311/v2/requests.{format}`: published items only.
pub async fn list_requests(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let format = format_or_return!(&path);
    // Unknown parameters (jurisdiction_id, page, page_size…) are ignored,
    // as the standard's optional arguments are.
    let Ok(q) = web::Query::<RequestsQuery>::from_query(req.query_string()) else {
        return error(
            format,
            &Open311Error::new(400, "Không đọc được tham số truy vấn.").into(),
        );
    };
    let q = q.into_inner();
    let query = ListQuery {
        service_request_id: q.service_request_id,
        service_code: q.service_code,
        start_date: q.start_date,
        end_date: q.end_date,
        status: q.status,
    };
    let result = match open311::list_query(&state, &query, Utc::now()).await {
        Ok(filters) => open311::list(&state, &filters).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(list) => render(
            format,
            StatusCode::OK,
            "service_requests",
            &open311::requests_node(&list),
        ),
        Err(e) => error(format, &e),
    }
}

/// `GET /open311/v2/requests/{service_request_id}.{format}`
pub async fn get_request(
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let (id, format) = path.into_inner();
    let format = format_or_return!(&format);
    match open311::one(&state, &id).await {
        Ok(one) => render(
            format,
            StatusCode::OK,
            "service_requests",
            &open311::requests_node(std::slice::from_ref(&one)),
        ),
        Err(e) => error(format, &e),
    }
}

/// `GET /open311/v2/tokens/{token}.{format}`
pub async fn get_token(path: web::Path<(String, String)>) -> HttpResponse {
    let (token, format) = path.into_inner();
    let format = format_or_return!(&format);
    error(format, &open311::token(&token))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_follows_the_standard_and_escapes_text() {
        let node = Node::List {
            item: "error",
            items: vec![Node::Object(vec![
                ("code", Node::Int(400)),
                ("description", Node::Text(Some("a < b & \"c\"".into()))),
                ("account_id", Node::Text(None)),
            ])],
        };
        assert_eq!(
            to_xml("errors", &node),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><errors><error><code>400</code>\
             <description>a &lt; b &amp; &quot;c&quot;</description><account_id/></error></errors>"
        );
        assert_eq!(
            to_json(&node),
            serde_json::json!([{"code": 400, "description": "a < b & \"c\"", "account_id": null}])
        );
    }
}
