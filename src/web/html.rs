//! What every page shares, citizens' and staff's alike: rendering under
//! the right content policy and caching, form errors placed next to their
//! fields, the message that says what just happened, the staff session
//! cookie, and the check that a form was posted from our own pages.
//! Handlers render through these; none builds its own headers.

use std::future::Future;
use std::pin::Pin;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, CacheControl, CacheDirective};
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError, dev::Payload, web};
use askama::Template;
use chrono::Utc;

use super::AppState;
use super::auth::{bearer, require};
use super::problem::ApiError;
use crate::domain::feedback::FieldError;
use crate::domain::staff::{Actor, Permission};
use crate::services::auth;

/// Pages load their own stylesheet and nothing else; forms post only here.
pub const PAGE_CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The staff console also runs its own scripts (the vendored htmx and
/// ours, from /static), and listens for live events from itself: still
/// no inline script, no eval, no other origin.
pub const CONSOLE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// A receipt (a tracking code and a token to write down) also runs the
/// small copy-button script from /static; the page works without it.
pub const RECEIPT_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub const SESSION_COOKIE: &str = "pakn_staff";

/// A tracking code or token as a receipt shows it: groups that wrap only
/// between themselves and copy as one string (`code_macros.html`).
#[derive(Debug, Clone)]
pub struct CodeView {
    pub id: &'static str,
    pub label: &'static str,
    pub groups: Vec<String>,
}

impl CodeView {
    /// `PAKN.48.20261122.0001` in its dot-separated parts (dots kept).
    pub fn tracking(code: &str) -> Self {
        Self {
            id: "ma-so",
            label: "mã số",
            groups: code.split_inclusive('.').map(str::to_string).collect(),
        }
    }

    /// A token in groups of four (the dashes of its display form dropped:
    /// a copied token is one string the lookup form accepts).
    pub fn token(token: &str) -> Self {
        let plain: Vec<char> = token.chars().filter(|c| *c != '-' && *c != ' ').collect();
        Self {
            id: "ma-tra-cuu",
            label: "mã tra cứu",
            groups: plain.chunks(4).map(|g| g.iter().collect()).collect(),
        }
    }
}
pub const SIGN_IN_PATH: &str = "/nhan-vien/dang-nhap";

fn render(page: &impl Template) -> Result<String, ApiError> {
    page.render().map_err(|e| {
        tracing::error!(error = %e, "page did not render");
        ApiError::internal()
    })
}

fn respond(status: StatusCode, csp: &'static str, private: bool, body: String) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    response.insert_header((header::CONTENT_SECURITY_POLICY, csp));
    if private {
        response.insert_header((header::CACHE_CONTROL, "no-store, private"));
    } else {
        response.insert_header(CacheControl(vec![
            CacheDirective::Public,
            CacheDirective::MaxAge(60),
        ]));
    }
    response.content_type("text/html; charset=utf-8").body(body)
}

/// A public page anyone may cache for a minute.
pub fn public_page(status: StatusCode, page: &impl Template) -> Result<HttpResponse, ApiError> {
    Ok(respond(status, PAGE_CSP, false, render(page)?))
}

/// A page with something private (a form's stamp and key, a token, a
/// citizen's own item): never cached or shared.
pub fn private_page(status: StatusCode, page: &impl Template) -> Result<HttpResponse, ApiError> {
    Ok(respond(status, PAGE_CSP, true, render(page)?))
}

/// A page with a code and token to write down: private, never a referrer
/// source, with the copy-button script allowed.
pub fn receipt_page(status: StatusCode, page: &impl Template) -> Result<HttpResponse, ApiError> {
    let mut response = respond(status, RECEIPT_CSP, true, render(page)?);
    response.headers_mut().insert(
        header::REFERRER_POLICY,
        header::HeaderValue::from_static("no-referrer"),
    );
    Ok(response)
}

/// A page of the staff console, or a part of one that htmx swaps in.
pub fn console_page(status: StatusCode, page: &impl Template) -> Result<HttpResponse, ApiError> {
    Ok(respond(status, CONSOLE_CSP, true, render(page)?))
}

/// Whether htmx asked for part of a page (it sends `HX-Request`).
pub fn wants_fragment(req: &HttpRequest) -> bool {
    req.headers().contains_key("hx-request")
}

/// Whether the client is a browser asking for a page (errors then come
/// as pages, not problem+json).
pub fn wants_html(req: &actix_web::HttpRequest) -> bool {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"))
}

/// A form posted from another site is refused: browsers say where a
/// request comes from (`Sec-Fetch-Site`, `Origin`), and only our own pages
/// may post to us.
pub fn same_origin_post(req: &actix_web::HttpRequest, public_base_url: &str) -> bool {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = header("sec-fetch-site") {
        return matches!(site, "same-origin" | "none");
    }
    match header("origin") {
        Some(origin) => {
            let ours = public_base_url.trim_end_matches('/');
            let host = req.connection_info().host().to_string();
            origin == ours
                || origin.strip_prefix("http://") == Some(host.as_str())
                || origin.strip_prefix("https://") == Some(host.as_str())
        }
        // Neither header: not a browser's cross-site form post.
        None => true,
    }
}

/// A "303 See Other" to `location`: after a form is posted, the browser
/// loads the result with a GET (a reload never posts twice).
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location.to_string()))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// A message above a page's content: what just happened, or what went
/// wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flash {
    pub text: String,
    pub is_error: bool,
}

