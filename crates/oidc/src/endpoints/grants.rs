//! The grants of the token endpoint (the device grant lives with the device endpoint):
//! `authorization_code` with PKCE and replay detection, `refresh_token` with optional rotation,
//! `client_credentials` for service accounts, and `password` for clients allowed direct grants.

use std::net::IpAddr;

use aws_lc_rs::constant_time::verify_slices_are_equal;
use aws_lc_rs::digest;
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use portcullis_core::model::Client;
use portcullis_core::resolve::resolve_user;
use portcullis_store::{AuthCode, CodeRedemption, UserSession};
use portcullis_web::{Attempt, Sources, Verification};

use super::check::{self, LiveRefresh};
use super::form::Form;
use super::service_accounts::ServiceAccounts;
use super::token::{Issue, issue, refresh_tokens_enabled};
use super::{Audit, Ctx, OAuthError, label};
use crate::tokens::claims::ClaimContext;
use crate::tokens::hash_secret;
use crate::tokens::mint::{SessionRef, new_jti};
use crate::tokens::scopes::{from_claim, grant, narrow, offline_allowed};

/// Keycloak's client attribute for PKCE: `S256` forces PKCE with S256, `plain` allows plain.
pub(crate) const ATTR_PKCE_METHOD: &str = "pkce.code.challenge.method";
/// Keycloak's client attribute giving client-credentials grants a refresh token.
const ATTR_CC_REFRESH: &str = "client_credentials.use_refresh_token";

const CODE_NOT_VALID: &str = "Code not valid";

/// `grant_type=authorization_code`.
pub(crate) async fn authorization_code(
    ctx: &Ctx,
    client: &Client,
    form: &Form,
    audit: &mut Audit,
) -> Result<Response, OAuthError> {
    if !client.standard_flow_enabled {
        return Err(OAuthError::unauthorized_client(
            "Client not allowed to exchange code",
        ));
    }
    let code = form
        .get("code")
        .ok_or(OAuthError::invalid_request("Missing parameter: code"))?;
    let code = match ctx
        .state
        .store()
        .redeem_auth_code(&hash_secret(code))
        .await?
    {
        CodeRedemption::Fresh(code) => code,
        CodeRedemption::Unknown => return Err(OAuthError::invalid_grant(CODE_NOT_VALID)),
        CodeRedemption::Replayed(code) => return Err(replayed(ctx, &code).await?),
    };
    if code.realm_id != ctx.snapshot.realm.id || code.expires_at <= ctx.now {
        return Err(OAuthError::invalid_grant(CODE_NOT_VALID));
    }
    if code.client_id != client.client_id {
        return Err(OAuthError::invalid_grant(
            "Code was issued to another client",
        ));
    }
    // A request that named a redirect URI must name it again (RFC 6749 section 4.1.3); one
    // that did not (plain OAuth2, a sole registered URI) is not asked to, as in Keycloak.
    if !code.redirect_uri.is_empty() && form.get("redirect_uri") != Some(code.redirect_uri.as_str())
    {
        return Err(OAuthError::invalid_grant("Incorrect redirect_uri"));
    }
    check_pkce(client, &code, form.get("code_verifier")).map_err(OAuthError::invalid_grant)?;
    let user = check::live_user(ctx, &code.user_id)
        .await?
        .ok_or(OAuthError::invalid_grant("User not found or disabled"))?;
    let session = check::live_session(ctx, &code.session_id, &user)
        .await?
        .ok_or(OAuthError::invalid_grant(check::SESSION_NOT_ACTIVE))?;
    audit.user = label(&user.username);
    let resolved = resolve_user(&ctx.snapshot, &user);
    let scopes = grant(
        &ctx.snapshot,
        client,
        Some(&code.scope),
        offline_allowed(&ctx.snapshot, &resolved),
    );
    let refresh = refresh_tokens_enabled(client).then_some(scopes.offline());
    issue(
        ctx,
        Issue {
            client,
            user: &user,
            resolved: &resolved,
            scopes,
            access_claims: None,
            session: Some(SessionRef {
                id: &session.id,
                created_at: session.created_at,
            }),
            auth_time: Some(code.auth_time),
            nonce: code.nonce.as_deref(),
            refresh,
            continues: None,
            service_account: false,
        },
    )
    .await
}

