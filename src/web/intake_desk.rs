//! The intake desk `/nhan-vien/tiep-nhan`: staff key in what reached the
//! office by phone, post, in person, the letter box, a survey form or a
//! transfer from another body, with that channel's evidence, the scans as
//! attachments and the day it really arrived. The same intake as
//! `POST /api/v1/staff/feedback` (`services::intake::receive_staff`).
//!
//! As the caller's number or address is typed the desk lists the items
//! already received from it (htmx asks `/nhan-vien/tiep-nhan/nguoi-gui`;
//! without JavaScript a button reloads the form with the list), and a
//! second call about the same matter can be recorded as a supplement to
//! the earlier item instead of a new one.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::{NaiveDate, NaiveDateTime, NaiveTime, Utc};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::AppState;
use super::console::Nav;
use super::html::{
    Choice, Chosen, Flash, PageErrors, StaffPage, SubmissionLists, choices, console_page,
    same_origin_post, see_other, wants_html,
};
use super::intake_body::{place_commune_in_province, read_body, submission_from_value, text_at};
use super::problem::{ApiError, request_id};
use crate::domain::feedback::FieldError;
use crate::domain::staff::Permission;
use crate::domain::staff_intake::STAFF_CHANNELS;
use crate::domain::time::{VnTime, vietnam_date};
use crate::domain::workflow::Action;
use crate::services::intake::{self, IntakeError, StaffParts};
use crate::services::staff_items::{self, ActionBody, EarlierItem, Purpose, StaffError};

const IDEMPOTENCY: &str = "idempotency_key";
const SUPPLEMENT_TO: &str = "supplement_to";

/// What was typed, to fill the form again.
#[derive(Debug, Default)]
pub struct DeskValues {
    pub channel: String,
    pub received_on: String,
    pub received_time: String,
    pub caller_number: String,
    pub call_time: String,
    pub letter_date: String,
    pub postmark_date: String,
    pub letter_box_opened_on: String,
    pub transferred_from: String,
    pub intake_note: String,
    pub kind: String,
    pub title: String,
    pub content: String,
    pub content_category: String,
    pub field_code: String,
    pub agency_code: String,
    pub submitter_type: String,
    pub full_name: String,
    pub organization_name: String,
    pub address_detail: String,
    pub commune_code: String,
    pub phone: String,
    pub email: String,
    pub consent_to_publish: bool,
    pub idempotency_key: String,
}

impl DeskValues {
    fn from_value(v: &Value) -> Self {
        let t = |path: &[&str]| text_at(v, path);
        Self {
            channel: t(&["channel"]),
            received_on: t(&["received_on"]),
            received_time: t(&["received_time"]),
            caller_number: t(&["intake", "caller_number"]),
            call_time: t(&["intake", "call_time"]),
            letter_date: t(&["intake", "letter_date"]),
            postmark_date: t(&["intake", "postmark_date"]),
            letter_box_opened_on: t(&["intake", "letter_box_opened_on"]),
            transferred_from: t(&["intake", "transferred_from"]),
            intake_note: t(&["intake", "note"]),
            kind: t(&["kind"]),
            title: t(&["title"]),
            content: t(&["content"]),
            content_category: t(&["content_category"]),
            field_code: t(&["field_code"]),
            agency_code: t(&["agency_code"]),
            submitter_type: t(&["submitter", "type"]),
            full_name: t(&["submitter", "full_name"]),
            organization_name: t(&["submitter", "organization_name"]),
            address_detail: t(&["submitter", "address", "detail"]),
            commune_code: t(&["submitter", "address", "commune_code"]),
            phone: t(&["submitter", "phone"]),
            email: t(&["submitter", "email"]),
            consent_to_publish: matches!(t(&["consent_to_publish"]).as_str(), "true" | "on" | "1"),
            idempotency_key: t(&[IDEMPOTENCY]),
        }
    }

    /// A fresh form: a hotline call received now.
    fn fresh() -> Self {
        let now = crate::domain::time::vietnam_datetime(Utc::now());
        Self {
            channel: "hotline".into(),
            received_on: now.format("%Y-%m-%d").to_string(),
            received_time: now.format("%H:%M").to_string(),
            kind: "phan_anh".into(),
            submitter_type: "individual".into(),
            ..Self::default()
        }
    }
}

