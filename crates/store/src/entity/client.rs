//! `client`: OIDC and docker-v2 clients; `client_id` is unique per realm.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "client")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub realm_id: String,
    pub client_id: String,
    pub name: Option<String>,
    pub description: Option<String>,
    /// `openid-connect` or `docker-v2`.
    pub protocol: String,
    pub enabled: bool,
    pub public_client: bool,
    pub bearer_only: bool,
    pub secret: Option<String>,
    /// JSON array of strings.
    pub redirect_uris: String,
    /// JSON array of strings.
    pub web_origins: String,
    /// JSON object of strings.
    pub attributes: String,
    pub standard_flow_enabled: bool,
    pub direct_access_grants_enabled: bool,
    pub service_accounts_enabled: bool,
    pub created_at: i64,
    pub consent_required: bool,
    /// JSON array of client scope names.
    pub default_client_scopes: String,
    /// JSON array of client scope names.
    pub optional_client_scopes: String,
    /// `fullScopeAllowed`.
    pub full_scope_allowed: bool,
    /// JSON array of role ids: the client's role scope mappings.
    pub scope_role_ids: String,
    /// Unix seconds: tokens of the client issued before this are dead (`notBefore`); 0: none.
    pub not_before: i64,
    /// How the client authenticates (`clientAuthenticatorType`): `client-secret`, `client-jwt`,
    /// `client-secret-jwt`, ...
    pub client_authenticator_type: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
