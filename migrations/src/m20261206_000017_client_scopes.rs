//! Client scopes as Keycloak has them: a `client_scope` table (name unique per realm, protocol,
//! attributes, protocol mappers and role scope mappings kept as JSON in `text` columns, as the
//! client's attributes are, and whether the scope is one of the realm's default or optional
//! scopes for new clients), and on `client` the `fullScopeAllowed` switch and the client's own
//! role scope mappings.
//!
//! Every existing realm gets Keycloak's built-in scopes (the same definitions new realms get,
//! from `portcullis_core::client_scopes`), with `offline_access` mapped to the realm's
//! `offline_access` role where it has one; its openid-connect clients get `basic` among their
//! default scopes, as Keycloak's migration to 25 gave every client (its `sub` and `auth_time`).

use sea_orm_migration::prelude::*;

use crate::sql::{new_id, placeholders};
use portcullis_core::model::RealmScopeType;
use sea_orm_migration::sea_orm::{ConnectionTrait, Statement, Value as DbValue};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ClientScope {
    Table,
    Id,
    RealmId,
    Name,
    Description,
    Protocol,
    Attributes,
    ProtocolMappers,
    RoleIds,
    RealmType,
}

#[derive(DeriveIden)]
enum Client {
    Table,
    FullScopeAllowed,
    ScopeRoleIds,
}

#[derive(DeriveIden)]
enum Realm {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use ClientScope as S;
        manager
            .create_table(
                Table::create()
                    .table(S::Table)
                    .col(
                        ColumnDef::new(S::Id)
                            .string_len(64)
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(S::RealmId).string_len(64).not_null())
                    .col(ColumnDef::new(S::Name).string_len(255).not_null())
                    .col(ColumnDef::new(S::Description).text().null())
                    .col(ColumnDef::new(S::Protocol).string_len(64).not_null())
                    .col(ColumnDef::new(S::Attributes).text().not_null())
                    .col(ColumnDef::new(S::ProtocolMappers).text().not_null())
                    .col(ColumnDef::new(S::RoleIds).text().not_null())
                    .col(ColumnDef::new(S::RealmType).string_len(16).not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_client_scope_realm")
                            .from(S::Table, S::RealmId)
                            .to(Realm::Table, Realm::Id)
                            .on_delete(ForeignKeyAction::Cascade)
                            .on_update(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_client_scope_realm_name")
                    .table(S::Table)
                    .col(S::RealmId)
                    .col(S::Name)
                    .unique()
                    .to_owned(),
            )
            .await?;
        for column in [
            ColumnDef::new(Client::FullScopeAllowed)
                .boolean()
                .not_null()
                .default(true)
                .to_owned(),
            ColumnDef::new(Client::ScopeRoleIds)
                .text()
                .not_null()
                .default("[]")
                .to_owned(),
        ] {
            let mut column = column;
            manager
                .alter_table(
                    Table::alter()
                        .table(Client::Table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        seed_builtins(manager).await?;
        add_basic_to_clients(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [Client::FullScopeAllowed, Client::ScopeRoleIds] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Client::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .drop_table(
                Table::drop()
                    .table(ClientScope::Table)
                    .if_exists()
                    .to_owned(),
            )
            .await
    }
}

/// The stored spelling of a realm scope type.
pub(crate) fn realm_type(kind: RealmScopeType) -> &'static str {
    match kind {
        RealmScopeType::None => "none",
        RealmScopeType::Default => "default",
        RealmScopeType::Optional => "optional",
    }
}

async fn add_basic_to_clients(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let db = manager.get_connection();
    let backend = manager.get_database_backend();
    let clients = db
        .query_all(Statement::from_sql_and_values(
            backend,
            "SELECT id, default_client_scopes FROM client WHERE protocol = 'openid-connect'",
            [],
        ))
        .await?;
    let update = placeholders(
        backend,
        "UPDATE client SET default_client_scopes = ? WHERE id = ?",
    );
    for row in clients {
        let id: String = row.try_get("", "id")?;
        let stored: String = row.try_get("", "default_client_scopes")?;
        // A list that does not parse is left for the store to report, not overwritten.
        let Ok(mut scopes) = serde_json::from_str::<Vec<String>>(&stored) else {
            continue;
        };
        if scopes.iter().any(|s| s == "basic") {
            continue;
        }
        scopes.push("basic".to_owned());
        let text = serde_json::to_string(&scopes).map_err(|e| DbErr::Custom(e.to_string()))?;
        db.execute(Statement::from_sql_and_values(
            backend,
            &update,
            [DbValue::from(text), DbValue::from(id)],
        ))
        .await?;
    }
    Ok(())
}

async fn seed_builtins(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let db = manager.get_connection();
    let backend = manager.get_database_backend();
    let realms = db
        .query_all(Statement::from_sql_and_values(
            backend,
            "SELECT realm.id AS id, (SELECT role.id FROM role WHERE role.realm_id = realm.id \
             AND role.client_pk IS NULL AND role.name = 'offline_access') AS offline_role \
             FROM realm",
            [],
        ))
        .await?;
    let insert = placeholders(
        backend,
        "INSERT INTO client_scope (id, realm_id, name, description, protocol, attributes, \
         protocol_mappers, role_ids, realm_type) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    );
    for row in realms {
        let realm_id: String = row.try_get("", "id")?;
        let offline_role: Option<String> = row.try_get("", "offline_role")?;
        let mut ids = new_id;
        for scope in
            portcullis_core::client_scopes::builtin_client_scopes(&mut ids, offline_role.as_deref())
        {
            let mappers: Vec<serde_json::Value> = scope
                .protocol_mappers
                .iter()
                .map(|m| {
                    serde_json::json!({
                        "id": m.id,
                        "name": m.name,
                        "protocol": m.protocol,
                        "protocolMapper": m.mapper_type,
                        "config": m.config,
                    })
                })
                .collect();
            let values: Vec<DbValue> = vec![
                scope.id.into(),
                realm_id.clone().into(),
                scope.name.into(),
                scope.description.into(),
                scope.protocol.into(),
                serde_json::to_string(&scope.attributes)
                    .map_err(|e| DbErr::Custom(e.to_string()))?
                    .into(),
                serde_json::Value::Array(mappers).to_string().into(),
                serde_json::to_string(&scope.role_ids)
                    .map_err(|e| DbErr::Custom(e.to_string()))?
                    .into(),
                realm_type(scope.realm_type).into(),
            ];
            db.execute(Statement::from_sql_and_values(backend, &insert, values))
                .await?;
        }
    }
    Ok(())
}
