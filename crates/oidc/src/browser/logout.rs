//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0) at `logout`, GET and POST.
//!
//! The client is identified by the `id_token_hint` (which must be one of ours) or `client_id`;
//! `post_logout_redirect_uri` must match the client's `post.logout.redirect.uris` attribute, or
//! there is no redirect at all. Without a hint naming the signed-in user, the user confirms
//! first: otherwise any site could log them out with a link.

use std::collections::HashMap;

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use portcullis_core::model::Client;
use portcullis_web::AppState;
use portcullis_web::login::{
    self, Checked, FormNonce, LoginError, RealmCtx, clear_session_cookies, cookie_session,
    live_session, with_cookies,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::params::Params;
use super::response::{self, Via};
use crate::tokens::{redirect_uri_allowed, verify_own_jwt};

/// The client attribute listing post-logout redirect URIs, `##`-separated; `+` stands for the
/// client's redirect URIs.
const POST_LOGOUT_ATTRIBUTE: &str = "post.logout.redirect.uris";

/// The confirmation form's purpose (see [`login::seal`]).
const LOGOUT: &str = "logout";

/// The logout confirmation's state: where to go afterwards, already checked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct LogoutState {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ConfirmForm {
    flow: Option<String>,
}

/// `GET|POST .../protocol/openid-connect/logout`.
pub(crate) async fn logout(
    State(state): State<AppState>,
    ctx: RealmCtx,
    Path(path): Path<HashMap<String, String>>,
    method: Method,
    headers: HeaderMap,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Result<Response, LoginError> {
    let Ok(Form(pairs)) = form else {
        return Ok(ctx.unreadable());
    };
    // A client logging a session out with its refresh token (Keycloak's back-channel form).
    if method == Method::POST && pairs.iter().any(|(name, _)| name == "refresh_token") {
        return Ok(
            crate::endpoints::logout::with_refresh_token(&state, &path, &headers, pairs).await,
        );
    }
    let via = if method == Method::POST {
        Via::Post
    } else {
        Via::Get
    };
    let request = match LogoutRequest::validate(&ctx, &Params::new(pairs)) {
        Ok(request) => request,
        Err(message) => return Ok(ctx.error_page(StatusCode::BAD_REQUEST, &message, &message)),
    };
    let cookie_session = cookie_session(&ctx, &headers).await?;
    let live = match cookie_session.clone() {
        Some(session) => live_session(&ctx, session).await?,
        None => None,
    };
    let hint_names_user = match (&request.hint_subject, &live) {
        (Some(_), None) => true,
        (Some(sub), Some(live)) => *sub == live.user.id,
        (None, _) => false,
    };
    if live.is_some() && !hint_names_user {
        return confirm_page(&ctx, &request.target, &headers);
    }
    let mut ended: Vec<String> = cookie_session.map(|s| s.id).into_iter().collect();
    if ended.is_empty()
        && let Some(sid) = hinted_session(&ctx, &request).await?
    {
        ended.push(sid);
    }
    finish(&ctx, &request.target, &ended, via).await
}

/// `POST .../login-actions/logout`: the user confirmed.
pub(crate) async fn confirm(
    ctx: RealmCtx,
    headers: HeaderMap,
    form: Result<Form<ConfirmForm>, FormRejection>,
) -> Result<Response, LoginError> {
    let Ok(Form(form)) = form else {
        return Ok(ctx.unreadable());
    };
    let target: LogoutState = match login::check(&ctx, LOGOUT, form.flow.as_deref(), &headers) {
        Checked::Valid(target) => target,
        Checked::Expired(target) => return confirm_page(&ctx, &target, &headers),
        Checked::Invalid(e) => return Ok(ctx.invalid_form(&e)),
    };
    let session = cookie_session(&ctx, &headers).await?;
    let ended: Vec<String> = session.map(|s| s.id).into_iter().collect();
    finish(&ctx, &target, &ended, Via::Post).await
}

/// A checked logout request.
struct LogoutRequest {
    target: LogoutState,
    /// `sub` and `sid` of a verified `id_token_hint`.
    hint_subject: Option<String>,
    hint_session: Option<String>,
}

impl LogoutRequest {
    /// Checks the parameters; `Err` is the message of the error page (never a redirect).
    fn validate(ctx: &RealmCtx, params: &Params) -> Result<Self, String> {
        let get = |name| params.get(name).map_err(|e| e.description());
        let claims = match get("id_token_hint")? {
            Some(hint) => Some(
                verify_own_jwt(&ctx.state, &ctx.snapshot, hint)
                    .filter(|c| c["typ"] == "ID")
                    .ok_or("Invalid parameter: id_token_hint")?,
            ),
            None => None,
        };
        let client = identify_client(ctx, get("client_id")?, claims.as_ref())?;
        let redirect_uri = match get("post_logout_redirect_uri")? {
            None => None,
            Some(uri) => {
                let client = client.ok_or("Missing parameters: id_token_hint or client_id")?;
                if !post_logout_redirect_allowed(client, uri) {
                    return Err("Invalid redirect uri".into());
                }
                Some(uri.to_string())
            }
        };
        let state = redirect_uri
            .as_ref()
            .and(params.lenient("state").map(str::to_string));
        let claim = |name: &str| {
            claims
                .as_ref()
                .and_then(|c| c[name].as_str())
                .map(str::to_string)
        };
        Ok(Self {
            target: LogoutState {
                redirect_uri,
                state,
            },
            hint_subject: claim("sub"),
            hint_session: claim("sid"),
        })
    }
}

/// The client named by `client_id` and/or the hint's `azp` (else its single `aud`); both must
/// agree. `Ok(None)` when neither names one.
fn identify_client<'a>(
    ctx: &'a RealmCtx,
    client_id: Option<&str>,
    claims: Option<&Value>,
) -> Result<Option<&'a Client>, String> {
    let hinted = claims.and_then(hint_client);
    let chosen = match (client_id, hinted.as_deref()) {
        (Some(given), Some(hinted)) if given != hinted => {
            return Err("Parameter client_id does not match the id_token_hint".into());
        }
        (Some(given), _) => Some(given),
        (None, hinted) => hinted,
    };
    let Some(chosen) = chosen else {
        return Ok(None);
    };
    ctx.snapshot
        .client(chosen)
        .filter(|c| c.enabled && c.protocol == "openid-connect")
        .map(Some)
        .ok_or_else(|| "Client not found.".to_string())
}

