//! Items that reach the agency by phone, letter, letter box, survey form or
//! transfer, keyed in by staff (ND 20 Art. 6 as supplemented by ND 92/2017;
//! DOMAIN §3). Besides the submission itself staff record when the item
//! really arrived (the deadline counts from then, Điều 147 BLDS) and the
//! channel's own evidence: caller number and call time, letter and
//! postmark dates, when the letter box was opened.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::feedback::{Channel, FieldError};
use super::phone::PhoneNumber;
use super::text::clean_line;
use super::time::vietnam_date;

/// The channels staff key in; the web form and e-mail arrive by themselves.
pub const STAFF_CHANNELS: [Channel; 6] = [
    Channel::Hotline,
    Channel::LetterPost,
    Channel::LetterInPerson,
    Channel::LetterBox,
    Channel::SurveyForm,
    Channel::TransferredIn,
];

/// How far back an arrival may be recorded (older paper belongs to the
/// archive, not the queue), and how far ahead clocks may disagree.
const MAX_BACKDATE_DAYS: i64 = 366;
const CLOCK_SKEW_MINUTES: i64 = 5;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DetailsInput {
    caller_number: Option<String>,
    call_time: Option<String>,
    letter_date: Option<String>,
    postmark_date: Option<String>,
    letter_box_opened_on: Option<String>,
    transferred_from: Option<String>,
    note: Option<String>,
}

/// A checked staff entry.
#[derive(Debug, Clone, PartialEq)]
pub struct StaffIntake {
    pub channel: Channel,
    pub received_at: DateTime<Utc>,
    /// Normalised details, stored with the item.
    pub details: Value,
}

