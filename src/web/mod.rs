//! HTTP: one table of endpoints (the contract test compares it with
//! openapi.yaml, so a route cannot be served without being documented),
//! handlers per feature, and the one error type.

pub mod accounts;
pub mod answer_templates;
pub mod answers;
pub mod api_keys;
pub mod assets;
pub mod audit_log;
pub mod auth;
pub mod calendar;
pub mod calendar_admin;
pub mod charts;
pub mod console;
pub mod directory;
pub mod directory_admin;
pub mod feedback;
pub mod health;
pub mod html;
pub mod intake_body;
pub mod intake_desk;
pub mod live;
pub mod lookup_page;
pub mod mail;
pub mod middleware;
pub mod my_work;
pub mod pages;
pub mod problem;
pub mod public;
pub mod rate_limit;
pub mod report_doc;
pub mod reports;
pub mod routing_admin;
pub mod staff;
pub mod staff_pages;
pub mod stats;
pub mod submit_page;
pub mod succession;

use std::sync::Arc;

use actix_web::http::Method;
use actix_web::{HttpResponse, Route, web};

use crate::services::Services;
use problem::ApiError;
use rate_limit::RateLimits;

/// Shared state for every handler (one `web::Data`, cloned per worker):
/// the services, built once at start-up, and what only the web needs.
pub struct AppState {
    pub services: Services,
    pub rate_limits: Arc<RateLimits>,
    pub form_stamps: Arc<crate::domain::form_stamp::FormStamps>,
    /// Moves when anything changed in the database (any instance).
    pub changes: live::Changes,
}

impl std::ops::Deref for AppState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.services
    }
}

pub const OPENAPI_YAML: &str = include_str!("../../openapi.yaml");

/// One served operation.
pub struct Endpoint {
    pub method: Method,
    pub path: &'static str,
    route: fn() -> Route,
}

const fn endpoint(method: Method, path: &'static str, route: fn() -> Route) -> Endpoint {
    Endpoint {
        method,
        path,
        route,
    }
}

