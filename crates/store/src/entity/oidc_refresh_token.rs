//! `oidc_refresh_token`: one row per OIDC refresh token (the JWT's `jti`), so it can be revoked
//! and its reuse counted.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "oidc_refresh_token")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub realm_id: String,
    /// The client's `clientId`.
    pub client_id: String,
    pub user_id: String,
    /// None for client credentials.
    pub session_id: Option<String>,
    pub scope: String,
    pub offline: bool,
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked: bool,
    pub use_count: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
