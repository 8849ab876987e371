//! The staff console (server-rendered, Vietnamese, usable without
//! JavaScript; htmx adds live counts and partial updates): the queue with
//! its filters, saved views and bulk triage, the item page with the
//! actions the staff member may take now, and the presence of colleagues
//! on an item. Every page reads the same views as the JSON API
//! (`services::staff_items`, `services::queue`, `services::suggestions`),
//! and every action goes through the same service check; this module
//! only turns them into pages and forms.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::AppState;
use super::html::{
    Flash, PageErrors, StaffPage, console_page, same_origin_post, see_other, wants_html,
};
use super::live::CountsFragment;
use super::problem::{ApiError, request_id};
use crate::domain::feedback::{Channel, ContentCategory, FeedbackKind, FeedbackState, FieldError};
use crate::domain::staff::{Actor, Permission};
use crate::domain::time::vietnam_date;
use crate::domain::workflow::Action;
use crate::services::answers::{self, AnswerPreview, DraftError, TemplateView};
use crate::services::queue::{self, QueuePage, QueueQuery};
use crate::services::staff_items::{
    self, ActionBody, AvailableAction, ChoiceView, Opened, Purpose, StaffError, StaffItemView,
};
use crate::services::suggestions::{self, DuplicateView};
use crate::services::workflow::{Choices, FieldKind};

/// What the console's header shows of the signed-in staff member.
pub struct Nav {
    pub site_name: String,
    pub name: String,
    pub role: &'static str,
    /// `phan-anh`, `tiep-nhan`.
    pub section: &'static str,
    pub may_enter: bool,
    pub may_stats: bool,
    pub may_templates: bool,
    pub may_admin: bool,
    /// Items, the queue and "Việc của tôi" (not for administrators).
    pub may_items: bool,
    pub may_audit: bool,
    /// Data subjects' requests (the control office).
    pub may_subject: bool,
    /// The national PAKN system's re-keying backlog (the control office).
    pub may_national: bool,
    /// The publicity sources (the control office, administrators).
    pub may_sources: bool,
    /// Who saw whose contact data (administrators, auditors).
    pub may_access_log: bool,
}

impl Nav {
    pub fn of(state: &AppState, actor: &Actor, section: &'static str) -> Self {
        Self {
            site_name: state.settings.office().name,
            name: actor.display_name.clone(),
            role: actor.role.label_vi(),
            section,
            may_enter: actor.may(Permission::EnterFeedback),
            may_stats: actor.may(Permission::ReadStatistics),
            may_templates: actor.may(Permission::UseAnswerTemplates),
            may_admin: actor.may(Permission::ManageStaff),
            may_items: actor.may(Permission::ViewItems),
            may_audit: actor.may(Permission::ReadAuditLog),
            may_subject: actor.may(Permission::HandleSubjectRequests),
            may_national: actor.may(Permission::KeepNationalRecord),
            may_sources: actor.may(Permission::ManageSources),
            may_access_log: actor.may(Permission::ReadContactAccessLog),
        }
    }
}

