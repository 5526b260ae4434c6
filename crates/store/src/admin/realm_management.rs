//! Keycloak's `realm-management` client: every realm has one, and its client roles are the
//! per-realm admin rights the admin API checks (`manage-users`, `view-clients`, ...;
//! `realm-admin` holds them all). The importer adds whatever a representation lacks, so realms
//! from files, from `POST /admin/realms` and the bootstrap `master` all carry it.

use crate::representation::{
    ClientRepresentation, CompositesRepresentation, RealmRepresentation, RoleRepresentation,
};

pub use portcullis_core::authority::{REALM_ADMIN_ROLE, REALM_MANAGEMENT_CLIENT};
/// The client a realm's admin console signs in through (Keycloak's name).
pub const ADMIN_CONSOLE_CLIENT: &str = "security-admin-console";
/// Keycloak's `account` client: its client roles say what a user may do with their own
/// account, and an access token whose audience it is (or that carries its `view-profile` role)
/// is meant for the account REST API.
pub const ACCOUNT_CLIENT: &str = "account";
/// The client the realm's account console signs in through (Keycloak's name).
pub const ACCOUNT_CONSOLE_CLIENT: &str = "account-console";
/// Keycloak's client for brokering: bearer-only, carrying the `read-token` role.
pub const BROKER_CLIENT: &str = "broker";
/// The `broker` client role that may read stored identity-provider tokens.
pub const READ_TOKEN_ROLE: &str = "read-token";
/// Keycloak's realm role for offline tokens.
pub const OFFLINE_ACCESS_ROLE: &str = "offline_access";
/// Keycloak's realm role for user-managed access (kept for tools that expect it).
pub const UMA_AUTHORIZATION_ROLE: &str = "uma_authorization";
/// The `master` realm role that may create realms.
pub const CREATE_REALM_ROLE: &str = "create-realm";
/// The prefix of a realm's default role, `default-roles-<realm>`.
pub const DEFAULT_ROLES_PREFIX: &str = "default-roles-";
/// The public client `docker-credential-portcullis` signs in through: the device grant only,
/// and its access tokens are what the docker-v2 endpoint's token exchange accepts.
pub const DOCKER_CLI_CLIENT: &str = "docker-cli";
/// Keycloak's client attribute enabling the device authorization grant.
pub const ATTR_DEVICE_GRANT: &str = "oauth2.device.authorization.grant.enabled";
/// Keycloak's client attribute for refresh tokens in token responses.
pub const ATTR_USE_REFRESH_TOKENS: &str = "use.refresh.tokens";
/// Keycloak's `account` client roles, and the composites among them.
pub const ACCOUNT_ROLES: [(&str, &[&str]); 8] = [
    ("view-profile", &[]),
    ("manage-account", &["manage-account-links"]),
    ("manage-account-links", &[]),
    ("view-applications", &[]),
    ("view-consent", &[]),
    ("manage-consent", &["view-consent"]),
    ("delete-account", &[]),
    ("view-groups", &[]),
];
/// The admin roles below `realm-admin`.
pub const MANAGEMENT_ROLES: [&str; 15] = [
    "manage-users",
    "view-users",
    "query-users",
    "query-groups",
    "manage-clients",
    "view-clients",
    "query-clients",
    "manage-realm",
    "view-realm",
    "query-realms",
    "view-events",
    "manage-events",
    "view-identity-providers",
    "manage-identity-providers",
    "impersonation",
];

/// Keycloak's composites among the admin roles besides `realm-admin`: seeing users includes
/// finding users and groups, seeing clients includes finding them.
const IMPLIED: [(&str, &[&str]); 2] = [
    ("view-users", &["query-users", "query-groups"]),
    ("view-clients", &["query-clients"]),
];

