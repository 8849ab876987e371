//! Staff accounts in the browser and over JSON: one's own profile
//! (`/nhan-vien/ho-so`: the daily digest, one's password), the
//! administrator's accounts (`/nhan-vien/quan-tri/tai-khoan…`) and the
//! one-time set-password page (`/nhan-vien/dat-mat-khau`). The views and
//! the rules are `services::accounts`'; these handlers only read forms and
//! choose between a page and JSON.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::Utc;
use serde::Deserialize;

use super::AppState;
use super::auth::Staff;
use super::console::{Nav, Opt, check_origin, refused};
use super::html::{
    Flash, PageErrors, StaffPage, console_page, private_page, same_origin_post, see_other,
    wants_html,
};
use super::private_json;
use super::problem::{ApiError, request_id};
use super::rate_limit::Bucket;
use crate::domain::feedback::FieldError;
use crate::domain::staff::{Permission, Role};
use crate::services::accounts::{
    self, AccountAction, AccountInput, AccountList, AccountView, PasswordLink, ProfileView,
};
use crate::services::staff_items::StaffError;

/// Reads a urlencoded form leniently: a missing field is empty.
pub(super) fn form_pairs(body: &[u8]) -> Result<Vec<(String, String)>, ApiError> {
    serde_urlencoded::from_bytes(body).map_err(|_| ApiError::malformed("Biểu mẫu không hợp lệ."))
}

pub(super) fn get(pairs: &[(String, String)], name: &str) -> String {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

fn label(field: &str) -> (String, &'static str) {
    let label = match field {
        "username" => "Tên đăng nhập",
        "display_name" => "Họ và tên",
        "role" => "Vai trò",
        "agency_code" => "Cơ quan",
        "email" => "Thư điện tử",
        "current_password" => "Mật khẩu hiện tại",
        "new_password" => "Mật khẩu mới",
        "new_password_again" => "Nhập lại mật khẩu mới",
        _ => "Thông tin",
    };
    (field.to_string(), label)
}

fn role_options(selected: &str) -> Vec<Opt> {
    Role::ALL
        .iter()
        .map(|r| Opt {
            value: r.as_str().into(),
            label: r.label_vi().into(),
            selected: r.as_str() == selected,
        })
        .collect()
}

/// The agencies an account may belong to: those that exist today.
pub(super) async fn agency_options(state: &AppState, selected: &str) -> Result<Vec<Opt>, ApiError> {
    let directory = state.store.directory_snapshot().await?;
    let today = crate::domain::time::vietnam_date(Utc::now());
    let mut list: Vec<Opt> = directory
        .agency_names
        .iter()
        .filter(|(id, _)| directory.agency_exists_on(**id, today))
        .map(|(_, (code, name))| Opt {
            value: code.clone(),
            label: format!("{name} ({code})"),
            selected: code == selected,
        })
        .collect();
    list.sort_by(|a, b| a.label.cmp(&b.label));
    Ok(list)
}

// ------------------------------------------------------------- profile

#[derive(Template)]
#[template(path = "console_profile.html", config = "config/askama.toml")]
struct ProfilePage {
    nav: Nav,
    profile: ProfileView,
    flash: Option<Flash>,
    errors: PageErrors,
}

/// The password form's fields: name, label, autocomplete.
const PASSWORD_FIELDS: [(&str, &str, &str); 3] = [
    ("current_password", "Mật khẩu hiện tại", "current-password"),
    ("new_password", "Mật khẩu mới", "new-password"),
    (
        "new_password_again",
        "Nhập lại mật khẩu mới",
        "new-password",
    ),
];

impl ProfilePage {
    fn password_fields(&self) -> &'static [(&'static str, &'static str, &'static str)] {
        &PASSWORD_FIELDS
    }
}

#[derive(Deserialize)]
pub struct DoneQuery {
    #[serde(default)]
    xong: Option<String>,
}

async fn render_profile(
    state: &AppState,
    staff: &StaffPage,
    flash: Option<Flash>,
    errors: PageErrors,
    status: StatusCode,
) -> Result<HttpResponse, ApiError> {
    let profile = accounts::profile(state, &staff.actor).await?;
    console_page(
        status,
        &ProfilePage {
            nav: Nav::of(state, &staff.actor, "ho-so"),
            profile,
            flash,
            errors,
        },
    )
}

