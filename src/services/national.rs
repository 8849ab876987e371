//! The national PAKN system (Hệ thống thông tin tiếp nhận, trả lời phản
//! ánh, kiến nghị on Cổng Dịch vụ công quốc gia). QĐ 31/2021/QĐ-TTg Art.
//! 43(2) has the receiving office enter there what reaches it by letter,
//! phone or e-mail; no public API for it is known, so the office re-keys
//! them from a pack laid out as the national form asks, and records the
//! code the national system gave each item. The gateway is an interface so
//! that a real API, once published, replaces the manual one; nothing here
//! pretends to send anywhere.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use super::Services;
use crate::domain::feedback::{Channel, FieldError};
use crate::domain::reporting::DateRange;
use crate::domain::staff::{Actor, Permission};
use crate::domain::time::{to_vietnam_rfc3339, vietnam_date};
use crate::services::staff_items::StaffError;
use crate::store::entities::national_record;
use crate::store::journal::AuditEntry;
use crate::store::national::{BacklogRow, NationalCounts};

/// How items reach the national system.
pub trait NationalGateway: Send + Sync {
    /// `manual` while staff re-key items by hand.
    fn mode(&self) -> &'static str;
    /// What the office is told to do with an item not yet there.
    fn instruction(&self) -> &'static str;
}

/// Staff re-key each item on the national portal and record its code.
pub struct ManualGateway;

impl NationalGateway for ManualGateway {
    fn mode(&self) -> &'static str {
        "manual"
    }

    fn instruction(&self) -> &'static str {
        "Nhập từng phản ánh, kiến nghị vào Hệ thống thông tin PAKN trên Cổng Dịch vụ công quốc gia theo các trường dưới đây, rồi ghi lại mã PAKN hệ thống đó cấp vào phản ánh, kiến nghị tương ứng."
    }
}

/// The gateway in use: manual until the national system publishes an API.
pub fn gateway() -> &'static dyn NationalGateway {
    &ManualGateway
}

/// An item's national record as staff and the API read it.
#[derive(Debug, Clone, Serialize)]
pub struct RecordView {
    pub tracking_code: String,
    pub national_code: String,
    /// `rekeyed` (entered there by the office) or `received` (it came
    /// from there).
    pub origin: String,
    pub recorded_at: String,
    pub recorded_by: String,
}

fn view(tracking_code: &str, r: &national_record::Model) -> RecordView {
    RecordView {
        tracking_code: tracking_code.to_string(),
        national_code: r.national_code.clone(),
        origin: r.origin.clone(),
        recorded_at: to_vietnam_rfc3339(r.recorded_at),
        recorded_by: r.recorded_by.clone(),
    }
}

/// Checks a code against the configured shape (not confirmed: the office
/// sets it; checked to be a regular expression when the settings load),
/// after trimming and upper-casing.
pub fn normalize_code(pattern: &str, code: &str) -> Result<String, FieldError> {
    let code = code.trim().to_ascii_uppercase();
    if code.is_empty() {
        return Err(FieldError::new("national_code", "required"));
    }
    if !regex::Regex::new(pattern).is_ok_and(|p| p.is_match(&code)) {
        return Err(FieldError::new("national_code", "national_code_invalid"));
    }
    Ok(code)
}

