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
pub mod metrics;
pub mod middleware;
pub mod my_work;
pub mod national;
pub mod open311;
pub mod outreach;
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
pub mod subject;
pub mod submit_page;
pub mod succession;
pub mod webhooks;

use std::sync::Arc;

use actix_web::http::Method;
use actix_web::{HttpResponse, Route, guard, web};

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
            web::route().to(feedback::create_feedback)
        }),
        endpoint(Method::GET, "/api/v1/feedback/{tracking_code}", || {
            web::route().to(feedback::get_feedback)
        }),
        endpoint(
            Method::GET,
            "/api/v1/feedback/{tracking_code}/deadlines",
            || web::route().to(feedback::get_feedback_deadlines),
        ),
        endpoint(
            Method::POST,
            "/api/v1/feedback/{tracking_code}/supplements",
            || web::route().to(feedback::post_supplement),
        ),
        endpoint(
            Method::POST,
            "/api/v1/feedback/{tracking_code}/rating",
            || web::route().to(feedback::post_rating),
        ),
        // The calculator and the .ics feed before `{year}`, which would
        // otherwise match them.
        endpoint(Method::GET, "/api/v1/calendar/add-working-days", || {
            web::route().to(calendar::add_working_days)
        }),
        endpoint(Method::GET, "/api/v1/calendar/{year}.ics", || {
            web::route().to(calendar::get_year_ics)
        }),
        endpoint(Method::GET, "/api/v1/calendar/{year}", || {
            web::route().to(calendar::get_year)
        }),
        endpoint(Method::POST, "/api/v1/auth/login", || {
            web::route().to(auth::login)
        }),
        endpoint(Method::POST, "/api/v1/auth/logout", || {
            web::route().to(auth::logout)
        }),
        endpoint(Method::GET, "/api/v1/auth/me", || web::route().to(auth::me)),
        endpoint(Method::GET, "/api/v1/auth/profile", || {
            web::route().to(accounts::profile_api)
        }),
        endpoint(Method::PATCH, "/api/v1/auth/profile", || {
            web::route().to(accounts::profile_api_change)
        }),
        endpoint(Method::POST, "/api/v1/auth/password", || {
            web::route().to(accounts::password_api)
        }),
        endpoint(Method::POST, "/api/v1/admin/agencies", || {
            web::route().to(directory_admin::create_api)
        }),
        endpoint(Method::GET, "/api/v1/admin/agencies/{code}", || {
            web::route().to(directory_admin::get_api)
        }),
        endpoint(Method::PUT, "/api/v1/admin/agencies/{code}", || {
            web::route().to(directory_admin::change_api)
        }),
        endpoint(Method::PUT, "/api/v1/admin/fields/{code}", || {
            web::route().to(directory_admin::put_field_api)
        }),
        endpoint(
            Method::PUT,
            "/api/v1/admin/administrative-units/{code}",
            || web::route().to(directory_admin::put_unit_api),
        ),
        endpoint(Method::POST, "/api/v1/admin/calendar/preview", || {
            web::route().to(calendar_admin::preview_api)
        }),
        endpoint(Method::GET, "/api/v1/admin/routing-rules", || {
            web::route().to(routing_admin::list_api)
        }),
        endpoint(Method::POST, "/api/v1/admin/routing-rules", || {
            web::route().to(routing_admin::add_api)
        }),
        endpoint(Method::POST, "/api/v1/admin/routing-rules/try", || {
            web::route().to(routing_admin::try_api)
        }),
        endpoint(Method::PUT, "/api/v1/admin/routing-rules/{rule_id}", || {
            web::route().to(routing_admin::change_api)
        }),
        endpoint(
            Method::DELETE,
            "/api/v1/admin/routing-rules/{rule_id}",
            || web::route().to(routing_admin::delete_api),
        ),
        endpoint(Method::GET, "/api/v1/admin/api-keys", || {
            web::route().to(api_keys::list_api)
        }),
        endpoint(Method::POST, "/api/v1/admin/api-keys", || {
            web::route().to(api_keys::create_api)
        }),
        endpoint(Method::POST, "/api/v1/admin/api-keys/{name}/revoke", || {
            web::route().to(api_keys::revoke_api)
        }),
        endpoint(Method::GET, "/api/v1/admin/webhooks", || {
            web::route().to(webhooks::list_api)
        }),
        endpoint(Method::POST, "/api/v1/admin/webhooks", || {
            web::route().to(webhooks::create_api)
        }),
        endpoint(Method::DELETE, "/api/v1/admin/webhooks/{name}", || {
            web::route().to(webhooks::remove_api)
        }),
        endpoint(
            Method::GET,
            "/api/v1/admin/webhooks/{name}/deliveries",
            || web::route().to(webhooks::deliveries_api),
        ),
        endpoint(
            Method::POST,
            "/api/v1/admin/webhooks/{name}/deliveries/{delivery_id}/retry",
            || web::route().to(webhooks::retry_api),
        ),
        endpoint(Method::GET, "/api/v1/admin/audit-log", || {
            web::route().to(audit_log::api)
        }),
        endpoint(Method::GET, "/api/v1/admin/agency-successions", || {
            web::route().to(succession::list_api)
        }),
        endpoint(Method::POST, "/api/v1/admin/agency-successions", || {
            web::route().to(succession::create_api)
        }),
        endpoint(Method::GET, "/api/v1/admin/staff", || {
            web::route().to(accounts::list_api)
        }),
        endpoint(Method::POST, "/api/v1/admin/staff", || {
            web::route().to(accounts::create_api)
        }),
        endpoint(Method::GET, "/api/v1/admin/staff/{username}", || {
            web::route().to(accounts::get_api)
        }),
        endpoint(Method::PUT, "/api/v1/admin/staff/{username}", || {
            web::route().to(accounts::change_api)
        }),
        endpoint(
            Method::POST,
            "/api/v1/admin/staff/{username}/{action}",
            || web::route().to(accounts::action_api),
        ),
        endpoint(Method::PUT, "/api/v1/admin/calendar/days/{date}", || {
            web::route().to(calendar::put_day)
        }),
        endpoint(Method::DELETE, "/api/v1/admin/calendar/days/{date}", || {
            web::route().to(calendar::delete_day)
        }),
        endpoint(Method::POST, "/api/v1/staff/feedback", || {
            web::route().to(staff::create_staff_feedback)
        }),
        endpoint(Method::GET, "/api/v1/staff/feedback", || {
            web::route().to(staff::list_queue)
        }),
        endpoint(Method::GET, "/api/v1/staff/feedback/summary", || {
            web::route().to(staff::queue_summary)
        }),
        endpoint(Method::GET, "/api/v1/staff/stats", || {
            web::route().to(stats::get_stats)
        }),
        endpoint(
            Method::GET,
            "/api/v1/staff/feedback/{tracking_code}",
            || web::route().to(staff::get_item),
        ),
        endpoint(
            Method::GET,
            "/api/v1/staff/feedback/{tracking_code}/routing-suggestion",
            || web::route().to(staff::routing_suggestion),
        ),
        endpoint(
            Method::GET,
            "/api/v1/staff/feedback/{tracking_code}/duplicate-suggestions",
            || web::route().to(staff::duplicate_suggestions),
        ),
        endpoint(
            Method::GET,
            "/api/v1/staff/feedback/{tracking_code}/redaction-suggestion",
            || web::route().to(staff::redaction_suggestion),
        ),
        endpoint(
            Method::DELETE,
            "/api/v1/staff/feedback/{tracking_code}/mail-failure",
            || web::route().to(staff::clear_mail_failure),
        ),
        endpoint(
            Method::POST,
            "/api/v1/staff/feedback/{tracking_code}/notes",
            || web::route().to(staff::add_note),
        ),
        endpoint(
            Method::PUT,
            "/api/v1/staff/feedback/{tracking_code}/answer/draft",
            || web::route().to(answers::save_draft),
        ),
        endpoint(Method::GET, "/api/v1/staff/answer-templates", || {
            web::route().to(answers::list_templates)
        }),
        endpoint(Method::POST, "/api/v1/staff/answer-templates", || {
            web::route().to(answers::create_template)
        }),
        endpoint(
            Method::PUT,
            "/api/v1/staff/answer-templates/{template_id}",
            || web::route().to(answers::update_template),
        ),
        endpoint(
            Method::DELETE,
            "/api/v1/staff/answer-templates/{template_id}",
            || web::route().to(answers::delete_template),
        ),
        endpoint(
            Method::POST,
            "/api/v1/staff/feedback/{tracking_code}/classify",
            || web::route().to(staff::actions::classify),
        ),
        endpoint(
            Method::POST,
            "/api/v1/staff/feedback/{tracking_code}/request-info",
            || web::route().to(staff::actions::request_info),
        ),
        endpoint(
            Method::POST,
            "/api/v1/staff/feedback/{tracking_code}/reject",
            || web::route().to(staff::actions::reject),
        ),
        endpoint(
            Method::POST,
            "/api/v1/staff/feedback/{tracking_code}/forward",
            || web::route().to(staff::actions::forward),
        ),
        endpoint(
            Method::POST,
            "/api/v1/staff/feedback/{tracking_code}/accept",
            || web::route().to(staff::actions::accept),
        ),
        endpoint(
            Method::POST,
            "/api/v1/staff/feedback/{tracking_code}/return",
            || web::route().to(staff::actions::return_item),
        ),
        endpoint(
            Method::POST,
            "/api/v1/staff/feedback/{tracking_code}/answer",
            || web::route().to(staff::actions::answer),
        ),
        endpoint(
            Method::POST,
            "/api/v1/staff/feedback/{tracking_code}/sign-off",
            || web::route().to(staff::actions::sign_off),
        ),
        endpoint(
            Method::POST,
            "/api/v1/staff/feedback/{tracking_code}/approve",
            || web::route().to(staff::actions::approve),
        ),
        endpoint(
            Method::POST,
            "/api/v1/staff/feedback/{tracking_code}/send-back",
            || web::route().to(staff::actions::send_back),
        ),
        endpoint(
            Method::POST,
            "/api/v1/staff/feedback/{tracking_code}/publish",
            || web::route().to(staff::actions::publish),
        ),
        endpoint(
            Method::POST,
            "/api/v1/staff/feedback/{tracking_code}/withhold",
            || web::route().to(staff::actions::withhold),
        ),
        endpoint(
            Method::POST,
            "/api/v1/staff/feedback/{tracking_code}/unpublish",
            || web::route().to(staff::actions::unpublish),
        ),
        endpoint(
            Method::POST,
            "/api/v1/staff/feedback/{tracking_code}/close",
            || web::route().to(staff::actions::close),
        ),
        endpoint(
            Method::POST,
            "/api/v1/staff/feedback/{tracking_code}/merge",
            || web::route().to(staff::actions::merge),
        ),
        endpoint(
            Method::POST,
            "/api/v1/staff/feedback/{tracking_code}/supplement",
            || web::route().to(staff::actions::supplement),
        ),
        endpoint(
            Method::POST,
            "/api/v1/staff/feedback/{tracking_code}/request-coordination",
            || web::route().to(staff::actions::request_coordination),
        ),
        endpoint(
            Method::POST,
            "/api/v1/staff/feedback/{tracking_code}/withdraw-coordination",
            || web::route().to(staff::actions::withdraw_coordination),
        ),
        endpoint(
            Method::POST,
            "/api/v1/staff/feedback/{tracking_code}/contribute",
            || web::route().to(staff::actions::contribute),
        ),
        endpoint(
            Method::POST,
            "/api/v1/staff/feedback/{tracking_code}/recall",
            || web::route().to(staff::actions::recall),
        ),
        endpoint(
            Method::GET,
            "/api/v1/staff/feedback/{tracking_code}/attachments/{attachment_id}",
            || web::route().to(staff::download_attachment),
        ),
        endpoint(
            Method::POST,
            "/api/v1/staff/feedback/{tracking_code}/answer/attachments",
            || web::route().to(staff::add_answer_files),
        ),
        endpoint(
            Method::DELETE,
            "/api/v1/staff/feedback/{tracking_code}/answer/attachments/{attachment_id}",
            || web::route().to(staff::remove_answer_file),
        ),
        endpoint(
            Method::GET,
            "/api/v1/feedback/{tracking_code}/attachments/{attachment_id}",
            || web::route().to(feedback::download_file),
        ),
        endpoint(
            Method::GET,
            "/api/v1/staff/feedback/{tracking_code}/messages",
            || web::route().to(mail::item_messages),
        ),
        endpoint(
            Method::POST,
            "/api/v1/staff/feedback/{tracking_code}/messages",
            || web::route().to(mail::send_message),
        ),
        endpoint(Method::POST, "/api/v1/staff/inbound-email", || {
            web::route().to(mail::push_inbound_email)
        }),
        endpoint(Method::GET, "/api/v1/staff/inbound-email", || {
            web::route().to(mail::list_inbound_email)
        }),
        endpoint(
            Method::GET,
            "/api/v1/staff/inbound-email/{inbound_mail_id}",
            || web::route().to(mail::get_inbound_email),
        ),
        endpoint(
            Method::GET,
            "/api/v1/staff/inbound-email/{inbound_mail_id}/raw",
            || web::route().to(mail::get_inbound_email_raw),
        ),
        endpoint(Method::GET, "/api/v1/public/qa", || {
            web::route().to(public::list_qa)
        }),
        endpoint(Method::GET, "/api/v1/public/qa/{tracking_code}", || {
            web::route().to(public::get_qa)
        }),
        endpoint(Method::GET, "/open311/v2/discovery.{format}", || {
            web::route().to(open311::discovery)
        }),
        endpoint(Method::GET, "/open311/v2/services.{format}", || {
            web::route().to(open311::services)
        }),
        endpoint(
            Method::GET,
            "/open311/v2/services/{service_code}.{format}",
            || web::route().to(open311::service_definition),
        ),
        endpoint(Method::POST, "/open311/v2/requests.{format}", || {
            web::route().to(open311::create_request)
        }),
        endpoint(Method::GET, "/open311/v2/requests.{format}", || {
            web::route().to(open311::list_requests)
        }),
        endpoint(
            Method::GET,
            "/open311/v2/requests/{service_request_id}.{format}",
            || web::route().to(open311::get_request),
        ),
        endpoint(Method::GET, "/open311/v2/tokens/{token}.{format}", || {
            web::route().to(open311::get_token)
        }),
        endpoint(Method::GET, "/hoi-dap", || web::route().to(pages::qa_list)),
        // Before the item page, whose {tracking_code} would match them.
        endpoint(Method::GET, "/hoi-dap/feed.atom", || {
            web::route().to(public::atom_feed)
        }),
        endpoint(Method::GET, "/hoi-dap/embed", || {
            web::route().to(pages::qa_embed)
        }),
        endpoint(Method::GET, "/hoi-dap/{tracking_code}", || {
            web::route().to(pages::qa_item)
        }),
        endpoint(Method::GET, "/gioi-thieu", || web::route().to(pages::about)),
        endpoint(Method::GET, "/gui-phan-anh", || {
            web::route().to(submit_page::submit_form)
        }),
        endpoint(Method::POST, "/gui-phan-anh", || {
            web::route().to(submit_page::submit_post)
        }),
        endpoint(Method::GET, "/tra-cuu", || {
            web::route().to(lookup_page::lookup_form)
        }),
        endpoint(Method::POST, "/tra-cuu", || {
            web::route().to(lookup_page::lookup_submit)
        }),
        endpoint(Method::POST, "/tra-cuu/bo-sung", || {
            web::route().to(lookup_page::supplement_submit)
        }),
        endpoint(Method::POST, "/tra-cuu/danh-gia", || {
            web::route().to(lookup_page::rating_submit)
        }),
        endpoint(Method::POST, "/tra-cuu/tep", || {
            web::route().to(lookup_page::file_submit)
        }),
        endpoint(Method::GET, "/nhan-vien/dang-nhap", || {
            web::route().to(staff_pages::sign_in_form)
        }),
        endpoint(Method::POST, "/nhan-vien/dang-nhap", || {
            web::route().to(staff_pages::sign_in)
        }),
        endpoint(Method::POST, "/nhan-vien/dang-xuat", || {
            web::route().to(staff_pages::sign_out)
        }),
        endpoint(Method::GET, "/nhan-vien", || web::route().to(console::home)),
        endpoint(Method::GET, "/nhan-vien/su-kien", || {
            web::route().to(live::events)
        }),
        endpoint(Method::GET, "/nhan-vien/phan-anh", || {
            web::route().to(console::queue_page)
        }),
        // The queue's own paths before `{tracking_code}`, which would
        // otherwise match them.
        endpoint(Method::GET, "/nhan-vien/phan-anh/so-lieu", || {
            web::route().to(console::counts)
        }),
        endpoint(Method::POST, "/nhan-vien/phan-anh/hang-loat", || {
            web::route().to(console::bulk)
        }),
        endpoint(Method::POST, "/nhan-vien/phan-anh/bo-loc", || {
            web::route().to(console::save_view)
        }),
        endpoint(
            Method::POST,
            "/nhan-vien/phan-anh/bo-loc/{view_id}/xoa",
            || web::route().to(console::delete_view),
        ),
        endpoint(Method::GET, "/nhan-vien/phan-anh/{tracking_code}", || {
            web::route().to(console::item_page)
        }),
        endpoint(
            Method::GET,
            "/nhan-vien/phan-anh/{tracking_code}/dang-xem",
            || web::route().to(console::presence_fragment),
        ),
        endpoint(
            Method::GET,
            "/nhan-vien/phan-anh/{tracking_code}/tep/{attachment_id}",
            || web::route().to(console::file),
        ),
        endpoint(
            Method::POST,
            "/nhan-vien/phan-anh/{tracking_code}/tep-tra-loi",
            || web::route().to(console::add_answer_files),
        ),
        endpoint(
            Method::POST,
            "/nhan-vien/phan-anh/{tracking_code}/tep-tra-loi/{attachment_id}/xoa",
            || web::route().to(console::remove_answer_file),
        ),
        endpoint(
            Method::POST,
            "/nhan-vien/phan-anh/{tracking_code}/{action}",
            || web::route().to(console::act),
        ),
        endpoint(Method::GET, "/nhan-vien/ho-so", || {
            web::route().to(accounts::profile_page)
        }),
        endpoint(Method::POST, "/nhan-vien/ho-so/thu-tong-hop", || {
            web::route().to(accounts::profile_digest)
        }),
        endpoint(Method::POST, "/nhan-vien/ho-so/mat-khau", || {
            web::route().to(accounts::profile_password)
        }),
        endpoint(Method::GET, "/nhan-vien/dat-mat-khau", || {
            web::route().to(accounts::set_password_form)
        }),
        endpoint(Method::POST, "/nhan-vien/dat-mat-khau", || {
            web::route().to(accounts::set_password)
        }),
        endpoint(Method::GET, "/nhan-vien/quan-tri", || {
            web::route().to(accounts::admin_home)
        }),
        endpoint(Method::GET, "/nhan-vien/quan-tri/tai-khoan", || {
            web::route().to(accounts::accounts_page)
        }),
        endpoint(Method::POST, "/nhan-vien/quan-tri/tai-khoan", || {
            web::route().to(accounts::create_account)
        }),
        endpoint(
            Method::GET,
            "/nhan-vien/quan-tri/tai-khoan/{username}",
            || web::route().to(accounts::account_page),
        ),
        endpoint(
            Method::POST,
            "/nhan-vien/quan-tri/tai-khoan/{username}",
            || web::route().to(accounts::change_account),
        ),
        endpoint(
            Method::POST,
            "/nhan-vien/quan-tri/tai-khoan/{username}/{action}",
            || web::route().to(accounts::account_action),
        ),
        endpoint(Method::GET, "/nhan-vien/quan-tri/co-quan", || {
            web::route().to(directory_admin::list_page)
        }),
        endpoint(Method::POST, "/nhan-vien/quan-tri/co-quan", || {
            web::route().to(directory_admin::create)
        }),
        endpoint(Method::GET, "/nhan-vien/quan-tri/co-quan/{code}", || {
            web::route().to(directory_admin::one_page)
        }),
        endpoint(Method::POST, "/nhan-vien/quan-tri/co-quan/{code}", || {
            web::route().to(directory_admin::change)
        }),
        endpoint(Method::GET, "/nhan-vien/quan-tri/linh-vuc", || {
            web::route().to(directory_admin::fields_page)
        }),
        endpoint(Method::POST, "/nhan-vien/quan-tri/linh-vuc", || {
            web::route().to(directory_admin::save_field)
        }),
        endpoint(Method::GET, "/nhan-vien/quan-tri/xa-phuong", || {
            web::route().to(directory_admin::units_page)
        }),
        endpoint(Method::POST, "/nhan-vien/quan-tri/xa-phuong", || {
            web::route().to(directory_admin::save_unit)
        }),
        endpoint(Method::GET, "/nhan-vien/quan-tri/dinh-tuyen", || {
            web::route().to(routing_admin::page)
        }),
        endpoint(Method::POST, "/nhan-vien/quan-tri/dinh-tuyen", || {
            web::route().to(routing_admin::add)
        }),
        endpoint(Method::GET, "/nhan-vien/quan-tri/dinh-tuyen.toml", || {
            web::route().to(routing_admin::export)
        }),
        // Before `{rule_id}`, which would match them.
        endpoint(Method::POST, "/nhan-vien/quan-tri/dinh-tuyen/thu", || {
            web::route().to(routing_admin::try_page)
        }),
        endpoint(Method::POST, "/nhan-vien/quan-tri/dinh-tuyen/nhap", || {
            web::route().to(routing_admin::import)
        }),
        endpoint(
            Method::POST,
            "/nhan-vien/quan-tri/dinh-tuyen/{rule_id}",
            || web::route().to(routing_admin::change),
        ),
        endpoint(
            Method::POST,
            "/nhan-vien/quan-tri/dinh-tuyen/{rule_id}/xoa",
            || web::route().to(routing_admin::delete),
        ),
        endpoint(Method::GET, "/nhan-vien/quan-tri/lich", || {
            web::route().to(calendar_admin::page)
        }),
        endpoint(Method::POST, "/nhan-vien/quan-tri/lich", || {
            web::route().to(calendar_admin::post)
        }),
        endpoint(Method::GET, "/nhan-vien/quan-tri/khoa-api", || {
            web::route().to(api_keys::page)
        }),
        endpoint(Method::POST, "/nhan-vien/quan-tri/khoa-api", || {
            web::route().to(api_keys::create)
        }),
        endpoint(
            Method::POST,
            "/nhan-vien/quan-tri/khoa-api/{name}/thu-hoi",
            || web::route().to(api_keys::revoke),
        ),
        endpoint(Method::GET, "/nhan-vien/quan-tri/nhat-ky", || {
            web::route().to(audit_log::page)
        }),
        endpoint(Method::GET, "/nhan-vien/quan-tri/nhat-ky.csv", || {
            web::route().to(audit_log::csv)
        }),
        endpoint(Method::GET, "/nhan-vien/quan-tri/sap-nhap", || {
            web::route().to(succession::page)
        }),
        endpoint(Method::POST, "/nhan-vien/quan-tri/sap-nhap", || {
            web::route().to(succession::post)
        }),
        endpoint(Method::GET, "/nhan-vien/nguon", || {
            web::route().to(outreach::page)
        }),
        endpoint(Method::POST, "/nhan-vien/nguon", || {
            web::route().to(outreach::create_page)
        }),
        endpoint(Method::POST, "/nhan-vien/nguon/{code}/ngung", || {
            web::route().to(outreach::retire_page)
        }),
        endpoint(Method::GET, "/nhan-vien/nguon.csv", || {
            web::route().to(outreach::csv)
        }),
        endpoint(Method::GET, "/nhan-vien/nguon.xlsx", || {
            web::route().to(outreach::xlsx)
        }),
        endpoint(Method::GET, "/api/v1/staff/sources", || {
            web::route().to(outreach::list_api)
        }),
        endpoint(Method::POST, "/api/v1/staff/sources", || {
            web::route().to(outreach::create_api)
        }),
        endpoint(Method::POST, "/api/v1/staff/sources/{code}/retire", || {
            web::route().to(outreach::retire_api)
        }),
        endpoint(Method::GET, "/to-gap", || {
            web::route().to(outreach::leaflet)
        }),
        endpoint(Method::GET, "/ap-phich", || {
            web::route().to(outreach::poster)
        }),
        endpoint(Method::GET, "/n/{code}", || {
            web::route().to(outreach::short_link)
        }),
        endpoint(Method::GET, "/nhan-vien/cong-quoc-gia", || {
            web::route().to(national::page)
        }),
        endpoint(Method::POST, "/nhan-vien/cong-quoc-gia", || {
            web::route().to(national::record_page)
        }),
        endpoint(Method::GET, "/nhan-vien/cong-quoc-gia.xlsx", || {
            web::route().to(national::page_xlsx)
        }),
        endpoint(Method::GET, "/nhan-vien/du-lieu-ca-nhan", || {
            web::route().to(subject::page)
        }),
        endpoint(Method::POST, "/nhan-vien/du-lieu-ca-nhan/xoa", || {
            web::route().to(subject::erase)
        }),
        endpoint(Method::GET, "/nhan-vien/du-lieu-ca-nhan/xuat", || {
            web::route().to(subject::export_page)
        }),
        endpoint(Method::GET, "/nhan-vien/quan-tri/truy-cap-lien-he", || {
            web::route().to(subject::access_page)
        }),
        endpoint(
            Method::PUT,
            "/api/v1/staff/feedback/{tracking_code}/national-record",
            || web::route().to(national::record_api),
        ),
        endpoint(Method::GET, "/api/v1/staff/national-backlog.xlsx", || {
            web::route().to(national::backlog_xlsx)
        }),
        endpoint(Method::GET, "/api/v1/staff/national-backlog", || {
            web::route().to(national::backlog_api)
        }),
        endpoint(Method::GET, "/api/v1/staff/subject-requests", || {
            web::route().to(subject::find_api)
        }),
        endpoint(Method::GET, "/api/v1/staff/subject-requests/export", || {
            web::route().to(subject::export_api)
        }),
        endpoint(Method::POST, "/api/v1/staff/subject-requests/erase", || {
            web::route().to(subject::erase_api)
        }),
        endpoint(
            Method::POST,
            "/api/v1/staff/subject-requests/correct",
            || web::route().to(subject::correct_api),
        ),
        endpoint(Method::GET, "/api/v1/admin/contact-access", || {
            web::route().to(subject::access_api)
        }),
        endpoint(Method::GET, "/nhan-vien/viec-cua-toi", || {
            web::route().to(my_work::page)
        }),
        endpoint(Method::GET, "/nhan-vien/viec-cua-toi/so-luong", || {
            web::route().to(my_work::count)
        }),
        endpoint(Method::GET, "/api/v1/staff/my-work", || {
            web::route().to(my_work::api)
        }),
        endpoint(Method::GET, "/nhan-vien/mau-tra-loi", || {
            web::route().to(answer_templates::page)
        }),
        endpoint(Method::POST, "/nhan-vien/mau-tra-loi", || {
            web::route().to(answer_templates::create)
        }),
        endpoint(Method::POST, "/nhan-vien/mau-tra-loi/{template_id}", || {
            web::route().to(answer_templates::update)
        }),
        endpoint(
            Method::POST,
            "/nhan-vien/mau-tra-loi/{template_id}/xoa",
            || web::route().to(answer_templates::delete),
        ),
        endpoint(Method::GET, "/nhan-vien/tiep-nhan", || {
            web::route().to(intake_desk::desk_form)
        }),
        endpoint(Method::POST, "/nhan-vien/tiep-nhan", || {
            web::route().to(intake_desk::desk_submit)
        }),
        endpoint(Method::GET, "/nhan-vien/tiep-nhan/nguoi-gui", || {
            web::route().to(intake_desk::earlier_fragment)
        }),
        endpoint(Method::GET, "/nhan-vien/thong-ke", || {
            web::route().to(reports::dashboard)
        }),
        endpoint(Method::GET, "/nhan-vien/bao-cao", || {
            web::route().to(reports::report_page)
        }),
        endpoint(Method::GET, "/nhan-vien/bao-cao.xlsx", || {
            web::route().to(reports::report_xlsx)
        }),
        endpoint(Method::GET, "/nhan-vien/du-lieu.csv", || {
            web::route().to(reports::export_csv)
        }),
        endpoint(Method::GET, "/nhan-vien/du-lieu.xlsx", || {
            web::route().to(reports::export_xlsx)
        }),
        endpoint(Method::GET, "/static/pakn.css", || {
            web::route().to(pages::stylesheet)
        }),
        endpoint(Method::GET, "/static/console.js", || {
            web::route().to(assets::console_js)
        }),
        endpoint(Method::GET, "/static/receipt.js", || {
            web::route().to(assets::receipt_js)
        }),
        endpoint(Method::GET, "/tra-cuu/khoi-phuc", || {
            web::route().to(lookup_page::recover_form)
        }),
        endpoint(Method::POST, "/tra-cuu/khoi-phuc", || {
            web::route().to(lookup_page::recover_submit)
        }),
        endpoint(Method::POST, "/tra-cuu/khoi-phuc/ma-moi", || {
            web::route().to(lookup_page::recover_redeem)
        }),
        endpoint(Method::POST, "/api/v1/lookup-recovery", || {
            web::route().to(lookup_page::recover_api)
        }),
        endpoint(Method::POST, "/api/v1/lookup-recovery/redeem", || {
            web::route().to(lookup_page::redeem_api)
        }),
        endpoint(Method::GET, "/", || web::route().to(pages::home)),
        endpoint(Method::GET, "/static/vendor/htmx-4.0.1.min.js", || {
            web::route().to(assets::htmx)
        }),
        endpoint(Method::GET, "/static/vendor/hx-sse-4.0.1.min.js", || {
            web::route().to(assets::htmx_sse)
        }),
        endpoint(Method::GET, "/static/vendor/htmx-LICENSE.txt", || {
            web::route().to(assets::htmx_license)
        }),
        endpoint(Method::GET, "/embed.js", || {
            web::route().to(pages::embed_script)
        }),
        endpoint(Method::GET, "/api/v1/agencies", || {
            web::route().to(directory::list_agencies)
        }),
        endpoint(Method::GET, "/api/v1/fields", || {
            web::route().to(directory::list_fields)
        }),
        endpoint(Method::GET, "/api/v1/administrative-units", || {
            web::route().to(directory::list_administrative_units)
        }),
        endpoint(Method::GET, "/api/v1/openapi.yaml", || {
            web::route().to(openapi)
        }),
        endpoint(Method::GET, "/health/live", || {
            web::route().to(health::live)
        }),
        endpoint(Method::GET, "/health/ready", || {
            web::route().to(health::ready)
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
        let mut methods: Vec<&str> = group.iter().map(|e| e.method.as_str()).collect();
        if methods.contains(&"GET") {
            methods.insert(
                methods.iter().position(|m| *m == "GET").unwrap_or(0) + 1,
                "HEAD",
            );
        }
        let allow = methods.join(", ");
        let mut resource = web::resource(path);
        for e in group {
            resource = resource.route(with_method((e.route)(), &e.method));
        }
        cfg.service(resource.default_service(web::to(move || {
            let allow = allow.clone();
            async move { Err::<HttpResponse, _>(ApiError::method_not_allowed(allow)) }
        })));
    }
}

/// The table's routes carry no method guard; it is added here from the
/// endpoint's method, once. Every GET also answers HEAD (RFC 9110 §9.3.2:
/// the same status and headers, no body; actix-web's HTTP/1 encoder drops
/// the body of a response to HEAD), as uptime monitors expect.
fn with_method(route: Route, method: &Method) -> Route {
    if *method == Method::GET {
        route.guard(guard::Any(guard::Get()).or(guard::Head()))
    } else {
        route.method(method.clone())
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
