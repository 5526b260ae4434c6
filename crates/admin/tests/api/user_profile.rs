//! `users/profile`: the declarative user profile, its enforcement on user create and update,
//! and `q=` search over the user's own columns and custom attributes.

use axum::body::Body;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{App, app, names};

/// A profile with custom attributes and the given unmanaged-attribute policy.
fn profile(policy: Option<&str>) -> Value {
    let mut body = json!({
        "attributes": [
            {"name": "username", "displayName": "${username}",
             "validations": {"length": {"min": 3, "max": 255},
                             "username-prohibited-characters": {}},
             "permissions": {"view": ["admin", "user"], "edit": ["admin", "user"]}},
            {"name": "email", "displayName": "${email}",
             "validations": {"email": {}, "length": {"max": 255}},
             "permissions": {"view": ["admin", "user"], "edit": ["admin", "user"]}},
            {"name": "firstName", "validations": {"person-name-prohibited-characters": {}},
             "permissions": {"view": ["admin", "user"], "edit": ["admin", "user"]}},
            {"name": "lastName",
             "permissions": {"view": ["admin", "user"], "edit": ["admin", "user"]}},
            {"name": "employeeId", "displayName": "Employee id",
             "validations": {"pattern": {"pattern": "E[0-9]{4}",
                                         "error-message": "employee-id-format"}},
             "required": {"roles": ["admin"]}, "group": "work",
             "annotations": {"inputType": "text"},
             "permissions": {"view": ["admin"], "edit": ["admin"]}},
            {"name": "tier", "validations": {"options": {"options": ["gold", "silver"]}},
             "permissions": {"view": ["admin"], "edit": ["admin"]}, "multivalued": false}
        ],
        "groups": [{"name": "work", "displayHeader": "Work"}]
    });
    if let Some(policy) = policy {
        body["unmanagedAttributePolicy"] = json!(policy);
    }
    body
}

async fn set_profile(app: &App, body: Value) {
    let reply = app.put("realms/acme/users/profile", body).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.value());
}

#[tokio::test]
async fn default_profile_is_keycloaks_and_a_stored_one_replaces_it() {
    let app = app().await;
    let reply = app.get("realms/acme/users/profile").await;
    assert_eq!(reply.status, StatusCode::OK);
    let config = reply.value();
    assert_eq!(
        names(&config["attributes"], "name"),
        ["email", "firstName", "lastName", "username"]
    );
    assert_eq!(config["attributes"][0]["validations"]["length"]["min"], 3);
    assert_eq!(config["groups"][0]["name"], "user-metadata");
    assert!(config.get("unmanagedAttributePolicy").is_none());

    let reply = app
        .put("realms/acme/users/profile", profile(Some("ADMIN_EDIT")))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.value()["unmanagedAttributePolicy"], "ADMIN_EDIT");
    let stored = app.get("realms/acme/users/profile").await.value();
    assert_eq!(stored["attributes"][4]["name"], "employeeId");
    assert_eq!(
        stored["attributes"][4]["validations"]["pattern"]["pattern"],
        "E[0-9]{4}"
    );
    assert_eq!(stored["groups"][0]["displayHeader"], "Work");
    // Another realm keeps the default.
    let master = app.get("realms/master/users/profile").await.value();
    assert_eq!(master["attributes"].as_array().unwrap().len(), 4);

    let metadata = app.get("realms/acme/users/profile/metadata").await.value();
    let employee = metadata["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "employeeId")
        .unwrap()
        .clone();
    assert_eq!(employee["required"], true);
    assert_eq!(employee["readOnly"], false);
    assert_eq!(employee["group"], "work");
    assert_eq!(employee["validators"]["pattern"]["pattern"], "E[0-9]{4}");
    assert_eq!(metadata["groups"][0]["name"], "work");
    assert!(
        app.events("acme")
            .await
            .iter()
            .any(|e| e["resourcePath"] == "users/profile")
    );
}

#[tokio::test]
async fn broken_profiles_are_refused() {
    let app = app().await;
    for body in [
        json!({"attributes": [{"name": "email"}]}),
        json!({"attributes": [{"name": "username"}, {"name": "email"},
                              {"name": "x", "validations": {"no-such-validator": {}}}]}),
        json!({"attributes": [{"name": "username"}, {"name": "email"},
                              {"name": "x", "validations": {"pattern": {"pattern": "("}}}]}),
        json!({"attributes": [{"name": "username"}, {"name": "email"}],
               "unmanagedAttributePolicy": "SOMETIMES"}),
        json!({"attributes": [{"name": "username"}, {"name": "email"}, {"name": "email"}]}),
    ] {
        let reply = app.put("realms/acme/users/profile", body.clone()).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}");
        assert!(reply.value()["errorMessage"].is_string(), "{body}");
    }
    let stored = app.get("realms/acme/users/profile").await.value();
    assert_eq!(stored["attributes"].as_array().unwrap().len(), 4);
}

