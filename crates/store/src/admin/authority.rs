//! The admin-rights footprint of a realm ([`Footprint`]), read inside the transaction of an
//! admin change so that the rights before and after it can be compared.

use portcullis_core::authority::{Footprint, MASTER_REALM, RoleGraph};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};

use crate::entity::{realm, user_group, user_role};
use crate::error::StoreError;
use crate::queries::realm::load_role_graph;

/// Which roles, groups and users of the realm hold which admin rights. Only users holding a
/// role or group that reaches a right are read, so the cost follows the number of admins, not
/// of users.
pub async fn footprint<C: ConnectionTrait>(
    db: &C,
    realm: &realm::Model,
) -> Result<Footprint, StoreError> {
    let (roles, groups) = load_role_graph(db, &realm.id).await?;
    let graph = RoleGraph {
        target_is_master: realm.name == MASTER_REALM,
        roles: &roles,
        groups: &groups,
    };
    let role_rights = graph.role_rights();
    let group_rights = graph.group_rights(&role_rights);
    let role_ids: Vec<String> = role_rights.keys().map(|id| id.to_string()).collect();
    let group_ids: Vec<String> = group_rights.keys().map(|id| id.to_string()).collect();
    let user_roles: Vec<(String, String)> = if role_ids.is_empty() {
        Vec::new()
    } else {
        user_role::Entity::find()
            .select_only()
            .column(user_role::Column::UserId)
            .column(user_role::Column::RoleId)
            .filter(user_role::Column::RoleId.is_in(role_ids))
            .into_tuple()
            .all(db)
            .await?
    };
    let user_groups: Vec<(String, String)> = if group_ids.is_empty() {
        Vec::new()
    } else {
        user_group::Entity::find()
            .select_only()
            .column(user_group::Column::UserId)
            .column(user_group::Column::GroupId)
            .filter(user_group::Column::GroupId.is_in(group_ids))
            .into_tuple()
            .all(db)
            .await?
    };
    Ok(Footprint::compute(graph, &user_roles, &user_groups))
}
