//! "Việc của tôi": what waits for the signed-in staff member or their
//! agency, most urgent first: the items in each state whose next step is
//! theirs to take (from the domain's role table: the control office
//! classifies, forwards, approves and publishes; the holding agency takes
//! up and answers, its lead signs off), and the contributions other
//! agencies asked of theirs. The console's page and the JSON API read this
//! one view.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::Services;
use super::queue::{self, QueueQuery, QueueRowView};
use super::staff_items::StaffError;
use crate::domain::feedback::FeedbackState;
use crate::domain::staff::{Actor, Involvement, ItemScope};
use crate::domain::time::VnTime;
use crate::domain::workflow::{Action, may_take};

/// How many items each section lists (its count says how many there are).
const SHOWN: usize = 10;
/// Counting stops here (an agency's counts are counted on each visit).
const COUNT_CAP: u64 = 100_000;

/// The states that wait for someone, the step that moves them on, and
/// what the section is called.
const WAITING: [(FeedbackState, Action, &str); 6] = [
    (FeedbackState::Received, Action::Classify, "Chờ phân loại"),
    (
        FeedbackState::Classified,
        Action::Forward,
        "Chờ chuyển cơ quan xử lý",
    ),
    (
        FeedbackState::Forwarded,
        Action::Accept,
        "Được chuyển đến, chờ tiếp nhận xử lý",
    ),
    (
        FeedbackState::InHandling,
        Action::Answer,
        "Đang xử lý: soạn, ký duyệt trả lời",
    ),
    (
        FeedbackState::AnswerUnderReview,
        Action::Approve,
        "Chờ duyệt trả lời",
    ),
    (
        FeedbackState::Answered,
        Action::Publish,
        "Đã trả lời, chờ công khai hoặc không công khai",
    ),
];

/// One kind of work, with its count and the most urgent items.
#[derive(Debug, Clone, Serialize)]
pub struct WorkSection {
    /// The state (or `coordination` for contributions asked of the agency).
    pub key: &'static str,
    pub label: &'static str,
    pub count: i64,
    pub items: Vec<QueueRowView>,
    /// Contributions asked of the agency (the `coordination` section).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub requests: Vec<RequestView>,
    /// The queue filtered to this work.
    pub queue_link: Option<String>,
}

/// A contribution asked of the reader's agency.
#[derive(Debug, Clone, Serialize)]
pub struct RequestView {
    pub tracking_code: String,
    pub title: String,
    pub requested_at: VnTime,
    pub due_at: Option<VnTime>,
}

/// Everything waiting for the reader.
#[derive(Debug, Clone, Serialize)]
pub struct MyWork {
    pub total: i64,
    pub sections: Vec<WorkSection>,
}

/// The states whose next step `actor` takes, with that step's section.
fn waiting_for(actor: &Actor) -> Vec<(FeedbackState, &'static str)> {
    let involvement = match actor.item_scope() {
        ItemScope::Province => Involvement::Overseeing,
        _ => Involvement::Handling,
    };
    WAITING
        .iter()
        .filter(|(state, action, _)| may_take(*action, *state, actor.role, involvement))
        .map(|(state, _, label)| (*state, *label))
        .collect()
}

/// What waits for `actor` now.
pub async fn of(s: &Services, actor: &Actor, now: DateTime<Utc>) -> Result<MyWork, StaffError> {
    let scope = queue::scope(actor)?;
    let summary = queue::summary(s, scope, now).await?;
    let directory = s.store.directory_snapshot().await?;
    // An agency's work is what it holds (its queue also shows the items it
    // coordinates, which wait on it only for its contribution).
    let held_by = match actor.item_scope() {
        ItemScope::OwnAgency(agency) => directory.agency_names.get(&agency).map(|(c, _)| c.clone()),
        _ => None,
    };
    let mut sections = Vec::new();
    for (state, label) in waiting_for(actor) {
        let q = QueueQuery {
            state: Some(state.as_str().to_string()),
            agency_code: held_by.clone(),
            limit: Some(SHOWN.to_string()),
            ..QueueQuery::default()
        };
        let count = match (&held_by, queue::parse(s, &q, &directory, now)) {
            (None, _) => summary
                .by_state
                .iter()
                .find(|c| c.state == state)
                .map_or(0, |c| c.count),
            (Some(_), Ok(parsed)) => {
                let n = s
                    .store
                    .queue_count(&parsed.filter, scope, COUNT_CAP, now)
                    .await?;
                i64::try_from(n).unwrap_or(i64::MAX)
            }
            (Some(_), Err(_)) => 0,
        };
        let items = if count == 0 {
            Vec::new()
        } else {
            match queue::page(s, actor, &q, now).await? {
                Ok(page) => page.items,
                Err(_) => Vec::new(),
            }
        };
        let link = match &held_by {
            Some(code) => format!(
                "/nhan-vien/phan-anh?state={}&agency_code={code}",
                state.as_str()
            ),
            None => format!("/nhan-vien/phan-anh?state={}", state.as_str()),
        };
        sections.push(WorkSection {
            key: state.as_str(),
            label,
            count,
            items,
            requests: Vec::new(),
            queue_link: Some(link),
        });
    }
    if let ItemScope::OwnAgency(agency) = actor.item_scope() {
        let (open, count) = s
            .store
            .open_requests_to(agency.as_uuid(), SHOWN as u64)
            .await?;
        sections.push(WorkSection {
            key: "coordination",
            label: "Cơ quan khác đề nghị phối hợp, chờ ý kiến",
            count: i64::try_from(count).unwrap_or(i64::MAX),
            items: Vec::new(),
            requests: open
                .into_iter()
                .map(|r| RequestView {
                    tracking_code: r.tracking_code,
                    title: r.title,
                    requested_at: r.requested_at.into(),
                    due_at: r.due_at.map(VnTime),
                })
                .collect(),
            queue_link: None,
        });
    }
    Ok(MyWork {
        total: sections.iter().map(|s| s.count).sum(),
        sections,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::AgencyId;
    use crate::domain::staff::Role;

    fn actor(role: Role) -> Actor {
        Actor {
            staff_id: uuid::Uuid::nil(),
            username: "x".into(),
            display_name: "x".into(),
            role,
            agency: AgencyId::from_uuid(uuid::Uuid::nil()),
        }
    }

    #[test]
    fn each_role_waits_on_its_own_steps() {
        let states = |role| {
            waiting_for(&actor(role))
                .into_iter()
                .map(|(s, _)| s)
                .collect::<Vec<_>>()
        };
        use FeedbackState as S;
        assert_eq!(
            states(Role::ControlOffice),
            vec![
                S::Received,
                S::Classified,
                S::AnswerUnderReview,
                S::Answered
            ]
        );
        assert_eq!(
            states(Role::AgencyOfficer),
            vec![S::Forwarded, S::InHandling]
        );
        assert_eq!(states(Role::AgencyLead), vec![S::Forwarded, S::InHandling]);
        assert!(states(Role::Auditor).is_empty());
    }
}
