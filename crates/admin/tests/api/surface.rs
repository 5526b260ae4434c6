//! Keycloak endpoints the admin libraries call: the combined scope mappings of clients and
//! client scopes, mappers by protocol, role composites with `search`/`first`/`max`, brief
//! group and member lists, and federated identities of configured providers only.

use axum::body::Body;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use super::common::{App, app, names};

/// Tokens of a user without admin roles (acme's `nobody`) and of an admin of another realm.
async fn outsiders(app: &App) -> [String; 2] {
    let reply = app
        .post(
            "realms",
            json!({"realm": "other", "enabled": true, "users": [
                {"username": "otheradmin", "enabled": true,
                 "clientRoles": {"realm-management": ["realm-admin"]}}
            ]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.value());
    [
        app.access_token("acme", "nobody").await,
        app.access_token("other", "otheradmin").await,
    ]
}

async fn status_as(
    app: &App,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> StatusCode {
    let body = body.map(|b| Body::from(b.to_string()));
    app.send(method, path, Some(token), body).await.status
}

/// A client `app` with a role, a client scope `tier`, both mapped to realm role `dev` and to
/// `app`'s role `reader`; returns (client id, scope id, reader id).
async fn mapped(app: &App) -> (String, String, String) {
    let reply = app
        .post(
            "realms/acme/clients",
            json!({"clientId": "app", "protocol": "openid-connect", "fullScopeAllowed": false}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.value());
    let client = reply.created_id();
    let reply = app
        .post(
            &format!("realms/acme/clients/{client}/roles"),
            json!({"name": "reader"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.value());
    let reader = app
        .get(&format!("realms/acme/clients/{client}/roles/reader"))
        .await
        .json();
    let reply = app
        .post(
            "realms/acme/client-scopes",
            json!({"name": "tier", "protocol": "openid-connect"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.value());
    let scope = reply.created_id();
    let dev = app.get("realms/acme/roles/dev").await.json();
    for owner in [
        format!("clients/{client}"),
        format!("client-scopes/{scope}"),
    ] {
        let reply = app
            .post(
                &format!("realms/acme/{owner}/scope-mappings/realm"),
                json!([dev]),
            )
            .await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.value());
        let reply = app
            .post(
                &format!("realms/acme/{owner}/scope-mappings/clients/{client}"),
                json!([reader]),
            )
            .await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.value());
    }
    (client, scope, reader["id"].as_str().unwrap().to_string())
}

#[tokio::test]
async fn scope_mappings_of_clients_and_client_scopes_come_combined() {
    let app = app().await;
    let (client, scope, reader) = mapped(&app).await;
    for owner in [
        format!("clients/{client}"),
        format!("client-scopes/{scope}"),
    ] {
        let reply = app
            .get(&format!("realms/acme/{owner}/scope-mappings"))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.value());
        let all = reply.json();
        assert_eq!(names(&all["realmMappings"], "name"), ["dev"], "{all}");
        let app_mappings = &all["clientMappings"]["app"];
        assert_eq!(app_mappings["id"], client.as_str());
        assert_eq!(app_mappings["client"], "app");
        assert_eq!(app_mappings["mappings"][0]["id"], reader.as_str());
        assert_eq!(app_mappings["mappings"][0]["name"], "reader");
        assert_eq!(all.as_object().unwrap().len(), 2, "{all}");
    }

    // Nothing mapped: an empty object, as Keycloak leaves out empty parts.
    let web = app.client_uuid("acme", "web").await;
    let reply = app
        .get(&format!("realms/acme/clients/{web}/scope-mappings"))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json(), json!({}));

    // Missing client or scope: 404 with Keycloak's JSON body.
    for path in [
        "realms/acme/clients/missing/scope-mappings",
        "realms/acme/client-scopes/missing/scope-mappings",
    ] {
        let reply = app.get(path).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}");
        assert!(reply.json()["error"].is_string() || reply.json()["errorMessage"].is_string());
    }

    for token in outsiders(&app).await {
        for owner in [
            format!("clients/{client}"),
            format!("client-scopes/{scope}"),
        ] {
            let path = format!("realms/acme/{owner}/scope-mappings");
            assert_eq!(
                status_as(&app, Method::GET, &path, &token, None).await,
                StatusCode::FORBIDDEN,
                "{path}"
            );
        }
    }
}

#[tokio::test]
async fn mappers_are_listed_per_protocol() {
    let app = app().await;
    let (client, scope, _) = mapped(&app).await;
    let mapper = json!({"name": "tier claim", "protocol": "openid-connect",
                        "protocolMapper": "oidc-hardcoded-claim-mapper",
                        "config": {"claim.name": "tier", "claim.value": "gold"}});
    for owner in [
        format!("clients/{client}"),
        format!("client-scopes/{scope}"),
    ] {
        let reply = app
            .post(
                &format!("realms/acme/{owner}/protocol-mappers/models"),
                mapper.clone(),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.value());
        let reply = app
            .get(&format!(
                "realms/acme/{owner}/protocol-mappers/protocol/openid-connect"
            ))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.value());
        let found = reply.json();
        assert_eq!(names(&found, "name"), ["tier claim"], "{found}");
        assert_eq!(found[0]["protocolMapper"], "oidc-hardcoded-claim-mapper");
        assert_eq!(found[0]["config"]["claim.value"], "gold");
        // Another protocol, even an unknown one: none, as in Keycloak.
        for protocol in ["docker-v2", "saml", "nonsense"] {
            let reply = app
                .get(&format!(
                    "realms/acme/{owner}/protocol-mappers/protocol/{protocol}"
                ))
                .await;
            assert_eq!(reply.status, StatusCode::OK);
            assert_eq!(reply.json(), json!([]), "{protocol}");
        }
    }
    let reply = app
        .get("realms/acme/client-scopes/missing/protocol-mappers/protocol/openid-connect")
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    for token in outsiders(&app).await {
        let path =
            format!("realms/acme/client-scopes/{scope}/protocol-mappers/protocol/openid-connect");
        assert_eq!(
            status_as(&app, Method::GET, &path, &token, None).await,
            StatusCode::FORBIDDEN
        );
    }
}

#[tokio::test]
async fn composites_by_id_take_search_first_and_max_and_come_brief() {
    let app = app().await;
    for name in ["alpha", "beta", "gamma", "delta"] {
        let reply = app
            .post(
                "realms/acme/roles",
                json!({"name": name, "attributes": {"k": ["v"]}}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.value());
    }
    let reply = app
        .post("realms/acme/roles", json!({"name": "bundle"}))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let mut members = Vec::new();
    for name in ["alpha", "beta", "gamma", "delta"] {
        members.push(app.get(&format!("realms/acme/roles/{name}")).await.json());
    }
    let reply = app
        .post("realms/acme/roles/bundle/composites", json!(members))
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.value());
    let bundle = app.get("realms/acme/roles/bundle").await.json();
    let id = bundle["id"].as_str().unwrap();

    let listed = |query: &str| {
        let path = format!("realms/acme/roles-by-id/{id}/composites{query}");
        let app = &app;
        async move {
            let reply = app.get(&path).await;
            assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.value());
            reply.json()
        }
    };
    let all = listed("").await;
    assert_eq!(names(&all, "name"), ["alpha", "beta", "delta", "gamma"]);
    // Brief, as Keycloak's toBriefRepresentation: no attributes.
    for role in all.as_array().unwrap() {
        assert!(role.get("attributes").is_none(), "{role}");
        assert_eq!(role["clientRole"], false);
        assert!(role["containerId"].is_string() && role["id"].is_string());
    }
    let order = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        order(&listed("?search=A").await),
        ["alpha", "beta", "delta", "gamma"]
    );
    assert_eq!(order(&listed("?search=ta").await), ["beta", "delta"]);
    assert_eq!(order(&listed("?first=1&max=2").await), ["beta", "delta"]);
    assert_eq!(order(&listed("?search=a&first=3").await), ["gamma"]);
    assert_eq!(order(&listed("?max=0").await), Vec::<String>::new());
    assert_eq!(order(&listed("?search=zzz").await), Vec::<String>::new());

    // The by-name path takes no parameters in Keycloak: every composite, brief.
    let by_name = app
        .get("realms/acme/roles/bundle/composites?max=1&search=alpha")
        .await
        .json();
    assert_eq!(names(&by_name, "name"), ["alpha", "beta", "delta", "gamma"]);
    assert!(by_name[0].get("attributes").is_none());

    let reply = app
        .get(&format!("realms/acme/roles-by-id/{id}/composites?max=x"))
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let reply = app
        .get("realms/acme/roles-by-id/missing/composites?max=1")
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    for token in outsiders(&app).await {
        let path = format!("realms/acme/roles-by-id/{id}/composites?search=a");
        assert_eq!(
            status_as(&app, Method::GET, &path, &token, None).await,
            StatusCode::FORBIDDEN
        );
    }
}

