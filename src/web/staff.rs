//! Staff work on items: keying in calls and letters (and, as issue #4
//! goes on, the queue and the item page).

use actix_web::http::header::{CacheControl, CacheDirective};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use super::AppState;
use super::auth::{Caller, Staff};
use super::intake_body::{read_body, submission_from_value};
use super::problem::{ApiError, REQUEST_ID};
use crate::domain::feedback::{Channel, FeedbackKind, FeedbackState};
use crate::domain::ids::{AgencyId, FieldId};
use crate::domain::staff::{ApiScope, Involvement, ItemScope, Permission};
use crate::domain::staff_intake::parse_staff_intake;
use crate::domain::text::fold_for_search;
use crate::domain::time::{to_vietnam_rfc3339, vietnam_instant};
use crate::domain::workflow::Action;
use crate::services::intake::{self, StaffEntry, Submission};
use crate::services::workflow::{ActionBody, Workflow};
use crate::store::coordination::active_agencies;
use crate::store::directory_cache::DirectorySnapshot;
use crate::store::queue::{QueueCursor, QueueFilter, QueueRow, QueueScope};

/// `POST /api/v1/staff/feedback`: the public submission's fields plus
/// `channel`, `received_at` and `intake`.
pub async fn create_staff_feedback(
    staff: Staff,
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let operator = staff.require(Permission::EnterFeedback)?.clone();
    let (body, attachments) = read_body(&req, payload, &state.settings).await?;
    let Value::Object(mut fields) = body else {
        return Err(ApiError::malformed(
            "Nội dung gửi lên phải là một đối tượng JSON.",
        ));
    };
    let channel = fields.remove("channel");
    let received_at = fields.remove("received_at");
    let details = fields.remove("intake");
    let now = Utc::now();
    let staff_part = parse_staff_intake(channel, received_at, details, now);
    // Both halves are checked before answering, so staff see every
    // problem at once.
    let input = submission_from_value(Value::Object(fields));
    let (input, entry) = match (input, staff_part) {
        (Ok(input), Ok(entry)) => (input, entry),
        (Err(e), Ok(_)) => return Err(e),
        (Ok(input), Err(mut errors)) => {
            if let Err(more) = input.normalized().parse(&state.settings.intake_rules()) {
                errors.extend(more);
            }
            return Err(ApiError::submission_invalid(errors));
        }
        (Err(e), Err(mut errors)) => {
            errors.extend(e.field_errors());
            return Err(ApiError::submission_invalid(errors));
        }
    };
    let submission = Submission {
        input,
        attachments,
        channel: entry.channel,
        idempotency_key: req
            .headers()
            .get("idempotency-key")
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()),
        request_id: REQUEST_ID.try_with(Clone::clone).ok(),
        staff_entry: Some(StaffEntry {
            received_at: entry.received_at,
            operator,
            intake_details: entry.details,
        }),
        via_integration: None,
    };
    let receipt = intake::receive(
        &state.store,
        &state.settings,
        &state.deadlines,
        submission,
        now,
    )
    .await?;
    let mut response = HttpResponse::Created();
    if receipt.replayed {
        response.insert_header(("idempotent-replayed", "true"));
    }
    Ok(response
        .insert_header(CacheControl(vec![CacheDirective::NoStore]))
        .json(receipt.body))
}

#[derive(Debug, serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct QueueQuery {
    state: Option<String>,
    channel: Option<String>,
    kind: Option<String>,
    field_code: Option<String>,
    agency_code: Option<String>,
    overdue: Option<String>,
    due_before: Option<String>,
    received_from: Option<String>,
    received_to: Option<String>,
    q: Option<String>,
    cursor: Option<String>,
    limit: Option<String>,
}

fn scope(actor: &crate::domain::staff::Actor) -> Result<QueueScope, ApiError> {
    match actor.item_scope() {
        ItemScope::Province => Ok(QueueScope::Province),
        ItemScope::OwnAgency(agency) => Ok(QueueScope::HandledBy(agency.as_uuid())),
        ItemScope::Nothing => Err(ApiError::forbidden()),
    }
}

fn bad(detail: &'static str) -> ApiError {
    ApiError::malformed(detail)
}

/// Start of a Vietnamese calendar day.
fn day_start(raw: &str, what: &'static str) -> Result<DateTime<Utc>, ApiError> {
    use chrono::Datelike;
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .ok()
        .filter(|d| (1900..=2199).contains(&d.year()))
        .map(|d| vietnam_instant(d, NaiveTime::MIN))
        .ok_or_else(|| bad(what))
}

fn encode_cursor(row: &QueueRow) -> String {
    let due = row
        .due_at
        .map_or_else(|| "n".to_string(), |t| t.timestamp_micros().to_string());
    format!("{due}.{}", row.id.simple())
}

