use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "feedback_item")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub tracking_code: String,
    pub lookup_token_hash: Vec<u8>,
    pub kind: String,
    pub content_category: Option<String>,
    pub channel: String,
    pub title: String,
    #[sea_orm(column_type = "Text")]
    pub content: String,
    #[sea_orm(column_type = "Text")]
    pub search_text: String,
    pub language_flagged: bool,
    pub field_id: Option<Uuid>,
    pub agency_hint_id: Option<Uuid>,
    pub submitter_type: String,
    pub submitter_name: String,
    pub organization_name: Option<String>,
    pub address_detail: String,
    pub address_province_code: Option<String>,
    pub address_commune_code: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub consent_to_publish: bool,
    pub state: String,
    pub receiving_agency_id: Uuid,
    pub handling_agency_id: Option<Uuid>,
    pub received_at: DateTimeUtc,
    pub due_at: Option<DateTimeUtc>,
    #[sea_orm(column_type = "Text", nullable)]
    pub answer: Option<String>,
    pub answered_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub version: i32,
    pub entered_by_staff_id: Option<Uuid>,
    pub intake_details: Option<Json>,
    pub procedure_text: Option<String>,
    pub procedure_code: Option<String>,
    pub rejection_code: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub rejection_note: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub answer_draft: Option<String>,
    pub answer_drafted_by: Option<Uuid>,
    pub answer_signed_off_by: Option<Uuid>,
    #[sea_orm(column_type = "Text", nullable)]
    pub question_redacted: Option<String>,
    pub published_at: Option<DateTimeUtc>,
    #[sea_orm(column_type = "Text", nullable)]
    pub withheld_reason: Option<String>,
    pub bounce_count: i32,
    pub needs_attention: bool,
    pub merged_into_id: Option<Uuid>,
    pub rating_score: Option<i32>,
    #[sea_orm(column_type = "Text", nullable)]
    pub rating_comment: Option<String>,
    pub rated_at: Option<DateTimeUtc>,
    #[sea_orm(column_type = "Text", nullable)]
    pub title_redacted: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub public_search_text: Option<String>,
    /// The answer as the public reads it (redacted at publication).
    #[sea_orm(column_type = "Text", nullable)]
    pub answer_redacted: Option<String>,
    /// When what the public sees of the item last changed.
    pub public_changed_at: Option<DateTimeUtc>,
    /// When the contact data was removed under the retention policy.
    pub contact_erased_at: Option<DateTimeUtc>,
    /// The publicity source whose link or QR code it came through; a
    /// source's code, `unknown`, or none.
    pub source_code: Option<String>,
    /// How the answer stood against its deadline when it was sent
    /// (`on_time`, `within_extension`, `late`).
    #[sea_orm(column_type = "Text", nullable)]
    pub answer_timeliness: Option<String>,
    /// Working days from receipt to the answer, by the calendar of the
    /// day it was sent.
    pub handling_working_days: Option<i32>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