/// Adds the `realm-management` client, its roles and their composites where `rep` lacks them,
/// and Keycloak's `admin-cli` client (public, password grant) through which a realm's own
/// admins get their tokens; what `rep` has is kept.
pub fn ensure_realm_management(rep: &mut RealmRepresentation) {
    let has_cli = rep
        .clients
        .iter()
        .any(|c| c.client_id.as_deref() == Some(crate::ADMIN_CLI_CLIENT));
    if !has_cli {
        rep.clients.push(ClientRepresentation {
            client_id: Some(crate::ADMIN_CLI_CLIENT.to_string()),
            name: Some("${client_admin-cli}".to_string()),
            protocol: Some("openid-connect".to_string()),
            enabled: Some(true),
            public_client: Some(true),
            standard_flow_enabled: Some(false),
            direct_access_grants_enabled: Some(true),
            ..Default::default()
        });
    }
    ensure_admin_console(rep);
    let created_account_roles = ensure_account_clients(rep);
    ensure_docker_cli(rep);
    ensure_broker(rep);
    ensure_realm_roles(rep, &created_account_roles);
    let has_client = rep
        .clients
        .iter()
        .any(|c| c.client_id.as_deref() == Some(REALM_MANAGEMENT_CLIENT));
    if !has_client {
        rep.clients.push(ClientRepresentation {
            client_id: Some(REALM_MANAGEMENT_CLIENT.to_string()),
            name: Some("${client_realm-management}".to_string()),
            protocol: Some("openid-connect".to_string()),
            enabled: Some(true),
            public_client: Some(false),
            bearer_only: Some(true),
            standard_flow_enabled: Some(true),
            direct_access_grants_enabled: Some(false),
            ..Default::default()
        });
    }
    let roles = rep
        .roles
        .get_or_insert_with(Default::default)
        .client
        .entry(REALM_MANAGEMENT_CLIENT.to_string())
        .or_default();
    for name in MANAGEMENT_ROLES.iter().chain([&REALM_ADMIN_ROLE]) {
        if !roles.iter().any(|r| r.name.as_deref() == Some(name)) {
            roles.push(RoleRepresentation {
                name: Some(name.to_string()),
                description: Some(format!("${{role_{name}}}")),
                client_role: true,
                ..Default::default()
            });
        }
    }
    let implied = IMPLIED
        .iter()
        .copied()
        .chain([(REALM_ADMIN_ROLE, &MANAGEMENT_ROLES[..])]);
    for (parent, children) in implied {
        if let Some(role) = roles.iter_mut().find(|r| r.name.as_deref() == Some(parent)) {
            add_client_composites(role, REALM_MANAGEMENT_CLIENT, children);
        }
    }
}

/// Keycloak's `security-admin-console`: the public client (code flow with PKCE S256) the
/// realm's admin console signs in through. Its redirect URI is relative to the server's
/// `{base}{relative}` (Keycloak's `${authAdminUrl}` root), so it survives a change of base URL.
fn ensure_admin_console(rep: &mut RealmRepresentation) {
    let exists = rep
        .clients
        .iter()
        .any(|c| c.client_id.as_deref() == Some(ADMIN_CONSOLE_CLIENT));
    if exists {
        return;
    }
    let realm = rep.realm.clone().unwrap_or_default();
    let mut attributes = std::collections::BTreeMap::new();
    attributes.insert("pkce.code.challenge.method".to_string(), "S256".to_string());
    rep.clients.push(ClientRepresentation {
        client_id: Some(ADMIN_CONSOLE_CLIENT.to_string()),
        name: Some("${client_security-admin-console}".to_string()),
        protocol: Some("openid-connect".to_string()),
        enabled: Some(true),
        public_client: Some(true),
        standard_flow_enabled: Some(true),
        direct_access_grants_enabled: Some(false),
        redirect_uris: Some(vec![admin_console_redirect(&realm)]),
        attributes: Some(attributes),
        ..Default::default()
    });
}

