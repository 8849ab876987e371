use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "item_presence")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub feedback_item_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub staff_id: Uuid,
    pub seen_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
