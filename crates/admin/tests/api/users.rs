//! `/admin/realms/{realm}/users`.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::common::{BASE, app, names};

#[tokio::test]
async fn creates_finds_updates_and_deletes_users() {
    let app = app().await;
    app.allow_unmanaged_attributes("acme").await;
    let reply = app
        .post(
            "realms/acme/users",
            json!({"username": "Bob", "email": "bob@acme.test", "firstName": "Bob", "enabled": true,
                   "attributes": {"team": ["a"]}, "groups": ["/eng/platform"],
                   "requiredActions": ["VERIFY_EMAIL"],
                   "credentials": [{"type": "password", "value": "bob-pw", "temporary": false}]}),
        )
        .await;
    let id = reply.created_id();
    assert!(
        reply
            .header("location")
            .starts_with(&format!("{BASE}/auth/admin/realms/acme/users/"))
    );
    assert_eq!(id.len(), 36, "a UUID");

    let bob = app.get(&format!("realms/acme/users/{id}")).await.value();
    assert_eq!(bob["username"], "bob", "usernames are stored lowercased");
    assert_eq!(bob["email"], "bob@acme.test");
    assert_eq!(bob["enabled"], true);
    assert_eq!(bob["attributes"]["team"], json!(["a"]));
    assert_eq!(bob["requiredActions"], json!(["VERIFY_EMAIL"]));
    assert_eq!(bob["createdTimestamp"], crate::common::NOW * 1000);
    assert!(bob.get("credentials").is_none());
    let groups = app
        .get(&format!("realms/acme/users/{id}/groups"))
        .await
        .value();
    assert_eq!(names(&groups, "path"), ["/eng/platform"]);

    // Conflicts.
    for (body, message) in [
        (json!({"username": "BOB"}), "User exists with same username"),
        (
            json!({"username": "bob2", "email": "BOB@acme.test"}),
            "User exists with same email",
        ),
    ] {
        let reply = app.post("realms/acme/users", body).await;
        assert_eq!(reply.status, StatusCode::CONFLICT);
        assert_eq!(reply.value(), json!({"errorMessage": message}));
    }
    // Bad input, and nothing half-written.
    for body in [
        json!({"email": "x@y.z"}),
        json!({"username": "e", "email": "not an email"}),
        json!({"username": "g", "groups": ["/missing"]}),
        json!({"username": "t", "enabled": "yes"}),
        json!({"username": "c", "credentials": [{"type": "password"}]}),
        json!(["array"]),
    ] {
        let reply = app.post("realms/acme/users", body.clone()).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{body}: {}",
            reply.value()
        );
    }
    assert_eq!(
        app.get("realms/acme/users?username=g&exact=true")
            .await
            .value(),
        json!([])
    );

    // Partial update.
    let reply = app
        .put(
            &format!("realms/acme/users/{id}"),
            json!({"lastName": "Builder", "email": ""}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.value());
    let bob = app.get(&format!("realms/acme/users/{id}")).await.value();
    assert_eq!(
        (bob["firstName"].clone(), bob["lastName"].clone()),
        (json!("Bob"), json!("Builder"))
    );
    assert!(bob.get("email").is_none());
    assert_eq!(
        bob["requiredActions"],
        json!(["VERIFY_EMAIL"]),
        "extras survive partial updates"
    );
    let reply = app
        .put(
            &format!("realms/acme/users/{id}"),
            json!({"username": "alice"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CONFLICT);

    // Delete.
    assert_eq!(
        app.delete(&format!("realms/acme/users/{id}")).await.status,
        StatusCode::NO_CONTENT
    );
    let gone = app.get(&format!("realms/acme/users/{id}")).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(gone.value(), json!({"error": "User not found"}));
    assert_eq!(
        app.delete(&format!("realms/acme/users/{id}")).await.status,
        StatusCode::NOT_FOUND
    );

    let events = app.events("acme").await;
    let kinds: Vec<(String, String)> = events
        .iter()
        .map(|e| {
            (
                e["operationType"].as_str().unwrap().into(),
                e["resourceType"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(kinds[0], ("DELETE".into(), "USER".into()));
    assert_eq!(kinds[1], ("UPDATE".into(), "USER".into()));
    let create = events
        .iter()
        .find(|e| e["operationType"] == "CREATE")
        .unwrap();
    assert_eq!(create["resourcePath"], format!("users/{id}"));
    let rep: Value = serde_json::from_str(create["representation"].as_str().unwrap()).unwrap();
    assert_eq!(rep["username"], "Bob");
    assert!(rep.get("credentials").is_none(), "no passwords in events");
    let admin_id = app.user_id("master", "admin").await;
    assert_eq!(create["authDetails"]["userId"], admin_id);
    assert_eq!(create["time"], crate::common::NOW * 1000);
}

#[tokio::test]
async fn searches_and_counts() {
    let app = app().await;
    app.allow_unmanaged_attributes("acme").await;
    for (username, email, first) in [
        ("carol", "carol@x.test", "Carol"),
        ("carla", "c@y.test", "Carla"),
        ("dan", "dan@x.test", "Dan"),
    ] {
        let body = json!({"username": username, "email": email, "firstName": first, "enabled": username != "dan",
                          "attributes": {"site": [if username == "dan" { "berlin" } else { "paris" }]}});
        assert_eq!(
            app.post("realms/acme/users", body).await.status,
            StatusCode::CREATED
        );
    }
    let rows = [
        ("search=car", vec!["carla", "carol"]),
        ("search=*x.test", vec!["carol", "dan"]),
        ("search=%22carol%22", vec!["carol"]),
        ("username=car&exact=true", vec![]),
        ("username=CAROL&exact=true", vec!["carol"]),
        ("username=ar", vec!["carla", "carol"]),
        ("email=x.test", vec!["carol", "dan"]),
        ("firstName=dan", vec!["dan"]),
        ("enabled=false", vec!["dan"]),
        ("q=site:paris", vec!["carla", "carol"]),
        ("q=site:paris&first=1&max=1", vec!["carol"]),
        ("q=site:paris%20site:berlin", vec![]),
        ("q=site:pari", vec![]),
        ("search=ca&first=1&max=1", vec!["carol"]),
    ];
    for (query, want) in rows {
        let reply = app.get(&format!("realms/acme/users?{query}")).await;
        assert_eq!(reply.status, StatusCode::OK, "{query}");
        let mut got = names(&reply.value(), "username");
        got.sort();
        assert_eq!(got, want, "{query}");
    }
    let count = app.get("realms/acme/users/count").await;
    assert_eq!(
        count.value(),
        json!(7),
        "a bare integer: 4 imported, 3 created"
    );
    // Attribute search follows updates and counts in SQL.
    let carla = app.user_id("acme", "carla").await;
    let moved = app
        .put(
            &format!("realms/acme/users/{carla}"),
            json!({"attributes": {"site": ["berlin"]}}),
        )
        .await;
    assert_eq!(moved.status, StatusCode::NO_CONTENT);
    let paris = app.get("realms/acme/users?q=site:paris").await;
    assert_eq!(names(&paris.value(), "username"), vec!["carol"]);
    assert_eq!(
        app.get("realms/acme/users/count?q=site:berlin")
            .await
            .value(),
        json!(2)
    );
    assert_eq!(
        app.get("realms/acme/users/count?search=car").await.value(),
        json!(2)
    );
    let brief = app
        .get("realms/acme/users?username=carol&briefRepresentation=true")
        .await;
    assert!(brief.value()[0].get("attributes").is_none() && brief.value()[0]["id"].is_string());
    assert_eq!(
        app.get("realms/acme/users?max=x").await.status,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn resets_passwords_and_lists_credentials() {
    let app = app().await;
    let alice = app.user_id("acme", "alice").await;
    let path = format!("realms/acme/users/{alice}/reset-password");
    let reply = app
        .put(
            &path,
            json!({"type": "password", "value": "n3w-pw", "temporary": true}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.value());
    let realm_id = app
        .store
        .load_realm_snapshot("acme")
        .await
        .unwrap()
        .unwrap()
        .realm
        .id;
    let (_, password) = app
        .store
        .find_user_by_username(&realm_id, "alice")
        .await
        .unwrap()
        .unwrap();
    let password = password.unwrap();
    assert!(password.verify("n3w-pw") && !password.verify("alice-pw"));
    assert_eq!(password.algorithm, "argon2");
    let user = app.get(&format!("realms/acme/users/{alice}")).await.value();
    assert_eq!(user["requiredActions"], json!(["UPDATE_PASSWORD"]));
    for body in [
        json!({"type": "password"}),
        json!({"value": ""}),
        json!({"type": "otp", "value": "1"}),
    ] {
        let reply = app.put(&path, body.clone()).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(reply.value()["error"], "invalid_request");
    }
    assert_eq!(
        app.put(
            "realms/acme/users/nope/reset-password",
            json!({"value": "x"})
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    let credentials = app
        .get(&format!("realms/acme/users/{alice}/credentials"))
        .await
        .value();
    assert_eq!(credentials[0]["type"], "password");
    let data: Value =
        serde_json::from_str(credentials[0]["credentialData"].as_str().unwrap()).unwrap();
    assert_eq!(data["algorithm"], "argon2");
    assert!(credentials[0].get("secretData").is_none());
    let cred = credentials[0]["id"].as_str().unwrap();
    let path = format!("realms/acme/users/{alice}/credentials/{cred}");
    assert_eq!(app.delete(&path).await.status, StatusCode::NO_CONTENT);
    assert_eq!(app.delete(&path).await.status, StatusCode::NOT_FOUND);
    let events = app.events("acme").await;
    assert!(events.iter().any(
        |e| e["resourcePath"] == format!("users/{alice}/reset-password")
            && e["operationType"] == "ACTION"
            && e.get("representation").is_none()
    ));
}

#[tokio::test]
async fn groups_sessions_and_logout() {
    let app = app().await;
    let alice = app.user_id("acme", "alice").await;
    let groups = app.get("realms/acme/groups").await.value();
    let eng = groups[0]["id"].as_str().unwrap().to_string();
    let path = format!("realms/acme/users/{alice}/groups/{eng}");
    assert_eq!(
        app.put(&path, json!({})).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.put(&path, json!({})).await.status,
        StatusCode::NO_CONTENT,
        "idempotent"
    );
    let mine = app
        .get(&format!("realms/acme/users/{alice}/groups"))
        .await
        .value();
    assert_eq!(names(&mine, "name"), ["eng"]);
    assert_eq!(
        app.get(&format!("realms/acme/users/{alice}/groups/count"))
            .await
            .value(),
        json!({"count": 1})
    );
    let members = app
        .get(&format!("realms/acme/groups/{eng}/members"))
        .await
        .value();
    assert_eq!(names(&members, "username"), ["alice"]);
    assert_eq!(app.delete(&path).await.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get(&format!("realms/acme/users/{alice}/groups/count"))
            .await
            .value(),
        json!({"count": 0})
    );
    let missing = format!("realms/acme/users/{alice}/groups/nope");
    assert_eq!(
        app.put(&missing, json!({})).await.status,
        StatusCode::NOT_FOUND
    );

    let realm_id = app
        .store
        .load_realm_snapshot("acme")
        .await
        .unwrap()
        .unwrap()
        .realm
        .id;
    let session = portcullis_store::UserSession {
        id: "s1".into(),
        realm_id: realm_id.clone(),
        user_id: alice.clone(),
        auth_time: crate::common::NOW,
        created_at: crate::common::NOW,
        last_seen_at: crate::common::NOW,
        ended: false,
    };
    app.store.create_user_session(&session).await.unwrap();
    let sessions = app
        .get(&format!("realms/acme/users/{alice}/sessions"))
        .await
        .value();
    assert_eq!(sessions[0]["id"], "s1");
    assert_eq!(sessions[0]["username"], "alice");
    assert_eq!(sessions[0]["start"], crate::common::NOW * 1000);
    let reply = app
        .post(&format!("realms/acme/users/{alice}/logout"), json!(null))
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert!(
        app.store
            .find_user_session("s1")
            .await
            .unwrap()
            .unwrap()
            .ended
    );
    assert_eq!(
        app.get(&format!("realms/acme/users/{alice}/sessions"))
            .await
            .value(),
        json!([])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_conflict_cleanly() {
    let app = std::sync::Arc::new(app().await);
    let mut tasks = Vec::new();
    for i in 0..12 {
        let app = app.clone();
        // Half the requests race for the same username.
        let username = if i % 2 == 0 {
            "racer".to_string()
        } else {
            format!("solo{i}")
        };
        tasks.push(tokio::spawn(async move {
            app.post(
                "realms/acme/users",
                json!({"username": username, "enabled": true}),
            )
            .await
            .status
        }));
    }
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    let created = statuses
        .iter()
        .filter(|s| **s == StatusCode::CREATED)
        .count();
    let conflicts = statuses
        .iter()
        .filter(|s| **s == StatusCode::CONFLICT)
        .count();
    assert_eq!((created, conflicts), (7, 5), "{statuses:?}");
    assert_eq!(
        app.get("realms/acme/users/count").await.value(),
        json!(4 + 7)
    );
}
