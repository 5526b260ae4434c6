//! `login_event`: sign-ins, token grants and docker token issuances (Keycloak's user events),
//! keyed by `(realm_id, time, id)`: the order a realm's events are listed and swept in.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "login_event")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub realm_id: String,
    /// Milliseconds since the epoch.
    #[sea_orm(primary_key, auto_increment = false)]
    pub time: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub event_type: String,
    /// The `clientId` (a registry's service for docker tokens).
    pub client_id: Option<String>,
    pub user_id: Option<String>,
    pub username: Option<String>,
    pub session_id: Option<String>,
    pub ip_address: Option<String>,
    pub error: Option<String>,
    /// A JSON object of strings.
    pub details: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