/// A code redeemed twice: RFC 6749 §4.1.2 and RFC 9700 §4.5 say revoke what the first
/// redemption issued. Ending its session kills the access tokens (they carry its `sid`) and the
/// refresh tokens; offline ones are revoked explicitly, they outlive sessions otherwise.
async fn replayed(ctx: &Ctx, code: &AuthCode) -> Result<OAuthError, OAuthError> {
    if code.realm_id == ctx.snapshot.realm.id {
        let store = ctx.state.store();
        store.end_user_session(&code.session_id).await?;
        store
            .revoke_session_refresh_tokens(&code.session_id)
            .await?;
        ctx.state.invalidate_credentials();
        tracing::warn!(
            realm = %ctx.realm_name(),
            client_id = %label(&code.client_id),
            "authorization code replayed: its session was ended"
        );
    }
    Ok(OAuthError::invalid_grant(CODE_NOT_VALID))
}

/// PKCE (RFC 7636) as RFC 9700 wants it: a stored challenge needs the matching verifier, a
/// verifier without a challenge is a downgrade attempt, public clients (and clients whose
/// `pkce.code.challenge.method` is set) must use PKCE, and `plain` only where the client allows
/// it explicitly.
pub(crate) fn check_pkce(
    client: &Client,
    code: &AuthCode,
    verifier: Option<&str>,
) -> Result<(), &'static str> {
    let policy = client
        .attributes
        .get(ATTR_PKCE_METHOD)
        .map(|v| v.trim())
        .filter(|v| !v.is_empty());
    let required = client.public_client || policy.is_some();
    let challenge = code.code_challenge.as_deref().filter(|c| !c.is_empty());
    let (challenge, verifier) = match (challenge, verifier) {
        (None, None) if required => return Err("PKCE is required for this client"),
        (None, None) => return Ok(()),
        (None, Some(_)) => return Err("PKCE verifier without a code challenge"),
        (Some(_), None) => return Err("PKCE code verifier not specified"),
        (Some(challenge), Some(verifier)) => (challenge, verifier),
    };
    if !valid_verifier(verifier) {
        return Err("Invalid code verifier");
    }
    let computed = match code.code_challenge_method.as_deref().unwrap_or("plain") {
        "S256" => URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, verifier.as_bytes())),
        "plain" if policy == Some("plain") => verifier.to_owned(),
        _ => return Err("PKCE method not allowed for this client"),
    };
    verify_slices_are_equal(computed.as_bytes(), challenge.as_bytes())
        .map_err(|_| "PKCE verification failed")
}