/// The client an ID token was issued to: `azp`, else a lone audience.
fn hint_client(claims: &Value) -> Option<String> {
    if let Some(azp) = claims["azp"].as_str() {
        return Some(azp.to_string());
    }
    match &claims["aud"] {
        Value::String(aud) => Some(aud.clone()),
        Value::Array(auds) if auds.len() == 1 => auds[0].as_str().map(str::to_string),
        _ => None,
    }
}

/// Whether `uri` is one of the client's post-logout redirect URIs, matched like redirect URIs
/// (exact, or Keycloak's trailing `*` where registered).
pub(crate) fn post_logout_redirect_allowed(client: &Client, uri: &str) -> bool {
    let Some(attribute) = client.attributes.get(POST_LOGOUT_ATTRIBUTE) else {
        return false;
    };
    let mut allowed: Vec<String> = Vec::new();
    for entry in attribute
        .split("##")
        .map(str::trim)
        .filter(|e| !e.is_empty())
    {
        if entry == "+" {
            allowed.extend(client.redirect_uris.iter().cloned());
        } else {
            allowed.push(entry.to_string());
        }
    }
    let as_redirects = Client {
        redirect_uris: allowed,
        ..Client::default()
    };
    redirect_uri_allowed(&as_redirects, uri)
}

/// The session named by the hint's `sid`, when the browser sent no cookie (a client on another
/// site, or cookies blocked): ended only if it belongs to the hint's user.
async fn hinted_session(
    ctx: &RealmCtx,
    request: &LogoutRequest,
) -> Result<Option<String>, LoginError> {
    let (Some(sid), Some(sub)) = (&request.hint_session, &request.hint_subject) else {
        return Ok(None);
    };
    let session = ctx.state.store().find_user_session(sid).await?;
    Ok(session
        .filter(|s| s.realm_id == ctx.snapshot.realm.id && s.user_id == *sub && !s.ended)
        .map(|s| s.id))
}

