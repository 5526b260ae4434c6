//! Every realm gets Keycloak's `account` client, with its client roles (`view-profile`,
//! `manage-account`, ...), and `account-console`, the public client (code flow with PKCE
//! S256) of the realm's account console. Realms created from now on get them from the
//! importer; this adds them to the realms that exist already, leaving alone a realm that has
//! one of them (a Keycloak import) and every role it has. Their redirect URI,
//! `/realms/{realm}/account/*`, is relative to the server's public URL, which is resolved when
//! the realm is loaded.

use sea_orm_migration::prelude::*;

use crate::sql::{new_id, placeholders};
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, Statement, Value as DbValue};

#[derive(DeriveMigrationName)]
pub struct Migration;

const ACCOUNT: &str = "account";
const CONSOLE: &str = "account-console";
/// Keycloak's `account` client roles and the composites among them.
const ROLES: [(&str, &[&str]); 8] = [
    ("view-profile", &[]),
    ("manage-account", &["manage-account-links"]),
    ("manage-account-links", &[]),
    ("view-applications", &[]),
    ("view-consent", &[]),
    ("manage-consent", &["view-consent"]),
    ("delete-account", &[]),
    ("view-groups", &[]),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let backend = manager.get_database_backend();
        for client_id in [ACCOUNT, CONSOLE] {
            let realms = db
                .query_all(Statement::from_sql_and_values(
                    backend,
                    placeholders(
                        backend,
                        "SELECT id, name FROM realm WHERE NOT EXISTS \
                         (SELECT 1 FROM client WHERE client.realm_id = realm.id \
                          AND client.client_id = ?)",
                    ),
                    [DbValue::from(client_id)],
                ))
                .await?;
            for row in realms {
                let realm_id: String = row.try_get("", "id")?;
                let name: String = row.try_get("", "name")?;
                let client_pk = new_id();
                insert_client(db, backend, &client_pk, &realm_id, &name, client_id).await?;
                if client_id == ACCOUNT {
                    insert_roles(db, backend, &realm_id, &client_pk).await?;
                }
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        let db = manager.get_connection();
        for sql in [
            "DELETE FROM composite_role WHERE composite_id IN (SELECT role.id FROM role \
             JOIN client ON role.client_pk = client.id WHERE client.client_id = ?)",
            "DELETE FROM role WHERE client_pk IN (SELECT id FROM client WHERE client_id = ?)",
        ] {
            db.execute(Statement::from_sql_and_values(
                backend,
                placeholders(backend, sql),
                [DbValue::from(ACCOUNT)],
            ))
            .await?;
        }
        for client_id in [ACCOUNT, CONSOLE] {
            db.execute(Statement::from_sql_and_values(
                backend,
                placeholders(backend, "DELETE FROM client WHERE client_id = ?"),
                [DbValue::from(client_id)],
            ))
            .await?;
        }
        Ok(())
    }
}

async fn insert_client(
    db: &SchemaManagerConnection<'_>,
    backend: DbBackend,
    id: &str,
    realm_id: &str,
    realm_name: &str,
    client_id: &str,
) -> Result<(), DbErr> {
    let insert = placeholders(
        backend,
        "INSERT INTO client (id, realm_id, client_id, name, protocol, enabled, public_client, \
         bearer_only, redirect_uris, web_origins, attributes, standard_flow_enabled, \
         direct_access_grants_enabled, service_accounts_enabled, created_at, consent_required, \
         default_client_scopes, optional_client_scopes) \
         VALUES (?, ?, ?, ?, 'openid-connect', ?, ?, ?, ?, '[]', ?, ?, ?, ?, 0, ?, ?, ?)",
    );
    let redirect = serde_json::json!([format!("/realms/{realm_name}/account/*")]).to_string();
    let mut attributes = serde_json::json!({"post.logout.redirect.uris": "+"});
    if client_id == CONSOLE {
        attributes["pkce.code.challenge.method"] = "S256".into();
    }
    let values: Vec<DbValue> = vec![
        id.into(),
        realm_id.into(),
        client_id.into(),
        format!("${{client_{client_id}}}").into(),
        true.into(),
        true.into(),
        false.into(),
        redirect.into(),
        attributes.to_string().into(),
        true.into(),
        false.into(),
        false.into(),
        false.into(),
        r#"["web-origins","acr","profile","roles","email"]"#.into(),
        r#"["address","phone","offline_access","microprofile-jwt"]"#.into(),
    ];
    db.execute(Statement::from_sql_and_values(backend, &insert, values))
        .await?;
    Ok(())
}

async fn insert_roles(
    db: &SchemaManagerConnection<'_>,
    backend: DbBackend,
    realm_id: &str,
    client_pk: &str,
) -> Result<(), DbErr> {
    let insert = placeholders(
        backend,
        "INSERT INTO role (id, realm_id, client_pk, name, description, attributes) \
         VALUES (?, ?, ?, ?, ?, '{}')",
    );
    let ids: Vec<(&str, String)> = ROLES.iter().map(|(name, _)| (*name, new_id())).collect();
    for (name, id) in &ids {
        let values: Vec<DbValue> = vec![
            id.clone().into(),
            realm_id.into(),
            client_pk.into(),
            (*name).into(),
            format!("${{role_{name}}}").into(),
        ];
        db.execute(Statement::from_sql_and_values(backend, &insert, values))
            .await?;
    }
    let composite = placeholders(
        backend,
        "INSERT INTO composite_role (composite_id, child_id) VALUES (?, ?)",
    );
    let id_of = |name: &str| {
        ids.iter()
            .find(|(n, _)| *n == name)
            .map(|(_, id)| id.clone())
    };
    for (name, children) in ROLES {
        for child in children {
            if let (Some(parent), Some(child)) = (id_of(name), id_of(child)) {
                db.execute(Statement::from_sql_and_values(
                    backend,
                    &composite,
                    [DbValue::from(parent), DbValue::from(child)],
                ))
                .await?;
            }
        }
    }
    Ok(())
}
