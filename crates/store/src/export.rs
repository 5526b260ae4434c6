//! Realm export in Keycloak's representation, the inverse of the import: roles with composites
//! by name, the group tree, clients with mappers, signing keys as key-provider components, and
//! (on request) users with their stored password hashes.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use portcullis_core::password::StoredPassword;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};

use crate::admin::entity::user_federated_identity as link;
use crate::entity::{credential, realm_group, user_entity, user_group, user_role};
use crate::error::StoreError;
use crate::key_component::{KEY_PROVIDER_TYPE, component_for_key};
use crate::queries::from_json;
use crate::queries::realm::{RealmRows, group_paths, key_material, load_rows};
use crate::queries::user::PASSWORD;
use crate::representation::{
    ClientRepresentation, CompositesRepresentation, CredentialRepresentation,
    FederatedIdentityRepresentation, GroupRepresentation, IdentityProviderMapperRepresentation,
    RealmRepresentation, RolesRepresentation, ScopeMappingRepresentation, UserRepresentation,
    from_row,
};

pub(crate) async fn export_realm<C: ConnectionTrait>(
    db: &C,
    name: &str,
    include_users: bool,
) -> Result<Option<RealmRepresentation>, StoreError> {
    let Some(mut export) = RealmExport::start(db, name, include_users).await? else {
        return Ok(None);
    };
    let mut users = Vec::new();
    while let Some(page) = export.next_page(db).await? {
        users.extend(page);
    }
    // Service-account users travel with their clients even without `include_users`, as in
    // Keycloak, so a client's roles for its own service account survive a round trip.
    if include_users || !users.is_empty() {
        export.realm.users = Some(users);
    }
    Ok(Some(export.realm))
}

/// Users per page of an export: one query per table for the page, and only the page in memory.
pub const EXPORT_PAGE: u64 = 1000;

/// An export under way: the realm without users, then its users a page at a time in username
/// order (a username seen is never seen again, even if users come and go meanwhile).
pub struct RealmExport {
    realm: RealmRepresentation,
    realm_id: String,
    refs: RoleRefs,
    client_ids: HashMap<String, String>,
    group_paths: HashMap<String, String>,
    all: bool,
    after: Option<String>,
    done: bool,
    users: u64,
}

impl RealmExport {
    /// Loads everything but the users; `None` if there is no realm `name`. With `all ==
    /// false` the pages hold only service-account users.
    pub(crate) async fn start<C: ConnectionTrait>(
        db: &C,
        name: &str,
        all: bool,
    ) -> Result<Option<RealmExport>, StoreError> {
        let Some(rows) = load_rows(db, name).await? else {
            return Ok(None);
        };
        let refs = RoleRefs::new(&rows);
        let mut realm = realm_head(&rows, &refs)?;
        realm.kept = rows.extras.clone();
        let owners: Vec<String> = (rows.clients.iter().map(|c| c.id.clone()))
            .chain(rows.identity_providers.iter().map(|p| p.id.clone()))
            .collect();
        let mut kept = crate::admin::extras::get_many(db, &owners).await?;
        for (client, row) in realm.clients.iter_mut().zip(&rows.clients) {
            client.kept = kept.remove(&row.id).unwrap_or_default();
        }
        let providers = realm.identity_providers.iter_mut();
        for (provider, row) in providers.zip(&rows.identity_providers) {
            provider.kept = kept.remove(&row.id).unwrap_or_default();
        }
        let client_ids = rows
            .clients
            .iter()
            .map(|c| (c.id.clone(), c.client_id.clone()))
            .collect();
        let groups = realm_group::Entity::find()
            .filter(realm_group::Column::RealmId.eq(rows.realm.id.as_str()))
            .all(db)
            .await?;
        let mut count = user_entity::Entity::find()
            .filter(user_entity::Column::RealmId.eq(rows.realm.id.as_str()));
        if !all {
            count = count.filter(user_entity::Column::ServiceAccountClientPk.is_not_null());
        }
        let users = count.count(db).await?;
        Ok(Some(RealmExport {
            realm,
            realm_id: rows.realm.id.clone(),
            refs,
            client_ids,
            group_paths: group_paths(&groups),
            all,
            after: None,
            done: false,
            users,
        }))
    }

    /// The realm, without its users.
    pub fn realm(&self) -> &RealmRepresentation {
        &self.realm
    }

    /// How many users the pages hold (counted at the start).
    pub fn user_count(&self) -> u64 {
        self.users
    }