/// Keycloak's `account` client (with its client roles) and `account-console`, the public
/// client (code flow with PKCE S256) of the realm's account console at
/// `{relative}/realms/{realm}/account/`. Their redirect URI is relative to `{base}{relative}`
/// (Keycloak's `${authBaseUrl}` root). What a representation has is kept as it is, so a
/// Keycloak export (which carries both) round-trips unchanged. Returns the `account` roles it
/// added.
fn ensure_account_clients(rep: &mut RealmRepresentation) -> Vec<&'static str> {
    let realm = rep.realm.clone().unwrap_or_default();
    for client_id in [ACCOUNT_CLIENT, ACCOUNT_CONSOLE_CLIENT] {
        if rep
            .clients
            .iter()
            .any(|c| c.client_id.as_deref() == Some(client_id))
        {
            continue;
        }
        let mut attributes = std::collections::BTreeMap::new();
        attributes.insert("post.logout.redirect.uris".to_string(), "+".to_string());
        if client_id == ACCOUNT_CONSOLE_CLIENT {
            attributes.insert("pkce.code.challenge.method".to_string(), "S256".to_string());
        }
        rep.clients.push(ClientRepresentation {
            client_id: Some(client_id.to_string()),
            name: Some(format!("${{client_{client_id}}}")),
            protocol: Some("openid-connect".to_string()),
            enabled: Some(true),
            public_client: Some(true),
            standard_flow_enabled: Some(true),
            direct_access_grants_enabled: Some(false),
            redirect_uris: Some(vec![account_console_redirect(&realm)]),
            attributes: Some(attributes),
            ..Default::default()
        });
    }
    let roles = rep
        .roles
        .get_or_insert_with(Default::default)
        .client
        .entry(ACCOUNT_CLIENT.to_string())
        .or_default();
    let mut created = Vec::new();
    for (name, children) in ACCOUNT_ROLES {
        if roles.iter().any(|r| r.name.as_deref() == Some(name)) {
            continue;
        }
        created.push(name);
        let mut role = RoleRepresentation {
            name: Some(name.to_string()),
            description: Some(format!("${{role_{name}}}")),
            client_role: true,
            ..Default::default()
        };
        if !children.is_empty() {
            add_client_composites(&mut role, ACCOUNT_CLIENT, children);
        }
        roles.push(role);
    }
    created
}

/// Keycloak's `broker` client: bearer-only, with the `read-token` role that lets a user read
/// the tokens an identity provider gave them.
fn ensure_broker(rep: &mut RealmRepresentation) {
    if rep
        .clients
        .iter()
        .any(|c| c.client_id.as_deref() == Some(BROKER_CLIENT))
    {
        return;
    }
    rep.clients.push(ClientRepresentation {
        client_id: Some(BROKER_CLIENT.to_string()),
        name: Some("${client_broker}".to_string()),
        protocol: Some("openid-connect".to_string()),
        enabled: Some(true),
        public_client: Some(false),
        bearer_only: Some(true),
        standard_flow_enabled: Some(true),
        direct_access_grants_enabled: Some(false),
        ..Default::default()
    });
    let roles = rep
        .roles
        .get_or_insert_with(Default::default)
        .client
        .entry(BROKER_CLIENT.to_string())
        .or_default();
    if !roles
        .iter()
        .any(|r| r.name.as_deref() == Some(READ_TOKEN_ROLE))
    {
        roles.push(RoleRepresentation {
            name: Some(READ_TOKEN_ROLE.to_string()),
            description: Some(format!("${{role_{READ_TOKEN_ROLE}}}")),
            client_role: true,
            ..Default::default()
        });
    }
}

/// The name of the default role a realm called `realm` gets when its representation names none.
pub fn default_role_name(realm: &str) -> String {
    format!("{DEFAULT_ROLES_PREFIX}{}", realm.to_lowercase())
}

