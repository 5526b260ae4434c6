//! Identity providers in the store: realm files in and out (providers, mappers, users' links),
//! the snapshot, and the provenance of mapper-made memberships with their reconciliation,
//! against a real database (a SQLite file, or PostgreSQL when
//! `PORTCULLIS_TEST_DATABASE_URL` is set).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{NOW, TestDb};
use portcullis_core::model::FirstLoginPolicy;
use portcullis_store::admin::identity_providers as idp;
use portcullis_store::broker::{self, Login, MembershipKind};
use portcullis_store::{RealmRepresentation, StoreError, parse_realm_json};
use serde_json::{Value, json};

fn realm() -> Value {
    json!({
        "realm": "acme",
        "roles": {"realm": [{"name": "dev"}, {"name": "ops"}]},
        "groups": [
            {"name": "platform"},
            {"name": "upstream", "subGroups": [{"name": "web"}]}
        ],
        "users": [
            {"username": "alice", "email": "alice@acme.test",
             "federatedIdentities": [
                 {"identityProvider": "company", "userId": "up-alice", "userName": "alice.up"}
             ]},
            {"username": "bob"}
        ],
        "identityProviders": [
            {"alias": "company", "displayName": "Company SSO", "providerId": "oidc",
             "trustEmail": true, "firstBrokerLoginFlowAlias": "first broker login",
             "config": {"clientId": "portcullis", "clientSecret": "s3cret",
                        "issuer": "https://idp.acme.test/realms/corp",
                        "clientAuthMethod": "client_secret_basic", "hideOnLoginPage": "true"}},
            {"alias": "github", "providerId": "github", "enabled": false,
             "firstBrokerLoginFlowAlias": "existing-only",
             "config": {"clientId": "gh", "clientSecret": "gh-secret",
                        "githubTeamsAsGroups": "true"}}
        ],
        "identityProviderMappers": [
            {"name": "platform", "identityProviderAlias": "company",
             "identityProviderMapper": "hardcoded-group-idp-mapper",
             "config": {"group": "/platform"}},
            {"name": "groups", "identityProviderAlias": "company",
             "identityProviderMapper": "upstream-groups-idp-mapper",
             "config": {"claim": "groups", "group.parent": "/upstream"}},
            {"name": "dev", "identityProviderAlias": "company",
             "identityProviderMapper": "oidc-role-idp-mapper",
             "config": {"claim": "roles", "claim.value": "developer", "role": "dev"}},
            {"name": "teams", "identityProviderAlias": "github",
             "identityProviderMapper": "upstream-groups-idp-mapper", "config": {}}
        ]
    })
}

fn parse(value: &Value) -> RealmRepresentation {
    parse_realm_json(&value.to_string()).unwrap()
}

async fn imported() -> TestDb {
    let db = TestDb::new().await;
    db.store
        .import_realm(parse(&realm()), false, NOW)
        .await
        .unwrap();
    db
}

