//! Making the channel known, and knowing what works: the printable
//! leaflet and posters built from the office's settings with a QR code to
//! the form (rendered by the `qrcode` crate), the named sources staff
//! create (each with its short link and poster), and what each source and
//! channel brought in a period — how many items, how many in scope, the
//! rest by rejection reason.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use super::Services;
use super::staff_items::StaffError;
use crate::domain::feedback::{Channel, FieldError};
use crate::domain::office::Office;
use crate::domain::outreach::{SourceKind, UNKNOWN_SOURCE, is_code, link_code};
use crate::domain::reporting::DateRange;
use crate::domain::staff::{Actor, Permission};
use crate::domain::text::clean_line;
use crate::domain::time::VnTime;
use crate::store::StoreError;
use crate::store::journal::AuditEntry;
use crate::store::outreach::{SourceCount, SourceRow};

const NAME_MAX: usize = 200;
const PLACE_MAX: usize = 300;

fn require(actor: &Actor) -> Result<(), StaffError> {
    super::staff_items::require(actor, Permission::ManageSources)
}

/// The short link a source's poster and QR code carry.
pub fn short_link(base: &str, code: &str) -> String {
    format!("{}/n/{code}", base.trim_end_matches('/'))
}

/// The form's address.
pub fn form_link(base: &str) -> String {
    format!("{}/gui-phan-anh", base.trim_end_matches('/'))
}

/// A QR code for `url` as an SVG element that scales with its box: black
/// on white with the quiet zone the standard asks for, error correction
/// level M (a poster survives some wear).
pub fn qr_svg(url: &str) -> String {
    use qrcode::render::svg;
    match qrcode::QrCode::with_error_correction_level(url.as_bytes(), qrcode::EcLevel::M) {
        Ok(code) => code
            .render::<svg::Color>()
            .min_dimensions(240, 240)
            .quiet_zone(true)
            .dark_color(svg::Color("#000000"))
            .light_color(svg::Color("#ffffff"))
            .build(),
        // Only a URL longer than a QR code holds; none of ours is.
        Err(_) => String::new(),
    }
}

/// Items by how their intake ended so far.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Outcomes {
    pub items: u64,
    /// Taken in (in scope), whatever happened next.
    pub accepted: u64,
    pub not_accepted: u64,
    /// Not decided yet (received, waiting for information).
    pub undecided: u64,
    pub reasons: Vec<ReasonCount>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ReasonCount {
    pub code: String,
    pub label: String,
    pub items: u64,
}

impl Outcomes {
    fn add(&mut self, c: &SourceCount, reasons: &BTreeMap<String, String>) {
        let n = u64::try_from(c.items).unwrap_or(0);
        self.items += n;
        match c.state.as_str() {
            "received" | "awaiting_information" => self.undecided += n,
            "not_accepted" => {
                self.not_accepted += n;
                let code = c.rejection_code.clone().unwrap_or_default();
                match self.reasons.iter_mut().find(|r| r.code == code) {
                    Some(r) => r.items += n,
                    None => self.reasons.push(ReasonCount {
                        label: reasons.get(&code).cloned().unwrap_or_else(|| code.clone()),
                        code,
                        items: n,
                    }),
                }
            }
            _ => self.accepted += n,
        }
    }

    /// The share taken in, of those decided, as a percentage.
    pub fn accepted_share(&self) -> Option<f64> {
        crate::domain::reporting::percent(self.accepted, self.accepted + self.not_accepted)
    }
}

/// A source with what it brought in the period.
#[derive(Debug, Clone, Serialize)]
pub struct SourceView {
    pub code: String,
    pub name: String,
    pub kind: String,
    pub kind_label: &'static str,
    pub place: Option<String>,
    pub created_by: String,
    pub created_at: VnTime,
    pub retired_at: Option<VnTime>,
    pub link: String,
    pub poster: String,
    #[serde(flatten)]
    pub outcomes: Outcomes,
}

/// A channel with what came through it in the period.
#[derive(Debug, Clone, Serialize)]
pub struct ChannelView {
    pub channel: String,
    pub label: &'static str,
    #[serde(flatten)]
    pub outcomes: Outcomes,
}

