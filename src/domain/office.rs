//! The receiving office's identity as every page, notice and document
//! names it: a *tỉnh* or a *thành phố trực thuộc trung ương*, its name, and
//! how citizens reach it. Built once from `[province]`; no wording in the
//! service hard-codes "tỉnh".

use serde::Serialize;

/// Whether the province-level unit is a *tỉnh* or a centrally governed
/// city (*thành phố trực thuộc trung ương*): the words differ on every
/// page ("Ủy ban nhân dân thành phố Đà Nẵng", "trong thành phố").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProvinceKind {
    Tinh,
    ThanhPho,
}

impl ProvinceKind {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "tinh" => Some(Self::Tinh),
            "thanh_pho" => Some(Self::ThanhPho),
            _ => None,
        }
    }

    /// The common noun, lower case: "tỉnh", "thành phố".
    pub fn word(self) -> &'static str {
        match self {
            Self::Tinh => "tỉnh",
            Self::ThanhPho => "thành phố",
        }
    }
}

/// The office and how to reach it. Empty contact fields are left out of
/// every page (never shown as a placeholder).
#[derive(Debug, Clone, Serialize)]
pub struct Office {
    pub province_code: String,
    pub kind: ProvinceKind,
    /// The place name alone: "Đà Nẵng".
    pub province_name: String,
    /// "Văn phòng Ủy ban nhân dân thành phố Đà Nẵng" unless set otherwise.
    pub name: String,
    pub hotline: String,
    pub postal_address: String,
    pub email: String,
    pub opening_hours: String,
    /// An image shown beside the office's name; empty = none.
    pub emblem_url: String,
}

impl Office {
    /// "tỉnh" or "thành phố".
    pub fn kind_word(&self) -> &'static str {
        self.kind.word()
    }

    /// "thành phố Đà Nẵng", "tỉnh Quảng Ngãi".
    pub fn province(&self) -> String {
        format!("{} {}", self.kind.word(), self.province_name)
    }

    /// "Thành phố Đà Nẵng": as a sentence or a heading starts.
    pub fn province_title(&self) -> String {
        capitalize(&self.province())
    }

    /// "Ủy ban nhân dân thành phố Đà Nẵng".
    pub fn people_committee(&self) -> String {
        format!("Ủy ban nhân dân {}", self.province())
    }

    /// "trong thành phố", "trong tỉnh".
    pub fn within(&self) -> String {
        format!("trong {}", self.kind.word())
    }

    /// "Toàn thành phố", "Toàn tỉnh".
    pub fn whole(&self) -> String {
        format!("Toàn {}", self.kind.word())
    }

    /// "Ngoài thành phố", "Ngoài tỉnh".
    pub fn outside(&self) -> String {
        format!("Ngoài {}", self.kind.word())
    }

    /// The hotline as a `tel:` URI (digits and a leading + only).
    pub fn hotline_uri(&self) -> String {
        let digits: String = self
            .hotline
            .chars()
            .filter(|c| c.is_ascii_digit() || *c == '+')
            .collect();
        format!("tel:{digits}")
    }

    /// Whether any way to reach the office is set.
    pub fn has_contacts(&self) -> bool {
        !(self.hotline.is_empty()
            && self.postal_address.is_empty()
            && self.email.is_empty()
            && self.opening_hours.is_empty())
    }
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn office(kind: ProvinceKind, name: &str) -> Office {
        Office {
            province_code: "48".into(),
            kind,
            province_name: name.into(),
            name: String::new(),
            hotline: "0236 1022".into(),
            postal_address: String::new(),
            email: String::new(),
            opening_hours: String::new(),
            emblem_url: String::new(),
        }
    }

    #[test]
    fn a_city_and_a_province_are_named_as_they_are() {
        let city = office(ProvinceKind::ThanhPho, "Đà Nẵng");
        assert_eq!(city.people_committee(), "Ủy ban nhân dân thành phố Đà Nẵng");
        assert_eq!(city.within(), "trong thành phố");
        assert_eq!(city.whole(), "Toàn thành phố");
        assert_eq!(city.province_title(), "Thành phố Đà Nẵng");
        let province = office(ProvinceKind::Tinh, "Quảng Ngãi");
        assert_eq!(
            province.people_committee(),
            "Ủy ban nhân dân tỉnh Quảng Ngãi"
        );
        assert_eq!(province.outside(), "Ngoài tỉnh");
        assert_eq!(province.province_title(), "Tỉnh Quảng Ngãi");
        assert_eq!(city.hotline_uri(), "tel:02361022");
        assert_eq!(
            ProvinceKind::parse("thanh_pho"),
            Some(ProvinceKind::ThanhPho)
        );
        assert_eq!(ProvinceKind::parse("city"), None);
    }
}
