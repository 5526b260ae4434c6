//! A realm's client scopes, for the admin operations: look-ups, writes, and the clients that
//! name a scope (clients keep their scope lists by name).

use portcullis_core::model::{ClientScope, RealmScopeType};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder,
};

use crate::client_scopes::{from_row, to_row};
use crate::entity::{client, client_scope};
use crate::error::StoreError;
use crate::queries::{from_json, insert_all, to_json};

/// Every client scope of the realm, by name.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
) -> Result<Vec<ClientScope>, StoreError> {
    client_scope::Entity::find()
        .filter(client_scope::Column::RealmId.eq(realm_id))
        .order_by_asc(client_scope::Column::Name)
        .all(db)
        .await?
        .iter()
        .map(from_row)
        .collect()
}

/// By id.
pub async fn find<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    id: &str,
) -> Result<Option<ClientScope>, StoreError> {
    client_scope::Entity::find_by_id(id.to_string())
        .filter(client_scope::Column::RealmId.eq(realm_id))
        .one(db)
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

/// By name.
pub async fn find_by_name<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    name: &str,
) -> Result<Option<ClientScope>, StoreError> {
    client_scope::Entity::find()
        .filter(client_scope::Column::RealmId.eq(realm_id))
        .filter(client_scope::Column::Name.eq(name))
        .one(db)
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

pub async fn insert<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    scope: &ClientScope,
) -> Result<(), StoreError> {
    insert_all::<client_scope::Entity, _>(db, vec![to_row(scope, realm_id)?]).await?;
    Ok(())
}

/// Writes every field of `scope` (by its id).
pub async fn update<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    scope: &ClientScope,
) -> Result<(), StoreError> {
    to_row(scope, realm_id)?
        .into_active_model()
        .reset_all()
        .update(db)
        .await?;
    Ok(())
}

pub async fn delete<C: ConnectionTrait>(db: &C, id: &str) -> Result<(), StoreError> {
    client_scope::Entity::delete_by_id(id.to_string())
        .exec(db)
        .await?;
    Ok(())
}

/// The names of the realm's default or optional scopes of `protocol`, for new clients.
pub async fn realm_names<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    kind: RealmScopeType,
    protocol: &str,
) -> Result<Vec<String>, StoreError> {
    Ok(list(db, realm_id)
        .await?
        .into_iter()
        .filter(|s| s.realm_type == kind && s.protocol == protocol)
        .map(|s| s.name)
        .collect())
}

/// Renames (or, with `to == None`, removes) a scope in every client's default and optional
/// lists, so that renaming or deleting a scope leaves no client naming a scope that is gone.
pub async fn rename_in_clients<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    from: &str,
    to: Option<&str>,
) -> Result<(), StoreError> {
    let clients = client::Entity::find()
        .filter(client::Column::RealmId.eq(realm_id))
        .all(db)
        .await?;
    for row in clients {
        let mut lists: [Vec<String>; 2] = [
            from_json(&row.default_client_scopes, "client scopes")?,
            from_json(&row.optional_client_scopes, "client scopes")?,
        ];
        let mut changed = false;
        for list in &mut lists {
            if list.iter().any(|s| s == from) {
                changed = true;
                let renamed: Vec<String> = list
                    .iter()
                    .filter_map(|s| {
                        if s == from {
                            to.map(str::to_owned)
                        } else {
                            Some(s.clone())
                        }
                    })
                    .collect();
                *list = renamed;
            }
        }
        if changed {
            let [default, optional] = lists;
            let mut active = row.into_active_model();
            active.default_client_scopes = sea_orm::ActiveValue::Set(to_json(&default)?);
            active.optional_client_scopes = sea_orm::ActiveValue::Set(to_json(&optional)?);
            active.update(db).await?;
        }
    }
    Ok(())
}
