//! An admin may give or take away only admin rights it holds (Keycloak's `canMapRole`, applied
//! to every path that changes whose roles are whose). Each row runs on a fresh app: the caller
//! `mallory` holds `manage-users`, `manage-realm` and `manage-clients` of realm `esc` but not
//! `realm-admin`; `helper` is a realm role composite of `manage-users` (a right mallory holds),
//! `boss` one of `realm-admin` (a right mallory lacks), `dev` an ordinary role.

use axum::body::Body;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{App, app};

fn esc() -> Value {
    json!({
        "realm": "esc",
        "enabled": true,
        "roles": {
            "realm": [
                {"name": "dev"},
                {"name": "other"},
                {"name": "helper", "composite": true,
                 "composites": {"client": {"realm-management": ["manage-users"]}}},
                {"name": "boss", "composite": true,
                 "composites": {"client": {"realm-management": ["realm-admin"]}}},
                {"name": "default-roles-esc", "composite": true, "composites": {"realm": ["dev"]}}
            ],
            "client": {"app": [{"name": "user"}, {"name": "viewer"}]}
        },
        "clients": [{"clientId": "app", "publicClient": true, "redirectUris": ["http://app.test/*"]}],
        "groups": [
            {"name": "ops", "realmRoles": ["boss"]},
            {"name": "helpers", "realmRoles": ["helper"]},
            {"name": "devs", "realmRoles": ["dev"]},
            {"name": "eng"}
        ],
        "users": [
            {"username": "mallory", "enabled": true,
             "clientRoles": {"realm-management": ["manage-users", "manage-realm", "manage-clients"]}},
            {"username": "victim", "enabled": true, "groups": ["/eng"],
             "credentials": [{"type": "password", "value": "victim-pw"}],
             "federatedIdentities": [{"identityProvider": "corp", "userId": "7", "userName": "victim"}]},
            {"username": "chief", "enabled": true,
             "clientRoles": {"realm-management": ["realm-admin"]},
             "credentials": [{"type": "password", "value": "chief-pw"}],
             "federatedIdentities": [{"identityProvider": "corp", "userId": "42", "userName": "chief"}]},
            {"username": "deputy", "enabled": true,
             "clientRoles": {"realm-management": ["manage-users"]}},
            {"username": "bossy", "enabled": true, "realmRoles": ["boss"]}
        ]
    })
}

async fn esc_app() -> App {
    let app = app().await;
    app.import_realm(&esc()).await;
    app
}

/// Replaces `<user:x>`, `<group:x>`, `<client:x>`, `<role:x>` (realm role) and `<role:c/x>`
/// (client role) in a path or body with ids.
async fn fill(app: &App, realm: &str, text: &str) -> String {
    let mut out = text.to_string();
    while let Some(start) = out.find('<') {
        let len = out[start..].find('>').expect("a closed placeholder");
        let token = out[start + 1..start + len].to_string();
        let (kind, name) = token.split_once(':').expect("kind:name");
        let value = match kind {
            "user" => app.user_id(realm, name).await,
            "client" => app.client_uuid(realm, name).await,
            "group" => group_id(app, realm, name).await,
            "role" => role(app, realm, name).await["id"]
                .as_str()
                .unwrap()
                .to_string(),
            other => panic!("unknown placeholder {other}"),
        };
        out.replace_range(start..start + len + 1, &value);
    }
    out
}

async fn group_id(app: &App, realm: &str, name: &str) -> String {
    let reply = app
        .get(&format!("realms/{realm}/group-by-path/{name}"))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.value());
    reply.json()["id"].as_str().unwrap().to_string()
}

/// A role's representation: `name` for a realm role, `client/name` for a client role.
async fn role(app: &App, realm: &str, name: &str) -> Value {
    let path = match name.split_once('/') {
        Some((client, role)) => {
            let uuid = app.client_uuid(realm, client).await;
            format!("realms/{realm}/clients/{uuid}/roles/{role}")
        }
        None => format!("realms/{realm}/roles/{name}"),
    };
    let reply = app.get(&path).await;
    assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.value());
    reply.json()
}

