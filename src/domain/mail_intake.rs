//! What an e-mail to the published address becomes: a new item
//! with whatever Decree 20 requires that the mail gives, and the list of
//! what it does not give, so the office asks for it instead of dropping
//! the mail (ND 20 Art. 7 as amended by ND 92/2017: name, address and a
//! way to reach the sender). Pure: no I/O.

use std::sync::LazyLock;

use regex::Regex;

use super::feedback::{Address, FeedbackKind, IntakeRules, NewFeedback, Submitter, SubmitterType};
use super::mail::InboundMessage;
use super::phone::PhoneNumber;
use super::text::{clean_line, clean_multiline, looks_vietnamese};
use super::tracking::TrackingCode;

/// Something Decree 20 requires that the mail did not give.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    Name,
    Address,
    Content,
}

impl Missing {
    pub fn as_str(self) -> &'static str {
        match self {
            Missing::Name => "name",
            Missing::Address => "address",
            Missing::Content => "content",
        }
    }

    fn label_vi(self) -> &'static str {
        match self {
            Missing::Name => "họ và tên người gửi",
            Missing::Address => "địa chỉ liên hệ",
            Missing::Content => {
                "nội dung phản ánh, kiến nghị (vấn đề, quy định hành chính liên quan)"
            }
        }
    }
}

/// A new item from an e-mail.
#[derive(Debug, Clone)]
pub struct MailSubmission {
    pub feedback: NewFeedback,
    pub missing: Vec<Missing>,
    /// The text was longer than the service keeps; the rest is in the raw
    /// message.
    pub truncated: bool,
}

/// Lines senders write because the portal asks them to ("Họ và tên: …").
static NAME_LINE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r"(?im)^[ \t>*-]*(?:họ và tên|họ tên|họ, tên|người gửi)[ \t]*[:：][ \t]*(.+?)[ \t]*$",
    )
    .ok()
});
static ADDRESS_LINE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r"(?im)^[ \t>*-]*(?:địa chỉ liên hệ|địa chỉ|đ/c|nơi cư trú)[ \t]*[:：][ \t]*(.+?)[ \t]*$",
    )
    .ok()
});
static PHONE_LINE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"(?im)^[ \t>*-]*(?:số điện thoại|điện thoại|đt|sđt|sdt)[ \t]*[:：][ \t]*([+0-9 .()-]{8,20})[ \t]*$")
        .ok()
});
static CODE_IN_TEXT: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"(?i)PAKN\.\d{2}\.\d{8}\.\d{4,6}").ok());
/// The line a mail client puts above the quoted message.
static QUOTE_HEADER: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"(?im)^(?:on .{1,200} wrote:|vào .{1,200} đã viết:|-{2,} ?(?:original message|thư gốc|forwarded message) ?-{2,}|from: .+|từ: .+)\s*$")
        .ok()
});

fn first_capture(re: &LazyLock<Option<Regex>>, text: &str) -> Option<String> {
    let re = re.as_ref()?;
    re.captures(text)
        .and_then(|c| c.get(1))
        .map(|m| clean_line(m.as_str()))
        .filter(|s| !s.is_empty())
}

/// Truncates to `max` characters.
fn at_most(s: &str, max: u64) -> (String, bool) {
    let max = usize::try_from(max).unwrap_or(usize::MAX);
    if s.chars().count() > max {
        (s.chars().take(max).collect(), true)
    } else {
        (s.to_string(), false)
    }
}

