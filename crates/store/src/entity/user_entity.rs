//! `user_entity`: users; `username` is stored lowercased and unique per realm.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "user_entity")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub realm_id: String,
    pub username: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub enabled: bool,
    /// JSON object of string arrays.
    pub attributes: String,
    pub created_at: i64,
    /// For a service-account user: the internal id of its client (deleted with the client).
    pub service_account_client_pk: Option<String>,
    /// Unix seconds: tokens, sessions and docker logins issued before are dead.
    pub not_before: i64,
    /// JSON array of Keycloak required-action names (`UPDATE_PASSWORD`, ...).
    pub required_actions: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
