//! Reads a submission from any of the three encodings the public form and
//! portals use (JSON, urlencoded form, multipart with attachments) into one
//! [`SubmissionInput`]. Form encodings name nested fields with dots
//! (`submitter.address.detail`) or brackets (`submitter[address][detail]`).

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use actix_multipart::Multipart;
use actix_web::HttpRequest;
use actix_web::error::PayloadError;
use actix_web::http::header;
use actix_web::web::{self, Bytes, BytesMut};
use futures_util::{Stream, StreamExt};
use serde_json::{Map, Value};

use super::problem::ApiError;
use crate::config::Settings;
use crate::domain::feedback::{FieldError, SubmissionInput};
use crate::services::intake::IncomingAttachment;

/// Field names under which files may be sent in multipart bodies.
const ATTACHMENT_FIELDS: [&str; 2] = ["attachments", "attachments[]"];
/// Nesting deeper than the wire format's (`submitter.address.detail`) is
/// refused before any allocation.
const MAX_FORM_DEPTH: usize = 3;

pub async fn read_submission(
    req: &HttpRequest,
    payload: web::Payload,
    settings: &Settings,
) -> Result<(SubmissionInput, Vec<IncomingAttachment>), ApiError> {
    let (value, files) = read_body(req, payload, settings).await?;
    Ok((submission_from_value(value)?, files))
}

/// The submission in `value` (what is left once a caller took its own
/// fields out).
pub fn submission_from_value(value: Value) -> Result<SubmissionInput, ApiError> {
    serde_path_to_error::deserialize::<_, SubmissionInput>(value).map_err(value_error)
}

/// The text at `path` in a form read by [`read_body`] (empty when absent),
/// to fill a form again with what was typed.
pub fn text_at(v: &Value, path: &[&str]) -> String {
    let mut node = v;
    for p in path {
        match node.get(p) {
            Some(n) => node = n,
            None => return String::new(),
        }
    }
    node.as_str()
        .unwrap_or_default()
        .chars()
        .take(20_000)
        .collect()
}

/// A commune chosen from a form's list is one of this service's
/// province: the address gets the province's code.
pub fn place_commune_in_province(body: &mut Value, province_code: &str) {
    if let Some(address) = body
        .get_mut("submitter")
        .and_then(|s| s.get_mut("address"))
        .and_then(Value::as_object_mut)
        && address
            .get("commune_code")
            .and_then(Value::as_str)
            .is_some_and(|c| !c.trim().is_empty())
    {
        address.insert(
            "province_code".into(),
            Value::String(province_code.to_string()),
        );
    }
}

/// The body as one JSON value (form encodings nested by their dotted or
/// bracketed names) and any attached files.
pub async fn read_body(
    req: &HttpRequest,
    payload: web::Payload,
    settings: &Settings,
) -> Result<(Value, Vec<IncomingAttachment>), ApiError> {
    // A client that stops sending its body is dropped: slow bodies must
    // not hold connections and memory (the headers have actix's own
    // `client_request_timeout`).
    let stalled = Rc::new(Cell::new(false));
    let idle = Duration::from_secs(settings.server.body_idle_timeout_seconds);
    let payload = guarded(payload, idle, stalled.clone());
    parse_body(req.headers(), payload, BodyLimits::of(settings))
        .await
        // Whatever a read failed with, a stalled body is a timeout.
        .map_err(|e| {
            if stalled.get() {
                ApiError::request_timeout()
            } else {
                e
            }
        })
}

/// The sizes a body is read under (`server.max_body_bytes` and the
/// `intake` attachment limits).
#[derive(Debug, Clone, Copy)]
pub struct BodyLimits {
    /// JSON and urlencoded bodies, and a multipart body's text fields.
    pub max_body_bytes: usize,
    /// A whole multipart body, files included.
    pub max_request_bytes: usize,
    pub max_attachments: usize,
    pub max_attachment_bytes: usize,
}

impl BodyLimits {
    pub fn of(settings: &Settings) -> Self {
        Self {
            max_body_bytes: settings.server.max_body_bytes,
            max_request_bytes: settings.intake.max_request_bytes,
            max_attachments: settings.intake.max_attachments,
            max_attachment_bytes: settings.intake.max_attachment_bytes,
        }
    }
}

