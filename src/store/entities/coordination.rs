use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "coordination")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub feedback_item_id: Uuid,
    pub agency_id: Uuid,
    pub state: String,
    #[sea_orm(column_type = "Text")]
    pub request_note: String,
    pub requested_by: String,
    pub requested_at: DateTimeUtc,
    pub deadline_id: Option<Uuid>,
    #[sea_orm(column_type = "Text", nullable)]
    pub contribution: Option<String>,
    pub contributed_by: Option<String>,
    pub contributed_at: Option<DateTimeUtc>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