/// Keycloak's realm roles: `offline_access`, `uma_authorization`, `create-realm` in `master`
/// (inside `admin`), and the default role, which `defaultRole` names (else
/// `default-roles-<realm>`). As Keycloak's import does, what the representation has is kept and
/// only what is added here joins the default role: a new default role gets `offline_access`,
/// `uma_authorization` and the `account` client's `view-profile` and `manage-account`, plus
/// what the older `defaultRoles` lists name; an existing one gets only the roles added now.
fn ensure_realm_roles(rep: &mut RealmRepresentation, created_account_roles: &[&str]) {
    let realm_name = rep.realm.clone().unwrap_or_default();
    let default_name = rep
        .default_role
        .as_ref()
        .and_then(|r| r.name.clone())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| default_role_name(&realm_name));
    let legacy_realm = rep.default_roles.clone().unwrap_or_default();
    let legacy_client: Vec<(String, Vec<String>)> = rep
        .clients
        .iter()
        .filter_map(|c| Some((c.client_id.clone()?, c.default_roles.clone()?)))
        .collect();
    let default_description = rep
        .default_role
        .as_ref()
        .and_then(|r| r.description.clone());
    let default_id = rep.default_role.as_ref().and_then(|r| r.id.clone());
    let roles = &mut rep.roles.get_or_insert_with(Default::default).realm;
    let mut created = Vec::new();
    let mut wanted = vec![
        (OFFLINE_ACCESS_ROLE, "${role_offline-access}"),
        (UMA_AUTHORIZATION_ROLE, "${role_uma_authorization}"),
    ];
    if realm_name == crate::MASTER_REALM {
        wanted.push((CREATE_REALM_ROLE, "${role_create-realm}"));
    }
    for (name, description) in wanted {
        if !roles.iter().any(|r| r.name.as_deref() == Some(name)) {
            roles.push(RoleRepresentation {
                name: Some(name.to_string()),
                description: Some(description.to_string()),
                ..Default::default()
            });
            created.push(name);
        }
    }
    let admin = roles
        .iter_mut()
        .find(|r| r.name.as_deref() == Some(crate::ADMIN_ROLE));
    if let (true, Some(admin)) = (created.contains(&CREATE_REALM_ROLE), admin) {
        admin.composite = true;
        let names = &mut admin
            .composites
            .get_or_insert_with(CompositesRepresentation::default)
            .realm;
        names.push(CREATE_REALM_ROLE.to_string());
    }
    let new_default = !roles
        .iter()
        .any(|r| r.name.as_deref() == Some(default_name.as_str()));
    if new_default {
        roles.push(RoleRepresentation {
            id: default_id,
            name: Some(default_name.clone()),
            description: Some(
                default_description.unwrap_or_else(|| "${role_default-roles}".to_string()),
            ),
            ..Default::default()
        });
    }
    let Some(default_role) = roles
        .iter_mut()
        .find(|r| r.name.as_deref() == Some(default_name.as_str()))
    else {
        return;
    };
    let realm_children: Vec<String> = [OFFLINE_ACCESS_ROLE, UMA_AUTHORIZATION_ROLE]
        .into_iter()
        .filter(|name| new_default || created.contains(name))
        .map(str::to_string)
        .chain(legacy_realm)
        .collect();
    let account_children: Vec<&str> = ["view-profile", "manage-account"]
        .into_iter()
        .filter(|name| new_default || created_account_roles.contains(name))
        .collect();
    if !realm_children.is_empty() {
        default_role.composite = true;
        let names = &mut default_role
            .composites
            .get_or_insert_with(CompositesRepresentation::default)
            .realm;
        for child in realm_children {
            if !names.contains(&child) {
                names.push(child);
            }
        }
    }
    add_client_composites_if_any(default_role, ACCOUNT_CLIENT, &account_children);
    for (client, names) in &legacy_client {
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        add_client_composites_if_any(default_role, client, &names);
    }
    rep.default_role = Some(RoleRepresentation {
        name: Some(default_name),
        ..rep.default_role.take().unwrap_or_default()
    });
}