/// Every route the service answers, in registration order.
pub fn endpoints() -> Vec<Endpoint> {
    vec![
        endpoint(Method::POST, "/api/v1/feedback", || {
            web::post().to(feedback::create_feedback)
        }),
        endpoint(Method::GET, "/api/v1/feedback/{tracking_code}", || {
            web::get().to(feedback::get_feedback)
        }),
        endpoint(
            Method::GET,
            "/api/v1/feedback/{tracking_code}/deadlines",
            || web::get().to(feedback::get_feedback_deadlines),
        ),
        endpoint(
            Method::POST,
            "/api/v1/feedback/{tracking_code}/supplements",
            || web::post().to(feedback::post_supplement),
        ),
        endpoint(
            Method::POST,
            "/api/v1/feedback/{tracking_code}/rating",
            || web::post().to(feedback::post_rating),
        ),
        // The calculator and the .ics feed before `{year}`, which would
        // otherwise match them.
        endpoint(Method::GET, "/api/v1/calendar/add-working-days", || {
            web::get().to(calendar::add_working_days)
        }),
        endpoint(Method::GET, "/api/v1/calendar/{year}.ics", || {
            web::get().to(calendar::get_year_ics)
        }),
        endpoint(Method::GET, "/api/v1/calendar/{year}", || {
            web::get().to(calendar::get_year)
        }),
        endpoint(Method::POST, "/api/v1/auth/login", || {
            web::post().to(auth::login)
        }),
        endpoint(Method::POST, "/api/v1/auth/logout", || {
            web::post().to(auth::logout)
        }),
        endpoint(Method::GET, "/api/v1/auth/me", || web::get().to(auth::me)),
        endpoint(Method::GET, "/api/v1/auth/profile", || {
            web::get().to(accounts::profile_api)
        }),
        endpoint(Method::PATCH, "/api/v1/auth/profile", || {
            web::patch().to(accounts::profile_api_change)
        }),
        endpoint(Method::POST, "/api/v1/auth/password", || {
            web::post().to(accounts::password_api)
        }),
        endpoint(Method::POST, "/api/v1/admin/agencies", || {
            web::post().to(directory_admin::create_api)
        }),
        endpoint(Method::GET, "/api/v1/admin/agencies/{code}", || {
            web::get().to(directory_admin::get_api)
        }),
        endpoint(Method::PUT, "/api/v1/admin/agencies/{code}", || {
            web::put().to(directory_admin::change_api)
        }),
        endpoint(Method::PUT, "/api/v1/admin/fields/{code}", || {
            web::put().to(directory_admin::put_field_api)
        }),
        endpoint(
            Method::PUT,
            "/api/v1/admin/administrative-units/{code}",
            || web::put().to(directory_admin::put_unit_api),
        ),
        endpoint(Method::POST, "/api/v1/admin/calendar/preview", || {
            web::post().to(calendar_admin::preview_api)
        }),
        endpoint(Method::GET, "/api/v1/admin/routing-rules", || {
            web::get().to(routing_admin::list_api)
        }),
        endpoint(Method::POST, "/api/v1/admin/routing-rules", || {
            web::post().to(routing_admin::add_api)
        }),
        endpoint(Method::POST, "/api/v1/admin/routing-rules/try", || {
            web::post().to(routing_admin::try_api)
        }),
        endpoint(Method::PUT, "/api/v1/admin/routing-rules/{rule_id}", || {
            web::put().to(routing_admin::change_api)
        }),
        endpoint(
            Method::DELETE,
            "/api/v1/admin/routing-rules/{rule_id}",
            || web::delete().to(routing_admin::delete_api),
        ),
        endpoint(Method::GET, "/api/v1/admin/api-keys", || {
            web::get().to(api_keys::list_api)
        }),
        endpoint(Method::POST, "/api/v1/admin/api-keys", || {
            web::post().to(api_keys::create_api)
        }),
        endpoint(Method::POST, "/api/v1/admin/api-keys/{name}/revoke", || {
            web::post().to(api_keys::revoke_api)
        }),
        endpoint(Method::GET, "/api/v1/admin/audit-log", || {
            web::get().to(audit_log::api)
        }),
        endpoint(Method::GET, "/api/v1/admin/agency-successions", || {
            web::get().to(succession::list_api)
        }),
        endpoint(Method::POST, "/api/v1/admin/agency-successions", || {
            web::post().to(succession::create_api)
        }),
        endpoint(Method::GET, "/api/v1/admin/staff", || {
            web::get().to(accounts::list_api)
        }),
        endpoint(Method::POST, "/api/v1/admin/staff", || {
            web::post().to(accounts::create_api)
        }),
        endpoint(Method::GET, "/api/v1/admin/staff/{username}", || {
            web::get().to(accounts::get_api)
        }),
        endpoint(Method::PUT, "/api/v1/admin/staff/{username}", || {
            web::put().to(accounts::change_api)
        }),
        endpoint(
            Method::POST,
            "/api/v1/admin/staff/{username}/{action}",
            || web::post().to(accounts::action_api),
        ),
        endpoint(Method::PUT, "/api/v1/admin/calendar/days/{date}", || {
            web::put().to(calendar::put_day)
        }),
        endpoint(Method::DELETE, "/api/v1/admin/calendar/days/{date}", || {
            web::delete().to(calendar::delete_day)
        }),
        endpoint(Method::POST, "/api/v1/staff/feedback", || {
            web::post().to(staff::create_staff_feedback)
        }),
        endpoint(Method::GET, "/api/v1/staff/feedback", || {
            web::get().to(staff::list_queue)
        }),
        endpoint(Method::GET, "/api/v1/staff/feedback/summary", || {
            web::get().to(staff::queue_summary)
        }),
        endpoint(Method::GET, "/api/v1/staff/stats", || {
            web::get().to(stats::get_stats)
        }),
        endpoint(
            Method::GET,
            "/api/v1/staff/feedback/{tracking_code}",
            || web::get().to(staff::get_item),
        ),
        endpoint(
            Method::GET,
            "/api/v1/staff/feedback/{tracking_code}/routing-suggestion",
            || web::get().to(staff::routing_suggestion),
        ),
        endpoint(
            Method::GET,
            "/api/v1/staff/feedback/{tracking_code}/duplicate-suggestions",
            || web::get().to(staff::duplicate_suggestions),
        ),
        endpoint(
            Method::GET,
            "/api/v1/staff/feedback/{tracking_code}/redaction-suggestion",
            || web::get().to(staff::redaction_suggestion),
        ),
        endpoint(
            Method::DELETE,
            "/api/v1/staff/feedback/{tracking_code}/mail-failure",
            || web::delete().to(staff::clear_mail_failure),
        ),
        endpoint(
            Method::POST,
            "/api/v1/staff/feedback/{tracking_code}/notes",
            || web::post().to(staff::add_note),
        ),
        endpoint(
            Method::PUT,
            "/api/v1/staff/feedback/{tracking_code}/answer/draft",
            || web::put().to(answers::save_draft),
        ),
        endpoint(Method::GET, "/api/v1/staff/answer-templates", || {
            web::get().to(answers::list_templates)
        }),
        endpoint(Method::POST, "/api/v1/staff/answer-templates", || {
            web::post().to(answers::create_template)
        }),
        endpoint(
            Method::PUT,
            "/api/v1/staff/answer-templates/{template_id}",
            || web::put().to(answers::update_template),
        ),
        endpoint(
            Method::DELETE,
            "/api/v1/staff/answer-templates/{template_id}",
            || web::delete().to(answers::delete_template),
        ),
        endpoint(
            Method::POST,
            "/api/v1/staff/feedback/{tracking_code}/classify",
            || web::post().to(staff::actions::classify),
        ),
        endpoint(
            Method::POST,
            "/api/v1/staff/feedback/{tracking_code}/request-info",
            || web::post().to(staff::actions::request_info),
        ),
        endpoint(
            Method::POST,
            "/api/v1/staff/feedback/{tracking_code}/reject",
            || web::post().to(staff::actions::reject),
        ),
        endpoint(
            Method::POST,
            "/api/v1/staff/feedback/{tracking_code}/forward",
            || web::post().to(staff::actions::forward),
        ),
        endpoint(
            Method::POST,
            "/api/v1/staff/feedback/{tracking_code}/accept",
            || web::post().to(staff::actions::accept),
        ),
        endpoint(
            Method::POST,
            "/api/v1/staff/feedback/{tracking_code}/return",
            || web::post().to(staff::actions::return_item),
        ),
        endpoint(
            Method::POST,
            "/api/v1/staff/feedback/{tracking_code}/answer",
            || web::post().to(staff::actions::answer),
        ),
        endpoint(
            Method::POST,
            "/api/v1/staff/feedback/{tracking_code}/sign-off",
            || web::post().to(staff::actions::sign_off),
        ),
        endpoint(
            Method::POST,
            "/api/v1/staff/feedback/{tracking_code}/approve",
            || web::post().to(staff::actions::approve),
        ),
        endpoint(
            Method::POST,
            "/api/v1/staff/feedback/{tracking_code}/send-back",
            || web::post().to(staff::actions::send_back),
        ),
        endpoint(
            Method::POST,
            "/api/v1/staff/feedback/{tracking_code}/publish",
            || web::post().to(staff::actions::publish),
        ),
        endpoint(
            Method::POST,
            "/api/v1/staff/feedback/{tracking_code}/withhold",
            || web::post().to(staff::actions::withhold),
        ),
        endpoint(
            Method::POST,
            "/api/v1/staff/feedback/{tracking_code}/unpublish",
            || web::post().to(staff::actions::unpublish),
        ),
        endpoint(
            Method::POST,
            "/api/v1/staff/feedback/{tracking_code}/close",
            || web::post().to(staff::actions::close),
        ),
        endpoint(
            Method::POST,
            "/api/v1/staff/feedback/{tracking_code}/merge",
            || web::post().to(staff::actions::merge),
        ),
        endpoint(
            Method::POST,
            "/api/v1/staff/feedback/{tracking_code}/supplement",
            || web::post().to(staff::actions::supplement),
        ),
        endpoint(
            Method::POST,
            "/api/v1/staff/feedback/{tracking_code}/request-coordination",
            || web::post().to(staff::actions::request_coordination),
        ),
        endpoint(
            Method::POST,
            "/api/v1/staff/feedback/{tracking_code}/withdraw-coordination",
            || web::post().to(staff::actions::withdraw_coordination),
        ),
        endpoint(
            Method::POST,
            "/api/v1/staff/feedback/{tracking_code}/contribute",
            || web::post().to(staff::actions::contribute),
        ),
        endpoint(
            Method::POST,
            "/api/v1/staff/feedback/{tracking_code}/recall",
            || web::post().to(staff::actions::recall),
        ),
        endpoint(
            Method::GET,
            "/api/v1/staff/feedback/{tracking_code}/attachments/{attachment_id}",
            || web::get().to(staff::download_attachment),
        ),
        endpoint(
            Method::POST,
            "/api/v1/staff/feedback/{tracking_code}/answer/attachments",
            || web::post().to(staff::add_answer_files),
        ),
        endpoint(
            Method::DELETE,
            "/api/v1/staff/feedback/{tracking_code}/answer/attachments/{attachment_id}",
            || web::delete().to(staff::remove_answer_file),
        ),
        endpoint(
            Method::GET,
            "/api/v1/feedback/{tracking_code}/attachments/{attachment_id}",
            || web::get().to(feedback::download_file),
        ),
        endpoint(
            Method::GET,
            "/api/v1/staff/feedback/{tracking_code}/messages",
            || web::get().to(mail::item_messages),
        ),
        endpoint(
            Method::POST,
            "/api/v1/staff/feedback/{tracking_code}/messages",
            || web::post().to(mail::send_message),
        ),
        endpoint(Method::POST, "/api/v1/staff/inbound-email", || {
            web::post().to(mail::push_inbound_email)
        }),
        endpoint(Method::GET, "/api/v1/staff/inbound-email", || {
            web::get().to(mail::list_inbound_email)
        }),
        endpoint(
            Method::GET,
            "/api/v1/staff/inbound-email/{inbound_mail_id}",
            || web::get().to(mail::get_inbound_email),
        ),
        endpoint(
            Method::GET,
            "/api/v1/staff/inbound-email/{inbound_mail_id}/raw",
            || web::get().to(mail::get_inbound_email_raw),
        ),
        endpoint(Method::GET, "/api/v1/public/qa", || {
            web::get().to(public::list_qa)
        }),
        endpoint(Method::GET, "/api/v1/public/qa/{tracking_code}", || {
            web::get().to(public::get_qa)
        }),
        endpoint(Method::GET, "/hoi-dap", || web::get().to(pages::qa_list)),
        // Before the item page, whose {tracking_code} would match them.
        endpoint(Method::GET, "/hoi-dap/feed.atom", || {
            web::get().to(public::atom_feed)
        }),
        endpoint(Method::GET, "/hoi-dap/embed", || {
            web::get().to(pages::qa_embed)
        }),
        endpoint(Method::GET, "/hoi-dap/{tracking_code}", || {
            web::get().to(pages::qa_item)
        }),
        endpoint(Method::GET, "/gioi-thieu", || web::get().to(pages::about)),
        endpoint(Method::GET, "/gui-phan-anh", || {
            web::get().to(submit_page::submit_form)
        }),
        endpoint(Method::POST, "/gui-phan-anh", || {
            web::post().to(submit_page::submit_post)
        }),
        endpoint(Method::GET, "/tra-cuu", || {
            web::get().to(lookup_page::lookup_form)
        }),
        endpoint(Method::POST, "/tra-cuu", || {
            web::post().to(lookup_page::lookup_submit)
        }),
        endpoint(Method::POST, "/tra-cuu/bo-sung", || {
            web::post().to(lookup_page::supplement_submit)
        }),
        endpoint(Method::POST, "/tra-cuu/danh-gia", || {
            web::post().to(lookup_page::rating_submit)
        }),
        endpoint(Method::POST, "/tra-cuu/tep", || {
            web::post().to(lookup_page::file_submit)
        }),
        endpoint(Method::GET, "/nhan-vien/dang-nhap", || {
            web::get().to(staff_pages::sign_in_form)
        }),
        endpoint(Method::POST, "/nhan-vien/dang-nhap", || {
            web::post().to(staff_pages::sign_in)
        }),
        endpoint(Method::POST, "/nhan-vien/dang-xuat", || {
            web::post().to(staff_pages::sign_out)
        }),
        endpoint(Method::GET, "/nhan-vien", || web::get().to(console::home)),
        endpoint(Method::GET, "/nhan-vien/su-kien", || {
            web::get().to(live::events)
        }),
        endpoint(Method::GET, "/nhan-vien/phan-anh", || {
            web::get().to(console::queue_page)
        }),
        // The queue's own paths before `{tracking_code}`, which would
        // otherwise match them.
        endpoint(Method::GET, "/nhan-vien/phan-anh/so-lieu", || {
            web::get().to(console::counts)
        }),
        endpoint(Method::POST, "/nhan-vien/phan-anh/hang-loat", || {
            web::post().to(console::bulk)
        }),
        endpoint(Method::POST, "/nhan-vien/phan-anh/bo-loc", || {
            web::post().to(console::save_view)
        }),
        endpoint(
            Method::POST,
            "/nhan-vien/phan-anh/bo-loc/{view_id}/xoa",
            || web::post().to(console::delete_view),
        ),
        endpoint(Method::GET, "/nhan-vien/phan-anh/{tracking_code}", || {
            web::get().to(console::item_page)
        }),
        endpoint(
            Method::GET,
            "/nhan-vien/phan-anh/{tracking_code}/dang-xem",
            || web::get().to(console::presence_fragment),
        ),
        endpoint(
            Method::GET,
            "/nhan-vien/phan-anh/{tracking_code}/tep/{attachment_id}",
            || web::get().to(console::file),
        ),
        endpoint(
            Method::POST,
            "/nhan-vien/phan-anh/{tracking_code}/tep-tra-loi",
            || web::post().to(console::add_answer_files),
        ),
        endpoint(
            Method::POST,
            "/nhan-vien/phan-anh/{tracking_code}/tep-tra-loi/{attachment_id}/xoa",
            || web::post().to(console::remove_answer_file),
        ),
        endpoint(
            Method::POST,
            "/nhan-vien/phan-anh/{tracking_code}/{action}",
            || web::post().to(console::act),
        ),
        endpoint(Method::GET, "/nhan-vien/ho-so", || {
            web::get().to(accounts::profile_page)
        }),
        endpoint(Method::POST, "/nhan-vien/ho-so/thu-tong-hop", || {
            web::post().to(accounts::profile_digest)
        }),
        endpoint(Method::POST, "/nhan-vien/ho-so/mat-khau", || {
            web::post().to(accounts::profile_password)
        }),
        endpoint(Method::GET, "/nhan-vien/dat-mat-khau", || {
            web::get().to(accounts::set_password_form)
        }),
        endpoint(Method::POST, "/nhan-vien/dat-mat-khau", || {
            web::post().to(accounts::set_password)
        }),
        endpoint(Method::GET, "/nhan-vien/quan-tri", || {
            web::get().to(accounts::admin_home)
        }),
        endpoint(Method::GET, "/nhan-vien/quan-tri/tai-khoan", || {
            web::get().to(accounts::accounts_page)
        }),
        endpoint(Method::POST, "/nhan-vien/quan-tri/tai-khoan", || {
            web::post().to(accounts::create_account)
        }),
        endpoint(
            Method::GET,
            "/nhan-vien/quan-tri/tai-khoan/{username}",
            || web::get().to(accounts::account_page),
        ),
        endpoint(
            Method::POST,
            "/nhan-vien/quan-tri/tai-khoan/{username}",
            || web::post().to(accounts::change_account),
        ),
        endpoint(
            Method::POST,
            "/nhan-vien/quan-tri/tai-khoan/{username}/{action}",
            || web::post().to(accounts::account_action),
        ),
        endpoint(Method::GET, "/nhan-vien/quan-tri/co-quan", || {
            web::get().to(directory_admin::list_page)
        }),
        endpoint(Method::POST, "/nhan-vien/quan-tri/co-quan", || {
            web::post().to(directory_admin::create)
        }),
        endpoint(Method::GET, "/nhan-vien/quan-tri/co-quan/{code}", || {
            web::get().to(directory_admin::one_page)
        }),
        endpoint(Method::POST, "/nhan-vien/quan-tri/co-quan/{code}", || {
            web::post().to(directory_admin::change)
        }),
        endpoint(Method::GET, "/nhan-vien/quan-tri/linh-vuc", || {
            web::get().to(directory_admin::fields_page)
        }),
        endpoint(Method::POST, "/nhan-vien/quan-tri/linh-vuc", || {
            web::post().to(directory_admin::save_field)
        }),
        endpoint(Method::GET, "/nhan-vien/quan-tri/xa-phuong", || {
            web::get().to(directory_admin::units_page)
        }),
        endpoint(Method::POST, "/nhan-vien/quan-tri/xa-phuong", || {
            web::post().to(directory_admin::save_unit)
        }),
        endpoint(Method::GET, "/nhan-vien/quan-tri/dinh-tuyen", || {
            web::get().to(routing_admin::page)
        }),
        endpoint(Method::POST, "/nhan-vien/quan-tri/dinh-tuyen", || {
            web::post().to(routing_admin::add)
        }),
        endpoint(Method::GET, "/nhan-vien/quan-tri/dinh-tuyen.toml", || {
            web::get().to(routing_admin::export)
        }),
        // Before `{rule_id}`, which would match them.
        endpoint(Method::POST, "/nhan-vien/quan-tri/dinh-tuyen/thu", || {
            web::post().to(routing_admin::try_page)
        }),
        endpoint(Method::POST, "/nhan-vien/quan-tri/dinh-tuyen/nhap", || {
            web::post().to(routing_admin::import)
        }),
        endpoint(
            Method::POST,
            "/nhan-vien/quan-tri/dinh-tuyen/{rule_id}",
            || web::post().to(routing_admin::change),
        ),
        endpoint(
            Method::POST,
            "/nhan-vien/quan-tri/dinh-tuyen/{rule_id}/xoa",
            || web::post().to(routing_admin::delete),
        ),
        endpoint(Method::GET, "/nhan-vien/quan-tri/lich", || {
            web::get().to(calendar_admin::page)
        }),
        endpoint(Method::POST, "/nhan-vien/quan-tri/lich", || {
            web::post().to(calendar_admin::post)
        }),
        endpoint(Method::GET, "/nhan-vien/quan-tri/khoa-api", || {
            web::get().to(api_keys::page)
        }),
        endpoint(Method::POST, "/nhan-vien/quan-tri/khoa-api", || {
            web::post().to(api_keys::create)
        }),
        endpoint(
            Method::POST,
            "/nhan-vien/quan-tri/khoa-api/{name}/thu-hoi",
            || web::post().to(api_keys::revoke),
        ),
        endpoint(Method::GET, "/nhan-vien/quan-tri/nhat-ky", || {
            web::get().to(audit_log::page)
        }),
        endpoint(Method::GET, "/nhan-vien/quan-tri/nhat-ky.csv", || {
            web::get().to(audit_log::csv)
        }),
        endpoint(Method::GET, "/nhan-vien/quan-tri/sap-nhap", || {
            web::get().to(succession::page)
        }),
        endpoint(Method::POST, "/nhan-vien/quan-tri/sap-nhap", || {
            web::post().to(succession::post)
        }),
        endpoint(Method::GET, "/nhan-vien/viec-cua-toi", || {
            web::get().to(my_work::page)
        }),
        endpoint(Method::GET, "/nhan-vien/viec-cua-toi/so-luong", || {
            web::get().to(my_work::count)
        }),
        endpoint(Method::GET, "/api/v1/staff/my-work", || {
            web::get().to(my_work::api)
        }),
        endpoint(Method::GET, "/nhan-vien/mau-tra-loi", || {
            web::get().to(answer_templates::page)
        }),
        endpoint(Method::POST, "/nhan-vien/mau-tra-loi", || {
            web::post().to(answer_templates::create)
        }),
        endpoint(Method::POST, "/nhan-vien/mau-tra-loi/{template_id}", || {
            web::post().to(answer_templates::update)
        }),
        endpoint(
            Method::POST,
            "/nhan-vien/mau-tra-loi/{template_id}/xoa",
            || web::post().to(answer_templates::delete),
        ),
        endpoint(Method::GET, "/nhan-vien/tiep-nhan", || {
            web::get().to(intake_desk::desk_form)
        }),
        endpoint(Method::POST, "/nhan-vien/tiep-nhan", || {
            web::post().to(intake_desk::desk_submit)
        }),
        endpoint(Method::GET, "/nhan-vien/tiep-nhan/nguoi-gui", || {
            web::get().to(intake_desk::earlier_fragment)
        }),
        endpoint(Method::GET, "/nhan-vien/thong-ke", || {
            web::get().to(reports::dashboard)
        }),
        endpoint(Method::GET, "/nhan-vien/bao-cao", || {
            web::get().to(reports::report_page)
        }),
        endpoint(Method::GET, "/nhan-vien/bao-cao.xlsx", || {
            web::get().to(reports::report_xlsx)
        }),
        endpoint(Method::GET, "/nhan-vien/du-lieu.csv", || {
            web::get().to(reports::export_csv)
        }),
        endpoint(Method::GET, "/nhan-vien/du-lieu.xlsx", || {
            web::get().to(reports::export_xlsx)
        }),
        endpoint(Method::GET, "/static/pakn.css", || {
            web::get().to(pages::stylesheet)
        }),
        endpoint(Method::GET, "/static/console.js", || {
            web::get().to(assets::console_js)
        }),
        endpoint(Method::GET, "/static/vendor/htmx-4.0.1.min.js", || {
            web::get().to(assets::htmx)
        }),
        endpoint(Method::GET, "/static/vendor/hx-sse-4.0.1.min.js", || {
            web::get().to(assets::htmx_sse)
        }),
        endpoint(Method::GET, "/static/vendor/htmx-LICENSE.txt", || {
            web::get().to(assets::htmx_license)
        }),
        endpoint(Method::GET, "/embed.js", || {
            web::get().to(pages::embed_script)
        }),
        endpoint(Method::GET, "/api/v1/agencies", || {
            web::get().to(directory::list_agencies)
        }),
        endpoint(Method::GET, "/api/v1/fields", || {
            web::get().to(directory::list_fields)
        }),
        endpoint(Method::GET, "/api/v1/administrative-units", || {
            web::get().to(directory::list_administrative_units)
        }),
        endpoint(Method::GET, "/api/v1/openapi.yaml", || {
            web::get().to(openapi)
        }),
        endpoint(Method::GET, "/health/live", || web::get().to(health::live)),
        endpoint(Method::GET, "/health/ready", || {
            web::get().to(health::ready)
        }),
    ]
}

