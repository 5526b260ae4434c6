//! `realm`: one row per realm.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "realm")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub name: String,
    pub display_name: Option<String>,
    pub enabled: bool,
    /// Seconds.
    pub access_token_lifespan: i64,
    /// Keycloak's policy string, e.g. `length(12) and hashAlgorithm(argon2)`.
    pub password_policy: Option<String>,
    /// JSON object of strings.
    pub attributes: String,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
