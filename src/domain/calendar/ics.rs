//! The year's schedule as an iCalendar feed (RFC 5545) that staff can
//! subscribe to: one all-day event per holiday, day off or swapped working
//! day.

use chrono::{DateTime, Utc};

use super::holidays::{DayKind, ScheduledDay};

/// Renders `days` of `year` as a VCALENDAR. `stamp` is the time of the
/// calendar version (DTSTAMP), so the feed only changes when the data do.
pub fn render(year: i32, days: &[ScheduledDay], version: i64, stamp: DateTime<Utc>) -> String {
    let mut out = String::new();
    let mut line = |text: &str| fold_into(&mut out, text);
    line("BEGIN:VCALENDAR");
    line("VERSION:2.0");
    line("PRODID:-//pakn//Lich lam viec//VI");
    line("CALSCALE:GREGORIAN");
    line("METHOD:PUBLISH");
    line(&format!(
        "X-WR-CALNAME:{}",
        escape(&format!("Lịch nghỉ, làm việc bù năm {year}"))
    ));
    line("X-WR-TIMEZONE:Asia/Ho_Chi_Minh");
    let dtstamp = stamp.format("%Y%m%dT%H%M%SZ").to_string();
    for day in days {
        let prefix = match day.kind {
            DayKind::Holiday => "Nghỉ lễ",
            DayKind::DayOff => "Nghỉ",
            DayKind::WorkingDay => "Làm việc",
        };
        let mut summary = format!("{prefix}: {}", day.name);
        if !day.confirmed {
            summary.push_str(" (chưa xác nhận)");
        }
        line("BEGIN:VEVENT");
        line(&format!(
            "UID:{}-{}@pakn",
            day.date.format("%Y%m%d"),
            kind_slug(day.kind)
        ));
        line(&format!("DTSTAMP:{dtstamp}"));
        line(&format!("DTSTART;VALUE=DATE:{}", day.date.format("%Y%m%d")));
        if let Some(next) = day.date.succ_opt() {
            line(&format!("DTEND;VALUE=DATE:{}", next.format("%Y%m%d")));
        }
        line(&format!("SUMMARY:{}", escape(&summary)));
        line(&format!(
            "DESCRIPTION:{}",
            escape(&format!(
                "Căn cứ: {}. Phiên bản lịch {version}.",
                day.source
            ))
        ));
        line(&format!(
            "TRANSP:{}",
            if day.kind == DayKind::WorkingDay {
                "OPAQUE"
            } else {
                "TRANSPARENT"
            }
        ));
        line("END:VEVENT");
    }
    line("END:VCALENDAR");
    out
}

fn kind_slug(kind: DayKind) -> &'static str {
    match kind {
        DayKind::Holiday => "holiday",
        DayKind::DayOff => "day-off",
        DayKind::WorkingDay => "working-day",
    }
}

/// TEXT escaping (RFC 5545 §3.3.11).
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Appends `text` folded at 75 octets without splitting a UTF-8
/// character (§3.1), with CRLF line ends.
fn fold_into(out: &mut String, text: &str) {
    let mut width = 0;
    for c in text.chars() {
        let len = c.len_utf8();
        if width + len > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += len;
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(date: &str, kind: DayKind, name: &str) -> ScheduledDay {
        ScheduledDay {
            date: date.parse().unwrap(),
            kind,
            name: name.into(),
            source: "Văn bản 12729/VPCP-KGVX; thử, dấu chấm phẩy".into(),
            confirmed: true,
        }
    }

    #[test]
    fn lines_are_folded_escaped_and_crlf_terminated() {
        let days = [
            day(
                "2026-01-02",
                DayKind::DayOff,
                "Nghỉ hoán đổi dịp Tết Dương lịch (làm bù thứ Bảy 10/01) rất dài để phải gập dòng",
            ),
            day("2026-01-10", DayKind::WorkingDay, "Làm bù"),
        ];
        let ics = render(2026, &days, 3, "2026-01-01T00:00:00Z".parse().unwrap());
        assert!(ics.starts_with("BEGIN:VCALENDAR\r\n"));
        assert!(ics.ends_with("END:VCALENDAR\r\n"));
        assert_eq!(ics.matches("BEGIN:VEVENT").count(), 2);
        assert!(ics.contains("DTSTART;VALUE=DATE:20260102\r\nDTEND;VALUE=DATE:20260103"));
        assert!(ics.contains("\\;") && ics.contains("\\,"));
        for line in ics.split("\r\n") {
            assert!(line.len() <= 75, "{line:?} is {} octets", line.len());
        }
        assert!(!ics.replace("\r\n", "").contains('\n'));
        let unfolded = ics.replace("\r\n ", "");
        assert!(unfolded.contains("SUMMARY:Nghỉ: Nghỉ hoán đổi dịp Tết Dương lịch (làm bù thứ Bảy 10/01) rất dài để phải gập dòng"));
    }
}