#[tokio::test]
async fn providers_import_into_the_snapshot_and_export_back() {
    let db = imported().await;
    let snap = db.store.load_realm_snapshot("acme").await.unwrap().unwrap();
    let company = snap.identity_provider("company").unwrap();
    assert_eq!(company.label(), "Company SSO");
    assert!(company.enabled && company.trust_email && company.hide_on_login);
    assert_eq!(company.first_login, FirstLoginPolicy::LinkVerified);
    assert_eq!(company.config["clientSecret"], "s3cret");
    assert!(!company.config.contains_key("hideOnLoginPage"));
    let names: Vec<&str> = company.mappers.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["dev", "groups", "platform"]);
    let github = snap.identity_provider("github").unwrap();
    assert_eq!(github.first_login, FirstLoginPolicy::ExistingOnly);
    assert_eq!(github.label(), "github");
    assert_eq!(
        snap.login_providers().count(),
        0,
        "one hidden, one disabled"
    );

    let exported = db.store.export_realm("acme", true).await.unwrap().unwrap();
    let providers = serde_json::to_value(&exported.identity_providers).unwrap();
    assert_eq!(providers[0]["alias"], "company");
    assert_eq!(providers[0]["hideOnLogin"], true);
    assert_eq!(providers[0]["firstBrokerLoginFlowAlias"], "link-verified");
    assert_eq!(
        providers[0]["config"]["clientSecret"], "s3cret",
        "a full export keeps the secret, so it imports back into a working realm"
    );
    assert_eq!(providers[1]["enabled"], false);
    let mappers = serde_json::to_value(&exported.identity_provider_mappers).unwrap();
    assert_eq!(mappers.as_array().unwrap().len(), 4);
    assert_eq!(mappers[0]["identityProviderAlias"], "company");
    assert_eq!(mappers[3]["identityProviderAlias"], "github");
    let alice = exported
        .users
        .as_ref()
        .unwrap()
        .iter()
        .find(|u| u.username.as_deref() == Some("alice"))
        .unwrap();
    assert_eq!(alice.federated_identities.len(), 1);
    assert_eq!(
        alice.federated_identities[0].user_id.as_deref(),
        Some("up-alice")
    );

    // The export imports again, under another name, and exports the same providers.
    let mut again = exported.clone();
    again.realm = Some("acme-copy".into());
    again.id = None;
    for p in &mut again.identity_providers {
        p.internal_id = None;
    }
    for m in &mut again.identity_provider_mappers {
        m.id = None;
    }
    for u in again.users.iter_mut().flatten() {
        u.id = None;
        for c in &mut u.credentials {
            c.id = None;
        }
    }
    again.roles = None;
    again.groups = realm_groups();
    again.clients.clear();
    again.components.clear();
    // Client scopes and scope mappings carry the first realm's ids and clients.
    again.client_scopes = None;
    again.scope_mappings.clear();
    again.client_scope_mappings.clear();
    // Roles come back from the original file (their ids belong to the first realm).
    again.roles = parse(&realm()).roles;
    // The export names its default role by the first realm's id too.
    again.default_role = None;
    db.store.import_realm(again, false, NOW).await.unwrap();
    let copy = db
        .store
        .export_realm("acme-copy", true)
        .await
        .unwrap()
        .unwrap();
    let strip = |mut v: Value| {
        for p in v.as_array_mut().unwrap() {
            p.as_object_mut().unwrap().remove("internalId");
            p.as_object_mut().unwrap().remove("id");
        }
        v
    };
    assert_eq!(
        strip(serde_json::to_value(&copy.identity_providers).unwrap()),
        strip(providers)
    );
    assert_eq!(
        strip(serde_json::to_value(&copy.identity_provider_mappers).unwrap()),
        strip(mappers)
    );
    db.finish().await;
}

fn realm_groups() -> Vec<portcullis_store::representation::GroupRepresentation> {
    parse(&realm()).groups
}

#[tokio::test]
async fn bad_providers_fail_the_import_and_name_the_problem() {
    let db = TestDb::new().await;
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"identityProviders": [{"alias": "a b", "providerId": "oidc",
                   "config": {"clientId": "c", "issuer": "https://x.test"}}]}),
            "alias may contain only",
        ),
        (
            json!({"identityProviders": [
                {"alias": "x", "providerId": "oidc", "config": {"clientId": "c", "issuer": "https://x.test"}},
                {"alias": "x", "providerId": "oidc", "config": {"clientId": "c", "issuer": "https://x.test"}}]}),
            "identity provider 'x' is defined twice",
        ),
        (
            json!({"identityProviders": [{"alias": "x", "providerId": "saml"}]}),
            "providerId 'saml' is not supported",
        ),
        (
            json!({"identityProviders": [{"alias": "x", "providerId": "oidc",
                   "firstBrokerLoginFlowAlias": "custom", "config": {"clientId": "c", "issuer": "https://x.test"}}]}),
            "'custom' is not a first-login policy",
        ),
        (
            json!({"identityProviderMappers": [{"name": "m", "identityProviderAlias": "nope",
                   "identityProviderMapper": "hardcoded-role-idp-mapper", "config": {"role": "dev"}}]}),
            "refers to identity provider 'nope', which does not exist",
        ),
        (
            json!({"identityProviders": [{"alias": "x", "providerId": "oidc",
                   "config": {"clientId": "c", "issuer": "https://x.test"}}],
                   "identityProviderMappers": [{"name": "m", "identityProviderAlias": "x",
                   "identityProviderMapper": "hardcoded-role-idp-mapper", "config": {"role": "ghost"}}]}),
            "refers to role 'ghost', which does not exist",
        ),
        (
            json!({"identityProviders": [{"alias": "x", "providerId": "oidc",
                   "config": {"clientId": "c", "issuer": "https://x.test"}}],
                   "identityProviderMappers": [{"name": "m", "identityProviderAlias": "x",
                   "identityProviderMapper": "hardcoded-group-idp-mapper", "config": {"group": "/ghost"}}]}),
            "refers to group '/ghost', which does not exist",
        ),
        (
            json!({"users": [{"username": "u", "federatedIdentities": [{"identityProvider": "x"}]}]}),
            "a federated identity needs identityProvider and userId",
        ),
    ];
    for (mut body, want) in cases {
        body["realm"] = json!("bad");
        let err = db.store.import_realm(parse(&body), false, NOW).await;
        match err {
            Err(StoreError::Invalid(message)) => {
                assert!(message.contains(want), "{message} lacks {want}")
            }
            other => panic!("{body}: {other:?}"),
        }
        assert!(
            !db.store.realm_exists("bad").await.unwrap(),
            "nothing written"
        );
    }
    db.finish().await;
}

