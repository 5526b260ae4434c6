//! Keycloak's defaults (a new realm's roles, clients and default role; a new user's default
//! role; a new client's flags), representations that refuse unknown fields, accept `null`,
//! survive a partial-export round trip and come brief where Keycloak gives them brief.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use super::common::{App, app, names};

const TOKEN: &str = "/auth/realms/acme/protocol/openid-connect/token";

async fn role_names(app: &App, path: &str) -> Vec<String> {
    let reply = app.get(path).await;
    assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.value());
    names(&reply.json(), "name")
}

#[tokio::test]
async fn a_new_realm_has_keycloaks_roles_clients_and_default_role() {
    let app = app().await;
    let reply = app.post("realms", json!({"realm": "Fresh"})).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.value());

    let realm = app.get("realms/Fresh").await.json();
    assert_eq!(realm["defaultRole"]["name"], "default-roles-fresh");
    assert_eq!(realm["defaultRole"]["composite"], true);
    assert_eq!(realm["defaultRole"]["clientRole"], false);
    assert_eq!(realm["defaultRole"]["containerId"], realm["id"]);
    assert_eq!(realm["adminEventsEnabled"], false);

    let roles = role_names(&app, "realms/Fresh/roles").await;
    for role in ["default-roles-fresh", "offline_access", "uma_authorization"] {
        assert!(roles.contains(&role.to_string()), "{role} in {roles:?}");
    }
    assert!(!roles.contains(&"create-realm".to_string()));
    let composites = role_names(&app, "realms/Fresh/roles/default-roles-fresh/composites").await;
    assert_eq!(
        composites,
        [
            "manage-account",
            "offline_access",
            "uma_authorization",
            "view-profile"
        ]
    );

    let clients = app.get("realms/Fresh/clients").await.json();
    let ids = names(&clients, "clientId");
    for client in [
        "account",
        "account-console",
        "admin-cli",
        "broker",
        "realm-management",
        "security-admin-console",
    ] {
        assert!(ids.contains(&client.to_string()), "{client} in {ids:?}");
    }
    let broker = app.client_uuid("Fresh", "broker").await;
    let broker_rep = app
        .get(&format!("realms/Fresh/clients/{broker}"))
        .await
        .json();
    assert_eq!(broker_rep["bearerOnly"], true);
    assert_eq!(
        role_names(&app, &format!("realms/Fresh/clients/{broker}/roles")).await,
        ["read-token"]
    );

    // master: create-realm, inside admin; the bootstrap admin holds the default role.
    let master = role_names(&app, "realms/master/roles").await;
    assert!(master.contains(&"create-realm".to_string()), "{master:?}");
    assert!(master.contains(&"default-roles-master".to_string()));
    let inside_admin = role_names(&app, "realms/master/roles/admin/composites").await;
    assert!(inside_admin.contains(&"create-realm".to_string()));
    let admin_id = app.user_id("master", "admin").await;
    let held = role_names(
        &app,
        &format!("realms/master/users/{admin_id}/role-mappings/realm"),
    )
    .await;
    assert!(
        held.contains(&"default-roles-master".to_string()),
        "{held:?}"
    );
}