/// "Do you want to log out?"
fn confirm_page(
    ctx: &RealmCtx,
    target: &LogoutState,
    headers: &HeaderMap,
) -> Result<Response, LoginError> {
    let nonce = FormNonce::of(headers);
    let token = login::seal(ctx, LOGOUT, &nonce, target)?;
    let context = json!({"action": ctx.action("logout"), "flow": token});
    let page = ctx.page(StatusCode::OK, "logout_confirm.html", context);
    Ok(with_cookies(page, nonce.cookie(ctx)?))
}

/// Ends the sessions (revoking their refresh tokens), clears the cookie, and redirects or says
/// so.
async fn finish(
    ctx: &RealmCtx,
    target: &LogoutState,
    sessions: &[String],
    via: Via,
) -> Result<Response, LoginError> {
    for id in sessions {
        ctx.state.store().end_user_session(id).await?;
    }
    ctx.state.invalidate_credentials();
    tracing::info!(
        realm = %ctx.snapshot.realm.name,
        sessions = sessions.len(),
        redirect = target.redirect_uri.is_some(),
        "logout"
    );
    let response = match &target.redirect_uri {
        Some(uri) => {
            let state: Vec<(&str, &str)> = target
                .state
                .as_deref()
                .map(|s| ("state", s))
                .into_iter()
                .collect();
            let query = serde_urlencoded::to_string(&state).unwrap_or_default();
            response::redirect(&response::append_query(uri, &query), via)
        }
        None => ctx.message(
            StatusCode::OK,
            "You are logged out",
            "You have been signed out of all applications of this realm that use this session.",
        ),
    };
    Ok(with_cookies(response, clear_session_cookies(ctx)?))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn post_logout_redirect_table() {
        let client = |attr: Option<&str>| Client {
            client_id: "app".into(),
            redirect_uris: vec!["https://app.test/cb".into(), "https://w.test/*".into()],
            attributes: attr
                .map(|a| BTreeMap::from([(POST_LOGOUT_ATTRIBUTE.to_string(), a.to_string())]))
                .unwrap_or_default(),
            ..Client::default()
        };
        let cases = [
            (None, "https://app.test/cb", false),
            (Some(""), "https://app.test/bye", false),
            (Some("https://app.test/bye"), "https://app.test/bye", true),
            (
                Some("https://app.test/bye"),
                "https://app.test/bye?foo=bar",
                false,
            ),
            (
                Some("https://app.test/bye"),
                "https://app.test/bye/x",
                false,
            ),
            (
                Some("https://app.test/bye##https://two.test/"),
                "https://two.test/",
                true,
            ),
            (Some("+"), "https://app.test/cb", true),
            (Some("+"), "https://w.test/anything", true),
            (Some("+"), "https://app.test/bye", false),
            (Some("https://app.test/bye##+"), "https://app.test/cb", true),
            (Some("https://l.test/*"), "https://l.test/out", true),
        ];
        for (attr, uri, expected) in cases {
            assert_eq!(
                post_logout_redirect_allowed(&client(attr), uri),
                expected,
                "{attr:?} {uri}"
            );
        }
    }

    #[test]
    fn hint_client_table() {
        let cases = [
            (json!({"azp": "a", "aud": "b"}), Some("a")),
            (json!({"aud": "b"}), Some("b")),
            (json!({"aud": ["b"]}), Some("b")),
            (json!({"aud": ["b", "c"]}), None),
            (json!({}), None),
        ];
        for (claims, expected) in cases {
            assert_eq!(hint_client(&claims).as_deref(), expected, "{claims}");
        }
    }
}