/// Registers [`endpoints`], answering 405 with `Allow` for other methods
/// on a known path, and JSON errors for malformed query strings.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::QueryConfig::default().error_handler(|err, _| {
        tracing::debug!(error = %err, "malformed query string");
        ApiError::malformed("Tham số truy vấn không hợp lệ.").into()
    }))
    .app_data(web::PathConfig::default().error_handler(|_, _| ApiError::not_found().into()))
    .app_data(
        web::FormConfig::default()
            .limit(16 * 1024)
            .error_handler(|err, _| {
                tracing::debug!(error = %err, "malformed form body");
                match err {
                    actix_web::error::UrlencodedError::ContentType => {
                        ApiError::unsupported_media_type().into()
                    }
                    actix_web::error::UrlencodedError::Overflow { .. } => {
                        ApiError::payload_too_large().into()
                    }
                    _ => ApiError::malformed("Biểu mẫu thiếu thông tin hoặc không hợp lệ.").into(),
                }
            }),
    )
    .app_data(
        web::JsonConfig::default()
            .limit(64 * 1024)
            .error_handler(|err, _| {
                tracing::debug!(error = %err, "malformed JSON body");
                match err {
                    actix_web::error::JsonPayloadError::ContentType => {
                        ApiError::unsupported_media_type().into()
                    }
                    actix_web::error::JsonPayloadError::Overflow { .. }
                    | actix_web::error::JsonPayloadError::OverflowKnownLength { .. } => {
                        ApiError::payload_too_large().into()
                    }
                    _ => ApiError::malformed(
                        "Nội dung JSON không hợp lệ hoặc thiếu trường bắt buộc.",
                    )
                    .into(),
                }
            }),
    );
    let all = endpoints();
    let mut paths: Vec<&'static str> = Vec::new();
    for e in &all {
        if !paths.contains(&e.path) {
            paths.push(e.path);
        }
    }
    for path in paths {
        let group: Vec<&Endpoint> = all.iter().filter(|e| e.path == path).collect();
        let allow = group
            .iter()
            .map(|e| e.method.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let mut resource = web::resource(path);
        for e in group {
            resource = resource.route((e.route)());
        }
        cfg.service(resource.default_service(web::to(move || {
            let allow = allow.clone();
            async move { Err::<HttpResponse, _>(ApiError::method_not_allowed(allow)) }
        })));
    }
}

/// A JSON answer with something private in it (a citizen's item, staff
/// work): never cached, never shared.
pub(crate) fn private_json(body: impl serde::Serialize) -> HttpResponse {
    use actix_web::http::header::{CacheControl, CacheDirective};
    HttpResponse::Ok()
        .insert_header(CacheControl(vec![
            CacheDirective::NoStore,
            CacheDirective::Private,
        ]))
        .json(body)
}

/// For unmatched paths.
pub async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::not_found())
}

/// `GET /api/v1/openapi.yaml`: the contract itself.
async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/yaml; charset=utf-8")
        .body(OPENAPI_YAML)
}
