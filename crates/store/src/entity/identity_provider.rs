//! `identity_provider`: a realm's upstream identity provider, by alias, with Keycloak's
//! settings; `config` is a JSON object of strings (the client secret among them).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "identity_provider")]
pub struct Model {
    /// Keycloak's `internalId`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub realm_id: String,
    pub alias: String,
    pub display_name: Option<String>,
    /// `oidc`, `keycloak-oidc`, `oauth2` or `github`.
    pub provider_id: String,
    pub enabled: bool,
    pub hide_on_login: bool,
    pub trust_email: bool,
    pub link_only: bool,
    /// The named first-login policy: `create`, `link-verified`, `deny-if-exists`,
    /// `existing-only`.
    pub first_login_policy: String,
    /// JSON object of strings.
    pub config: String,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
