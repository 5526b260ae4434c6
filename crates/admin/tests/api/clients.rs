//! `/admin/realms/{realm}/clients`, secrets, service accounts and protocol mappers.

use axum::http::StatusCode;
use serde_json::json;

use crate::common::{BASE, app, names};

#[tokio::test]
async fn client_crud_secrets_and_service_accounts() {
    let app = app().await;
    let reply = app
        .post("realms/acme/clients", json!({"clientId": "backend", "serviceAccountsEnabled": true,
                                            "rootUrl": "https://backend.test", "redirectUris": ["https://backend.test/*"]}))
        .await;
    let id = reply.created_id();
    assert_eq!(
        reply.header("location"),
        format!("{BASE}/auth/admin/realms/acme/clients/{id}")
    );
    let fetched = app.get(&format!("realms/acme/clients/{id}")).await;
    assert_eq!(
        fetched.header("cache-control"),
        "no-store",
        "it carries the secret"
    );
    let client = fetched.value();
    assert_eq!(client["clientId"], "backend");
    assert_eq!(client["rootUrl"], "https://backend.test");
    assert_eq!(client["publicClient"], false);
    assert_eq!(client["protocol"], "openid-connect");
    let secret = client["secret"].as_str().unwrap().to_string();

    let reply = app
        .post("realms/acme/clients", json!({"clientId": "backend"}))
        .await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    assert_eq!(
        reply.value(),
        json!({"errorMessage": "Client backend already exists"})
    );
    for body in [
        json!({"name": "no id"}),
        json!({"clientId": "x", "protocol": "saml"}),
        json!({"clientId": "x", "redirectUris": "*"}),
    ] {
        assert_eq!(
            app.post("realms/acme/clients", body.clone()).await.status,
            StatusCode::BAD_REQUEST,
            "{body}"
        );
    }

    assert_eq!(
        names(
            &app.get("realms/acme/clients?clientId=back").await.value(),
            "clientId"
        ),
        Vec::<String>::new()
    );
    assert_eq!(
        names(
            &app.get("realms/acme/clients?clientId=back&search=true")
                .await
                .value(),
            "clientId"
        ),
        ["backend"]
    );

    let got = app
        .get(&format!("realms/acme/clients/{id}/client-secret"))
        .await
        .value();
    assert_eq!(got, json!({"type": "secret", "value": secret}));
    let new = app
        .post(
            &format!("realms/acme/clients/{id}/client-secret"),
            json!(null),
        )
        .await;
    assert_eq!(new.status, StatusCode::OK);
    assert_ne!(new.value()["value"], secret);
    assert_eq!(
        app.get(&format!("realms/acme/clients/{id}/client-secret"))
            .await
            .value(),
        new.value()
    );

    let sa = app
        .get(&format!("realms/acme/clients/{id}/service-account-user"))
        .await;
    assert_eq!(sa.value()["username"], "service-account-backend");
    assert_eq!(sa.value()["serviceAccountClientId"], "backend");
    let web = app.client_uuid("acme", "web").await;
    assert_eq!(
        app.get(&format!("realms/acme/clients/{web}/service-account-user"))
            .await
            .status,
        StatusCode::BAD_REQUEST
    );

    let reply = app
        .put(
            &format!("realms/acme/clients/{id}"),
            json!({"description": "API", "baseUrl": "/app"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    let client = app.get(&format!("realms/acme/clients/{id}")).await.value();
    assert_eq!(
        (
            client["description"].clone(),
            client["baseUrl"].clone(),
            client["rootUrl"].clone()
        ),
        (json!("API"), json!("/app"), json!("https://backend.test"))
    );
    assert_eq!(
        app.put(
            &format!("realms/acme/clients/{id}"),
            json!({"clientId": "web"})
        )
        .await
        .status,
        StatusCode::CONFLICT
    );

    assert_eq!(
        app.delete(&format!("realms/acme/clients/{id}"))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get(&format!("realms/acme/clients/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
    let sa_left = app
        .get("realms/acme/users?username=service-account-backend&exact=true")
        .await
        .value();
    assert_eq!(
        sa_left,
        json!([]),
        "the service account goes with its client"
    );
}

/// A realm file's client and identity-provider fields without a column (`rootUrl`, `baseUrl`,
/// `storeToken`, ...) read back from the API as the API's own create keeps them.
#[tokio::test]
async fn realm_file_clients_keep_their_unmodelled_fields() {
    let app = app().await;
    app.import_realm(&json!({
        "realm": "files",
        "enabled": true,
        "clients": [{"clientId": "portal", "rootUrl": "https://portal.test", "baseUrl": "/home",
                     "adminUrl": "https://portal.test/admin", "frontchannelLogout": true}],
        "identityProviders": [{"alias": "corp", "providerId": "oidc", "storeToken": true,
                               "config": {"clientId": "c", "issuer": "https://idp.test"}}]
    }))
    .await;
    let corp = app
        .get("realms/files/identity-provider/instances/corp")
        .await
        .value();
    assert_eq!(corp["storeToken"], true, "{corp}");
    let found = app
        .get("realms/files/clients?clientId=portal")
        .await
        .value();
    let portal = &found[0];
    assert_eq!(portal["rootUrl"], "https://portal.test");
    assert_eq!(portal["baseUrl"], "/home");
    assert_eq!(portal["adminUrl"], "https://portal.test/admin");
    assert_eq!(portal["frontchannelLogout"], true);
}

#[tokio::test]
async fn docker_clients_and_validated_mappers() {
    let app = app().await;
    let rule = |name: &str, config: serde_json::Value| json!({"name": name, "protocol": "docker-v2", "protocolMapper": "docker-v2-repository-access-mapper", "config": config});
    let reply = app
        .post("realms/acme/clients", json!({"clientId": "registry", "protocol": "docker-v2", "publicClient": true,
               "protocolMappers": [rule("devs", json!({"repository": "team/*", "actions": "pull,push", "role": "dev"}))]}))
        .await;
    let id = reply.created_id();
    let models = format!("realms/acme/clients/{id}/protocol-mappers/models");
    assert_eq!(names(&app.get(&models).await.value(), "name"), ["devs"]);

    let reply = app
        .post(
            &models,
            rule(
                "catalog",
                json!({"type": "registry", "actions": "*", "role": "lead"}),
            ),
        )
        .await;
    let mapper = reply.created_id();
    assert!(
        reply
            .header("location")
            .ends_with(&format!("/clients/{id}/protocol-mappers/models/{mapper}"))
    );
    let got = app.get(&format!("{models}/{mapper}")).await.value();
    assert_eq!(got["protocolMapper"], "docker-v2-repository-access-mapper");
    assert_eq!(got["config"]["type"], "registry");

    // Invalid rules are 400 with the reasons, and nothing is written.
    for body in [
        rule("bad", json!({"repository": "x", "actions": "pull"})),
        rule(
            "bad",
            json!({"repository": "x", "actions": "fly", "role": "dev"}),
        ),
        rule(
            "bad",
            json!({"repository": "x", "actions": "pull", "role": "dev", "subject": "anonymous"}),
        ),
        json!({"name": "bad", "protocol": "openid-connect", "protocolMapper": "oidc-audience-mapper"}),
        json!({"name": "bad", "protocolMapper": "hardcoded"}),
        json!({"name": "bad"}),
    ] {
        let reply = app.post(&models, body.clone()).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}");
        assert!(
            reply.value()["errorMessage"].is_string(),
            "{}",
            reply.value()
        );
    }
    let reply = app
        .post(
            &models,
            rule(
                "devs",
                json!({"repository": "y", "actions": "pull", "role": "dev"}),
            ),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    let reply = app
        .post(
            "realms/acme/clients",
            json!({"clientId": "registry2", "protocol": "docker-v2",
               "protocolMappers": [rule("x", json!({"repository": "x"}))]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        app.get("realms/acme/clients?clientId=registry2")
            .await
            .value(),
        json!([]),
        "rolled back"
    );
    assert_eq!(
        app.post(
            &format!("realms/acme/clients/{id}/protocol-mappers/add-models"),
            json!([
                rule(
                    "ok",
                    json!({"repository": "z", "actions": "pull", "subject": "authenticated"})
                ),
                rule("bad", json!({}))
            ])
        )
        .await
        .status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        names(&app.get(&models).await.value(), "name"),
        ["catalog", "devs"],
        "add-models is all or nothing"
    );

    let reply = app
        .put(
            &format!("{models}/{mapper}"),
            json!({"config": {"type": "registry", "actions": "*", "subject": "authenticated"}}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.value());
    let reply = app
        .put(
            &format!("{models}/{mapper}"),
            json!({"config": {"type": "registry"}}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let snapshot = app
        .store
        .load_realm_snapshot("acme")
        .await
        .unwrap()
        .unwrap();
    let client = snapshot.client("registry").unwrap();
    let catalog = client
        .protocol_mappers
        .iter()
        .find(|m| m.name == "catalog")
        .unwrap();
    assert_eq!(catalog.config["subject"], "authenticated");

    let by_protocol = app
        .get(&format!(
            "realms/acme/clients/{id}/protocol-mappers/protocol/docker-v2"
        ))
        .await;
    assert_eq!(by_protocol.value().as_array().unwrap().len(), 2);
    assert_eq!(
        app.delete(&format!("{models}/{mapper}")).await.status,
        StatusCode::NO_CONTENT
    );
    let gone = app.get(&format!("{models}/{mapper}")).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    let events = app.events("acme").await;
    assert_eq!(events[0]["resourceType"], "PROTOCOL_MAPPER");
}