/// One option of a list on a page.
pub struct Opt {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

fn opts(items: impl IntoIterator<Item = (String, String)>, selected: &str) -> Vec<Opt> {
    items
        .into_iter()
        .map(|(value, label)| Opt {
            selected: value == selected,
            value,
            label,
        })
        .collect()
}

/// The directory's lists the forms offer.
pub struct Lists {
    pub agencies: Vec<(String, String)>,
    pub fields: Vec<(String, String)>,
}

async fn lists(state: &AppState, now: DateTime<Utc>) -> Result<Lists, ApiError> {
    let agencies = state
        .store
        .list_agencies(
            &crate::domain::directory::AgencyFilter::default(),
            vietnam_date(now),
        )
        .await?;
    let mut agencies: Vec<(String, String)> =
        agencies.into_iter().map(|a| (a.code, a.name)).collect();
    agencies.sort_by(|a, b| a.1.cmp(&b.1));
    let fields = state
        .store
        .list_fields()
        .await?
        .into_iter()
        .map(|f| (f.code, f.name))
        .collect();
    Ok(Lists { agencies, fields })
}

/// A refused request on a console page: the page's own refusal (403, 404)
/// as a page.
pub(super) fn refused(req: &HttpRequest, state: &AppState, error: ApiError) -> HttpResponse {
    super::staff_pages::staff_error(req, state, error)
}

/// The same-origin check every console post passes first.
pub(super) fn check_origin(req: &HttpRequest, state: &AppState) -> Result<(), ApiError> {
    if same_origin_post(req, &state.settings.server.public_base_url) {
        Ok(())
    } else {
        Err(ApiError::forbidden())
    }
}

// ---------------------------------------------------------------- queue

/// A saved view in the side list, with how many items it holds now.
pub struct ViewLink {
    pub id: String,
    pub name: String,
    pub href: String,
    pub count: String,
    pub current: bool,
}

#[derive(Template)]
#[template(path = "console_queue.html", config = "config/askama.toml")]
struct QueuePageTemplate {
    nav: Nav,
    flash: Option<Flash>,
    counts: CountsFragment,
    q: QueueQuery,
    /// A filter the queue could not read: which, and why.
    filter_error: Option<(&'static str, &'static str)>,
    page: QueuePage,
    next_href: Option<String>,
    first_href: Option<String>,
    query_string: String,
    states: Vec<Opt>,
    channels: Vec<Opt>,
    agencies: Vec<Opt>,
    fields: Vec<Opt>,
    overdue: Vec<Opt>,
    categories: Vec<Opt>,
    kinds: Vec<Opt>,
    bulk_agencies: Vec<(String, String)>,
    views: Vec<ViewLink>,
    /// A filter behind "more filters" is in use (the panel opens).
    more_filters_set: bool,
    /// The bulk actions the reader's role takes (none: no bulk form).
    bulk_actions: Vec<(&'static str, &'static str)>,
}

impl QueuePageTemplate {
    /// Whether the filter `name` is the one that could not be read.
    pub fn invalid(&self, name: &str) -> bool {
        self.filter_error.is_some_and(|(f, _)| f == name)
    }
}

fn split_page_query(raw: BTreeMap<String, String>) -> (QueueQuery, Option<String>) {
    let mut filters = raw;
    let done = filters.remove("xong");
    (QueueQuery::from_pairs(filters).cleaned(), done)
}

/// `GET /nhan-vien/phan-anh`: the queue, most urgent first.
pub async fn queue_page(
    req: HttpRequest,
    staff: StaffPage,
    query: web::Query<BTreeMap<String, String>>,
    state: web::Data<AppState>,
) -> HttpResponse {
    match render_queue(&staff, query.into_inner(), &state, wants_html(&req)).await {
        Ok(r) => r,
        Err(e) => refused(&req, &state, e),
    }
}

async fn render_queue(
    staff: &StaffPage,
    raw: BTreeMap<String, String>,
    state: &AppState,
    html: bool,
) -> Result<HttpResponse, ApiError> {
    let actor = &staff.actor;
    let now = Utc::now();
    let (q, done) = split_page_query(raw);
    let counts = CountsFragment::of(state, actor).await?;
    let (page, filter_error) = match queue::page(state, actor, &q, now).await? {
        Ok(page) => (page, None),
        // A program gets the API's answer to the same filter.
        Err(bad) if !html => return Err(ApiError::malformed(bad.message)),
        Err(bad) => (
            QueuePage {
                items: Vec::new(),
                next_cursor: None,
            },
            Some((bad.field, bad.message)),
        ),
    };
    let filters = q.without_paging();
    let query_string = filters.to_query_string();
    let next_href = page.next_cursor.as_ref().map(|c| {
        let mut next = filters.clone();
        next.cursor = Some(c.clone());
        next.limit = q.limit.clone();
        format!("/nhan-vien/phan-anh?{}", next.to_query_string())
    });
    let first_href = q
        .cursor
        .is_some()
        .then(|| format!("/nhan-vien/phan-anh?{query_string}"));
    let lists = lists(state, now).await?;
    let views = saved_view_links(state, actor, &query_string, now).await?;
    let selected = |v: &Option<String>| v.clone().unwrap_or_default();
    let page_view = QueuePageTemplate {
        nav: Nav::of(state, actor, "phan-anh"),
        flash: done.as_deref().and_then(done_message).map(Flash::done),
        counts,
        filter_error,
        next_href,
        first_href,
        query_string,
        states: opts(
            FeedbackState::ALL
                .iter()
                .map(|s| (s.as_str().to_string(), s.label_vi().to_string())),
            &selected(&q.state),
        ),
        channels: opts(
            Channel::ALL
                .iter()
                .map(|c| (c.as_str().to_string(), c.label_vi().to_string())),
            &selected(&q.channel),
        ),
        agencies: opts(lists.agencies.clone(), &selected(&q.agency_code)),
        fields: opts(lists.fields.clone(), &selected(&q.field_code)),
        overdue: opts(
            [
                ("true".to_string(), "Đã quá hạn".to_string()),
                ("false".to_string(), "Chưa quá hạn".to_string()),
            ],
            &selected(&q.overdue),
        ),
        categories: opts(
            ContentCategory::ALL
                .iter()
                .map(|c| (c.as_str().to_string(), c.label_vi().to_string())),
            "",
        ),
        kinds: opts(
            FeedbackKind::ALL
                .iter()
                .map(|k| (k.as_str().to_string(), k.label_vi().to_string())),
            "",
        ),
        bulk_agencies: lists.agencies,
        views,
        more_filters_set: [
            &q.channel,
            &q.field_code,
            &q.due_within,
            &q.received_from,
            &q.received_to,
        ]
        .iter()
        .any(|f| f.is_some())
            || filter_error.is_some_and(|(f, _)| {
                matches!(
                    f,
                    "channel" | "field_code" | "due_within" | "received_from" | "received_to"
                )
            }),
        bulk_actions: staff_items::bulk_actions(actor)
            .into_iter()
            .map(|a| (a.as_str(), staff_items::action_label(a)))
            .collect(),
        page,
        q,
    };
    let status = if page_view.filter_error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    console_page(status, &page_view)
}

/// The most items a saved view counts, for the side list.
const VIEW_COUNT_CAP: u64 = 999;

async fn saved_view_links(
    state: &AppState,
    actor: &Actor,
    current: &str,
    now: DateTime<Utc>,
) -> Result<Vec<ViewLink>, ApiError> {
    let scope = queue::scope(actor)?;
    let directory = state.store.directory_snapshot().await?;
    let mut out = Vec::new();
    for v in state.store.saved_views(actor.staff_id).await? {
        let q = QueueQuery::from_query_string(&v.query);
        let count = match queue::parse(state, &q, &directory, now) {
            Ok(parsed) => {
                let n = state
                    .store
                    .queue_count(&parsed.filter, scope, VIEW_COUNT_CAP + 1, now)
                    .await?;
                if n > VIEW_COUNT_CAP {
                    format!("{VIEW_COUNT_CAP}+")
                } else {
                    n.to_string()
                }
            }
            Err(_) => "?".to_string(),
        };
        out.push(ViewLink {
            id: v.id.to_string(),
            href: format!("/nhan-vien/phan-anh?{}", v.query),
            current: v.query == current,
            name: v.name,
            count,
        });
    }
    Ok(out)
}

/// What the queue says after a post it was redirected from.
fn done_message(code: &str) -> Option<&'static str> {
    Some(match code {
        "luu-bo-loc" => "Đã lưu bộ lọc.",
        "xoa-bo-loc" => "Đã xoá bộ lọc đã lưu.",
        "bo-loc-day" => "Đã đủ 20 bộ lọc đã lưu; hãy xoá bớt một bộ lọc trước.",
        _ => return None,
    })
}

#[derive(Debug, Deserialize)]
pub struct SaveViewForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    query: String,
}

/// `POST /nhan-vien/phan-anh/bo-loc`: saves the current filters under a
/// name (the same name replaces).
pub async fn save_view(
    req: HttpRequest,
    staff: StaffPage,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    let result = async {
        check_origin(&req, &state)?;
        queue::scope(&staff.actor)?;
        let form: SaveViewForm = serde_urlencoded::from_bytes(&body)
            .map_err(|_| ApiError::malformed("Biểu mẫu không hợp lệ."))?;
        let name: String = crate::domain::text::clean_line(&form.name)
            .chars()
            .take(60)
            .collect();
        // Only filters are kept: a query that is not one is dropped.
        let q = QueueQuery::from_query_string(&form.query);
        let query = q.cleaned().without_paging().to_query_string();
        let name = if name.is_empty() {
            "Bộ lọc không tên".to_string()
        } else {
            name
        };
        let saved = state
            .store
            .save_view(staff.actor.staff_id, &name, &query, Utc::now())
            .await?;
        let done = if saved { "luu-bo-loc" } else { "bo-loc-day" };
        let sep = if query.is_empty() { "" } else { "&" };
        Ok::<_, ApiError>(see_other(&format!(
            "/nhan-vien/phan-anh?{query}{sep}xong={done}"
        )))
    }
    .await;
    result.unwrap_or_else(|e| refused(&req, &state, e))
}

