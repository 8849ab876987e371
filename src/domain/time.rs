//! Time in Vietnam. Asia/Ho_Chi_Minh is a fixed UTC+07:00 with no daylight
//! saving, so a fixed offset is exact and needs no time-zone database.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, Utc};

pub const VIETNAM_OFFSET_SECONDS: i32 = 7 * 3600;

const VIETNAM: FixedOffset = match FixedOffset::east_opt(VIETNAM_OFFSET_SECONDS) {
    Some(offset) => offset,
    None => panic!("UTC+7 is a valid offset"),
};

pub fn vietnam_offset() -> FixedOffset {
    VIETNAM
}

/// The calendar date in Vietnam at instant `t` (what "received on" means in
/// tracking codes and deadlines).
pub fn vietnam_date(t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&vietnam_offset()).date_naive()
}

/// Date and time of day in Vietnam at instant `t`.
pub fn vietnam_datetime(t: DateTime<Utc>) -> chrono::NaiveDateTime {
    t.with_timezone(&vietnam_offset()).naive_local()
}

/// The instant of `time` on `date` in Vietnam.
pub fn vietnam_instant(date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    // UTC+7 has no gaps or folds, so the conversion is exact. At the very
    // edge of chrono's range (never a real date) it saturates instead of
    // panicking.
    let local = date.and_time(time);
    local
        .checked_sub_signed(chrono::Duration::seconds(i64::from(VIETNAM_OFFSET_SECONDS)))
        .unwrap_or(local)
        .and_utc()
}

/// `t` as an RFC 3339 string in Vietnam's offset, as citizens read it.
pub fn to_vietnam_rfc3339(t: DateTime<Utc>) -> String {
    t.with_timezone(&vietnam_offset())
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

/// An instant shown as Vietnam reads it: RFC 3339 in UTC+7 on the wire,
/// `dd/mm/yyyy` (and `HH:MM`) on the pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VnTime(pub DateTime<Utc>);

impl VnTime {
    pub fn rfc3339(&self) -> String {
        to_vietnam_rfc3339(self.0)
    }

    /// `03/12/2026`
    pub fn date_vi(&self) -> String {
        vietnam_date(self.0).format("%d/%m/%Y").to_string()
    }

    /// `14:05 03/12/2026`
    pub fn datetime_vi(&self) -> String {
        vietnam_datetime(self.0)
            .format("%H:%M %d/%m/%Y")
            .to_string()
    }
}

impl serde::Serialize for VnTime {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.rfc3339())
    }
}

impl From<DateTime<Utc>> for VnTime {
    fn from(t: DateTime<Utc>) -> Self {
        Self(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_first_representable_day_does_not_panic() {
        let _ = vietnam_instant(NaiveDate::MIN, NaiveTime::MIN);
    }

    #[test]
    fn the_date_changes_at_midnight_vietnam_time() {
        let before = Utc.with_ymd_and_hms(2026, 11, 22, 16, 59, 59).unwrap();
        let after = Utc.with_ymd_and_hms(2026, 11, 22, 17, 0, 0).unwrap();
        assert_eq!(vietnam_date(before).to_string(), "2026-11-22");
        assert_eq!(vietnam_date(after).to_string(), "2026-11-23");
        assert_eq!(to_vietnam_rfc3339(after), "2026-11-23T00:00:00+07:00");
        let shown = VnTime(after);
        assert_eq!(shown.date_vi(), "23/11/2026");
        assert_eq!(shown.datetime_vi(), "00:00 23/11/2026");
        assert_eq!(
            serde_json::to_value(shown).ok(),
            Some(serde_json::json!("2026-11-23T00:00:00+07:00"))
        );
    }
}
