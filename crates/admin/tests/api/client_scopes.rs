//! Client scopes: `client-scopes` with mappers and scope mappings, the realm's and clients'
//! default and optional scopes, client scope mappings, `evaluate-scopes`, and the tokens the
//! token endpoint mints with them.

use axum::body::Body;
use axum::http::{Method, StatusCode};
use portcullis_testkit::jwt::claims;
use serde_json::{Value, json};

use crate::common::{App, BASE, app, names};

const TOKEN: &str = "/auth/realms/acme/protocol/openid-connect/token";

const BUILT_IN: [&str; 10] = [
    "acr",
    "address",
    "basic",
    "email",
    "microprofile-jwt",
    "offline_access",
    "phone",
    "profile",
    "roles",
    "web-origins",
];

/// A scope with a hardcoded `tier` claim; returns its id.
async fn tier_scope(app: &App) -> String {
    let reply = app
        .post(
            "realms/acme/client-scopes",
            json!({
                "name": "tier",
                "protocol": "openid-connect",
                "attributes": {"include.in.token.scope": "true"},
                "protocolMappers": [{
                    "name": "tier",
                    "protocol": "openid-connect",
                    "protocolMapper": "oidc-hardcoded-claim-mapper",
                    "config": {"claim.name": "tier", "claim.value": "gold",
                               "access.token.claim": "true", "id.token.claim": "true",
                               "userinfo.token.claim": "true"}
                }]
            }),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.value());
    reply.created_id()
}

async fn scope_id(app: &App, name: &str) -> String {
    let list = app.get("realms/acme/client-scopes").await.value();
    list.as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .map(|s| s["id"].as_str().unwrap().to_string())
        .unwrap()
}

/// A password-grant client `cli`, created with Keycloak's defaults; returns its id.
async fn cli(app: &App) -> String {
    let reply = app
        .post(
            "realms/acme/clients",
            json!({"clientId": "cli", "publicClient": true, "directAccessGrantsEnabled": true}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.value());
    reply.created_id()
}

/// The values of a token's `scope` claim, sorted.
fn scope_set(token: &Value) -> Vec<String> {
    let mut scopes: Vec<String> = token["scope"]
        .as_str()
        .unwrap_or_default()
        .split(' ')
        .map(str::to_string)
        .collect();
    scopes.sort();
    scopes
}

async fn password_token(app: &App, scope: &str) -> Value {
    let form = [
        ("grant_type", "password"),
        ("client_id", "cli"),
        ("username", "alice"),
        ("password", "alice-pw"),
        ("scope", scope),
    ];
    let reply = app.post_form(TOKEN, None, &form).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.value());
    claims(reply.json()["access_token"].as_str().unwrap())
}

