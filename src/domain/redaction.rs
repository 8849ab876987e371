//! Proposed redactions before publication (DOMAIN §8: never publish names,
//! phone numbers, e-mail addresses, street addresses, ID numbers; here
//! also licence plates). The service proposes, staff confirm or edit: a
//! pattern can miss or over-reach, so nothing is published unreviewed.

use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

/// What a span is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SpanKind {
    Name,
    Phone,
    Email,
    IdNumber,
    LicencePlate,
    Address,
}

impl SpanKind {
    /// What replaces the span in the proposed text.
    pub fn placeholder(self) -> &'static str {
        match self {
            SpanKind::Name => "[họ tên]",
            SpanKind::Phone => "[số điện thoại]",
            SpanKind::Email => "[email]",
            SpanKind::IdNumber => "[số giấy tờ]",
            SpanKind::LicencePlate => "[biển số xe]",
            SpanKind::Address => "[địa chỉ]",
        }
    }
}

/// A span to redact, in characters (Unicode code points) of the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Span {
    pub start: usize,
    pub end: usize,
    pub kind: SpanKind,
}

/// What the item itself says about its submitter: matched literally
/// wherever it appears in the text.
#[derive(Debug, Clone, Default)]
pub struct KnownPersonalData<'a> {
    pub names: Vec<&'a str>,
    pub phones: Vec<&'a str>,
    pub emails: Vec<&'a str>,
    pub addresses: Vec<&'a str>,
}

