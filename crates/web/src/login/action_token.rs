//! E-mailed action tokens (Keycloak's `execute-actions` and `verify-email` links): a JWS signed
//! with the realm's key, naming the user, the required actions to run and the e-mail address it
//! was sent to, expiring, and usable once. Opening the link shows a page for the actions (a new
//! password for `UPDATE_PASSWORD`, a confirmation for `VERIFY_EMAIL`, so that a mail scanner
//! following links changes nothing); posting it runs them all in one transaction and marks the
//! token used.

use std::sync::Arc;

use axum::Form;
use axum::extract::Query;
use axum::extract::rejection::FormRejection;
use axum::http::StatusCode;
use axum::response::Response;
use portcullis_core::keys::SigningKey;
use portcullis_core::model::UPDATE_PASSWORD;
use portcullis_core::password::PolicySubject;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{LoginError, RealmCtx};

/// The `typ` of an action token.
pub const ACTION_TOKEN_TYPE: &str = "action-token";
/// The required action that verifies the user's e-mail address.
pub const VERIFY_EMAIL: &str = "VERIFY_EMAIL";
/// The actions an e-mailed link can run.
pub const LINK_ACTIONS: [&str; 2] = [UPDATE_PASSWORD, VERIFY_EMAIL];

const EXPIRED: &str = "The link has expired or is not valid. Please ask for a new one.";
const USED: &str = "This link was already used. Please ask for a new one.";
const MISSING_PASSWORD: &str = "Please specify password.";
const PASSWORDS_DIFFER: &str = "Passwords don't match.";

/// What an action token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionToken {
    pub jti: String,
    pub user_id: String,
    /// The e-mail address the link went to: a changed address voids it.
    pub email: Option<String>,
    pub actions: Vec<String>,
    pub expires_at: i64,
    /// The client and where to send the user afterwards (`client_id`, `redirect_uri`).
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
}

/// Signs an action token of the realm whose issuer is `issuer`; the error says why not.
pub fn sign_action_token(
    keys: &[Arc<SigningKey>],
    issuer: &str,
    token: &ActionToken,
    now: i64,
) -> Result<String, String> {
    let key = keys
        .iter()
        .find(|k| k.algorithm() == portcullis_core::keys::Algorithm::Es256)
        .or_else(|| keys.first())
        .ok_or_else(|| "the realm has no signing key".to_string())?;
    let header =
        json!({"alg": key.algorithm().as_str(), "typ": "JWT", "kid": key.thumbprint_kid()});
    let claims = json!({
        "typ": ACTION_TOKEN_TYPE,
        "iss": issuer,
        "aud": issuer,
        "sub": token.user_id,
        "jti": token.jti,
        "iat": now,
        "exp": token.expires_at,
        "eml": token.email,
        "rqac": token.actions,
        "azp": token.client_id,
        "red": token.redirect_uri,
    });
    key.sign_jws(header.to_string().as_bytes(), claims.to_string().as_bytes())
        .map_err(|e| format!("signing an action token: {e}"))
}

/// The token's claims if it is an unexpired action token of this realm.
fn verify(ctx: &RealmCtx, key: &str) -> Option<ActionToken> {
    let claims: Map<String, Value> = portcullis_core::jws::verify(&ctx.snapshot.keys, key)?;
    let text = |name: &str| claims.get(name).and_then(Value::as_str).map(str::to_string);
    if text("typ").as_deref() != Some(ACTION_TOKEN_TYPE)
        || text("iss").as_deref() != Some(ctx.issuer.as_str())
    {
        return None;
    }
    let expires_at = claims.get("exp").and_then(Value::as_i64)?;
    if expires_at <= ctx.now {
        return None;
    }
    let actions = claims
        .get("rqac")?
        .as_array()?
        .iter()
        .map(|a| a.as_str().map(str::to_string))
        .collect::<Option<Vec<_>>>()?;
    Some(ActionToken {
        jti: text("jti")?,
        user_id: text("sub")?,
        email: text("eml"),
        actions,
        expires_at,
        client_id: text("azp"),
        redirect_uri: text("red"),
    })
}

