//! `composite_role`: a composite role contains a child role.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "composite_role")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub composite_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub child_id: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
