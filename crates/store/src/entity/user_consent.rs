//! `user_consent`: the scopes a user granted a client.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "user_consent")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub realm_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: String,
    /// The client's `clientId`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub client_id: String,
    /// JSON array of scope names, sorted.
    pub scopes: String,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