/// `GET /nhan-vien/ho-so`
pub async fn profile_page(
    req: HttpRequest,
    staff: StaffPage,
    query: web::Query<DoneQuery>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let flash = match query.into_inner().xong.as_deref() {
        Some("thu") => Some(Flash::done("Đã lưu lựa chọn về thư tổng hợp hằng ngày.")),
        _ => None,
    };
    render_profile(&state, &staff, flash, PageErrors::default(), StatusCode::OK)
        .await
        .unwrap_or_else(|e| refused(&req, &state, e))
}

/// `POST /nhan-vien/ho-so/thu-tong-hop`
pub async fn profile_digest(
    req: HttpRequest,
    staff: StaffPage,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    let result = async {
        check_origin(&req, &state)?;
        let pairs = form_pairs(&body)?;
        let wanted = get(&pairs, "daily_digest") == "on";
        accounts::set_daily_digest(&state, &staff.actor, wanted, request_id(), Utc::now()).await?;
        Ok::<_, ApiError>(see_other("/nhan-vien/ho-so?xong=thu"))
    }
    .await;
    result.unwrap_or_else(|e| refused(&req, &state, e))
}

/// `POST /nhan-vien/ho-so/mat-khau`: a new password, the current one
/// required; the session ends and the person signs in again.
pub async fn profile_password(
    req: HttpRequest,
    staff: StaffPage,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    let result = async {
        check_origin(&req, &state)?;
        state.rate_limits.check(Bucket::Login, &req)?;
        let pairs = form_pairs(&body)?;
        match accounts::change_own_password(
            &state,
            &staff.actor,
            &get(&pairs, "current_password"),
            &get(&pairs, "new_password"),
            &get(&pairs, "new_password_again"),
            request_id(),
            Utc::now(),
        )
        .await
        {
            Ok(()) => Ok(see_other("/nhan-vien/dang-nhap?doi-mat-khau=1")),
            Err(StaffError::Invalid(errors)) if wants_html(&req) => {
                render_profile(
                    &state,
                    &staff,
                    Some(Flash::error(
                        "Chưa đổi được mật khẩu: vui lòng sửa các mục được nêu.",
                    )),
                    PageErrors::from_fields(&errors, label),
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await
            }
            Err(e) => Err(e.into()),
        }
    }
    .await;
    result.unwrap_or_else(|e| refused(&req, &state, e))
}

/// `GET /api/v1/auth/profile`
pub async fn profile_api(
    staff: Staff,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let actor = staff.require(Permission::OwnSession)?;
    Ok(private_json(accounts::profile(&state, actor).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileChange {
    daily_digest: bool,
}

/// `PATCH /api/v1/auth/profile`
pub async fn profile_api_change(
    staff: Staff,
    body: web::Json<ProfileChange>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let actor = staff.require(Permission::OwnSession)?;
    Ok(private_json(
        accounts::set_daily_digest(&state, actor, body.daily_digest, request_id(), Utc::now())
            .await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    current_password: String,
    new_password: String,
}

/// `POST /api/v1/auth/password`: every session of the account ends, this
/// one included.
pub async fn password_api(
    req: HttpRequest,
    staff: Staff,
    body: web::Json<PasswordChange>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    state.rate_limits.check(Bucket::Login, &req)?;
    let actor = staff.require(Permission::OwnSession)?;
    let body = body.into_inner();
    accounts::change_own_password(
        &state,
        actor,
        &body.current_password,
        &body.new_password,
        &body.new_password,
        request_id(),
        Utc::now(),
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

// ------------------------------------------------- set-password link

#[derive(Template)]
#[template(path = "staff_set_password.html", config = "config/askama.toml")]
struct SetPasswordPage {
    site_name: String,
    token: String,
    /// The account, while the link is good.
    username: Option<String>,
    errors: PageErrors,
}

#[derive(Deserialize)]
pub struct LinkQuery {
    #[serde(default)]
    ma: String,
}

fn set_password_page(
    state: &AppState,
    token: &str,
    username: Option<String>,
    errors: PageErrors,
    status: StatusCode,
) -> Result<HttpResponse, ApiError> {
    let mut page = private_page(
        status,
        &SetPasswordPage {
            site_name: state.settings.office().name,
            token: if username.is_some() {
                token.to_string()
            } else {
                String::new()
            },
            username,
            errors,
        },
    )?;
    // The link is a secret: never sent on as a referrer.
    page.headers_mut().insert(
        actix_web::http::header::REFERRER_POLICY,
        actix_web::http::header::HeaderValue::from_static("no-referrer"),
    );
    Ok(page)
}

/// A link that does not work (unknown, used or expired: one answer).
fn link_not_valid() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "password_link_invalid",
        "Đường dẫn không còn hiệu lực",
        "Đường dẫn đặt mật khẩu đã được dùng, đã hết hạn hoặc không đúng; đề nghị quản trị viên tạo đường dẫn mới.",
    )
}

/// `GET /nhan-vien/dat-mat-khau?ma=…`: the same page for an unknown, used
/// or expired link (it says the link no longer works).
pub async fn set_password_form(
    req: HttpRequest,
    query: web::Query<LinkQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    state.rate_limits.check(Bucket::Login, &req)?;
    let token = query.into_inner().ma;
    let username = accounts::link_account(&state, &token, Utc::now()).await?;
    if username.is_none() && !wants_html(&req) {
        return Err(link_not_valid());
    }
    let status = if username.is_some() {
        StatusCode::OK
    } else {
        StatusCode::NOT_FOUND
    };
    set_password_page(&state, &token, username, PageErrors::default(), status)
}

/// `POST /nhan-vien/dat-mat-khau`
pub async fn set_password(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    if !same_origin_post(&req, &state.settings.server.public_base_url) {
        return Err(ApiError::forbidden());
    }
    state.rate_limits.check(Bucket::Login, &req)?;
    let pairs = form_pairs(&body)?;
    let token = get(&pairs, "ma");
    let now = Utc::now();
    match accounts::set_password_with_link(
        &state,
        &token,
        &get(&pairs, "new_password"),
        &get(&pairs, "new_password_again"),
        request_id(),
        now,
    )
    .await
    {
        Ok(Some(_)) => Ok(see_other("/nhan-vien/dang-nhap?doi-mat-khau=1")),
        Ok(None) if !wants_html(&req) => Err(link_not_valid()),
        Ok(None) => set_password_page(
            &state,
            &token,
            None,
            PageErrors::default(),
            StatusCode::NOT_FOUND,
        ),
        Err(StaffError::Invalid(errors)) if wants_html(&req) => {
            let username = accounts::link_account(&state, &token, now).await?;
            set_password_page(
                &state,
                &token,
                username,
                PageErrors::from_fields(&errors, label),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Err(e) => Err(e.into()),
    }
}

// ------------------------------------------------------ administration

#[derive(Template)]
#[template(path = "console_admin.html", config = "config/askama.toml")]
struct AdminPage {
    nav: Nav,
    accounts: usize,
    active: usize,
    admins: usize,
    locked: usize,
    calendar_warning: Option<String>,
}

/// `GET /nhan-vien/quan-tri`: what an administrator looks after.
pub async fn admin_home(
    req: HttpRequest,
    staff: StaffPage,
    state: web::Data<AppState>,
) -> HttpResponse {
    let result = async {
        let list = accounts::list(&state, &staff.actor, "", "", Utc::now()).await?;
        console_page(
            StatusCode::OK,
            &AdminPage {
                nav: Nav::of(&state, &staff.actor, "quan-tri"),
                accounts: list.total,
                active: list.accounts.iter().filter(|a| a.active).count(),
                admins: list
                    .accounts
                    .iter()
                    .filter(|a| a.active && a.role == Role::Admin)
                    .count(),
                locked: list
                    .accounts
                    .iter()
                    .filter(|a| a.locked_until.is_some())
                    .count(),
                calendar_warning: state.calendar.next_year_warning(Utc::now()),
            },
        )
    }
    .await;
    result.unwrap_or_else(|e: ApiError| refused(&req, &state, e))
}

/// An account form as posted, with its messages.
#[derive(Default)]
pub struct AccountForm {
    pub input: AccountInput,
    pub errors: PageErrors,
}

#[derive(Template)]
#[template(path = "console_accounts.html", config = "config/askama.toml")]
struct AccountsPage {
    nav: Nav,
    list: AccountList,
    q: String,
    roles: Vec<Opt>,
    form_roles: Vec<Opt>,
    agencies: Vec<Opt>,
    posted: AccountForm,
    flash: Option<Flash>,
    link: Option<PasswordLink>,
}

#[derive(Deserialize, Default)]
pub struct AccountsQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    role: String,
}

/// What a page says above its content: a message, and a one-time link.
#[derive(Default)]
struct Shown {
    flash: Option<Flash>,
    link: Option<PasswordLink>,
}

async fn render_accounts(
    state: &AppState,
    staff: &StaffPage,
    filter: AccountsQuery,
    posted: AccountForm,
    shown: Shown,
    status: StatusCode,
) -> Result<HttpResponse, ApiError> {
    let AccountsQuery { q, role } = filter;
    let Shown { flash, link } = shown;
    let list = accounts::list(state, &staff.actor, &q, &role, Utc::now()).await?;
    let mut roles = vec![Opt {
        value: String::new(),
        label: "Mọi vai trò".into(),
        selected: role.is_empty(),
    }];
    roles.extend(role_options(&role));
    let agencies = agency_options(state, &posted.input.agency_code).await?;
    console_page(
        status,
        &AccountsPage {
            nav: Nav::of(state, &staff.actor, "quan-tri"),
            list,
            q,
            form_roles: role_options(&posted.input.role),
            roles,
            agencies,
            posted,
            flash,
            link,
        },
    )
}

/// `GET /nhan-vien/quan-tri/tai-khoan`
pub async fn accounts_page(
    req: HttpRequest,
    staff: StaffPage,
    query: web::Query<AccountsQuery>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let AccountsQuery { q, role } = query.into_inner();
    render_accounts(
        &state,
        &staff,
        AccountsQuery {
            q: q.chars().take(100).collect(),
            role: role.chars().take(32).collect(),
        },
        AccountForm::default(),
        Shown::default(),
        StatusCode::OK,
    )
    .await
    .unwrap_or_else(|e| refused(&req, &state, e))
}

fn account_input(pairs: &[(String, String)]) -> AccountInput {
    AccountInput {
        username: get(pairs, "username"),
        display_name: get(pairs, "display_name"),
        role: get(pairs, "role"),
        agency_code: get(pairs, "agency_code"),
        email: get(pairs, "email"),
    }
}

/// `POST /nhan-vien/quan-tri/tai-khoan`: a new account; the page shows its
/// one-time set-password link (once).
pub async fn create_account(
    req: HttpRequest,
    staff: StaffPage,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    let result = async {
        check_origin(&req, &state)?;
        let input = account_input(&form_pairs(&body)?);
        match accounts::create(&state, &staff.actor, &input, request_id(), Utc::now()).await {
            Ok((account, link)) => {
                render_accounts(
                    &state,
                    &staff,
                    AccountsQuery::default(),
                    AccountForm::default(),
                    Shown {
                        flash: Some(Flash::done(format!(
                            "Đã tạo tài khoản {}. Gửi đường dẫn đặt mật khẩu dưới đây cho người dùng qua kênh an toàn; đường dẫn chỉ hiện một lần.",
                            account.username
                        ))),
                        link: Some(link),
                    },
                    StatusCode::CREATED,
                )
                .await
            }
            Err(StaffError::Invalid(errors)) if wants_html(&req) => {
                render_accounts(
                    &state,
                    &staff,
                    AccountsQuery::default(),
                    AccountForm {
                        input,
                        errors: PageErrors::from_fields(&errors, label),
                    },
                    Shown {
                        flash: Some(Flash::error(
                            "Chưa tạo được tài khoản: vui lòng sửa các mục được nêu.",
                        )),
                        link: None,
                    },
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await
            }
            Err(e) => Err(e.into()),
        }
    }
    .await;
    result.unwrap_or_else(|e| refused(&req, &state, e))
}

#[derive(Template)]
#[template(path = "console_account.html", config = "config/askama.toml")]
struct AccountPage {
    nav: Nav,
    account: AccountView,
    form_roles: Vec<Opt>,
    agencies: Vec<Opt>,
    posted: AccountForm,
    flash: Option<Flash>,
    link: Option<PasswordLink>,
}

async fn render_account(
    state: &AppState,
    staff: &StaffPage,
    username: &str,
    posted: Option<AccountForm>,
    flash: Option<Flash>,
    link: Option<PasswordLink>,
    status: StatusCode,
) -> Result<HttpResponse, ApiError> {
    let account = accounts::get(state, &staff.actor, username, Utc::now()).await?;
    let posted = posted.unwrap_or_else(|| AccountForm {
        input: AccountInput {
            username: account.username.clone(),
            display_name: account.display_name.clone(),
            role: account.role.as_str().into(),
            agency_code: account.agency_code.clone(),
            email: account.email.clone().unwrap_or_default(),
        },
        errors: PageErrors::default(),
    });
    console_page(
        status,
        &AccountPage {
            nav: Nav::of(state, &staff.actor, "quan-tri"),
            form_roles: role_options(&posted.input.role),
            agencies: agency_options(state, &posted.input.agency_code).await?,
            account,
            posted,
            flash,
            link,
        },
    )
}

/// `GET /nhan-vien/quan-tri/tai-khoan/{username}`
pub async fn account_page(
    req: HttpRequest,
    staff: StaffPage,
    path: web::Path<String>,
    query: web::Query<DoneQuery>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let flash = match query.into_inner().xong.as_deref() {
        Some("luu") => Some(Flash::done("Đã lưu thay đổi.")),
        Some("khoa") => Some(Flash::done(
            "Đã khoá tài khoản; các phiên đăng nhập của tài khoản đã kết thúc.",
        )),
        Some("mo") => Some(Flash::done("Đã mở lại tài khoản.")),
        Some("mo-khoa") => Some(Flash::done("Đã gỡ tạm khoá do nhập sai mật khẩu.")),
        _ => None,
    };
    render_account(
        &state,
        &staff,
        &path.into_inner(),
        None,
        flash,
        None,
        StatusCode::OK,
    )
    .await
    .unwrap_or_else(|e| refused(&req, &state, e))
}

/// `POST /nhan-vien/quan-tri/tai-khoan/{username}`: name, role, agency,
/// address.
pub async fn change_account(
    req: HttpRequest,
    staff: StaffPage,
    path: web::Path<String>,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    let username = path.into_inner();
    let result = async {
        check_origin(&req, &state)?;
        let mut input = account_input(&form_pairs(&body)?);
        input.username = username.clone();
        match accounts::change(
            &state,
            &staff.actor,
            &username,
            &input,
            request_id(),
            Utc::now(),
        )
        .await
        {
            Ok(a) => Ok(see_other(&format!(
                "/nhan-vien/quan-tri/tai-khoan/{}?xong=luu",
                a.username
            ))),
            Err(StaffError::Invalid(errors)) if wants_html(&req) => {
                render_account(
                    &state,
                    &staff,
                    &username,
                    Some(AccountForm {
                        input,
                        errors: PageErrors::from_fields(&errors, label),
                    }),
                    Some(Flash::error(
                        "Chưa lưu được: vui lòng sửa các mục được nêu.",
                    )),
                    None,
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await
            }
            Err(e) => Err(e.into()),
        }
    }
    .await;
    result.unwrap_or_else(|e| refused(&req, &state, e))
}

/// The console's names for the account actions.
fn page_action(name: &str) -> Option<(AccountAction, &'static str)> {
    Some(match name {
        "khoa" => (AccountAction::Disable, "khoa"),
        "mo" => (AccountAction::Enable, "mo"),
        "mo-khoa" => (AccountAction::Unlock, "mo-khoa"),
        "dat-lai-mat-khau" => (AccountAction::PasswordLink, ""),
        _ => return None,
    })
}

/// `POST /nhan-vien/quan-tri/tai-khoan/{username}/{action}`: `khoa`
/// (disable), `mo` (enable), `mo-khoa` (lift a lock-out),
/// `dat-lai-mat-khau` (a new one-time link, shown once).
pub async fn account_action(
    req: HttpRequest,
    staff: StaffPage,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let (username, action) = path.into_inner();
    let result = async {
        check_origin(&req, &state)?;
        let (action, done) = page_action(&action).ok_or_else(ApiError::not_found)?;
        match accounts::act(&state, &staff.actor, &username, action, request_id(), Utc::now()).await
        {
            Ok((account, Some(link))) => {
                render_account(
                    &state,
                    &staff,
                    &account.username,
                    None,
                    Some(Flash::done(
                        "Đã tạo đường dẫn đặt lại mật khẩu. Gửi cho người dùng qua kênh an toàn; đường dẫn chỉ hiện một lần, mật khẩu cũ vẫn dùng được cho đến khi đặt mật khẩu mới.",
                    )),
                    Some(link),
                    StatusCode::OK,
                )
                .await
            }
            Ok((account, None)) => Ok(see_other(&format!(
                "/nhan-vien/quan-tri/tai-khoan/{}?xong={done}",
                account.username
            ))),
            Err(StaffError::Invalid(errors)) if wants_html(&req) => {
                let message = errors
                    .first()
                    .map_or("Không thực hiện được.", |e: &FieldError| e.message);
                render_account(
                    &state,
                    &staff,
                    &username,
                    None,
                    Some(Flash::error(message)),
                    None,
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await
            }
            Err(e) => Err(e.into()),
        }
    }
    .await;
    result.unwrap_or_else(|e| refused(&req, &state, e))
}

// ---------------------------------------------------------------- JSON

/// `GET /api/v1/admin/staff`
pub async fn list_api(
    staff: Staff,
    query: web::Query<AccountsQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    Ok(private_json(
        accounts::list(&state, &staff.actor, &q.q, &q.role, Utc::now()).await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountBody {
    #[serde(default)]
    username: String,
    display_name: String,
    role: String,
    agency_code: String,
    #[serde(default)]
    email: Option<String>,
}

impl AccountBody {
    fn input(self) -> AccountInput {
        AccountInput {
            username: self.username,
            display_name: self.display_name,
            role: self.role,
            agency_code: self.agency_code,
            email: self.email.unwrap_or_default(),
        }
    }
}

/// `POST /api/v1/admin/staff`
pub async fn create_api(
    staff: Staff,
    body: web::Json<AccountBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (account, link) = accounts::create(
        &state,
        &staff.actor,
        &body.into_inner().input(),
        request_id(),
        Utc::now(),
    )
    .await?;
    Ok(HttpResponse::Created()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store, private"))
        .json(serde_json::json!({ "account": account, "password_link": link })))
}

/// `GET /api/v1/admin/staff/{username}`
pub async fn get_api(
    staff: Staff,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    Ok(private_json(
        accounts::get(&state, &staff.actor, &path.into_inner(), Utc::now()).await?,
    ))
}

/// `PUT /api/v1/admin/staff/{username}`
pub async fn change_api(
    staff: Staff,
    path: web::Path<String>,
    body: web::Json<AccountBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    Ok(private_json(
        accounts::change(
            &state,
            &staff.actor,
            &path.into_inner(),
            &body.into_inner().input(),
            request_id(),
            Utc::now(),
        )
        .await?,
    ))
}

/// `POST /api/v1/admin/staff/{username}/{action}`: `disable`, `enable`,
/// `unlock`, `password-link`.
pub async fn action_api(
    staff: Staff,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (username, action) = path.into_inner();
    let action = AccountAction::parse(&action).ok_or_else(ApiError::not_found)?;
    let (account, link) = accounts::act(
        &state,
        &staff.actor,
        &username,
        action,
        request_id(),
        Utc::now(),
    )
    .await?;
    Ok(private_json(
        serde_json::json!({ "account": account, "password_link": link }),
    ))
}
