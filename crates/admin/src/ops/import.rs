//! `partialImport`: Keycloak exports as they are (references by name, stored pbkdf2 or argon2
//! hashes, plain `value` passwords) added to an existing realm in one transaction, with
//! `ifResourceExists` = `FAIL` (409, nothing written), `SKIP` or `OVERWRITE`. Ids in the file
//! are not reused, so an export of one realm imports into another.

use portcullis_core::model::RealmScopeType;
use std::collections::BTreeMap;

use portcullis_core::broker::settings::CLIENT_SECRET;
use portcullis_store::admin::identity_providers as idp;
use portcullis_store::admin::{self, DatabaseTransaction, REALM_MANAGEMENT_CLIENT, roles::Holder};
use portcullis_store::entity::{client, realm, role, user_entity};
use portcullis_store::representation::{
    ClientRepresentation, GroupRepresentation, IdentityProviderMapperRepresentation,
    IdentityProviderRepresentation, PartialImportRepresentation, RoleRepresentation,
    UserRepresentation,
};
use portcullis_web::{AppState, Protocols};
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::Ops;
use super::clients::{ensure_service_account, mapper_row};
use super::users::{NewPassword, PasswordOwner, check_unique, passwords_in, policy_of};
use crate::auth::Right;
use crate::context::{Change, Event, Op, target_realm};
use crate::error::AdminError;
use crate::rep;
use crate::rep::client::{ClientFields, MapperFields};
use crate::rep::group::GroupTree;
use crate::rep::role::RoleFields;
use crate::rep::user::{UPDATE_PASSWORD, UserFields};

/// Users imported before the planner's statistics are first refreshed (PostgreSQL): see
/// [`admin::refresh_user_statistics`].
const REFRESH_STATISTICS_FROM: usize = 1024;

/// What to do with a resource that exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Policy {
    Fail,
    Skip,
    Overwrite,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Added,
    Skipped,
    Overwritten,
}

impl Action {
    fn as_str(self) -> &'static str {
        match self {
            Action::Added => "ADDED",
            Action::Skipped => "SKIPPED",
            Action::Overwritten => "OVERWRITTEN",
        }
    }
}

/// A user of the body, parsed (and its password hashed) before the transaction starts.
struct UserImport {
    fields: UserFields,
    username: String,
    password: Option<NewPassword>,
    realm_roles: Vec<String>,
    client_roles: BTreeMap<String, Vec<String>>,
    groups: Vec<String>,
    links: Vec<(String, String, Option<String>)>,
    service_account_of: Option<String>,
    extras: Map<String, Value>,
}

struct Importer<'a> {
    protocols: &'a Protocols,
    db: &'a DatabaseTransaction,
    realm: &'a realm::Model,
    policy: Policy,
    now: i64,
    results: Vec<Value>,
    /// The roles and groups imported identity-provider mappers can hand out.
    handed_out: (Vec<String>, Vec<String>),
}

/// What an import did: counts, and one line per resource.
#[derive(Debug, Clone, Serialize)]
pub struct ImportSummary {
    pub added: usize,
    pub skipped: usize,
    pub overwritten: usize,
    pub results: Vec<Value>,
}

