//! Every realm gets `docker-cli`, the public client `docker-credential-portcullis` signs in
//! through: the device authorization grant only, no refresh tokens (its access tokens are
//! exchanged at once for a docker identity token at the docker-v2 endpoint). Realms created from
//! now on get it from the importer; this adds it to the realms that exist already, leaving alone
//! a realm that has a client of that name.

use sea_orm_migration::prelude::*;

use crate::sql::{new_id, placeholders};
use sea_orm_migration::sea_orm::{ConnectionTrait, Statement, Value as DbValue};

#[derive(DeriveMigrationName)]
pub struct Migration;

const DOCKER_CLI: &str = "docker-cli";

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
                    "SELECT id FROM realm WHERE NOT EXISTS \
                     (SELECT 1 FROM client WHERE client.realm_id = realm.id \
                      AND client.client_id = ?)",
                ),
                [DbValue::from(DOCKER_CLI)],
            ))
            .await?;
        let insert = placeholders(
            backend,
            "INSERT INTO client (id, realm_id, client_id, name, protocol, enabled, public_client, \
             bearer_only, redirect_uris, web_origins, attributes, standard_flow_enabled, \
             direct_access_grants_enabled, service_accounts_enabled, created_at, consent_required, \
             default_client_scopes, optional_client_scopes) \
             VALUES (?, ?, ?, ?, 'openid-connect', ?, ?, ?, '[]', '[]', ?, ?, ?, ?, 0, ?, ?, ?)",
        );
        let attributes = serde_json::json!({
            "oauth2.device.authorization.grant.enabled": "true",
            "use.refresh.tokens": "false",
        });
        for row in realms {
            let realm_id: String = row.try_get("", "id")?;
            let values: Vec<DbValue> = vec![
                new_id().into(),
                realm_id.into(),
                DOCKER_CLI.into(),
                "Docker credential helper".into(),
                true.into(),
                true.into(),
                false.into(),
                attributes.to_string().into(),
                false.into(),
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
                [DbValue::from(DOCKER_CLI)],
            ))
            .await?;
        Ok(())
    }
}
