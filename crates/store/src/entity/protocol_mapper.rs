//! `protocol_mapper`: a client's protocol mappers (type plus string config).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "protocol_mapper")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// The owning client's internal id.
    pub client_pk: String,
    pub name: String,
    pub protocol: String,
    pub mapper_type: String,
    /// JSON object of strings.
    pub config: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