/// Adds the request's roles, clients, groups and users to the realm in one transaction
/// (`manage-realm`; `manage-users` when it has users, `manage-clients` when it has clients).
/// `body` is the request as sent, for the fields kept as extras.
pub async fn partial_import(
    ops: Ops<'_>,
    realm: &str,
    request: PartialImportRepresentation,
    body: &Value,
) -> Result<ImportSummary, AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ManageRealm).await?;
    let policy = match request.if_resource_exists.as_deref().unwrap_or("FAIL") {
        "FAIL" => Policy::Fail,
        "SKIP" => Policy::Skip,
        "OVERWRITE" => Policy::Overwrite,
        other => {
            return Err(AdminError::BadRequest(format!(
                "ifResourceExists must be FAIL, SKIP or OVERWRITE, not {other}"
            )));
        }
    };
    if request.users.is_some() {
        ops.caller.require(realm, Right::ManageUsers)?;
    }
    if request.clients.is_some() {
        ops.caller.require(realm, Right::ManageClients)?;
    }
    if !request.identity_providers.is_empty() || !request.identity_provider_mappers.is_empty() {
        ops.caller.require(realm, Right::ManageIdentityProviders)?;
    }
    // Passwords are checked and hashed before the transaction, so the write lock is not held
    // meanwhile.
    let mut request = request;
    let users = request.users.take().unwrap_or_default();
    let users = read_users(ops.state, users, body, &policy_of(&realm_row)).await?;
    let mut change = Change::begin(ops.state, ops.caller, realm_row.clone()).await?;
    let mut importer = Importer {
        protocols: ops.protocols,
        db: change.db(),
        realm: &realm_row,
        policy,
        now: ops.state.now(),
        results: Vec::new(),
        handed_out: Default::default(),
    };
    importer.run(request, body, users).await?;
    let results = std::mem::take(&mut importer.results);
    let (roles, groups) = std::mem::take(&mut importer.handed_out);
    change.require_may_hand_out(&roles, &groups)?;
    let count = |action: Action| {
        results
            .iter()
            .filter(|r| r["action"] == action.as_str())
            .count()
    };
    let summary = ImportSummary {
        added: count(Action::Added),
        skipped: count(Action::Skipped),
        overwritten: count(Action::Overwritten),
        results: Vec::new(),
    };
    change.record(
        Event::new(Op::Create, "REALM", "partialImport").with(json!({
            "added": summary.added, "skipped": summary.skipped, "overwritten": summary.overwritten,
        })),
    );
    change.commit().await?;
    Ok(ImportSummary { results, ..summary })
}

/// The raw JSON of item `index` of the body's `key` list, for the fields kept as extras.
fn raw_item<'a>(body: &'a Value, key: &str, index: usize) -> &'a Value {
    &body[key][index]
}

async fn read_users(
    state: &AppState,
    users: Vec<UserRepresentation>,
    body: &Value,
    policy: &portcullis_core::password::PasswordPolicy,
) -> Result<Vec<UserImport>, AdminError> {
    let mut out = Vec::with_capacity(users.len());
    for (index, mut user) in users.into_iter().enumerate() {
        // Taken apart, not copied: an import may carry 100,000 users.
        let realm_roles = std::mem::take(&mut user.realm_roles);
        let client_roles = std::mem::take(&mut user.client_roles);
        let groups = std::mem::take(&mut user.groups);
        let credentials = std::mem::take(&mut user.credentials);
        let federated = std::mem::take(&mut user.federated_identities);
        let service_account_of = rep::text(&user.service_account_client_id);
        let fields = UserFields::from_representation(user)?;
        let username = fields
            .username
            .clone()
            .ok_or_else(|| AdminError::BadRequest("A user in the import has no username".into()))?;
        let mut links = Vec::new();
        for link in &federated {
            let (Some(provider), Some(id)) =
                (rep::text(&link.identity_provider), rep::text(&link.user_id))
            else {
                return Err(AdminError::BadRequest(format!(
                    "User {username}: a federated identity needs identityProvider and userId"
                )));
            };
            links.push((provider, id, rep::text(&link.user_name)));
        }
        let owner = PasswordOwner {
            username: &username,
            email: fields.email.as_ref().and_then(|e| e.as_deref()),
            user_id: None,
        };
        out.push(UserImport {
            password: passwords_in(state, &credentials, policy, owner).await?,
            realm_roles,
            client_roles,
            groups,
            service_account_of,
            extras: rep::extras(raw_item(body, "users", index), rep::user::MODELLED)?,
            links,
            username,
            fields,
        });
    }
    Ok(out)
}

