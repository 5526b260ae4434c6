//! The `user_attribute` rows behind attribute search, kept in step with users' JSON
//! `attributes` column by every write of it.

use std::collections::{BTreeMap, BTreeSet};

use portcullis_core::secrets::hash_secret;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use super::{from_json, insert_all};
use crate::entity::{user_attribute, user_entity};
use crate::error::StoreError;

/// The attribute rows of users as their JSON columns say.
pub(crate) fn rows_of(
    users: &[user_entity::Model],
) -> Result<Vec<user_attribute::Model>, StoreError> {
    let mut rows = Vec::new();
    for user in users {
        let attributes: BTreeMap<String, Vec<String>> =
            from_json(&user.attributes, "user attributes")?;
        let mut seen = BTreeSet::new();
        for (name, values) in attributes {
            for value in values {
                let value_hash = hash_secret(&value);
                if seen.insert((name.clone(), value_hash.clone())) {
                    rows.push(user_attribute::Model {
                        user_id: user.id.clone(),
                        name: name.clone(),
                        value,
                        value_hash,
                    });
                }
            }
        }
    }
    Ok(rows)
}

/// Rewrites the attribute rows of one user from its JSON column.
pub(crate) async fn sync<C: ConnectionTrait>(
    db: &C,
    user: &user_entity::Model,
) -> Result<(), StoreError> {
    user_attribute::Entity::delete_many()
        .filter(user_attribute::Column::UserId.eq(&user.id))
        .exec(db)
        .await?;
    insert_all::<user_attribute::Entity, _>(db, rows_of(std::slice::from_ref(user))?).await?;
    Ok(())
}
