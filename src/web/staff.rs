//! Staff work on items: keying in calls and letters (and, as issue #4
//! goes on, the queue and the item page).

use actix_web::http::header::{CacheControl, CacheDirective};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use serde_json::Value;

use super::AppState;
use super::auth::Staff;
use super::intake_body::{read_body, submission_from_value};
use super::problem::{ApiError, REQUEST_ID};
use crate::domain::staff::Permission;
use crate::domain::staff_intake::parse_staff_intake;
use crate::services::intake::{self, StaffEntry, Submission};

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
            return Err(ApiError::validation(errors));
        }
        (Err(e), Err(mut errors)) => {
            errors.extend(e.field_errors());
            return Err(ApiError::validation(errors));
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
