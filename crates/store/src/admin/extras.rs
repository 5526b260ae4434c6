//! Representation fields Portcullis keeps without interpreting them (`sslRequired`,
//! `rootUrl`, `requiredActions`, ...), so tools read back what they wrote.

use std::collections::HashMap;

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde_json::{Map, Value};

use super::entity::admin_extra;
use crate::error::StoreError;
use crate::queries::{from_json, insert_all, to_json};

/// The fields kept for `owner_id` (a realm, client or user id); empty when none.
pub async fn get<C: ConnectionTrait>(
    db: &C,
    owner_id: &str,
) -> Result<Map<String, Value>, StoreError> {
    match admin_extra::Entity::find_by_id(owner_id.to_string())
        .one(db)
        .await?
    {
        Some(row) => from_json(&row.fields, "representation extras"),
        None => Ok(Map::new()),
    }
}

/// The fields kept for each of `owner_ids` that has any.
pub async fn get_many<C: ConnectionTrait>(
    db: &C,
    owner_ids: &[String],
) -> Result<HashMap<String, Map<String, Value>>, StoreError> {
    if owner_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = admin_extra::Entity::find()
        .filter(admin_extra::Column::OwnerId.is_in(owner_ids.iter().cloned()))
        .all(db)
        .await?;
    rows.into_iter()
        .map(|row| {
            Ok((
                row.owner_id,
                from_json(&row.fields, "representation extras")?,
            ))
        })
        .collect()
}

/// Replaces the fields kept for `owner_id`; an empty map deletes them.
pub async fn set<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    owner_id: &str,
    fields: &Map<String, Value>,
) -> Result<(), StoreError> {
    delete(db, owner_id).await?;
    if fields.is_empty() {
        return Ok(());
    }
    let row = admin_extra::Model {
        owner_id: owner_id.to_string(),
        realm_id: realm_id.to_string(),
        fields: to_json(fields)?,
    };
    insert_all::<admin_extra::Entity, _>(db, vec![row]).await?;
    Ok(())
}

pub async fn delete<C: ConnectionTrait>(db: &C, owner_id: &str) -> Result<(), StoreError> {
    admin_extra::Entity::delete_many()
        .filter(admin_extra::Column::OwnerId.eq(owner_id))
        .exec(db)
        .await?;
    Ok(())
}