fn decode_cursor(raw: &str) -> Option<QueueCursor> {
    let (due, id) = raw.split_once('.')?;
    let id = Uuid::try_parse(id).ok()?;
    let due_at = if due == "n" {
        None
    } else {
        Some(DateTime::from_timestamp_micros(due.parse().ok()?)?)
    };
    Some(QueueCursor { due_at, id })
}

fn parse_filter(
    q: QueueQuery,
    directory: &DirectorySnapshot,
) -> Result<(QueueFilter, Option<QueueCursor>, u64), ApiError> {
    let mut f = QueueFilter::default();
    if let Some(states) = q.state.as_deref().filter(|s| !s.is_empty()) {
        for s in states.split(',') {
            let state = FeedbackState::parse(s.trim())
                .ok_or_else(|| bad("Tham số state không hợp lệ (ví dụ: received,classified)."))?;
            f.states.push(state.as_str().to_string());
        }
    }
    if let Some(c) = q.channel.as_deref() {
        f.channel = Some(
            Channel::parse(c)
                .ok_or_else(|| bad("Tham số channel không hợp lệ."))?
                .as_str()
                .to_string(),
        );
    }
    if let Some(k) = q.kind.as_deref() {
        f.kind = Some(
            FeedbackKind::parse(k)
                .ok_or_else(|| bad("Tham số kind chỉ nhận phan_anh hoặc kien_nghi."))?
                .as_str()
                .to_string(),
        );
    }
    if let Some(code) = q.field_code.as_deref() {
        f.field_id = Some(directory.fields.get(code).map(|id| id.as_uuid()));
    }
    if let Some(code) = q.agency_code.as_deref() {
        f.agency_id = Some(directory.agencies.get(code).map(|id| id.as_uuid()));
    }
    f.overdue = match q.overdue.as_deref() {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(_) => return Err(bad("Tham số overdue chỉ nhận true hoặc false.")),
    };
    if let Some(raw) = q.due_before.as_deref() {
        f.due_before = Some(match DateTime::parse_from_rfc3339(raw) {
            Ok(t) => t.with_timezone(&Utc),
            // A date: due before the end of that day.
            Err(_) => {
                day_start(
                    raw,
                    "Tham số due_before phải là ngày YYYY-MM-DD hoặc thời điểm RFC 3339.",
                )? + chrono::Duration::days(1)
            }
        });
    }
    if let Some(raw) = q.received_from.as_deref() {
        f.received_from = Some(day_start(
            raw,
            "Tham số received_from phải là ngày YYYY-MM-DD.",
        )?);
    }
    if let Some(raw) = q.received_to.as_deref() {
        f.received_before = Some(
            day_start(raw, "Tham số received_to phải là ngày YYYY-MM-DD.")?
                + chrono::Duration::days(1),
        );
    }
    if let Some(text) = q.q.as_deref() {
        if text.chars().count() > 200 {
            return Err(bad("Từ khoá tìm kiếm dài tối đa 200 ký tự."));
        }
        // Folded like the stored text: đường = duong = ĐƯỜNG, NFC or NFD.
        f.words = fold_for_search(text)
            .split_whitespace()
            .take(10)
            .map(str::to_string)
            .collect();
        // Folding keeps letters and digits only; a word with `%` or `_`
        // (a rate, a file name) is also looked for as typed, so those
        // characters mean themselves instead of matching anything.
        f.literals = crate::domain::text::clean_line(text)
            .split_whitespace()
            .filter(|w| w.contains(['%', '_']))
            .take(10)
            .map(str::to_string)
            .collect();
    }
    let cursor = match q.cursor.as_deref() {
        None => None,
        Some(raw) => Some(decode_cursor(raw).ok_or_else(|| bad("Tham số cursor không hợp lệ."))?),
    };
    let limit = match q.limit.as_deref() {
        None => 50,
        Some(raw) => raw
            .parse::<u64>()
            .ok()
            .filter(|n| (1..=100).contains(n))
            .ok_or_else(|| bad("Tham số limit phải từ 1 đến 100."))?,
    };
    Ok((f, cursor, limit))
}