/// The sources and channels for a period.
#[derive(Debug, Clone, Serialize)]
pub struct SourcesReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub sources: Vec<SourceView>,
    /// Through a link whose source was not recognised (mistyped, cut,
    /// retired).
    pub unknown: Outcomes,
    /// Through the web form without a source's link.
    pub web_form_direct: Outcomes,
    pub channels: Vec<ChannelView>,
}

fn reason_labels(s: &Services) -> BTreeMap<String, String> {
    s.rejection_reasons
        .all()
        .iter()
        .map(|r| (r.code.clone(), r.label.clone()))
        .collect()
}

async fn gather(s: &Services, dates: DateRange, base: &str) -> Result<SourcesReport, StoreError> {
    let (from, to) = dates.instants();
    let counts = s.store.source_counts(from, to).await?;
    let reasons = reason_labels(s);
    let mut by_source: BTreeMap<String, Outcomes> = BTreeMap::new();
    let mut by_channel: BTreeMap<String, Outcomes> = BTreeMap::new();
    let mut direct = Outcomes::default();
    for c in &counts {
        by_channel
            .entry(c.channel.clone())
            .or_default()
            .add(c, &reasons);
        match &c.source {
            Some(code) => by_source.entry(code.clone()).or_default().add(c, &reasons),
            None if c.channel == Channel::WebForm.as_str() => direct.add(c, &reasons),
            None => {}
        }
    }
    let unknown = by_source.remove(UNKNOWN_SOURCE).unwrap_or_default();
    let sources = s
        .store
        .sources()
        .await?
        .into_iter()
        .map(|row| {
            let outcomes = by_source.remove(&row.code).unwrap_or_default();
            view(row, outcomes, base)
        })
        .collect();
    let channels = Channel::ALL
        .iter()
        .copied()
        .filter_map(|ch| {
            by_channel.remove(ch.as_str()).map(|outcomes| ChannelView {
                channel: ch.as_str().to_string(),
                label: ch.label_vi(),
                outcomes,
            })
        })
        .collect();
    Ok(SourcesReport {
        from: dates.from,
        to: dates.to,
        sources,
        unknown,
        web_form_direct: direct,
        channels,
    })
}

fn view(row: SourceRow, outcomes: Outcomes, base: &str) -> SourceView {
    let kind = SourceKind::parse(&row.kind).unwrap_or(SourceKind::Other);
    SourceView {
        link: short_link(base, &row.code),
        poster: format!("/ap-phich?nguon={}", row.code),
        kind_label: kind.label_vi(),
        kind: row.kind,
        code: row.code,
        name: row.name,
        place: row.place,
        created_by: row.created_by,
        created_at: row.created_at.into(),
        retired_at: row.retired_at.map(VnTime),
        outcomes,
    }
}

/// The sources with what each brought in `dates`, and every channel's
/// figures (staff who manage sources).
pub async fn report(
    s: &Services,
    actor: &Actor,
    dates: DateRange,
    base: &str,
) -> Result<SourcesReport, StaffError> {
    require(actor)?;
    Ok(gather(s, dates, base).await?)
}

/// The publicity figures for the six-monthly report (whoever reads the
/// report reads these).
pub async fn publicity(s: &Services, dates: DateRange) -> Result<SourcesReport, StoreError> {
    gather(s, dates, &s.settings.server.public_base_url).await
}

/// What staff type for a new source.
#[derive(Debug, Clone, Default)]
pub struct SourceInput {
    pub code: String,
    pub name: String,
    pub kind: String,
    pub place: String,
}

fn audit(actor: &Actor, action: &str, code: &str, request_id: Option<String>) -> AuditEntry {
    AuditEntry::by_staff(
        &actor.username,
        action,
        serde_json::json!({ "code": code }),
        request_id,
    )
}

