//! Routing suggestions: which agency can act on an item, with
//! the reasons, for the control office to accept or override. Rules are
//! data: the directory (an agency's fields, the UBND of a commune) and
//! keyword rules in `config/routing.toml`.

use serde::{Deserialize, Serialize};

use super::text::fold_for_search;

/// An agency that could receive the item.
#[derive(Debug, Clone)]
pub struct Candidate<'a> {
    pub code: &'a str,
    pub name: &'a str,
    pub kind: &'a str,
    pub province_code: Option<&'a str>,
    pub commune_code: Option<&'a str>,
    pub field_codes: &'a [String],
}

/// What the item says.
#[derive(Debug, Clone, Default)]
pub struct ItemFacts<'a> {
    pub field_code: Option<&'a str>,
    pub field_name: Option<&'a str>,
    pub commune_code: Option<&'a str>,
    /// The agency the submitter named, if any.
    pub agency_hint: Option<&'a str>,
    /// Title and content, folded (see `fold_for_search`).
    pub folded_text: &'a str,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct KeywordRule {
    pub words: Vec<String>,
    pub agency: String,
    pub basis: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    #[serde(default)]
    keyword: Vec<KeywordRule>,
}

/// Parses `config/routing.toml`; words are folded once here.
pub fn parse_rules(text: &str) -> Result<Vec<KeywordRule>, String> {
    let file: RulesFile = toml::from_str(text).map_err(|e| e.to_string())?;
    let mut rules = file.keyword;
    for r in &mut rules {
        r.words = r
            .words
            .iter()
            .map(|w| fold_for_search(w))
            .filter(|w| !w.is_empty())
            .collect();
        if r.words.is_empty() || r.agency.trim().is_empty() {
            return Err(format!(
                "routing rule for {:?}: words and agency are required",
                r.agency
            ));
        }
    }
    Ok(rules)
}

/// One suggestion and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Suggestion {
    pub agency_code: String,
    pub agency_name: String,
    pub score: u32,
    pub reasons: Vec<String>,
}

/// Ranks the candidates for `facts` (best first, at most five). The
/// receiving office `exclude` is never suggested: handling an item
/// itself is "accept", not a forward.
pub fn suggest(
    facts: &ItemFacts<'_>,
    candidates: &[Candidate<'_>],
    rules: &[KeywordRule],
    province_code: &str,
    exclude: &str,
) -> Vec<Suggestion> {
    let text = format!(" {} ", facts.folded_text);
    let mut out: Vec<Suggestion> = Vec::new();
    for c in candidates.iter().filter(|c| c.code != exclude) {
        let mut score = 0;
        let mut reasons = Vec::new();
        if facts.agency_hint == Some(c.code) {
            score += 30;
            reasons.push("Người gửi nêu cơ quan này là cơ quan có liên quan".to_string());
        }
        let in_province = c.province_code == Some(province_code);
        let has_field = facts
            .field_code
            .is_some_and(|f| c.field_codes.iter().any(|x| x == f));
        let field_name = facts.field_name.or(facts.field_code).unwrap_or_default();
        if has_field && in_province && c.kind == "so" {
            score += 40;
            reasons.push(format!("Sở quản lý lĩnh vực “{field_name}” của tỉnh"));
        }
        if facts.commune_code.is_some() && c.commune_code == facts.commune_code {
            if has_field {
                score += 35;
                reasons.push(format!(
                    "UBND xã/phường nơi người gửi cư trú, có thẩm quyền về lĩnh vực “{field_name}”"
                ));
            } else {
                score += 15;
                reasons.push("UBND xã/phường nơi người gửi cư trú".to_string());
            }
        }
        if has_field && !in_province && c.kind == "bo" {
            score += 10;
            reasons.push(format!(
                "Bộ quản lý lĩnh vực “{field_name}” (quy định ở cấp trung ương)"
            ));
        }
        for rule in rules.iter().filter(|r| r.agency == c.code) {
            // Whole words only: "thue" (tax) must not match inside
            // another word.
            if rule.words.iter().all(|w| text.contains(&format!(" {w} "))) {
                score += 25;
                reasons.push(format!(
                    "Từ khoá “{}”: {}",
                    rule.words.join(" + "),
                    rule.basis
                ));
            }
        }
        if score > 0 {
            out.push(Suggestion {
                agency_code: c.code.to_string(),
                agency_name: c.name.to_string(),
                score,
                reasons,
            });
        }
    }
    out.sort_by(|a, b| {
        b.score
            .cmp(&a.score)
            .then(a.agency_code.cmp(&b.agency_code))
    });
    out.truncate(5);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(f: &[&str]) -> Vec<String> {
        f.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn field_commune_hint_and_keywords_each_explain_themselves() {
        let sxd_fields = fields(&["xay_dung"]);
        let xa_fields = fields(&["xay_dung", "dat_dai"]);
        let bo_fields = fields(&["xay_dung"]);
        let candidates = [
            Candidate {
                code: "48.VP",
                name: "Văn phòng UBND",
                kind: "vp_ubnd_tinh",
                province_code: Some("48"),
                commune_code: None,
                field_codes: &sxd_fields,
            },
            Candidate {
                code: "48.SXD",
                name: "Sở Xây dựng",
                kind: "so",
                province_code: Some("48"),
                commune_code: None,
                field_codes: &sxd_fields,
            },
            Candidate {
                code: "48.20242",
                name: "UBND phường Hải Châu",
                kind: "ubnd_xa",
                province_code: Some("48"),
                commune_code: Some("20242"),
                field_codes: &xa_fields,
            },
            Candidate {
                code: "BXD",
                name: "Bộ Xây dựng",
                kind: "bo",
                province_code: None,
                commune_code: None,
                field_codes: &bo_fields,
            },
        ];
        let rules = parse_rules("[[keyword]]\nwords = [\"Giấy phép xây dựng\"]\nagency = \"48.SXD\"\nbasis = \"Sở Xây dựng cấp phép\"").unwrap();
        let text = fold_for_search("Thủ tục cấp giấy phép xây dựng quá hạn");
        let facts = ItemFacts {
            field_code: Some("xay_dung"),
            field_name: Some("Xây dựng"),
            commune_code: Some("20242"),
            agency_hint: None,
            folded_text: &text,
        };
        let s = suggest(&facts, &candidates, &rules, "48", "48.VP");
        assert_eq!(s[0].agency_code, "48.SXD");
        assert_eq!(s[0].score, 65);
        assert_eq!(s[0].reasons.len(), 2);
        assert_eq!(s[1].agency_code, "48.20242");
        assert_eq!(s[2].agency_code, "BXD");
        assert!(
            s.iter().all(|x| x.agency_code != "48.VP"),
            "never the receiving office"
        );
        // The submitter's hint counts, with its reason.
        let hinted = ItemFacts {
            agency_hint: Some("48.20242"),
            ..facts.clone()
        };
        let s = suggest(&hinted, &candidates, &rules, "48", "48.VP");
        assert_eq!(s[0].agency_code, "48.20242");
        assert!(s[0].reasons.iter().any(|r| r.contains("Người gửi")));
        // Nothing known: no suggestion rather than a guess.
        let empty = ItemFacts {
            folded_text: "abc",
            ..ItemFacts::default()
        };
        assert!(suggest(&empty, &candidates, &rules, "48", "48.VP").is_empty());
    }

    #[test]
    fn the_shipped_rules_parse() {
        let rules = parse_rules(include_str!("../../config/routing.toml")).unwrap();
        assert!(rules.iter().any(|r| r.words == ["giay phep xay dung"]));
    }
}