fn add_client_composites_if_any(role: &mut RoleRepresentation, client: &str, children: &[&str]) {
    if !children.is_empty() {
        add_client_composites(role, client, children);
    }
}

/// `docker-cli`: a public client with the device grant and nothing else. Its access tokens live
/// only long enough to be exchanged for a docker identity token at the docker-v2 endpoint, so
/// it gets no refresh tokens: nothing long-lived is left behind by a credential helper's login.
fn ensure_docker_cli(rep: &mut RealmRepresentation) {
    if rep
        .clients
        .iter()
        .any(|c| c.client_id.as_deref() == Some(DOCKER_CLI_CLIENT))
    {
        return;
    }
    let attributes = std::collections::BTreeMap::from([
        (ATTR_DEVICE_GRANT.to_string(), "true".to_string()),
        (ATTR_USE_REFRESH_TOKENS.to_string(), "false".to_string()),
    ]);
    rep.clients.push(ClientRepresentation {
        client_id: Some(DOCKER_CLI_CLIENT.to_string()),
        name: Some("Docker credential helper".to_string()),
        protocol: Some("openid-connect".to_string()),
        enabled: Some(true),
        public_client: Some(true),
        standard_flow_enabled: Some(false),
        direct_access_grants_enabled: Some(false),
        attributes: Some(attributes),
        ..Default::default()
    });
}

/// The redirect URI registered for a realm's account console, relative to `{base}{relative}`.
pub fn account_console_redirect(realm: &str) -> String {
    format!("/realms/{realm}/account/*")
}

/// The redirect URI registered for a realm's admin console, relative to `{base}{relative}`.
pub fn admin_console_redirect(realm: &str) -> String {
    format!("/admin/{realm}/console/*")
}

