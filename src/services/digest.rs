//! The daily digest: on each working day, from the configured hour, every
//! active staff member with an e-mail address who has not turned it off is
//! mailed what waits for them or their agency ("Việc của tôi"), through
//! the outbox like every notice. A digest carries tracking codes, titles
//! with whatever the personal-data detector finds removed, and deadlines:
//! never a submitter's name, address or contact details. One per person
//! per day, whichever instance queues it first (the notice's dedupe key).

use std::collections::HashSet;
use std::sync::Mutex;

use chrono::{DateTime, NaiveDate, Timelike, Utc};
use serde_json::{Value, json};

use super::Services;
use super::my_work::{self, MyWork};
use super::staff_items::StaffError;
use crate::domain::redaction::{KnownPersonalData, apply, find_spans};
use crate::domain::staff::{Actor, ItemScope, Role};
use crate::domain::time::vietnam_datetime;
use crate::store::journal::NewNotice;

/// The notice kind of a digest.
pub const KIND: &str = "staff_daily_digest";

/// Who this process has already looked at today (a digest is queued at
/// most once per person per day anyway; this saves recounting everyone's
/// work on every scheduler pass).
#[derive(Debug, Default)]
pub struct DigestMemo {
    day: Mutex<Option<(NaiveDate, HashSet<uuid::Uuid>)>>,
}

impl DigestMemo {
    fn seen(&self, day: NaiveDate) -> HashSet<uuid::Uuid> {
        match self.day.lock() {
            Ok(guard) => match &*guard {
                Some((d, seen)) if *d == day => seen.clone(),
                _ => HashSet::new(),
            },
            Err(_) => HashSet::new(),
        }
    }

    fn mark(&self, day: NaiveDate, who: uuid::Uuid) {
        if let Ok(mut guard) = self.day.lock() {
            match &mut *guard {
                Some((d, seen)) if *d == day => {
                    seen.insert(who);
                }
                _ => *guard = Some((day, HashSet::from([who]))),
            }
        }
    }
}

/// A title as a digest may carry it: what the detector finds is replaced
/// by its placeholder.
pub fn safe_title(title: &str) -> String {
    apply(title, &find_spans(title, &KnownPersonalData::default()))
}

/// The digest's payload for one person's work on `day`.
pub fn payload(work: &MyWork, day: NaiveDate, link: &str) -> Value {
    let sections: Vec<Value> = work
        .sections
        .iter()
        .filter(|s| s.count > 0)
        .map(|s| {
            let mut items: Vec<Value> = s
                .items
                .iter()
                .map(|i| {
                    json!({
                        "tracking_code": i.tracking_code,
                        "title": safe_title(&i.title),
                        "due": i.due_at.as_ref().map(|d| d.date_vi()).unwrap_or_default(),
                        "overdue": i.overdue,
                    })
                })
                .collect();
            items.extend(s.requests.iter().map(|r| {
                json!({
                    "tracking_code": r.tracking_code,
                    "title": safe_title(&r.title),
                    "due": r.due_at.as_ref().map(|d| d.date_vi()).unwrap_or_default(),
                    "overdue": false,
                })
            }));
            json!({ "label": s.label, "count": s.count, "items": items })
        })
        .collect();
    json!({
        "date": day.format("%d/%m/%Y").to_string(),
        "total": work.total,
        "sections": sections,
        "link": link,
    })
}

/// Queues today's digests that are due and not yet queued; returns how
/// many were queued now.
pub async fn queue_due(
    s: &Services,
    memo: &DigestMemo,
    now: DateTime<Utc>,
) -> Result<usize, StaffError> {
    let Ok(hour) = u32::try_from(s.settings.auth.digest_hour) else {
        return Ok(0);
    };
    let local = vietnam_datetime(now);
    let day = local.date();
    if local.hour() < hour || !s.calendar.current().calendar.is_working_day(day) {
        return Ok(0);
    }
    let seen = memo.seen(day);
    let link = format!(
        "{}/nhan-vien/viec-cua-toi",
        s.settings.server.public_base_url.trim_end_matches('/')
    );
    let mut notices = Vec::new();
    for row in s.store.digest_recipients().await? {
        if seen.contains(&row.id) {
            continue;
        }
        memo.mark(day, row.id);
        let Some(role) = Role::parse(&row.role) else {
            continue;
        };
        let actor = Actor {
            staff_id: row.id,
            username: row.username.clone(),
            display_name: row.display_name.clone(),
            role,
            agency: crate::domain::ids::AgencyId::from_uuid(row.agency_id),
        };
        // Administrators handle no items: nothing ever waits for them.
        if actor.item_scope() == ItemScope::Nothing {
            continue;
        }
        let work = my_work::of(s, &actor, now).await?;
        if work.total == 0 {
            continue;
        }
        notices.push(NewNotice {
            dedupe_key: format!("{KIND}:{}:{day}", row.id),
            kind: KIND.into(),
            audience: "staff".into(),
            agency_id: row.agency_id,
            feedback_item_id: None,
            deadline_id: None,
            staff_account_id: Some(row.id),
            payload: payload(&work, day, &link),
        });
    }
    if notices.is_empty() {
        return Ok(0);
    }
    let queued = s.store.queue_notices(&notices, now).await?;
    tracing::info!(queued, "daily digests queued");
    Ok(queued)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_digest_title_keeps_no_phone_number_or_address() {
        let t = safe_title("Ông Nguyễn Văn An 0905123456 hỏi về nhà 12 Lê Lợi");
        assert!(!t.contains("0905123456"), "{t}");
        assert!(!t.contains("Nguyễn Văn An"), "{t}");
        assert!(!t.contains("12 Lê Lợi"), "{t}");
        assert_eq!(
            safe_title("Thủ tục cấp phép xây dựng"),
            "Thủ tục cấp phép xây dựng"
        );
    }

    #[test]
    fn the_memo_forgets_yesterday() {
        let memo = DigestMemo::default();
        let d1 = NaiveDate::from_ymd_opt(2026, 12, 3).unwrap();
        let d2 = d1.succ_opt().unwrap();
        let who = uuid::Uuid::now_v7();
        memo.mark(d1, who);
        assert!(memo.seen(d1).contains(&who));
        assert!(memo.seen(d2).is_empty());
    }
}