/// Creates a source; its code goes into links and under QR codes.
pub async fn create(
    s: &Services,
    actor: &Actor,
    input: &SourceInput,
    request_id: Option<String>,
    now: DateTime<Utc>,
) -> Result<SourceView, StaffError> {
    require(actor)?;
    let mut errors = Vec::new();
    let code = input.code.trim().to_ascii_lowercase();
    if code.is_empty() {
        errors.push(FieldError::new("code", "required"));
    } else if !is_code(&code) {
        errors.push(FieldError::new("code", "source_code_invalid"));
    }
    let name = clean_line(&input.name);
    if name.is_empty() {
        errors.push(FieldError::new("name", "required"));
    } else if name.chars().count() > NAME_MAX {
        errors.push(FieldError::new("name", "too_long"));
    }
    let kind = SourceKind::parse(input.kind.trim());
    if kind.is_none() {
        errors.push(FieldError::new("kind", "invalid_choice"));
    }
    let place = clean_line(&input.place);
    if place.chars().count() > PLACE_MAX {
        errors.push(FieldError::new("place", "too_long"));
    }
    let Some(kind) = kind.filter(|_| errors.is_empty()) else {
        return Err(StaffError::Invalid(errors));
    };
    let row = SourceRow {
        code: code.clone(),
        name,
        kind: kind.as_str().into(),
        place: (!place.is_empty()).then_some(place),
        created_by: actor.username.clone(),
        created_at: now,
        retired_at: None,
    };
    match s
        .store
        .create_source(
            row.clone(),
            &audit(actor, "source.created", &code, request_id),
            now,
        )
        .await
    {
        Err(StoreError::Conflict(_)) => {
            return Err(StaffError::Invalid(vec![FieldError::new(
                "code",
                "source_code_taken",
            )]));
        }
        other => other?,
    }
    Ok(view(
        row,
        Outcomes::default(),
        &s.settings.server.public_base_url,
    ))
}

/// Retires a source: its posters still reach the form, what they bring
/// counts as unknown.
pub async fn retire(
    s: &Services,
    actor: &Actor,
    code: &str,
    request_id: Option<String>,
    now: DateTime<Utc>,
) -> Result<(), StaffError> {
    require(actor)?;
    let code = code.trim().to_ascii_lowercase();
    if !s
        .store
        .retire_source(
            &code,
            &audit(actor, "source.retired", &code, request_id),
            now,
        )
        .await?
    {
        return Err(StaffError::NotFound);
    }
    Ok(())
}

/// What a leaflet or poster says: the office from the settings, the form's
/// address and its QR code, and for a source's poster the source.
#[derive(Debug, Clone)]
pub struct Material {
    pub office: Office,
    pub letter_boxes: Vec<String>,
    pub complaints_office: String,
    pub form_url: String,
    /// What is printed under the QR code (the address without the scheme).
    pub form_url_printed: String,
    pub qr_svg: String,
    pub source: Option<(String, String)>,
}

/// The material for the public (`nguon` of a live source gives its
/// poster; anything else the general one, never an error).
pub async fn material(
    s: &Services,
    nguon: Option<&str>,
    base: &str,
) -> Result<Material, StoreError> {
    let source = match nguon.and_then(link_code) {
        Some(code) => s
            .store
            .source(&code)
            .await?
            .filter(|r| r.retired_at.is_none()),
        None => None,
    };
    let form_url = match &source {
        Some(row) => short_link(base, &row.code),
        None => form_link(base),
    };
    let p = &s.settings.province;
    Ok(Material {
        office: s.settings.office(),
        letter_boxes: p
            .letter_boxes
            .iter()
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty())
            .collect(),
        complaints_office: p.complaints_office.trim().to_string(),
        form_url_printed: form_url
            .trim_start_matches("https://")
            .trim_start_matches("http://")
            .to_string(),
        qr_svg: qr_svg(&form_url),
        form_url,
        source: source.map(|r| (r.code, r.name)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_qr_code_is_an_svg_of_black_modules_on_white() {
        let svg = qr_svg("https://pakn.danang.gov.vn/n/mot-cua-hai-chau");
        assert!(svg.starts_with("<?xml") || svg.starts_with("<svg"), "{svg}");
        assert!(svg.contains("<svg") && svg.contains("#000000"));
        assert!(
            !svg.contains("style="),
            "no inline style (the CSP forbids it)"
        );
        assert!(!svg.contains("<script"));
    }
}
