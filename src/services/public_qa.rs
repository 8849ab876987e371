//! The public Q&A's projection of one published item: what the JSON API,
//! the Atom feed's portals and public webhook subscriptions receive. Only
//! what was published (DOMAIN §8): the redacted title and question, the
//! answer, the handling agency, field, kind, submitter type and dates.

use serde_json::Value;

use crate::domain::feedback::FeedbackKind;
use crate::domain::ids::{AgencyId, FieldId};
use crate::domain::time::to_vietnam_rfc3339;
use crate::store::directory_cache::DirectorySnapshot;
use crate::store::public_qa::PublicItem;

/// The item's page on the public Q&A.
pub fn item_url(base: &str, code: &str) -> String {
    format!("{}/hoi-dap/{code}", base.trim_end_matches('/'))
}

pub fn item_json(item: &PublicItem, directory: &DirectorySnapshot, base: &str) -> Value {
    let agency = item
        .handling_agency_id
        .and_then(|a| directory.agency_names.get(&AgencyId::from_uuid(a)))
        .map(|(code, name)| serde_json::json!({"code": code, "name": name}));
    let kind = FeedbackKind::parse(&item.kind);
    serde_json::json!({
        "tracking_code": item.tracking_code,
        "title": item.title_redacted,
        "question": item.question_redacted,
        "answer": item.answer,
        "kind": item.kind,
        "kind_label": kind.map(kind_label),
        "agency": agency,
        "field_code": item
            .field_id
            .and_then(|f| directory.field_codes.get(&FieldId::from_uuid(f)).cloned()),
        "submitter_type": item.submitter_type,
        "received_at": to_vietnam_rfc3339(item.received_at),
        "answered_at": item.answered_at.map(to_vietnam_rfc3339),
        "published_at": item.published_at.map(to_vietnam_rfc3339),
        "url": item_url(base, &item.tracking_code),
    })
}

pub fn kind_label(kind: FeedbackKind) -> &'static str {
    match kind {
        FeedbackKind::PhanAnh => "Phản ánh",
        FeedbackKind::KienNghi => "Kiến nghị",
    }
}