/// `GET /api/v1/staff/feedback`: the queue, sorted by due date.
pub async fn list_queue(
    staff: Staff,
    query: web::Query<QueueQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let actor = staff.require(Permission::ViewItems)?;
    let scope = scope(actor)?;
    let directory = state.store.directory_snapshot().await?;
    let (filter, cursor, limit) = parse_filter(query.into_inner(), &directory)?;
    let now = Utc::now();
    let (rows, more) = state
        .store
        .queue_page(&filter, scope, cursor, limit, now)
        .await?;
    let next_cursor = if more {
        rows.last().map(encode_cursor)
    } else {
        None
    };
    let items: Vec<Value> = rows
        .iter()
        .map(|r| {
            let holder = AgencyId::from_uuid(r.handling_agency_id.unwrap_or(r.receiving_agency_id));
            let (code, name) = directory.agency_names.get(&holder).cloned().unwrap_or_default();
            serde_json::json!({
                "tracking_code": r.tracking_code,
                "title": r.title,
                "kind": r.kind,
                "channel": r.channel,
                "state": r.state,
                "handling_agency": {"code": code, "name": name},
                "field_code": r.field_id.and_then(|f| directory.field_codes.get(&FieldId::from_uuid(f)).cloned()),
                "received_at": to_vietnam_rfc3339(r.received_at),
                "due_at": r.due_at.map(to_vietnam_rfc3339),
                "overdue": r.due_at.is_some_and(|d| d < now),
                "language_flagged": r.language_flagged,
            })
        })
        .collect();
    Ok(HttpResponse::Ok()
        .insert_header(CacheControl(vec![
            CacheDirective::NoStore,
            CacheDirective::Private,
        ]))
        .json(serde_json::json!({"items": items, "next_cursor": next_cursor})))
}

/// `GET /api/v1/staff/feedback/summary`: counts for a dashboard.
pub async fn queue_summary(
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    // Staff see their scope; a reporting tool's key (read_statistics)
    // sees the province's counts, which carry no personal data.
    let scope = match &caller {
        Caller::Staff(staff) => scope(staff.require(Permission::ViewItems)?)?,
        Caller::Integration(client) if client.may(ApiScope::ReadStatistics) => QueueScope::Province,
        Caller::Integration(_) => return Err(ApiError::forbidden()),
    };
    let rows = state.store.queue_summary(scope, Utc::now()).await?;
    let total: i64 = rows.iter().map(|r| r.1).sum();
    let overdue: i64 = rows.iter().map(|r| r.2).sum();
    let by_state: Vec<Value> = rows
        .iter()
        .map(|(s, n, o)| serde_json::json!({"state": s, "count": n, "overdue": o}))
        .collect();
    Ok(HttpResponse::Ok()
        .insert_header(CacheControl(vec![
            CacheDirective::NoStore,
            CacheDirective::Private,
        ]))
        .json(serde_json::json!({"total": total, "overdue": overdue, "by_state": by_state})))
}

/// An item the caller may see, and how the caller's agency stands to it.
pub(super) struct Visible {
    pub(super) row: crate::store::feedback::FeedbackRow,
    pub(super) involvement: Involvement,
}

/// The item behind `code` if the caller may see it; otherwise the same
/// 404 as an unknown code (no enumeration across agencies).
pub(super) async fn visible_item(
    state: &AppState,
    actor: &crate::domain::staff::Actor,
    code: &str,
) -> Result<Visible, ApiError> {
    let code: crate::domain::tracking::TrackingCode =
        code.parse().map_err(|_| ApiError::not_found())?;
    let row = state
        .store
        .find_feedback_by_code(&code)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let handling = row.item.handling_agency_id.map(AgencyId::from_uuid);
    // Only an agency that neither holds the item nor sees the province
    // needs to know whether it coordinates.
    let coordinating = if matches!(actor.item_scope(), ItemScope::OwnAgency(own) if handling != Some(own))
    {
        active_agencies(
            &state
                .store
                .coordinations_for(crate::domain::ids::FeedbackId::from_uuid(row.item.id))
                .await?,
        )
    } else {
        Vec::new()
    };
    match actor.involvement(handling, &coordinating) {
        Some(involvement) => Ok(Visible { row, involvement }),
        None => Err(ApiError::not_found()),
    }
}

fn note_json(note: &crate::store::staff::NoteRow, author: &str) -> Value {
    serde_json::json!({
        "id": note.id,
        "author": author,
        "body": note.body,
        "created_at": to_vietnam_rfc3339(note.created_at),
    })
}

/// `GET /api/v1/staff/feedback/{tracking_code}`: everything staff need.
pub async fn get_item(
    staff: Staff,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let actor = staff.require(Permission::ViewItems)?;
    let Visible { row, involvement } = visible_item(&state, actor, &path.into_inner()).await?;
    let body = item_json(&state, &row, involvement, actor.agency).await?;
    Ok(HttpResponse::Ok()
        .insert_header(CacheControl(vec![
            CacheDirective::NoStore,
            CacheDirective::Private,
        ]))
        .json(body))
}