#[tokio::test]
async fn client_scope_crud_and_validation() {
    let app = app().await;
    let list = app.get("realms/acme/client-scopes").await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(names(&list.value(), "name"), BUILT_IN);
    let profile = list
        .value()
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "profile")
        .cloned()
        .unwrap();
    assert_eq!(profile["protocol"], "openid-connect");
    assert_eq!(profile["attributes"]["include.in.token.scope"], "true");
    assert!(names(&profile["protocolMappers"], "name").contains(&"full name".to_string()));

    let reply = app
        .post(
            "realms/acme/client-scopes",
            json!({"name": "tier", "description": "Tiers", "protocol": "openid-connect",
                   "attributes": {"display.on.consent.screen": "true"}}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let id = reply.created_id();
    assert_eq!(
        reply.header("location"),
        format!("{BASE}/auth/admin/realms/acme/client-scopes/{id}")
    );
    let fetched = app.get(&format!("realms/acme/client-scopes/{id}")).await;
    assert_eq!(fetched.status, StatusCode::OK);
    assert_eq!(fetched.value()["name"], "tier");
    assert_eq!(fetched.value()["description"], "Tiers");
    assert_eq!(
        fetched.value()["attributes"]["display.on.consent.screen"],
        "true"
    );

    let dup = app
        .post("realms/acme/client-scopes", json!({"name": "tier"}))
        .await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    assert_eq!(
        dup.value(),
        json!({"errorMessage": "Client Scope tier already exists"})
    );
    for bad in [json!({"name": "two words"}), json!({"name": ""}), json!({})] {
        let reply = app.post("realms/acme/client-scopes", bad.clone()).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{bad}");
    }
    let unknown = app
        .post(
            "realms/acme/client-scopes",
            json!({"name": "x", "colour": "red"}),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        unknown.value(),
        json!({"errorMessage": "Unrecognized field \"colour\""})
    );
    let nested = app
        .post(
            "realms/acme/client-scopes",
            json!({"name": "x", "protocolMappers": [{"name": "m", "flavour": 1}]}),
        )
        .await;
    assert_eq!(
        nested.value(),
        json!({"errorMessage": "Unrecognized field \"flavour\""})
    );

    // A client listing the scope follows a rename and forgets a deleted scope.
    let client = cli(&app).await;
    let put = app
        .put(
            &format!("realms/acme/clients/{client}/optional-client-scopes/{id}"),
            json!({}),
        )
        .await;
    assert_eq!(put.status, StatusCode::NO_CONTENT);
    let renamed = app
        .put(
            &format!("realms/acme/client-scopes/{id}"),
            json!({"name": "level"}),
        )
        .await;
    assert_eq!(renamed.status, StatusCode::NO_CONTENT);
    let taken = app
        .put(
            &format!("realms/acme/client-scopes/{id}"),
            json!({"name": "profile"}),
        )
        .await;
    assert_eq!(taken.status, StatusCode::CONFLICT);
    let optional = app
        .get(&format!(
            "realms/acme/clients/{client}/optional-client-scopes"
        ))
        .await
        .value();
    assert!(names(&optional, "name").contains(&"level".to_string()));
    let client_rep = app
        .get(&format!("realms/acme/clients/{client}"))
        .await
        .value();
    assert!(
        client_rep["optionalClientScopes"]
            .as_array()
            .unwrap()
            .contains(&json!("level"))
    );
    assert_eq!(
        app.delete(&format!("realms/acme/client-scopes/{id}"))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get(&format!("realms/acme/client-scopes/{id}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let client_rep = app
        .get(&format!("realms/acme/clients/{client}"))
        .await
        .value();
    assert!(
        !client_rep["optionalClientScopes"]
            .as_array()
            .unwrap()
            .contains(&json!("level"))
    );
    let events = app.events("acme").await;
    assert!(
        events
            .iter()
            .any(|e| e["resourceType"] == "CLIENT_SCOPE" && e["operationType"] == "DELETE")
    );
}

#[tokio::test]
async fn client_scope_mappers() {
    let app = app().await;
    let id = tier_scope(&app).await;
    let base = format!("realms/acme/client-scopes/{id}/protocol-mappers");
    let list = app.get(&format!("{base}/models")).await.value();
    assert_eq!(names(&list, "name"), ["tier"]);
    let reply = app
        .post(
            &format!("{base}/models"),
            json!({"name": "lang", "protocol": "openid-connect",
                   "protocolMapper": "oidc-usermodel-attribute-mapper",
                   "config": {"user.attribute": "locale", "claim.name": "lang"}}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.value());
    let mapper = reply.created_id();
    assert_eq!(
        reply.header("location"),
        format!("{BASE}/auth/admin/{base}/models/{mapper}")
    );
    let one = app.get(&format!("{base}/models/{mapper}")).await.value();
    assert_eq!(one["protocolMapper"], "oidc-usermodel-attribute-mapper");
    assert_eq!(one["config"]["claim.name"], "lang");
    let dup = app
        .post(
            &format!("{base}/models"),
            json!({"name": "lang", "protocolMapper": "oidc-hardcoded-claim-mapper"}),
        )
        .await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    let unknown = app
        .post(
            &format!("{base}/models"),
            json!({"name": "z", "protocolMapper": "oidc-hardcoded-claim-mapper", "x": 1}),
        )
        .await;
    assert_eq!(
        unknown.value(),
        json!({"errorMessage": "Unrecognized field \"x\""})
    );
    let updated = app
        .put(
            &format!("{base}/models/{mapper}"),
            json!({"config": {"user.attribute": "locale", "claim.name": "language"}}),
        )
        .await;
    assert_eq!(updated.status, StatusCode::NO_CONTENT);
    let one = app.get(&format!("{base}/models/{mapper}")).await.value();
    assert_eq!(one["config"]["claim.name"], "language");
    assert_eq!(one["name"], "lang", "fields not given keep their values");
    let added = app
        .post(
            &format!("{base}/add-models"),
            json!([
                {"name": "a", "protocolMapper": "oidc-hardcoded-claim-mapper",
                 "config": {"claim.name": "a", "claim.value": "1"}},
                {"name": "b", "protocolMapper": "oidc-hardcoded-claim-mapper",
                 "config": {"claim.name": "b", "claim.value": "2"}}
            ]),
        )
        .await;
    assert_eq!(added.status, StatusCode::NO_CONTENT);
    let list = app.get(&format!("{base}/models")).await.value();
    assert_eq!(names(&list, "name"), ["a", "b", "lang", "tier"]);
    assert_eq!(
        app.delete(&format!("{base}/models/{mapper}")).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get(&format!("{base}/models/{mapper}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("realms/acme/client-scopes/nope/protocol-mappers/models")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn realm_and_client_default_scopes() {
    let app = app().await;
    let defaults = app
        .get("realms/acme/default-default-client-scopes")
        .await
        .value();
    assert_eq!(
        names(&defaults, "name"),
        ["acr", "basic", "email", "profile", "roles", "web-origins"]
    );
    let optional = app
        .get("realms/acme/default-optional-client-scopes")
        .await
        .value();
    assert_eq!(
        names(&optional, "name"),
        ["address", "microprofile-jwt", "offline_access", "phone"]
    );
    // A new realm optional scope goes to clients created afterwards.
    let tier = tier_scope(&app).await;
    let put = app
        .put(
            &format!("realms/acme/default-optional-client-scopes/{tier}"),
            json!({}),
        )
        .await;
    assert_eq!(put.status, StatusCode::NO_CONTENT);
    let client = cli(&app).await;
    let rep = app
        .get(&format!("realms/acme/clients/{client}"))
        .await
        .value();
    assert!(
        rep["optionalClientScopes"]
            .as_array()
            .unwrap()
            .contains(&json!("tier"))
    );
    assert!(
        rep["defaultClientScopes"]
            .as_array()
            .unwrap()
            .contains(&json!("basic"))
    );
    assert_eq!(
        app.delete(&format!(
            "realms/acme/default-optional-client-scopes/{tier}"
        ))
        .await
        .status,
        StatusCode::NO_CONTENT
    );
    let optional = app
        .get("realms/acme/default-optional-client-scopes")
        .await
        .value();
    assert!(!names(&optional, "name").contains(&"tier".to_string()));

    // A client's lists: adding to one takes the scope out of the other.
    let base = format!("realms/acme/clients/{client}");
    let listed = app.get(&format!("{base}/default-client-scopes")).await;
    assert_eq!(listed.status, StatusCode::OK);
    assert!(names(&listed.value(), "name").contains(&"profile".to_string()));
    assert_eq!(
        app.put(&format!("{base}/default-client-scopes/{tier}"), json!({}))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let defaults = app
        .get(&format!("{base}/default-client-scopes"))
        .await
        .value();
    let optional = app
        .get(&format!("{base}/optional-client-scopes"))
        .await
        .value();
    assert!(names(&defaults, "name").contains(&"tier".to_string()));
    assert!(!names(&optional, "name").contains(&"tier".to_string()));
    assert_eq!(
        app.delete(&format!("{base}/default-client-scopes/{tier}"))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let defaults = app
        .get(&format!("{base}/default-client-scopes"))
        .await
        .value();
    assert!(!names(&defaults, "name").contains(&"tier".to_string()));
    assert_eq!(
        app.put(&format!("{base}/default-client-scopes/nope"), json!({}))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("realms/acme/clients/nope/default-client-scopes")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn scope_mappings_limit_token_roles() {
    let app = app().await;
    let client = cli(&app).await;
    let realm_roles = app.get("realms/acme/roles").await.value();
    let dev = realm_roles
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "dev")
        .cloned()
        .unwrap();
    // alice holds `dev` through a role mapping.
    let alice = app.user_id("acme", "alice").await;
    let mapped = app
        .post(
            &format!("realms/acme/users/{alice}/role-mappings/realm"),
            json!([dev]),
        )
        .await;
    assert_eq!(mapped.status, StatusCode::NO_CONTENT);
    let full = password_token(&app, "openid").await;
    assert!(
        full["realm_access"]["roles"]
            .as_array()
            .unwrap()
            .contains(&json!("dev"))
    );

    // Without full scope only scope-mapped roles are in tokens.
    let put = app
        .put(
            &format!("realms/acme/clients/{client}"),
            json!({"fullScopeAllowed": false}),
        )
        .await;
    assert_eq!(put.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get(&format!("realms/acme/clients/{client}"))
            .await
            .value()["fullScopeAllowed"],
        false
    );
    let limited = password_token(&app, "openid").await;
    assert!(limited.get("realm_access").is_none(), "{limited}");

    let base = format!("realms/acme/clients/{client}/scope-mappings/realm");
    let available = app.get(&format!("{base}/available")).await.value();
    assert!(names(&available, "name").contains(&"dev".to_string()));
    let unknown = app.post(&base, json!([{"name": "dev", "shade": 1}])).await;
    assert_eq!(
        unknown.value(),
        json!({"errorMessage": "Unrecognized field \"shade\""})
    );
    assert_eq!(
        app.post(&base, json!([{"name": "ghost"}])).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.post(&base, json!([dev])).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(names(&app.get(&base).await.value(), "name"), ["dev"]);
    let composite = app.get(&format!("{base}/composite")).await.value();
    assert_eq!(names(&composite, "name"), ["dev"]);
    let limited = password_token(&app, "openid").await;
    assert_eq!(limited["realm_access"]["roles"], json!(["dev"]));
    assert_eq!(
        app.delete_with(&base, json!([dev])).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        names(&app.get(&base).await.value(), "name"),
        Vec::<String>::new()
    );

    // A client scope's mappings count when the scope is granted.
    let tier = tier_scope(&app).await;
    let scope_base = format!("realms/acme/client-scopes/{tier}/scope-mappings/realm");
    assert_eq!(
        app.post(&scope_base, json!([dev])).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(names(&app.get(&scope_base).await.value(), "name"), ["dev"]);
    let optional = app
        .put(
            &format!("realms/acme/clients/{client}/optional-client-scopes/{tier}"),
            json!({}),
        )
        .await;
    assert_eq!(
        optional.status,
        StatusCode::NO_CONTENT,
        "{}",
        optional.value()
    );
    let without = password_token(&app, "openid").await;
    assert!(without.get("realm_access").is_none());
    let with = password_token(&app, "openid tier").await;
    assert_eq!(with["realm_access"]["roles"], json!(["dev"]), "{with}");

    // Client roles, through `scope-mappings/clients/{client}`.
    let web = app.client_uuid("acme", "web").await;
    let role = app
        .post(
            &format!("realms/acme/clients/{web}/roles"),
            json!({"name": "read"}),
        )
        .await;
    assert_eq!(role.status, StatusCode::CREATED);
    let client_base = format!("realms/acme/clients/{client}/scope-mappings/clients/{web}");
    let available = app.get(&format!("{client_base}/available")).await.value();
    assert_eq!(names(&available, "name"), ["read"]);
    assert_eq!(
        app.post(&client_base, json!([{"name": "read"}]))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        names(&app.get(&client_base).await.value(), "name"),
        ["read"]
    );
    assert_eq!(
        names(
            &app.get(&format!("{client_base}/composite")).await.value(),
            "name"
        ),
        ["read"]
    );
}

#[tokio::test]
async fn optional_scope_claims_only_when_asked_for_and_evaluation() {
    let app = app().await;
    let tier = tier_scope(&app).await;
    let client = cli(&app).await;
    app.put(
        &format!("realms/acme/clients/{client}/optional-client-scopes/{tier}"),
        json!({}),
    )
    .await;
    let without = password_token(&app, "openid").await;
    assert!(without.get("tier").is_none());
    assert!(!without["scope"].as_str().unwrap().contains("tier"));
    let with = password_token(&app, "openid tier").await;
    assert_eq!(with["tier"], "gold");
    assert_eq!(scope_set(&with), ["email", "openid", "profile", "tier"]);
    assert_eq!(with["preferred_username"], "alice");

    // The built-in claims are the built-in scopes' mappers: removing one removes its claim.
    let email = scope_id(&app, "email").await;
    let mappers = app
        .get(&format!(
            "realms/acme/client-scopes/{email}/protocol-mappers/models"
        ))
        .await
        .value();
    let email_mapper = mappers
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "email")
        .map(|m| m["id"].as_str().unwrap().to_string())
        .unwrap();
    app.delete(&format!(
        "realms/acme/client-scopes/{email}/protocol-mappers/models/{email_mapper}"
    ))
    .await;
    let token = password_token(&app, "openid").await;
    assert!(token.get("email").is_none() && token.get("email_verified").is_some());

    // Evaluation.
    let base = format!("realms/acme/clients/{client}/evaluate-scopes");
    let mappers = app
        .get(&format!("{base}/protocol-mappers?scope=openid%20tier"))
        .await;
    assert_eq!(mappers.status, StatusCode::OK);
    let listed = mappers.value();
    let tier_entry = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["mapperName"] == "tier")
        .cloned()
        .unwrap();
    assert_eq!(tier_entry["containerName"], "tier");
    assert_eq!(tier_entry["containerType"], "client-scope");
    let without = app
        .get(&format!("{base}/protocol-mappers?scope=openid"))
        .await;
    assert!(!names(&without.value(), "mapperName").contains(&"tier".to_string()));

    let alice = app.user_id("acme", "alice").await;
    let example = app
        .get(&format!(
            "{base}/generate-example-access-token?scope=openid%20tier&userId={alice}"
        ))
        .await;
    assert_eq!(example.status, StatusCode::OK);
    let example = example.value();
    assert_eq!(example["tier"], "gold");
    assert_eq!(example["sub"], alice);
    assert_eq!(scope_set(&example), ["email", "openid", "profile", "tier"]);
    assert_eq!(example["azp"], "cli");
    let id_token = app
        .get(&format!(
            "{base}/generate-example-id-token?scope=openid&userId={alice}"
        ))
        .await
        .value();
    assert_eq!(id_token["typ"], "ID");
    assert!(id_token.get("tier").is_none());
    let userinfo = app
        .get(&format!(
            "{base}/generate-example-userinfo?scope=openid%20tier&userId={alice}"
        ))
        .await
        .value();
    assert_eq!(userinfo["tier"], "gold");
    assert_eq!(userinfo["sub"], alice);
    assert_eq!(
        app.get(&format!("{base}/generate-example-access-token?userId=nope"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    let granted = app
        .get(&format!("{base}/scope-mappings/acme/granted?scope=openid"))
        .await;
    assert_eq!(granted.status, StatusCode::OK);
    assert!(names(&granted.value(), "name").contains(&"dev".to_string()));
    let not_granted = app
        .get(&format!("{base}/scope-mappings/acme/not-granted"))
        .await
        .value();
    assert_eq!(names(&not_granted, "name"), Vec::<String>::new());
    app.put(
        &format!("realms/acme/clients/{client}"),
        json!({"fullScopeAllowed": false}),
    )
    .await;
    let not_granted = app
        .get(&format!("{base}/scope-mappings/acme/not-granted"))
        .await
        .value();
    assert!(names(&not_granted, "name").contains(&"dev".to_string()));
}

#[tokio::test]
async fn limited_admins() {
    let app = app().await;
    let tier = tier_scope(&app).await;
    let client = app.client_uuid("acme", "web").await;
    // `clients-viewer` holds view-clients only.
    let rm = app.client_uuid("acme", "realm-management").await;
    let reply = app
        .post(
            "realms/acme/users",
            json!({"username": "clients-viewer", "enabled": true}),
        )
        .await;
    let user = reply.created_id();
    let role = app
        .get(&format!("realms/acme/clients/{rm}/roles/view-clients"))
        .await
        .value();
    let mapped = app
        .post(
            &format!("realms/acme/users/{user}/role-mappings/clients/{rm}"),
            json!([role]),
        )
        .await;
    assert_eq!(mapped.status, StatusCode::NO_CONTENT);
    let viewer = app.access_token("acme", "clients-viewer").await;
    let users_viewer = app.access_token("acme", "viewer").await;
    let nobody = app.access_token("acme", "nobody").await;
    let boss = app.access_token("acme", "boss").await;

    let as_user = |method: Method, path: String, token: String, body: Option<Value>| {
        let app = &app;
        async move {
            let body = body.map(|b| Body::from(b.to_string()));
            app.send(method, &path, Some(&token), body).await.status
        }
    };
    let reads = [
        "realms/acme/client-scopes".to_string(),
        format!("realms/acme/client-scopes/{tier}"),
        format!("realms/acme/client-scopes/{tier}/protocol-mappers/models"),
        format!("realms/acme/client-scopes/{tier}/scope-mappings/realm"),
        "realms/acme/default-default-client-scopes".to_string(),
        format!("realms/acme/clients/{client}/default-client-scopes"),
        format!("realms/acme/clients/{client}/scope-mappings/realm/available"),
        format!("realms/acme/clients/{client}/evaluate-scopes/protocol-mappers"),
    ];
    for path in &reads {
        assert_eq!(
            as_user(Method::GET, path.clone(), viewer.clone(), None).await,
            StatusCode::OK,
            "{path}"
        );
        for token in [&users_viewer, &nobody] {
            assert_eq!(
                as_user(Method::GET, path.clone(), token.clone(), None).await,
                StatusCode::FORBIDDEN,
                "{path}"
            );
        }
    }
    let writes = [
        (
            Method::POST,
            "realms/acme/client-scopes".to_string(),
            Some(json!({"name": "x"})),
        ),
        (
            Method::PUT,
            format!("realms/acme/client-scopes/{tier}"),
            Some(json!({"description": "d"})),
        ),
        (
            Method::POST,
            format!("realms/acme/client-scopes/{tier}/protocol-mappers/models"),
            Some(json!({"name": "m", "protocolMapper": "oidc-hardcoded-claim-mapper"})),
        ),
        (
            Method::PUT,
            format!("realms/acme/clients/{client}/default-client-scopes/{tier}"),
            None,
        ),
        (
            Method::PUT,
            format!("realms/acme/default-default-client-scopes/{tier}"),
            None,
        ),
        (
            Method::DELETE,
            format!("realms/acme/client-scopes/{tier}"),
            None,
        ),
    ];
    for (method, path, body) in &writes {
        assert_eq!(
            as_user(method.clone(), path.clone(), viewer.clone(), body.clone()).await,
            StatusCode::FORBIDDEN,
            "{method} {path}"
        );
    }
    // The unknown-field check comes after authorization: no hints to outsiders.
    assert_eq!(
        as_user(
            Method::POST,
            "realms/acme/client-scopes".into(),
            viewer.clone(),
            Some(json!({"name": "x", "bad": 1}))
        )
        .await,
        StatusCode::FORBIDDEN
    );
    // Example tokens show a user's data: view-users too.
    let alice = app.user_id("acme", "alice").await;
    let example = format!(
        "realms/acme/clients/{client}/evaluate-scopes/generate-example-access-token?userId={alice}"
    );
    assert_eq!(
        as_user(Method::GET, example.clone(), viewer.clone(), None).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        as_user(Method::GET, example, boss.clone(), None).await,
        StatusCode::OK
    );
    // A realm admin of acme manages its scopes, not master's.
    assert_eq!(
        as_user(
            Method::PUT,
            format!("realms/acme/default-default-client-scopes/{tier}"),
            boss.clone(),
            None
        )
        .await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        as_user(
            Method::GET,
            "realms/master/client-scopes".into(),
            boss,
            None
        )
        .await,
        StatusCode::FORBIDDEN
    );
}
