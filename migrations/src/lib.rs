//! Database schema migrations for Portcullis, applied at start-up (design section 2).
//!
//! The schema works unchanged on SQLite and PostgreSQL: string UUID primary keys, JSON kept in
//! `text` columns, unix timestamps as 64-bit integers, and `ON DELETE CASCADE` on every foreign
//! key so deleting a realm removes everything in it.

pub use sea_orm_migration::prelude::*;

mod m20261124_000001_initial;
mod m20261124_000002_oidc;
mod m20261124_000003_admin;
mod m20261124_000004_revoked_token;
mod m20261206_000005_credential_state;
mod m20261206_000006_admin_console_client;
mod m20261206_000007_login_event;
mod m20261206_000008_lowercase_email;
mod m20261206_000009_app_password;
mod m20261206_000010_robot;
mod m20261206_000011_identity_provider;
mod m20261206_000012_account_clients;
mod m20261206_000013_session_device;
mod m20261206_000014_docker_cli_client;
mod m20261206_000015_realm_defaults;
mod m20261206_000016_realm_admin;
mod m20261206_000017_client_scopes;
mod m20261206_000018_user_profile;
mod m20261207_000019_revocation_and_client_auth;
mod m20261207_000020_login_event_key;
mod sql;

/// The ordered list of migrations; `Migrator::up(&db, None)` applies the pending ones.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261124_000001_initial::Migration),
            Box::new(m20261124_000002_oidc::Migration),
            Box::new(m20261124_000003_admin::Migration),
            Box::new(m20261124_000004_revoked_token::Migration),
            Box::new(m20261206_000005_credential_state::Migration),
            Box::new(m20261206_000006_admin_console_client::Migration),
            Box::new(m20261206_000007_login_event::Migration),
            Box::new(m20261206_000008_lowercase_email::Migration),
            Box::new(m20261206_000009_app_password::Migration),
            Box::new(m20261206_000010_robot::Migration),
            Box::new(m20261206_000011_identity_provider::Migration),
            Box::new(m20261206_000012_account_clients::Migration),
            Box::new(m20261206_000013_session_device::Migration),
            Box::new(m20261206_000014_docker_cli_client::Migration),
            Box::new(m20261206_000015_realm_defaults::Migration),
            Box::new(m20261206_000016_realm_admin::Migration),
            Box::new(m20261206_000017_client_scopes::Migration),
            Box::new(m20261206_000018_user_profile::Migration),
            Box::new(m20261207_000019_revocation_and_client_auth::Migration),
            Box::new(m20261207_000020_login_event_key::Migration),
        ]
    }
}