/// [`read_body`] without a request: the body given as chunks in memory,
/// for the form parser's fuzz target (`tests/fuzz`).
#[doc(hidden)]
pub async fn parse_body_chunks(
    content_type: &str,
    content_length: Option<usize>,
    chunks: Vec<Vec<u8>>,
    limits: BodyLimits,
) -> Result<(Value, Vec<IncomingAttachment>), ApiError> {
    let mut headers = header::HeaderMap::new();
    if let Ok(v) = header::HeaderValue::from_str(content_type) {
        headers.insert(header::CONTENT_TYPE, v);
    }
    if let Some(n) = content_length {
        headers.insert(header::CONTENT_LENGTH, header::HeaderValue::from(n));
    }
    let stream = futures_util::stream::iter(chunks.into_iter().map(|c| Ok(Bytes::from(c))));
    parse_body(&headers, stream, limits).await
}

async fn parse_body(
    headers: &header::HeaderMap,
    payload: impl Stream<Item = Result<Bytes, PayloadError>> + 'static,
    limits: BodyLimits,
) -> Result<(Value, Vec<IncomingAttachment>), ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_string();
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let mut payload = Box::pin(payload);
    match essence.as_str() {
        "application/json" | "application/x-www-form-urlencoded" => {
            let limit = limits.max_body_bytes;
            if declared.is_some_and(|n| n > limit) {
                return Err(ApiError::payload_too_large());
            }
            let mut body = BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk =
                    chunk.map_err(|_| ApiError::malformed("Không đọc được dữ liệu gửi lên."))?;
                if body.len() + chunk.len() > limit {
                    return Err(ApiError::payload_too_large());
                }
                body.extend_from_slice(&chunk);
            }
            let input = if essence == "application/json" {
                serde_json::from_slice::<Value>(&body)
                    .map_err(|_| ApiError::malformed("Dữ liệu JSON không hợp lệ."))?
            } else {
                let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&body)
                    .map_err(|_| ApiError::malformed("Dữ liệu biểu mẫu không hợp lệ."))?;
                from_pairs(pairs)?
            };
            Ok((input, Vec::new()))
        }
        "multipart/form-data" => {
            if declared.is_some_and(|n| n > limits.max_request_bytes) {
                return Err(ApiError::payload_too_large());
            }
            read_multipart(headers, payload, limits).await
        }
        _ => Err(ApiError::unsupported_media_type()),
    }
}

/// The body's chunks, ending in an error once none has come for `idle`.
fn guarded(
    payload: web::Payload,
    idle: Duration,
    stalled: Rc<Cell<bool>>,
) -> impl Stream<Item = Result<Bytes, PayloadError>> + 'static {
    futures_util::stream::unfold(Some(payload), move |state| {
        let stalled = stalled.clone();
        async move {
            let mut payload = state?;
            match tokio::time::timeout(idle, payload.next()).await {
                Ok(Some(chunk)) => Some((chunk, Some(payload))),
                Ok(None) => None,
                Err(_) => {
                    stalled.set(true);
                    let e =
                        std::io::Error::new(std::io::ErrorKind::TimedOut, "request body stalled");
                    Some((Err(PayloadError::Io(e)), None))
                }
            }
        }
    })
    // The multipart reader polls again after the end; `unfold` alone
    // panics on that (found by the 50-file test), a fused stream says
    // "no more" again.
    .fuse()
}