/// The realm's ids the reconciliation tests need.
struct Ids {
    realm: String,
    alice: String,
    company: String,
    mappers: BTreeMap<String, String>,
    groups: BTreeMap<String, String>,
    roles: BTreeMap<String, String>,
}

async fn ids(db: &TestDb) -> Ids {
    let snap = db.store.load_realm_snapshot("acme").await.unwrap().unwrap();
    let company = snap.identity_provider("company").unwrap();
    let (alice, _) = db
        .store
        .find_user_by_username(&snap.realm.id, "alice")
        .await
        .unwrap()
        .unwrap();
    Ids {
        realm: snap.realm.id.clone(),
        alice: alice.id,
        company: company.id.clone(),
        mappers: company
            .mappers
            .iter()
            .map(|m| (m.name.clone(), m.id.clone()))
            .collect(),
        groups: snap
            .groups
            .iter()
            .map(|g| (g.path.clone(), g.id.clone()))
            .collect(),
        roles: snap
            .roles
            .iter()
            .filter(|r| r.client_id.is_none())
            .map(|r| (r.name.clone(), r.id.clone()))
            .collect(),
    }
}

fn asserted(pairs: &[(&str, &[&str])]) -> BTreeMap<String, BTreeSet<String>> {
    pairs
        .iter()
        .map(|(target, mappers)| {
            (
                target.to_string(),
                mappers.iter().map(|m| m.to_string()).collect(),
            )
        })
        .collect()
}

async fn groups_of(db: &TestDb, user: &str) -> BTreeSet<String> {
    portcullis_store::admin::users::group_ids(db.store.connection(), user)
        .await
        .unwrap()
        .into_iter()
        .collect()
}