/// The input a wire field is typed into, and its name on the page.
fn desk_field(field: &str) -> (String, &'static str) {
    let (anchor, label) = match field {
        "channel" => ("channel", "Kênh tiếp nhận"),
        "received_at" => ("received_on", "Ngày nhận"),
        "intake.caller_number" => ("intake-caller_number", "Số máy gọi đến"),
        "intake.call_time" => ("intake-call_time", "Thời điểm gọi"),
        "intake.letter_date" => ("intake-letter_date", "Ngày ghi trên thư"),
        "intake.postmark_date" => ("intake-postmark_date", "Ngày dấu bưu điện"),
        "intake.letter_box_opened_on" => ("intake-letter_box_opened_on", "Ngày mở hộp thư"),
        "intake.transferred_from" => ("intake-transferred_from", "Cơ quan chuyển đến"),
        "intake.note" => ("intake-note", "Ghi chú tiếp nhận"),
        "text" => ("content", "Nội dung"),
        "supplement_to" => ("nguoi-gui-cu", "Phản ánh đã có"),
        other if other.starts_with("intake") => ("bieu-mau", "Thông tin tiếp nhận"),
        other => super::submit_page::field_label(other),
    };
    (anchor.to_string(), label)
}

#[derive(Template)]
#[template(path = "console_intake.html", config = "config/askama.toml")]
struct DeskPage {
    nav: Nav,
    office: crate::domain::office::Office,
    v: DeskValues,
    errors: PageErrors,
    flash: Option<Flash>,
    channels: Vec<Choice>,
    lists: SubmissionLists,
    earlier: EarlierFragment,
    today: String,
    /// Staff typing for someone else: the browser fills nothing in.
    desk: bool,
}

/// The items already received from the number or address typed.
#[derive(Template)]
#[template(path = "console_earlier.html", config = "config/askama.toml")]
pub struct EarlierFragment {
    /// Something was typed to look for.
    pub asked: bool,
    pub items: Vec<EarlierItem>,
}

#[derive(Template)]
#[template(path = "console_intake_done.html", config = "config/askama.toml")]
struct DonePage {
    nav: Nav,
    tracking_code: String,
    lookup_token: String,
    /// The code and token in groups, large, to read aloud on the phone.
    code_view: super::html::CodeView,
    token_view: super::html::CodeView,
    /// Where the receipt goes by e-mail (empty: none given).
    email: String,
    received_at: String,
    channel: String,
    files: Vec<String>,
    replayed: bool,
}

fn refused(req: &HttpRequest, state: &AppState, error: ApiError) -> HttpResponse {
    super::staff_pages::staff_error(req, state, error)
}

async fn earlier(
    state: &AppState,
    staff: &StaffPage,
    phone: &str,
    email: &str,
) -> Result<EarlierFragment, ApiError> {
    let asked = !phone.trim().is_empty() || !email.trim().is_empty();
    let items = if asked {
        staff_items::earlier_items(state, &staff.actor, phone, email).await?
    } else {
        Vec::new()
    };
    Ok(EarlierFragment { asked, items })
}

async fn desk_page(
    state: &AppState,
    staff: &StaffPage,
    mut v: DeskValues,
    errors: PageErrors,
    flash: Option<Flash>,
    status: StatusCode,
) -> Result<HttpResponse, ApiError> {
    if uuid::Uuid::try_parse(&v.idempotency_key).is_err() {
        v.idempotency_key = uuid::Uuid::new_v4().to_string();
    }
    let today = vietnam_date(Utc::now());
    let lists = SubmissionLists::load(
        state,
        Chosen {
            field_code: &v.field_code,
            agency_code: &v.agency_code,
            commune_code: &v.commune_code,
            content_category: &v.content_category,
        },
    )
    .await?;
    let earlier = earlier(state, staff, &v.phone, &v.email).await?;
    let page = DeskPage {
        nav: Nav::of(state, &staff.actor, "tiep-nhan"),
        office: state.settings.office(),
        channels: choices(
            STAFF_CHANNELS
                .iter()
                .map(|c| (c.as_str().to_string(), c.label_vi().to_string())),
            &v.channel,
        ),
        lists,
        earlier,
        desk: true,
        today: today.format("%Y-%m-%d").to_string(),
        v,
        errors,
        flash,
    };
    console_page(status, &page)
}

/// The desk's query: a form reloaded to look up the caller (without
/// JavaScript), with what was typed so far.
#[derive(Debug, Default, Deserialize)]
pub struct DeskQuery {
    #[serde(flatten)]
    values: std::collections::BTreeMap<String, String>,
}

