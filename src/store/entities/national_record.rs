use sea_orm::entity::prelude::*;

/// An item's record in the national PAKN system (Cổng Dịch vụ công quốc gia).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "national_record")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub feedback_item_id: Uuid,
    pub national_code: String,
    /// `rekeyed`: the office entered the item there; `received`: the item
    /// came from there.
    pub origin: String,
    pub recorded_at: DateTimeUtc,
    /// The staff member's username.
    pub recorded_by: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
