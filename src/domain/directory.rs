//! The directory of agencies, fields (lĩnh vực) and administrative units
//! (DOMAIN §10). Agencies are versioned by validity dates because the 2025
//! restructuring merged and renamed many of them.

use super::ids::{AgencyId, FieldId};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize)]
pub struct Agency {
    #[serde(skip)]
    pub id: AgencyId,
    pub code: String,
    pub name: String,
    pub short_name: Option<String>,
    pub kind: String,
    pub level: String,
    pub parent_code: Option<String>,
    pub province_code: Option<String>,
    pub commune_code: Option<String>,
    pub is_receiving_office: bool,
    pub address: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub website: Option<String>,
    pub field_codes: Vec<String>,
    pub valid_from: NaiveDate,
    pub valid_to: Option<NaiveDate>,
    pub is_demo: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Field {
    #[serde(skip)]
    pub id: FieldId,
    pub code: String,
    pub name: String,
    pub description: Option<String>,
    pub is_demo: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct AdministrativeUnit {
    pub code: String,
    pub name: String,
    pub level: String,
    pub kind: String,
    pub province_code: Option<String>,
    pub valid_from: NaiveDate,
    pub valid_to: Option<NaiveDate>,
    pub is_demo: bool,
}

/// Which agencies a listing should return.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AgencyFilter {
    pub level: Option<String>,
    pub kind: Option<String>,
    pub province_code: Option<String>,
    pub field_code: Option<String>,
    /// Also list agencies whose validity has ended (merged, renamed).
    pub include_inactive: bool,
}

/// The demo directory file (`config/demo/directory.toml`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectoryFile {
    pub valid_from: NaiveDate,
    pub source: String,
    #[serde(default)]
    pub province: Vec<UnitEntry>,
    #[serde(default)]
    pub commune: Vec<UnitEntry>,
    #[serde(default)]
    pub field: Vec<FieldEntry>,
    #[serde(default)]
    pub agency: Vec<AgencyEntry>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitEntry {
    pub code: String,
    pub name: String,
    pub kind: String,
    pub province_code: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldEntry {
    pub code: String,
    pub name: String,
    pub description: Option<String>,
    pub sort_order: i32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgencyEntry {
    pub code: String,
    pub name: String,
    pub kind: String,
    pub level: String,
    pub short_name: Option<String>,
    pub parent: Option<String>,
    pub province_code: Option<String>,
    pub commune_code: Option<String>,
    #[serde(default)]
    pub is_receiving_office: bool,
    pub address: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub website: Option<String>,
    #[serde(default)]
    pub fields: Vec<String>,
    /// The first day the agency no longer exists (dissolved or merged in
    /// a reorganisation): kept so old items still name it, never offered
    /// for new work.
    #[serde(default)]
    pub valid_to: Option<chrono::NaiveDate>,
}

/// The demo directory shipped with the service.
pub const DEMO_DIRECTORY: &str = include_str!("../../config/demo/directory.toml");

impl DirectoryFile {
    pub fn demo() -> Result<Self, String> {
        toml::from_str(DEMO_DIRECTORY).map_err(|e| format!("config/demo/directory.toml: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_directory_is_consistent() {
        let d = DirectoryFile::demo().unwrap();
        assert_eq!(
            d.province.len(),
            34,
            "34 provincial units since NQ 202/2025/QH15"
        );
        let agencies: std::collections::HashSet<_> =
            d.agency.iter().map(|a| a.code.as_str()).collect();
        let fields: std::collections::HashSet<_> =
            d.field.iter().map(|f| f.code.as_str()).collect();
        for a in &d.agency {
            if let Some(p) = &a.parent {
                assert!(
                    agencies.contains(p.as_str()),
                    "{} has unknown parent {p}",
                    a.code
                );
            }
            for f in &a.fields {
                assert!(
                    fields.contains(f.as_str()),
                    "{} handles unknown field {f}",
                    a.code
                );
            }
        }
        let sở = d
            .agency
            .iter()
            .filter(|a| a.kind == "so" && a.province_code.as_deref() == Some("48"))
            .filter(|a| a.valid_to.is_none())
            .count();
        // 12 mandatory Sở under NĐ 150/2025: 10 "Sở", Thanh tra and the VP UBND.
        assert_eq!(sở, 10);
        // Agencies merged away keep a date after which they no longer
        // exist, and handle no field any more.
        for a in d.agency.iter().filter(|a| a.valid_to.is_some()) {
            assert!(a.fields.is_empty(), "{} is gone but handles fields", a.code);
        }
        assert!(d.agency.iter().any(|a| a.kind == "thanh_tra"));
        assert_eq!(
            d.agency
                .iter()
                .filter(|a| a.is_receiving_office && a.province_code.as_deref() == Some("48"))
                .count(),
            1
        );
    }
}