/// A body listing role representations.
async fn roles(app: &App, realm: &str, names: &[&str]) -> Value {
    let mut list = Vec::new();
    for name in names {
        list.push(role(app, realm, name).await);
    }
    Value::Array(list)
}

/// What a row sends: a fixed body, or role representations looked up by name.
enum Send {
    Nothing,
    Json(Value),
    Roles(&'static [&'static str]),
}

struct Row {
    what: &'static str,
    method: Method,
    path: &'static str,
    send: Send,
    want: StatusCode,
}

fn row(
    what: &'static str,
    method: Method,
    path: &'static str,
    send: Send,
    want: StatusCode,
) -> Row {
    Row {
        what,
        method,
        path,
        send,
        want,
    }
}

async fn run(rows: Vec<Row>, realm: &str, caller_realm: &str, caller: &str) {
    for r in rows {
        let app = esc_app().await;
        let token = app.access_token(caller_realm, caller).await;
        let path = fill(&app, realm, &format!("realms/{realm}/{}", r.path)).await;
        let body = match &r.send {
            Send::Nothing => None,
            Send::Json(body) => Some(fill(&app, realm, &body.to_string()).await),
            Send::Roles(names) => Some(roles(&app, realm, names).await.to_string()),
        };
        let reply = app
            .send(r.method.clone(), &path, Some(&token), body.map(Body::from))
            .await;
        assert_eq!(
            reply.status,
            r.want,
            "{}: {} {path}: {}",
            r.what,
            r.method,
            reply.value()
        );
    }
}

