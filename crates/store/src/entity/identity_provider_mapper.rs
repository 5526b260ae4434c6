//! `identity_provider_mapper`: what an upstream identity provider's logins give the user
//! (a group, a role, an attribute), name unique per provider.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "identity_provider_mapper")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub realm_id: String,
    /// The provider's internal id.
    pub identity_provider_id: String,
    pub name: String,
    /// Keycloak's `identityProviderMapper`, e.g. `hardcoded-group-idp-mapper`.
    pub mapper_type: String,
    /// JSON object of strings.
    pub config: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
