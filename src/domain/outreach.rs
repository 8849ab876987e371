//! Making the channel known: the named sources the office publicises it
//! through and what a link's source code may look like. A code in a link
//! is never the citizen's problem: one that cannot be a code, or names no
//! live source, is recorded as `unknown` and nothing else happens.

use serde::Serialize;

/// What an item records when its link named no live source.
pub const UNKNOWN_SOURCE: &str = "unknown";

/// The longest code a link may carry.
pub const CODE_MAX: usize = 40;

/// Where a source puts the channel in front of people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// A poster at a one-stop counter (Bộ phận Một cửa).
    Counter,
    /// A commune or ward centre.
    Commune,
    /// A leaflet print run.
    Leaflet,
    /// A notice in a newspaper, on radio or television.
    Press,
    /// A banner on a portal or web site.
    Portal,
    /// Next to a letter box.
    LetterBox,
    Other,
}

impl SourceKind {
    pub const ALL: [SourceKind; 7] = [
        SourceKind::Counter,
        SourceKind::Commune,
        SourceKind::Leaflet,
        SourceKind::Press,
        SourceKind::Portal,
        SourceKind::LetterBox,
        SourceKind::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Counter => "counter",
            SourceKind::Commune => "commune",
            SourceKind::Leaflet => "leaflet",
            SourceKind::Press => "press",
            SourceKind::Portal => "portal",
            SourceKind::LetterBox => "letter_box",
            SourceKind::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn label_vi(self) -> &'static str {
        match self {
            SourceKind::Counter => "Áp phích tại Bộ phận Một cửa",
            SourceKind::Commune => "Trụ sở xã, phường",
            SourceKind::Leaflet => "Tờ gấp",
            SourceKind::Press => "Báo, đài",
            SourceKind::Portal => "Cổng thông tin, trang web",
            SourceKind::LetterBox => "Cạnh hòm thư góp ý",
            SourceKind::Other => "Khác",
        }
    }
}

/// A code as staff choose it: 2–40 lower-case letters, digits and
/// hyphens, starting with a letter or digit (it is typed into links and
/// printed under QR codes).
pub fn is_code(code: &str) -> bool {
    (2..=CODE_MAX).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !code.starts_with('-')
        && code != UNKNOWN_SOURCE
}

/// What a link's `nguon` becomes before it is looked up: trimmed and
/// lower-cased when it can be a code, `None` when it cannot (counted as
/// unknown).
pub fn link_code(raw: &str) -> Option<String> {
    let code = raw.trim().to_ascii_lowercase();
    is_code(&code).then_some(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_short_plain_slugs() {
        for ok in ["mot-cua-hai-chau", "to-gap-2026", "b1"] {
            assert!(is_code(ok), "{ok}");
        }
        for bad in [
            "",
            "a",
            "-dau",
            "có-dấu",
            "has space",
            "UPPER",
            "x/y",
            "unknown",
            &"a".repeat(41),
        ] {
            assert!(!is_code(bad), "{bad}");
        }
        assert_eq!(link_code(" Mot-Cua "), Some("mot-cua".into()));
        assert_eq!(link_code("<script>"), None);
        assert_eq!(link_code(&"x".repeat(5000)), None);
    }

    #[test]
    fn every_kind_reads_back_and_has_a_label() {
        for k in SourceKind::ALL {
            assert_eq!(SourceKind::parse(k.as_str()), Some(k));
            assert!(!k.label_vi().is_empty());
        }
        assert_eq!(SourceKind::parse("billboard"), None);
    }
}
