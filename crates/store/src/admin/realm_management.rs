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
    ensure_account_clients(rep);
    ensure_docker_cli(rep);
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
/// Keycloak export (which carries both) round-trips unchanged.
fn ensure_account_clients(rep: &mut RealmRepresentation) {
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
    for (name, children) in ACCOUNT_ROLES {
        if roles.iter().any(|r| r.name.as_deref() == Some(name)) {
            continue;
        }
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
        assert_eq!(roles.len(), 15);
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
            6,
            "the file's realm-management, admin-cli, security-admin-console, account, \
             account-console and docker-cli"
        );
        assert_eq!(rep.clients[0].id.as_deref(), Some("rm-id"));
        let roles = management_roles(&rep);
        assert_eq!(roles.len(), 16, "15 ensured plus the file's own");
        assert_eq!(roles[0].id.as_deref(), Some("mu-id"));
    }
}
