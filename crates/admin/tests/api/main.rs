//! Router tests of the admin API: status codes, shapes, `Location` headers, the authorization
//! rules, conflicts, bad input, transactions and admin events.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod action_emails;
mod app_passwords;
mod auth;
mod authentication;
mod client_keys;
mod client_scopes;
mod clients;
mod common;
mod credentials;
mod defaults;
mod escalation;
mod groups;
mod identity_providers;
mod imports;
mod misc;
mod realm_admin;
mod realms;
mod robots;
mod roles;
mod surface;
mod user_actions;
mod user_profile;
mod users;