impl Flash {
    pub fn done(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            is_error: false,
        }
    }

    pub fn error(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            is_error: true,
        }
    }
}

/// One refusal, placed next to its field.
#[derive(Debug, Clone)]
pub struct PageError {
    /// The id of the input it concerns (`submitter-full_name`).
    pub anchor: String,
    pub label: &'static str,
    pub message: &'static str,
}

/// A form's refusals, each by its input and in a summary on top that
/// links to it.
#[derive(Debug, Clone, Default)]
pub struct PageErrors(pub Vec<PageError>);

impl PageErrors {
    /// The refusals of `errors`, placed by `label`: the id of the input a
    /// wire field is typed into, and its name on the page.
    pub fn from_fields(
        errors: &[FieldError],
        label: impl Fn(&str) -> (String, &'static str),
    ) -> Self {
        Self(
            errors
                .iter()
                .map(|e| {
                    // Files are one input however many were chosen.
                    let field = if e.field.starts_with("attachments") {
                        "attachments"
                    } else {
                        e.field.as_str()
                    };
                    let (anchor, label) = label(field);
                    PageError {
                        anchor,
                        label,
                        message: e.message,
                    }
                })
                .collect(),
        )
    }

    /// The messages for the input with this id.
    pub fn of(&self, anchor: &str) -> Vec<&'static str> {
        let mut messages: Vec<&'static str> = Vec::new();
        for e in self.0.iter().filter(|e| e.anchor == anchor) {
            if !messages.contains(&e.message) {
                messages.push(e.message);
            }
        }
        messages
    }

    /// The messages for the input with this id, as one text (one element
    /// per field, so its id is unique).
    pub fn joined(&self, anchor: &str) -> String {
        self.of(anchor).join(" ")
    }