#[tokio::test]
async fn profile_needs_an_admin_role_to_read_and_manage_realm_to_change() {
    let app = app().await;
    let viewer = app.access_token("acme", "viewer").await;
    let nobody = app.access_token("acme", "nobody").await;
    let boss = app.access_token("acme", "boss").await;
    let body = || Some(Body::from(profile(None).to_string()));
    let cases = [
        (
            &viewer,
            Method::GET,
            "realms/acme/users/profile",
            StatusCode::OK,
        ),
        (
            &viewer,
            Method::GET,
            "realms/acme/users/profile/metadata",
            StatusCode::OK,
        ),
        (
            &nobody,
            Method::GET,
            "realms/acme/users/profile",
            StatusCode::FORBIDDEN,
        ),
        (
            &viewer,
            Method::PUT,
            "realms/acme/users/profile",
            StatusCode::FORBIDDEN,
        ),
        (
            &boss,
            Method::PUT,
            "realms/acme/users/profile",
            StatusCode::OK,
        ),
        (
            &boss,
            Method::GET,
            "realms/nowhere/users/profile",
            StatusCode::FORBIDDEN,
        ),
    ];
    for (token, method, path, status) in cases {
        let with_body = if method == Method::PUT { body() } else { None };
        let reply = app.send(method.clone(), path, Some(token), with_body).await;
        assert_eq!(reply.status, status, "{method} {path}");
    }
    let reply = app.get("realms/nowhere/users/profile").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn user_create_and_update_follow_the_profile() {
    let app = app().await;
    // The default profile: Keycloak's username and email rules, unmanaged attributes dropped.
    let reply = app
        .post("realms/acme/users", json!({"username": "al"}))
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reply.value(),
        json!({"field": "username", "errorMessage": "error-invalid-length",
               "params": ["username", "3", "255"]})
    );
    let reply = app
        .post(
            "realms/acme/users",
            json!({"username": "carl", "attributes": {"team": ["a"]}}),
        )
        .await;
    let carl = reply.created_id();
    let rep = app.get(&format!("realms/acme/users/{carl}")).await.value();
    assert!(rep["attributes"].get("team").is_none(), "{rep}");

    set_profile(&app, profile(Some("ADMIN_EDIT"))).await;
    // Several failures at once.
    let reply = app
        .post(
            "realms/acme/users",
            json!({"username": "dora", "firstName": "D<script>",
                   "attributes": {"employeeId": ["X1"], "tier": ["bronze"]}}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let errors = reply.value()["errors"].clone();
    let fields: Vec<(&str, &str)> = errors
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap(),
                e["errorMessage"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        fields,
        [
            ("firstName", "error-person-name-invalid-character"),
            ("employeeId", "employee-id-format"),
            ("tier", "error-invalid-option"),
        ]
    );
    // A required attribute.
    let reply = app
        .post("realms/acme/users", json!({"username": "dora"}))
        .await;
    assert_eq!(
        reply.value(),
        json!({"field": "employeeId", "errorMessage": "error-user-attribute-required",
               "params": ["employeeId"]})
    );
    let dora = app
        .post(
            "realms/acme/users",
            json!({"username": "dora", "attributes": {"employeeId": ["E1234"],
                                                      "team": ["a"]}}),
        )
        .await
        .created_id();
    let rep = app.get(&format!("realms/acme/users/{dora}")).await.value();
    assert_eq!(rep["attributes"]["employeeId"], json!(["E1234"]));
    assert_eq!(rep["attributes"]["team"], json!(["a"]), "ADMIN_EDIT writes");
    // An update that breaks a rule changes nothing.
    let reply = app
        .put(
            &format!("realms/acme/users/{dora}"),
            json!({"attributes": {"employeeId": ["nope"]}}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.value()["field"], "employeeId");
    let rep = app.get(&format!("realms/acme/users/{dora}")).await.value();
    assert_eq!(rep["attributes"]["employeeId"], json!(["E1234"]));

    // ADMIN_VIEW: admins see unmanaged attributes but cannot change them.
    set_profile(&app, profile(Some("ADMIN_VIEW"))).await;
    let reply = app
        .put(
            &format!("realms/acme/users/{dora}"),
            json!({"attributes": {"employeeId": ["E1234"], "team": ["b"]}}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    let rep = app
        .get(&format!(
            "realms/acme/users/{dora}?userProfileMetadata=true"
        ))
        .await
        .value();
    assert_eq!(rep["attributes"]["team"], json!(["a"]));
    assert!(rep["userProfileMetadata"]["attributes"].is_array());
    // No policy: unmanaged attributes are hidden.
    set_profile(&app, profile(None)).await;
    let rep = app.get(&format!("realms/acme/users/{dora}")).await.value();
    assert!(rep["attributes"].get("team").is_none());
    assert_eq!(rep["attributes"]["employeeId"], json!(["E1234"]));
}

#[tokio::test]
async fn q_searches_columns_and_custom_attributes() {
    let app = app().await;
    set_profile(&app, profile(Some("ENABLED"))).await;
    for (username, email, site) in [
        ("erin", "erin@north.test", "berlin"),
        ("fred", "fred@south.test", "paris"),
        ("gina", "gina@north.test", "paris"),
    ] {
        let reply = app
            .post(
                "realms/acme/users",
                json!({"username": username, "email": email, "firstName": username,
                       "attributes": {"employeeId": ["E0001"], "site": [site]}}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.value());
    }
    let search = |q: &'static str| {
        let app = &app;
        async move {
            let q = q.replace(' ', "%20").replace('"', "%22");
            let reply = app.get(&format!("realms/acme/users?q={q}")).await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.value());
            names(&reply.value(), "username")
        }
    };
    assert_eq!(search("email:north.test").await, ["erin", "gina"]);
    assert_eq!(search("email:fred@south.test").await, ["fred"]);
    assert_eq!(search("site:paris").await, ["fred", "gina"]);
    assert_eq!(search("site:paris email:north").await, ["gina"]);
    assert_eq!(search("username:erin").await, ["erin"]);
    assert_eq!(search("firstName:\"gina\"").await, ["gina"]);
    assert!(search("site:rome").await.is_empty());
    let count = app
        .get("realms/acme/users/count?q=email:north.test")
        .await
        .value();
    assert_eq!(count, 2);
}
