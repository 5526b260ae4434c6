//! Queries behind the Keycloak-compatible admin API.
//!
//! Every function takes any connection, so the admin API runs each request in one transaction
//! ([`crate::Store::begin`]) and commits it only when everything, the admin event included, was
//! written. Functions return the sea-orm rows of [`crate::entity`] and [`entity`]; turning them
//! into Keycloak's representations is the admin crate's business.

pub mod authority;
pub mod client_scopes;
pub mod clients;
pub mod entity;
pub mod events;
pub mod extras;
pub mod federated;
pub mod grants;
pub mod groups;
pub mod identity_providers;
mod import;
pub mod keys;
pub mod realm_management;
pub mod realm_settings;
pub mod realms;
pub mod roles;
pub mod sessions;
pub mod user_profile;
pub mod users;

use sea_orm::sea_query::{Expr, Func, LikeExpr, SimpleExpr};
use sea_orm::{DbBackend, IntoSimpleExpr};

pub use import::{PlannedRealm, create_realm, plan_realm};
pub use realm_management::{
    ACCOUNT_CLIENT, ACCOUNT_CONSOLE_CLIENT, ACCOUNT_ROLES, ADMIN_CONSOLE_CLIENT, DOCKER_CLI_CLIENT,
    MANAGEMENT_ROLES, REALM_ADMIN_ROLE, REALM_MANAGEMENT_CLIENT, account_console_redirect,
    admin_console_redirect, ensure_realm_management,
};
pub use realm_management::{
    BROKER_CLIENT, CREATE_REALM_ROLE, DEFAULT_ROLES_PREFIX, OFFLINE_ACCESS_ROLE, READ_TOKEN_ROLE,
    UMA_AUTHORIZATION_ROLE, default_role_name,
};
pub use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction, SqlErr};

use crate::Store;
use crate::error::StoreError;

impl Store {
    /// Starts a write transaction; dropping it without [`DatabaseTransaction::commit`] rolls
    /// back. On SQLite it holds the write lock from the start (see `begin_write`).
    pub async fn begin(&self) -> Result<DatabaseTransaction, StoreError> {
        crate::transaction::begin_write(self.connection()).await
    }
}

/// The tables a user import grows and looks users up in.
const USER_TABLES: &str = "user_entity, credential, user_role, user_group, admin_extra";

/// Refreshes PostgreSQL's planner statistics for the user tables, inside the caller's
/// transaction (where the planner sees them, with the transaction's own new rows counted).
/// Without it, a table that was nearly empty when the import began keeps being planned as
/// empty, each username check becomes a sequential scan, and a 100,000-user import turns
/// quadratic. SQLite's planner does not depend on statistics this way: nothing to do there.
pub async fn refresh_user_statistics<C: ConnectionTrait>(db: &C) -> Result<(), StoreError> {
    if db.get_database_backend() == DbBackend::Postgres {
        db.execute_unprepared(&format!("ANALYZE {USER_TABLES}"))
            .await?;
    }
    Ok(())
}

/// A page of a list: skip `first`, return at most `max` (everything when `None`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Page {
    pub first: u64,
    pub max: Option<u64>,
}

impl Page {
    /// Applies the page to a query. SQLite accepts `OFFSET` only after a `LIMIT`, so an offset
    /// without a maximum gets the largest limit SQLite takes.
    pub(crate) fn apply<S: sea_orm::QuerySelect>(&self, select: S) -> S {
        let limit = match (self.max, self.first) {
            (Some(max), _) => Some(max.min(i64::MAX as u64)),
            (None, 0) => None,
            (None, _) => Some(i64::MAX as u64),
        };
        let select = select.limit(limit);
        if self.first > 0 {
            select.offset(self.first)
        } else {
            select
        }
    }

    /// Applies the page to rows already in memory.
    pub fn slice<T>(&self, rows: Vec<T>) -> Vec<T> {
        let first = usize::try_from(self.first).unwrap_or(usize::MAX);
        let max = self
            .max
            .map_or(usize::MAX, |m| usize::try_from(m).unwrap_or(usize::MAX));
        rows.into_iter().skip(first).take(max).collect()
    }
}

/// How a text filter matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextMatch {
    /// Case-insensitive equality.
    Exact(String),
    /// Case-insensitive substring.
    Contains(String),
    /// Case-insensitive prefix.
    Prefix(String),
    /// Case-insensitive pattern with `*` as the wildcard.
    Wildcard(String),
}

