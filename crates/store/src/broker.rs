//! What identity brokering writes at each login: the user's group and role memberships
//! reconciled with what the provider's mappers assert now, with provenance, and the
//! attributes mappers manage.
//!
//! A membership a mapper created carries one provenance row per mapper asserting it (provider,
//! mapper, first and last seen). Reconciliation adds what is asserted and missing, refreshes
//! what is asserted and present, and removes provenance the upstream no longer asserts; a
//! membership whose last provenance goes is removed. A membership without provenance (one an
//! admin made) is never touched, and never adopted either.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};

use crate::admin::entity::user_federated_identity as link;
use crate::entity::{
    broker_group_membership as group_prov, broker_role_membership as role_prov, identity_provider,
    identity_provider_mapper, realm_group, role, user_entity, user_group, user_role,
};
use crate::error::StoreError;
use crate::queries::{from_json, insert_all, to_json};

/// Whose memberships are reconciled, after a login through which provider, when.
#[derive(Debug, Clone, Copy)]
pub struct Login<'a> {
    pub realm_id: &'a str,
    pub user_id: &'a str,
    /// The provider's internal id.
    pub provider_id: &'a str,
    pub now: i64,
}

/// What a reconciliation changed; ids of groups and roles.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reconciled {
    pub added_groups: Vec<String>,
    pub removed_groups: Vec<String>,
    pub added_roles: Vec<String>,
    pub removed_roles: Vec<String>,
}

impl Reconciled {
    /// Whether the user's memberships changed (their cached roles must go).
    pub fn changed(&self) -> bool {
        !(self.added_groups.is_empty()
            && self.removed_groups.is_empty()
            && self.added_roles.is_empty()
            && self.removed_roles.is_empty())
    }
}

/// Which of the two membership kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum MembershipKind {
    Group,
    Role,
}

/// Reconciles the user's memberships with `groups` and `roles` (target id -> the mappers of
/// the login's provider asserting it). Targets that no longer exist are left out.
pub async fn reconcile<C: ConnectionTrait>(
    db: &C,
    login: Login<'_>,
    groups: &BTreeMap<String, BTreeSet<String>>,
    roles: &BTreeMap<String, BTreeSet<String>>,
) -> Result<Reconciled, StoreError> {
    let mut out = Reconciled::default();
    let existing_groups = existing(db, MembershipKind::Group, login.realm_id, groups).await?;
    let existing_roles = existing(db, MembershipKind::Role, login.realm_id, roles).await?;
    let groups: BTreeMap<&String, &BTreeSet<String>> = groups
        .iter()
        .filter(|(id, _)| existing_groups.contains(*id))
        .collect();
    let roles: BTreeMap<&String, &BTreeSet<String>> = roles
        .iter()
        .filter(|(id, _)| existing_roles.contains(*id))
        .collect();
    let (added, removed) = reconcile_kind(db, MembershipKind::Group, login, &groups).await?;
    out.added_groups = added;
    out.removed_groups = removed;
    let (added, removed) = reconcile_kind(db, MembershipKind::Role, login, &roles).await?;
    out.added_roles = added;
    out.removed_roles = removed;
    Ok(out)
}

/// The ids among `wanted` that are groups (roles) of the realm.
async fn existing<C: ConnectionTrait>(
    db: &C,
    kind: MembershipKind,
    realm_id: &str,
    wanted: &BTreeMap<String, BTreeSet<String>>,
) -> Result<BTreeSet<String>, StoreError> {
    if wanted.is_empty() {
        return Ok(BTreeSet::new());
    }
    let ids: Vec<String> = wanted.keys().cloned().collect();
    let found: Vec<String> = match kind {
        MembershipKind::Group => {
            realm_group::Entity::find()
                .select_only()
                .column(realm_group::Column::Id)
                .filter(realm_group::Column::RealmId.eq(realm_id))
                .filter(realm_group::Column::Id.is_in(ids))
                .into_tuple()
                .all(db)
                .await?
        }
        MembershipKind::Role => {
            role::Entity::find()
                .select_only()
                .column(role::Column::Id)
                .filter(role::Column::RealmId.eq(realm_id))
                .filter(role::Column::Id.is_in(ids))
                .into_tuple()
                .all(db)
                .await?
        }
    };
    Ok(found.into_iter().collect())
}

/// A provenance row, whichever kind: (target, mapper, provider).
struct Provenance {
    target: String,
    mapper: String,
    provider: String,
}