#[tokio::test]
async fn group_and_member_lists_have_keycloaks_fields() {
    let app = app().await;
    let groups = app.get("realms/acme/groups").await.json();
    let eng = &groups[0];
    let mut keys: Vec<&str> = eng
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["access", "id", "name", "path", "subGroupCount", "subGroups"],
        "{eng}"
    );
    assert_eq!(eng["path"], "/eng");
    assert_eq!(eng["subGroupCount"], 1);
    assert_eq!(eng["subGroups"], json!([]));

    let eng_id = eng["id"].as_str().unwrap();
    let alice = app.user_id("acme", "alice").await;
    let reply = app
        .put(
            &format!("realms/acme/users/{alice}/groups/{eng_id}"),
            json!({}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.value());
    // Keycloak's members: full users unless briefRepresentation=true.
    let full = app
        .get(&format!("realms/acme/groups/{eng_id}/members"))
        .await
        .json();
    assert_eq!(names(&full, "username"), ["alice"]);
    assert!(full[0].get("access").is_some(), "{full}");
    let brief = app
        .get(&format!(
            "realms/acme/groups/{eng_id}/members?briefRepresentation=true"
        ))
        .await
        .json();
    let mut keys: Vec<&str> = brief[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "createdTimestamp",
            "email",
            "emailVerified",
            "enabled",
            "id",
            "username"
        ],
        "{brief}"
    );
    let paged = app
        .get(&format!(
            "realms/acme/groups/{eng_id}/members?first=1&max=5"
        ))
        .await
        .json();
    assert_eq!(paged, json!([]));
}

