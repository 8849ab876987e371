//! Likely duplicates of an item, for triage: the same
//! submitter, similar wording (word pairs of the folded text, so accents
//! and case do not matter), the same procedure. A score and its reasons;
//! staff decide whether to merge.

use std::collections::HashSet;

use serde::Serialize;

/// What is compared of each item.
#[derive(Debug, Clone, Default)]
pub struct Fingerprint<'a> {
    pub folded_text: &'a str,
    pub phone: Option<&'a str>,
    pub email: Option<&'a str>,
    pub procedure_code: Option<&'a str>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Likeness {
    /// 0–100.
    pub score: u32,
    pub reasons: Vec<String>,
}

fn word_pairs(text: &str) -> HashSet<(&str, &str)> {
    let words: Vec<&str> = text.split_whitespace().collect();
    words.windows(2).map(|w| (w[0], w[1])).collect()
}

/// Jaccard similarity of the word pairs, 0.0–1.0.
pub fn text_similarity(a: &str, b: &str) -> f64 {
    let (x, y) = (word_pairs(a), word_pairs(b));
    if x.is_empty() || y.is_empty() {
        return 0.0;
    }
    let shared = x.intersection(&y).count() as f64;
    shared / (x.len() + y.len()) as f64 * 2.0
}

/// How alike two items are; `None` below the threshold worth showing.
pub fn compare(a: &Fingerprint<'_>, b: &Fingerprint<'_>) -> Option<Likeness> {
    let mut score = 0.0;
    let mut reasons = Vec::new();
    let same = |x: Option<&str>, y: Option<&str>| x.is_some_and(|x| !x.is_empty() && Some(x) == y);
    if same(a.phone, b.phone) || same(a.email, b.email) {
        score += 35.0;
        reasons.push("Cùng người gửi (trùng số điện thoại hoặc email)".to_string());
    }
    if same(a.procedure_code, b.procedure_code) {
        score += 15.0;
        reasons.push("Cùng thủ tục hành chính".to_string());
    }
    let similarity = text_similarity(a.folded_text, b.folded_text);
    if similarity >= 0.2 {
        score += similarity * 60.0;
        reasons.push(format!(
            "Nội dung giống nhau khoảng {:.0}%",
            similarity * 100.0
        ));
    }
    let score = score.round().min(100.0) as u32;
    (score >= 30).then_some(Likeness { score, reasons })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::text::fold_for_search;

    #[test]
    fn the_same_story_told_twice_is_found_whatever_the_accents() {
        let a = fold_for_search(
            "Hồ sơ xin cấp giấy phép xây dựng của tôi nộp ngày 02/10 đến nay đã quá hạn",
        );
        let b = fold_for_search(
            "HO SO XIN CAP GIAY PHEP XAY DUNG cua toi nop ngay 02/10 den nay da qua han roi",
        );
        let other = fold_for_search(
            "Đề nghị niêm yết công khai thủ tục hành chính tại bộ phận một cửa phường",
        );
        let fa = Fingerprint {
            folded_text: &a,
            phone: Some("+84912345678"),
            ..Default::default()
        };
        let fb = Fingerprint {
            folded_text: &b,
            phone: Some("+84912345678"),
            ..Default::default()
        };
        let fo = Fingerprint {
            folded_text: &other,
            ..Default::default()
        };
        let likeness = compare(&fa, &fb).unwrap();
        assert!(likeness.score >= 85, "{likeness:?}");
        assert_eq!(likeness.reasons.len(), 2);
        assert!(compare(&fa, &fo).is_none());
        // Same submitter, different matter: shown, but lower.
        let fs = Fingerprint {
            folded_text: &other,
            phone: Some("+84912345678"),
            ..Default::default()
        };
        assert_eq!(compare(&fa, &fs).unwrap().score, 35);
    }
}