/// The staff view of an item (the item page and every action's answer).
async fn item_json(
    state: &AppState,
    row: &crate::store::feedback::FeedbackRow,
    involvement: Involvement,
    viewer_agency: AgencyId,
) -> Result<Value, ApiError> {
    let directory = state.store.directory_snapshot().await?;
    let item = &row.item;
    let id = crate::domain::ids::FeedbackId::from_uuid(item.id);
    let now = Utc::now();
    let agency = |id: Option<Uuid>| {
        id.and_then(|id| directory.agency_names.get(&AgencyId::from_uuid(id)))
            .map(|(code, name)| serde_json::json!({"code": code, "name": name}))
    };
    let history = state.store.audit_events_for(id).await?;
    let notes = state.store.notes_for(id).await?;
    let mut staff_ids: Vec<Uuid> = notes.iter().map(|n| n.staff_id).collect();
    staff_ids.extend(item.entered_by_staff_id);
    let names = state.store.staff_usernames(&staff_ids).await?;
    let name_of = |id: Uuid| {
        names
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, n)| n.clone())
            .unwrap_or_default()
    };
    let mut deadlines = state.deadlines.explain(&state.store, id, now).await?;
    let coordination = state.store.coordinations_for(id).await?;
    let due_of = |deadline: Option<Uuid>| {
        deadline
            .and_then(|d| deadlines.iter().find(|x| x.id == d))
            .and_then(|x| x.due_at.clone())
    };
    let coordination_json: Vec<Value> = coordination
        .iter()
        // A coordinating agency sees its own request only.
        .filter(|c| {
            involvement != Involvement::Coordinating
                || AgencyId::from_uuid(c.agency_id) == viewer_agency
        })
        .map(|c| {
            serde_json::json!({
                "agency": agency(Some(c.agency_id)),
                "state": c.state,
                "request_note": c.request_note,
                "requested_by": c.requested_by,
                "requested_at": to_vietnam_rfc3339(c.requested_at),
                "due_at": due_of(c.deadline_id),
                "contribution": c.contribution,
                "contributed_by": c.contributed_by,
                "contributed_at": c.contributed_at.map(to_vietnam_rfc3339),
            })
        })
        .collect();
    if involvement == Involvement::Coordinating {
        deadlines.retain(|d| d.agency_id == Some(viewer_agency.as_uuid()));
    }
    let mut body = serde_json::json!({
        "tracking_code": item.tracking_code,
        "kind": item.kind,
        "title": item.title,
        "content": item.content,
        "content_category": item.content_category,
        "field_code": item.field_id.and_then(|f| directory.field_codes.get(&FieldId::from_uuid(f)).cloned()),
        "agency_code": agency(item.agency_hint_id).map(|a| a["code"].clone()),
        "submitter": {
            "type": item.submitter_type,
            "full_name": item.submitter_name,
            "organization_name": item.organization_name,
            "address": {
                "detail": item.address_detail,
                "province_code": item.address_province_code,
                "commune_code": item.address_commune_code,
            },
            "phone": item.phone,
            "email": item.email,
        },
        "consent_to_publish": item.consent_to_publish,
        "channel": item.channel,
        "state": item.state,
        "language_flagged": item.language_flagged,
        "receiving_agency": agency(Some(item.receiving_agency_id)),
        "handling_agency": agency(item.handling_agency_id),
        "received_at": to_vietnam_rfc3339(item.received_at),
        "registered_at": to_vietnam_rfc3339(item.created_at),
        "due_at": item.due_at.map(to_vietnam_rfc3339),
        "overdue": item.due_at.is_some_and(|d| d < now),
        "entered_by": item.entered_by_staff_id.map(name_of),
        "intake": item.intake_details,
        "deadlines": deadlines,
        "attachments": row.attachments.iter().map(|a| serde_json::json!({
            "id": a.id,
            "file_name": a.file_name,
            "kind": a.file_kind,
            "media_type": a.media_type,
            "size_bytes": a.size_bytes,
            "source": a.source,
            "download_url": format!("/api/v1/staff/feedback/{}/attachments/{}", item.tracking_code, a.id),
        })).collect::<Vec<_>>(),
        "history": history.iter().map(|e| serde_json::json!({
            "action": e.action,
            "actor_kind": e.actor_kind,
            "actor": e.actor_id,
            "from_state": e.from_state,
            "to_state": e.to_state,
            "reason": e.reason,
            "details": e.details,
            "occurred_at": to_vietnam_rfc3339(e.occurred_at),
        })).collect::<Vec<_>>(),
        "notes": notes.iter().map(|n| note_json(n, &name_of(n.staff_id))).collect::<Vec<_>>(),
        "messages": [],
        "version": item.version,
        "procedure_text": item.procedure_text,
        "procedure_code": item.procedure_code,
        "rejection": item.rejection_code.as_ref().map(|code| {
            let label = state.rejection_reasons.get(code).map(|r| r.label.clone());
            serde_json::json!({"code": code, "label": label, "note": item.rejection_note})
        }),
        "answer_draft": item.answer_draft,
        "answer_signed_off": item.answer_signed_off_by.is_some(),
        "answer": item.answer,
        "answered_at": item.answered_at.map(to_vietnam_rfc3339),
        "question_redacted": item.question_redacted,
        "title_redacted": item.title_redacted,
        "answer_redacted": item.answer_redacted,
        "public": item.public_search_text.is_some(),
        "published_at": item.published_at.map(to_vietnam_rfc3339),
        "withheld_reason": item.withheld_reason,
        "bounce_count": item.bounce_count,
        "needs_attention": item.needs_attention,
    });
    let supplements: Vec<Value> = state
        .store
        .supplements_for(id)
        .await?
        .iter()
        .map(
            |x| serde_json::json!({"text": x.text, "created_at": to_vietnam_rfc3339(x.created_at)}),
        )
        .collect();
    body["supplements"] = Value::Array(supplements);
    body["rating"] = item.rating_score.map_or(Value::Null, |score| {
        serde_json::json!({
            "score": score,
            "comment": item.rating_comment,
            "rated_at": item.rated_at.map(to_vietnam_rfc3339),
        })
    });
    // A notice to this address is not sent while it is failing: staff see
    // why, and may clear it.
    let block = chrono::Duration::days(i64::from(state.settings.mail.bounce_block_days));
    body["mail_failure"] = match item.email.as_deref() {
        Some(email) => state
            .store
            .address_failure(email, block, now)
            .await?
            .map_or(Value::Null, |f| {
                serde_json::json!({
                    "failed_at": to_vietnam_rfc3339(f.failed_at),
                    "blocked_until": to_vietnam_rfc3339(f.blocked_until),
                    "detail": f.detail,
                })
            }),
        None => Value::Null,
    };
    body["coordination"] = Value::Array(coordination_json);
    body["involvement"] = Value::from(match involvement {
        Involvement::Handling => "handling",
        Involvement::Coordinating => "coordinating",
        Involvement::Overseeing => "overseeing",
    });
    if involvement == Involvement::Coordinating {
        // Least privilege: the question and its evidence, not who sent it
        // nor the lead agency's working file.
        body["submitter"] = serde_json::json!({"type": item.submitter_type, "withheld": true});
        body["intake"] = Value::Null;
        body["entered_by"] = Value::Null;
        body["history"] = Value::Array(Vec::new());
        body["notes"] = Value::Array(Vec::new());
        body["supplements"] = Value::Array(Vec::new());
        body["rating"] = Value::Null;
        body["answer_draft"] = Value::Null;
        body["rejection"] = Value::Null;
        body["mail_failure"] = Value::Null;
    }
    Ok(body)
}