/// Reads a new item from `msg`. The submitter is the `From` address,
/// already known not to be automatic: a `Reply-To` names nobody (anyone
/// can write someone else's address there and have us mail them).
pub fn from_mail(msg: &InboundMessage, rules: &IntakeRules) -> MailSubmission {
    let text = clean_multiline(&msg.text);
    let mut missing = Vec::new();
    let sender = msg.from.as_ref();
    let name = first_capture(&NAME_LINE, &text)
        .or_else(|| {
            msg.from
                .as_ref()
                .map(|m| clean_line(&m.name))
                // "phananh@…" as a display name is not a name.
                .filter(|n| !n.is_empty() && !n.contains('@'))
        })
        .filter(|n| n.chars().count() as u64 <= rules.name_max_chars);
    if name.is_none() {
        missing.push(Missing::Name);
    }
    let address = first_capture(&ADDRESS_LINE, &text)
        .filter(|a| a.chars().count() as u64 <= rules.address_max_chars);
    if address.is_none() {
        missing.push(Missing::Address);
    }
    let phone = first_capture(&PHONE_LINE, &text).and_then(|p| PhoneNumber::parse(&p).ok());
    let subject = clean_line(&msg.subject);
    let (content, truncated) = at_most(&text, rules.content_max_chars);
    if (content.chars().count() as u64) < rules.content_min_chars {
        missing.push(Missing::Content);
    }
    let title_source = if subject.chars().count() >= 3 {
        subject.clone()
    } else {
        content
            .lines()
            .map(clean_line)
            .find(|l| l.chars().count() >= 3)
            .unwrap_or_else(|| "Phản ánh, kiến nghị qua thư điện tử".into())
    };
    let (title, _) = at_most(&title_source, rules.title_max_chars);
    // A kiến nghị proposes something; staff confirm when classifying.
    let lowered = format!("{subject}\n{content}").to_lowercase();
    let kind = if lowered.contains("kiến nghị") && !lowered.contains("phản ánh") {
        FeedbackKind::KienNghi
    } else {
        FeedbackKind::PhanAnh
    };
    let language_flagged = !looks_vietnamese(&format!("{title}\n{content}"));
    MailSubmission {
        feedback: NewFeedback {
            kind,
            title,
            content,
            content_category: None,
            field_code: None,
            agency_code: None,
            submitter: Submitter {
                submitter_type: SubmitterType::Individual,
                full_name: name.unwrap_or_default(),
                organization_name: None,
                address: Address {
                    detail: address.unwrap_or_default(),
                    province_code: None,
                    commune_code: None,
                },
                phone,
                email: sender.map(|m| m.address.clone()),
            },
            // Consent to publish is never inferred from an e-mail.
            consent_to_publish: false,
            language_flagged,
        },
        missing,
        truncated,
    }
}

/// The request for what is missing, in the submitter's language, citing
/// the rule.
pub fn request_for(missing: &[Missing]) -> String {
    let items: Vec<String> = missing
        .iter()
        .map(|m| format!("- {}", m.label_vi()))
        .collect();
    format!(
        "Theo Điều 7 Nghị định 20/2008/NĐ-CP (được sửa đổi, bổ sung bởi Nghị định 92/2017/NĐ-CP), phản ánh, kiến nghị phải ghi rõ họ và tên, địa chỉ và số điện thoại hoặc địa chỉ thư điện tử của người gửi. Thư của Ông/Bà chưa có:\n{}\n\nĐề nghị Ông/Bà trả lời thư này, ghi các thông tin trên (ví dụ: \"Họ và tên: …\", \"Địa chỉ: …\") để phản ánh, kiến nghị được xem xét, xử lý.",
        items.join("\n")
    )
}

/// Tracking codes written in a subject or text, in order.
pub fn tracking_codes_in(text: &str) -> Vec<TrackingCode> {
    let Some(re) = CODE_IN_TEXT.as_ref() else {
        return Vec::new();
    };
    re.find_iter(text)
        .filter_map(|m| m.as_str().to_ascii_uppercase().parse().ok())
        .collect()
}

