//! Test support shared by every crate's tests.
//!
//! - [`TestDatabase`]: a fresh database, a temporary SQLite file by default or, when
//!   `PORTCULLIS_TEST_DATABASE_URL` names a PostgreSQL server (the suite's PostgreSQL run), a
//!   new uniquely named database on it; removed again on drop.
//! - [`TestApp`]: the real application router (`portcullis::router`) on a fresh database, with
//!   realms imported, optionally a bootstrapped `master` admin, and a [`FixedClock`] the test
//!   moves; requests go through `tower::ServiceExt::oneshot` and come back as a [`Reply`].
//! - [`Browser`]: a cookie jar in front of a [`TestApp`], with [`HtmlForm`] parsing.
//! - [`jwt`]: decoding of token parts; [`basic`], [`bearer`] and [`sha256_hex`].
//!
//! [`FixedClock`]: portcullis_core::clock::FixedClock

// Test support: a failed set-up or an unexpected response should fail the test right there, with
// the panic message saying what went wrong, so unwrap and expect are the point here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod app;
mod browser;
mod database;
pub mod jwt;
mod reply;

use aws_lc_rs::digest;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

pub use app::{FORM, JSON, TestApp, TestAppBuilder, request, with_peer};
pub use browser::Browser;
pub use database::{DATABASE_URL_VAR, TestDatabase, with_database};
pub use reply::{HtmlForm, Reply, parse_forms};

/// The base URL a [`TestApp`] serves unless told otherwise.
pub const BASE_URL: &str = "http://id.test";
/// The relative path a [`TestApp`] serves under unless told otherwise.
pub const RELATIVE_PATH: &str = "/auth";
/// Where a [`TestApp`]'s clock starts unless told otherwise (2026-11-18T11:06:40Z).
pub const NOW: i64 = 1_795_000_000;

/// An `Authorization` value for HTTP Basic.
pub fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{user}:{password}")))
}

/// An `Authorization` value for a bearer token.
pub fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// Lowercase hex SHA-256: how the store keys codes, sessions and tokens.
pub fn sha256_hex(s: &str) -> String {
    digest::digest(&digest::SHA256, s.as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
