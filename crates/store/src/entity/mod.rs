//! sea-orm entities, one module per table of the migrations.
//!
//! JSON-valued columns are plain `String`s holding serde_json text so the same schema works on
//! SQLite and PostgreSQL; the query layer converts them to and from domain types.

pub mod app_password;
pub mod auth_code;
pub mod broker_group_membership;
pub mod broker_role_membership;
pub mod client;
pub mod client_scope;
pub mod composite_role;
pub mod credential;
pub mod device_code;
pub mod docker_refresh_token;
pub mod group_role;
pub mod identity_provider;
pub mod identity_provider_mapper;
pub mod login_event;
pub mod login_failure;
pub mod oidc_refresh_token;
pub mod protocol_mapper;
pub mod realm;
pub mod realm_group;
pub mod realm_key;
pub mod revoked_token;
pub mod robot;
pub mod robot_secret;
pub mod role;
pub mod user_attribute;
pub mod user_consent;
pub mod user_entity;
pub mod user_group;
pub mod user_role;
pub mod user_session;
