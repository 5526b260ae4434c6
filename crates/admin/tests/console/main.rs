//! Router tests of the admin console: signing in through the realm's login, every form's
//! success, validation error, CSRF refusal and authorization refusal, and what the pages show.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod realm;
mod registries;
mod session;
mod users;