static PATTERNS: LazyLock<Vec<(SpanKind, Regex)>> = LazyLock::new(|| {
    let p = |kind, re: &str| Regex::new(re).map(|r| (kind, r)).ok();
    [
        p(SpanKind::Email, r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"),
        // Licence plates: 43A-123.45, 43A1-234.56, 51F 123 45.
        p(SpanKind::LicencePlate, r"\b\d{2}[A-Z]{1,2}\d?[- ]?\d{3}[. ]?\d{2}\b"),
        // Citizen ID (12 digits) and old ID cards (9 digits) written as
        // one number; phone numbers are matched first by their prefixes.
        p(SpanKind::Phone, r"(?:\+84|\b0)(?:[\s.\-]?\d){8,10}\b"),
        p(SpanKind::IdNumber, r"\b\d{12}\b|\b\d{9}\b"),
        // Passports: one letter and seven digits (C1234567, N7654321).
        p(SpanKind::IdNumber, r"\b[A-Z]\d{7}\b"),
        // A title followed by a capitalised Vietnamese name.
        p(
            SpanKind::Name,
            r"\b(?:[ôÔ]ng|[bB]à|[aA]nh|[cC]hị|[eE]m|[cC]ô|[cC]hú)\s+((?:\p{Lu}\p{Ll}*\s*){2,5})",
        ),
        // House numbers with a street word: số 12 đường Lê Lợi, 45/3 kiệt…
        p(
            SpanKind::Address,
            r"(?i:số nhà|số)?\s*\d+[\w/]*\s+(?i:đường|phố|kiệt|hẻm|ngõ|ngách|tổ)\s+(?:\p{Lu}\p{Ll}*\s*){1,4}",
        ),
        // A house number before a street's name without the street word,
        // as titles write it: nhà 12 Lê Lợi, 45/3 Hùng Vương, K12/7 Trần
        // Phú. Two capitalised words at least, so "Điều 7 Nghị định"
        // and "20 Ngày" stay.
        p(
            SpanKind::Address,
            r"\b[A-Z]?\d+[A-Za-z]?(?:/\d+[A-Za-z]?)*\s+\p{Lu}\p{Ll}*(?:\s+\p{Lu}\p{Ll}*){1,3}",
        ),
    ]
    .into_iter()
    .flatten()
    .collect()
});

/// The spans to redact in `text`, sorted and without overlaps (an earlier
/// or longer span wins).
pub fn find_spans(text: &str, known: &KnownPersonalData<'_>) -> Vec<Span> {
    let mut byte_spans: Vec<(usize, usize, SpanKind)> = Vec::new();
    // Case-insensitive literal matching, one character for one character
    // (lower-casing can change a text's byte length, e.g. `İ`, so offsets
    // are taken from the original text, never from a lower-cased copy).
    let fold = |c: char| c.to_lowercase().next().unwrap_or(c);
    let folded: Vec<(usize, char)> = text.char_indices().map(|(i, c)| (i, fold(c))).collect();
    let byte_at = |char_index: usize| folded.get(char_index).map_or(text.len(), |(i, _)| *i);
    let mut literal = |needle: &str, kind: SpanKind| {
        let needle: Vec<char> = needle.trim().chars().map(fold).collect();
        if needle.len() < 3 || needle.len() > folded.len() {
            return;
        }
        let mut at = 0;
        while at + needle.len() <= folded.len() {
            if folded[at..at + needle.len()]
                .iter()
                .zip(&needle)
                .all(|((_, a), b)| a == b)
            {
                byte_spans.push((byte_at(at), byte_at(at + needle.len()), kind));
                at += needle.len();
            } else {
                at += 1;
            }
        }
    };
    for n in &known.names {
        literal(n, SpanKind::Name);
    }
    for p in &known.phones {
        literal(p, SpanKind::Phone);
    }
    for e in &known.emails {
        literal(e, SpanKind::Email);
    }
    for a in &known.addresses {
        literal(a, SpanKind::Address);
    }
    for (kind, re) in PATTERNS.iter() {
        for caps in re.captures_iter(text) {
            // For names, redact the name, not the title before it.
            let m = caps
                .get(1)
                .filter(|_| *kind == SpanKind::Name)
                .or_else(|| caps.get(0));
            if let Some(m) = m {
                let trimmed = m.as_str().trim_end();
                let leading = m.as_str().len() - m.as_str().trim_start().len();
                if trimmed.trim().is_empty() {
                    continue;
                }
                byte_spans.push((m.start() + leading, m.start() + trimmed.len(), *kind));
            }
        }
    }
    byte_spans.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    let mut kept: Vec<(usize, usize, SpanKind)> = Vec::new();
    for span in byte_spans {
        match kept.last_mut() {
            Some(last) if span.0 < last.1 => {
                last.1 = last.1.max(span.1);
            }
            _ => kept.push(span),
        }
    }
    let to_chars = |byte: usize| text.get(..byte).map_or(0, |t| t.chars().count());
    kept.into_iter()
        .map(|(s, e, kind)| Span {
            start: to_chars(s),
            end: to_chars(e),
            kind,
        })
        .collect()
}

/// The kinds of personal data the detector still finds in `text`, each
/// once: what publishing refuses unless a person confirms it is not.
pub fn remaining(text: &str, known: &KnownPersonalData<'_>) -> Vec<SpanKind> {
    let mut kinds = Vec::new();
    for span in find_spans(text, known) {
        if !kinds.contains(&span.kind) {
            kinds.push(span.kind);
        }
    }
    kinds
}

/// `text` with each span replaced by its placeholder.
pub fn apply(text: &str, spans: &[Span]) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for span in spans {
        if span.start < at || span.end > chars.len() {
            continue;
        }
        out.extend(&chars[at..span.start]);
        out.push_str(span.kind.placeholder());
        at = span.end;
    }
    out.extend(&chars[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redact(text: &str, known: &KnownPersonalData<'_>) -> String {
        apply(text, &find_spans(text, known))
    }

    #[test]
    fn letters_that_change_length_when_lower_cased_do_not_shift_spans() {
        // `İ` grows and `ẞ` shrinks when lower-cased: byte offsets taken
        // from a lower-cased copy used to land inside `Đ` and panic.
        let known = KnownPersonalData {
            names: vec!["Đỗ Văn An"],
            ..Default::default()
        };
        assert_eq!(redact("İ Đỗ Văn Anẞ", &known), "İ [họ tên]ẞ");
        assert_eq!(redact("İİ ĐỖ VĂN AN đã gửi", &known), "İİ [họ tên] đã gửi");
    }

    #[test]
    fn contact_details_ids_and_plates_are_proposed() {
        let text = "Tôi gọi 0912 345 678 và gửi thư tới an.nguyen@example.vn, CCCD 048123456789, xe 43A-123.45 bị giữ.";
        let out = redact(text, &KnownPersonalData::default());
        assert_eq!(
            out,
            "Tôi gọi [số điện thoại] và gửi thư tới [email], CCCD [số giấy tờ], xe [biển số xe] bị giữ."
        );
    }

    #[test]
    fn the_submitters_own_data_is_found_wherever_it_appears() {
        let known = KnownPersonalData {
            names: vec!["Nguyễn Văn An"],
            phones: vec![],
            emails: vec![],
            addresses: vec!["12 Lê Lợi"],
        };
        let text =
            "Tôi là Nguyễn Văn An, ở 12 Lê Lợi. Ông Trần Văn Bình ở phòng một cửa hẹn nhiều lần.";
        let out = redact(text, &known);
        assert_eq!(
            out,
            "Tôi là [họ tên], ở [địa chỉ]. Ông [họ tên] ở phòng một cửa hẹn nhiều lần."
        );
    }

    #[test]
    fn spans_are_in_characters_and_do_not_overlap() {
        let text = "Bà Lê Thị Hoa, số 45 đường Hùng Vương, sđt 0905123456";
        let spans = find_spans(text, &KnownPersonalData::default());
        for w in spans.windows(2) {
            assert!(w[0].end <= w[1].start);
        }
        let chars: Vec<char> = text.chars().collect();
        let name: String = chars[spans[0].start..spans[0].end].iter().collect();
        assert_eq!(name, "Lê Thị Hoa");
        assert!(spans.iter().any(|s| s.kind == SpanKind::Address));
        assert!(spans.iter().any(|s| s.kind == SpanKind::Phone));
    }

    #[test]
    fn house_numbers_in_titles_and_passports_are_found() {
        let none = KnownPersonalData::default();
        assert_eq!(
            redact("Ngập nước trước nhà 12 Lê Lợi", &none),
            "Ngập nước trước nhà [địa chỉ]"
        );
        assert_eq!(
            redact("Cống hỏng ở 45/3 Hùng Vương kéo dài", &none),
            "Cống hỏng ở [địa chỉ] kéo dài"
        );
        assert_eq!(
            redact("Hộ chiếu số C1234567 bị giữ", &none),
            "Hộ chiếu số [số giấy tờ] bị giữ"
        );
        // A law's article and a count of days are not addresses.
        for plain in [
            "Theo Điều 7 Nghị định 20/2008/NĐ-CP",
            "Thủ Tục Quá Hạn 20 Ngày",
            "Phí tăng 50% so với năm 2025",
        ] {
            assert_eq!(find_spans(plain, &none), vec![], "{plain}");
        }
        assert_eq!(
            remaining("Gọi 0905123456, nhà 7 Trần Phú", &none),
            vec![SpanKind::Phone, SpanKind::Address]
        );
    }

    #[test]
    fn ordinary_text_is_left_alone() {
        let text =
            "Thủ tục cấp giấy phép xây dựng theo Nghị định 175/2024/NĐ-CP mất 20 ngày làm việc.";
        assert_eq!(find_spans(text, &KnownPersonalData::default()), vec![]);
    }
}
