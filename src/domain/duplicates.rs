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

/// Jaccard similarity of the word pairs, 0.0–1.0, on the pairs themselves:
/// the reference the hashed comparison the service uses is held to.
#[cfg(test)]
fn text_similarity(a: &str, b: &str) -> f64 {
    let (x, y) = (word_pairs(a), word_pairs(b));
    if x.is_empty() || y.is_empty() {
        return 0.0;
    }
    let shared = x.intersection(&y).count() as f64;
    shared / (x.len() + y.len()) as f64 * 2.0
}

/// A text's word pairs, each as a hash: what an item keeps to be compared
/// with thousands of others (candidates are read once and reused).
pub fn pair_hashes(text: &str) -> HashSet<u64> {
    use std::hash::{Hash, Hasher};
    word_pairs(text)
        .into_iter()
        .map(|pair| {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            pair.hash(&mut h);
            h.finish()
        })
        .collect()
}

/// The Jaccard similarity of two texts' word pairs, given as [`pair_hashes`].
pub fn hashed_similarity(x: &HashSet<u64>, y: &HashSet<u64>) -> f64 {
    if x.is_empty() || y.is_empty() {
        return 0.0;
    }
    let (small, large) = if x.len() <= y.len() { (x, y) } else { (y, x) };
    let shared = small.iter().filter(|h| large.contains(h)).count() as f64;
    shared / (x.len() + y.len()) as f64 * 2.0
}

/// An item ready to be compared with many others: its word pairs are
/// taken once.
pub struct Prepared<'a> {
    fingerprint: Fingerprint<'a>,
    pairs: HashSet<u64>,
}

impl<'a> Prepared<'a> {
    pub fn new(fingerprint: Fingerprint<'a>) -> Self {
        Self {
            pairs: pair_hashes(fingerprint.folded_text),
            fingerprint,
        }
    }

    /// How alike this item and `other` are (`None` below the threshold
    /// worth showing); `other_pairs` are `other`'s text's
    /// [`pair_hashes`].
    pub fn compare(&self, other: &Fingerprint<'_>, other_pairs: &HashSet<u64>) -> Option<Likeness> {
        likeness(&self.fingerprint, other, || {
            hashed_similarity(&self.pairs, other_pairs)
        })
    }
}

/// How alike two items are; `None` below the threshold worth showing. The
/// reference for [`Prepared::compare`], which the service uses.
#[cfg(test)]
fn compare(a: &Fingerprint<'_>, b: &Fingerprint<'_>) -> Option<Likeness> {
    likeness(a, b, || text_similarity(a.folded_text, b.folded_text))
}

fn likeness(
    a: &Fingerprint<'_>,
    b: &Fingerprint<'_>,
    text: impl FnOnce() -> f64,
) -> Option<Likeness> {
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
    let similarity = text();
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
    fn a_prepared_item_compares_as_a_pair_does() {
        let texts = [
            fold_for_search("ho so cap phep xay dung qua han qua han ho so"),
            fold_for_search("Hồ sơ cấp phép xây dựng quá hạn"),
            fold_for_search("niem yet thu tuc"),
            String::new(),
        ];
        for a in &texts {
            let prepared = Prepared::new(Fingerprint {
                folded_text: a,
                phone: Some("+84912345678"),
                ..Default::default()
            });
            for b in &texts {
                let other = Fingerprint {
                    folded_text: b,
                    phone: Some("+84912345678"),
                    ..Default::default()
                };
                let pair = compare(
                    &Fingerprint {
                        folded_text: a,
                        phone: Some("+84912345678"),
                        ..Default::default()
                    },
                    &other,
                );
                assert_eq!(
                    prepared.compare(&other, &pair_hashes(b)),
                    pair,
                    "{a:?} / {b:?}"
                );
            }
        }
    }

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