fn instant(raw: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(raw.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn date(raw: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d").ok()
}

/// Checks the staff part of a body: `channel`, `received_at`, `intake`.
/// Every problem is reported at once, per field.
pub fn parse_staff_intake(
    channel: Option<Value>,
    received_at: Option<Value>,
    intake: Option<Value>,
    now: DateTime<Utc>,
) -> Result<StaffIntake, Vec<FieldError>> {
    let mut errors = Vec::new();
    let channel = match channel.as_ref().and_then(Value::as_str) {
        None => {
            errors.push(FieldError::new("channel", "required"));
            None
        }
        Some(s) => match Channel::parse(s).filter(|c| STAFF_CHANNELS.contains(c)) {
            Some(c) => Some(c),
            None => {
                errors.push(FieldError::new("channel", "invalid_choice"));
                None
            }
        },
    };
    let received_at = match received_at.as_ref().and_then(Value::as_str) {
        None => {
            errors.push(FieldError::new("received_at", "required"));
            None
        }
        Some(raw) => match instant(raw) {
            None => {
                errors.push(FieldError::new("received_at", "date_invalid"));
                None
            }
            Some(t) if t > now + Duration::minutes(CLOCK_SKEW_MINUTES) => {
                errors.push(FieldError::new("received_at", "received_at_in_future"));
                None
            }
            Some(t) if t < now - Duration::days(MAX_BACKDATE_DAYS) => {
                errors.push(FieldError::new("received_at", "received_at_too_old"));
                None
            }
            Some(t) => Some(t.min(now)),
        },
    };
    let input: DetailsInput = match intake {
        None | Some(Value::Null) => DetailsInput::default(),
        Some(v) => match serde_json::from_value(v) {
            Ok(d) => d,
            Err(e) => {
                let message = e.to_string();
                let field = message
                    .strip_prefix("unknown field `")
                    .and_then(|r| r.split('`').next())
                    .map_or("intake".to_string(), |n| format!("intake.{n}"));
                let code = if message.starts_with("unknown field") {
                    "unknown_field"
                } else {
                    "wrong_type"
                };
                errors.push(FieldError::new(field, code));
                DetailsInput::default()
            }
        },
    };
    let received_on = received_at.map(vietnam_date);
    let mut details = serde_json::Map::new();
    if let Some(raw) = input
        .caller_number
        .as_deref()
        .filter(|s| !s.trim().is_empty())
    {
        match PhoneNumber::parse(raw) {
            Ok(p) => {
                details.insert("caller_number".into(), p.as_e164().into());
            }
            Err(_) => errors.push(FieldError::new("intake.caller_number", "phone_invalid")),
        }
    }
    if let Some(raw) = input.call_time.as_deref() {
        match instant(raw) {
            Some(t)
                if received_at.is_none_or(|r| t <= r + Duration::minutes(CLOCK_SKEW_MINUTES)) =>
            {
                details.insert("call_time".into(), t.to_rfc3339().into());
            }
            Some(_) => errors.push(FieldError::new("intake.call_time", "date_after_receipt")),
            None => errors.push(FieldError::new("intake.call_time", "date_invalid")),
        }
    }
    for (name, raw) in [
        ("letter_date", &input.letter_date),
        ("postmark_date", &input.postmark_date),
        ("letter_box_opened_on", &input.letter_box_opened_on),
    ] {
        let Some(raw) = raw.as_deref() else { continue };
        match date(raw) {
            Some(d) if received_on.is_none_or(|r| d <= r) => {
                details.insert(name.into(), d.to_string().into());
            }
            Some(_) => errors.push(FieldError::new(
                format!("intake.{name}"),
                "date_after_receipt",
            )),
            None => errors.push(FieldError::new(format!("intake.{name}"), "date_invalid")),
        }
    }
    for (name, raw, max) in [
        ("transferred_from", &input.transferred_from, 300),
        ("note", &input.note, 2000),
    ] {
        if let Some(text) = raw.as_deref().map(clean_line).filter(|t| !t.is_empty()) {
            if text.chars().count() > max {
                errors.push(FieldError::new(format!("intake.{name}"), "too_long"));
            } else {
                details.insert(name.into(), text.into());
            }
        }
    }
    // The evidence each channel cannot do without.
    // (Checked on what was kept: a blank value is no evidence.)
    match channel {
        // (An invalid date was reported already; only a missing or blank
        // one is "required".)
        Some(Channel::LetterBox)
            if input
                .letter_box_opened_on
                .as_deref()
                .is_none_or(|s| s.trim().is_empty()) =>
        {
            errors.push(FieldError::new("intake.letter_box_opened_on", "required"));
        }
        Some(Channel::TransferredIn) if !details.contains_key("transferred_from") => {
            errors.push(FieldError::new("intake.transferred_from", "required"));
        }
        _ => {}
    }
    match (channel, received_at) {
        (Some(channel), Some(received_at)) if errors.is_empty() => {
            let mut details = Value::Object(details);
            details["channel"] = json!(channel.as_str());
            Ok(StaffIntake {
                channel,
                received_at,
                details,
            })
        }
        _ => Err(errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-11-22T08:00:00Z".parse().unwrap()
    }

    fn codes(r: Result<StaffIntake, Vec<FieldError>>) -> Vec<(String, &'static str)> {
        r.unwrap_err()
            .into_iter()
            .map(|e| (e.field, e.code))
            .collect()
    }

    #[test]
    fn a_call_keyed_in_later_keeps_its_real_time() {
        let r = parse_staff_intake(
            Some(json!("hotline")),
            Some(json!("2026-11-20T09:15:00+07:00")),
            Some(
                json!({"caller_number": "0912 345 678", "call_time": "2026-11-20T09:15:00+07:00"}),
            ),
            now(),
        )
        .unwrap();
        assert_eq!(r.channel, Channel::Hotline);
        assert_eq!(
            r.received_at,
            "2026-11-20T02:15:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert_eq!(r.details["caller_number"], "+84912345678");
    }

    #[test]
    fn every_problem_is_named() {
        let errors = codes(parse_staff_intake(
            Some(json!("web_form")),
            Some(json!("2027-01-01T00:00:00+07:00")),
            Some(json!({"caller_number": "12", "postmark_date": "2026-13-01", "colour": "x"})),
            now(),
        ));
        assert!(errors.contains(&("channel".into(), "invalid_choice")));
        assert!(errors.contains(&("received_at".into(), "received_at_in_future")));
        assert!(errors.contains(&("intake.colour".into(), "unknown_field")));
        let errors = codes(parse_staff_intake(
            Some(json!("letter_box")),
            Some(json!("2026-11-20T09:00:00+07:00")),
            Some(json!({"postmark_date": "2026-11-21"})),
            now(),
        ));
        assert!(errors.contains(&("intake.postmark_date".into(), "date_after_receipt")));
        assert!(errors.contains(&("intake.letter_box_opened_on".into(), "required")));
        let errors = codes(parse_staff_intake(
            None,
            Some(json!("2024-01-01T00:00:00Z")),
            None,
            now(),
        ));
        assert!(errors.contains(&("channel".into(), "required")));
        assert!(errors.contains(&("received_at".into(), "received_at_too_old")));
    }
}