async fn provenance_of<C: ConnectionTrait>(
    db: &C,
    kind: MembershipKind,
    user_id: &str,
) -> Result<Vec<Provenance>, StoreError> {
    Ok(match kind {
        MembershipKind::Group => group_prov::Entity::find()
            .filter(group_prov::Column::UserId.eq(user_id))
            .all(db)
            .await?
            .into_iter()
            .map(|r| Provenance {
                target: r.group_id,
                mapper: r.mapper_id,
                provider: r.identity_provider_id,
            })
            .collect(),
        MembershipKind::Role => role_prov::Entity::find()
            .filter(role_prov::Column::UserId.eq(user_id))
            .all(db)
            .await?
            .into_iter()
            .map(|r| Provenance {
                target: r.role_id,
                mapper: r.mapper_id,
                provider: r.identity_provider_id,
            })
            .collect(),
    })
}

async fn memberships_of<C: ConnectionTrait>(
    db: &C,
    kind: MembershipKind,
    user_id: &str,
) -> Result<BTreeSet<String>, StoreError> {
    let ids: Vec<String> = match kind {
        MembershipKind::Group => {
            user_group::Entity::find()
                .select_only()
                .column(user_group::Column::GroupId)
                .filter(user_group::Column::UserId.eq(user_id))
                .into_tuple()
                .all(db)
                .await?
        }
        MembershipKind::Role => {
            user_role::Entity::find()
                .select_only()
                .column(user_role::Column::RoleId)
                .filter(user_role::Column::UserId.eq(user_id))
                .into_tuple()
                .all(db)
                .await?
        }
    };
    Ok(ids.into_iter().collect())
}

async fn reconcile_kind<C: ConnectionTrait>(
    db: &C,
    kind: MembershipKind,
    login: Login<'_>,
    asserted: &BTreeMap<&String, &BTreeSet<String>>,
) -> Result<(Vec<String>, Vec<String>), StoreError> {
    let members = memberships_of(db, kind, login.user_id).await?;
    let provenance = provenance_of(db, kind, login.user_id).await?;
    let mut has_provenance: HashMap<&str, usize> = HashMap::new();
    for p in &provenance {
        *has_provenance.entry(p.target.as_str()).or_default() += 1;
    }
    let ours: BTreeSet<(&str, &str)> = provenance
        .iter()
        .filter(|p| p.provider == login.provider_id)
        .map(|p| (p.target.as_str(), p.mapper.as_str()))
        .collect();
    let mut added = Vec::new();
    let mut new_rows = Vec::new();
    let mut refreshed = Vec::new();
    for (target, mappers) in asserted {
        let member = members.contains(target.as_str());
        if member && !has_provenance.contains_key(target.as_str()) {
            // An admin's membership: not ours to manage.
            continue;
        }
        if !member {
            added.push(target.to_string());
        }
        for mapper in mappers.iter() {
            if ours.contains(&(target.as_str(), mapper.as_str())) {
                refreshed.push((target.to_string(), mapper.clone()));
            } else {
                new_rows.push((target.to_string(), mapper.clone()));
            }
        }
    }
    let stale: Vec<(&str, &str)> = ours
        .iter()
        .filter(|(target, mapper)| {
            !asserted
                .iter()
                .any(|(t, ms)| t.as_str() == *target && ms.contains(*mapper))
        })
        .copied()
        .collect();
    let mut left = has_provenance.clone();
    for (target, _) in &stale {
        if let Some(n) = left.get_mut(target) {
            *n = n.saturating_sub(1);
        }
    }
    let removed: Vec<String> = stale
        .iter()
        .map(|(target, _)| *target)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .filter(|t| left.get(t).copied().unwrap_or(0) == 0 && members.contains(*t))
        .map(str::to_string)
        .collect();

    write_memberships(db, kind, login.user_id, &added).await?;
    insert_provenance(db, kind, login, &new_rows).await?;
    touch_provenance(db, kind, login, &refreshed).await?;
    delete_provenance(db, kind, login.user_id, &stale).await?;
    delete_memberships(db, kind, login.user_id, &removed).await?;
    Ok((added, removed))
}

async fn write_memberships<C: ConnectionTrait>(
    db: &C,
    kind: MembershipKind,
    user_id: &str,
    targets: &[String],
) -> Result<(), StoreError> {
    match kind {
        MembershipKind::Group => {
            let rows = targets
                .iter()
                .map(|g| user_group::Model {
                    user_id: user_id.to_string(),
                    group_id: g.clone(),
                })
                .collect();
            insert_all::<user_group::Entity, _>(db, rows).await?;
        }
        MembershipKind::Role => {
            let rows = targets
                .iter()
                .map(|r| user_role::Model {
                    user_id: user_id.to_string(),
                    role_id: r.clone(),
                })
                .collect();
            insert_all::<user_role::Entity, _>(db, rows).await?;
        }
    }
    Ok(())
}

