//! Realm and client roles, by name and id, composites, holders and role mappings.

use axum::http::StatusCode;
use serde_json::json;

use crate::common::{BASE, app, names};

#[tokio::test]
async fn realm_roles_by_name_and_id() {
    let app = app().await;
    let reply = app
        .post(
            "realms/acme/roles",
            json!({"name": "qa team", "description": "Tests", "attributes": {"k": ["v"]}}),
        )
        .await;
    assert_eq!(
        reply.header("location"),
        format!("{BASE}/auth/admin/realms/acme/roles/qa%20team")
    );
    let role = app.get("realms/acme/roles/qa%20team").await.value();
    assert_eq!(role["description"], "Tests");
    assert_eq!(role["composite"], false);
    assert_eq!(role["clientRole"], false);
    assert_eq!(role["attributes"]["k"], json!(["v"]));
    let id = role["id"].as_str().unwrap().to_string();
    let by_id = app
        .get(&format!("realms/acme/roles-by-id/{id}"))
        .await
        .value();
    assert_eq!(by_id["name"], "qa team");

    let reply = app
        .post("realms/acme/roles", json!({"name": "qa team"}))
        .await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    assert_eq!(
        reply.value()["errorMessage"],
        "Role with name qa team already exists"
    );
    assert_eq!(
        app.post("realms/acme/roles", json!({"description": "x"}))
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        app.post(
            "realms/acme/roles",
            json!({"name": "c", "composites": {"realm": ["missing"]}})
        )
        .await
        .status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        app.get("realms/acme/roles/c").await.status,
        StatusCode::NOT_FOUND
    );

    let reply = app
        .put(
            &format!("realms/acme/roles-by-id/{id}"),
            json!({"name": "qa", "description": ""}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    let role = app.get("realms/acme/roles/qa").await.value();
    assert!(role.get("description").is_none());
    assert_eq!(
        app.put("realms/acme/roles/qa", json!({"name": "dev"}))
            .await
            .status,
        StatusCode::CONFLICT
    );

    let list = app.get("realms/acme/roles").await.value();
    assert_eq!(
        names(&list, "name"),
        [
            "default-roles-acme",
            "dev",
            "lead",
            "offline_access",
            "qa",
            "uma_authorization"
        ]
    );
    assert_eq!(
        names(&app.get("realms/acme/roles?search=E").await.value(), "name"),
        ["default-roles-acme", "dev", "lead", "offline_access"]
    );
    let lead = list
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "lead")
        .unwrap();
    assert_eq!(lead["composite"], true);

    assert_eq!(
        app.delete("realms/acme/roles/qa").await.status,
        StatusCode::NO_CONTENT
    );
    let gone = app.get(&format!("realms/acme/roles-by-id/{id}")).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(gone.value(), json!({"error": "Could not find role"}));
}

#[tokio::test]
async fn composites_and_client_roles() {
    let app = app().await;
    let web = app.client_uuid("acme", "web").await;
    let reply = app
        .post(
            &format!("realms/acme/clients/{web}/roles"),
            json!({"name": "editor"}),
        )
        .await;
    assert_eq!(
        reply.header("location"),
        format!("{BASE}/auth/admin/realms/acme/clients/{web}/roles/editor")
    );
    let editor = app
        .get(&format!("realms/acme/clients/{web}/roles/editor"))
        .await
        .value();
    assert_eq!(editor["clientRole"], true);
    assert_eq!(editor["containerId"], web);
    let dev = app.get("realms/acme/roles/dev").await.value();

    // python-keycloak posts composites by name, admin-client by id.
    let reply = app
        .post("realms/acme/roles", json!({"name": "chief"}))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let chief = app.get("realms/acme/roles/chief").await.value();
    let chief_id = chief["id"].as_str().unwrap();
    let reply = app
        .post("realms/acme/roles/chief/composites", json!([dev]))
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.value());
    let reply = app
        .post(
            &format!("realms/acme/roles-by-id/{chief_id}/composites"),
            json!([{"id": editor["id"]}]),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    let all = app.get("realms/acme/roles/chief/composites").await.value();
    assert_eq!(names(&all, "name"), ["dev", "editor"]);
    assert_eq!(
        names(
            &app.get("realms/acme/roles/chief/composites/realm")
                .await
                .value(),
            "name"
        ),
        ["dev"]
    );
    let of_web = app
        .get(&format!(
            "realms/acme/roles-by-id/{chief_id}/composites/clients/{web}"
        ))
        .await;
    assert_eq!(names(&of_web.value(), "name"), ["editor"]);
    assert_eq!(
        app.get("realms/acme/roles/chief").await.value()["composite"],
        true
    );
    for (body, want) in [
        (json!([{"id": "nope"}]), StatusCode::NOT_FOUND),
        (json!([chief]), StatusCode::BAD_REQUEST),
        (json!({"id": "x"}), StatusCode::BAD_REQUEST),
    ] {
        let reply = app
            .post("realms/acme/roles/chief/composites", body.clone())
            .await;
        assert_eq!(reply.status, want, "{body}");
    }
    let reply = app
        .delete_with("realms/acme/roles/chief/composites", json!([dev]))
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert_eq!(
        names(
            &app.get("realms/acme/roles/chief/composites").await.value(),
            "name"
        ),
        ["editor"]
    );

    // A role with composites by name at creation.
    let reply = app
        .post("realms/acme/roles", json!({"name": "all", "composite": true,
                                          "composites": {"realm": ["dev"], "client": {"web": ["editor"]}}}))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.value());
    assert_eq!(
        names(
            &app.get("realms/acme/roles/all/composites").await.value(),
            "name"
        ),
        ["dev", "editor"]
    );
    assert_eq!(
        app.post("realms/acme/clients/nope/roles", json!({"name": "x"}))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn role_mappings_direct_effective_and_available() {
    let app = app().await;
    let alice = app.user_id("acme", "alice").await;
    let web = app.client_uuid("acme", "web").await;
    app.post(
        &format!("realms/acme/clients/{web}/roles"),
        json!({"name": "editor"}),
    )
    .await;
    let lead = app.get("realms/acme/roles/lead").await.value();
    let editor = app
        .get(&format!("realms/acme/clients/{web}/roles/editor"))
        .await
        .value();
    let base = format!("realms/acme/users/{alice}/role-mappings");

    assert_eq!(
        app.get(&base).await.value(),
        json!({}),
        "empty mappings leave keys out"
    );
    let reply = app
        .post(
            &format!("{base}/realm"),
            json!([{"id": lead["id"], "name": "lead"}]),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.value());
    let reply = app
        .post(&format!("{base}/clients/{web}"), json!([editor]))
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.value());
    let all = app.get(&base).await.value();
    assert_eq!(names(&all["realmMappings"], "name"), ["lead"]);
    assert_eq!(all["clientMappings"]["web"]["id"], web);
    assert_eq!(
        names(&all["clientMappings"]["web"]["mappings"], "name"),
        ["editor"]
    );

    // Effective roles include composites and groups.
    let eng = app.get("realms/acme/group-by-path/eng").await.value();
    let platform = eng["subGroups"][0]["id"].as_str().unwrap();
    app.put(
        &format!("realms/acme/users/{alice}/groups/{platform}"),
        json!({}),
    )
    .await;
    let roles = app.post("realms/acme/roles", json!({"name": "ops"})).await;
    assert_eq!(roles.status, StatusCode::CREATED);
    let ops = app.get("realms/acme/roles/ops").await.value();
    let reply = app
        .post(
            &format!(
                "realms/acme/groups/{}/role-mappings/realm",
                eng["id"].as_str().unwrap()
            ),
            json!([ops]),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    let effective = app.get(&format!("{base}/realm/composite")).await.value();
    assert_eq!(names(&effective, "name"), ["dev", "lead", "ops"]);
    let direct = app.get(&format!("{base}/realm")).await.value();
    assert_eq!(names(&direct, "name"), ["lead"]);
    let available = app.get(&format!("{base}/realm/available")).await.value();
    assert!(!names(&available, "name").contains(&"dev".to_string()));
    assert_eq!(
        names(
            &app.get(&format!("{base}/clients/{web}/composite"))
                .await
                .value(),
            "name"
        ),
        ["editor"]
    );
    assert_eq!(
        app.get(&format!("{base}/clients/{web}/available"))
            .await
            .value(),
        json!([])
    );
    let holders = app.get("realms/acme/roles/lead/users").await.value();
    assert_eq!(names(&holders, "username"), ["alice"]);
    let groups = app.get("realms/acme/roles/ops/groups").await.value();
    assert_eq!(names(&groups, "path"), ["/eng"]);

    // Unknown roles, roles of the wrong scope, mismatched id and name.
    for (path, body) in [
        (
            format!("{base}/realm"),
            json!([{"id": "nope", "name": "nope"}]),
        ),
        (format!("{base}/realm"), json!([editor])),
        (
            format!("{base}/realm"),
            json!([{"id": lead["id"], "name": "dev"}]),
        ),
        (format!("{base}/clients/{web}"), json!([lead])),
    ] {
        let reply = app.post(&path, body.clone()).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path} {body}");
    }
    assert_eq!(
        app.get("realms/acme/users/nope/role-mappings").await.status,
        StatusCode::NOT_FOUND
    );

    let reply = app
        .delete_with(&format!("{base}/realm"), json!([lead]))
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert_eq!(
        names(
            &app.get(&format!("{base}/realm/composite")).await.value(),
            "name"
        ),
        ["dev", "ops"]
    );
    let events = app.events("acme").await;
    assert_eq!(events[0]["resourceType"], "REALM_ROLE_MAPPING");
    assert_eq!(events[0]["operationType"], "DELETE");
    assert_eq!(
        events[0]["resourcePath"],
        format!("users/{alice}/role-mappings/realm")
    );
}
