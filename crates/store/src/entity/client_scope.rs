//! `client_scope`: a realm's client scopes; `name` is unique per realm.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "client_scope")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub realm_id: String,
    pub name: String,
    pub description: Option<String>,
    pub protocol: String,
    /// JSON object of strings.
    pub attributes: String,
    /// JSON array of Keycloak `ProtocolMapperRepresentation`s (each with its id).
    pub protocol_mappers: String,
    /// JSON array of role ids: the scope's role scope mappings.
    pub role_ids: String,
    /// `default`, `optional` or `none`: the realm's scopes for new clients.
    pub realm_type: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