#[derive(Debug, Deserialize)]
pub(crate) struct KeyQuery {
    key: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ActionForm {
    flow: Option<String>,
    #[serde(rename = "password-new")]
    password_new: Option<String>,
    #[serde(rename = "password-confirm")]
    password_confirm: Option<String>,
}

/// The token's user if it still fits the token: enabled, same e-mail address.
async fn user_of(
    ctx: &RealmCtx,
    token: &ActionToken,
) -> Result<Option<portcullis_core::model::User>, LoginError> {
    let user = ctx
        .state
        .store()
        .find_user_by_id(&ctx.snapshot.realm.id, &token.user_id)
        .await?;
    Ok(user.filter(|u| u.enabled && u.email == token.email))
}

fn page(ctx: &RealmCtx, key: &str, token: &ActionToken, error: Option<(&str, &str)>) -> Response {
    let action = ctx.action("action-token");
    if token.actions.iter().any(|a| a == UPDATE_PASSWORD) {
        let context = json!({
            "action": action,
            "flow": key,
            "error": error.map(|(message, _)| message),
            "error_field": error.map(|(_, field)| field),
        });
        return ctx.page(StatusCode::OK, "update_password.html", context);
    }
    let context = json!({
        "action": action,
        "flow": key,
        "title": "Verify e-mail",
        "message": format!("Confirm that {} is your e-mail address.",
                           token.email.as_deref().unwrap_or_default()),
    });
    ctx.page(StatusCode::OK, "action_confirm.html", context)
}

/// `GET .../login-actions/action-token?key=...`: the page for the token's actions.
pub(crate) async fn show(
    ctx: RealmCtx,
    Query(query): Query<KeyQuery>,
) -> Result<Response, LoginError> {
    let key = query.key.unwrap_or_default();
    let Some(token) = verify(&ctx, &key) else {
        return Ok(ctx.error_page(StatusCode::BAD_REQUEST, EXPIRED, "invalid action token"));
    };
    if user_of(&ctx, &token).await?.is_none() {
        return Ok(ctx.error_page(
            StatusCode::BAD_REQUEST,
            EXPIRED,
            "action token user changed",
        ));
    }
    Ok(page(&ctx, &key, &token, None))
}

/// `POST .../login-actions/action-token`: runs the token's actions and marks it used.
pub(crate) async fn submit(
    ctx: RealmCtx,
    form: Result<Form<ActionForm>, FormRejection>,
) -> Result<Response, LoginError> {
    let Ok(Form(form)) = form else {
        return Ok(ctx.unreadable());
    };
    let key = form.flow.unwrap_or_default();
    let Some(token) = verify(&ctx, &key) else {
        return Ok(ctx.error_page(StatusCode::BAD_REQUEST, EXPIRED, "invalid action token"));
    };
    let Some(user) = user_of(&ctx, &token).await? else {
        return Ok(ctx.error_page(
            StatusCode::BAD_REQUEST,
            EXPIRED,
            "action token user changed",
        ));
    };
    let policy = &ctx.snapshot.realm.password_policy;
    let password = match token.actions.iter().any(|a| a == UPDATE_PASSWORD) {
        false => None,
        true => {
            let new = form.password_new.unwrap_or_default();
            if new.is_empty() {
                return Ok(page(
                    &ctx,
                    &key,
                    &token,
                    Some((MISSING_PASSWORD, "password-new")),
                ));
            }
            if form.password_confirm.as_deref() != Some(new.as_str()) {
                let error = Some((PASSWORDS_DIFFER, "password-confirm"));
                return Ok(page(&ctx, &key, &token, error));
            }
            let subject = PolicySubject {
                username: &user.username,
                email: user.email.as_deref(),
            };
            match ctx
                .state
                .new_password(policy, &new, subject, Some(&user.id))
                .await?
            {
                Ok(stored) => Some(stored),
                Err(violation) => {
                    let error = Some((violation.message.as_str(), "password-new"));
                    return Ok(page(&ctx, &key, &token, error));
                }
            }
        }
    };
    let verify_email = token.actions.iter().any(|a| a == VERIFY_EMAIL);
    let done = ctx
        .state
        .store()
        .complete_action_token(
            &ctx.snapshot.realm.id,
            &user.id,
            &format!("action-token:{}", token.jti),
            token.expires_at,
            password.as_ref().map(|p| (p, policy.history_depth())),
            verify_email,
            ctx.now,
        )
        .await?;
    if !done {
        return Ok(ctx.error_page(StatusCode::BAD_REQUEST, USED, "action token reused"));
    }
    ctx.state
        .invalidate_user(&ctx.snapshot.realm.name, &user.id);
    tracing::info!(realm = %ctx.snapshot.realm.name, user = %user.id, actions = ?token.actions, "e-mailed actions completed");
    Ok(ctx.message(
        StatusCode::OK,
        "Your account has been updated.",
        "You may close this page, or go back to the application and sign in.",
    ))
}
