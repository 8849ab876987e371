//! Text normalisation shared by every channel.
//!
//! Vietnamese arrives in several Unicode shapes: precomposed (NFC), decomposed
//! (NFD, common from windows-1258 mail and macOS), and with the tone mark on
//! different vowels (`hoà` vs `hòa`). Everything we store is NFC; everything we
//! search is *folded* (no marks, `đ`→`d`, lower case) so that `đường`, `duong`
//! and `ĐƯỜNG` find the same items on both databases.

use std::borrow::Cow;

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfc_quick};

/// NFC, skipping the (allocating) composition pass for text that a quick
/// check already proves is NFC: nearly all input.
fn nfc(input: &str) -> Cow<'_, str> {
    if is_nfc_quick(input.chars()) == IsNormalized::Yes {
        Cow::Borrowed(input)
    } else {
        Cow::Owned(input.nfc().collect())
    }
}

/// NFC-normalises `input`, removes control characters (keeping line breaks and
/// tabs in multi-line text), normalises line endings to `\n` and trims.
pub fn clean_multiline(input: &str) -> String {
    let nfc: String = input
        .replace("\r\n", "\n")
        .replace('\r', "\n")
        .nfc()
        .collect();
    let kept: String = nfc
        .chars()
        .filter(|c| *c == '\n' || *c == '\t' || !is_unwanted_control(*c))
        .collect();
    kept.trim().to_string()
}

/// Like [`clean_multiline`] but for one-line values (names, titles, codes):
/// every run of white space, including line breaks, becomes one space.
pub fn clean_line(input: &str) -> String {
    let normalized = nfc(input);
    let mut out = String::with_capacity(normalized.len());
    let mut pending_space = false;
    for c in normalized.chars() {
        if c.is_whitespace() {
            pending_space = !out.is_empty();
        } else if is_unwanted_control(c) {
            continue;
        } else {
            if pending_space {
                out.push(' ');
                pending_space = false;
            }
            out.push(c);
        }
    }
    out
}

/// Control and invisible formatting characters that have no place in citizen
/// text (C0/C1 controls, zero-width and bidi overrides that can disguise text).
fn is_unwanted_control(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}')
}

/// Folds text for diacritics-insensitive search: NFD, drop combining marks,
/// `đ/Đ`→`d` (which has no decomposition), lower case, punctuation to spaces,
/// white space collapsed.
pub fn fold_for_search(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    let mut pending_space = false;
    for c in input.nfd() {
        if is_combining_mark(c) {
            continue;
        }
        let c = match c {
            'đ' | 'Đ' => 'd',
            c => c,
        };
        if c.is_alphanumeric() {
            if pending_space && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
            out.extend(c.to_lowercase());
        } else {
            pending_space = true;
        }
    }
    out
}

/// Letters that only Vietnamese (among the languages people write to us in)
/// uses: the modified vowels and `đ`, in NFC. Tone-marked vowels decompose to
/// a base vowel plus one of the five tone marks.
const VIETNAMESE_LETTERS: &str = "ăâđêôơưĂÂĐÊÔƠƯ";
const TONE_MARKS: [char; 5] = ['\u{0300}', '\u{0301}', '\u{0303}', '\u{0309}', '\u{0323}'];

/// Frequent Vietnamese syllables, folded. Lets us recognise Vietnamese typed
/// without diacritics, which Decree 20 does not forbid and which we must not
/// reject (DOMAIN §4: "do not auto-reject merely for missing diacritics").
const COMMON_SYLLABLES: &[&str] = &[
    "va", "cua", "khong", "cac", "nguoi", "duoc", "cho", "la", "co", "trong", "voi", "nay", "de",
    "mot", "nhung", "da", "tai", "ve", "thi", "tu", "theo", "toi", "xin", "dan", "viec", "thu",
    "tuc", "hanh", "chinh", "ho", "so", "giay", "phep", "den", "khi", "nam", "ngay", "nhan",
    "chung", "em", "anh", "chi", "ong", "ba", "uy", "ban", "xa", "phuong", "tinh",
];

/// Whether `text` reads as Vietnamese. A negative answer never rejects an
/// item: Decree 20 Art. 7 requires Vietnamese, but deciding that is staff
/// work (reason R06 after a clarification attempt), so we only flag it.
pub fn looks_vietnamese(text: &str) -> bool {
    let letters = text.chars().filter(|c| c.is_alphabetic()).count();
    if letters < 12 {
        // Too short to judge; do not bother staff with a flag.
        return true;
    }
    let marked = text
        .nfd()
        .filter(|c| TONE_MARKS.contains(c) || VIETNAMESE_LETTERS.contains(*c))
        .count();
    if marked * 40 >= letters {
        return true;
    }
    let folded = fold_for_search(text);
    let words: Vec<&str> = folded.split(' ').filter(|w| !w.is_empty()).collect();
    if words.is_empty() {
        return false;
    }
    let common = words
        .iter()
        .filter(|w| COMMON_SYLLABLES.contains(w))
        .count();
    common * 5 >= words.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_treats_d_stroke_and_marks_alike() {
        assert_eq!(fold_for_search("Đường Hùng Vương"), "duong hung vuong");
        assert_eq!(fold_for_search("ĐƯỜNG"), "duong");
        assert_eq!(fold_for_search("hoà"), fold_for_search("hòa"));
        let nfd: String = "Thủ tục hộ tịch".nfd().collect();
        assert_eq!(fold_for_search(&nfd), "thu tuc ho tich");
        assert_eq!(fold_for_search("  a,b;;c  "), "a b c");
    }

    #[test]
    fn clean_line_makes_nfc_and_drops_controls() {
        let nfd: String = "Nguyễn Văn A".nfd().collect();
        assert_ne!(nfd, "Nguyễn Văn A");
        assert_eq!(
            clean_line(&format!("  {nfd}\u{0007}\n  B ")),
            "Nguyễn Văn A B"
        );
        assert_eq!(clean_line("a\u{202E}b\u{200B}c"), "abc");
    }

    #[test]
    fn clean_multiline_keeps_paragraphs() {
        assert_eq!(
            clean_multiline("dòng 1\r\ndòng 2\u{0000}\r"),
            "dòng 1\ndòng 2"
        );
    }

    #[test]
    fn recognises_vietnamese_with_and_without_marks() {
        assert!(looks_vietnamese(
            "Thủ tục cấp giấy phép xây dựng quá chậm so với quy định."
        ));
        assert!(looks_vietnamese(
            "Thu tuc cap giay phep xay dung cua toi khong duoc giai quyet dung han"
        ));
        assert!(!looks_vietnamese(
            "The building permit procedure takes far too long for everybody here."
        ));
        assert!(!looks_vietnamese(
            "Процедура получения разрешения слишком долгая и сложная."
        ));
    }
}