    /// The next page of users; `None` after the last.
    pub async fn next_page<C: ConnectionTrait>(
        &mut self,
        db: &C,
    ) -> Result<Option<Vec<UserRepresentation>>, StoreError> {
        if self.done {
            return Ok(None);
        }
        let mut query = user_entity::Entity::find()
            .filter(user_entity::Column::RealmId.eq(self.realm_id.as_str()))
            .order_by_asc(user_entity::Column::Username)
            .limit(EXPORT_PAGE);
        if !self.all {
            query = query.filter(user_entity::Column::ServiceAccountClientPk.is_not_null());
        }
        if let Some(after) = &self.after {
            query = query.filter(user_entity::Column::Username.gt(after.as_str()));
        }
        let users = query.all(db).await?;
        if (users.len() as u64) < EXPORT_PAGE {
            self.done = true;
        }
        let Some(last) = users.last() else {
            return Ok(None);
        };
        self.after = Some(last.username.clone());
        Ok(Some(self.users_page(db, users).await?))
    }

    async fn users_page<C: ConnectionTrait>(
        &self,
        db: &C,
        users: Vec<user_entity::Model>,
    ) -> Result<Vec<UserRepresentation>, StoreError> {
        let ids: Vec<&str> = users.iter().map(|u| u.id.as_str()).collect();
        let credentials = credential::Entity::find()
            .filter(credential::Column::UserId.is_in(ids.clone()))
            .order_by_asc(credential::Column::CreatedAt)
            .order_by_asc(credential::Column::Id)
            .all(db)
            .await?;
        let user_roles = user_role::Entity::find()
            .filter(user_role::Column::UserId.is_in(ids.clone()))
            .all(db)
            .await?;
        let user_groups = user_group::Entity::find()
            .filter(user_group::Column::UserId.is_in(ids.clone()))
            .all(db)
            .await?;
        let links = link::Entity::find()
            .filter(link::Column::UserId.is_in(ids))
            .order_by_asc(link::Column::IdentityProvider)
            .all(db)
            .await?;
        let mut links_of: HashMap<&str, Vec<FederatedIdentityRepresentation>> = HashMap::new();
        for l in &links {
            links_of
                .entry(&l.user_id)
                .or_default()
                .push(FederatedIdentityRepresentation {
                    identity_provider: Some(l.identity_provider.clone()),
                    user_id: Some(l.federated_user_id.clone()),
                    user_name: l.federated_username.clone(),
                });
        }
        let mut roles_of: HashMap<&str, Vec<&String>> = HashMap::new();
        for ur in &user_roles {
            roles_of.entry(&ur.user_id).or_default().push(&ur.role_id);
        }
        let mut groups_of: HashMap<&str, BTreeSet<String>> = HashMap::new();
        for ug in &user_groups {
            if let Some(path) = self.group_paths.get(&ug.group_id) {
                groups_of
                    .entry(&ug.user_id)
                    .or_default()
                    .insert(path.clone());
            }
        }
        let mut credentials_of: HashMap<&str, Vec<CredentialRepresentation>> = HashMap::new();
        for c in &credentials {
            credentials_of
                .entry(&c.user_id)
                .or_default()
                .push(credential_rep(c)?);
        }
        users
            .iter()
            .map(|u| {
                let (realm_roles, client_roles) = self
                    .refs
                    .names(roles_of.get(u.id.as_str()).into_iter().flatten().copied());
                Ok(UserRepresentation {
                    credentials: credentials_of.remove(u.id.as_str()).unwrap_or_default(),
                    federated_identities: links_of.remove(u.id.as_str()).unwrap_or_default(),
                    realm_roles,
                    client_roles,
                    groups: groups_of
                        .remove(u.id.as_str())
                        .map(|g| g.into_iter().collect())
                        .unwrap_or_default(),
                    service_account_client_id: u
                        .service_account_client_pk
                        .as_deref()
                        .and_then(|pk| self.client_ids.get(pk))
                        .cloned(),
                    ..from_row::user(u)?
                })
            })
            .collect()
    }
}

/// Everything of a realm's representation but its users.
fn realm_head(rows: &RealmRows, refs: &RoleRefs) -> Result<RealmRepresentation, StoreError> {
    let mut rep = RealmRepresentation {
        roles: Some(roles(rows, refs)?),
        groups: groups(rows, refs)?,
        clients: clients(rows)?,
        identity_providers: rows
            .identity_providers
            .iter()
            .map(|p| from_row::identity_provider(p, from_row::Secret::Clear))
            .collect::<Result<_, _>>()?,
        identity_provider_mappers: identity_provider_mappers(rows)?,
        default_role: default_role(rows),
        ..from_row::realm(&rows.realm)?
    };
    client_scopes(rows, refs, &mut rep)?;
    let mut keys = Vec::new();
    for row in &rows.keys {
        let material = key_material(row)?;
        keys.push(component_for_key(
            &row.id,
            material.algorithm,
            &material.private_key_pkcs8,
            &material.certificate_der,
            row.priority,
            row.enabled,
        ));
    }
    rep.components.insert(KEY_PROVIDER_TYPE.to_string(), keys);
    if let Some(profile) = &rows.user_profile {
        rep.components.insert(
            crate::admin::user_profile::COMPONENT_TYPE.to_string(),
            vec![crate::admin::user_profile::component(profile)],
        );
    }
    Ok(rep)
}

