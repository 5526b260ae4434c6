//! `role`: realm roles (`client_pk` NULL) and client roles.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "role")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub realm_id: String,
    /// The owning client's internal id, for client roles.
    pub client_pk: Option<String>,
    pub name: String,
    pub description: Option<String>,
    /// JSON object of string arrays.
    pub attributes: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