/// `GET /nhan-vien/tiep-nhan`: the empty form (or the form as typed, when
/// reloaded to look up the caller).
pub async fn desk_form(
    req: HttpRequest,
    staff: StaffPage,
    query: web::Query<DeskQuery>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let result = async {
        staff.require(Permission::EnterFeedback)?;
        let query = query.into_inner().values;
        let v = if query.is_empty() {
            DeskValues::fresh()
        } else {
            let pairs: Vec<(String, String)> = query.into_iter().collect();
            // A query that is not the form's own is an empty form.
            super::intake_body::from_pairs(pairs)
                .map_or_else(|_| DeskValues::fresh(), |v| DeskValues::from_value(&v))
        };
        desk_page(
            &state,
            &staff,
            v,
            PageErrors::default(),
            None,
            StatusCode::OK,
        )
        .await
    }
    .await;
    result.unwrap_or_else(|e| refused(&req, &state, e))
}

#[derive(Debug, Deserialize)]
pub struct ContactQuery {
    #[serde(default, rename = "submitter.phone")]
    phone: String,
    #[serde(default, rename = "submitter.email")]
    email: String,
}

/// `GET /nhan-vien/tiep-nhan/nguoi-gui`: the items already received from
/// a phone number or e-mail address (the fragment the form shows).
pub async fn earlier_fragment(
    req: HttpRequest,
    staff: StaffPage,
    query: web::Query<ContactQuery>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let result = async {
        let q = query.into_inner();
        let fragment = earlier(&state, &staff, &q.phone, &q.email).await?;
        console_page(StatusCode::OK, &fragment)
    }
    .await;
    result.unwrap_or_else(|e| refused(&req, &state, e))
}

/// A date as a browser sends it (`2026-12-03`) or as people type it where
/// there is no date picker (`03/12/2026`), as the API's `YYYY-MM-DD`.
fn iso_date(raw: &str) -> Option<NaiveDate> {
    let raw = raw.trim();
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(raw, "%d/%m/%Y"))
        .ok()
}

fn iso_time(raw: &str) -> Option<NaiveTime> {
    let raw = raw.trim();
    NaiveTime::parse_from_str(raw, "%H:%M")
        .or_else(|_| NaiveTime::parse_from_str(raw, "%H:%M:%S"))
        .ok()
}

/// Vietnam's wall clock (UTC+7, no daylight saving) as RFC 3339.
fn vietnam_instant(date: NaiveDate, time: NaiveTime) -> String {
    format!(
        "{}T{}+07:00",
        date.format("%Y-%m-%d"),
        time.format("%H:%M:%S")
    )
}

/// The staff part of the desk's form, in the API's terms: `received_at`
/// from the day and time of arrival, `intake` without the blanks, dates
/// as `YYYY-MM-DD` and the call time as an instant. What cannot be read
/// is passed on as typed, so the intake names the field.
fn staff_parts(body: &mut Value) -> StaffParts {
    let map = body.as_object_mut();
    let Some(map) = map else {
        return StaffParts {
            channel: None,
            received_at: None,
            intake: None,
        };
    };
    let channel = map
        .remove("channel")
        .filter(|v| v.as_str().is_some_and(|s| !s.trim().is_empty()));
    let on = map
        .remove("received_on")
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let time = map
        .remove("received_time")
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let received_at = if on.trim().is_empty() {
        None
    } else {
        Some(Value::String(match (iso_date(&on), time.trim()) {
            (Some(d), "") => vietnam_instant(d, NaiveTime::MIN),
            (Some(d), t) => match iso_time(t) {
                Some(t) => vietnam_instant(d, t),
                None => format!("{on}T{time}"),
            },
            (None, _) => on,
        }))
    };
    let intake = map.remove("intake").map(|v| {
        let mut kept = Map::new();
        if let Value::Object(fields) = v {
            for (name, value) in fields {
                let Some(text) = value.as_str().map(str::trim).filter(|t| !t.is_empty()) else {
                    continue;
                };
                let text = match name.as_str() {
                    "letter_date" | "postmark_date" | "letter_box_opened_on" => iso_date(text)
                        .map_or_else(|| text.to_string(), |d| d.format("%Y-%m-%d").to_string()),
                    "call_time" => NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M")
                        .or_else(|_| NaiveDateTime::parse_from_str(text, "%d/%m/%Y %H:%M"))
                        .map_or_else(
                            |_| text.to_string(),
                            |t| vietnam_instant(t.date(), t.time()),
                        ),
                    _ => text.to_string(),
                };
                kept.insert(name, Value::String(text));
            }
        }
        Value::Object(kept)
    });
    StaffParts {
        channel,
        received_at,
        intake,
    }
}

