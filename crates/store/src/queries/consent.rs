//! The scopes a user consented to per client.

use std::collections::BTreeSet;

use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter};

use super::{from_json, to_json};
use crate::entity::user_consent;
use crate::error::StoreError;

async fn consent_row<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    user_id: &str,
    client_id: &str,
) -> Result<Option<user_consent::Model>, StoreError> {
    Ok(user_consent::Entity::find_by_id((
        realm_id.to_string(),
        user_id.to_string(),
        client_id.to_string(),
    ))
    .one(db)
    .await?)
}

/// The scopes the user granted the client, sorted; empty if none.
pub(crate) async fn granted<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    user_id: &str,
    client_id: &str,
) -> Result<Vec<String>, StoreError> {
    match consent_row(db, realm_id, user_id, client_id).await? {
        Some(row) => from_json(&row.scopes, "consented scopes"),
        None => Ok(Vec::new()),
    }
}

/// Attempts before a grant that keeps losing the compare-and-set gives up.
const GRANT_ATTEMPTS: usize = 8;

/// Adds `scopes` to what the user granted the client. The union is written with a
/// compare-and-set on the previous value, so two concurrent grants never drop each other's
/// scopes.
pub(crate) async fn grant<C: ConnectionTrait>(
    db: &C,
    key: (&str, &str, &str),
    scopes: &[String],
    now: i64,
) -> Result<(), StoreError> {
    let (realm_id, user_id, client_id) = key;
    for _ in 0..GRANT_ATTEMPTS {
        let written = match consent_row(db, realm_id, user_id, client_id).await? {
            None => insert_consent(db, key, scopes, now).await?,
            Some(row) => {
                let old: BTreeSet<String> = from_json(&row.scopes, "consented scopes")?;
                let mut union = old.clone();
                union.extend(scopes.iter().cloned());
                if union == old {
                    return Ok(());
                }
                user_consent::Entity::update_many()
                    .col_expr(user_consent::Column::Scopes, Expr::value(to_json(&union)?))
                    .col_expr(user_consent::Column::UpdatedAt, Expr::value(now))
                    .filter(user_consent::Column::RealmId.eq(realm_id))
                    .filter(user_consent::Column::UserId.eq(user_id))
                    .filter(user_consent::Column::ClientId.eq(client_id))
                    .filter(user_consent::Column::Scopes.eq(row.scopes))
                    .exec(db)
                    .await?
                    .rows_affected
                    == 1
            }
        };
        if written {
            return Ok(());
        }
    }
    Err(StoreError::Conflict(
        "the consent is being changed concurrently".into(),
    ))
}

/// Inserts a first consent unless another request just did; true if this one wrote it.
async fn insert_consent<C: ConnectionTrait>(
    db: &C,
    (realm_id, user_id, client_id): (&str, &str, &str),
    scopes: &[String],
    now: i64,
) -> Result<bool, StoreError> {
    let scopes: BTreeSet<&String> = scopes.iter().collect();
    let row = user_consent::Model {
        realm_id: realm_id.to_string(),
        user_id: user_id.to_string(),
        client_id: client_id.to_string(),
        scopes: to_json(&scopes)?,
        created_at: now,
        updated_at: now,
    };
    let inserted = user_consent::Entity::insert(row.into_active_model())
        .on_conflict(
            OnConflict::columns([
                user_consent::Column::RealmId,
                user_consent::Column::UserId,
                user_consent::Column::ClientId,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(inserted == 1)
}