/// `clientScopes`, the realm's default and optional scope names, and the scope mappings of
/// clients and client scopes (`scopeMappings` for realm roles, `clientScopeMappings` for
/// client roles by the clientId owning them).
fn client_scopes(
    rows: &RealmRows,
    refs: &RoleRefs,
    rep: &mut RealmRepresentation,
) -> Result<(), StoreError> {
    use portcullis_core::model::RealmScopeType;
    let scopes = rows
        .client_scopes
        .iter()
        .map(crate::client_scopes::from_row)
        .collect::<Result<Vec<_>, _>>()?;
    let names = |kind: RealmScopeType| -> Vec<String> {
        scopes
            .iter()
            .filter(|s| s.realm_type == kind)
            .map(|s| s.name.clone())
            .collect()
    };
    rep.default_default_client_scopes = Some(names(RealmScopeType::Default));
    rep.default_optional_client_scopes = Some(names(RealmScopeType::Optional));
    let mut owners: Vec<(ScopeMappingRepresentation, Vec<String>)> = Vec::new();
    for client in &rows.clients {
        let ids: Vec<String> = from_json(&client.scope_role_ids, "client scope mappings")?;
        let owner = ScopeMappingRepresentation {
            client: Some(client.client_id.clone()),
            ..Default::default()
        };
        owners.push((owner, ids));
    }
    for scope in &scopes {
        let owner = ScopeMappingRepresentation {
            client_scope: Some(scope.name.clone()),
            ..Default::default()
        };
        owners.push((owner, scope.role_ids.clone()));
    }
    for (owner, ids) in owners {
        let (realm, clients) = refs.names(ids.iter());
        if !realm.is_empty() {
            rep.scope_mappings.push(ScopeMappingRepresentation {
                roles: realm,
                ..owner.clone()
            });
        }
        for (client, roles) in clients {
            rep.client_scope_mappings
                .entry(client)
                .or_default()
                .push(ScopeMappingRepresentation {
                    roles,
                    ..owner.clone()
                });
        }
    }
    rep.client_scopes = Some(
        scopes
            .iter()
            .map(crate::client_scopes::representation)
            .collect(),
    );
    Ok(())
}

/// Role id -> how a representation names it: `(None, name)` or `(Some(clientId), name)`.
struct RoleRefs {
    by_id: HashMap<String, (Option<String>, String)>,
}

impl RoleRefs {
    fn new(rows: &RealmRows) -> Self {
        let clients: HashMap<&str, &str> = rows
            .clients
            .iter()
            .map(|c| (c.id.as_str(), c.client_id.as_str()))
            .collect();
        let by_id = rows
            .roles
            .iter()
            .map(|r| {
                let client = r
                    .client_pk
                    .as_deref()
                    .and_then(|pk| clients.get(pk))
                    .map(|c| c.to_string());
                (r.id.clone(), (client, r.name.clone()))
            })
            .collect();
        Self { by_id }
    }

    /// Splits role ids into sorted realm role names and client role names per clientId.
    fn names<'a>(
        &self,
        ids: impl IntoIterator<Item = &'a String>,
    ) -> (Vec<String>, BTreeMap<String, Vec<String>>) {
        let mut realm = BTreeSet::new();
        let mut client: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for id in ids {
            match self.by_id.get(id) {
                Some((None, name)) => {
                    realm.insert(name.clone());
                }
                Some((Some(c), name)) => {
                    client.entry(c.clone()).or_default().insert(name.clone());
                }
                None => {}
            }
        }
        let client = client
            .into_iter()
            .map(|(c, names)| (c, names.into_iter().collect()))
            .collect();
        (realm.into_iter().collect(), client)
    }
}

/// The realm's default role in brief, as Keycloak's export names it (its composites travel with
/// the role in `roles.realm`).
fn default_role(rows: &RealmRows) -> Option<crate::representation::RoleRepresentation> {
    let id = rows.realm.default_role_id.as_deref()?;
    let role = rows.roles.iter().find(|r| r.id == id)?;
    Some(from_row::default_role(role))
}