/// Removes a page-only field from the body and returns its text.
fn take(body: &mut Value, name: &str) -> String {
    body.as_object_mut()
        .and_then(|m| m.remove(name))
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

const CHECK_FIELDS: &str = "Chưa tiếp nhận được: vui lòng sửa các mục được nêu.";
const FILES_AGAIN: &str = "Chưa tiếp nhận được: vui lòng sửa các mục được nêu. Các tệp quét cần được chọn lại (trình duyệt không giữ tệp khi biểu mẫu được hiển thị lại).";

/// `POST /nhan-vien/tiep-nhan` (multipart with the scans, or urlencoded).
pub async fn desk_submit(
    req: HttpRequest,
    staff: StaffPage,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let result = async {
        if !same_origin_post(&req, &state.settings.server.public_base_url) {
            return Err(ApiError::forbidden());
        }
        staff.require(Permission::EnterFeedback)?;
        let (mut body, files) = read_body(&req, payload, &state.settings).await?;
        let mut values = DeskValues::from_value(&body);
        let key = take(&mut body, IDEMPOTENCY);
        let supplement_to = take(&mut body, SUPPLEMENT_TO);
        let parts = staff_parts(&mut body);
        let retry_note = if files.is_empty() { CHECK_FIELDS } else { FILES_AGAIN };
        if !supplement_to.trim().is_empty() {
            return supplement(
                &state,
                &staff,
                values,
                supplement_to.trim(),
                parts,
                &files,
                wants_html(&req),
            )
            .await;
        }
        place_commune_in_province(&mut body, &state.settings.province.code);
        let input = submission_from_value(body).map_err(|e| e.field_errors());
        let outcome = intake::receive_staff(
            &state,
            &staff.actor,
            input,
            parts,
            files,
            (!key.is_empty()).then_some(key),
            request_id(),
            Utc::now(),
        )
        .await;
        match outcome {
            // A program gets the API's answer; a person gets the form.
            Err(e) if !wants_html(&req) => Err(e.into()),
            Ok(receipt) => done_page(&state, &staff, &receipt, &values.channel, &values.email),
            Err(IntakeError::Invalid(errors)) => {
                desk_page(
                    &state,
                    &staff,
                    values,
                    PageErrors::from_fields(&errors, desk_field),
                    Some(Flash::error(retry_note)),
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await
            }
            Err(IntakeError::IdempotencyKeyReused | IntakeError::IdempotencyKeyInvalid) => {
                values.idempotency_key = uuid::Uuid::new_v4().to_string();
                desk_page(
                    &state,
                    &staff,
                    values,
                    PageErrors::default(),
                    Some(Flash::error(
                        "Biểu mẫu này đã được gửi trước đó với nội dung khác. Nếu đây là một phản ánh, kiến nghị mới, vui lòng kiểm tra rồi bấm Tiếp nhận.",
                    )),
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

/// What the caller said, recorded as a supplement to their earlier item:
/// the content as its text, how it arrived as its note.
async fn supplement(
    state: &AppState,
    staff: &StaffPage,
    values: DeskValues,
    code: &str,
    parts: StaffParts,
    files: &[crate::services::intake::IncomingAttachment],
    html: bool,
) -> Result<HttpResponse, ApiError> {
    let mut errors = Vec::new();
    if !files.is_empty() {
        errors.push(FieldError::new("attachments", "supplement_without_files"));
    }
    let text = values.content.trim().to_string();
    let mut note = format!(
        "Tiếp nhận qua bàn tiếp nhận: {}",
        parts
            .channel
            .as_ref()
            .and_then(Value::as_str)
            .and_then(crate::domain::feedback::Channel::parse)
            .map_or("kênh không rõ", |c| c.label_vi())
    );
    if let Some(Value::Object(intake)) = &parts.intake {
        if let Some(n) = intake.get("caller_number").and_then(Value::as_str) {
            note.push_str(&format!(", số gọi đến {n}"));
        }
        if let Some(n) = intake.get("note").and_then(Value::as_str) {
            note.push_str(&format!(". {n}"));
        }
    }
    let note: String = note.chars().take(2000).collect();
    let opened =
        staff_items::open(state, &staff.actor, code, Purpose::Act(Action::Supplement)).await?;
    let outcome = if errors.is_empty() {
        staff_items::act(
            state,
            &staff.actor,
            &opened,
            Action::Supplement,
            ActionBody::Form(vec![
                ("version".into(), opened.version().to_string()),
                ("text".into(), text),
                ("note".into(), note),
            ]),
            request_id(),
            Utc::now(),
        )
        .await
    } else {
        Err(StaffError::Invalid(errors))
    };
    match outcome {
        Err(e) if !html => Err(e.into()),
        Ok(()) => Ok(see_other(&format!(
            "/nhan-vien/phan-anh/{}?xong=supplement",
            opened.tracking_code()
        ))),
        Err(StaffError::Invalid(errors))
        | Err(StaffError::Workflow(crate::services::workflow::WorkflowError::Invalid(errors))) => {
            desk_page(
                state,
                staff,
                values,
                PageErrors::from_fields(&errors, desk_field),
                Some(Flash::error(format!(
                    "Chưa ghi được thành thông tin bổ sung cho {code}: vui lòng sửa các mục được nêu."
                ))),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(StaffError::Workflow(
            crate::services::workflow::WorkflowError::InvalidTransition { .. }
            | crate::services::workflow::WorkflowError::VersionConflict { .. },
        )) => {
            desk_page(
                state,
                staff,
                values,
                PageErrors::default(),
                Some(Flash::error(format!(
                    "Phản ánh {code} không còn nhận thông tin bổ sung ở trạng thái hiện tại; hãy tiếp nhận thành phản ánh mới."
                ))),
                StatusCode::CONFLICT,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

fn done_page(
    state: &AppState,
    staff: &StaffPage,
    receipt: &intake::Receipt,
    channel: &str,
    email: &str,
) -> Result<HttpResponse, ApiError> {
    let s = |k: &str| {
        receipt
            .body
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let page = DonePage {
        nav: Nav::of(state, &staff.actor, "tiep-nhan"),
        tracking_code: receipt.tracking_code.clone(),
        code_view: super::html::CodeView::tracking(&receipt.tracking_code),
        token_view: super::html::CodeView::token(&s("lookup_token")),
        email: email.trim().to_string(),
        lookup_token: s("lookup_token"),
        received_at: chrono::DateTime::parse_from_rfc3339(&s("received_at"))
            .map(|d| VnTime(d.with_timezone(&Utc)).datetime_vi())
            .unwrap_or_default(),
        channel: crate::domain::feedback::Channel::parse(channel)
            .map_or("", |c| c.label_vi())
            .to_string(),
        files: receipt
            .body
            .get("attachments")
            .and_then(Value::as_array)
            .map(|files| {
                files
                    .iter()
                    .filter_map(|f| f.get("file_name").and_then(Value::as_str))
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
        replayed: receipt.replayed,
    };
    console_page(StatusCode::CREATED, &page)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_day_and_time_of_arrival_become_one_instant_in_vietnam_time() {
        let mut body =
            json!({"channel": "hotline", "received_on": "03/12/2026", "received_time": "09:05"});
        let parts = staff_parts(&mut body);
        assert_eq!(parts.received_at, Some(json!("2026-12-03T09:05:00+07:00")));
        let mut body = json!({"received_on": "2026-12-03", "received_time": ""});
        assert_eq!(
            staff_parts(&mut body).received_at,
            Some(json!("2026-12-03T00:00:00+07:00"))
        );
    }

    #[test]
    fn blanks_are_dropped_and_unreadable_values_passed_on_as_typed() {
        let mut body = json!({
            "received_on": "hôm qua",
            "intake": {"caller_number": " ", "letter_date": "01/12/2026", "call_time": "2026-12-03T08:30", "postmark_date": "mai"}
        });
        let parts = staff_parts(&mut body);
        // The intake reports `date_invalid` for what it cannot read.
        assert_eq!(parts.received_at, Some(json!("hôm qua")));
        assert_eq!(
            parts.intake,
            Some(
                json!({"letter_date": "2026-12-01", "call_time": "2026-12-03T08:30:00+07:00", "postmark_date": "mai"})
            )
        );
        assert_eq!(staff_parts(&mut json!({})).channel, None);
    }
}
