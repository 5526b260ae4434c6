//! `identity-provider/instances[/{alias}[/mappers[/{id}]]]`: Keycloak's shapes and status
//! codes, masked secrets, who may do what, what deleting a mapper or provider takes away, and
//! `partialImport` of providers and mappers.

use std::collections::{BTreeMap, BTreeSet};

use axum::body::Body;
use axum::http::{Method, StatusCode};
use portcullis_store::broker::{self, Login};
use serde_json::{Value, json};

use crate::common::{App, BASE, NOW, app};

const IDP: &str = "realms/brk/identity-provider/instances";

fn brk() -> Value {
    json!({
        "realm": "brk",
        "adminEventsEnabled": true, "adminEventsDetailsEnabled": true,
        "roles": {"realm": [{"name": "dev"}, {"name": "ops"}]},
        "groups": [
            {"name": "platform"},
            {"name": "admins", "clientRoles": {"realm-management": ["realm-admin"]}},
            {"name": "upstream", "subGroups": [{"name": "web"}]}
        ],
        "users": [
            {"username": "alice", "email": "alice@brk.test"},
            {"username": "idp-viewer", "clientRoles": {"realm-management": ["view-identity-providers"]}},
            {"username": "idp-admin", "clientRoles": {"realm-management": ["manage-identity-providers"]}},
            {"username": "realm-viewer", "clientRoles": {"realm-management": ["view-realm", "manage-users"]}}
        ]
    })
}

async fn brk_app() -> App {
    let app = app().await;
    app.import_realm(&brk()).await;
    app
}

fn company() -> Value {
    json!({
        "alias": "company",
        "displayName": "Company SSO",
        "providerId": "oidc",
        "trustEmail": true,
        "storeToken": true,
        "config": {
            "clientId": "portcullis",
            "clientSecret": "s3cret",
            "issuer": "https://idp.company.test/realms/corp",
            "clientAuthMethod": "client_secret_basic",
            "syncMode": "FORCE"
        }
    })
}

/// Sends `body` as `token` (no token: the master admin).
async fn send_as(app: &App, token: &str, method: Method, path: &str, body: Option<Value>) -> u16 {
    let body = body.map(|b| Body::from(b.to_string()));
    app.send(method, path, Some(token), body)
        .await
        .status
        .as_u16()
}

