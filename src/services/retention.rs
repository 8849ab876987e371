//! The retention policy for contact data (`[retention]`): a set time after
//! an item is settled, its submitter's contact data is removed while the
//! item, its answer and its statistics stay. The period is the office's to
//! set — the law (Luật Bảo vệ dữ liệu cá nhân 2025, ND 356/2025) fixes no
//! number for this channel that we could confirm — so it is off until set.
//! One instance at a time (a lease); resumable (one item per transaction);
//! `pakn retention --dry-run` reports what a run would do.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::config::Settings;
use crate::store::journal::AuditEntry;
use crate::store::{Store, StoreError};

#[derive(Debug, Clone, Serialize)]
pub struct RetentionReport {
    pub policy_days: u32,
    /// Items settled before this are due.
    pub settled_before: Option<DateTime<Utc>>,
    pub due: u64,
    pub erased: u64,
    pub dry_run: bool,
    /// Another instance is running it now.
    pub busy: bool,
}

const LEASE: &str = "retention";
const BATCH: u64 = 200;

pub async fn run(
    store: &Store,
    settings: &Settings,
    now: DateTime<Utc>,
    dry_run: bool,
    holder: &str,
) -> Result<RetentionReport, StoreError> {
    let days = settings.retention.contact_data_days;
    let mut report = RetentionReport {
        policy_days: days,
        settled_before: None,
        due: 0,
        erased: 0,
        dry_run,
        busy: false,
    };
    if days == 0 {
        return Ok(report);
    }
    let before = now - chrono::Duration::days(i64::from(days));
    report.settled_before = Some(before);
    report.due = store.count_due_for_erasure(before).await?;
    if dry_run || report.due == 0 {
        return Ok(report);
    }
    if !store
        .take_lease(LEASE, holder, now + chrono::Duration::minutes(10), now)
        .await?
    {
        report.busy = true;
        return Ok(report);
    }
    let audit = AuditEntry {
        actor_kind: "system".into(),
        actor_id: None,
        action: "feedback.contact_erased".into(),
        from_state: None,
        to_state: None,
        reason: Some(format!(
            "Hết thời hạn lưu trữ thông tin liên hệ ({days} ngày sau khi kết thúc xử lý)"
        )),
        details: serde_json::json!({"policy_days": days}),
        request_id: None,
    };
    let outcome = async {
        loop {
            let batch = store.items_due_for_erasure(before, BATCH).await?;
            if batch.is_empty() {
                break;
            }
            for (id, _) in &batch {
                if store.erase_contact_data(*id, &audit, now).await? {
                    report.erased += 1;
                }
            }
            store
                .take_lease(
                    LEASE,
                    holder,
                    Utc::now() + chrono::Duration::minutes(10),
                    Utc::now(),
                )
                .await?;
        }
        Ok::<(), StoreError>(())
    }
    .await;
    store.release_lease(LEASE, holder).await?;
    outcome?;
    if report.erased > 0 {
        tracing::info!(
            erased = report.erased,
            days,
            "contact data removed under the retention policy"
        );
    }
    Ok(report)
}