#[tokio::test]
async fn reconciliation_adds_refreshes_and_removes_only_what_mappers_made() {
    let db = imported().await;
    let ids = ids(&db).await;
    let conn = db.store.connection();
    let platform = ids.groups["/platform"].as_str();
    let web = ids.groups["/upstream/web"].as_str();
    let upstream = ids.groups["/upstream"].as_str();
    let hard = ids.mappers["platform"].as_str();
    let groups_mapper = ids.mappers["groups"].as_str();
    let dev_mapper = ids.mappers["dev"].as_str();
    let dev = ids.roles["dev"].as_str();

    // An admin put alice in /upstream by hand before any login.
    portcullis_store::admin::users::join_group(conn, &ids.alice, upstream)
        .await
        .unwrap();
    let login = |now| Login {
        realm_id: &ids.realm,
        user_id: &ids.alice,
        provider_id: &ids.company,
        now,
    };

    // First login: /platform from two mappers, /upstream/web, the dev role; and the
    // upstream also names /upstream, which the admin's membership already gives.
    let first = broker::reconcile(
        conn,
        login(NOW),
        &asserted(&[
            (platform, &[hard, groups_mapper]),
            (web, &[groups_mapper]),
            (upstream, &[groups_mapper]),
        ]),
        &asserted(&[(dev, &[dev_mapper])]),
    )
    .await
    .unwrap();
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    assert_eq!(
        sorted(first.added_groups.clone()),
        sorted(vec![platform.to_string(), web.to_string()])
    );
    assert_eq!(first.added_roles, [dev]);
    assert!(first.removed_groups.is_empty() && first.removed_roles.is_empty());
    assert_eq!(
        groups_of(&db, &ids.alice).await,
        BTreeSet::from([platform.into(), web.into(), upstream.into()])
    );
    let provenance = broker::provenance(conn, &ids.alice).await.unwrap();
    let rows: Vec<(MembershipKind, &str, &str, i64)> = provenance
        .iter()
        .map(|p| {
            (
                p.kind,
                p.target_id.as_str(),
                p.mapper_name.as_str(),
                p.last_seen_at,
            )
        })
        .collect();
    assert_eq!(rows.len(), 4, "{rows:?}: none for the admin's /upstream");
    assert!(provenance.iter().all(|p| p.provider_alias == "company"));
    assert!(
        rows.iter().all(|(_, target, _, _)| *target != upstream),
        "the admin's membership is not adopted"
    );

    // Second login: the upstream dropped the groups claim's /upstream/web and the role; the
    // hardcoded mapper still gives /platform, so it stays (with one provenance row left).
    let second = broker::reconcile(
        conn,
        login(NOW + 60),
        &asserted(&[(platform, &[hard])]),
        &BTreeMap::new(),
    )
    .await
    .unwrap();
    assert_eq!(second.removed_groups, [web]);
    assert_eq!(second.removed_roles, [dev]);
    assert!(second.added_groups.is_empty());
    assert_eq!(
        groups_of(&db, &ids.alice).await,
        BTreeSet::from([platform.into(), upstream.into()]),
        "the admin's /upstream survives"
    );
    let provenance = broker::provenance(conn, &ids.alice).await.unwrap();
    assert_eq!(provenance.len(), 1);
    assert_eq!(provenance[0].mapper_name, "platform");
    assert_eq!(provenance[0].created_at, NOW);
    assert_eq!(provenance[0].last_seen_at, NOW + 60);
    let roles = portcullis_store::admin::roles::mapped_ids(
        conn,
        portcullis_store::admin::roles::Holder::User(&ids.alice),
    )
    .await
    .unwrap();
    assert!(!roles.contains(&dev.to_string()));

    // An admin removes /platform by hand: its provenance goes with it, and the next login
    // that asserts it again puts it back as the mapper's.
    portcullis_store::admin::users::leave_group(conn, &ids.alice, platform)
        .await
        .unwrap();
    assert!(
        broker::provenance(conn, &ids.alice)
            .await
            .unwrap()
            .is_empty()
    );
    let third = broker::reconcile(
        conn,
        login(NOW + 120),
        &asserted(&[(platform, &[hard])]),
        &BTreeMap::new(),
    )
    .await
    .unwrap();
    assert_eq!(third.added_groups, [platform]);
    assert!(third.changed());

    // Reconciling with nothing asserted removes what the mappers made, never the admin's.
    let last = broker::reconcile(conn, login(NOW + 180), &BTreeMap::new(), &BTreeMap::new())
        .await
        .unwrap();
    assert_eq!(last.removed_groups, [platform]);
    assert_eq!(
        groups_of(&db, &ids.alice).await,
        BTreeSet::from([upstream.into()])
    );

    // Targets that do not exist are left out instead of failing the login.
    let ghost = broker::reconcile(
        conn,
        login(NOW + 240),
        &asserted(&[("no-such-group", &[hard])]),
        &asserted(&[("no-such-role", &[dev_mapper])]),
    )
    .await
    .unwrap();
    assert!(!ghost.changed());
    db.finish().await;
}

#[tokio::test]
async fn deleting_a_mapper_removes_only_what_it_alone_asserted() {
    let db = imported().await;
    let ids = ids(&db).await;
    let conn = db.store.connection();
    let platform = ids.groups["/platform"].as_str();
    let web = ids.groups["/upstream/web"].as_str();
    let hard = ids.mappers["platform"].as_str();
    let groups_mapper = ids.mappers["groups"].as_str();
    broker::reconcile(
        conn,
        Login {
            realm_id: &ids.realm,
            user_id: &ids.alice,
            provider_id: &ids.company,
            now: NOW,
        },
        &asserted(&[(platform, &[hard, groups_mapper]), (web, &[groups_mapper])]),
        &BTreeMap::new(),
    )
    .await
    .unwrap();
    let mut users = BTreeSet::new();
    let removed = idp::remove_asserted_memberships(conn, &[groups_mapper.to_string()], &mut users)
        .await
        .unwrap();
    assert_eq!(
        removed,
        idp::Removed {
            groups: 1,
            roles: 0
        }
    );
    assert_eq!(users, BTreeSet::from([ids.alice.clone()]));
    idp::delete_mapper(conn, groups_mapper).await.unwrap();
    assert_eq!(
        groups_of(&db, &ids.alice).await,
        BTreeSet::from([platform.into()]),
        "/platform is still asserted by the hardcoded mapper"
    );
    let provenance = broker::provenance(conn, &ids.alice).await.unwrap();
    assert_eq!(provenance.len(), 1);
    assert_eq!(provenance[0].mapper_id, hard);

    // Deleting the provider: its links go, and with its mappers' memberships removed first,
    // nothing it made is left behind.
    let company = idp::find(conn, &ids.realm, "company")
        .await
        .unwrap()
        .unwrap();
    let mapper_ids: Vec<String> = idp::mappers(conn, &company.id)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.id)
        .collect();
    idp::remove_asserted_memberships(conn, &mapper_ids, &mut users)
        .await
        .unwrap();
    idp::delete(conn, &company).await.unwrap();
    assert!(groups_of(&db, &ids.alice).await.is_empty());
    assert!(
        broker::linked_user(conn, &ids.realm, "company", "up-alice")
            .await
            .unwrap()
            .is_none()
    );
    let snap = db.store.load_realm_snapshot("acme").await.unwrap().unwrap();
    assert!(snap.identity_provider("company").is_none());
    assert!(snap.identity_provider("github").is_some());
    db.finish().await;
}

