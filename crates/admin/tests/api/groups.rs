//! `/admin/realms/{realm}/groups` and `group-by-path`.

use axum::http::StatusCode;
use serde_json::json;

use crate::common::{BASE, app, names};

#[tokio::test]
async fn builds_and_navigates_the_tree() {
    let app = app().await;
    let reply = app
        .post(
            "realms/acme/groups",
            json!({"name": "ops", "attributes": {"oncall": ["yes"]}}),
        )
        .await;
    let ops = reply.created_id();
    assert_eq!(
        reply.header("location"),
        format!("{BASE}/auth/admin/realms/acme/groups/{ops}")
    );
    let reply = app.post("realms/acme/groups", json!({"name": "ops"})).await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    assert_eq!(
        reply.value()["errorMessage"],
        "Top level group named 'ops' already exists."
    );
    let child = app
        .post(
            &format!("realms/acme/groups/{ops}/children"),
            json!({"name": "night"}),
        )
        .await
        .created_id();
    let reply = app
        .post(
            &format!("realms/acme/groups/{ops}/children"),
            json!({"name": "night"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    assert_eq!(
        reply.value()["errorMessage"],
        "Sibling group named 'night' already exists."
    );
    for body in [json!({"name": "a/b"}), json!({}), json!({"name": 5})] {
        assert_eq!(
            app.post("realms/acme/groups", body.clone()).await.status,
            StatusCode::BAD_REQUEST,
            "{body}"
        );
    }

    let top = app.get("realms/acme/groups").await.value();
    assert_eq!(names(&top, "name"), ["eng", "ops"]);
    let ops_rep = top
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == "ops")
        .unwrap();
    assert_eq!(ops_rep["subGroupCount"], 1);
    assert_eq!(ops_rep["path"], "/ops");
    assert!(
        ops_rep.get("attributes").is_none(),
        "lists are brief by default"
    );
    let full = app.get(&format!("realms/acme/groups/{ops}")).await.value();
    assert_eq!(full["attributes"]["oncall"], json!(["yes"]));
    assert_eq!(full["subGroups"][0]["path"], "/ops/night");
    assert_eq!(full["realmRoles"], json!([]));
    let by_path = app.get("realms/acme/group-by-path/ops/night").await;
    assert_eq!(by_path.value()["id"], child);
    assert_eq!(by_path.value()["parentId"], ops);
    let missing = app.get("realms/acme/group-by-path/ops/day").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let children = app
        .get(&format!("realms/acme/groups/{ops}/children"))
        .await
        .value();
    assert_eq!(names(&children, "name"), ["night"]);

    // Search returns the hierarchy down to the matches.
    let found = app.get("realms/acme/groups?search=plat").await.value();
    assert_eq!(names(&found, "name"), ["eng"]);
    assert_eq!(found[0]["subGroups"][0]["name"], "platform");
    assert_eq!(
        app.get("realms/acme/groups/count").await.value(),
        json!({"count": 4})
    );
    assert_eq!(
        app.get("realms/acme/groups/count?top=true").await.value(),
        json!({"count": 2})
    );
    assert_eq!(
        app.get("realms/acme/groups/count?search=night")
            .await
            .value(),
        json!({"count": 1})
    );
    assert_eq!(
        names(
            &app.get("realms/acme/groups?q=oncall:yes&populateHierarchy=false")
                .await
                .value(),
            "name"
        ),
        ["ops"]
    );

    // Rename, move (posting an existing id), refuse cycles.
    assert_eq!(
        app.put(
            &format!("realms/acme/groups/{child}"),
            json!({"name": "late"})
        )
        .await
        .status,
        StatusCode::NO_CONTENT
    );
    let eng = app.get("realms/acme/group-by-path/eng").await.value()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let reply = app
        .post(
            &format!("realms/acme/groups/{eng}/children"),
            json!({"id": child}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.value());
    assert_eq!(
        app.get("realms/acme/group-by-path/eng/late").await.status,
        StatusCode::OK
    );
    let reply = app
        .post(
            &format!("realms/acme/groups/{child}/children"),
            json!({"id": eng}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let reply = app.post("realms/acme/groups", json!({"id": child})).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "back to the top");
    assert_eq!(
        app.get("realms/acme/group-by-path/late").await.status,
        StatusCode::OK
    );

    // Group role mappings.
    let dev = app.get("realms/acme/roles/dev").await.value();
    let reply = app
        .post(
            &format!("realms/acme/groups/{ops}/role-mappings/realm"),
            json!([dev]),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert_eq!(
        names(
            &app.get(&format!("realms/acme/groups/{ops}/role-mappings/realm"))
                .await
                .value(),
            "name"
        ),
        ["dev"]
    );
    assert_eq!(
        app.get(&format!("realms/acme/groups/{ops}")).await.value()["realmRoles"],
        json!(["dev"])
    );

    assert_eq!(
        app.delete(&format!("realms/acme/groups/{ops}"))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let gone = app.get(&format!("realms/acme/groups/{ops}")).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(gone.value(), json!({"error": "Could not find group by id"}));
}