/// A reply's own words: the quoted message below (or the "> " lines of)
/// what the sender wrote is dropped. Falls back to the whole text when
/// nothing would be left.
pub fn reply_text(text: &str) -> String {
    let mut kept = Vec::new();
    for line in text.lines() {
        if QUOTE_HEADER.as_ref().is_some_and(|re| re.is_match(line)) {
            break;
        }
        if line.trim_start().starts_with('>') {
            continue;
        }
        kept.push(line);
    }
    let own = clean_multiline(&kept.join("\n"));
    if own.is_empty() {
        clean_multiline(text)
    } else {
        own
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::mail::parse;

    fn rules() -> IntakeRules {
        IntakeRules {
            title_max_chars: 200,
            content_min_chars: 20,
            content_max_chars: 20000,
            name_max_chars: 150,
            address_max_chars: 300,
        }
    }

    fn mail(from: &str, subject: &str, body: &str) -> InboundMessage {
        let raw = format!(
            "From: {from}\r\nTo: phananh@danang.gov.vn\r\nSubject: {subject}\r\nMessage-ID: <a1@example.vn>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}"
        );
        parse(raw.as_bytes()).expect("parses")
    }

    #[test]
    fn labelled_lines_give_name_address_and_phone() {
        let m = mail(
            "=?utf-8?b?VHLhuqduIFbEg24gQQ==?= <a@example.vn>",
            "Thủ tục cấp phép xây dựng",
            "Kính gửi Văn phòng,\n\nThủ tục cấp giấy phép xây dựng nhà ở riêng lẻ yêu cầu nộp bản sao công chứng nhiều lần.\n\nHọ và tên: Nguyễn Thị Bình\nĐịa chỉ: 12 Lê Lợi, phường Hải Châu, TP Đà Nẵng\nĐiện thoại: 0905 123 456\n",
        );
        let s = from_mail(&m, &rules());
        assert!(s.missing.is_empty(), "{:?}", s.missing);
        assert_eq!(s.feedback.submitter.full_name, "Nguyễn Thị Bình");
        assert_eq!(
            s.feedback.submitter.address.detail,
            "12 Lê Lợi, phường Hải Châu, TP Đà Nẵng"
        );
        assert_eq!(
            s.feedback.submitter.phone.as_ref().map(|p| p.as_e164()),
            Some("+84905123456")
        );
        assert_eq!(s.feedback.submitter.email.as_deref(), Some("a@example.vn"));
        assert_eq!(s.feedback.title, "Thủ tục cấp phép xây dựng");
        assert!(!s.feedback.consent_to_publish);
    }

    #[test]
    fn a_display_name_is_the_name_and_a_missing_address_is_asked_for() {
        let m = mail(
            "=?utf-8?b?VHLhuqduIFbEg24gQQ==?= <a@example.vn>",
            "Hỏi về thủ tục",
            "Thủ tục đăng ký hộ kinh doanh ở phường mất quá nhiều thời gian chờ đợi.",
        );
        let s = from_mail(&m, &rules());
        assert_eq!(s.feedback.submitter.full_name, "Trần Văn A");
        assert_eq!(s.missing, vec![Missing::Address]);
        let request = request_for(&s.missing);
        assert!(request.contains("địa chỉ liên hệ"));
        assert!(request.contains("Nghị định 20/2008/NĐ-CP"));
    }

    #[test]
    fn a_bare_address_and_a_short_text_miss_name_and_content() {
        let m = mail("phananh@example.vn", "", "Xem tệp.");
        let s = from_mail(&m, &rules());
        assert_eq!(
            s.missing,
            vec![Missing::Name, Missing::Address, Missing::Content]
        );
        // A title is always there: from the text when the subject is empty.
        assert_eq!(s.feedback.title, "Xem tệp.");
    }

    #[test]
    fn codes_are_found_in_any_case() {
        let codes = tracking_codes_in("Re: [pakn.48.20261122.0007] Đã tiếp nhận");
        assert_eq!(codes.len(), 1);
        assert_eq!(codes[0].to_string(), "PAKN.48.20261122.0007");
        assert!(tracking_codes_in("không có mã").is_empty());
    }

    proptest::proptest! {
        /// Ingestion's pure part never panics, whatever arrives (the fuzz
        /// target in tests/fuzz goes further, with coverage guidance).
        #[test]
        fn any_bytes_are_read_without_panicking(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..2048)) {
            if let Ok(m) = parse(&bytes) {
                let s = from_mail(&m, &rules());
                let _ = request_for(&s.missing);
                let _ = tracking_codes_in(&m.subject);
                let _ = reply_text(&m.text);
            }
        }

        #[test]
        fn any_text_under_headers_is_read_without_panicking(body in "\\PC{0,400}", subject in "\\PC{0,80}") {
            let m = mail("x@example.vn", &subject.replace(['\r', '\n'], " "), &body);
            let s = from_mail(&m, &rules());
            proptest::prop_assert!(s.feedback.title.chars().count() <= 200);
            proptest::prop_assert!(!s.feedback.title.is_empty());
        }
    }

    #[test]
    fn quoted_text_is_dropped_from_replies() {
        let text = "Địa chỉ: 5 Trần Phú, Hải Châu\n\nVào Th 2, 23 thg 11, 2026 lúc 08:00 Văn phòng <phananh@danang.gov.vn> đã viết:\n> Đề nghị bổ sung\n> địa chỉ";
        assert_eq!(reply_text(text), "Địa chỉ: 5 Trần Phú, Hải Châu");
        let gmail = "Tôi bổ sung số nhà 7.\n\nOn Mon, Nov 23, 2026 at 8:00 AM Office <x@y.vn> wrote:\n> quoted";
        assert_eq!(reply_text(gmail), "Tôi bổ sung số nhà 7.");
        assert_eq!(reply_text("> only quoted"), "> only quoted");
    }
}