/// `POST /nhan-vien/phan-anh/bo-loc/{view_id}/xoa`
pub async fn delete_view(
    req: HttpRequest,
    staff: StaffPage,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let result = async {
        check_origin(&req, &state)?;
        queue::scope(&staff.actor)?;
        let id = uuid::Uuid::try_parse(&path.into_inner()).map_err(|_| ApiError::not_found())?;
        if !state.store.delete_view(staff.actor.staff_id, id).await? {
            return Err(ApiError::not_found());
        }
        Ok(see_other("/nhan-vien/phan-anh?xong=xoa-bo-loc"))
    }
    .await;
    result.unwrap_or_else(|e| refused(&req, &state, e))
}

/// `GET /nhan-vien/phan-anh/so-lieu`: the counts alone (htmx swaps them
/// in where live events are not available).
pub async fn counts(
    req: HttpRequest,
    staff: StaffPage,
    state: web::Data<AppState>,
) -> HttpResponse {
    let result = async {
        console_page(
            StatusCode::OK,
            &CountsFragment::of(&state, &staff.actor).await?,
        )
    }
    .await;
    result.unwrap_or_else(|e| refused(&req, &state, e))
}

// ----------------------------------------------------------------- bulk

/// The most items one bulk action takes ("every item matching").
pub const BULK_MAX: u64 = 200;

/// What happened to one item of a bulk action.
pub struct BulkOutcome {
    pub tracking_code: String,
    pub ok: bool,
    pub message: String,
}

#[derive(Template)]
#[template(path = "console_bulk.html", config = "config/askama.toml")]
struct BulkResultPage {
    nav: Nav,
    action_label: &'static str,
    outcomes: Vec<BulkOutcome>,
    succeeded: usize,
    back: String,
}

/// Why an action was not taken on an item, in words.
fn refusal_text(e: &StaffError) -> String {
    use crate::services::workflow::WorkflowError as W;
    match e {
        StaffError::NotFound | StaffError::Workflow(W::NotFound) => {
            "Không tìm thấy, hoặc không thuộc phạm vi của Ông/Bà.".into()
        }
        StaffError::Forbidden | StaffError::Workflow(W::Forbidden) => {
            "Ông/Bà không có quyền thực hiện thao tác này với phản ánh này.".into()
        }
        StaffError::Workflow(W::InvalidTransition { state, .. }) => format!(
            "Không thực hiện được ở trạng thái “{}”.",
            FeedbackState::parse(state).map_or(state.as_str(), |s| s.label_vi())
        ),
        StaffError::Workflow(W::VersionConflict { .. }) => {
            "Vừa được người khác cập nhật; vui lòng thử lại.".into()
        }
        StaffError::Workflow(W::SeparationOfDuties) => {
            "Người soạn dự thảo không tự duyệt (quy tắc bốn mắt).".into()
        }
        StaffError::Invalid(errors) | StaffError::Workflow(W::Invalid(errors)) => errors
            .iter()
            .map(|e| format!("{}: {}", field_name(&e.field), e.message))
            .collect::<Vec<_>>()
            .join(" "),
        StaffError::Store(_) | StaffError::Workflow(W::Store(_)) => {
            "Lỗi hệ thống; vui lòng thử lại sau.".into()
        }
    }
}

/// The name a field has on the console's forms.
fn field_name(field: &str) -> &'static str {
    match field {
        "version" => "Phiên bản",
        "kind" => "Loại",
        "content_category" => "Nội dung",
        "field_code" => "Lĩnh vực",
        "procedure_text" => "Quy định, thủ tục",
        "procedure_code" => "Mã thủ tục",
        "message" => "Nội dung đề nghị",
        "reason_code" => "Lý do",
        "note" => "Ghi chú",
        "agency_code" => "Cơ quan",
        "text" => "Nội dung",
        "title_redacted" => "Tiêu đề công khai",
        "question_redacted" => "Câu hỏi công khai",
        "answer_redacted" => "Trả lời công khai",
        "confirm_personal_data" => "Xác nhận",
        "consent_to_publish" => "Đồng ý công khai",
        "into" => "Gộp vào",
        "days" => "Thời hạn",
        "body" => "Ghi chú",
        _ => "Thông tin",
    }
}

/// `POST /nhan-vien/phan-anh/hang-loat`: classify, forward or ask for
/// information on the items chosen (or every item matching the filter,
/// up to [`BULK_MAX`]); each item is checked and audited on its own.
pub async fn bulk(
    req: HttpRequest,
    staff: StaffPage,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    let result = async {
        check_origin(&req, &state)?;
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&body)
            .map_err(|_| ApiError::malformed("Biểu mẫu không hợp lệ."))?;
        let get = |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let offered = staff_items::bulk_actions(&staff.actor);
        if offered.is_empty() {
            return Err(ApiError::forbidden());
        }
        let action = offered
            .into_iter()
            .find(|a| a.as_str() == get("bulk_action"))
            .ok_or_else(|| ApiError::malformed("Chưa chọn thao tác."))?;
        let filter = get("filter");
        let back = format!("/nhan-vien/phan-anh?{filter}");
        let actor = &staff.actor;
        let now = Utc::now();
        let codes: Vec<String> = if get("all_matching") == "true" {
            let q = QueueQuery::from_query_string(&filter);
            let directory = state.store.directory_snapshot().await?;
            let parsed = queue::parse(&state, &q, &directory, now)
                .map_err(|bad| ApiError::malformed(bad.message))?;
            state
                .store
                .queue_codes(&parsed.filter, queue::scope(actor)?, BULK_MAX, now)
                .await?
        } else {
            pairs
                .iter()
                .filter(|(k, _)| k == "items")
                .map(|(_, v)| v.clone())
                .take(usize::try_from(BULK_MAX).unwrap_or(200))
                .collect()
        };
        // The action's own fields, as one item's form would send them.
        let fields: Vec<(String, String)> = crate::services::workflow::fields(action)
            .iter()
            .map(|spec| {
                (
                    spec.name.to_string(),
                    get(&format!("{}.{}", action.as_str(), spec.name)),
                )
            })
            .collect();
        let mut outcomes = Vec::with_capacity(codes.len());
        for code in codes {
            let outcome = bulk_one(&state, actor, &code, action, &fields, now).await;
            outcomes.push(BulkOutcome {
                ok: outcome.is_ok(),
                message: match &outcome {
                    Ok(()) => "Đã thực hiện.".into(),
                    Err(e) => refusal_text(e),
                },
                tracking_code: code,
            });
        }
        let succeeded = outcomes.iter().filter(|o| o.ok).count();
        // What needs a second look first.
        outcomes.sort_by_key(|o| o.ok);
        console_page(
            StatusCode::OK,
            &BulkResultPage {
                nav: Nav::of(&state, actor, "phan-anh"),
                action_label: staff_items::action_label(action),
                outcomes,
                succeeded,
                back,
            },
        )
    }
    .await;
    result.unwrap_or_else(|e| refused(&req, &state, e))
}

