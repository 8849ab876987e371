//! Reasons an item is not accepted (DOMAIN §5), loaded from data
//! (`config/rejection_reasons.toml`) so that a province can add its own.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RejectionReason {
    pub code: String,
    pub label: String,
    pub basis: String,
    /// What the submitter is told, including where to go instead.
    pub citizen: String,
    /// Complaints, denunciations and the like are never published.
    #[serde(default)]
    pub publishable: bool,
    /// `false` for reasons only the system applies.
    #[serde(default = "yes")]
    pub staff_may_use: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReasonsFile {
    reason: Vec<RejectionReason>,
}

/// The reasons in force, checked: unique codes, nothing empty, and the
/// codes the service itself relies on present.
#[derive(Debug, Clone)]
pub struct RejectionReasons(Vec<RejectionReason>);

/// The reason the clarification timeout applies (DOMAIN §5 R07).
pub const CLARIFICATION_TIMEOUT: &str = "R07";

impl RejectionReasons {
    pub fn from_toml(text: &str) -> Result<Self, String> {
        let file: ReasonsFile = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut errors = Vec::new();
        for (i, r) in file.reason.iter().enumerate() {
            if r.code.trim().is_empty() || r.label.trim().is_empty() || r.citizen.trim().is_empty()
            {
                errors.push(format!(
                    "reason {}: code, label and citizen text are required",
                    i + 1
                ));
            }
            if file.reason.iter().filter(|o| o.code == r.code).count() > 1 {
                errors.push(format!("reason {} is listed twice", r.code));
            }
        }
        for required in ["R01", "R02", CLARIFICATION_TIMEOUT] {
            if !file.reason.iter().any(|r| r.code == required) {
                errors.push(format!("reason {required} is required"));
            }
        }
        if errors.is_empty() {
            Ok(Self(file.reason))
        } else {
            errors.dedup();
            Err(errors.join("; "))
        }
    }

    pub fn get(&self, code: &str) -> Option<&RejectionReason> {
        self.0.iter().find(|r| r.code == code)
    }

    pub fn all(&self) -> &[RejectionReason] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHIPPED: &str = include_str!("../../config/rejection_reasons.toml");

    #[test]
    fn the_shipped_reasons_cover_domain_section_5() {
        let reasons = RejectionReasons::from_toml(SHIPPED).unwrap();
        for n in 1..=13 {
            assert!(reasons.get(&format!("R{n:02}")).is_some(), "R{n:02}");
        }
        // Complaints and denunciations are never published.
        assert!(!reasons.get("R01").unwrap().publishable);
        assert!(!reasons.get("R02").unwrap().publishable);
        assert!(reasons.get("R02").unwrap().citizen.contains("Luật Tố cáo"));
    }

    #[test]
    fn broken_reason_files_are_refused() {
        assert!(
            RejectionReasons::from_toml(
                "[[reason]]\ncode = \"R01\"\nlabel = \"x\"\nbasis = \"y\"\ncitizen = \"z\""
            )
            .unwrap_err()
            .contains("R02")
        );
        let twice = format!(
            "{SHIPPED}\n[[reason]]\ncode = \"R01\"\nlabel = \"x\"\nbasis = \"y\"\ncitizen = \"z\"\n"
        );
        assert!(
            RejectionReasons::from_toml(&twice)
                .unwrap_err()
                .contains("twice")
        );
    }
}
