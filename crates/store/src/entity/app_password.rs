//! `app_password`: a user's named, expiring secrets for `docker login` and CI, stored by the
//! hex SHA-256 of the secret, never the secret itself.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "app_password")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub realm_id: String,
    pub user_id: String,
    pub name: String,
    pub secret_hash: String,
    pub service: Option<String>,
    /// JSON array of repository patterns; `None` for any.
    pub repositories: Option<String>,
    /// JSON array of actions; `None` for any.
    pub actions: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub last_used_address: Option<String>,
    pub last_used_user_agent: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