fn roles(rows: &RealmRows, refs: &RoleRefs) -> Result<RolesRepresentation, StoreError> {
    let mut children: HashMap<&str, Vec<&String>> = HashMap::new();
    for c in &rows.composites {
        children
            .entry(&c.composite_id)
            .or_default()
            .push(&c.child_id);
    }
    let mut out = RolesRepresentation {
        realm: Vec::new(),
        client: rows
            .clients
            .iter()
            .map(|c| (c.client_id.clone(), Vec::new()))
            .collect(),
    };
    for row in &rows.roles {
        let (realm, client) =
            refs.names(children.get(row.id.as_str()).into_iter().flatten().copied());
        let composite = !realm.is_empty() || !client.is_empty();
        let owner = refs.by_id.get(&row.id).and_then(|(c, _)| c.clone());
        let mut rep = from_row::role(row, composite, &rows.realm.id)?;
        rep.composites = composite.then_some(CompositesRepresentation { realm, client });
        match owner {
            Some(client_id) => out.client.entry(client_id).or_default().push(rep),
            None => out.realm.push(rep),
        }
    }
    Ok(out)
}

fn groups(rows: &RealmRows, refs: &RoleRefs) -> Result<Vec<GroupRepresentation>, StoreError> {
    let paths = group_paths(&rows.groups);
    let mut role_ids: HashMap<&str, Vec<&String>> = HashMap::new();
    for gr in &rows.group_roles {
        role_ids.entry(&gr.group_id).or_default().push(&gr.role_id);
    }
    let mut children: HashMap<Option<&str>, Vec<&realm_group::Model>> = HashMap::new();
    for g in &rows.groups {
        children.entry(g.parent_id.as_deref()).or_default().push(g);
    }
    let tree = GroupTree {
        paths: &paths,
        role_ids: &role_ids,
        children: &children,
        refs,
    };
    tree.level(None, 0)
}

struct GroupTree<'a> {
    paths: &'a HashMap<String, String>,
    role_ids: &'a HashMap<&'a str, Vec<&'a String>>,
    children: &'a HashMap<Option<&'a str>, Vec<&'a realm_group::Model>>,
    refs: &'a RoleRefs,
}

impl GroupTree<'_> {
    /// The groups under `parent` (already ordered by name), recursively; `depth` stops a cycle.
    fn level(
        &self,
        parent: Option<&str>,
        depth: usize,
    ) -> Result<Vec<GroupRepresentation>, StoreError> {
        let Some(groups) = self.children.get(&parent) else {
            return Ok(Vec::new());
        };
        if depth > self.paths.len() {
            return Ok(Vec::new());
        }
        groups
            .iter()
            .map(|g| {
                let ids = self
                    .role_ids
                    .get(g.id.as_str())
                    .into_iter()
                    .flatten()
                    .copied();
                let (realm_roles, client_roles) = self.refs.names(ids);
                Ok(GroupRepresentation {
                    attributes: Some(from_row::group_attributes(g)?),
                    realm_roles: Some(realm_roles),
                    client_roles: Some(client_roles),
                    sub_groups: self.level(Some(&g.id), depth + 1)?,
                    ..from_row::group(g, self.paths.get(&g.id).cloned())
                })
            })
            .collect()
    }
}

/// Every provider's mappers, by provider alias then name.
fn identity_provider_mappers(
    rows: &RealmRows,
) -> Result<Vec<IdentityProviderMapperRepresentation>, StoreError> {
    let aliases: HashMap<&str, &str> = rows
        .identity_providers
        .iter()
        .map(|p| (p.id.as_str(), p.alias.as_str()))
        .collect();
    let mut out = Vec::new();
    for provider in &rows.identity_providers {
        for mapper in rows
            .identity_provider_mappers
            .iter()
            .filter(|m| m.identity_provider_id == provider.id)
        {
            let alias = aliases
                .get(mapper.identity_provider_id.as_str())
                .copied()
                .unwrap_or_default();
            out.push(from_row::identity_provider_mapper(mapper, alias)?);
        }
    }
    Ok(out)
}

fn clients(realm: &RealmRows) -> Result<Vec<ClientRepresentation>, StoreError> {
    realm
        .clients
        .iter()
        .map(|c| from_row::client(c, realm.mappers.iter().filter(|m| m.client_pk == c.id)))
        .collect()
}

fn credential_rep(c: &credential::Model) -> Result<CredentialRepresentation, StoreError> {
    let mut rep = CredentialRepresentation {
        id: Some(c.id.clone()),
        credential_type: Some(c.credential_type.clone()),
        user_label: c.user_label.clone(),
        created_date: Some(c.created_at.saturating_mul(1000)),
        ..Default::default()
    };
    if c.credential_type == PASSWORD {
        let password: StoredPassword = from_json(&c.secret, "password credential")?;
        let (secret_data, credential_data) = password.to_keycloak();
        rep.secret_data = Some(secret_data);
        rep.credential_data = Some(credential_data);
    }
    Ok(rep)
}