fn add_client_composites(role: &mut RoleRepresentation, client: &str, children: &[&str]) {
    role.composite = true;
    let names = role
        .composites
        .get_or_insert_with(CompositesRepresentation::default)
        .client
        .entry(client.to_string())
        .or_default();
    for child in children {
        if !names.iter().any(|n| n == child) {
            names.push(child.to_string());
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn management_roles(rep: &RealmRepresentation) -> &Vec<RoleRepresentation> {
        &rep.roles.as_ref().unwrap().client[REALM_MANAGEMENT_CLIENT]
    }

    #[test]
    fn adds_client_roles_and_composites_to_an_empty_realm() {
        let mut rep = RealmRepresentation::default();
        ensure_realm_management(&mut rep);
        let ids: Vec<_> = rep.clients.iter().map(|c| c.client_id.as_deref()).collect();
        assert_eq!(
            ids,
            [
                Some("admin-cli"),
                Some(ADMIN_CONSOLE_CLIENT),
                Some(ACCOUNT_CLIENT),
                Some(ACCOUNT_CONSOLE_CLIENT),
                Some(DOCKER_CLI_CLIENT),
                Some(BROKER_CLIENT),
                Some(REALM_MANAGEMENT_CLIENT)
            ]
        );
        assert_eq!(rep.clients[0].public_client, Some(true));
        assert_eq!(rep.clients[0].direct_access_grants_enabled, Some(true));
        assert_eq!(rep.clients[1].public_client, Some(true));
        assert_eq!(rep.clients[1].direct_access_grants_enabled, Some(false));
        let console = &rep.clients[3];
        assert_eq!(console.public_client, Some(true));
        assert_eq!(
            console.attributes.as_ref().unwrap()["pkce.code.challenge.method"],
            "S256"
        );
        assert_eq!(
            console.redirect_uris,
            Some(vec!["/realms//account/*".to_string()])
        );
        let docker_cli = &rep.clients[4];
        assert_eq!(docker_cli.public_client, Some(true));
        assert_eq!(docker_cli.standard_flow_enabled, Some(false));
        assert_eq!(docker_cli.direct_access_grants_enabled, Some(false));
        let attributes = docker_cli.attributes.as_ref().unwrap();
        assert_eq!(attributes[ATTR_DEVICE_GRANT], "true");
        assert_eq!(attributes[ATTR_USE_REFRESH_TOKENS], "false");
        assert_eq!(rep.clients[5].bearer_only, Some(true));
        assert_eq!(rep.clients[6].bearer_only, Some(true));
        let account = &rep.roles.as_ref().unwrap().client[ACCOUNT_CLIENT];
        assert_eq!(account.len(), ACCOUNT_ROLES.len());
        let manage = account
            .iter()
            .find(|r| r.name.as_deref() == Some("manage-account"))
            .unwrap();
        assert_eq!(
            manage.composites.as_ref().unwrap().client[ACCOUNT_CLIENT],
            ["manage-account-links"]
        );
        let roles = management_roles(&rep);
        assert_eq!(roles.len(), MANAGEMENT_ROLES.len() + 1, "and realm-admin");
        let admin = roles
            .iter()
            .find(|r| r.name.as_deref() == Some(REALM_ADMIN_ROLE))
            .unwrap();
        let children = &admin.composites.as_ref().unwrap().client[REALM_MANAGEMENT_CLIENT];
        assert_eq!(children.len(), MANAGEMENT_ROLES.len());
        let view_users = roles
            .iter()
            .find(|r| r.name.as_deref() == Some("view-users"))
            .unwrap();
        assert!(view_users.composite);
    }

    #[test]
    fn keeps_a_keycloak_exports_account_clients() {
        let mut rep: RealmRepresentation = serde_json::from_value(serde_json::json!({
            "realm": "kc",
            "clients": [
                {"id": "acc-id", "clientId": "account", "publicClient": true,
                 "baseUrl": "/realms/kc/account/", "redirectUris": ["/realms/kc/account/*"]},
                {"id": "ac-id", "clientId": "account-console", "publicClient": true,
                 "redirectUris": ["https://elsewhere.test/*"]}
            ],
            "roles": {"client": {"account": [
                {"id": "vp-id", "name": "view-profile", "clientRole": true}
            ]}}
        }))
        .unwrap();
        ensure_realm_management(&mut rep);
        let find = |id: &str| {
            rep.clients
                .iter()
                .filter(|c| c.client_id.as_deref() == Some(id))
                .collect::<Vec<_>>()
        };
        assert_eq!(find(ACCOUNT_CLIENT).len(), 1);
        assert_eq!(find(ACCOUNT_CLIENT)[0].id.as_deref(), Some("acc-id"));
        let console = find(ACCOUNT_CONSOLE_CLIENT);
        assert_eq!(console.len(), 1);
        assert_eq!(
            console[0].redirect_uris,
            Some(vec!["https://elsewhere.test/*".to_string()]),
            "the export's own settings are kept"
        );
        let roles = &rep.roles.as_ref().unwrap().client[ACCOUNT_CLIENT];
        assert_eq!(roles[0].id.as_deref(), Some("vp-id"));
        assert_eq!(roles.len(), ACCOUNT_ROLES.len(), "missing roles added once");
    }

    #[test]
    fn keeps_what_the_file_has_and_is_idempotent() {
        let mut rep = RealmRepresentation::default();
        rep.clients.push(ClientRepresentation {
            client_id: Some(REALM_MANAGEMENT_CLIENT.into()),
            id: Some("rm-id".into()),
            ..Default::default()
        });
        let mut roles = crate::representation::RolesRepresentation::default();
        roles.client.insert(
            REALM_MANAGEMENT_CLIENT.into(),
            vec![
                RoleRepresentation {
                    id: Some("mu-id".into()),
                    name: Some("manage-users".into()),
                    ..Default::default()
                },
                RoleRepresentation {
                    name: Some("impersonation".into()),
                    ..Default::default()
                },
            ],
        );
        rep.roles = Some(roles);
        ensure_realm_management(&mut rep);
        let once = rep.clone();
        ensure_realm_management(&mut rep);
        assert_eq!(rep, once, "a second pass changes nothing");
        assert_eq!(
            rep.clients.len(),
            7,
            "the file's realm-management, admin-cli, security-admin-console, account, \
             account-console, docker-cli and broker"
        );
        assert_eq!(rep.clients[0].id.as_deref(), Some("rm-id"));
        let roles = management_roles(&rep);
        assert_eq!(roles.len(), 16, "15 ensured plus the file's own");
        assert_eq!(roles[0].id.as_deref(), Some("mu-id"));
    }

    fn realm_role<'a>(rep: &'a RealmRepresentation, name: &str) -> Option<&'a RoleRepresentation> {
        rep.roles
            .as_ref()?
            .realm
            .iter()
            .find(|r| r.name.as_deref() == Some(name))
    }

    #[test]
    fn adds_keycloaks_realm_roles_and_default_role() {
        let mut rep = RealmRepresentation {
            realm: Some("Shop".into()),
            ..Default::default()
        };
        ensure_realm_management(&mut rep);
        assert_eq!(
            rep.default_role.as_ref().unwrap().name.as_deref(),
            Some("default-roles-shop")
        );
        let default = realm_role(&rep, "default-roles-shop").unwrap();
        let composites = default.composites.as_ref().unwrap();
        assert_eq!(composites.realm, ["offline_access", "uma_authorization"]);
        assert_eq!(
            composites.client[ACCOUNT_CLIENT],
            ["view-profile", "manage-account"]
        );
        assert!(realm_role(&rep, "create-realm").is_none());
        let broker = &rep.roles.as_ref().unwrap().client[BROKER_CLIENT];
        assert_eq!(broker[0].name.as_deref(), Some(READ_TOKEN_ROLE));

        let mut master = RealmRepresentation {
            realm: Some(crate::MASTER_REALM.into()),
            roles: Some(crate::representation::RolesRepresentation {
                realm: vec![RoleRepresentation {
                    name: Some(crate::ADMIN_ROLE.into()),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            ..Default::default()
        };
        ensure_realm_management(&mut master);
        let admin = realm_role(&master, crate::ADMIN_ROLE).unwrap();
        assert_eq!(
            admin.composites.as_ref().unwrap().realm,
            [CREATE_REALM_ROLE]
        );
    }

    #[test]
    fn a_named_default_role_keeps_its_composites_and_gains_only_what_is_added() {
        // A Keycloak export: it names its default role and carries offline_access, but not
        // uma_authorization; the older `defaultRoles` list joins too.
        let mut rep: RealmRepresentation = serde_json::from_value(serde_json::json!({
            "realm": "kc",
            "defaultRole": {"id": "def-id", "name": "default-roles-kc"},
            "defaultRoles": ["staff"],
            "roles": {"realm": [
                {"name": "staff"},
                {"name": "offline_access"},
                {"id": "def-id", "name": "default-roles-kc", "composite": true,
                 "composites": {"realm": ["offline_access"]}}
            ]},
            "clients": [{"clientId": "account"}],
            "users": null, "groups": null
        }))
        .unwrap();
        ensure_realm_management(&mut rep);
        let default = realm_role(&rep, "default-roles-kc").unwrap();
        assert_eq!(default.id.as_deref(), Some("def-id"));
        let composites = default.composites.as_ref().unwrap();
        assert_eq!(
            composites.realm,
            ["offline_access", "uma_authorization", "staff"]
        );
        // The export's account client had no roles: the ones added now join.
        assert_eq!(
            composites.client[ACCOUNT_CLIENT],
            ["view-profile", "manage-account"]
        );
    }
}