impl TextMatch {
    /// Keycloak 26's `search` grammar: `"foo"` exact, `*` a wildcard, otherwise a prefix.
    pub fn keycloak_search(input: &str) -> TextMatch {
        let input = input.trim();
        if input.len() >= 2 && input.starts_with('"') && input.ends_with('"') {
            TextMatch::Exact(input[1..input.len() - 1].to_string())
        } else if input.contains('*') {
            TextMatch::Wildcard(input.to_string())
        } else {
            TextMatch::Prefix(input.to_string())
        }
    }

    /// The LIKE pattern (lowercased, `%`, `_` and `\` escaped with `\`).
    fn pattern(&self) -> String {
        let escape = |s: &str| {
            s.to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        };
        match self {
            TextMatch::Exact(s) => escape(s),
            TextMatch::Contains(s) => format!("%{}%", escape(s)),
            TextMatch::Prefix(s) => format!("{}%", escape(s)),
            TextMatch::Wildcard(s) => escape(s).replace('*', "%"),
        }
    }

    /// The SQL condition on `column`, lowercased on both sides so SQLite and PostgreSQL agree.
    pub(crate) fn condition(&self, column: impl IntoSimpleExpr) -> SimpleExpr {
        let lowered = Expr::expr(Func::lower(column.into_simple_expr()));
        lowered.like(LikeExpr::new(self.pattern()).escape('\\'))
    }

    /// The same test on a value in memory.
    pub fn matches(&self, value: &str) -> bool {
        let value = value.to_lowercase();
        match self {
            TextMatch::Exact(s) => value == s.to_lowercase(),
            TextMatch::Contains(s) => value.contains(&s.to_lowercase()),
            TextMatch::Prefix(s) => value.starts_with(&s.to_lowercase()),
            TextMatch::Wildcard(s) => wildcard_matches(&s.to_lowercase(), &value),
        }
    }
}

/// `*` matches any run of characters; linear-time greedy matching with backtracking to the last
/// star.
fn wildcard_matches(pattern: &str, value: &str) -> bool {
    let (p, v): (Vec<char>, Vec<char>) = (pattern.chars().collect(), value.chars().collect());
    let (mut pi, mut vi) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while vi < v.len() {
        if pi < p.len() && p[pi] == '*' {
            star = Some((pi, vi));
            pi += 1;
        } else if pi < p.len() && p[pi] == v[vi] {
            pi += 1;
            vi += 1;
        } else if let Some((sp, sv)) = star {
            pi = sp + 1;
            vi = sv + 1;
            star = Some((sp, sv + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// A fresh UUID v4 as a string.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_matches() {
        let cases = [
            (TextMatch::keycloak_search("Ali"), "alice", true),
            (TextMatch::keycloak_search("lic"), "alice", false),
            (TextMatch::keycloak_search("*lic*"), "alice", true),
            (TextMatch::keycloak_search("a*e"), "alice", true),
            (TextMatch::keycloak_search("a*x"), "alice", false),
            (TextMatch::keycloak_search("\"alice\""), "Alice", true),
            (TextMatch::keycloak_search("\"alic\""), "alice", false),
            (TextMatch::Contains("LIC".into()), "alice", true),
            (TextMatch::Exact("bob".into()), "bobby", false),
        ];
        for (m, value, want) in cases {
            assert_eq!(m.matches(value), want, "{m:?} on {value}");
        }
    }

    #[test]
    fn like_patterns_escape_wildcards() {
        let cases = [
            (TextMatch::Contains("a_b%".into()), "%a\\_b\\%%"),
            (TextMatch::Prefix("X".into()), "x%"),
            (TextMatch::Wildcard("a*b".into()), "a%b"),
            (TextMatch::Exact("c\\d".into()), "c\\\\d"),
        ];
        for (m, want) in cases {
            assert_eq!(m.pattern(), want, "{m:?}");
        }
    }

    #[test]
    fn pages_slice() {
        let rows: Vec<u32> = (0..10).collect();
        let page = Page {
            first: 8,
            max: Some(5),
        };
        assert_eq!(page.slice(rows.clone()), vec![8, 9]);
        assert_eq!(Page::default().slice(rows.clone()).len(), 10);
        let page = Page {
            first: 2,
            max: Some(0),
        };
        assert!(page.slice(rows).is_empty());
    }
}
