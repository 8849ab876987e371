use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "answer_draft_save")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub feedback_item_id: Uuid,
    #[sea_orm(column_type = "Text")]
    pub text: String,
    /// Counts the saves: a writer names the revision they started from,
    /// so a save over someone else's is noticed.
    pub revision: i32,
    pub saved_by: Uuid,
    pub saved_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