async fn insert_provenance<C: ConnectionTrait>(
    db: &C,
    kind: MembershipKind,
    login: Login<'_>,
    rows: &[(String, String)],
) -> Result<(), StoreError> {
    match kind {
        MembershipKind::Group => {
            let rows = rows
                .iter()
                .map(|(group, mapper)| group_prov::Model {
                    user_id: login.user_id.to_string(),
                    group_id: group.clone(),
                    mapper_id: mapper.clone(),
                    identity_provider_id: login.provider_id.to_string(),
                    realm_id: login.realm_id.to_string(),
                    created_at: login.now,
                    last_seen_at: login.now,
                })
                .collect();
            insert_all::<group_prov::Entity, _>(db, rows).await?;
        }
        MembershipKind::Role => {
            let rows = rows
                .iter()
                .map(|(role, mapper)| role_prov::Model {
                    user_id: login.user_id.to_string(),
                    role_id: role.clone(),
                    mapper_id: mapper.clone(),
                    identity_provider_id: login.provider_id.to_string(),
                    realm_id: login.realm_id.to_string(),
                    created_at: login.now,
                    last_seen_at: login.now,
                })
                .collect();
            insert_all::<role_prov::Entity, _>(db, rows).await?;
        }
    }
    Ok(())
}

async fn touch_provenance<C: ConnectionTrait>(
    db: &C,
    kind: MembershipKind,
    login: Login<'_>,
    rows: &[(String, String)],
) -> Result<(), StoreError> {
    match kind {
        MembershipKind::Group => {
            for (group, mapper) in rows {
                group_prov::Entity::update_many()
                    .col_expr(group_prov::Column::LastSeenAt, Expr::value(login.now))
                    .filter(group_prov::Column::UserId.eq(login.user_id))
                    .filter(group_prov::Column::GroupId.eq(group))
                    .filter(group_prov::Column::MapperId.eq(mapper))
                    .exec(db)
                    .await?;
            }
        }
        MembershipKind::Role => {
            for (role, mapper) in rows {
                role_prov::Entity::update_many()
                    .col_expr(role_prov::Column::LastSeenAt, Expr::value(login.now))
                    .filter(role_prov::Column::UserId.eq(login.user_id))
                    .filter(role_prov::Column::RoleId.eq(role))
                    .filter(role_prov::Column::MapperId.eq(mapper))
                    .exec(db)
                    .await?;
            }
        }
    }
    Ok(())
}

async fn delete_provenance<C: ConnectionTrait>(
    db: &C,
    kind: MembershipKind,
    user_id: &str,
    rows: &[(&str, &str)],
) -> Result<(), StoreError> {
    for (target, mapper) in rows {
        match kind {
            MembershipKind::Group => {
                group_prov::Entity::delete_many()
                    .filter(group_prov::Column::UserId.eq(user_id))
                    .filter(group_prov::Column::GroupId.eq(*target))
                    .filter(group_prov::Column::MapperId.eq(*mapper))
                    .exec(db)
                    .await?;
            }
            MembershipKind::Role => {
                role_prov::Entity::delete_many()
                    .filter(role_prov::Column::UserId.eq(user_id))
                    .filter(role_prov::Column::RoleId.eq(*target))
                    .filter(role_prov::Column::MapperId.eq(*mapper))
                    .exec(db)
                    .await?;
            }
        }
    }
    Ok(())
}

async fn delete_memberships<C: ConnectionTrait>(
    db: &C,
    kind: MembershipKind,
    user_id: &str,
    targets: &[String],
) -> Result<(), StoreError> {
    if targets.is_empty() {
        return Ok(());
    }
    match kind {
        MembershipKind::Group => {
            user_group::Entity::delete_many()
                .filter(user_group::Column::UserId.eq(user_id))
                .filter(user_group::Column::GroupId.is_in(targets.to_vec()))
                .exec(db)
                .await?;
        }
        MembershipKind::Role => {
            user_role::Entity::delete_many()
                .filter(user_role::Column::UserId.eq(user_id))
                .filter(user_role::Column::RoleId.is_in(targets.to_vec()))
                .exec(db)
                .await?;
        }
    }
    Ok(())
}

/// Attributes that are the user's profile fields rather than attributes.
const EMAIL: &str = "email";
const FIRST_NAME: &str = "firstName";
const LAST_NAME: &str = "lastName";