#[tokio::test]
async fn mapper_attributes_set_the_profile_and_follow_the_upstream() {
    let db = imported().await;
    let ids = ids(&db).await;
    let conn = db.store.connection();
    let alice = portcullis_store::admin::users::find(conn, &ids.realm, &ids.alice)
        .await
        .unwrap()
        .unwrap();
    let attributes = BTreeMap::from([
        ("department".to_string(), vec!["R&D".to_string()]),
        ("firstName".to_string(), vec!["Alice".to_string()]),
        ("email".to_string(), vec!["Alice@New.Test".to_string()]),
    ]);
    assert!(
        broker::apply_attributes(conn, &alice, &attributes)
            .await
            .unwrap()
    );
    let alice = portcullis_store::admin::users::find(conn, &ids.realm, &ids.alice)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(alice.first_name.as_deref(), Some("Alice"));
    assert_eq!(alice.email.as_deref(), Some("alice@new.test"));
    assert!(!alice.email_verified);
    let stored: BTreeMap<String, Vec<String>> = serde_json::from_str(&alice.attributes).unwrap();
    assert_eq!(stored["department"], ["R&D"]);
    assert!(
        !broker::apply_attributes(conn, &alice, &attributes)
            .await
            .unwrap(),
        "the same values change nothing"
    );
    // The claim is gone: the attribute goes. Bob's e-mail is not taken over.
    let bob = portcullis_store::admin::users::find_by_username(conn, &ids.realm, "bob")
        .await
        .unwrap()
        .unwrap();
    let mut bob_row = bob.clone();
    bob_row.email = Some("bob@acme.test".into());
    portcullis_store::admin::users::update(conn, bob_row)
        .await
        .unwrap();
    let next = BTreeMap::from([
        ("department".to_string(), Vec::new()),
        ("email".to_string(), vec!["bob@acme.test".to_string()]),
    ]);
    assert!(broker::apply_attributes(conn, &alice, &next).await.unwrap());
    let alice = portcullis_store::admin::users::find(conn, &ids.realm, &ids.alice)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(alice.email.as_deref(), Some("alice@new.test"));
    let stored: BTreeMap<String, Vec<String>> = serde_json::from_str(&alice.attributes).unwrap();
    assert!(!stored.contains_key("department"));
    db.finish().await;
}

#[tokio::test]
async fn the_migration_gives_existing_realms_the_identity_provider_admin_roles() {
    use portcullis_migrations::{Migrator, MigratorTrait};
    use sea_orm::{ConnectionTrait, Statement};
    let db = imported().await;
    let conn = db.store.connection();
    let backend = conn.get_database_backend();
    // A realm from before the migration: without the two roles.
    conn.execute(Statement::from_string(
        backend,
        "DELETE FROM role WHERE name IN ('view-identity-providers', 'manage-identity-providers')",
    ))
    .await
    .unwrap();
    // Down to before the identity-provider migration (000011; those after it go too), and up.
    let after = Migrator::migrations()
        .iter()
        .position(|m| m.name().contains("000011"))
        .map(|at| Migrator::migrations().len() - at)
        .unwrap();
    Migrator::down(conn, Some(u32::try_from(after).unwrap()))
        .await
        .unwrap();
    Migrator::up(conn, None).await.unwrap();
    let snap = db.store.load_realm_snapshot("acme").await.unwrap().unwrap();
    let admin = snap
        .roles
        .iter()
        .find(|r| r.qualified_name() == "realm-management.realm-admin")
        .unwrap();
    for name in ["view-identity-providers", "manage-identity-providers"] {
        let role = snap
            .role_by_qualified_name(&format!("realm-management.{name}"))
            .unwrap_or_else(|| panic!("{name}"));
        assert!(
            admin.composite_ids.contains(&role.id),
            "{name} in realm-admin"
        );
    }
    db.finish().await;
}