/// One item of a bulk action, at its current version.
async fn bulk_one(
    state: &AppState,
    actor: &Actor,
    code: &str,
    action: Action,
    fields: &[(String, String)],
    now: DateTime<Utc>,
) -> Result<(), StaffError> {
    let opened = staff_items::open(state, actor, code, Purpose::Act(action)).await?;
    let mut pairs = fields.to_vec();
    pairs.push(("version".into(), opened.version().to_string()));
    staff_items::act(
        state,
        actor,
        &opened,
        action,
        ActionBody::Form(pairs),
        request_id(),
        now,
    )
    .await
}

// ----------------------------------------------------------------- item

/// The answer draft's saved state, drawn in the answer form and sent
/// again after each save.
pub struct DraftMeta {
    pub code: String,
    /// The saved revision the writer's page started from ("" for none).
    pub revision: String,
    pub status: String,
    /// Someone else saved since: the writer may overwrite.
    pub conflict: bool,
}

impl DraftMeta {
    fn of(code: &str, v: &StaffItemView) -> Self {
        let (revision, status) = match &v.saved_draft {
            Some(d) => (
                d.revision.to_string(),
                format!(
                    "Bản nháp lưu lúc {} bởi {}.",
                    d.saved_at.datetime_vi(),
                    if d.mine {
                        "Ông/Bà"
                    } else {
                        d.saved_by.as_str()
                    }
                ),
            ),
            None if v.answer_draft.is_some() => (
                String::new(),
                "Dự thảo đã ghi vào phản ánh; bản nháp tự lưu khi Ông/Bà sửa.".into(),
            ),
            None => (
                String::new(),
                "Bản nháp tự lưu trên máy chủ vài giây một lần khi Ông/Bà gõ.".into(),
            ),
        };
        DraftMeta {
            code: code.to_string(),
            revision,
            status,
            conflict: false,
        }
    }
}

#[derive(Template)]
#[template(path = "console_draft_meta.html", config = "config/askama.toml")]
struct DraftFragment {
    draft: DraftMeta,
}

/// One text to publish: the original with what the detector marks.
pub struct RedactionRow {
    pub label: &'static str,
    /// The original in pieces, each marked or not.
    pub pieces: Vec<(String, bool)>,
    pub found: usize,
}

fn redaction_row(
    label: &'static str,
    original: &str,
    proposal: &crate::services::publication::Proposal,
) -> RedactionRow {
    let chars: Vec<char> = original.chars().collect();
    let mut pieces = Vec::new();
    let mut at = 0;
    for span in &proposal.spans {
        let (start, end) = (span.start.min(chars.len()), span.end.min(chars.len()));
        if start < at {
            continue;
        }
        if start > at {
            pieces.push((chars[at..start].iter().collect(), false));
        }
        pieces.push((chars[start..end].iter().collect(), true));
        at = end;
    }
    if at < chars.len() {
        pieces.push((chars[at..].iter().collect(), false));
    }
    RedactionRow {
        label,
        pieces,
        found: proposal.spans.len(),
    }
}

/// What a posted form left to show again: which form, what was typed and
/// what was wrong with it.
#[derive(Default)]
pub struct Posted {
    pub action: String,
    pub values: Vec<(String, String)>,
    pub errors: PageErrors,
}

impl Posted {
    /// What was typed into `name` of the form `action` (empty otherwise).
    pub fn value(&self, action: &str, name: &str) -> String {
        if self.action != action {
            return String::new();
        }
        self.values
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    pub fn is(&self, action: &str) -> bool {
        self.action == action
    }

    /// The message for `name` of the form `action`.
    pub fn error(&self, action: &str, name: &str) -> String {
        if self.action != action {
            return String::new();
        }
        self.errors.joined(&format!("{action}-{name}"))
    }
}

/// A form of the action panel, with its fields ready to draw.
pub struct ActionForm {
    pub action: &'static str,
    pub label: &'static str,
    pub key: Option<char>,
    pub fields: Vec<FormField>,
}

/// One field of an action's form.
pub struct FormField {
    pub name: &'static str,
    pub label: &'static str,
    /// `line`, `text`, `select`, `radio`, `search`, `number`.
    pub input: &'static str,
    pub required: bool,
    pub max: u32,
    pub options: Vec<ChoiceView>,
    /// For a searchable list: the id of its datalist.
    pub list: &'static str,
}

/// The key that opens an action's form on the item page.
fn key_of(action: &str) -> Option<char> {
    Some(match action {
        "classify" => 'c',
        "forward" => 'f',
        "request-info" => 'r',
        "accept" => 'a',
        "reject" => 'x',
        "answer" => 't',
        _ => return None,
    })
}

fn action_forms(actions: &[AvailableAction]) -> Vec<ActionForm> {
    actions
        .iter()
        .map(|a| ActionForm {
            action: a.action,
            label: a.label,
            key: key_of(a.action),
            fields: a
                .fields
                .iter()
                .map(|f| {
                    let (input, max, options, list) = match f.spec.kind {
                        FieldKind::Line { max } => ("line", max, Vec::new(), ""),
                        FieldKind::Text { max } => ("text", max, Vec::new(), ""),
                        FieldKind::Number { max, .. } => {
                            ("number", u32::try_from(max).unwrap_or(60), Vec::new(), "")
                        }
                        FieldKind::Choice { from } => match from {
                            Choices::Agency => ("search", 0, Vec::new(), "ds-co-quan"),
                            Choices::Field => ("select", 0, Vec::new(), "ds-linh-vuc"),
                            Choices::Kind => ("select", 0, kind_options(), ""),
                            Choices::ContentCategory => ("select", 0, category_options(), ""),
                            Choices::RejectionReason => {
                                ("radio", 0, f.options.clone().unwrap_or_default(), "")
                            }
                            Choices::CoordinatingAgency | Choices::WithholdReason => {
                                ("select", 0, f.options.clone().unwrap_or_default(), "")
                            }
                        },
                    };
                    FormField {
                        name: f.spec.name,
                        label: f.spec.label,
                        input,
                        required: f.spec.required,
                        max,
                        options,
                        list,
                    }
                })
                .collect(),
        })
        .collect()
}

fn kind_options() -> Vec<ChoiceView> {
    FeedbackKind::ALL
        .iter()
        .map(|k| ChoiceView::plain(k.as_str(), k.label_vi()))
        .collect()
}

fn category_options() -> Vec<ChoiceView> {
    ContentCategory::ALL
        .iter()
        .map(|c| ChoiceView::plain(c.as_str(), c.label_vi()))
        .collect()
}

/// A routing suggestion with what one click sends.
pub struct RouteOption {
    pub agency_code: String,
    pub agency_name: String,
    pub score: u32,
    pub reasons: Vec<String>,
}

#[derive(Template)]
#[template(path = "console_item.html", config = "config/askama.toml")]
struct ItemPage {
    nav: Nav,
    v: StaffItemView,
    /// What an action's field starts with when nothing was posted (the
    /// saved draft, the redaction suggestion): `(action, field, value)`.
    defaults: Vec<(&'static str, &'static str, String)>,
    /// The answer being written: its saved revision and state.
    draft: DraftMeta,
    /// The agency's templates, for the answer form.
    templates: Vec<TemplateView>,
    /// What the citizen will see of the answer (the draft, or the answer
    /// under review).
    preview: Option<AnswerPreview>,
    /// The texts to publish, with what the detector marks.
    redaction: Vec<RedactionRow>,
    flash: Option<Flash>,
    /// Someone changed the item between loading and posting.
    conflict: Option<Vec<String>>,
    forms: Vec<ActionForm>,
    posted: Posted,
    routes: Vec<RouteOption>,
    duplicates: Vec<DuplicateView>,
    agencies: Vec<(String, String)>,
    fields: Vec<(String, String)>,
    others: Vec<String>,
    may_note: bool,
    may_clear_mail: bool,
    may_message: bool,
    note_text: String,
    note_error: String,
    /// When the page was drawn (a conflict lists what happened since).
    rendered_at: String,
}

impl ItemPage {
    /// What a field of an action's form shows: what was posted, else its
    /// starting value.
    pub fn typed(&self, action: &str, name: &str) -> String {
        if self.posted.is(action) {
            return self.posted.value(action, name);
        }
        self.defaults
            .iter()
            .find(|(a, f, _)| *a == action && *f == name)
            .map(|(_, _, v)| v.clone())
            .unwrap_or_default()
    }

