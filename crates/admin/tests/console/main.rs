//! Router tests of the admin console: signing in through the realm's login, every form's
//! success, validation error, CSRF refusal and authorization refusal, and what the pages show.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod ci_rules;
mod client_scopes;
mod clients;
mod common;
mod groups;
mod links;
mod realm;
mod registries;
mod robots;
mod roles;
mod session;
mod switcher;
mod users;