#[tokio::test]
async fn role_changes_need_the_rights_they_move() {
    use Method as M;
    use Send::*;
    const OK: StatusCode = StatusCode::NO_CONTENT;
    const NO: StatusCode = StatusCode::FORBIDDEN;
    const CREATED: StatusCode = StatusCode::CREATED;
    let rows = vec![
        // User role mappings, realm and client, add and remove.
        row(
            "map ordinary",
            M::POST,
            "users/<user:victim>/role-mappings/realm",
            Roles(&["dev"]),
            OK,
        ),
        row(
            "map held",
            M::POST,
            "users/<user:victim>/role-mappings/realm",
            Roles(&["helper"]),
            OK,
        ),
        row(
            "map lacked",
            M::POST,
            "users/<user:victim>/role-mappings/realm",
            Roles(&["boss"]),
            NO,
        ),
        row(
            "map lacked onto self",
            M::POST,
            "users/<user:mallory>/role-mappings/realm",
            Roles(&["boss"]),
            NO,
        ),
        row(
            "map held client role",
            M::POST,
            "users/<user:victim>/role-mappings/clients/<client:realm-management>",
            Roles(&["realm-management/manage-users"]),
            OK,
        ),
        row(
            "map lacked client role",
            M::POST,
            "users/<user:victim>/role-mappings/clients/<client:realm-management>",
            Roles(&["realm-management/realm-admin"]),
            NO,
        ),
        row(
            "map ordinary client role",
            M::POST,
            "users/<user:victim>/role-mappings/clients/<client:app>",
            Roles(&["app/user"]),
            OK,
        ),
        row(
            "unmap held client role",
            M::DELETE,
            "users/<user:deputy>/role-mappings/clients/<client:realm-management>",
            Roles(&["realm-management/manage-users"]),
            OK,
        ),
        row(
            "unmap lacked client role",
            M::DELETE,
            "users/<user:chief>/role-mappings/clients/<client:realm-management>",
            Roles(&["realm-management/realm-admin"]),
            NO,
        ),
        row(
            "unmap lacked realm role",
            M::DELETE,
            "users/<user:bossy>/role-mappings/realm",
            Roles(&["boss"]),
            NO,
        ),
        // Group role mappings.
        row(
            "group ordinary",
            M::POST,
            "groups/<group:eng>/role-mappings/realm",
            Roles(&["dev"]),
            OK,
        ),
        row(
            "group held",
            M::POST,
            "groups/<group:eng>/role-mappings/realm",
            Roles(&["helper"]),
            OK,
        ),
        row(
            "group lacked",
            M::POST,
            "groups/<group:eng>/role-mappings/realm",
            Roles(&["boss"]),
            NO,
        ),
        row(
            "group lacked client role",
            M::POST,
            "groups/<group:eng>/role-mappings/clients/<client:realm-management>",
            Roles(&["realm-management/realm-admin"]),
            NO,
        ),
        row(
            "group unmap lacked",
            M::DELETE,
            "groups/<group:ops>/role-mappings/realm",
            Roles(&["boss"]),
            NO,
        ),
        // Composites of realm and client roles, by name and by id, and the default roles.
        row(
            "composite ordinary",
            M::POST,
            "roles/dev/composites",
            Roles(&["other"]),
            OK,
        ),
        row(
            "composite held",
            M::POST,
            "roles/dev/composites",
            Roles(&["realm-management/manage-users"]),
            OK,
        ),
        row(
            "composite lacked",
            M::POST,
            "roles/dev/composites",
            Roles(&["realm-management/realm-admin"]),
            NO,
        ),
        row(
            "composite lacked via role",
            M::POST,
            "roles/other/composites",
            Roles(&["boss"]),
            NO,
        ),
        row(
            "client composite lacked",
            M::POST,
            "clients/<client:app>/roles/user/composites",
            Roles(&["boss"]),
            NO,
        ),
        row(
            "client composite ordinary",
            M::POST,
            "clients/<client:app>/roles/user/composites",
            Roles(&["app/viewer"]),
            OK,
        ),
        row(
            "by id composite lacked",
            M::POST,
            "roles-by-id/<role:dev>/composites",
            Roles(&["boss"]),
            NO,
        ),
        row(
            "default roles lacked",
            M::POST,
            "roles/default-roles-esc/composites",
            Roles(&["boss"]),
            NO,
        ),
        row(
            "default roles held",
            M::POST,
            "roles/default-roles-esc/composites",
            Roles(&["helper"]),
            OK,
        ),
        row(
            "remove lacked composite",
            M::DELETE,
            "roles/boss/composites",
            Roles(&["realm-management/realm-admin"]),
            NO,
        ),
        // Creating a role whose composites carry a right.
        row(
            "create role with lacked composite",
            M::POST,
            "roles",
            Json(json!({"name": "sneaky", "composite": true,
                        "composites": {"client": {"realm-management": ["realm-admin"]}}})),
            NO,
        ),
        row(
            "create role with ordinary composite",
            M::POST,
            "roles",
            Json(json!({"name": "plain", "composite": true, "composites": {"realm": ["dev"]}})),
            CREATED,
        ),
        // Role updates and deletions that move rights.
        row(
            "rename ordinary role",
            M::PUT,
            "roles/dev",
            Json(json!({"name": "developer"})),
            OK,
        ),
        row(
            "rename realm-admin away",
            M::PUT,
            "roles-by-id/<role:realm-management/realm-admin>",
            Json(json!({"name": "retired"})),
            NO,
        ),
        row("delete lacked role", M::DELETE, "roles/boss", Nothing, NO),
        row(
            "delete ordinary role",
            M::DELETE,
            "roles/other",
            Nothing,
            OK,
        ),
        // Group membership and group moves.
        row(
            "join lacked group",
            M::PUT,
            "users/<user:mallory>/groups/<group:ops>",
            Nothing,
            NO,
        ),
        row(
            "join held group",
            M::PUT,
            "users/<user:victim>/groups/<group:helpers>",
            Nothing,
            OK,
        ),
        row(
            "join ordinary group",
            M::PUT,
            "users/<user:victim>/groups/<group:devs>",
            Nothing,
            OK,
        ),
        row(
            "leave lacked group",
            M::DELETE,
            "users/<user:bossy>/groups/<group:ops>",
            Nothing,
            OK,
        ),
        row(
            "move a group with members under a lacked group",
            M::POST,
            "groups/<group:ops>/children",
            Json(json!({"id": "<group:eng>", "name": "eng"})),
            NO,
        ),
        row(
            "create user in lacked group",
            M::POST,
            "users",
            Json(json!({"username": "newbie", "enabled": true, "groups": ["/ops"]})),
            NO,
        ),
        // Accounts more powerful than the caller.
        row(
            "reset a more powerful user's password",
            M::PUT,
            "users/<user:chief>/reset-password",
            Json(json!({"type": "password", "value": "taken-over", "temporary": false})),
            NO,
        ),
        row(
            "reset an ordinary user's password",
            M::PUT,
            "users/<user:victim>/reset-password",
            Json(json!({"type": "password", "value": "new-password", "temporary": false})),
            OK,
        ),
        row(
            "disable a more powerful user",
            M::PUT,
            "users/<user:chief>",
            Json(json!({"enabled": false})),
            NO,
        ),
        row(
            "rename a more powerful user",
            M::PUT,
            "users/<user:chief>",
            Json(json!({"email": "me@evil.test"})),
            NO,
        ),
        row(
            "delete a more powerful user's credential",
            M::DELETE,
            "users/<user:chief>/credentials/any",
            Nothing,
            NO,
        ),
        row(
            "delete a more powerful user",
            M::DELETE,
            "users/<user:chief>",
            Nothing,
            NO,
        ),
        row(
            "delete an ordinary user",
            M::DELETE,
            "users/<user:victim>",
            Nothing,
            OK,
        ),
        row(
            "link an upstream account to a more powerful user",
            M::POST,
            "users/<user:chief>/federated-identity/github",
            Json(json!({"userId": "123", "userName": "mallory"})),
            NO,
        ),
        row(
            "unlink a more powerful user's upstream account",
            M::DELETE,
            "users/<user:chief>/federated-identity/corp",
            Nothing,
            NO,
        ),
        row(
            "unlink an ordinary user's upstream account",
            M::DELETE,
            "users/<user:victim>/federated-identity/corp",
            Nothing,
            OK,
        ),
    ];
    run(rows, "esc", "esc", "mallory").await;
}