    /// The name of an agency code.
    pub fn agency_name(&self, code: &str) -> String {
        name_in(&self.agencies, code)
    }

    /// The name of a field code.
    pub fn field_name(&self, code: &str) -> String {
        name_in(&self.fields, code)
    }
}

/// The name of `code` in a directory list (the code when it is not there).
fn name_in(list: &[(String, String)], code: &str) -> String {
    list.iter()
        .find(|(c, _)| c == code)
        .map_or_else(|| code.to_string(), |(_, n)| n.clone())
}

#[derive(Debug, Deserialize)]
pub struct ItemPageQuery {
    xong: Option<String>,
}

/// What the item page says after an action was taken (`?xong=`).
fn done_text(code: &str) -> Option<String> {
    match code {
        "ban-nhap" => Some("Đã lưu bản nháp trả lời.".into()),
        "tep-tra-loi" => {
            Some("Đã cập nhật văn bản kèm trả lời; dự thảo cần được ký duyệt lại.".into())
        }
        "ghi-chu" => Some("Đã thêm ghi chú.".into()),
        "thu" => Some("Đã đưa thư vào hàng đợi gửi cho người gửi.".into()),
        "go-loi-thu" => Some("Đã gỡ đánh dấu lỗi địa chỉ thư; thư báo sẽ được gửi lại.".into()),
        other => Action::ALL
            .into_iter()
            .find(|a| a.as_str() == other)
            .map(|a| format!("Đã thực hiện: {}.", staff_items::action_label(a))),
    }
}

/// How long a colleague counts as having the item open.
const PRESENCE_SECONDS: i64 = 60;

/// `GET /nhan-vien/phan-anh/{tracking_code}`: the item and what the
/// staff member may do with it.
pub async fn item_page(
    req: HttpRequest,
    staff: StaffPage,
    path: web::Path<String>,
    query: web::Query<ItemPageQuery>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let code = path.into_inner();
    let flash = query
        .into_inner()
        .xong
        .as_deref()
        .and_then(done_text)
        .map(Flash::done);
    match render_item(
        &state,
        &staff,
        &code,
        flash,
        None,
        Posted::default(),
        StatusCode::OK,
    )
    .await
    {
        Ok(r) => r,
        Err(e) => refused(&req, &state, e),
    }
}

#[allow(clippy::too_many_arguments)]
async fn render_item(
    state: &AppState,
    staff: &StaffPage,
    code: &str,
    flash: Option<Flash>,
    conflict: Option<Vec<String>>,
    posted: Posted,
    status: StatusCode,
) -> Result<HttpResponse, ApiError> {
    let actor = &staff.actor;
    let now = Utc::now();
    let opened = staff_items::open(state, actor, code, Purpose::View).await?;
    // The suggestions only beside the actions they serve; everything the
    // page reads is asked for at once.
    let wants_routes = staff_items::offered(state, actor, &opened, Action::Forward)?
        || staff_items::offered(state, actor, &opened, Action::Classify)?;
    let wants_duplicates = staff_items::offered(state, actor, &opened, Action::Merge)?;
    let routes = async {
        if !wants_routes {
            return Vec::new();
        }
        suggestions::routing(state, actor, &opened, now)
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|s| RouteOption {
                agency_code: s.agency_code,
                agency_name: s.agency_name,
                score: s.score,
                reasons: s.reasons,
            })
            .collect::<Vec<_>>()
    };
    let duplicates = async {
        if !wants_duplicates {
            return Vec::new();
        }
        suggestions::duplicates(state, actor, &opened, now)
            .await
            .unwrap_or_default()
    };
    let (v, others, routes, duplicates, lists) = tokio::join!(
        staff_items::view(state, actor, &opened, now),
        presence(state, actor, &opened, now),
        routes,
        duplicates,
        lists(state, now),
    );
    let (v, others, lists) = (v?, others?, lists?);
    let (note_text, note_error) = if posted.is("notes") {
        (posted.value("notes", "body"), posted.error("notes", "body"))
    } else {
        (String::new(), String::new())
    };
    let mut defaults = Vec::new();
    // The answer form starts from the saved draft, else the recorded one.
    let draft_text = v
        .saved_draft
        .as_ref()
        .map(|d| d.text.clone())
        .or_else(|| v.answer_draft.clone())
        .unwrap_or_default();
    let (templates, preview) = if v.action("answer").is_some() {
        defaults.push(("answer", "text", draft_text.clone()));
        let templates = if actor.may(Permission::UseAnswerTemplates) {
            answers::templates(state, actor).await?
        } else {
            Vec::new()
        };
        (
            templates,
            answers::preview(&v, &draft_text, &state.settings),
        )
    } else if v.state == FeedbackState::AnswerUnderReview || v.action("sign-off").is_some() {
        (
            Vec::new(),
            answers::preview(&v, &draft_text, &state.settings),
        )
    } else {
        (Vec::new(), None)
    };
    // The publish form starts from the redaction suggestion.
    let mut redaction = Vec::new();
    if v.action("publish").is_some()
        && let Ok(suggested) = suggestions::redaction(actor, &opened)
    {
        let item = &opened.row().item;
        redaction.push(redaction_row("Tiêu đề", &item.title, &suggested.title));
        redaction.push(redaction_row("Câu hỏi", &item.content, &suggested.question));
        defaults.push((
            "publish",
            "title_redacted",
            v.title_redacted.clone().unwrap_or(suggested.title.redacted),
        ));
        defaults.push((
            "publish",
            "question_redacted",
            v.question_redacted
                .clone()
                .unwrap_or(suggested.question.redacted),
        ));
        if let (Some(answer), Some(proposal)) = (item.answer.as_deref(), suggested.answer) {
            redaction.push(redaction_row("Trả lời", answer, &proposal));
            defaults.push((
                "publish",
                "answer_redacted",
                v.answer_redacted.clone().unwrap_or(proposal.redacted),
            ));
        }
    }
    let page = ItemPage {
        nav: Nav::of(state, actor, "phan-anh"),
        draft: DraftMeta::of(code, &v),
        defaults,
        templates,
        preview,
        redaction,
        forms: action_forms(&v.actions),
        may_note: opened.may_add_note(actor),
        may_message: opened.may_message_submitter(actor),
        may_clear_mail: opened.may_clear_mail_failure(actor) && v.mail_failure.is_some(),
        flash,
        conflict,
        posted,
        routes,
        duplicates,
        agencies: lists.agencies,
        fields: lists.fields,
        others,
        note_text,
        note_error,
        rendered_at: now.timestamp().to_string(),
        v,
    };
    console_page(status, &page)
}