/// RFC 7636 §4.1: 43 to 128 characters of `[A-Za-z0-9-._~]`.
fn valid_verifier(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// `grant_type=refresh_token`.
pub(crate) async fn refresh(
    ctx: &Ctx,
    client: &Client,
    form: &Form,
    audit: &mut Audit,
) -> Result<Response, OAuthError> {
    let token = form
        .get("refresh_token")
        .ok_or(OAuthError::invalid_request(
            "Missing parameter: refresh_token",
        ))?;
    let live = check::refresh_token(ctx, token)
        .await?
        .map_err(OAuthError::invalid_grant)?;
    let user = &live.account.user;
    audit.user = label(&user.username);
    if live.client.client_id != client.client_id {
        return Err(OAuthError::invalid_grant(
            "Invalid refresh token. Token client and authorized client don't match",
        ));
    }
    let original = from_claim(&ctx.snapshot, client, &live.record.scope);
    let scopes = narrow(&ctx.snapshot, client, &original, form.get("scope"))
        .map_err(|_| OAuthError::invalid_scope("Requested scope exceeds the original grant"))?;
    // RFC 9700 §4.14.2: a public client's refresh tokens are rotated whatever the realm says.
    let rotating = ctx.snapshot.realm.revoke_refresh_token || client.public_client;
    if rotating {
        rotate(ctx, &live).await?;
    }
    let session = match &live.session {
        Some(session) if !live.record.offline => {
            // `last_seen_at` is written once per touch interval, not on every refresh.
            if ctx.now - session.last_seen_at >= ctx.snapshot.realm.session_touch_interval() {
                ctx.state
                    .store()
                    .touch_user_session(&session.id, ctx.now)
                    .await?;
                ctx.state.session_touched(&session.id, ctx.now);
            }
            Some(session)
        }
        // An offline token names its session only while that session lives.
        Some(session) if alive(ctx, session) => Some(session),
        _ => None,
    };
    let service_account = user.service_account_client_id.as_deref() == Some(&client.client_id);
    issue(
        ctx,
        Issue {
            client,
            user,
            resolved: &live.account.resolved,
            scopes,
            access_claims: None,
            session: session.map(|s| SessionRef {
                id: &s.id,
                created_at: s.created_at,
            }),
            auth_time: live.session.as_ref().map(|s| s.auth_time),
            nonce: None,
            refresh: Some(live.record.offline),
            // Without rotation the grant keeps its row: the new token names it again.
            continues: (!rotating).then_some(&live.record),
            service_account,
        },
    )
    .await
}

fn alive(ctx: &Ctx, session: &UserSession) -> bool {
    ctx.snapshot.realm.session_alive(
        session.ended,
        session.created_at,
        session.last_seen_at,
        ctx.now,
    )
}

/// Refresh token rotation (`revokeRefreshToken`, and always for public clients): each token may
/// be used `refreshTokenMaxReuse` + 1 times. Using it once more is taken as theft (RFC 9700 §4.14.2):
/// every refresh token of the grant's session is revoked, and the request fails.
async fn rotate(ctx: &Ctx, live: &LiveRefresh<'_>) -> Result<(), OAuthError> {
    let store = ctx.state.store();
    let uses = store.increment_refresh_token_use(&live.record.id).await?;
    let allowed = ctx.snapshot.realm.refresh_token_max_reuse.max(0) + 1;
    if uses <= allowed {
        return Ok(());
    }
    store.revoke_refresh_token(&live.record.id).await?;
    if let Some(session_id) = &live.record.session_id {
        store.revoke_session_refresh_tokens(session_id).await?;
    }
    ctx.state.invalidate_credentials();
    tracing::warn!(
        realm = %ctx.realm_name(),
        client_id = %label(&live.record.client_id),
        "rotated refresh token reused: the grant was revoked"
    );
    Err(OAuthError::invalid_grant(
        "Maximum allowed refresh token reuse exceeded",
    ))
}

/// `grant_type=client_credentials`: a token for the client's service-account user. No ID token,
/// no offline access; a refresh token only with `client_credentials.use_refresh_token`.
pub(crate) async fn client_credentials(
    ctx: &Ctx,
    client: &Client,
    form: &Form,
    accounts: &ServiceAccounts,
    audit: &mut Audit,
) -> Result<Response, OAuthError> {
    if client.public_client {
        return Err(OAuthError::unauthorized_client(
            "Public client not allowed to retrieve service account",
        ));
    }
    if !client.service_accounts_enabled {
        return Err(OAuthError::unauthorized_client(
            "Client not enabled to retrieve service account",
        ));
    }
    let account =
        accounts
            .get(ctx, &client.client_id)
            .await?
            .ok_or(OAuthError::unauthorized_client(
                "The client's service account is missing or disabled",
            ))?;
    let (user, resolved) = (&account.user, &account.resolved);
    audit.user = label(&user.username);
    let scopes = grant(&ctx.snapshot, client, form.get("scope"), false).without_offline();
    let claims_ctx = ClaimContext {
        snapshot: &ctx.snapshot,
        client,
        user,
        resolved,
        scopes: &scopes,
    };
    let access_claims = account.access_claims(&claims_ctx)?;
    let refresh = client
        .attributes
        .get(ATTR_CC_REFRESH)
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
        .then_some(false);
    issue(
        ctx,
        Issue {
            client,
            user,
            resolved,
            scopes,
            access_claims: Some(&access_claims),
            session: None,
            auth_time: None,
            nonce: None,
            refresh,
            continues: None,
            service_account: true,
        },
    )
    .await
}

/// `grant_type=password` (resource owner credentials; RFC 9700 says keep it off unless a client
/// is enabled for it, as Keycloak's `directAccessGrantsEnabled` does). Starts an SSO session,
/// as Keycloak does, so the tokens can be ended like any other.
pub(crate) async fn password(
    ctx: &Ctx,
    client: &Client,
    form: &Form,
    ip: Option<IpAddr>,
    audit: &mut Audit,
) -> Result<Response, OAuthError> {
    if !client.direct_access_grants_enabled {
        return Err(OAuthError::unauthorized_client(
            "Client not allowed for direct access grants",
        ));
    }
    let username = form
        .get("username")
        .ok_or(OAuthError::invalid_request("Missing parameter: username"))?;
    let password = form.get_raw("password").unwrap_or_default();
    audit.user = label(username);
    let resolved = match ctx
        .state
        .authenticate(Attempt {
            realm: &ctx.snapshot,
            username,
            secret: password,
            client: ip,
            user_agent: None,
            // An app password's narrowing means nothing to an OIDC token: passwords only.
            sources: Sources::PASSWORD,
        })
        .await?
    {
        Verification::Verified(verified) => verified.user,
        Verification::Refused => return Err(OAuthError::invalid_user_credentials()),
        Verification::RateLimited { retry_after_secs } => {
            return Err(OAuthError::RateLimited { retry_after_secs });
        }
    };
    if !resolved.is_set_up() {
        return Err(OAuthError::account_not_set_up());
    }
    let user = check::live_user(ctx, &resolved.id)
        .await?
        .ok_or_else(OAuthError::invalid_user_credentials)?;
    let session = UserSession {
        id: new_jti(),
        realm_id: ctx.snapshot.realm.id.clone(),
        user_id: user.id.clone(),
        auth_time: ctx.now,
        created_at: ctx.now,
        last_seen_at: ctx.now,
        ended: false,
    };
    ctx.state.store().create_user_session(&session).await?;
    let scopes = grant(
        &ctx.snapshot,
        client,
        form.get("scope"),
        offline_allowed(&ctx.snapshot, &resolved),
    );
    let refresh = refresh_tokens_enabled(client).then_some(scopes.offline());
    issue(
        ctx,
        Issue {
            client,
            user: &user,
            resolved: &resolved,
            scopes,
            access_claims: None,
            session: Some(SessionRef {
                id: &session.id,
                created_at: session.created_at,
            }),
            auth_time: Some(ctx.now),
            nonce: None,
            refresh,
            continues: None,
            service_account: false,
        },
    )
    .await
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn code(challenge: Option<&str>, method: Option<&str>) -> AuthCode {
        AuthCode {
            code_hash: "h".into(),
            realm_id: "r".into(),
            client_id: "c".into(),
            user_id: "u".into(),
            session_id: "s".into(),
            redirect_uri: "https://app.test/cb".into(),
            scope: "openid".into(),
            nonce: None,
            code_challenge: challenge.map(str::to_owned),
            code_challenge_method: method.map(str::to_owned),
            auth_time: 0,
            created_at: 0,
            expires_at: 60,
        }
    }

    #[test]
    fn pkce_table() {
        // base64url(sha256(verifier)), computed independently.
        let verifier = "dBjftJeZ4CVP-mJ92K27-YhoOkBRZx3hfmhDbwA8ocM";
        let s256 = "jcnSPnAymkloa1_aLfhc4HEIUhi8HYW3nuQLssMeG9Y";
        let confidential = Client::default();
        let public = Client {
            public_client: true,
            ..Client::default()
        };
        let attr = |value: &str| Client {
            attributes: [(ATTR_PKCE_METHOD.to_owned(), value.to_owned())].into(),
            ..Client::default()
        };
        let (forced, plain_ok) = (attr("S256"), attr("plain"));
        let wrong = "x".repeat(43);
        // (client, challenge, method, verifier, ok)
        type Row<'a> = (
            &'a Client,
            Option<&'a str>,
            Option<&'a str>,
            Option<&'a str>,
            bool,
        );
        #[rustfmt::skip]
        let rows: &[Row] = &[
            (&confidential, None, None, None, true),
            (&public, None, None, None, false),
            (&forced, None, None, None, false),
            (&confidential, None, None, Some(verifier), false),
            (&confidential, Some(s256), Some("S256"), None, false),
            (&confidential, Some(s256), Some("S256"), Some(verifier), true),
            (&public, Some(s256), Some("S256"), Some(verifier), true),
            (&confidential, Some(s256), Some("S256"), Some(&wrong), false),
            (&confidential, Some(s256), Some("S256"), Some("short"), false),
            (&confidential, Some(s256), Some("S256"), Some(&format!("{verifier}!")), false),
            (&confidential, Some(verifier), Some("plain"), Some(verifier), false),
            (&confidential, Some(verifier), None, Some(verifier), false),
            (&forced, Some(verifier), Some("plain"), Some(verifier), false),
            (&plain_ok, Some(verifier), Some("plain"), Some(verifier), true),
            (&plain_ok, Some(verifier), None, Some(verifier), true),
            (&plain_ok, Some(verifier), Some("plain"), Some(&wrong), false),
            (&plain_ok, Some(s256), Some("S256"), Some(verifier), true),
            (&confidential, Some(s256), Some("S512"), Some(verifier), false),
        ];
        for (i, (client, challenge, method, given, ok)) in rows.iter().enumerate() {
            let got = check_pkce(client, &code(*challenge, *method), *given);
            assert_eq!(got.is_ok(), *ok, "row {i}: {got:?}");
        }
    }
}
