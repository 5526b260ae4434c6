//! `user_attribute`: one row per value of a user's attributes, for searching by attribute in
//! SQL. The user's JSON `attributes` column stays the source of truth; the store rewrites these
//! rows whenever it writes that column.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "user_attribute")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub name: String,
    pub value: String,
    /// Lowercase hex SHA-256 of `value`: what lookups and the index use (values may be long).
    #[sea_orm(primary_key, auto_increment = false)]
    pub value_hash: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
