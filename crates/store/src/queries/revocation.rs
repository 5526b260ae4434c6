//! Revocation (RFC 7009) as Keycloak does it: an access token is remembered by its `jti` until
//! it expires; revoking a refresh token ends its client session, that is every refresh token
//! the same client holds in the same SSO session and every access token the client got there.
//!
//! Access tokens are checked with one primary-key lookup (`id IN (jti, client-session key)`),
//! so userinfo and introspection stay cheap.

use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, TransactionTrait,
};

use crate::entity::{oidc_refresh_token, revoked_token};
use crate::error::StoreError;
use crate::queries::session::RefreshTokenRecord;

/// What revoking a refresh token ends.
#[derive(Debug, Clone, Copy)]
pub struct RefreshRevocation<'a> {
    /// The presented (live) refresh token.
    pub token: &'a RefreshTokenRecord,
    /// The internal id of the token's client (the client-session key names it, not the
    /// `clientId`, which may be long).
    pub client_pk: &'a str,
    pub now: i64,
    /// When the last access token the client can have got in the session expires: now plus the
    /// client's access-token lifespan.
    pub access_expires_at: i64,
}

/// The `revoked_token` key of a client session. A `jti` is a UUID and never contains `/`, so the
/// two kinds of key cannot collide.
pub(crate) fn client_session_key(session_id: &str, client_pk: &str) -> String {
    format!("{session_id}/{client_pk}")
}

/// Remembers a revoked access token until `expires_at` (its `exp`). Revoking twice is a no-op.
pub(crate) async fn revoke_access_token<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    jti: &str,
    now: i64,
    expires_at: i64,
) -> Result<(), StoreError> {
    let row = revoked_token::Model {
        id: jti.to_owned(),
        realm_id: realm_id.to_owned(),
        revoked_at: now,
        expires_at,
    };
    revoked_token::Entity::insert(row.into_active_model())
        .on_conflict(
            OnConflict::column(revoked_token::Column::Id)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Revokes a refresh token and, when it belongs to an SSO session, its client session, in one
/// transaction: the client's other refresh tokens of that session (online ones; offline ones
/// too when the token is offline, as Keycloak also removes the client from the offline session)
/// and, through a `revoked_token` row, its access tokens from that session issued until now.
/// Returns how many refresh tokens were revoked.
pub(crate) async fn revoke_refresh_grant<C: TransactionTrait>(
    db: &C,
    revocation: &RefreshRevocation<'_>,
) -> Result<u64, StoreError> {
    let token = revocation.token;
    let txn = crate::transaction::begin_write(db).await?;
    let mut revoked =
        revoke_refresh_rows(&txn, oidc_refresh_token::Column::Id.eq(token.id.as_str())).await?;
    if let Some(session_id) = &token.session_id {
        let mut siblings = oidc_refresh_token::Column::RealmId
            .eq(token.realm_id.as_str())
            .and(oidc_refresh_token::Column::SessionId.eq(session_id.as_str()))
            .and(oidc_refresh_token::Column::ClientId.eq(token.client_id.as_str()));
        if !token.offline {
            siblings = siblings.and(oidc_refresh_token::Column::Offline.eq(false));
        }
        revoked += revoke_refresh_rows(&txn, siblings).await?;
        end_client_session(&txn, revocation, session_id).await?;
    }
    txn.commit().await?;
    Ok(revoked)
}

async fn revoke_refresh_rows<C: ConnectionTrait>(
    db: &C,
    which: sea_orm::sea_query::SimpleExpr,
) -> Result<u64, StoreError> {
    Ok(oidc_refresh_token::Entity::update_many()
        .col_expr(oidc_refresh_token::Column::Revoked, Expr::value(true))
        .filter(which)
        .filter(oidc_refresh_token::Column::Revoked.eq(false))
        .exec(db)
        .await?
        .rows_affected)
}

/// Writes (or moves forward) the client session's `revoked_token` row. A second revocation
/// replaces the first: it covers everything the first did, issued up to a later moment.
async fn end_client_session<C: ConnectionTrait>(
    db: &C,
    revocation: &RefreshRevocation<'_>,
    session_id: &str,
) -> Result<(), StoreError> {
    let row = revoked_token::Model {
        id: client_session_key(session_id, revocation.client_pk),
        realm_id: revocation.token.realm_id.clone(),
        revoked_at: revocation.now,
        expires_at: revocation.access_expires_at,
    };
    revoked_token::Entity::insert(row.into_active_model())
        .on_conflict(
            OnConflict::column(revoked_token::Column::Id)
                .update_columns([
                    revoked_token::Column::RevokedAt,
                    revoked_token::Column::ExpiresAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Whether an access token was revoked: by its own `jti`, or because its client session (the
/// token's `sid` and the client's internal id) was ended at or after the token's `iat`.
///
/// "At or after" fails closed: a token the same client gets in the same session within the
/// second of the revocation is refused too (the client logs in again), rather than letting a
/// token issued just before the revocation live on.
pub(crate) async fn access_token_revoked<C: ConnectionTrait>(
    db: &C,
    jti: &str,
    client_session: Option<(&str, &str)>,
    issued_at: i64,
) -> Result<bool, StoreError> {
    let mut keys = vec![jti.to_owned()];
    if let Some((session_id, client_pk)) = client_session {
        keys.push(client_session_key(session_id, client_pk));
    }
    let rows = revoked_token::Entity::find()
        .filter(revoked_token::Column::Id.is_in(keys))
        .all(db)
        .await?;
    Ok(rows
        .iter()
        .any(|row| row.id == jti || issued_at <= row.revoked_at))
}

/// Remembers a single-use key until `expires_at`; false if it was already there.
pub(crate) async fn use_once<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    key: &str,
    now: i64,
    expires_at: i64,
) -> Result<bool, StoreError> {
    let row = revoked_token::Model {
        id: key.to_owned(),
        realm_id: realm_id.to_owned(),
        revoked_at: now,
        expires_at,
    };
    let inserted = revoked_token::Entity::insert(row.into_active_model())
        .on_conflict(
            OnConflict::column(revoked_token::Column::Id)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(inserted > 0)
}
