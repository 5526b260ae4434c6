//! `broker_role_membership`: the provenance of a role mapping an identity-provider mapper
//! created; it goes with the mapping.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "broker_role_membership")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub role_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub mapper_id: String,
    pub identity_provider_id: String,
    pub realm_id: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds: the last login at which the upstream asserted it.
    pub last_seen_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
