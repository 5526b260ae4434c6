//! Who is signed in: the browser's live SSO session of the realm (the login flow's
//! [`current_session`]); a browser without one gets the realm's login, for a pending login of
//! kind [`AccountPage::KIND`], whose continuation brings it back to the page it asked for.

use std::collections::HashMap;

use async_trait::async_trait;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use portcullis_store::admin::ACCOUNT_CONSOLE_CLIENT;
use portcullis_web::login::{
    self, Continuation, Continuations, LiveSession, LoginError, LoginHints, Pending, RealmCtx,
};
use portcullis_web::{AppState, session::encode_path_segment};
use serde::{Deserialize, Serialize};

/// The realm of the path, ready for the login flow: `Err` holds the page for an unknown or
/// disabled realm.
pub async fn realm_ctx(
    state: &AppState,
    realm: &str,
) -> Result<Result<RealmCtx, Response>, LoginError> {
    let path = HashMap::from([("realm".to_string(), realm.to_string())]);
    RealmCtx::load(state, &path).await
}

/// The browser's live SSO session in the realm, with its (enabled, set-up) user.
pub async fn current(
    ctx: &RealmCtx,
    headers: &HeaderMap,
) -> Result<Option<LiveSession>, LoginError> {
    login::current_session(ctx, headers).await
}

/// The realm's login for a browser without a session, coming back to the console's `page`
/// (below the console's base, such as `/sessions`).
pub async fn begin(
    ctx: &RealmCtx,
    continuations: &Continuations,
    headers: &HeaderMap,
    page: &str,
) -> Result<Response, LoginError> {
    login::begin(ctx, continuations, headers, account_pending(page)?).await
}

/// A login (or a provider link) for the console, coming back to its `page`.
pub fn account_pending(page: &str) -> Result<Pending, LoginError> {
    Ok(Pending::new(
        AccountPage::KIND,
        &AccountState {
            page: page.to_string(),
        },
    )?
    .with_hints(LoginHints {
        client_id: Some(ACCOUNT_CONSOLE_CLIENT.to_string()),
        ..LoginHints::default()
    }))
}

/// What an account login carries: the console page to go back to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct AccountState {
    page: String,
}

/// The continuation of logins started by the account console: once the user is signed in, back
/// to the page they asked for.
pub struct AccountPage;

impl AccountPage {
    pub const KIND: &'static str = "account";
}

#[async_trait]
impl Continuation for AccountPage {
    fn kind(&self) -> &'static str {
        Self::KIND
    }

    async fn resume(
        &self,
        ctx: &RealmCtx,
        _live: &LiveSession,
        pending: Pending,
        _headers: &HeaderMap,
    ) -> Result<Response, LoginError> {
        let state: AccountState = pending.state_as()?;
        let base = format!(
            "{}/realms/{}/account",
            ctx.state.urls().relative_path,
            encode_path_segment(&ctx.snapshot.realm.name)
        );
        Ok(Redirect::to(&format!("{base}{}", console_page(&state.page))).into_response())
    }
}

/// A page of the console, as a path below its base: anything else (another site, `//host`)
/// becomes the first page. The state is signed, so this only guards against our own mistakes.
fn console_page(page: &str) -> &str {
    let safe = page.starts_with('/')
        && !page.starts_with("//")
        && !page.contains(['\\', '\r', '\n'])
        && !page.split(['/', '?']).any(|segment| segment == "..");
    if safe { page } else { "/" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_pages_of_the_console_are_returned_to() {
        let rows = [
            ("/", "/"),
            ("/sessions", "/sessions"),
            (
                "/registry-access?registry=r&repository=a",
                "/registry-access?registry=r&repository=a",
            ),
            ("//evil.test/x", "/"),
            ("https://evil.test", "/"),
            ("/../../admin", "/"),
            ("/a\\b", "/"),
            ("", "/"),
        ];
        for (page, want) in rows {
            assert_eq!(console_page(page), want, "{page}");
        }
    }
}