/// `DELETE /api/v1/staff/feedback/{tracking_code}/mail-failure`: the
/// submitter's address works again (they said so, the mailbox was
/// fixed): notices to it resume, and those of this item that were not
/// sent because of it are queued again. Answers the updated item.
pub async fn clear_mail_failure(
    staff: Staff,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let actor = staff.require(Permission::ClearMailFailure)?;
    let Visible { row, involvement } = visible_item(&state, actor, &path.into_inner()).await?;
    // A coordinating agency does not see the address at all.
    if involvement == Involvement::Coordinating {
        return Err(ApiError::forbidden());
    }
    let Some(email) = row.item.email.as_deref() else {
        return Err(ApiError::not_found());
    };
    let audit = crate::store::feedback::AuditEntry {
        actor_kind: "staff".into(),
        actor_id: Some(actor.username.clone()),
        action: "feedback.mail_failure_cleared".into(),
        from_state: Some(row.item.state.clone()),
        to_state: Some(row.item.state.clone()),
        reason: None,
        details: serde_json::json!({}),
        request_id: REQUEST_ID.try_with(Clone::clone).ok(),
    };
    if !state
        .store
        .clear_address_failure(email, row.item.id, &audit, Utc::now())
        .await?
    {
        return Err(ApiError::not_found());
    }
    let body = item_json(&state, &row, involvement, actor.agency).await?;
    Ok(HttpResponse::Ok()
        .insert_header(CacheControl(vec![
            CacheDirective::NoStore,
            CacheDirective::Private,
        ]))
        .json(body))
}

/// `POST /api/v1/staff/feedback/{tracking_code}/{action}`: one workflow
/// action; answers the updated item.
async fn act(
    action: Action,
    staff: Staff,
    path: web::Path<String>,
    body: web::Json<ActionBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let actor = staff.require(Permission::ViewItems)?;
    // A role that never takes this action is refused before the item is
    // looked at (no hint whether it exists).
    if !crate::domain::workflow::role_may_ever(action, actor.role) {
        return Err(ApiError::forbidden());
    }
    let Visible { row, involvement } = visible_item(&state, actor, &path.into_inner()).await?;
    let now = Utc::now();
    let workflow = Workflow {
        store: &state.store,
        settings: &state.settings,
        deadlines: &state.deadlines,
        reasons: &state.rejection_reasons,
    };
    workflow
        .take(
            actor,
            &row,
            action,
            &body.into_inner(),
            REQUEST_ID.try_with(Clone::clone).ok(),
            now,
        )
        .await?;
    let code = row
        .item
        .tracking_code
        .parse()
        .map_err(|_| ApiError::not_found())?;
    let updated = state
        .store
        .find_feedback_by_code(&code)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let body = item_json(&state, &updated, involvement, actor.agency).await?;
    Ok(HttpResponse::Ok()
        .insert_header(CacheControl(vec![
            CacheDirective::NoStore,
            CacheDirective::Private,
        ]))
        .json(body))
}

