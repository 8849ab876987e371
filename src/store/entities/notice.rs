use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "notice")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub dedupe_key: String,
    pub kind: String,
    pub audience: String,
    pub agency_id: Uuid,
    pub feedback_item_id: Option<Uuid>,
    pub deadline_id: Option<Uuid>,
    pub payload: Json,
    pub created_at: DateTimeUtc,
    pub sent_at: Option<DateTimeUtc>,
    pub attempts: i32,
    #[sea_orm(column_type = "Text", nullable)]
    pub last_error: Option<String>,
    /// queued | sent | failed | skipped
    pub status: String,
    pub next_attempt_at: Option<DateTimeUtc>,
    pub claimed_until: Option<DateTimeUtc>,
    pub claimed_by: Option<String>,
    pub message_id: Option<String>,
    pub recipient: Option<String>,
    /// A notice to one staff member (the daily digest).
    pub staff_account_id: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