/// Sets the attributes mappers manage (an empty list removes one); `email`, `firstName` and
/// `lastName` set the profile (an e-mail another user of the realm has is left alone, and a
/// changed e-mail is no longer verified). Returns whether the user changed.
pub async fn apply_attributes<C: ConnectionTrait>(
    db: &C,
    user: &user_entity::Model,
    attributes: &BTreeMap<String, Vec<String>>,
) -> Result<bool, StoreError> {
    if attributes.is_empty() {
        return Ok(false);
    }
    let mut row = user.clone();
    let mut stored: BTreeMap<String, Vec<String>> = from_json(&row.attributes, "user attributes")?;
    for (name, values) in attributes {
        let first = values
            .iter()
            .map(|v| v.trim())
            .find(|v| !v.is_empty())
            .map(str::to_string);
        match name.as_str() {
            EMAIL => {
                let email = first.map(|e| e.to_lowercase());
                if email != row.email {
                    let taken = match &email {
                        Some(e) => crate::admin::users::find_by_email(db, &row.realm_id, e)
                            .await?
                            .is_some_and(|other| other.id != row.id),
                        None => false,
                    };
                    if taken {
                        tracing::info!(user = %row.id, "broker: e-mail taken by another user, not set");
                    } else {
                        row.email = email;
                        row.email_verified = false;
                    }
                }
            }
            FIRST_NAME => row.first_name = first,
            LAST_NAME => row.last_name = first,
            _ if values.is_empty() => {
                stored.remove(name);
            }
            _ => {
                stored.insert(name.clone(), values.clone());
            }
        }
    }
    row.attributes = to_json(&stored)?;
    if row == *user {
        return Ok(false);
    }
    crate::admin::users::update(db, row).await?;
    Ok(true)
}

/// One membership's provenance, for the admin API and console.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembershipProvenance {
    pub kind: MembershipKind,
    /// The group's or role's id.
    pub target_id: String,
    pub provider_alias: String,
    pub mapper_id: String,
    pub mapper_name: String,
    pub created_at: i64,
    pub last_seen_at: i64,
}

/// Every provenance row of a user's memberships, by provider alias, kind and mapper name.
pub async fn provenance<C: ConnectionTrait>(
    db: &C,
    user_id: &str,
) -> Result<Vec<MembershipProvenance>, StoreError> {
    let groups = group_prov::Entity::find()
        .filter(group_prov::Column::UserId.eq(user_id))
        .all(db)
        .await?;
    let roles = role_prov::Entity::find()
        .filter(role_prov::Column::UserId.eq(user_id))
        .all(db)
        .await?;
    let mut mapper_ids: BTreeSet<String> = groups.iter().map(|g| g.mapper_id.clone()).collect();
    mapper_ids.extend(roles.iter().map(|r| r.mapper_id.clone()));
    let mappers: HashMap<String, identity_provider_mapper::Model> = if mapper_ids.is_empty() {
        HashMap::new()
    } else {
        identity_provider_mapper::Entity::find()
            .filter(identity_provider_mapper::Column::Id.is_in(mapper_ids))
            .all(db)
            .await?
            .into_iter()
            .map(|m| (m.id.clone(), m))
            .collect()
    };
    let provider_ids: BTreeSet<String> = mappers
        .values()
        .map(|m| m.identity_provider_id.clone())
        .collect();
    let aliases: HashMap<String, String> = if provider_ids.is_empty() {
        HashMap::new()
    } else {
        identity_provider::Entity::find()
            .filter(identity_provider::Column::Id.is_in(provider_ids))
            .all(db)
            .await?
            .into_iter()
            .map(|p| (p.id, p.alias))
            .collect()
    };
    let row = |kind, target: String, mapper: &str, created, seen| {
        let m = mappers.get(mapper);
        MembershipProvenance {
            kind,
            target_id: target,
            provider_alias: m
                .and_then(|m| aliases.get(&m.identity_provider_id))
                .cloned()
                .unwrap_or_default(),
            mapper_id: mapper.to_string(),
            mapper_name: m.map(|m| m.name.clone()).unwrap_or_default(),
            created_at: created,
            last_seen_at: seen,
        }
    };
    let mut out: Vec<MembershipProvenance> = groups
        .into_iter()
        .map(|g| {
            row(
                MembershipKind::Group,
                g.group_id,
                &g.mapper_id,
                g.created_at,
                g.last_seen_at,
            )
        })
        .chain(roles.into_iter().map(|r| {
            row(
                MembershipKind::Role,
                r.role_id,
                &r.mapper_id,
                r.created_at,
                r.last_seen_at,
            )
        }))
        .collect();
    out.sort_by(|a, b| {
        (&a.provider_alias, a.kind, &a.mapper_name, &a.target_id).cmp(&(
            &b.provider_alias,
            b.kind,
            &b.mapper_name,
            &b.target_id,
        ))
    });
    Ok(out)
}

/// The user an upstream account is linked to, if any.
pub async fn linked_user<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    alias: &str,
    subject: &str,
) -> Result<Option<user_entity::Model>, StoreError> {
    let Some(found) = link::Entity::find()
        .filter(link::Column::RealmId.eq(realm_id))
        .filter(link::Column::IdentityProvider.eq(alias))
        .filter(link::Column::FederatedUserId.eq(subject))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    crate::admin::users::find(db, realm_id, &found.user_id).await
}
