//! Every realm gets Keycloak's `security-admin-console` client, the public client (code flow
//! with PKCE S256) its admin console signs in through. Realms created from now on get it from
//! the importer; this adds it to the realms that exist already. Its redirect URI,
//! `/admin/{realm}/console/*`, is relative to the server's public URL, which is resolved when
//! the realm is loaded, so it survives a change of base URL.

use sea_orm_migration::prelude::*;

use crate::sql::{new_id, placeholders};
use sea_orm_migration::sea_orm::{ConnectionTrait, Statement, Value as DbValue};

#[derive(DeriveMigrationName)]
pub struct Migration;

const CLIENT_ID: &str = "security-admin-console";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let backend = manager.get_database_backend();
        let realms = db
            .query_all(Statement::from_sql_and_values(
                backend,
                placeholders(
                    backend,
                    "SELECT id, name FROM realm WHERE NOT EXISTS \
                     (SELECT 1 FROM client WHERE client.realm_id = realm.id AND client.client_id = ?)",
                ),
                [DbValue::from(CLIENT_ID)],
            ))
            .await?;
        let insert = placeholders(
            backend,
            "INSERT INTO client (id, realm_id, client_id, name, protocol, enabled, public_client, \
             bearer_only, redirect_uris, web_origins, attributes, standard_flow_enabled, \
             direct_access_grants_enabled, service_accounts_enabled, created_at, consent_required, \
             default_client_scopes, optional_client_scopes) \
             VALUES (?, ?, ?, ?, 'openid-connect', ?, ?, ?, ?, '[]', ?, ?, ?, ?, 0, ?, ?, ?)",
        );
        for row in realms {
            let realm_id: String = row.try_get("", "id")?;
            let name: String = row.try_get("", "name")?;
            let redirect = serde_json::json!([format!("/admin/{name}/console/*")]).to_string();
            let attributes = serde_json::json!({"pkce.code.challenge.method": "S256"}).to_string();
            let values: Vec<DbValue> = vec![
                new_id().into(),
                realm_id.into(),
                CLIENT_ID.into(),
                "${client_security-admin-console}".into(),
                true.into(),
                true.into(),
                false.into(),
                redirect.into(),
                attributes.into(),
                true.into(),
                false.into(),
                false.into(),
                false.into(),
                r#"["web-origins","acr","profile","roles","email"]"#.into(),
                r#"["address","phone","offline_access","microprofile-jwt"]"#.into(),
            ];
            db.execute(Statement::from_sql_and_values(backend, &insert, values))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        manager
            .get_connection()
            .execute(Statement::from_sql_and_values(
                backend,
                placeholders(backend, "DELETE FROM client WHERE client_id = ?"),
                [DbValue::from(CLIENT_ID)],
            ))
            .await?;
        Ok(())
    }
}
