//! `realm`: one row per realm.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "realm")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub name: String,
    pub display_name: Option<String>,
    pub enabled: bool,
    /// Seconds.
    pub access_token_lifespan: i64,
    /// Keycloak's policy string, e.g. `length(12) and hashAlgorithm(argon2)`.
    pub password_policy: Option<String>,
    /// JSON object of strings.
    pub attributes: String,
    pub created_at: i64,
    // Session, code and token settings (migration m20261124_000002_oidc); seconds.
    pub sso_session_idle_timeout: i64,
    pub sso_session_max_lifespan: i64,
    pub offline_session_idle_timeout: i64,
    pub access_code_lifespan: i64,
    pub access_code_lifespan_login: i64,
    pub revoke_refresh_token: bool,
    pub refresh_token_max_reuse: i64,
    pub device_code_lifespan: i64,
    pub device_polling_interval: i64,
    // Brute-force detection, Keycloak's realm fields.
    pub brute_force_protected: bool,
    pub permanent_lockout: bool,
    pub failure_factor: i64,
    pub wait_increment_seconds: i64,
    pub max_failure_wait_seconds: i64,
    pub quick_login_check_millis: i64,
    pub minimum_quick_login_wait_seconds: i64,
    pub max_delta_time_seconds: i64,
    /// The realm's default role (Keycloak's `default-roles-<realm>`), granted to every new user;
    /// None only if it was deleted.
    pub default_role_id: Option<String>,
    /// Keycloak's `adminEventsEnabled`: whether admin changes are recorded.
    pub admin_events_enabled: bool,
    /// Keycloak's `adminEventsDetailsEnabled`: whether a recorded change keeps its
    /// representation.
    pub admin_events_details_enabled: bool,
    /// Unix seconds: tokens of the realm issued before this are dead (`notBefore`); 0: none.
    pub not_before: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