#[tokio::test]
async fn providers_are_created_read_updated_and_deleted_in_keycloaks_shapes() {
    let app = brk_app().await;
    assert_eq!(app.get(IDP).await.value(), json!([]));

    let created = app.post(IDP, company()).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.value());
    assert_eq!(
        created.location(),
        Some(format!("{BASE}/auth/admin/{IDP}/company").as_str())
    );
    assert_eq!(
        app.post(IDP, company()).await.value(),
        json!({"errorMessage": "Identity Provider company already exists"})
    );

    let got = app.get(&format!("{IDP}/company")).await;
    assert_eq!(got.status, StatusCode::OK);
    let rep = got.json();
    assert_eq!(rep["alias"], "company");
    assert_eq!(rep["displayName"], "Company SSO");
    assert_eq!(rep["providerId"], "oidc");
    assert_eq!(rep["enabled"], true);
    assert_eq!(rep["trustEmail"], true);
    assert_eq!(rep["hideOnLogin"], false);
    assert_eq!(rep["linkOnly"], false);
    assert_eq!(rep["firstBrokerLoginFlowAlias"], "link-verified");
    assert_eq!(
        rep["config"]["clientSecret"], "**********",
        "never in clear"
    );
    assert_eq!(rep["config"]["syncMode"], "FORCE", "config kept as written");
    assert_eq!(rep["storeToken"], true, "an unmodelled field reads back");
    assert_eq!(rep["authenticateByDefault"], false, "Keycloak's default");
    let internal_id = rep["internalId"].as_str().unwrap().to_string();
    assert_eq!(
        app.get(&format!("{IDP}/{internal_id}")).await.json()["alias"],
        "company",
        "by internal id too"
    );
    let list = app.get(IDP).await.json();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["config"]["clientSecret"], "**********");

    // PUT the representation as read (masked secret): the stored secret stays.
    let mut update = rep.clone();
    update["displayName"] = json!("Company");
    update["hideOnLogin"] = json!(true);
    let put = app.put(&format!("{IDP}/company"), update.clone()).await;
    assert_eq!(put.status, StatusCode::NO_CONTENT, "{}", put.value());
    let snapshot = app.store.load_realm_snapshot("brk").await.unwrap().unwrap();
    let stored = snapshot.identity_provider("company").unwrap();
    assert_eq!(stored.config["clientSecret"], "s3cret");
    assert_eq!(stored.label(), "Company");
    assert!(stored.hide_on_login);
    assert_eq!(snapshot.login_providers().count(), 0);

    // A new secret replaces it.
    update["config"]["clientSecret"] = json!("rotated");
    app.put(&format!("{IDP}/company"), update.clone()).await;
    let snapshot = app.store.load_realm_snapshot("brk").await.unwrap().unwrap();
    assert_eq!(
        snapshot.identity_provider("company").unwrap().config["clientSecret"],
        "rotated"
    );

    // Rename: users' links follow.
    let alice = app.user_id("brk", "alice").await;
    let links = format!("realms/brk/users/{alice}/federated-identity");
    app.post(
        &format!("{links}/company"),
        json!({"userId": "up-1", "userName": "alice.up"}),
    )
    .await;
    update["alias"] = json!("corp");
    let renamed = app.put(&format!("{IDP}/company"), update.clone()).await;
    assert_eq!(
        renamed.status,
        StatusCode::NO_CONTENT,
        "{}",
        renamed.value()
    );
    assert_eq!(
        app.get(&format!("{IDP}/company")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.get(&format!("{IDP}/corp")).await.status, StatusCode::OK);
    assert_eq!(app.get(&links).await.json()[0]["identityProvider"], "corp");

    // Another provider cannot take the name.
    let mut github = json!({"alias": "github", "providerId": "github",
                            "config": {"clientId": "gh", "clientSecret": "x"}});
    assert_eq!(
        app.post(IDP, github.clone()).await.status,
        StatusCode::CREATED
    );
    github["alias"] = json!("corp");
    assert_eq!(
        app.put(&format!("{IDP}/github"), github).await.status,
        StatusCode::CONFLICT
    );

    // Search and brief representations.
    let found = app.get(&format!("{IDP}?search=co")).await.json();
    assert_eq!(found.as_array().unwrap().len(), 1);
    let brief = app
        .get(&format!("{IDP}?briefRepresentation=true&first=1&max=5"))
        .await
        .json();
    assert_eq!(
        brief,
        json!([{"alias": "github", "displayName": null,
                "internalId": brief[0]["internalId"], "providerId": "github",
                "enabled": true, "hideOnLogin": false}])
    );

    // Delete: the links go with it.
    assert_eq!(
        app.delete(&format!("{IDP}/corp")).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(app.get(&links).await.value(), json!([]));
    for method in [Method::GET, Method::DELETE] {
        let reply = app
            .send(
                method.clone(),
                &format!("{IDP}/corp"),
                Some(&app.admin),
                None,
            )
            .await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{method}");
        assert_eq!(
            reply.value(),
            json!({"error": "Could not find identity provider"})
        );
    }
    assert_eq!(
        app.put(&format!("{IDP}/corp"), company()).await.status,
        StatusCode::NOT_FOUND
    );

    // Admin events, secrets scrubbed.
    let events = app.events("brk").await;
    let ours: Vec<(&str, &str, &str)> = events
        .iter()
        .filter(|e| e["resourceType"] == "IDENTITY_PROVIDER")
        .map(|e| {
            (
                e["operationType"].as_str().unwrap(),
                e["resourcePath"].as_str().unwrap(),
                e["representation"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert!(
        ours.iter()
            .any(|(op, path, _)| *op == "DELETE" && *path == "identity-provider/instances/corp")
    );
    let create = ours
        .iter()
        .find(|(op, path, _)| *op == "CREATE" && path.ends_with("/company"))
        .unwrap();
    assert!(create.2.contains("portcullis") && !create.2.contains("s3cret"));
}

#[tokio::test]
async fn bad_providers_are_400_with_every_problem() {
    let app = brk_app().await;
    let rows: Vec<(Value, &[&str])> = vec![
        (json!({"providerId": "oidc"}), &["alias is required"]),
        (
            json!({"alias": "has space", "providerId": "oidc",
                   "config": {"clientId": "c", "issuer": "https://x.test"}}),
            &["alias may contain only"],
        ),
        (
            json!({"alias": "x", "providerId": "saml"}),
            &["providerId 'saml' is not supported"],
        ),
        (
            json!({"alias": "x", "providerId": "oidc", "config": {}}),
            &["clientId is required", "authorizationUrl and tokenUrl"],
        ),
        (
            json!({"alias": "x", "providerId": "oauth2",
                   "config": {"clientId": "c", "authorizationUrl": "ftp://x", "tokenUrl": "https://t.test"}}),
            &[
                "authorizationUrl must be an absolute http or https URL",
                "userInfoUrl is required",
            ],
        ),
        (
            json!({"alias": "x", "providerId": "oidc", "firstBrokerLoginFlowAlias": "mine",
                   "config": {"clientId": "c", "issuer": "https://x.test",
                              "clientAuthMethod": "private_key_jwt"}}),
            &[
                "clientAuthMethod 'private_key_jwt' is not supported",
                "'mine' is not a first-login policy",
            ],
        ),
    ];
    for (body, want) in rows {
        let reply = app.post(IDP, body.clone()).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}");
        let message = reply.json()["errorMessage"].as_str().unwrap().to_string();
        for w in want {
            assert!(message.contains(w), "{body}: {message} lacks {w}");
        }
    }
    let not_json = app
        .send(Method::POST, IDP, Some(&app.admin), Some(Body::from("{")))
        .await;
    assert_eq!(not_json.status, StatusCode::BAD_REQUEST);
    assert_eq!(app.get(IDP).await.value(), json!([]), "nothing created");
}

#[tokio::test]
async fn mappers_are_created_read_updated_and_deleted() {
    let app = brk_app().await;
    app.post(IDP, company()).await;
    let mappers = format!("{IDP}/company/mappers");
    assert_eq!(app.get(&mappers).await.value(), json!([]));
    let platform = json!({"name": "platform", "identityProviderAlias": "company",
                          "identityProviderMapper": "hardcoded-group-idp-mapper",
                          "config": {"group": "/platform"}});
    let created = app.post(&mappers, platform.clone()).await;
    let id = created.created_id();
    assert_eq!(
        created.location(),
        Some(format!("{BASE}/auth/admin/{mappers}/{id}").as_str())
    );
    assert_eq!(
        app.post(&mappers, platform.clone()).await.value(),
        json!({"errorMessage": "Identity Provider Mapper platform already exists"})
    );
    let got = app.get(&format!("{mappers}/{id}")).await.json();
    assert_eq!(
        got,
        json!({"id": id, "name": "platform", "identityProviderAlias": "company",
               "identityProviderMapper": "hardcoded-group-idp-mapper",
               "config": {"group": "/platform"}})
    );
    let groups = json!({"name": "groups", "identityProviderMapper": "upstream-groups-idp-mapper",
                        "config": {"claim": "groups", "group.parent": "/upstream"}});
    let groups_id = app.post(&mappers, groups).await.created_id();
    let names: Vec<Value> = app
        .get(&mappers)
        .await
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].clone())
        .collect();
    assert_eq!(names, [json!("groups"), json!("platform")]);

    let bad: Vec<(Value, u16, &str)> = vec![
        (
            json!({"name": "x", "identityProviderMapper": "nope"}),
            400,
            "identityProviderMapper 'nope' is not supported",
        ),
        (
            json!({"name": "x", "identityProviderMapper": "hardcoded-role-idp-mapper",
                   "config": {"role": "ghost"}}),
            400,
            "role 'ghost' does not exist",
        ),
        (
            json!({"name": "x", "identityProviderMapper": "hardcoded-group-idp-mapper",
                   "config": {"group": "/ghost"}}),
            400,
            "group '/ghost' does not exist",
        ),
        (
            json!({"name": "x", "identityProviderMapper": "oidc-role-idp-mapper",
                   "config": {"role": "dev"}}),
            400,
            "config.claim is required",
        ),
        (
            json!({"name": "x", "identityProviderAlias": "other",
                   "identityProviderMapper": "hardcoded-role-idp-mapper", "config": {"role": "dev"}}),
            400,
            "identityProviderAlias 'other' is not 'company'",
        ),
    ];
    for (body, status, want) in bad {
        let reply = app.post(&mappers, body.clone()).await;
        assert_eq!(reply.status.as_u16(), status, "{body}");
        let message = reply.json()["errorMessage"].as_str().unwrap().to_string();
        assert!(message.contains(want), "{message} lacks {want}");
    }

    // Update: a client role by `clientId.role`; a name another mapper has is a conflict.
    let update = json!({"name": "platform-push", "identityProviderMapper": "hardcoded-role-idp-mapper",
                        "config": {"role": "realm-management.view-users"}});
    assert_eq!(
        app.put(&format!("{mappers}/{id}"), update).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get(&format!("{mappers}/{id}")).await.json()["config"]["role"],
        "realm-management.view-users"
    );
    assert_eq!(
        app.put(
            &format!("{mappers}/{id}"),
            json!({"name": "groups",
              "identityProviderMapper": "hardcoded-role-idp-mapper", "config": {"role": "dev"}})
        )
        .await
        .status,
        StatusCode::CONFLICT
    );
    assert_eq!(
        app.delete(&format!("{mappers}/{groups_id}")).await.status,
        StatusCode::NO_CONTENT
    );
    for path in [
        format!("{mappers}/{groups_id}"),
        format!("{IDP}/nope/mappers"),
        format!("{IDP}/nope/mappers/{id}"),
        format!("{IDP}/nope/mapper-types"),
    ] {
        assert_eq!(app.get(&path).await.status, StatusCode::NOT_FOUND, "{path}");
    }
    assert_eq!(
        app.delete(&format!("{mappers}/{groups_id}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.post(&format!("{IDP}/nope/mappers"), platform)
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    let types = app.get(&format!("{IDP}/company/mapper-types")).await.json();
    let mut ids: Vec<&str> = types
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    ids.sort();
    assert_eq!(
        ids,
        [
            "hardcoded-group-idp-mapper",
            "hardcoded-role-idp-mapper",
            "oidc-role-idp-mapper",
            "oidc-user-attribute-idp-mapper",
            "upstream-groups-idp-mapper"
        ]
    );
    assert_eq!(
        types["oidc-role-idp-mapper"]["properties"][1]["name"],
        "claim.value"
    );
    assert_eq!(
        app.get("realms/brk/identity-provider/providers/github")
            .await
            .json()["id"],
        "github"
    );
    assert_eq!(
        app.get("realms/brk/identity-provider/providers/saml")
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    let events = app.events("brk").await;
    assert!(
        events
            .iter()
            .any(|e| e["resourceType"] == "IDENTITY_PROVIDER_MAPPER"
                && e["operationType"] == "DELETE"
                && e["resourcePath"]
                    == format!("identity-provider/instances/company/mappers/{groups_id}"))
    );
}

#[tokio::test]
async fn the_identity_provider_rights_decide_who_may_read_and_change() {
    let app = brk_app().await;
    app.post(IDP, company()).await;
    let viewer = app.access_token("brk", "idp-viewer").await;
    let manager = app.access_token("brk", "idp-admin").await;
    let realm_viewer = app.access_token("brk", "realm-viewer").await;
    let alice = app.access_token("brk", "alice").await;
    let one = format!("{IDP}/company");
    let mappers = format!("{one}/mappers");
    let role_mapper = json!({"name": "dev", "identityProviderMapper": "hardcoded-role-idp-mapper",
                             "config": {"role": "dev"}});
    // (who, method, path, body, status)
    type Row<'a> = (&'a str, &'a String, Method, &'a str, Option<Value>, u16);
    let rows: Vec<Row> = vec![
        ("viewer lists", &viewer, Method::GET, IDP, None, 200),
        ("viewer reads", &viewer, Method::GET, &one, None, 200),
        (
            "viewer reads mappers",
            &viewer,
            Method::GET,
            &mappers,
            None,
            200,
        ),
        (
            "viewer cannot create",
            &viewer,
            Method::POST,
            IDP,
            Some(company()),
            403,
        ),
        (
            "viewer cannot delete",
            &viewer,
            Method::DELETE,
            &one,
            None,
            403,
        ),
        (
            "viewer cannot add mappers",
            &viewer,
            Method::POST,
            &mappers,
            Some(role_mapper.clone()),
            403,
        ),
        (
            "view-realm is not enough",
            &realm_viewer,
            Method::GET,
            IDP,
            None,
            403,
        ),
        ("no admin role", &alice, Method::GET, IDP, None, 403),
        (
            "manager adds a mapper",
            &manager,
            Method::POST,
            &mappers,
            Some(role_mapper.clone()),
            201,
        ),
        (
            "manager updates",
            &manager,
            Method::PUT,
            &one,
            Some(company()),
            204,
        ),
    ];
    for (what, token, method, path, body, status) in rows {
        assert_eq!(
            send_as(&app, token, method, path, body).await,
            status,
            "{what}"
        );
    }
    // A mapper that hands out realm-admin (through a group) or an admin role needs the
    // caller to hold it.
    let escalations = [
        json!({"name": "admins", "identityProviderMapper": "hardcoded-group-idp-mapper",
               "config": {"group": "/admins"}}),
        json!({"name": "rm", "identityProviderMapper": "oidc-role-idp-mapper",
               "config": {"claim": "x", "claim.value": "y", "role": "realm-management.manage-users"}}),
        json!({"name": "all", "identityProviderMapper": "upstream-groups-idp-mapper", "config": {}}),
    ];
    for body in &escalations {
        assert_eq!(
            send_as(&app, &manager, Method::POST, &mappers, Some(body.clone())).await,
            403,
            "{body}"
        );
    }
    // Under /upstream there is nothing powerful: allowed.
    let scoped = json!({"name": "scoped", "identityProviderMapper": "upstream-groups-idp-mapper",
                        "config": {"group.parent": "/upstream"}});
    assert_eq!(
        send_as(&app, &manager, Method::POST, &mappers, Some(scoped)).await,
        201
    );
    // The master admin holds everything.
    for body in &escalations {
        assert_eq!(
            app.post(&mappers, body.clone()).await.status,
            StatusCode::CREATED,
            "{body}"
        );
    }
    // Another realm's admin gets 403 before anything is looked up.
    let acme_boss = app.access_token("acme", "boss").await;
    assert_eq!(send_as(&app, &acme_boss, Method::GET, IDP, None).await, 403);
    assert_eq!(
        send_as(
            &app,
            &acme_boss,
            Method::GET,
            "realms/acme/identity-provider/instances",
            None
        )
        .await,
        200,
        "realm-admin includes the identity-provider rights"
    );
}

#[tokio::test]
async fn deleting_a_mapper_or_provider_takes_away_what_only_it_gave() {
    let app = brk_app().await;
    app.post(IDP, company()).await;
    let mappers = format!("{IDP}/company/mappers");
    let hard = app
        .post(
            &mappers,
            json!({"name": "platform", "identityProviderMapper": "hardcoded-group-idp-mapper",
                               "config": {"group": "/platform"}}),
        )
        .await
        .created_id();
    let groups = app
        .post(
            &mappers,
            json!({"name": "groups", "identityProviderMapper": "upstream-groups-idp-mapper",
                               "config": {"group.parent": "/upstream"}}),
        )
        .await
        .created_id();
    let dev = app
        .post(
            &mappers,
            json!({"name": "dev", "identityProviderMapper": "hardcoded-role-idp-mapper",
                               "config": {"role": "dev"}}),
        )
        .await
        .created_id();
    let snapshot = app.store.load_realm_snapshot("brk").await.unwrap().unwrap();
    let provider = snapshot.identity_provider("company").unwrap();
    let group = |path: &str| snapshot.group_by_path(path).unwrap().id.clone();
    let dev_role = snapshot.role_by_qualified_name("dev").unwrap().id.clone();
    let alice = app.user_id("brk", "alice").await;
    let set = |ids: &[&str]| ids.iter().map(|i| i.to_string()).collect::<BTreeSet<_>>();
    // A login gave alice /platform (two mappers), /upstream/web and dev; an admin added
    // /upstream by hand.
    app.put(
        &format!("realms/brk/users/{alice}/groups/{}", group("/upstream")),
        json!({}),
    )
    .await;
    broker::reconcile(
        app.store.connection(),
        Login {
            realm_id: &snapshot.realm.id,
            user_id: &alice,
            provider_id: &provider.id,
            now: NOW,
        },
        &BTreeMap::from([
            (group("/platform"), set(&[&hard, &groups])),
            (group("/upstream/web"), set(&[&groups])),
        ]),
        &BTreeMap::from([(dev_role.clone(), set(&[&dev]))]),
    )
    .await
    .unwrap();
    let paths = |value: Value| -> BTreeSet<String> {
        value
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["path"].as_str().unwrap().to_string())
            .collect()
    };
    let user_groups = format!("realms/brk/users/{alice}/groups");
    assert_eq!(
        paths(app.get(&user_groups).await.json()),
        set(&["/platform", "/upstream", "/upstream/web"])
    );
    assert_eq!(
        app.delete(&format!("{mappers}/{groups}")).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        paths(app.get(&user_groups).await.json()),
        set(&["/platform", "/upstream"]),
        "/upstream/web went; /platform is still the hardcoded mapper's"
    );
    let event = app
        .events("brk")
        .await
        .into_iter()
        .find(|e| e["operationType"] == "DELETE")
        .unwrap();
    assert!(
        event["representation"]
            .as_str()
            .unwrap()
            .contains("\"removedGroupMemberships\":1")
    );
    assert_eq!(
        app.delete(&format!("{IDP}/company")).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        paths(app.get(&user_groups).await.json()),
        set(&["/upstream"]),
        "the admin's membership stays"
    );
    let roles = app
        .get(&format!("realms/brk/users/{alice}/role-mappings/realm"))
        .await
        .json();
    assert!(!roles.as_array().unwrap().iter().any(|r| r["name"] == "dev"));
}

#[tokio::test]
async fn partial_import_adds_skips_and_overwrites_providers_and_mappers() {
    let app = brk_app().await;
    let import = |policy: &str, name: &str| {
        json!({
            "ifResourceExists": policy,
            "identityProviders": [
                {"alias": "company", "displayName": name, "providerId": "keycloak-oidc",
                 "config": {"clientId": "portcullis", "clientSecret": "**********",
                            "issuer": "https://idp.company.test/realms/corp"}}
            ],
            "identityProviderMappers": [
                {"name": "platform", "identityProviderAlias": "company",
                 "identityProviderMapper": "hardcoded-group-idp-mapper",
                 "config": {"group": "/platform"}}
            ]
        })
    };
    let added = app
        .post("realms/brk/partialImport", import("FAIL", "One"))
        .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.value());
    let added = added.json();
    assert_eq!(added["added"], 2);
    let kinds: Vec<&str> = added["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["resourceType"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["IDP", "IDP_MAPPER"]);
    assert_eq!(
        app.post("realms/brk/partialImport", import("FAIL", "Two"))
            .await
            .status,
        StatusCode::CONFLICT
    );
    let skipped = app
        .post("realms/brk/partialImport", import("SKIP", "Two"))
        .await
        .json();
    assert_eq!(skipped["skipped"], 2);
    assert_eq!(
        app.get(&format!("{IDP}/company")).await.json()["displayName"],
        "One"
    );
    let overwritten = app
        .post("realms/brk/partialImport", import("OVERWRITE", "Two"))
        .await
        .json();
    assert_eq!(overwritten["overwritten"], 2);
    assert_eq!(
        app.get(&format!("{IDP}/company")).await.json()["displayName"],
        "Two"
    );
    assert_eq!(
        app.get(&format!("{IDP}/company/mappers"))
            .await
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // A mapper handing out realm-admin, imported by someone without it: 403, nothing written.
    let manager_realm = json!({
        "ifResourceExists": "SKIP",
        "identityProviderMappers": [
            {"name": "admins", "identityProviderAlias": "company",
             "identityProviderMapper": "hardcoded-group-idp-mapper", "config": {"group": "/admins"}}
        ]
    });
    let boss = app.access_token("brk", "idp-admin").await;
    assert_eq!(
        send_as(
            &app,
            &boss,
            Method::POST,
            "realms/brk/partialImport",
            Some(manager_realm)
        )
        .await,
        403,
        "partialImport needs manage-realm first"
    );
    let bad = json!({"identityProviderMappers": [
        {"name": "m", "identityProviderAlias": "ghost",
         "identityProviderMapper": "hardcoded-role-idp-mapper", "config": {"role": "dev"}}]});
    assert_eq!(
        app.post("realms/brk/partialImport", bad).await.status,
        StatusCode::BAD_REQUEST
    );
}
