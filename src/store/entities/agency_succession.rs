use sea_orm::entity::prelude::*;

/// One agency succeeded by another (for one field, or all).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "agency_succession")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub predecessor_id: Uuid,
    pub successor_id: Uuid,
    pub field_id: Option<Uuid>,
    pub effective_on: Date,
    pub applied_at: DateTimeUtc,
    pub applied_by: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