#[tokio::test]
async fn partial_import_needs_the_rights_it_moves() {
    use Method as M;
    use Send::*;
    let imported = |what: &'static str, body: Value, want: StatusCode| {
        row(what, M::POST, "partialImport", Json(body), want)
    };
    let rows = vec![
        imported(
            "user with a lacked role",
            json!({"ifResourceExists": "FAIL", "users": [{"username": "plant", "enabled": true, "realmRoles": ["boss"]}]}),
            StatusCode::FORBIDDEN,
        ),
        imported(
            "user with a lacked client role",
            json!({"users": [{"username": "plant", "enabled": true,
                              "clientRoles": {"realm-management": ["realm-admin"]}}]}),
            StatusCode::FORBIDDEN,
        ),
        imported(
            "user with a held client role",
            json!({"users": [{"username": "plant", "enabled": true,
                              "clientRoles": {"realm-management": ["manage-users"]}}]}),
            StatusCode::OK,
        ),
        imported(
            "user in a lacked group",
            json!({"users": [{"username": "plant", "enabled": true, "groups": ["/ops"]}]}),
            StatusCode::FORBIDDEN,
        ),
        imported(
            "group with a lacked role",
            json!({"groups": [{"name": "cabal", "realmRoles": ["boss"]}]}),
            StatusCode::FORBIDDEN,
        ),
        imported(
            "role with a lacked composite",
            json!({"roles": {"realm": [{"name": "sneaky", "composite": true,
                                        "composites": {"client": {"realm-management": ["realm-admin"]}}}]}}),
            StatusCode::FORBIDDEN,
        ),
        imported(
            "overwriting a more powerful user",
            json!({"ifResourceExists": "OVERWRITE", "users": [{"username": "chief", "enabled": true}]}),
            StatusCode::FORBIDDEN,
        ),
        imported(
            "ordinary roles and users",
            json!({"roles": {"realm": [{"name": "tester"}]},
                   "users": [{"username": "plant", "enabled": true, "realmRoles": ["dev"]}]}),
            StatusCode::OK,
        ),
    ];
    run(rows, "esc", "esc", "mallory").await;
}

