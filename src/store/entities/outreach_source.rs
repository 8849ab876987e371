use sea_orm::entity::prelude::*;

/// A named place or medium the office publicises the channel through.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outreach_source")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub code: String,
    pub name: String,
    /// `counter`, `commune`, `leaflet`, `press`, `portal`, `letter_box`,
    /// `other`.
    pub kind: String,
    /// Where it is (a counter's address, a newspaper's issue).
    pub place: Option<String>,
    pub created_by: String,
    pub created_at: DateTimeUtc,
    pub retired_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
