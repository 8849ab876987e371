//! What the public may read of an answered item (DOMAIN §8): the redacted
//! title, question and answer, proposed by the detector and checked again
//! before they go out. The submitter's own name, phone, e-mail and address
//! are looked for literally wherever they appear, on top of the patterns.

use serde::Serialize;

use crate::config::PublicationBasis;
use crate::domain::feedback::FieldError;
use crate::domain::redaction::{KnownPersonalData, Span, SpanKind, apply, find_spans, remaining};
use crate::store::feedback::ItemRow;

/// The submitter's own data, as the item holds it.
#[derive(Debug, Clone, Default)]
pub struct SubmitterData {
    names: Vec<String>,
    phones: Vec<String>,
    emails: Vec<String>,
    addresses: Vec<String>,
}

impl SubmitterData {
    pub fn of(item: &ItemRow) -> Self {
        let mut names = vec![item.submitter_name.clone()];
        names.extend(item.organization_name.clone());
        let mut phones = Vec::new();
        if let Some(phone) = &item.phone {
            phones.push(phone.clone());
            // Stored as E.164; people write the national form.
            if let Some(national) = phone.strip_prefix("+84") {
                phones.push(format!("0{national}"));
            }
        }
        Self {
            names,
            phones,
            emails: item.email.clone().into_iter().collect(),
            addresses: vec![item.address_detail.clone()],
        }
    }

    pub fn known(&self) -> KnownPersonalData<'_> {
        fn refs(v: &[String]) -> Vec<&str> {
            v.iter().map(String::as_str).collect()
        }
        KnownPersonalData {
            names: refs(&self.names),
            phones: refs(&self.phones),
            emails: refs(&self.emails),
            addresses: refs(&self.addresses),
        }
    }
}

/// One text with what the detector proposes to remove.
#[derive(Debug, Clone, Serialize)]
pub struct Proposal {
    pub redacted: String,
    pub spans: Vec<Span>,
}

fn propose(text: &str, known: &KnownPersonalData<'_>) -> Proposal {
    let spans = find_spans(text, known);
    Proposal {
        redacted: apply(text, &spans),
        spans,
    }
}

/// The proposed public copies of an item.
#[derive(Debug, Clone, Serialize)]
pub struct RedactionSuggestion {
    pub title: Proposal,
    pub question: Proposal,
    /// The approved answer's copy (none before approval).
    pub answer: Option<Proposal>,
}

pub fn suggest(item: &ItemRow) -> RedactionSuggestion {
    let data = SubmitterData::of(item);
    let known = data.known();
    RedactionSuggestion {
        title: propose(&item.title, &known),
        question: propose(&item.content, &known),
        answer: item.answer.as_deref().map(|a| propose(a, &known)),
    }
}

/// Whether the basis for publication allows publishing this item at all.
pub fn basis_allows(basis: PublicationBasis, item: &ItemRow) -> bool {
    match basis {
        PublicationBasis::Consent => item.consent_to_publish,
        PublicationBasis::Duty => true,
    }
}

/// The public texts that still hold personal data as far as the
/// detector can tell: `(field, kinds found)` for each.
pub fn personal_data_left(
    item: &ItemRow,
    texts: &[(&'static str, &str)],
) -> Vec<(&'static str, Vec<SpanKind>)> {
    let data = SubmitterData::of(item);
    let known = data.known();
    texts
        .iter()
        .filter_map(|(field, text)| {
            let kinds = remaining(text, &known);
            (!kinds.is_empty()).then_some((*field, kinds))
        })
        .collect()
}

/// The refusal for texts that still hold personal data.
pub fn personal_data_errors(found: &[(&'static str, Vec<SpanKind>)]) -> Vec<FieldError> {
    found
        .iter()
        .map(|(field, _)| FieldError::new(*field, "personal_data_found"))
        .collect()
}
