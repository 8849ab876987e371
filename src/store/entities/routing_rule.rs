use sea_orm::entity::prelude::*;

/// One keyword routing rule (`words` is a JSON array of folded words).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "routing_rule")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub position: i32,
    #[sea_orm(column_type = "Text")]
    pub words: String,
    pub agency_code: String,
    #[sea_orm(column_type = "Text")]
    pub basis: String,
    pub updated_by: String,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