async fn read_multipart(
    headers: &header::HeaderMap,
    payload: impl Stream<Item = Result<Bytes, PayloadError>> + 'static,
    limits: BodyLimits,
) -> Result<(Value, Vec<IncomingAttachment>), ApiError> {
    let mut multipart = Multipart::new(headers, payload);
    let mut pairs = Vec::new();
    let mut files = Vec::new();
    let mut total = 0usize;
    let mut text_bytes = 0usize;
    let malformed = || ApiError::malformed("Dữ liệu multipart/form-data không hợp lệ.");
    while let Some(field) = multipart.next().await {
        let mut field = field.map_err(|_| malformed())?;
        let name = field.name().unwrap_or_default().to_string();
        let file_name = field
            .content_disposition()
            .and_then(|cd| cd.get_filename())
            .map(str::to_string);
        let is_file = ATTACHMENT_FIELDS.contains(&name.as_str());
        if !is_file && file_name.is_some() {
            return Err(ApiError::submission_invalid(vec![FieldError::new(
                name,
                "unknown_field",
            )]));
        }
        if is_file && files.len() >= limits.max_attachments {
            return Err(ApiError::submission_invalid(vec![FieldError::new(
                "attachments",
                "too_many_attachments",
            )]));
        }
        // Keep one byte past the per-file limit so the check downstream
        // knows the file was too large; drop the rest as it streams by.
        let keep = if is_file {
            limits.max_attachment_bytes + 1
        } else {
            limits.max_body_bytes
        };
        let mut content = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(|_| malformed())?;
            total += chunk.len();
            if total > limits.max_request_bytes {
                return Err(ApiError::payload_too_large());
            }
            if !is_file {
                text_bytes += chunk.len();
                if text_bytes > limits.max_body_bytes {
                    return Err(ApiError::payload_too_large());
                }
            }
            let room = keep.saturating_sub(content.len());
            content.extend_from_slice(&chunk[..chunk.len().min(room)]);
        }
        if is_file {
            if content.is_empty() && file_name.as_deref().unwrap_or_default().is_empty() {
                // Browsers send an empty part for an untouched file input.
                continue;
            }
            files.push(IncomingAttachment { file_name, content });
        } else {
            let value = String::from_utf8(content).map_err(|_| {
                ApiError::submission_invalid(vec![FieldError::new(name.clone(), "wrong_type")])
            })?;
            pairs.push((name, value));
        }
    }
    Ok((from_pairs(pairs)?, files))
}

/// Builds the nested object from flat form pairs.
pub fn from_pairs(pairs: Vec<(String, String)>) -> Result<Value, ApiError> {
    let mut root = Map::new();
    for (raw_key, value) in pairs {
        let key = raw_key
            .replace("][", ".")
            .replace('[', ".")
            .replace(']', "");
        let parts: Vec<&str> = key.split('.').collect();
        if parts.len() > MAX_FORM_DEPTH || parts.iter().any(|p| p.is_empty()) {
            return Err(ApiError::submission_invalid(vec![FieldError::new(
                raw_key,
                "unknown_field",
            )]));
        }
        let mut node = &mut root;
        for part in &parts[..parts.len() - 1] {
            let entry = node
                .entry(part.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            node = match entry {
                Value::Object(map) => map,
                _ => {
                    return Err(ApiError::submission_invalid(vec![FieldError::new(
                        raw_key,
                        "wrong_type",
                    )]));
                }
            };
        }
        let leaf = parts[parts.len() - 1].to_string();
        if matches!(node.get(&leaf), Some(Value::Object(_))) {
            return Err(ApiError::submission_invalid(vec![FieldError::new(
                raw_key,
                "wrong_type",
            )]));
        }
        node.insert(leaf, Value::String(value));
    }
    Ok(Value::Object(root))
}

fn value_error(err: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = err.path().to_string();
    let message = err.into_inner().to_string();
    field_error(&path, &message)
}

/// serde reports an unknown field at the path of its parent, with the name
/// in backquotes; a wrong type at the field's own path.
fn field_error(path: &str, message: &str) -> ApiError {
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let name = rest.split('`').next().unwrap_or_default();
        // serde_path_to_error's path already ends with the unknown name.
        let field = if path == "." || path.is_empty() {
            name.to_string()
        } else if path == name || path.ends_with(&format!(".{name}")) {
            path.to_string()
        } else {
            format!("{path}.{name}")
        };
        return ApiError::submission_invalid(vec![FieldError::new(field, "unknown_field")]);
    }
    let field = if path == "." || path.is_empty() {
        "body".to_string()
    } else {
        path.to_string()
    };
    ApiError::submission_invalid(vec![FieldError::new(field, "wrong_type")])
}