#[tokio::test]
async fn federated_identities_list_only_configured_providers() {
    let app = app().await;
    let reply = app
        .post(
            "realms/acme/identity-provider/instances",
            json!({"alias": "upstream", "providerId": "oidc", "enabled": true,
                   "config": {"clientId": "c", "clientSecret": "s",
                              "authorizationUrl": "https://up.test/auth",
                              "tokenUrl": "https://up.test/token",
                              "jwksUrl": "https://up.test/certs", "useJwksUrl": "true"}}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.value());
    let alice = app.user_id("acme", "alice").await;
    for provider in ["upstream", "ghost"] {
        let reply = app
            .post(
                &format!("realms/acme/users/{alice}/federated-identity/{provider}"),
                json!({"userId": format!("{provider}-1"), "userName": "alice"}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.value());
    }
    let path = format!("realms/acme/users/{alice}/federated-identity");
    let listed = app.get(&path).await.json();
    assert_eq!(
        listed,
        json!([{"identityProvider": "upstream", "userId": "upstream-1", "userName": "alice"}])
    );
    let reply = app
        .delete("realms/acme/identity-provider/instances/upstream")
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert_eq!(app.get(&path).await.json(), json!([]));

    // A link an import names to an unknown provider is not listed either.
    let reply = app
        .post(
            "realms",
            json!({"realm": "imp", "enabled": true, "users": [
                {"username": "linked", "enabled": true,
                 "federatedIdentities": [{"identityProvider": "nowhere", "userId": "n1", "userName": "n"}]}
            ]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.value());
    let linked = app.user_id("imp", "linked").await;
    let reply = app
        .get(&format!("realms/imp/users/{linked}/federated-identity"))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.value());
    assert_eq!(reply.json(), json!([]));

    let reply = app
        .get("realms/acme/users/missing/federated-identity")
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    for token in outsiders(&app).await {
        assert_eq!(
            status_as(&app, Method::GET, &path, &token, None).await,
            StatusCode::FORBIDDEN
        );
    }
}

#[tokio::test]
async fn required_actions_answer_as_keycloak_for_actions_without_configuration() {
    let app = app().await;
    let base = "realms/acme/authentication/required-actions";
    for alias in ["CONFIGURE_TOTP", "UPDATE_PASSWORD", "no-such-action"] {
        let reply = app.get(&format!("{base}/{alias}/config-description")).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{alias}");
        assert_eq!(
            reply.json(),
            json!({"error": "Could not find configurable RequiredAction provider"})
        );
        let config = format!("{base}/{alias}/config");
        for reply in [
            app.get(&config).await,
            app.put(&config, json!({"config": {"max_auth_age": "300"}}))
                .await,
            app.delete(&config).await,
        ] {
            assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{alias}");
            assert_eq!(
                reply.json(),
                json!({"error": "RequiredAction is not configurable"})
            );
        }
    }
    // The stored action is untouched by the refused PUT.
    let totp = app.get(&format!("{base}/CONFIGURE_TOTP")).await.json();
    assert_eq!(totp["config"], json!({}), "{totp}");

    let config = format!("{base}/CONFIGURE_TOTP/config");
    let reply = app.put(&config, json!({"config": {}, "confg": 1})).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(
        reply.value()["errorMessage"]
            .as_str()
            .unwrap_or_default()
            .contains("confg"),
        "{}",
        reply.value()
    );
    let reply = app.put(&config, json!({"config": {"a": {"b": 1}}})).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);

    // A user without realm rights, and an admin of another realm: 403 before anything else.
    for token in outsiders(&app).await {
        for (method, path, body) in [
            (
                Method::GET,
                format!("{base}/CONFIGURE_TOTP/config-description"),
                None,
            ),
            (Method::GET, config.clone(), None),
            (Method::PUT, config.clone(), Some(json!({"config": {}}))),
            (Method::DELETE, config.clone(), None),
        ] {
            assert_eq!(
                status_as(&app, method.clone(), &path, &token, body).await,
                StatusCode::FORBIDDEN,
                "{method} {path}"
            );
        }
    }
    // view-users may read required actions but not their configuration (view-realm).
    let viewer = app.access_token("acme", "viewer").await;
    assert_eq!(
        status_as(&app, Method::GET, &config, &viewer, None).await,
        StatusCode::FORBIDDEN
    );
}

fn profile_component(profile: &Value) -> Value {
    json!({"org.keycloak.userprofile.UserProfileProvider": [{
        "providerId": "declarative-user-profile",
        "subComponents": {},
        "config": {"kc.user.profile.config": [profile.to_string()]}
    }]})
}

#[tokio::test]
async fn the_user_profile_travels_as_a_component_through_export_and_import() {
    let app = app().await;
    let reply = app
        .post("realms", json!({"realm": "src", "enabled": true}))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.value());
    // Keycloak's default profile is not exported as a component.
    let reply = app.post("realms/src/partial-export", json!({})).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.value());
    let exported = reply.json();
    assert!(exported.get("components").is_none(), "{exported}");

    let mut profile = app.get("realms/src/users/profile").await.json();
    profile["attributes"].as_array_mut().unwrap().push(
        json!({"name": "department", "displayName": "Department",
                     "permissions": {"view": ["admin"], "edit": ["admin"]},
                     "multivalued": false}),
    );
    profile["unmanagedAttributePolicy"] = json!("ADMIN_VIEW");
    let reply = app.put("realms/src/users/profile", profile.clone()).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.value());
    let stored = app.get("realms/src/users/profile").await.json();

    let reply = app
        .post(
            "realms/src/partial-export?exportClients=true&exportGroupsAndRoles=true",
            json!({}),
        )
        .await;
    let exported = reply.json();
    let components = &exported["components"]["org.keycloak.userprofile.UserProfileProvider"];
    assert_eq!(components.as_array().map(Vec::len), Some(1), "{components}");
    assert_eq!(components[0]["providerId"], "declarative-user-profile");
    let text = components[0]["config"]["kc.user.profile.config"][0]
        .as_str()
        .unwrap();
    let carried: Value = serde_json::from_str(text).unwrap();
    assert_eq!(carried, stored);
    // Keys never leave through a partial export.
    assert_eq!(exported["components"].as_object().unwrap().len(), 1);

    // Deleted and imported back: the same profile.
    assert_eq!(
        app.delete("realms/src").await.status,
        StatusCode::NO_CONTENT
    );
    let reply = app.post("realms", exported.clone()).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.value());
    let back = app.get("realms/src/users/profile").await.json();
    assert_eq!(back, stored);
    assert!(names(&back["attributes"], "name").contains(&"department".to_string()));

    // A file without the component gets Keycloak's default profile.
    let reply = app
        .post("realms", json!({"realm": "plain", "enabled": true}))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let default = app.get("realms/plain/users/profile").await.json();
    assert_eq!(
        names(&default["attributes"], "name"),
        ["email", "firstName", "lastName", "username"]
    );

    // A component carrying a profile the API would refuse is refused, and nothing is created.
    for bad in [
        profile_component(&json!({"attributes": "nope"})),
        json!({"org.keycloak.userprofile.UserProfileProvider": [{
            "providerId": "declarative-user-profile",
            "config": {"kc.user.profile.config": ["{not json"]}}]}),
        json!({"org.keycloak.userprofile.UserProfileProvider": [{
            "providerId": "other-profile", "config": {}}]}),
    ] {
        let reply = app
            .post("realms", json!({"realm": "broken", "components": bad}))
            .await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{bad}: {}",
            reply.value()
        );
        assert_eq!(app.get("realms/broken").await.status, StatusCode::NOT_FOUND);
    }
    let good = profile_component(&stored);
    let reply = app
        .post("realms", json!({"realm": "fine", "components": good}))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.value());
    assert_eq!(app.get("realms/fine/users/profile").await.json(), stored);
}

