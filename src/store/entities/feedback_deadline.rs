use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "feedback_deadline")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub feedback_item_id: Uuid,
    pub kind: String,
    pub state: String,
    pub rule: Json,
    pub starts_at: DateTimeUtc,
    pub pauses: Json,
    pub extension_days: i32,
    #[sea_orm(column_type = "Text", nullable)]
    pub extension_reason: Option<String>,
    pub original_due_at: Option<DateTimeUtc>,
    pub due_at: Option<DateTimeUtc>,
    pub remind_at: Option<DateTimeUtc>,
    pub calendar_version: i64,
    pub computed_at: DateTimeUtc,
    pub met_at: Option<DateTimeUtc>,
    pub near_due_notified_at: Option<DateTimeUtc>,
    pub overdue_notices: i32,
    pub next_overdue_notice_at: Option<DateTimeUtc>,
    pub row_version: i32,
    /// The agency answerable for this deadline when it is not the item's
    /// handling agency (a coordinating agency's sub-deadline).
    pub agency_id: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