/// Records that the actor has the item open, and says who else has.
async fn presence(
    state: &AppState,
    actor: &Actor,
    opened: &Opened,
    now: DateTime<Utc>,
) -> Result<Vec<String>, ApiError> {
    let since = now - chrono::Duration::seconds(PRESENCE_SECONDS);
    Ok(staff_items::presence(state, actor, opened, since, now).await?)
}

#[derive(Template)]
#[template(path = "console_presence.html", config = "config/askama.toml")]
struct PresenceFragment {
    others: Vec<String>,
}

/// `GET /nhan-vien/phan-anh/{tracking_code}/dang-xem`: who else has the
/// item open (the page asks every 20 seconds; advisory only, the version
/// check decides).
pub async fn presence_fragment(
    req: HttpRequest,
    staff: StaffPage,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let result = async {
        let now = Utc::now();
        let opened =
            staff_items::open(&state, &staff.actor, &path.into_inner(), Purpose::View).await?;
        let others = presence(&state, &staff.actor, &opened, now).await?;
        console_page(StatusCode::OK, &PresenceFragment { others })
    }
    .await;
    result.unwrap_or_else(|e| refused(&req, &state, e))
}

/// `GET /nhan-vien/phan-anh/{tracking_code}/tep/{attachment_id}`: a file
/// of the item (an image shown in the page, anything else downloaded).
pub async fn file(
    req: HttpRequest,
    staff: StaffPage,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let (code, file) = path.into_inner();
    let result = async {
        let opened = staff_items::open(&state, &staff.actor, &code, Purpose::View).await?;
        Ok::<_, ApiError>(super::staff::file_download(
            staff_items::attachment(&state, &opened, &file).await?,
        ))
    }
    .await;
    result.unwrap_or_else(|e| refused(&req, &state, e))
}

/// Fields of the answer form that belong to its draft, not to the action.
const DRAFT_FIELDS: [&str; 4] = ["draft_revision", "template_id", "insert", "overwrite"];

/// A posted form's fields, and when its page was drawn.
type FormPairs = (Vec<(String, String)>, Option<i64>);

/// The form fields of a posted body, and the console's own (`rendered_at`,
/// which says when the page was drawn).
fn form_pairs(body: &[u8]) -> Result<FormPairs, ApiError> {
    let mut pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
        .map_err(|_| ApiError::malformed("Biểu mẫu không hợp lệ."))?;
    let rendered_at = pairs
        .iter()
        .find(|(k, _)| k == "rendered_at")
        .and_then(|(_, v)| v.parse().ok());
    pairs.retain(|(k, _)| k != "rendered_at");
    Ok((pairs, rendered_at))
}