    pub fn has(&self, anchor: &str) -> bool {
        self.0.iter().any(|e| e.anchor == anchor)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A signed-in staff member on a staff page.
pub struct StaffPage {
    pub actor: Actor,
    pub(super) token: String,
}

impl StaffPage {
    pub fn require(&self, permission: Permission) -> Result<&Actor, ApiError> {
        require(&self.actor, permission)
    }
}

/// A request without a valid session: a browser is sent to sign in and
/// brought back; a program gets the API's 401.
#[derive(Debug)]
pub struct SignInFirst {
    next: Option<String>,
    error: ApiError,
}

impl std::fmt::Display for SignInFirst {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl ResponseError for SignInFirst {
    fn status_code(&self) -> StatusCode {
        if self.next.is_some() {
            StatusCode::SEE_OTHER
        } else {
            self.error.status_code()
        }
    }

    fn error_response(&self) -> HttpResponse {
        match &self.next {
            Some(next) => HttpResponse::SeeOther()
                .insert_header((
                    header::LOCATION,
                    format!(
                        "{SIGN_IN_PATH}?{}",
                        serde_urlencoded::to_string([("tiep", next.as_str())]).unwrap_or_default()
                    ),
                ))
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .finish(),
            None => self.error.error_response(),
        }
    }
}

fn cookie_token(req: &HttpRequest) -> Option<String> {
    let cookies = req.headers().get(header::COOKIE)?.to_str().ok()?;
    cookies.split(';').find_map(|pair| {
        let (name, value) = pair.trim().split_once('=')?;
        (name == SESSION_COOKIE && !value.is_empty()).then(|| value.to_string())
    })
}

impl FromRequest for StaffPage {
    type Error = SignInFirst;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = bearer(req).or_else(|| cookie_token(req));
        let state = req.app_data::<web::Data<AppState>>().cloned();
        // Back to the page asked for, once signed in (a GET of ours only).
        let next = (wants_html(req) && req.method() == actix_web::http::Method::GET)
            .then(|| req.uri().path_and_query().map(|p| p.to_string()))
            .flatten()
            .filter(|p| local_staff_path(p));
        Box::pin(async move {
            let refuse = |error: ApiError| SignInFirst {
                next: next.clone(),
                error,
            };
            let (Some(token), Some(state)) = (token, state) else {
                return Err(refuse(ApiError::unauthorized()));
            };
            match auth::authenticate(&state.store, &token, Utc::now()).await {
                Ok(actor) => Ok(StaffPage { actor, token }),
                Err(e) => Err(refuse(e.into())),
            }
        })
    }
}

/// Only our own staff pages are places to go back to: never another
/// site (`//evil`, `/\evil`) and never the sign-in page itself.
pub(super) fn local_staff_path(p: &str) -> bool {
    p.starts_with("/nhan-vien/")
        && !p.starts_with(SIGN_IN_PATH)
        && !p.contains("//")
        && !p.contains('\\')
        && p.bytes().all(|b| b.is_ascii_graphic())
        && p.len() <= 512
}

/// One option of a list on a form, selected or not.
pub struct Choice {
    pub code: String,
    pub name: String,
    pub selected: bool,
}

/// `items` as a form's options, `selected` chosen.
pub fn choices(items: impl IntoIterator<Item = (String, String)>, selected: &str) -> Vec<Choice> {
    items
        .into_iter()
        .map(|(code, name)| Choice {
            selected: code == selected,
            code,
            name,
        })
        .collect()
}

/// What a submission form offers (the citizen's form and the intake
/// desk): the directory's lists with what was chosen selected, the
/// attachment rules and whether publication is asked for.
pub struct SubmissionLists {
    pub fields: Vec<Choice>,
    pub agencies: Vec<Choice>,
    pub communes: Vec<Choice>,
    pub categories: Vec<Choice>,
    pub title_max: u64,
    pub content_min: u64,
    pub content_max: u64,
    pub max_attachments: usize,
    pub max_attachment_mb: usize,
    pub attachment_types: String,
    /// Publication rests on the submitter's consent (the form asks), or
    /// is the office's duty (the form says so instead).
    pub asks_consent: bool,
}

/// What was chosen in a submission form's lists.
pub struct Chosen<'a> {
    pub field_code: &'a str,
    pub agency_code: &'a str,
    pub commune_code: &'a str,
    pub content_category: &'a str,
}

impl SubmissionLists {
    pub async fn load(state: &AppState, chosen: Chosen<'_>) -> Result<Self, ApiError> {
        use crate::domain::feedback::ContentCategory;
        let settings = &state.settings;
        let today = crate::domain::time::vietnam_date(Utc::now());
        let province = settings.province.code.clone();
        let fields = state.store.list_fields().await?;
        let mut agencies: Vec<(String, String)> = state
            .store
            .list_agencies(
                &crate::domain::directory::AgencyFilter {
                    province_code: Some(province.clone()),
                    ..Default::default()
                },
                today,
            )
            .await?
            .into_iter()
            .map(|a| (a.code, a.name))
            .collect();
        agencies.sort_by(|a, b| a.1.cmp(&b.1));
        let communes = state
            .store
            .list_administrative_units(Some(&province))
            .await?;
        Ok(Self {
            fields: choices(
                fields.into_iter().map(|f| (f.code, f.name)),
                chosen.field_code,
            ),
            agencies: choices(agencies, chosen.agency_code),
            communes: choices(
                communes
                    .into_iter()
                    .filter(|u| u.valid_to.is_none_or(|to| today < to))
                    .map(|u| (u.code, u.name)),
                chosen.commune_code,
            ),
            categories: choices(
                ContentCategory::ALL
                    .iter()
                    .map(|c| (c.as_str().to_string(), c.label_vi().to_string())),
                chosen.content_category,
            ),
            title_max: settings.intake.title_max_chars,
            content_min: settings.intake.content_min_chars,
            content_max: settings.intake.content_max_chars,
            max_attachments: settings.intake.max_attachments,
            max_attachment_mb: settings.intake.max_attachment_bytes.div_ceil(1024 * 1024),
            attachment_types: settings
                .intake
                .allowed_attachment_types
                .iter()
                .map(|t| t.to_uppercase())
                .collect::<Vec<_>>()
                .join(", "),
            asks_consent: settings.publication.basis == crate::config::PublicationBasis::Consent,
        })
    }
}