/// In master, a `manage-users` admin can neither make itself master admin nor take the
/// per-realm admin roles of `{realm}-realm`; a master admin of one realm maps that realm's
/// admin roles it holds, not the ones it lacks.
#[tokio::test]
async fn master_roles_and_per_realm_admin_clients() {
    let app = esc_app().await;
    let admin = |path: &str| format!("realms/master/{path}");
    let create = |path: String, body: Value| {
        let app = &app;
        async move {
            let reply = app.post(&path, body).await;
            assert_eq!(
                reply.status,
                StatusCode::CREATED,
                "{path}: {}",
                reply.value()
            );
            reply.created_id()
        }
    };
    // master has Keycloak's `create-realm` from the start.
    let esc_realm = create(
        admin("clients"),
        json!({"clientId": "esc-realm", "bearerOnly": true}),
    )
    .await;
    for name in ["manage-users", "realm-admin"] {
        create(
            admin(&format!("clients/{esc_realm}/roles")),
            json!({"name": name}),
        )
        .await;
    }
    let manager = create(
        admin("users"),
        json!({"username": "manager", "enabled": true}),
    )
    .await;
    let rm = app.client_uuid("master", "realm-management").await;
    let mu = role(&app, "master", "realm-management/manage-users").await;
    let reply = app
        .post(
            &admin(&format!("users/{manager}/role-mappings/clients/{rm}")),
            json!([mu]),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.value());
    let esc_mu = role(&app, "master", "esc-realm/manage-users").await;
    let reply = app
        .post(
            &admin(&format!(
                "users/{manager}/role-mappings/clients/{esc_realm}"
            )),
            json!([esc_mu]),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.value());

    let token = app.access_token("master", "manager").await;
    let send = |path: String, body: Value| {
        let (app, token) = (&app, token.clone());
        async move {
            app.send(
                Method::POST,
                &path,
                Some(&token),
                Some(Body::from(body.to_string())),
            )
            .await
            .status
        }
    };
    let master_admin = role(&app, "master", "admin").await;
    let create_realm = role(&app, "master", "create-realm").await;
    let esc_ra = role(&app, "master", "esc-realm/realm-admin").await;
    let mappings = admin(&format!("users/{manager}/role-mappings"));
    assert_eq!(
        send(format!("{mappings}/realm"), json!([master_admin])).await,
        StatusCode::FORBIDDEN,
        "master admin onto itself"
    );
    assert_eq!(
        send(format!("{mappings}/realm"), json!([create_realm])).await,
        StatusCode::FORBIDDEN,
        "create-realm onto itself"
    );
    assert_eq!(
        send(format!("{mappings}/clients/{esc_realm}"), json!([esc_ra])).await,
        StatusCode::FORBIDDEN,
        "esc-realm.realm-admin onto itself"
    );

    // Through `esc-realm.manage-users` the master user administers esc's users: it may hand
    // out esc's `manage-users`, not its `realm-admin`.
    let victim = app.user_id("esc", "victim").await;
    let esc_rm = app.client_uuid("esc", "realm-management").await;
    let esc_manage = role(&app, "esc", "realm-management/manage-users").await;
    let esc_admin = role(&app, "esc", "realm-management/realm-admin").await;
    let esc_mappings = format!("realms/esc/users/{victim}/role-mappings/clients/{esc_rm}");
    assert_eq!(
        send(esc_mappings.clone(), json!([esc_manage])).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        send(esc_mappings, json!([esc_admin])).await,
        StatusCode::FORBIDDEN
    );

    // The master admin may do all of it.
    let reply = app
        .post(&format!("{mappings}/realm"), json!([create_realm]))
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.value());
}