/// Records the code the national system gave `tracking_code`. A second
/// recording corrects the first and needs a reason; a code that is
/// another item's is refused.
pub async fn record(
    s: &Services,
    actor: &Actor,
    tracking_code: &str,
    code: &str,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> Result<RecordView, StaffError> {
    let opened = super::staff_items::open(
        s,
        actor,
        tracking_code,
        super::staff_items::Purpose::Permitted(Permission::KeepNationalRecord),
    )
    .await?;
    let row = opened.row();
    let mut errors = Vec::new();
    let code = normalize_code(&s.settings.national.code_pattern, code)
        .map_err(|e| errors.push(e))
        .ok();
    let existing = s.store.national_record(row.item.id).await?;
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    // The same code again changes nothing (a retried request).
    if let Some(same) = existing
        .as_ref()
        .filter(|e| code.as_deref() == Some(e.national_code.as_str()))
    {
        return Ok(view(&row.item.tracking_code, same));
    }
    // A reason is 5–1000 characters wherever one is asked for.
    if reason.is_some_and(|r| r.chars().count() > 1000)
        || (existing.is_some() && reason.is_none_or(|r| r.chars().count() < 5))
    {
        errors.push(FieldError::new("reason", "reason_required"));
    }
    if let Some(code) = &code
        && let Some(other) = s.store.item_with_national_code(code).await?
        && other != row.item.id
    {
        errors.push(FieldError::new("national_code", "national_code_taken"));
    }
    let Some(code) = code.filter(|_| errors.is_empty()) else {
        return Err(StaffError::Invalid(errors));
    };
    let origin = if row.item.channel == Channel::NationalPortalSync.as_str() {
        "received"
    } else {
        "rekeyed"
    };
    let record = national_record::Model {
        feedback_item_id: row.item.id,
        national_code: code.clone(),
        origin: origin.into(),
        recorded_at: now,
        recorded_by: actor.username.clone(),
    };
    let audit = AuditEntry {
        actor_kind: "staff".into(),
        actor_id: Some(actor.username.clone()),
        action: "feedback.national_code_recorded".into(),
        from_state: None,
        to_state: None,
        reason: reason.map(str::to_string),
        details: serde_json::json!({
            "national_code": code,
            "previous": existing.as_ref().map(|e| e.national_code.clone()),
        }),
        request_id: None,
    };
    match s.store.record_national(record.clone(), &audit, now).await {
        Ok(()) => Ok(view(&row.item.tracking_code, &record)),
        // Two people recorded the same code on two items at once.
        Err(crate::store::StoreError::Conflict(_)) => {
            Err(StaffError::Invalid(vec![FieldError::new(
                "national_code",
                "national_code_taken",
            )]))
        }
        Err(e) => Err(e.into()),
    }
}

/// The national form's fields for one item, in its order.
#[derive(Debug, Clone, Serialize)]
pub struct PackItem {
    pub tracking_code: String,
    pub channel: String,
    pub channel_label: String,
    pub received_at: String,
    /// When it should be there (`due_working_days` after receipt).
    pub due_on: NaiveDate,
    pub late: bool,
    pub ho_ten: String,
    pub dia_chi: String,
    pub dien_thoai: Option<String>,
    pub email: Option<String>,
    pub don_vi_tiep_nhan: String,
    pub tieu_de: String,
    pub noi_dung: String,
    pub tep_dinh_kem: Vec<String>,
}

/// The re-keying pack and its reconciliation for a period.
#[derive(Debug, Clone, Serialize)]
pub struct Pack {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub gateway: &'static str,
    pub instruction: &'static str,
    pub channels: Vec<String>,
    pub due_working_days: u32,
    /// The deadline rule is the office's, not the law's.
    pub due_rule_confirmed: bool,
    pub in_scope: u64,
    pub recorded: u64,
    pub missing: u64,
    /// Missing past their due day.
    pub late: u64,
    pub items: Vec<PackItem>,
    /// More items were missing than one pack holds.
    pub truncated: bool,
}

/// Items one pack holds at most.
pub const PACK_LIMIT: u64 = 5_000;

/// The items of `dates` (both days included) not yet in the national
/// system, field by field; reading it shows contact data, so each item's
/// reading is logged for the reader.
pub async fn pack(
    s: &Services,
    actor: &Actor,
    dates: DateRange,
    now: DateTime<Utc>,
) -> Result<Pack, StaffError> {
    if !actor.may(Permission::KeepNationalRecord) {
        return Err(StaffError::Forbidden);
    }
    let settings = &s.settings.national;
    let (from, to) = dates.instants();
    let (rows, truncated) = s
        .store
        .national_backlog(&settings.channels, from, to, PACK_LIMIT)
        .await?;
    let counts = s
        .store
        .national_counts(&settings.channels, from, to)
        .await?;
    let directory = s.store.directory_snapshot().await?;
    let calendar = s.calendar.current();
    let today = vietnam_date(now);
    let mut items = Vec::with_capacity(rows.len());
    for BacklogRow { item, files } in rows {
        let (due_on, _) = calendar
            .calendar
            .add_working_days(vietnam_date(item.received_at), settings.due_working_days);
        super::subject::record_view(s, actor, item.id, "national_rekey", now).await?;
        let channel = Channel::parse(&item.channel);
        items.push(PackItem {
            tracking_code: item.tracking_code,
            channel_label: channel
                .map_or_else(|| item.channel.clone(), |c| c.label_vi().to_string()),
            channel: item.channel,
            received_at: to_vietnam_rfc3339(item.received_at),
            due_on,
            late: due_on < today,
            ho_ten: match &item.organization_name {
                Some(org) if !org.is_empty() => format!("{} ({org})", item.submitter_name),
                _ => item.submitter_name,
            },
            dia_chi: item.address_detail,
            dien_thoai: item.phone,
            email: item.email,
            don_vi_tiep_nhan: directory
                .agency_name(Some(item.receiving_agency_id))
                .unwrap_or_default()
                .to_string(),
            tieu_de: item.title,
            noi_dung: item.content,
            tep_dinh_kem: files,
        });
    }
    let late = items.iter().filter(|i| i.late).count() as u64;
    let NationalCounts { in_scope, recorded } = counts;
    Ok(Pack {
        from: dates.from,
        to: dates.to,
        gateway: gateway().mode(),
        instruction: gateway().instruction(),
        channels: settings.channels.clone(),
        due_working_days: settings.due_working_days,
        due_rule_confirmed: false,
        in_scope,
        recorded,
        missing: in_scope - recorded,
        late,
        items,
        truncated,
    })
}

/// The six-monthly report's line: how many items of the channels were
/// received in the period and how many are in the national system.
pub async fn counts(s: &Services, dates: DateRange) -> Result<NationalCounts, StaffError> {
    let (from, to) = dates.instants();
    Ok(s.store
        .national_counts(&s.settings.national.channels, from, to)
        .await?)
}

/// The pack as spreadsheet rows: a header, then one row per item.
pub fn pack_rows(pack: &Pack) -> Vec<Vec<String>> {
    let mut rows = vec![
        [
            "Mã số (pakn)",
            "Kênh tiếp nhận",
            "Ngày tiếp nhận",
            "Hạn cập nhật",
            "Họ tên",
            "Địa chỉ",
            "Điện thoại",
            "Email",
            "Đơn vị tiếp nhận",
            "Tiêu đề",
            "Nội dung",
            "Tệp đính kèm",
        ]
        .map(str::to_string)
        .to_vec(),
    ];
    for i in &pack.items {
        rows.push(vec![
            i.tracking_code.clone(),
            i.channel_label.clone(),
            i.received_at.clone(),
            i.due_on.format("%d/%m/%Y").to_string(),
            i.ho_ten.clone(),
            i.dia_chi.clone(),
            i.dien_thoai.clone().unwrap_or_default(),
            i.email.clone().unwrap_or_default(),
            i.don_vi_tiep_nhan.clone(),
            i.tieu_de.clone(),
            i.noi_dung.clone(),
            i.tep_dinh_kem.join("; "),
        ]);
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_is_trimmed_upper_cased_and_checked_against_the_pattern() {
        let p = "^[A-Z0-9][A-Z0-9._/-]{3,39}$";
        assert_eq!(
            normalize_code(p, " pakn-2026-001 ").unwrap(),
            "PAKN-2026-001"
        );
        assert_eq!(normalize_code(p, "").unwrap_err().code, "required");
        assert_eq!(
            normalize_code(p, "<script>").unwrap_err().code,
            "national_code_invalid"
        );
    }
}
