//! What a user has granted clients, as the admin API lists and revokes it: consents (scopes a
//! user approved for an OpenID Connect client), offline tokens, and docker logins (the refresh
//! tokens `docker login` stores, one per login). A docker login is shown as Keycloak shows an
//! offline session: one per token.

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::entity::{docker_refresh_token, oidc_refresh_token, user_consent};
use crate::error::StoreError;

/// Live docker logins of a realm: of one user and/or one registry (`service`), oldest first.
pub async fn docker_logins<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    user_id: Option<&str>,
    service: Option<&str>,
    now: i64,
) -> Result<Vec<docker_refresh_token::Model>, StoreError> {
    let mut query = docker_refresh_token::Entity::find()
        .filter(docker_refresh_token::Column::RealmId.eq(realm_id))
        .filter(docker_refresh_token::Column::Revoked.eq(false))
        .filter(docker_refresh_token::Column::ExpiresAt.gt(now));
    if let Some(user) = user_id {
        query = query.filter(docker_refresh_token::Column::UserId.eq(user));
    }
    if let Some(service) = service {
        query = query.filter(docker_refresh_token::Column::Service.eq(service));
    }
    Ok(query
        .order_by_asc(docker_refresh_token::Column::CreatedAt)
        .order_by_asc(docker_refresh_token::Column::Id)
        .all(db)
        .await?)
}

/// The live docker login with this id, if any.
pub async fn docker_login<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    id: &str,
    now: i64,
) -> Result<Option<docker_refresh_token::Model>, StoreError> {
    Ok(docker_refresh_token::Entity::find_by_id(id.to_string())
        .filter(docker_refresh_token::Column::RealmId.eq(realm_id))
        .filter(docker_refresh_token::Column::Revoked.eq(false))
        .filter(docker_refresh_token::Column::ExpiresAt.gt(now))
        .one(db)
        .await?)
}

/// Revokes docker logins: one by id, or all of a user for a registry. Returns how many.
pub async fn revoke_docker_logins<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    which: DockerLogins<'_>,
) -> Result<u64, StoreError> {
    let mut update = docker_refresh_token::Entity::update_many()
        .col_expr(docker_refresh_token::Column::Revoked, Expr::value(true))
        .filter(docker_refresh_token::Column::RealmId.eq(realm_id))
        .filter(docker_refresh_token::Column::Revoked.eq(false));
    update = match which {
        DockerLogins::One(id) => update.filter(docker_refresh_token::Column::Id.eq(id)),
        DockerLogins::OfUser { user_id, service } => update
            .filter(docker_refresh_token::Column::UserId.eq(user_id))
            .filter(docker_refresh_token::Column::Service.eq(service)),
    };
    Ok(update.exec(db).await?.rows_affected)
}

/// Which docker logins to revoke.
#[derive(Debug, Clone, Copy)]
pub enum DockerLogins<'a> {
    One(&'a str),
    OfUser { user_id: &'a str, service: &'a str },
}

/// Live offline tokens of a realm: of one user and/or one client (`clientId`).
pub async fn offline_tokens<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    user_id: Option<&str>,
    client_id: Option<&str>,
    now: i64,
) -> Result<Vec<oidc_refresh_token::Model>, StoreError> {
    let mut query = oidc_refresh_token::Entity::find()
        .filter(oidc_refresh_token::Column::RealmId.eq(realm_id))
        .filter(oidc_refresh_token::Column::Offline.eq(true))
        .filter(oidc_refresh_token::Column::Revoked.eq(false))
        .filter(oidc_refresh_token::Column::ExpiresAt.gt(now));
    if let Some(user) = user_id {
        query = query.filter(oidc_refresh_token::Column::UserId.eq(user));
    }
    if let Some(client) = client_id {
        query = query.filter(oidc_refresh_token::Column::ClientId.eq(client));
    }
    Ok(query
        .order_by_asc(oidc_refresh_token::Column::CreatedAt)
        .order_by_asc(oidc_refresh_token::Column::Id)
        .all(db)
        .await?)
}

/// Revokes offline tokens: those of one offline session (`sid`, or the token id of a token
/// without a session), or all of a user for a client. Returns how many.
pub async fn revoke_offline_tokens<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    which: OfflineTokens<'_>,
) -> Result<u64, StoreError> {
    let mut update = oidc_refresh_token::Entity::update_many()
        .col_expr(oidc_refresh_token::Column::Revoked, Expr::value(true))
        .filter(oidc_refresh_token::Column::RealmId.eq(realm_id))
        .filter(oidc_refresh_token::Column::Offline.eq(true))
        .filter(oidc_refresh_token::Column::Revoked.eq(false));
    update = match which {
        OfflineTokens::Session(id) => update.filter(
            oidc_refresh_token::Column::SessionId
                .eq(id)
                .or(oidc_refresh_token::Column::Id.eq(id)),
        ),
        OfflineTokens::OfUser { user_id, client_id } => update
            .filter(oidc_refresh_token::Column::UserId.eq(user_id))
            .filter(oidc_refresh_token::Column::ClientId.eq(client_id)),
    };
    Ok(update.exec(db).await?.rows_affected)
}

/// Which offline tokens to revoke.
#[derive(Debug, Clone, Copy)]
pub enum OfflineTokens<'a> {
    Session(&'a str),
    OfUser {
        user_id: &'a str,
        client_id: &'a str,
    },
}

/// The user's consents, by `clientId`.
pub async fn consents<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    user_id: &str,
) -> Result<Vec<user_consent::Model>, StoreError> {
    Ok(user_consent::Entity::find()
        .filter(user_consent::Column::RealmId.eq(realm_id))
        .filter(user_consent::Column::UserId.eq(user_id))
        .order_by_asc(user_consent::Column::ClientId)
        .all(db)
        .await?)
}

/// Deletes the user's consent for a client; whether there was one.
pub async fn delete_consent<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    user_id: &str,
    client_id: &str,
) -> Result<bool, StoreError> {
    let result = user_consent::Entity::delete_by_id((
        realm_id.to_string(),
        user_id.to_string(),
        client_id.to_string(),
    ))
    .exec(db)
    .await?;
    Ok(result.rows_affected > 0)
}
