use sea_orm::entity::prelude::*;

/// A partner's subscription to item events.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_subscription")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub name: String,
    pub url: String,
    /// The event names, a JSON array.
    pub events: Json,
    /// `public` or `agency`.
    pub scope: String,
    pub agency_id: Option<Uuid>,
    /// The key whose `agency_webhooks` scope an agency subscription needs.
    pub api_key_id: Option<Uuid>,
    /// The signing secret (the service must know it to sign).
    pub secret: String,
    pub created_by: String,
    pub created_at: DateTimeUtc,
    pub disabled_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