/// `POST /nhan-vien/phan-anh/{tracking_code}/{action}`: one workflow
/// action from its form, with the API's field names. Success goes back to
/// the item page with a message; a mistake shows the page again with the
/// message by its field and what was typed; someone else's change shows
/// the page with what changed and the form as it was.
pub async fn act(
    req: HttpRequest,
    staff: StaffPage,
    path: web::Path<(String, String)>,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    let (code, action_name) = path.into_inner();
    let result = async {
        check_origin(&req, &state)?;
        let (pairs, rendered_at) = form_pairs(&body)?;
        match action_name.as_str() {
            "notes" => return note(&state, &staff, &code, pairs, wants_html(&req)).await,
            "ban-nhap" => return draft(&req, &state, &staff, &code, pairs).await,
            "mail-failure" => return clear_mail(&state, &staff, &code).await,
            "thu" => return message(&state, &staff, &code, pairs, wants_html(&req)).await,
            _ => {}
        }
        // The answer form also carries the draft's own fields (its saved
        // revision, the template list); they are not the action's.
        let mut pairs = pairs;
        pairs.retain(|(k, _)| !DRAFT_FIELDS.contains(&k.as_str()));
        let action = Action::ALL
            .into_iter()
            .find(|a| a.as_str() == action_name)
            .ok_or_else(ApiError::not_found)?;
        let opened = staff_items::open(&state, &staff.actor, &code, Purpose::Act(action)).await?;
        let outcome = staff_items::act(
            &state,
            &staff.actor,
            &opened,
            action,
            ActionBody::Form(pairs.clone()),
            request_id(),
            Utc::now(),
        )
        .await;
        match outcome {
            // A program gets the API's answer; a person gets the page.
            Err(e) if !wants_html(&req) => Err(e.into()),
            Ok(()) => {
                // An item that left the actor's sight (returned, forwarded
                // away by an agency) leads back to the queue.
                let still_visible = staff_items::open(&state, &staff.actor, &code, Purpose::View)
                    .await
                    .is_ok();
                Ok(if still_visible {
                    see_other(&format!(
                        "/nhan-vien/phan-anh/{code}?xong={}",
                        action.as_str()
                    ))
                } else {
                    see_other("/nhan-vien/phan-anh")
                })
            }
            Err(StaffError::Invalid(errors))
            | Err(StaffError::Workflow(crate::services::workflow::WorkflowError::Invalid(
                errors,
            ))) => {
                let posted = posted(action.as_str(), pairs, &errors);
                render_item(
                    &state,
                    &staff,
                    &code,
                    Some(Flash::error(
                        "Chưa thực hiện được: vui lòng sửa các mục được nêu.",
                    )),
                    None,
                    posted,
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await
            }
            Err(StaffError::Workflow(
                crate::services::workflow::WorkflowError::VersionConflict { .. },
            )) => {
                let since = rendered_at.and_then(|t| DateTime::from_timestamp(t, 0));
                let changes = what_changed(&state, &staff, &code, since).await?;
                let posted = posted(action.as_str(), pairs, &[]);
                render_item(
                    &state,
                    &staff,
                    &code,
                    None,
                    Some(changes),
                    posted,
                    StatusCode::CONFLICT,
                )
                .await
            }
            Err(StaffError::Workflow(
                crate::services::workflow::WorkflowError::InvalidTransition {
                    state: now_state,
                    ..
                },
            )) => {
                let label =
                    FeedbackState::parse(&now_state).map_or(now_state.as_str(), |s| s.label_vi());
                render_item(
                    &state,
                    &staff,
                    &code,
                    Some(Flash::error(format!(
                        "Thao tác này không thực hiện được ở trạng thái hiện tại (“{label}”)."
                    ))),
                    None,
                    posted(action.as_str(), pairs, &[]),
                    StatusCode::CONFLICT,
                )
                .await
            }
            Err(e) => Err(e.into()),
        }
    }
    .await;
    result.unwrap_or_else(|e| refused(&req, &state, e))
}

fn posted(action: &str, values: Vec<(String, String)>, errors: &[FieldError]) -> Posted {
    // Each message by its field in that action's form.
    let errors = PageErrors::from_fields(errors, |field| {
        (format!("{action}-{field}"), field_name(field))
    });
    Posted {
        action: action.to_string(),
        values,
        errors,
    }
}

/// What happened to the item since the page was drawn, in words.
async fn what_changed(
    state: &AppState,
    staff: &StaffPage,
    code: &str,
    since: Option<DateTime<Utc>>,
) -> Result<Vec<String>, ApiError> {
    let now = Utc::now();
    let v = staff_items::current_view(state, &staff.actor, code, now).await?;
    let mut changes: Vec<String> = v
        .history
        .iter()
        .filter(|e| since.is_none_or(|s| e.occurred_at.0 >= s))
        .map(|e| {
            format!(
                "{} — {}{}",
                e.occurred_at.datetime_vi(),
                e.label_vi(),
                e.actor
                    .as_ref()
                    .map(|a| format!(" ({a})"))
                    .unwrap_or_default()
            )
        })
        .collect();
    if changes.is_empty() {
        changes.push(format!("Trạng thái hiện tại: {}.", v.state_label()));
    }
    Ok(changes)
}

async fn note(
    state: &AppState,
    staff: &StaffPage,
    code: &str,
    pairs: Vec<(String, String)>,
    html: bool,
) -> Result<HttpResponse, ApiError> {
    let opened = staff_items::open(
        state,
        &staff.actor,
        code,
        Purpose::Permitted(Permission::AddNote),
    )
    .await?;
    let body = pairs
        .iter()
        .find(|(k, _)| k == "body")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    match staff_items::add_note(
        state,
        &staff.actor,
        &opened,
        &body,
        request_id(),
        Utc::now(),
    )
    .await
    {
        Ok(_) => Ok(see_other(&format!(
            "/nhan-vien/phan-anh/{code}?xong=ghi-chu#ghi-chu"
        ))),
        Err(StaffError::Invalid(errors)) if html => {
            render_item(
                state,
                staff,
                code,
                Some(Flash::error("Chưa thêm được ghi chú.")),
                None,
                posted("notes", pairs, &errors),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

fn pair<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// `POST /nhan-vien/phan-anh/{tracking_code}/ban-nhap`: saves the answer
/// being written (every few seconds from the page, on leaving it, or with
/// the form's buttons; `insert=1` adds the chosen template first). htmx
/// gets the draft's state back as a fragment; a plain form goes back to
/// the page.
async fn draft(
    req: &HttpRequest,
    state: &AppState,
    staff: &StaffPage,
    code: &str,
    pairs: Vec<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let actor = &staff.actor;
    let fragment = req.headers().contains_key("hx-request");
    let opened = staff_items::open(state, actor, code, Purpose::Act(Action::Answer)).await?;
    let mut text = pair(&pairs, "text").unwrap_or_default().to_string();
    if pair(&pairs, "insert") == Some("1")
        && let Some(id) = pair(&pairs, "template_id")
            .filter(|t| !t.is_empty())
            .and_then(|t| uuid::Uuid::try_parse(t).ok())
    {
        let template = answers::template(state, actor, id).await?;
        text = answers::with_template(&text, &template.body);
    }
    let base = pair(&pairs, "draft_revision").and_then(|r| r.trim().parse().ok());
    let overwrite = pair(&pairs, "overwrite") == Some("1");
    let saved =
        answers::save_draft(state, actor, &opened, &text, base, overwrite, Utc::now()).await;
    let mut meta = DraftMeta {
        code: code.to_string(),
        revision: base.map(|r: i32| r.to_string()).unwrap_or_default(),
        status: String::new(),
        conflict: false,
    };
    match saved {
        Ok(d) => {
            if !fragment {
                return Ok(see_other(&format!(
                    "/nhan-vien/phan-anh/{code}?xong=ban-nhap#tac-vu-answer"
                )));
            }
            meta.revision = d.revision.to_string();
            meta.status = format!("Đã lưu bản nháp lúc {}.", d.saved_at.datetime_vi());
        }
        Err(DraftError::Conflict(theirs)) => {
            meta.conflict = true;
            meta.status = format!(
                "{} đã lưu một bản khác lúc {}; bản đang gõ ở đây chưa được lưu. Tải lại trang để xem bản đó, hoặc lưu đè.",
                theirs.saved_by,
                theirs.saved_at.datetime_vi()
            );
            if !fragment {
                let mut page_pairs = pairs.clone();
                page_pairs.retain(|(k, _)| k != "text");
                page_pairs.push(("text".into(), text));
                return render_item(
                    state,
                    staff,
                    code,
                    Some(Flash::error(meta.status.clone())),
                    None,
                    posted("answer", page_pairs, &[]),
                    StatusCode::CONFLICT,
                )
                .await;
            }
        }
        Err(DraftError::Staff(StaffError::Invalid(errors))) if !fragment => {
            return render_item(
                state,
                staff,
                code,
                Some(Flash::error("Chưa lưu được bản nháp.")),
                None,
                posted("answer", pairs, &errors),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
        Err(e) if !fragment => return Err(e.into()),
        Err(e) => {
            let (_, detail) = ApiError::from(e).title_and_detail();
            meta.conflict = false;
            meta.status = format!("Chưa lưu được bản nháp: {detail}");
        }
    }
    console_page(StatusCode::OK, &DraftFragment { draft: meta })
}

/// A message to the submitter from the item page (`text`).
async fn message(
    state: &AppState,
    staff: &StaffPage,
    code: &str,
    pairs: Vec<(String, String)>,
    html: bool,
) -> Result<HttpResponse, ApiError> {
    let purpose = Purpose::Permitted(Permission::MessageSubmitter);
    let opened = staff_items::open(state, &staff.actor, code, purpose).await?;
    let text = pair(&pairs, "text").unwrap_or_default().to_string();
    match staff_items::message_submitter(
        state,
        &staff.actor,
        &opened,
        &text,
        request_id(),
        Utc::now(),
    )
    .await
    {
        Ok(()) => Ok(see_other(&format!(
            "/nhan-vien/phan-anh/{code}?xong=thu#thu"
        ))),
        Err(StaffError::Invalid(errors)) if html => {
            render_item(
                state,
                staff,
                code,
                Some(Flash::error("Chưa gửi được thư.")),
                None,
                posted("thu", pairs, &errors),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

async fn clear_mail(
    state: &AppState,
    staff: &StaffPage,
    code: &str,
) -> Result<HttpResponse, ApiError> {
    let purpose = Purpose::Permitted(Permission::ClearMailFailure);
    let opened = staff_items::open(state, &staff.actor, code, purpose).await?;
    staff_items::clear_mail_failure(state, &staff.actor, &opened, request_id(), Utc::now()).await?;
    Ok(see_other(&format!(
        "/nhan-vien/phan-anh/{code}?xong=go-loi-thu"
    )))
}

/// The outcome of changing the answer's documents, as a page.
async fn answer_files_changed(
    req: &HttpRequest,
    state: &AppState,
    staff: &StaffPage,
    code: &str,
    version: Option<i32>,
    rendered_at: Option<i64>,
    change: crate::services::workflow::AnswerFiles,
) -> Result<HttpResponse, ApiError> {
    use crate::services::workflow::WorkflowError;
    let opened = staff_items::open(state, &staff.actor, code, Purpose::Act(Action::Answer)).await?;
    let outcome = staff_items::edit_answer_files(
        state,
        &staff.actor,
        &opened,
        version,
        change,
        request_id(),
        Utc::now(),
    )
    .await;
    match outcome {
        Ok(()) => Ok(see_other(&format!(
            "/nhan-vien/phan-anh/{code}?xong=tep-tra-loi#tep-tra-loi"
        ))),
        Err(e) if !wants_html(req) => Err(e.into()),
        Err(StaffError::Workflow(WorkflowError::Invalid(errors)))
        | Err(StaffError::Invalid(errors)) => {
            let text = errors
                .iter()
                .map(|e| e.message)
                .collect::<Vec<_>>()
                .join(" ");
            render_item(
                state,
                staff,
                code,
                Some(Flash::error(format!(
                    "Chưa thay đổi được tệp trả lời: {text}"
                ))),
                None,
                Posted::default(),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(StaffError::Workflow(WorkflowError::VersionConflict { .. })) => {
            let since = rendered_at.and_then(|t| DateTime::from_timestamp(t, 0));
            let changes = what_changed(state, staff, code, since).await?;
            render_item(
                state,
                staff,
                code,
                None,
                Some(changes),
                Posted::default(),
                StatusCode::CONFLICT,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

fn number_in(value: &serde_json::Value, name: &str) -> Option<i64> {
    match value.get(name) {
        Some(serde_json::Value::String(v)) => v.trim().parse().ok(),
        Some(serde_json::Value::Number(n)) => n.as_i64(),
        _ => None,
    }
}

/// `POST /nhan-vien/phan-anh/{tracking_code}/tep-tra-loi`: documents of
/// the answer (signed PDFs, scans), multipart with the item's `version`
/// and files under `attachments`; the same checks as the API, and the
/// draft needs a fresh sign-off afterwards.
pub async fn add_answer_files(
    req: HttpRequest,
    staff: StaffPage,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let code = path.into_inner();
    let result = async {
        check_origin(&req, &state)?;
        // Who may is decided before the body is read.
        staff_items::open(&state, &staff.actor, &code, Purpose::Act(Action::Answer)).await?;
        let (fields, files) = super::intake_body::read_body(&req, payload, &state.settings).await?;
        let version = number_in(&fields, "version").and_then(|v| i32::try_from(v).ok());
        let rendered_at = number_in(&fields, "rendered_at");
        if files.is_empty() {
            return render_item(
                &state,
                &staff,
                &code,
                Some(Flash::error("Chưa chọn tệp nào.")),
                None,
                Posted::default(),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
        answer_files_changed(
            &req,
            &state,
            &staff,
            &code,
            version,
            rendered_at,
            crate::services::workflow::AnswerFiles::Add(files),
        )
        .await
    }
    .await;
    result.unwrap_or_else(|e| refused(&req, &state, e))
}

/// `POST /nhan-vien/phan-anh/{tracking_code}/tep-tra-loi/{attachment_id}/xoa`:
/// one document taken off the answer (the item's `version` in the form).
pub async fn remove_answer_file(
    req: HttpRequest,
    staff: StaffPage,
    path: web::Path<(String, String)>,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    let (code, file) = path.into_inner();
    let result = async {
        check_origin(&req, &state)?;
        let file = uuid::Uuid::try_parse(&file).map_err(|_| ApiError::not_found())?;
        let (pairs, rendered_at) = form_pairs(&body)?;
        let version = pair(&pairs, "version").and_then(|v| v.trim().parse().ok());
        answer_files_changed(
            &req,
            &state,
            &staff,
            &code,
            version,
            rendered_at,
            crate::services::workflow::AnswerFiles::Remove(file),
        )
        .await
    }
    .await;
    result.unwrap_or_else(|e| refused(&req, &state, e))
}

/// `GET /nhan-vien`: the queue is where the work is (signed in first).
pub async fn home(staff: StaffPage) -> HttpResponse {
    if staff.actor.may(Permission::ViewItems) {
        see_other("/nhan-vien/phan-anh")
    } else {
        see_other("/nhan-vien/quan-tri")
    }
}
