//! Staff pages in a browser: a sign-in page that keeps the
//! session in a cookie, so the dashboard, the report and the exports open
//! as ordinary links. The cookie is the same session the API's bearer
//! token is (revoked by signing out, expiring with `auth.session_hours`);
//! it is `HttpOnly`, `SameSite=Strict` and scoped to `/nhan-vien`, so no
//! script and no other site's page can use it, and it is `Secure` when the
//! service is published over HTTPS. Every staff page also accepts the
//! bearer token, for programs.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use askama::Template;
use chrono::Utc;
use serde::Deserialize;

use super::AppState;
use super::html::{
    SESSION_COOKIE, StaffPage, local_staff_path, private_page, same_origin_post, wants_html,
};
use super::problem::ApiError;
use super::rate_limit::Bucket;
use crate::services::auth;

/// Where staff land after signing in: the console's home, which sends
/// each role where its work is (the queue; administration for admins).
const HOME: &str = "/nhan-vien";

fn session_cookie(state: &AppState, token: &str, max_age_seconds: i64) -> String {
    let secure = if state
        .settings
        .server
        .public_base_url
        .starts_with("https://")
    {
        "; Secure"
    } else {
        ""
    };
    format!(
        "{SESSION_COOKIE}={token}; Path=/nhan-vien; HttpOnly; SameSite=Strict; Max-Age={max_age_seconds}{secure}"
    )
}

#[derive(Template)]
#[template(path = "staff_sign_in.html", config = "config/askama.toml")]
struct SignInPage {
    site_name: String,
    next: String,
    username: String,
    message: Option<&'static str>,
    done: Option<&'static str>,
}

#[derive(Debug, Deserialize)]
pub struct SignInQuery {
    tiep: Option<String>,
    /// Back from setting a password: say so.
    #[serde(rename = "doi-mat-khau")]
    password_changed: Option<String>,
}

fn next_or_home(next: Option<&str>) -> String {
    next.filter(|p| local_staff_path(p))
        .unwrap_or(HOME)
        .to_string()
}

/// `GET /nhan-vien/dang-nhap`
pub async fn sign_in_form(
    query: web::Query<SignInQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    private_page(
        StatusCode::OK,
        &SignInPage {
            site_name: state.settings.office().name,
            next: next_or_home(query.tiep.as_deref()),
            username: String::new(),
            message: None,
            done: query
                .password_changed
                .is_some()
                .then_some("Mật khẩu đã được đặt. Vui lòng đăng nhập bằng mật khẩu mới."),
        },
    )
}

#[derive(Debug, Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    tiep: Option<String>,
}

/// `POST /nhan-vien/dang-nhap`
pub async fn sign_in(
    req: HttpRequest,
    form: web::Form<SignInForm>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    if !same_origin_post(&req, &state.settings.server.public_base_url) {
        return Err(ApiError::forbidden());
    }
    let form = form.into_inner();
    let next = next_or_home(form.tiep.as_deref());
    let again = |status: StatusCode, message: &'static str| {
        private_page(
            status,
            &SignInPage {
                site_name: state.settings.office().name,
                next: next.clone(),
                username: form.username.chars().take(64).collect(),
                message: Some(message),
                done: None,
            },
        )
    };
    if let Err(limited) = state.rate_limits.check(Bucket::Login, &req) {
        let mut page = again(
            StatusCode::TOO_MANY_REQUESTS,
            "Đăng nhập sai quá nhiều lần. Vui lòng đợi vài phút rồi thử lại.",
        )?;
        if let Some(after) = limited.error_response().headers().get(header::RETRY_AFTER) {
            page.headers_mut()
                .insert(header::RETRY_AFTER, after.clone());
        }
        return Ok(page);
    }
    match auth::login(
        &state.store,
        &state.settings,
        &form.username,
        &form.password,
        Utc::now(),
    )
    .await
    {
        Ok(signed_in) => {
            let max_age = (signed_in.expires_at - Utc::now()).num_seconds().max(0);
            Ok(HttpResponse::SeeOther()
                .insert_header((header::LOCATION, next))
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .insert_header((
                    header::SET_COOKIE,
                    session_cookie(&state, &signed_in.token, max_age),
                ))
                .finish())
        }
        Err(auth::AuthError::InvalidCredentials) => again(
            StatusCode::OK,
            "Tên đăng nhập hoặc mật khẩu không đúng (hoặc tài khoản đang bị khóa).",
        ),
        Err(e) => Err(e.into()),
    }
}

/// `POST /nhan-vien/dang-xuat`: ends the session, here and for the API.
/// A tab whose session already ended signs out all the same.
pub async fn sign_out(
    req: HttpRequest,
    staff: Option<StaffPage>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    if !same_origin_post(&req, &state.settings.server.public_base_url) {
        return Err(ApiError::forbidden());
    }
    if let Some(staff) = staff {
        auth::logout(&state.store, &staff.token, Utc::now()).await?;
    }
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, super::html::SIGN_IN_PATH))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((
            header::SET_COOKIE,
            HeaderValue::from_str(&session_cookie(&state, "", 0))
                .unwrap_or(HeaderValue::from_static("pakn_staff=; Max-Age=0")),
        ))
        .finish())
}

#[derive(Template)]
#[template(path = "staff_error.html", config = "config/askama.toml")]
struct StaffErrorPage {
    site_name: String,
    title: String,
    detail: String,
}

/// An error on a staff page: a page for a browser, problem+json for a
/// program.
pub(super) fn staff_error(req: &HttpRequest, state: &AppState, error: ApiError) -> HttpResponse {
    if !wants_html(req) {
        return error.error_response();
    }
    let status = error.status_code();
    let (title, detail) = error.title_and_detail();
    private_page(
        status,
        &StaffErrorPage {
            site_name: state.settings.office().name,
            title,
            detail,
        },
    )
    .unwrap_or_else(|e| e.error_response())
}