#[tokio::test]
async fn serverinfo_carries_only_sections_this_server_fills() {
    let app = app().await;
    let reply = app.get("serverinfo").await;
    assert_eq!(reply.status, StatusCode::OK);
    let info = reply.json();
    for key in ["profileInfo", "features"] {
        assert!(info.get(key).is_none(), "{key} in {info}");
    }
    let system = &info["systemInfo"];
    assert!(system["version"].as_str().unwrap().starts_with("26."));
    assert!(system.get("javaVm").is_none() && system.get("javaHome").is_none());
    assert!(system["uptimeMillis"].as_u64().is_some(), "{system}");
    assert!(system["uptime"].as_str().unwrap().contains("second"));
    if cfg!(target_os = "linux") {
        let memory = &info["memoryInfo"];
        let (total, used) = (
            memory["total"].as_u64().unwrap(),
            memory["used"].as_u64().unwrap(),
        );
        assert!(used > 0 && used <= total, "{memory}");
        assert_eq!(memory["free"].as_u64().unwrap(), total - used);
    }
    let oidc = info["protocolMapperTypes"]["openid-connect"]
        .as_array()
        .unwrap();
    assert!(
        oidc.iter()
            .any(|t| t["id"] == "oidc-usermodel-attribute-mapper")
    );
    let builtin = info["builtinProtocolMappers"]["openid-connect"]
        .as_array()
        .unwrap();
    assert!(
        builtin
            .iter()
            .any(|m| m["name"] == "email"
                && m["protocolMapper"] == "oidc-usermodel-attribute-mapper")
    );
    assert_eq!(info["builtinProtocolMappers"]["docker-v2"], json!([]));
    let installs = &info["clientInstallations"];
    assert_eq!(
        installs["openid-connect"][0]["id"],
        "keycloak-oidc-keycloak-json"
    );
    assert_eq!(installs["openid-connect"][0]["filename"], "keycloak.json");
    let docker_ids = names(&installs["docker-v2"], "id");
    assert_eq!(
        docker_ids,
        [
            "docker-v2-docker-compose-yaml",
            "docker-v2-registry-config-file",
            "docker-v2-variable-override"
        ]
    );
    // Every listed installation is one the server writes.
    let web = app.client_uuid("acme", "web").await;
    let reply = app
        .get(&format!(
            "realms/acme/clients/{web}/installation/providers/keycloak-oidc-keycloak-json"
        ))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let policies = names(&info["passwordPolicies"], "id");
    assert!(
        policies.contains(&"length".to_string())
            && policies.contains(&"passwordHistory".to_string())
    );
    assert!(
        !policies.contains(&"passwordBlacklist".to_string()),
        "not enforced here"
    );

    // Any signed-in user may read it, as in Keycloak; nobody else.
    let nobody = app.access_token("acme", "nobody").await;
    assert_eq!(
        status_as(&app, Method::GET, "serverinfo", &nobody, None).await,
        StatusCode::OK
    );
    assert_eq!(
        app.send(Method::GET, "serverinfo", None, None).await.status,
        StatusCode::UNAUTHORIZED
    );
}