#[tokio::test]
async fn new_users_hold_the_default_role_and_imported_ones_only_what_they_list() {
    let app = app().await;
    let reply = app
        .post(
            "realms",
            json!({"realm": "ppl", "users": [
                {"username": "imported", "enabled": true},
                {"username": "listed", "enabled": true, "realmRoles": ["default-roles-ppl"]}
            ]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.value());
    let reply = app
        .post(
            "realms/ppl/users",
            json!({"username": "made", "enabled": true}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.value());

    for (username, holds) in [("made", true), ("imported", false), ("listed", true)] {
        let id = app.user_id("ppl", username).await;
        let direct = role_names(&app, &format!("realms/ppl/users/{id}/role-mappings/realm")).await;
        assert_eq!(
            direct.contains(&"default-roles-ppl".to_string()),
            holds,
            "{username}: {direct:?}"
        );
        let effective = role_names(
            &app,
            &format!("realms/ppl/users/{id}/role-mappings/realm/composite"),
        )
        .await;
        assert_eq!(
            effective.contains(&"offline_access".to_string()),
            holds,
            "{username}: {effective:?}"
        );
    }

    // A service account gets it too, as in Keycloak.
    let reply = app
        .post(
            "realms/ppl/clients",
            json!({"clientId": "svc", "serviceAccountsEnabled": true}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.value());
    let svc = app.client_uuid("ppl", "svc").await;
    let user = app
        .get(&format!("realms/ppl/clients/{svc}/service-account-user"))
        .await
        .json();
    let direct = role_names(
        &app,
        &format!(
            "realms/ppl/users/{}/role-mappings/realm",
            user["id"].as_str().unwrap()
        ),
    )
    .await;
    assert!(
        direct.contains(&"default-roles-ppl".to_string()),
        "{direct:?}"
    );

    // The default role cannot be deleted while it is the default.
    let reply = app.delete("realms/ppl/roles/default-roles-ppl").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.value());
}

async fn password_grant(app: &App, client_id: &str, secret: Option<&str>) -> (StatusCode, Value) {
    let mut form = vec![
        ("grant_type", "password"),
        ("client_id", client_id),
        ("username", "alice"),
        ("password", "alice-pw"),
    ];
    if let Some(secret) = secret {
        form.push(("client_secret", secret));
    }
    let reply = app.post_form(TOKEN, None, &form).await;
    (reply.status, reply.value())
}

/// Keycloak's `POST clients`: `RepresentationToModel.createClient` keeps the stored defaults
/// (confidential with a generated secret, standard flow on, direct access grants off), and
/// only a body naming its protocol runs `setupClientDefaults` (a public client unless
/// `publicClient` or `bearerOnly` is given; direct access grants on).
#[tokio::test]
async fn new_clients_get_keycloaks_defaults_with_and_without_a_protocol() {
    let app = app().await;
    let cases = [
        (
            json!({"clientId": "bare"}),
            json!({"publicClient": false, "bearerOnly": false, "standardFlowEnabled": true,
                   "directAccessGrantsEnabled": false, "frontchannelLogout": false}),
            true,
        ),
        (
            json!({"clientId": "oidc", "protocol": "openid-connect"}),
            json!({"publicClient": true, "bearerOnly": false, "standardFlowEnabled": true,
                   "directAccessGrantsEnabled": true, "frontchannelLogout": false}),
            false,
        ),
        (
            json!({"clientId": "oidc-conf", "protocol": "openid-connect", "publicClient": false}),
            json!({"publicClient": false, "bearerOnly": false, "standardFlowEnabled": true,
                   "directAccessGrantsEnabled": true, "frontchannelLogout": false}),
            true,
        ),
        (
            json!({"clientId": "api", "bearerOnly": true}),
            json!({"publicClient": false, "bearerOnly": true, "standardFlowEnabled": true,
                   "directAccessGrantsEnabled": false, "frontchannelLogout": false}),
            false,
        ),
        (
            json!({"clientId": "api-oidc", "bearerOnly": true, "protocol": "openid-connect"}),
            json!({"publicClient": true, "bearerOnly": true, "standardFlowEnabled": true,
                   "directAccessGrantsEnabled": true, "frontchannelLogout": false}),
            false,
        ),
        (
            json!({"clientId": "given", "protocol": "openid-connect", "directAccessGrantsEnabled": false,
                   "standardFlowEnabled": false, "frontchannelLogout": true}),
            json!({"publicClient": true, "bearerOnly": false, "standardFlowEnabled": false,
                   "directAccessGrantsEnabled": false, "frontchannelLogout": true}),
            false,
        ),
    ];
    for (body, want, has_secret) in cases {
        let reply = app.post("realms/acme/clients", body.clone()).await;
        assert_eq!(
            reply.status,
            StatusCode::CREATED,
            "{body}: {}",
            reply.value()
        );
        let client_id = body["clientId"].as_str().unwrap();
        let id = app.client_uuid("acme", client_id).await;
        let client = app.get(&format!("realms/acme/clients/{id}")).await.json();
        for (field, value) in want.as_object().unwrap() {
            assert_eq!(&client[field], value, "{field} of {body}: {client}");
        }
        for (field, value) in [
            ("protocol", json!("openid-connect")),
            ("enabled", json!(true)),
            ("implicitFlowEnabled", json!(false)),
            ("serviceAccountsEnabled", json!(false)),
            ("consentRequired", json!(false)),
            ("fullScopeAllowed", json!(true)),
            ("alwaysDisplayInConsole", json!(false)),
            ("nodeReRegistrationTimeout", json!(-1)),
            ("clientAuthenticatorType", json!("client-secret")),
        ] {
            assert_eq!(client[field], value, "{field} of {body}: {client}");
        }
        assert_eq!(
            client["secret"].as_str().is_some_and(|s| s.len() >= 32),
            has_secret,
            "{body}: {client}"
        );
        // What a tool reads it sends back: GET then PUT is accepted unchanged.
        let reply = app.put(&format!("realms/acme/clients/{id}"), client).await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.value());
    }

    // A bare client may not use the password grant; one created for openid-connect may.
    let bare = app.client_uuid("acme", "bare").await;
    let secret = app
        .get(&format!("realms/acme/clients/{bare}/client-secret"))
        .await
        .json();
    let secret = secret["value"].as_str().unwrap().to_string();
    let (status, body) = password_grant(&app, "bare", Some(&secret)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "unauthorized_client");
    let (status, body) = password_grant(&app, "oidc", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["access_token"].is_string());
    let conf = app.client_uuid("acme", "oidc-conf").await;
    let secret = app
        .get(&format!("realms/acme/clients/{conf}/client-secret"))
        .await
        .json();
    let secret = secret["value"].as_str().unwrap().to_string();
    let (status, body) = password_grant(&app, "oidc-conf", Some(&secret)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn unknown_fields_are_400_on_every_representation_and_nothing_is_stored() {
    let app = app().await;
    let alice = app.user_id("acme", "alice").await;
    let web = app.client_uuid("acme", "web").await;
    let eng = app.get("realms/acme/groups?search=eng").await.json()[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let cases: Vec<(Method, String, Value, &str)> = vec![
        (
            Method::POST,
            "realms".into(),
            json!({"realm": "typo", "bogus": 1}),
            "RealmRepresentation",
        ),
        (
            Method::POST,
            "realms".into(),
            json!({"realm": "typo", "users": [{"username": "u", "bogus": 1}]}),
            "UserRepresentation",
        ),
        (
            Method::PUT,
            "realms/acme".into(),
            json!({"displayName": "X", "bogus": 1}),
            "RealmRepresentation",
        ),
        (
            Method::POST,
            "realms/acme/users".into(),
            json!({"username": "typo", "bogus": true}),
            "UserRepresentation",
        ),
        (
            Method::PUT,
            format!("realms/acme/users/{alice}"),
            json!({"firstName": "X", "bogus": true}),
            "UserRepresentation",
        ),
        (
            Method::POST,
            "realms/acme/users".into(),
            json!({"username": "typo", "credentials": [{"type": "password", "value": "x",
                   "bogus": 1}]}),
            "CredentialRepresentation",
        ),
        (
            Method::PUT,
            format!("realms/acme/users/{alice}/reset-password"),
            json!({"type": "password", "value": "new-pw-123", "bogus": false}),
            "CredentialRepresentation",
        ),
        (
            Method::POST,
            "realms/acme/groups".into(),
            json!({"name": "typo", "bogus": 1}),
            "GroupRepresentation",
        ),
        (
            Method::PUT,
            format!("realms/acme/groups/{eng}"),
            json!({"name": "X", "bogus": 1}),
            "GroupRepresentation",
        ),
        (
            Method::POST,
            "realms/acme/roles".into(),
            json!({"name": "typo", "bogus": 1}),
            "RoleRepresentation",
        ),
        (
            Method::PUT,
            "realms/acme/roles/dev".into(),
            json!({"name": "dev", "description": "X", "bogus": 1}),
            "RoleRepresentation",
        ),
        (
            Method::POST,
            format!("realms/acme/users/{alice}/role-mappings/realm"),
            json!([{"name": "dev", "bogus": 1}]),
            "RoleRepresentation",
        ),
        (
            Method::POST,
            "realms/acme/clients".into(),
            json!({"clientId": "typo", "bogus": 1}),
            "ClientRepresentation",
        ),
        (
            Method::PUT,
            format!("realms/acme/clients/{web}"),
            json!({"description": "X", "bogus": 1}),
            "ClientRepresentation",
        ),
        (
            Method::POST,
            format!("realms/acme/clients/{web}/protocol-mappers/models"),
            json!({"name": "typo", "protocol": "openid-connect",
                   "protocolMapper": "oidc-hardcoded-claim-mapper", "config": {}, "bogus": 1}),
            "ProtocolMapperRepresentation",
        ),
        (
            Method::POST,
            "realms/acme/identity-provider/instances".into(),
            json!({"alias": "typo", "providerId": "oidc", "bogus": 1}),
            "IdentityProviderRepresentation",
        ),
        (
            Method::POST,
            "realms/acme/partialImport".into(),
            json!({"ifResourceExists": "SKIP", "users": [{"username": "typo", "bogus": 1}]}),
            "UserRepresentation",
        ),
    ];
    for (method, path, body, class) in cases {
        let reply = app.send_json(method.clone(), &path, body.clone()).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{method} {path}: {}",
            reply.value()
        );
        assert_eq!(
            reply.json()["errorMessage"],
            format!(
                "Unrecognized field \"bogus\" (class org.keycloak.representations.idm.{class}), \
                 not marked as ignorable"
            ),
            "{method} {path}"
        );
    }
    // PartialImportRepresentation ignores what it does not know (a whole export may be
    // posted), as Keycloak's does; what it nests is still checked above.
    let reply = app
        .post(
            "realms/acme/partialImport",
            json!({"ifResourceExists": "SKIP", "realm": "acme", "bogus": []}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.value());
    // Nothing of those bodies was stored.
    assert_eq!(app.get("realms/typo").await.status, StatusCode::NOT_FOUND);
    let users = app
        .get("realms/acme/users?username=typo&exact=true")
        .await
        .json();
    assert_eq!(users, json!([]));
    let realm = app.get("realms/acme").await.json();
    assert!(realm.get("bogus").is_none() && realm.get("displayName").is_none());
    let user = app.get(&format!("realms/acme/users/{alice}")).await.json();
    assert!(user.get("bogus").is_none() && user.get("firstName").is_none());
    assert_eq!(
        app.get("realms/acme/roles/typo").await.status,
        StatusCode::NOT_FOUND
    );
    let dev = app.get("realms/acme/roles/dev").await.json();
    assert!(dev.get("description").is_none() || dev["description"] != "X");
    let held = role_names(
        &app,
        &format!("realms/acme/users/{alice}/role-mappings/realm"),
    )
    .await;
    assert!(!held.contains(&"dev".to_string()));
    let clients = names(&app.get("realms/acme/clients").await.json(), "clientId");
    assert!(!clients.contains(&"typo".to_string()));
    let web_rep = app.get(&format!("realms/acme/clients/{web}")).await.json();
    assert!(web_rep.get("bogus").is_none() && web_rep.get("description").is_none());
    let mappers = app
        .get(&format!(
            "realms/acme/clients/{web}/protocol-mappers/models"
        ))
        .await
        .json();
    assert_eq!(mappers, json!([]));
    assert_eq!(
        app.get("realms/acme/identity-provider/instances/typo")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let groups = names(&app.get("realms/acme/groups").await.json(), "name");
    assert!(!groups.contains(&"typo".to_string()));
    // The password was not reset: alice still signs in with hers.
    let reply = app
        .post_form(
            TOKEN,
            None,
            &[
                ("grant_type", "password"),
                ("client_id", "web"),
                ("username", "alice"),
                ("password", "alice-pw"),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
}

#[tokio::test]
async fn what_get_returns_is_accepted_back_and_null_means_not_given() {
    let app = app().await;
    let alice = app.user_id("acme", "alice").await;
    let eng = app.get("realms/acme/groups?search=eng").await.json()[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    for path in [
        "realms/acme".to_string(),
        format!("realms/acme/users/{alice}"),
        format!("realms/acme/groups/{eng}"),
        "realms/acme/roles/dev".to_string(),
    ] {
        let body = app.get(&path).await.json();
        let reply = app.put(&path, body).await;
        assert_eq!(
            reply.status,
            StatusCode::NO_CONTENT,
            "{path}: {}",
            reply.value()
        );
    }
    let reply = app
        .post(
            "realms/acme/users",
            json!({"username": "nully", "enabled": true, "groups": null, "attributes": null,
                   "credentials": null, "realmRoles": null, "clientRoles": null,
                   "requiredActions": null, "federatedIdentities": null, "email": null}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.value());
    let reply = app
        .post(
            "realms",
            json!({"realm": "nulls", "users": null, "clients": null, "groups": null,
                   "roles": {"realm": null, "client": null}, "identityProviders": null,
                   "components": null, "attributes": null, "defaultRole": null}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.value());
}

/// Strips what differs between two exports of the same realm for reasons other than its
/// content: nothing, once ids travel with the export.
fn sorted(mut v: Value) -> Value {
    if let Some(list) = v.as_array_mut() {
        for item in list.iter_mut() {
            *item = sorted(item.take());
        }
        list.sort_by_key(|item| item.to_string());
    } else if let Some(map) = v.as_object_mut() {
        for value in map.values_mut() {
            *value = sorted(value.take());
        }
    }
    v
}

#[tokio::test]
async fn a_partial_export_imports_back_unchanged() {
    let app = app().await;
    let export_path = "realms/acme/partial-export?exportClients=true&exportGroupsAndRoles=true";
    let reply = app.post(export_path, json!({})).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.value());
    let export = reply.json();
    assert_eq!(export["defaultRole"]["name"], "default-roles-acme");

    // Into the existing realm: what partialImport takes of an export.
    let reply = app
        .post(
            "realms/acme/partialImport",
            json!({"ifResourceExists": "SKIP", "roles": export["roles"],
                   "groups": export["groups"], "clients": export["clients"]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.value());
    assert_eq!(reply.json()["added"], 0, "{}", reply.value());

    // As a new realm: delete it, import the export unchanged, export again.
    assert_eq!(
        app.delete("realms/acme").await.status,
        StatusCode::NO_CONTENT
    );
    let reply = app.post("realms", export.clone()).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.value());
    let again = app.post(export_path, json!({})).await.json();
    assert_eq!(sorted(again), sorted(export));
}

#[tokio::test]
async fn brief_representations_leave_out_attributes() {
    let app = app().await;
    let alice = app.user_id("acme", "alice").await;
    // Keycloak's default user profile drops attributes it does not declare.
    let mut profile = app.get("realms/acme/users/profile").await.json();
    profile["unmanagedAttributePolicy"] = json!("ENABLED");
    let reply = app.put("realms/acme/users/profile", profile).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.value());
    let reply = app
        .put(
            &format!("realms/acme/users/{alice}"),
            json!({"attributes": {"team": ["a"]}}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.value());
    let full = app
        .get("realms/acme/users?username=alice&exact=true")
        .await
        .json();
    assert_eq!(full[0]["attributes"]["team"], json!(["a"]));
    let brief = app
        .get("realms/acme/users?username=alice&exact=true&briefRepresentation=true")
        .await
        .json();
    assert!(brief[0].get("attributes").is_none(), "{brief}");
    assert_eq!(brief[0]["username"], "alice");

    let reply = app
        .put(
            "realms/acme/roles/dev",
            json!({"name": "dev", "attributes": {"k": ["v"]}}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.value());
    let roles = app.get("realms/acme/roles").await.json();
    let dev = roles
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "dev")
        .unwrap();
    assert!(
        dev.get("attributes").is_none(),
        "roles are brief by default: {dev}"
    );
    let roles = app
        .get("realms/acme/roles?briefRepresentation=false")
        .await
        .json();
    let dev = roles
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "dev")
        .unwrap();
    assert_eq!(dev["attributes"]["k"], json!(["v"]));
}

#[tokio::test]
async fn admin_events_are_recorded_only_where_the_realm_enables_them() {
    let app = app().await;
    let reply = app.post("realms", json!({"realm": "quiet"})).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.value());
    let reply = app
        .post("realms/quiet/users", json!({"username": "user1"}))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    assert!(app.events("quiet").await.is_empty());

    let reply = app
        .put("realms/quiet", json!({"adminEventsEnabled": true}))
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    let realm = app.get("realms/quiet").await.json();
    assert_eq!(realm["adminEventsEnabled"], true);
    assert_eq!(realm["adminEventsDetailsEnabled"], false);
    let reply = app
        .post("realms/quiet/users", json!({"username": "user2"}))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let events = app.events("quiet").await;
    let created = events
        .iter()
        .find(|e| e["operationType"] == "CREATE" && e["resourceType"] == "USER")
        .expect("the user's creation is recorded");
    assert!(created.get("representation").is_none(), "{created}");

    let reply = app
        .put("realms/quiet", json!({"adminEventsDetailsEnabled": true}))
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    let reply = app
        .post("realms/quiet/users", json!({"username": "user3"}))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let events = app.events("quiet").await;
    assert!(
        events.iter().any(|e| e["representation"]
            .as_str()
            .is_some_and(|r| r.contains("user3"))),
        "{events:?}"
    );
}