impl Importer<'_> {
    fn result(&mut self, action: Action, kind: &str, name: &str, id: &str) {
        self.results.push(json!({
            "action": action.as_str(), "resourceType": kind, "resourceName": name, "id": id,
        }));
    }

    /// What to do with a resource of `kind` named `name`: None to create it, else the action
    /// taken on the existing one (or 409 under FAIL).
    fn decide(&self, exists: bool, kind: &str, name: &str) -> Result<Option<Action>, AdminError> {
        match (exists, self.policy) {
            (false, _) => Ok(None),
            (true, Policy::Fail) => Err(AdminError::Conflict(format!(
                "{kind} '{name}' already exists"
            ))),
            (true, Policy::Skip) => Ok(Some(Action::Skipped)),
            (true, Policy::Overwrite) => Ok(Some(Action::Overwritten)),
        }
    }

    async fn run(
        &mut self,
        request: PartialImportRepresentation,
        body: &Value,
        users: Vec<UserImport>,
    ) -> Result<(), AdminError> {
        let roles = request.roles.unwrap_or_default();
        let mut composites = Vec::new();
        for role in roles.realm {
            composites.extend(self.role(None, "REALM_ROLE", role).await?);
        }
        let mut service_accounts = Vec::new();
        for (index, client) in request.clients.into_iter().flatten().enumerate() {
            let raw = raw_item(body, "clients", index);
            service_accounts.extend(self.client(client, raw).await?);
        }
        for (client_id, list) in roles.client {
            let client = admin::clients::find_by_client_id(self.db, &self.realm.id, &client_id)
                .await?
                .ok_or_else(|| {
                    AdminError::BadRequest(format!(
                        "Roles for client {client_id}, which does not exist"
                    ))
                })?;
            for role in list {
                composites.extend(self.role(Some(&client), "CLIENT_ROLE", role).await?);
            }
        }
        for (role_id, fields, replace) in composites {
            let ids = self
                .role_ids(&fields.composite_realm, &fields.composite_client)
                .await?;
            if replace {
                let old: Vec<String> = admin::roles::children(self.db, &role_id)
                    .await?
                    .into_iter()
                    .map(|r| r.id)
                    .collect();
                admin::roles::remove_children(self.db, &role_id, &old).await?;
            }
            admin::roles::add_children(self.db, &role_id, &ids).await?;
        }
        for group in &request.groups {
            self.group(group, None, true).await?;
        }
        // One read of the group tree for every user: imports carry thousands of users.
        let tree = match users.iter().any(|u| !u.groups.is_empty()) {
            true => GroupTree::new(admin::groups::all(self.db, &self.realm.id).await?),
            false => GroupTree::new(Vec::new()),
        };
        for (done, user) in users.into_iter().enumerate() {
            // At 1,024, 2,048, 4,096 ... users: a few refreshes however large the import.
            if done >= REFRESH_STATISTICS_FROM && done.is_power_of_two() {
                admin::refresh_user_statistics(self.db).await?;
            }
            self.user(user, &tree).await?;
        }
        for client in service_accounts {
            ensure_service_account(self.db, &client, self.now).await?;
        }
        for (index, provider) in request.identity_providers.iter().enumerate() {
            let raw = raw_item(body, "identityProviders", index);
            self.identity_provider(provider, raw).await?;
        }
        for mapper in &request.identity_provider_mappers {
            self.identity_provider_mapper(mapper).await?;
        }
        Ok(())
    }

    /// Creates, skips or replaces (settings only; its mappers stay) an identity provider, by
    /// alias.
    async fn identity_provider(
        &mut self,
        provider: &IdentityProviderRepresentation,
        raw: &Value,
    ) -> Result<(), AdminError> {
        let alias = rep::text(&provider.alias).unwrap_or_default();
        let existing = idp::find(self.db, &self.realm.id, &alias).await?;
        let stored_secret = match &existing {
            Some(row) => {
                rep::stored::<BTreeMap<String, String>>(&row.config, "identity provider config")?
                    .remove(CLIENT_SECRET)
            }
            None => None,
        };
        let fields = provider
            .fields(stored_secret.as_deref())
            .map_err(|problems| {
                AdminError::BadRequest(format!(
                    "Identity provider {alias}: {}",
                    problems.join("; ")
                ))
            })?;
        let extras = rep::extras(raw, rep::identity_provider::MODELLED)?;
        match (self.decide(existing.is_some(), "IDP", &alias)?, existing) {
            (Some(Action::Overwritten), Some(old)) => {
                let row = fields.into_row(old.id.clone(), &self.realm.id, old.created_at)?;
                idp::update(self.db, row).await?;
                admin::extras::set(self.db, &self.realm.id, &old.id, &extras).await?;
                self.result(Action::Overwritten, "IDP", &alias, &old.id);
            }
            (Some(action), existing) => {
                let id = existing.map(|p| p.id).unwrap_or_default();
                self.result(action, "IDP", &alias, &id);
            }
            (None, _) => {
                let id = admin::new_id();
                let row = fields.into_row(id.clone(), &self.realm.id, self.now)?;
                idp::insert(self.db, row).await?;
                admin::extras::set(self.db, &self.realm.id, &id, &extras).await?;
                self.result(Action::Added, "IDP", &alias, &id);
            }
        }
        Ok(())
    }

    /// Creates, skips or replaces a mapper, by provider alias and name; what it can hand out
    /// is remembered for the rights check before the import commits.
    async fn identity_provider_mapper(
        &mut self,
        mapper: &IdentityProviderMapperRepresentation,
    ) -> Result<(), AdminError> {
        let alias = rep::text(&mapper.identity_provider_alias).unwrap_or_default();
        let provider = idp::find(self.db, &self.realm.id, &alias)
            .await?
            .ok_or_else(|| {
                AdminError::BadRequest(format!(
                    "A mapper in the import is for identity provider '{alias}', which does not \
                     exist"
                ))
            })?;
        let fields = mapper.fields().map_err(|problems| {
            AdminError::BadRequest(format!(
                "Identity provider mapper of {alias}: {}",
                problems.join("; ")
            ))
        })?;
        let (roles, groups) =
            super::identity_providers::reach(self.db, &self.realm.id, &fields.rule).await?;
        let name = format!("{alias}/{}", fields.name);
        let existing = idp::mappers(self.db, &provider.id)
            .await?
            .into_iter()
            .find(|m| m.name == fields.name);
        match (
            self.decide(existing.is_some(), "IDP_MAPPER", &name)?,
            existing,
        ) {
            (Some(Action::Overwritten), Some(old)) => {
                let row = fields.into_row(old.id.clone(), &self.realm.id, &provider.id)?;
                idp::update_mapper(self.db, row).await?;
                self.result(Action::Overwritten, "IDP_MAPPER", &name, &old.id);
            }
            (Some(action), existing) => {
                let id = existing.map(|m| m.id).unwrap_or_default();
                self.result(action, "IDP_MAPPER", &name, &id);
                return Ok(());
            }
            (None, _) => {
                let id = admin::new_id();
                let row = fields.into_row(id.clone(), &self.realm.id, &provider.id)?;
                idp::insert_mapper(self.db, row).await?;
                self.result(Action::Added, "IDP_MAPPER", &name, &id);
            }
        }
        self.handed_out.0.extend(roles);
        self.handed_out.1.extend(groups);
        Ok(())
    }

    /// Ids of roles named by a `realmRoles` / `clientRoles` pair; a missing one is 400.
    async fn role_ids(
        &self,
        realm_roles: &[String],
        client_roles: &BTreeMap<String, Vec<String>>,
    ) -> Result<Vec<String>, AdminError> {
        let dangling = |what: String| AdminError::BadRequest(format!("{what} does not exist"));
        let mut ids = Vec::new();
        for name in realm_roles {
            let role = admin::roles::by_name(self.db, &self.realm.id, None, name).await?;
            ids.push(
                role.ok_or_else(|| dangling(format!("Realm role {name}")))?
                    .id,
            );
        }
        for (client_id, names) in client_roles {
            let client = admin::clients::find_by_client_id(self.db, &self.realm.id, client_id)
                .await?
                .ok_or_else(|| dangling(format!("Client {client_id}")))?;
            for name in names {
                let role =
                    admin::roles::by_name(self.db, &self.realm.id, Some(&client.id), name).await?;
                ids.push(
                    role.ok_or_else(|| dangling(format!("Client role {client_id}.{name}")))?
                        .id,
                );
            }
        }
        Ok(ids)
    }

    /// Creates or updates one role; returns it for the composites pass when it has any (and
    /// whether its old composites are replaced).
    async fn role(
        &mut self,
        client: Option<&client::Model>,
        kind: &str,
        role: RoleRepresentation,
    ) -> Result<Option<(String, RoleFields, bool)>, AdminError> {
        let fields = RoleFields::from_representation(role)?;
        let name = fields
            .name
            .clone()
            .ok_or_else(|| AdminError::BadRequest("A role in the import has no name".into()))?;
        let pk = client.map(|c| c.id.as_str());
        let existing = admin::roles::by_name(self.db, &self.realm.id, pk, &name).await?;
        let has_composites =
            !fields.composite_realm.is_empty() || !fields.composite_client.is_empty();
        let id = match (self.decide(existing.is_some(), kind, &name)?, existing) {
            (Some(Action::Overwritten), Some(mut row)) => {
                fields.apply(&mut row)?;
                let id = row.id.clone();
                admin::roles::update(self.db, row).await?;
                self.result(Action::Overwritten, kind, &name, &id);
                return Ok(Some((id, fields, true)));
            }
            (Some(action), existing) => {
                let id = existing.map(|r| r.id).unwrap_or_default();
                self.result(action, kind, &name, &id);
                return Ok(None);
            }
            (None, _) => admin::new_id(),
        };
        let mut row = role::Model {
            id: id.clone(),
            realm_id: self.realm.id.clone(),
            client_pk: pk.map(str::to_string),
            name: name.clone(),
            description: None,
            attributes: "{}".into(),
        };
        fields.apply(&mut row)?;
        admin::roles::insert(self.db, row).await?;
        self.result(Action::Added, kind, &name, &id);
        Ok(has_composites.then_some((id, fields, false)))
    }

    /// Creates (or replaces) a client with its mappers; returns it if it needs a
    /// service-account user once the users are in.
    async fn client(
        &mut self,
        mut client: ClientRepresentation,
        raw: &Value,
    ) -> Result<Option<client::Model>, AdminError> {
        let mappers = std::mem::take(&mut client.protocol_mappers);
        let fields = ClientFields::from_representation(client)?;
        fields.check_protocol(self.protocols)?;
        let client_id = fields.client_id.clone().ok_or_else(|| {
            AdminError::BadRequest("A client in the import has no clientId".into())
        })?;
        let existing =
            admin::clients::find_by_client_id(self.db, &self.realm.id, &client_id).await?;
        let (mut id, mut action) = (admin::new_id(), Action::Added);
        match (
            self.decide(existing.is_some(), "CLIENT", &client_id)?,
            existing,
        ) {
            (Some(Action::Overwritten), Some(old)) if client_id != REALM_MANAGEMENT_CLIENT => {
                admin::clients::delete(self.db, &old.id).await?;
                (id, action) = (old.id, Action::Overwritten);
            }
            (Some(_), existing) => {
                // The admin roles' client is never replaced: that would drop every admin right.
                let id = existing.map(|c| c.id).unwrap_or_default();
                self.result(Action::Skipped, "CLIENT", &client_id, &id);
                return Ok(None);
            }
            (None, _) => {}
        }
        let protocol = fields.protocol_or_default();
        let mut realm_scopes = Vec::new();
        for kind in [RealmScopeType::Default, RealmScopeType::Optional] {
            realm_scopes.push(
                admin::client_scopes::realm_names(self.db, &self.realm.id, kind, &protocol).await?,
            );
        }
        let row = fields.new_row(
            id.clone(),
            &self.realm.id,
            &client_id,
            self.now,
            (&realm_scopes[0], &realm_scopes[1]),
        )?;
        admin::clients::insert(self.db, row.clone()).await?;
        for mut mapper in mappers {
            mapper.id = None;
            let fields = MapperFields::from_representation(mapper)?;
            let mapper_row = mapper_row(self.protocols, &fields, &row, admin::new_id())?;
            admin::clients::insert_mapper(self.db, mapper_row).await?;
        }
        let extras = rep::extras(raw, rep::client::MODELLED)?;
        admin::extras::set(self.db, &self.realm.id, &id, &extras).await?;
        self.result(action, "CLIENT", &client_id, &id);
        Ok(row.service_accounts_enabled.then_some(row))
    }

    /// Creates, skips or updates a group and its subgroups (by path).
    async fn group(
        &mut self,
        group: &GroupRepresentation,
        parent: Option<&str>,
        top: bool,
    ) -> Result<(), AdminError> {
        let name = rep::text(&group.name)
            .filter(|n| !n.contains('/'))
            .ok_or_else(|| {
                AdminError::BadRequest("A group in the import has no valid name".into())
            })?;
        let attributes = group.attributes.clone();
        let role_ids = self
            .role_ids(
                group.realm_roles.as_deref().unwrap_or_default(),
                &group.client_roles.clone().unwrap_or_default(),
            )
            .await?;
        let existing = admin::groups::sibling_named(self.db, &self.realm.id, parent, &name).await?;
        let decision = if top {
            self.decide(existing.is_some(), "GROUP", &name)?
        } else {
            existing.as_ref().map(|_| Action::Overwritten)
        };
        let id = match (decision, existing) {
            (Some(Action::Skipped), existing) => {
                let id = existing.map(|g| g.id).unwrap_or_default();
                self.result(Action::Skipped, "GROUP", &name, &id);
                return Ok(());
            }
            (Some(_), Some(mut group)) => {
                if let Some(attributes) = &attributes {
                    group.attributes = rep::to_column(attributes)?;
                }
                let id = group.id.clone();
                admin::groups::update(self.db, group).await?;
                let old = admin::roles::mapped_ids(self.db, Holder::Group(&id)).await?;
                admin::roles::unmap(self.db, Holder::Group(&id), &old).await?;
                if top {
                    self.result(Action::Overwritten, "GROUP", &name, &id);
                }
                id
            }
            _ => {
                let id = admin::new_id();
                let row = portcullis_store::entity::realm_group::Model {
                    id: id.clone(),
                    realm_id: self.realm.id.clone(),
                    parent_id: parent.map(str::to_string),
                    name: name.clone(),
                    attributes: rep::to_column(&attributes.unwrap_or_default())?,
                };
                admin::groups::insert(self.db, row).await?;
                if top {
                    self.result(Action::Added, "GROUP", &name, &id);
                }
                id
            }
        };
        admin::roles::map(self.db, Holder::Group(&id), &role_ids).await?;
        for child in &group.sub_groups {
            Box::pin(self.group(child, Some(&id), false)).await?;
        }
        Ok(())
    }

    async fn user(&mut self, user: UserImport, tree: &GroupTree) -> Result<(), AdminError> {
        let existing =
            admin::users::find_by_username(self.db, &self.realm.id, &user.username).await?;
        let (mut id, mut action) = (admin::new_id(), Action::Added);
        match (
            self.decide(existing.is_some(), "USER", &user.username)?,
            existing,
        ) {
            (Some(Action::Overwritten), Some(old)) => {
                admin::users::delete(self.db, &old.id).await?;
                admin::extras::delete(self.db, &old.id).await?;
                (id, action) = (old.id, Action::Overwritten);
            }
            (Some(action), existing) => {
                let id = existing.map(|u| u.id).unwrap_or_default();
                self.result(action, "USER", &user.username, &id);
                return Ok(());
            }
            (None, _) => {}
        }
        let service_account_client_pk = match &user.service_account_of {
            Some(client_id) => Some(
                admin::clients::find_by_client_id(self.db, &self.realm.id, client_id)
                    .await?
                    .ok_or_else(|| {
                        AdminError::BadRequest(format!("Client {client_id} does not exist"))
                    })?
                    .id,
            ),
            None => None,
        };
        let mut row = user_entity::Model {
            id: id.clone(),
            realm_id: self.realm.id.clone(),
            username: user.username.clone(),
            email: None,
            email_verified: false,
            first_name: None,
            last_name: None,
            enabled: true,
            attributes: "{}".into(),
            created_at: self.now,
            service_account_client_pk,
            not_before: 0,
            required_actions: "[]".into(),
        };
        user.fields.apply(&mut row)?;
        if let Some(new) = &user.password
            && new.temporary
        {
            rep::user::set_required_action(&mut row, UPDATE_PASSWORD, true)?;
        }
        check_unique(self.db, &self.realm.id, &row).await?;
        admin::users::insert(self.db, row).await?;
        let role_ids = self.role_ids(&user.realm_roles, &user.client_roles).await?;
        admin::roles::map(self.db, Holder::User(&id), &role_ids).await?;
        for path in &user.groups {
            let group = tree
                .by_path(path)
                .ok_or_else(|| AdminError::BadRequest(format!("Group {path} does not exist")))?;
            admin::users::join_group(self.db, &id, &group.id).await?;
        }
        let extras = user.extras;
        if let Some(new) = &user.password {
            admin::users::set_password(self.db, &id, &new.password, self.now).await?;
        }
        for (provider, federated_id, federated_name) in user.links {
            let link = admin::entity::user_federated_identity::Model {
                user_id: id.clone(),
                identity_provider: provider,
                realm_id: self.realm.id.clone(),
                federated_user_id: federated_id,
                federated_username: federated_name,
            };
            admin::federated::insert(self.db, link).await?;
        }
        admin::extras::set(self.db, &self.realm.id, &id, &extras).await?;
        self.result(action, "USER", &user.username, &id);
        Ok(())
    }
}
