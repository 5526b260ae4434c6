//! Ending everything a user holds at once: the user's `notBefore` moves to now (every token
//! issued before is refused wherever it is checked, whatever cache holds it), and the rows that
//! carry credentials are ended too, so listings show them gone: SSO sessions, OIDC refresh and
//! offline tokens, docker logins (refresh tokens), app passwords.

use sea_orm::sea_query::Condition;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, TransactionTrait};

use crate::entity::{docker_refresh_token, oidc_refresh_token, user_entity, user_session};
use crate::error::StoreError;

/// Ends every credential of the user issued before `now` (unix seconds). Idempotent.
pub(crate) async fn end_everything<C: TransactionTrait>(
    db: &C,
    realm_id: &str,
    user_id: &str,
    now: i64,
) -> Result<(), StoreError> {
    let txn = crate::transaction::begin_write(db).await?;
    user_entity::Entity::update_many()
        .col_expr(user_entity::Column::NotBefore, Expr::value(now))
        .filter(user_entity::Column::Id.eq(user_id))
        .filter(user_entity::Column::RealmId.eq(realm_id))
        .filter(user_entity::Column::NotBefore.lt(now))
        .exec(&txn)
        .await?;
    user_session::Entity::update_many()
        .col_expr(user_session::Column::Ended, Expr::value(true))
        .filter(user_session::Column::RealmId.eq(realm_id))
        .filter(user_session::Column::UserId.eq(user_id))
        .filter(user_session::Column::Ended.eq(false))
        .exec(&txn)
        .await?;
    oidc_refresh_token::Entity::update_many()
        .col_expr(oidc_refresh_token::Column::Revoked, Expr::value(true))
        .filter(oidc_refresh_token::Column::RealmId.eq(realm_id))
        .filter(oidc_refresh_token::Column::UserId.eq(user_id))
        .filter(oidc_refresh_token::Column::Revoked.eq(false))
        .exec(&txn)
        .await?;
    docker_refresh_token::Entity::update_many()
        .col_expr(docker_refresh_token::Column::Revoked, Expr::value(true))
        .filter(docker_refresh_token::Column::RealmId.eq(realm_id))
        .filter(docker_refresh_token::Column::UserId.eq(user_id))
        .filter(docker_refresh_token::Column::Revoked.eq(false))
        .exec(&txn)
        .await?;
    super::app_password::revoke_for_user(&txn, realm_id, user_id, now).await?;
    txn.commit().await?;
    Ok(())
}

/// Ends what signing in gave the user, except the SSO session `keep` and its online refresh
/// tokens: every other session, every other refresh and offline token, every docker login.
/// The user's `notBefore` does not move (it would end `keep` and the user's app passwords,
/// which stay). Returns how many sessions it ended. Idempotent.
pub(crate) async fn end_other_sign_ins<C: TransactionTrait>(
    db: &C,
    realm_id: &str,
    user_id: &str,
    keep: &str,
) -> Result<u64, StoreError> {
    let txn = crate::transaction::begin_write(db).await?;
    let ended = user_session::Entity::update_many()
        .col_expr(user_session::Column::Ended, Expr::value(true))
        .filter(user_session::Column::RealmId.eq(realm_id))
        .filter(user_session::Column::UserId.eq(user_id))
        .filter(user_session::Column::Ended.eq(false))
        .filter(user_session::Column::Id.ne(keep))
        .exec(&txn)
        .await?
        .rows_affected;
    let kept_token = Condition::all()
        .add(oidc_refresh_token::Column::SessionId.eq(keep))
        .add(oidc_refresh_token::Column::Offline.eq(false));
    oidc_refresh_token::Entity::update_many()
        .col_expr(oidc_refresh_token::Column::Revoked, Expr::value(true))
        .filter(oidc_refresh_token::Column::RealmId.eq(realm_id))
        .filter(oidc_refresh_token::Column::UserId.eq(user_id))
        .filter(oidc_refresh_token::Column::Revoked.eq(false))
        .filter(kept_token.not())
        .exec(&txn)
        .await?;
    docker_refresh_token::Entity::update_many()
        .col_expr(docker_refresh_token::Column::Revoked, Expr::value(true))
        .filter(docker_refresh_token::Column::RealmId.eq(realm_id))
        .filter(docker_refresh_token::Column::UserId.eq(user_id))
        .filter(docker_refresh_token::Column::Revoked.eq(false))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(ended)
}
