//! "Việc của tôi" in the console and over JSON: the same view
//! (`services::my_work`) as a page, as the count the navigation shows, and
//! as the API's answer.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::Utc;

use super::auth::Staff;
use super::console::{Nav, refused};
use super::html::{StaffPage, console_page};
use super::problem::ApiError;
use super::{AppState, private_json};
use crate::services::my_work::{self, MyWork};

#[derive(Template)]
#[template(path = "console_my_work.html", config = "config/askama.toml")]
struct MyWorkPage {
    nav: Nav,
    work: MyWork,
}

/// `GET /nhan-vien/viec-cua-toi`
pub async fn page(req: HttpRequest, staff: StaffPage, state: web::Data<AppState>) -> HttpResponse {
    let result = async {
        let work = my_work::of(&state, &staff.actor, Utc::now()).await?;
        console_page(
            StatusCode::OK,
            &MyWorkPage {
                nav: Nav::of(&state, &staff.actor, "viec-cua-toi"),
                work,
            },
        )
    }
    .await;
    result.unwrap_or_else(|e: ApiError| refused(&req, &state, e))
}

#[derive(Template)]
#[template(
    source = "{% if total > 0 %}<span class=\"badge\">{{ total }}</span><span class=\"sr-only\"> việc đang chờ</span>{% endif %}",
    ext = "html"
)]
struct CountFragment {
    total: i64,
}

/// `GET /nhan-vien/viec-cua-toi/so-luong`: how much waits, for the
/// navigation (asked every 30 seconds by the page).
pub async fn count(req: HttpRequest, staff: StaffPage, state: web::Data<AppState>) -> HttpResponse {
    let result = async {
        let work = my_work::of(&state, &staff.actor, Utc::now()).await?;
        console_page(StatusCode::OK, &CountFragment { total: work.total })
    }
    .await;
    result.unwrap_or_else(|e: ApiError| refused(&req, &state, e))
}

/// `GET /api/v1/staff/my-work`
pub async fn api(staff: Staff, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    Ok(private_json(
        my_work::of(&state, &staff.actor, Utc::now()).await?,
    ))
}