macro_rules! action_handlers {
    ($($name:ident => $action:expr),+ $(,)?) => {
        /// One handler per workflow action (the route names the action).
        pub mod actions {
            use super::*;
            $(
                pub async fn $name(
                    staff: Staff,
                    path: web::Path<String>,
                    body: web::Json<ActionBody>,
                    state: web::Data<AppState>,
                ) -> Result<HttpResponse, ApiError> {
                    act($action, staff, path, body, state).await
                }
            )+
        }
    };
}

action_handlers! {
    classify => Action::Classify,
    request_info => Action::RequestInfo,
    reject => Action::Reject,
    forward => Action::Forward,
    accept => Action::Accept,
    return_item => Action::Return,
    answer => Action::Answer,
    sign_off => Action::SignOff,
    approve => Action::Approve,
    send_back => Action::SendBack,
    publish => Action::Publish,
    withhold => Action::Withhold,
    unpublish => Action::Unpublish,
    close => Action::Close,
    merge => Action::Merge,
    supplement => Action::Supplement,
    request_coordination => Action::RequestCoordination,
    withdraw_coordination => Action::WithdrawCoordination,
    contribute => Action::Contribute,
    recall => Action::Recall,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoteBody {
    body: String,
}

/// `POST /api/v1/staff/feedback/{tracking_code}/notes`
pub async fn add_note(
    staff: Staff,
    path: web::Path<String>,
    body: web::Json<NoteBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let actor = staff.require(Permission::AddNote)?;
    let Visible { row, involvement } = visible_item(&state, actor, &path.into_inner()).await?;
    // Notes are the holding agency's and the province's working file; a
    // coordinating agency answers through its contribution.
    if involvement == Involvement::Coordinating {
        return Err(ApiError::forbidden());
    }
    let text = crate::domain::text::clean_multiline(&body.into_inner().body);
    if text.is_empty() || text.chars().count() > 5000 {
        return Err(ApiError::validation(vec![
            crate::domain::feedback::FieldError::new(
                "body",
                if text.is_empty() {
                    "required"
                } else {
                    "too_long"
                },
            ),
        ]));
    }
    let note = state
        .store
        .insert_note(
            crate::domain::ids::FeedbackId::from_uuid(row.item.id),
            actor,
            &text,
            REQUEST_ID.try_with(Clone::clone).ok(),
            Utc::now(),
        )
        .await?;
    Ok(HttpResponse::Created().json(note_json(&note, &actor.username)))
}

/// `GET /api/v1/staff/feedback/{tracking_code}/attachments/{attachment_id}`:
/// the file, always as a download with the type decided from its content.
pub async fn download_attachment(
    staff: Staff,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let actor = staff.require(Permission::ViewItems)?;
    let (code, attachment) = path.into_inner();
    let Visible { row, .. } = visible_item(&state, actor, &code).await?;
    let attachment_id = Uuid::try_parse(&attachment).map_err(|_| ApiError::not_found())?;
    let meta = row
        .attachments
        .iter()
        .find(|a| a.id == attachment_id)
        .ok_or_else(ApiError::not_found)?;
    let content = state
        .store
        .attachment_content(&meta.sha256)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(file_download(meta, content))
}

/// A stored file, always as a download with the type decided from its
/// content when it was received.
pub(super) fn file_download(
    meta: &crate::store::feedback::AttachmentRow,
    content: Vec<u8>,
) -> HttpResponse {
    let disposition = actix_web::http::header::ContentDisposition {
        disposition: actix_web::http::header::DispositionType::Attachment,
        parameters: vec![actix_web::http::header::DispositionParam::FilenameExt(
            actix_web::http::header::ExtendedValue {
                charset: actix_web::http::header::Charset::Ext("UTF-8".into()),
                language_tag: None,
                // Files stored before names were made to agree with
                // their type get the right extension here.
                value: crate::domain::attachment::AttachmentKind::parse(&meta.file_kind)
                    .map_or_else(
                        || meta.file_name.clone(),
                        |kind| crate::domain::attachment::with_extension_of(&meta.file_name, kind),
                    )
                    .into_bytes(),
            },
        )],
    };
    HttpResponse::Ok()
        .insert_header(disposition)
        .insert_header(CacheControl(vec![
            CacheDirective::NoStore,
            CacheDirective::Private,
        ]))
        .insert_header(("x-content-type-options", "nosniff"))
        .content_type(meta.media_type.clone())
        .body(content)
}

/// The item's version from `If-Match: "7"` (or `W/"7"`).
fn if_match_version(req: &HttpRequest) -> Option<i32> {
    let raw = req.headers().get("if-match")?.to_str().ok()?.trim();
    raw.trim_start_matches("W/").trim_matches('"').parse().ok()
}

/// The updated item, after an answer file was added or removed.
async fn answer_files_changed(
    state: &AppState,
    actor: &crate::domain::staff::Actor,
    row: &crate::store::feedback::FeedbackRow,
    involvement: Involvement,
    change: crate::services::workflow::AnswerFiles,
    version: Option<i32>,
) -> Result<HttpResponse, ApiError> {
    let workflow = Workflow {
        store: &state.store,
        settings: &state.settings,
        deadlines: &state.deadlines,
        reasons: &state.rejection_reasons,
    };
    workflow
        .edit_answer_files(
            actor,
            row,
            version,
            change,
            REQUEST_ID.try_with(Clone::clone).ok(),
            Utc::now(),
        )
        .await?;
    let id = crate::domain::ids::FeedbackId::from_uuid(row.item.id);
    let updated = state
        .store
        .find_feedback_by_id(id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let body = item_json(state, &updated, involvement, actor.agency).await?;
    Ok(HttpResponse::Ok()
        .insert_header(CacheControl(vec![
            CacheDirective::NoStore,
            CacheDirective::Private,
        ]))
        .insert_header(("etag", format!("\"{}\"", updated.item.version)))
        .json(body))
}

/// `POST /api/v1/staff/feedback/{tracking_code}/answer/attachments`:
/// multipart with the item's `version` and files under `attachments`.
pub async fn add_answer_files(
    staff: Staff,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let actor = staff.require(Permission::ViewItems)?;
    if !crate::domain::workflow::role_may_ever(Action::Answer, actor.role) {
        return Err(ApiError::forbidden());
    }
    let Visible { row, involvement } = visible_item(&state, actor, &path.into_inner()).await?;
    let (fields, files) = read_body(&req, payload, &state.settings).await?;
    let Value::Object(mut fields) = fields else {
        return Err(ApiError::malformed(
            "Nội dung gửi lên phải là một biểu mẫu.",
        ));
    };
    // Forms send text: "7" and 7 are the same version.
    let version = match fields.remove("version") {
        Some(Value::Number(n)) => n.as_i64().and_then(|v| i32::try_from(v).ok()),
        Some(Value::String(v)) => v.trim().parse().ok(),
        _ => None,
    }
    .or_else(|| if_match_version(&req));
    if let Some(unknown) = fields.keys().next() {
        return Err(ApiError::validation(vec![
            crate::domain::feedback::FieldError::new(unknown.clone(), "unknown_field"),
        ]));
    }
    answer_files_changed(
        &state,
        actor,
        &row,
        involvement,
        crate::services::workflow::AnswerFiles::Add(files),
        version,
    )
    .await
}

/// `DELETE /api/v1/staff/feedback/{tracking_code}/answer/attachments/{attachment_id}`
/// with `If-Match: "<version>"`.
pub async fn remove_answer_file(
    staff: Staff,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let actor = staff.require(Permission::ViewItems)?;
    if !crate::domain::workflow::role_may_ever(Action::Answer, actor.role) {
        return Err(ApiError::forbidden());
    }
    let (code, file) = path.into_inner();
    let Visible { row, involvement } = visible_item(&state, actor, &code).await?;
    let file = Uuid::try_parse(&file).map_err(|_| ApiError::not_found())?;
    answer_files_changed(
        &state,
        actor,
        &row,
        involvement,
        crate::services::workflow::AnswerFiles::Remove(file),
        if_match_version(&req),
    )
    .await
}

/// `GET /api/v1/staff/feedback/{tracking_code}/redaction-suggestion`: the
/// question with personal data replaced, and the spans found, for the
/// control office to confirm or edit before publishing.
pub async fn redaction_suggestion(
    staff: Staff,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let actor = staff.require(Permission::ViewItems)?;
    if !crate::domain::workflow::role_may_ever(Action::Publish, actor.role) {
        return Err(ApiError::forbidden());
    }
    let Visible { row, .. } = visible_item(&state, actor, &path.into_inner()).await?;
    let s = crate::services::publication::suggest(&row.item);
    Ok(HttpResponse::Ok()
        .insert_header(CacheControl(vec![
            CacheDirective::NoStore,
            CacheDirective::Private,
        ]))
        .json(serde_json::json!({
            "question_redacted": s.question.redacted,
            "spans": s.question.spans,
            "title_redacted": s.title.redacted,
            "title_spans": s.title.spans,
            "answer_redacted": s.answer.as_ref().map(|a| &a.redacted),
            "answer_spans": s.answer.as_ref().map(|a| &a.spans),
        })))
}

/// `GET /api/v1/staff/feedback/{tracking_code}/routing-suggestion`: the
/// agencies that could act on the item, best first, each with its
/// reasons, for the control office to accept or override.
pub async fn routing_suggestion(
    staff: Staff,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    use crate::domain::routing::{Candidate, ItemFacts, suggest};
    let actor = staff.require(Permission::ViewItems)?;
    if !crate::domain::workflow::role_may_ever(Action::Forward, actor.role) {
        return Err(ApiError::forbidden());
    }
    let Visible { row, .. } = visible_item(&state, actor, &path.into_inner()).await?;
    let item = &row.item;
    let directory = state.store.directory_snapshot().await?;
    let today = crate::domain::time::vietnam_date(Utc::now());
    let agencies = state
        .store
        .list_agencies(&crate::domain::directory::AgencyFilter::default(), today)
        .await?;
    let fields = state.store.list_fields().await?;
    let field_code = item
        .field_id
        .and_then(|f| directory.field_codes.get(&FieldId::from_uuid(f)).cloned());
    let field_name = field_code
        .as_ref()
        .and_then(|c| fields.iter().find(|f| &f.code == c))
        .map(|f| f.name.clone());
    let hint = item
        .agency_hint_id
        .and_then(|a| directory.agency_names.get(&AgencyId::from_uuid(a)))
        .map(|(code, _)| code.clone());
    let receiving = directory
        .agency_names
        .get(&AgencyId::from_uuid(item.receiving_agency_id))
        .map(|(code, _)| code.clone())
        .unwrap_or_default();
    let candidates: Vec<Candidate<'_>> = agencies
        .iter()
        .map(|a| Candidate {
            code: &a.code,
            name: &a.name,
            kind: &a.kind,
            province_code: a.province_code.as_deref(),
            commune_code: a.commune_code.as_deref(),
            field_codes: &a.field_codes,
        })
        .collect();
    let facts = ItemFacts {
        field_code: field_code.as_deref(),
        field_name: field_name.as_deref(),
        commune_code: item.address_commune_code.as_deref(),
        agency_hint: hint.as_deref(),
        folded_text: &item.search_text,
    };
    let suggestions = suggest(
        &facts,
        &candidates,
        &state.routing_rules,
        &state.settings.province.code,
        &receiving,
    );
    Ok(HttpResponse::Ok()
        .insert_header(CacheControl(vec![
            CacheDirective::NoStore,
            CacheDirective::Private,
        ]))
        .json(serde_json::json!({"suggestions": suggestions})))
}

/// `GET /api/v1/staff/feedback/{tracking_code}/duplicate-suggestions`:
/// recent items that may be the same matter, with a score and reasons.
pub async fn duplicate_suggestions(
    staff: Staff,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    use crate::domain::duplicates::{Fingerprint, compare};
    let actor = staff.require(Permission::ViewItems)?;
    if !crate::domain::workflow::role_may_ever(Action::Merge, actor.role) {
        return Err(ApiError::forbidden());
    }
    let Visible { row, .. } = visible_item(&state, actor, &path.into_inner()).await?;
    let item = &row.item;
    let me = Fingerprint {
        folded_text: &item.search_text,
        phone: item.phone.as_deref(),
        email: item.email.as_deref(),
        procedure_code: item.procedure_code.as_deref(),
    };
    // The last half year is where duplicates of a live item are.
    let since = Utc::now() - chrono::Duration::days(183);
    let candidates = state.store.duplicate_candidates(since, 2000).await?;
    let mut found: Vec<(u32, Value)> = candidates
        .iter()
        .filter(|c| c.id != item.id)
        .filter_map(|c| {
            let other = Fingerprint {
                folded_text: &c.search_text,
                phone: c.phone.as_deref(),
                email: c.email.as_deref(),
                procedure_code: c.procedure_code.as_deref(),
            };
            compare(&me, &other).map(|l| {
                (
                    l.score,
                    serde_json::json!({
                        "tracking_code": c.tracking_code,
                        "title": c.title,
                        "state": c.state,
                        "received_at": to_vietnam_rfc3339(c.received_at),
                        "score": l.score,
                        "reasons": l.reasons,
                    }),
                )
            })
        })
        .collect();
    found.sort_by_key(|f| std::cmp::Reverse(f.0));
    found.truncate(10);
    Ok(HttpResponse::Ok()
        .insert_header(CacheControl(vec![CacheDirective::NoStore, CacheDirective::Private]))
        .json(serde_json::json!({"candidates": found.into_iter().map(|(_, v)| v).collect::<Vec<_>>()})))
}
