//! Keycloak's realm defaults for the realms that exist already (realms created from now on get
//! them from the importer): the realm roles `offline_access` and `uma_authorization`, the
//! composite `default-roles-<realm>` (those two and the `account` client's `view-profile` and
//! `manage-account`) recorded as the realm's default role and granted to every user, as
//! Keycloak's own migration to default-role composites granted it; the `broker` client with its
//! `read-token` role; and in `master` the `create-realm` role, which `admin` contains.
//!
//! What a realm has already (a Keycloak import carries all of it) is left as it is.
//!
//! Admin events become a realm setting (`adminEventsEnabled`, `adminEventsDetailsEnabled`), off
//! for new realms as in Keycloak and on for these, which recorded them until now.

use sea_orm_migration::prelude::*;

use crate::sql::{new_id, placeholders};
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, Statement, Value as DbValue};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Realm {
    Table,
    DefaultRoleId,
    AdminEventsEnabled,
    AdminEventsDetailsEnabled,
}

const BROKER: &str = "broker";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Realm::Table)
                    .add_column(ColumnDef::new(Realm::DefaultRoleId).string_len(36).null())
                    .to_owned(),
            )
            .await?;
        // Off for new realms, as in Keycloak; on for the realms that exist, which recorded
        // every admin change with its representation until now.
        for column in [Realm::AdminEventsEnabled, Realm::AdminEventsDetailsEnabled] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Realm::Table)
                        .add_column(ColumnDef::new(column).boolean().not_null().default(false))
                        .to_owned(),
                )
                .await?;
        }
        let db = manager.get_connection();
        let backend = manager.get_database_backend();
        db.execute(Statement::from_string(
            backend,
            "UPDATE realm SET admin_events_enabled = TRUE, admin_events_details_enabled = TRUE"
                .to_string(),
        ))
        .await?;
        let realms = db
            .query_all(Statement::from_string(
                backend,
                "SELECT id, name FROM realm".to_string(),
            ))
            .await?;
        for row in realms {
            let realm_id: String = row.try_get("", "id")?;
            let name: String = row.try_get("", "name")?;
            let m = Realm_ {
                db,
                backend,
                realm_id: &realm_id,
            };
            m.defaults(&name).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            Realm::DefaultRoleId,
            Realm::AdminEventsEnabled,
            Realm::AdminEventsDetailsEnabled,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Realm::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

/// One realm's rows.
#[allow(non_camel_case_types)]
struct Realm_<'a> {
    db: &'a SchemaManagerConnection<'a>,
    backend: DbBackend,
    realm_id: &'a str,
}

impl Realm_<'_> {
    async fn defaults(&self, name: &str) -> Result<(), DbErr> {
        let offline = self
            .realm_role("offline_access", "${role_offline-access}")
            .await?;
        let uma = self
            .realm_role("uma_authorization", "${role_uma_authorization}")
            .await?;
        let default_name = format!("default-roles-{}", name.to_lowercase());
        let default_role = self
            .realm_role(&default_name, "${role_default-roles}")
            .await?;
        let mut children = vec![offline, uma];
        for account_role in ["view-profile", "manage-account"] {
            if let Some(id) = self.client_role_id("account", account_role).await? {
                children.push(id);
            }
        }
        for child in children {
            self.exec(
                "INSERT INTO composite_role (composite_id, child_id) SELECT ?, ? WHERE NOT EXISTS \
                 (SELECT 1 FROM composite_role WHERE composite_id = ? AND child_id = ?)",
                vec![
                    default_role.clone().into(),
                    child.clone().into(),
                    default_role.clone().into(),
                    child.into(),
                ],
            )
            .await?;
        }
        self.exec(
            "UPDATE realm SET default_role_id = ? WHERE id = ?",
            vec![default_role.clone().into(), self.realm_id.into()],
        )
        .await?;
        self.exec(
            "INSERT INTO user_role (user_id, role_id) SELECT u.id, ? FROM user_entity u \
             WHERE u.realm_id = ? AND NOT EXISTS \
             (SELECT 1 FROM user_role ur WHERE ur.user_id = u.id AND ur.role_id = ?)",
            vec![
                default_role.clone().into(),
                self.realm_id.into(),
                default_role.into(),
            ],
        )
        .await?;
        self.broker_client().await?;
        if name == "master" {
            let create_realm = self
                .realm_role("create-realm", "${role_create-realm}")
                .await?;
            if let Some(admin) = self.find_realm_role("admin").await? {
                self.exec(
                    "INSERT INTO composite_role (composite_id, child_id) SELECT ?, ? WHERE NOT \
                     EXISTS (SELECT 1 FROM composite_role WHERE composite_id = ? AND child_id = ?)",
                    vec![
                        admin.clone().into(),
                        create_realm.clone().into(),
                        admin.into(),
                        create_realm.into(),
                    ],
                )
                .await?;
            }
        }
        Ok(())
    }

    async fn exec(&self, sql: &str, values: Vec<DbValue>) -> Result<(), DbErr> {
        self.db
            .execute(Statement::from_sql_and_values(
                self.backend,
                placeholders(self.backend, sql),
                values,
            ))
            .await?;
        Ok(())
    }

    async fn find_realm_role(&self, name: &str) -> Result<Option<String>, DbErr> {
        let row = self
            .db
            .query_one(Statement::from_sql_and_values(
                self.backend,
                placeholders(
                    self.backend,
                    "SELECT id FROM role WHERE realm_id = ? AND client_pk IS NULL AND name = ?",
                ),
                [DbValue::from(self.realm_id), DbValue::from(name)],
            ))
            .await?;
        row.map(|r| r.try_get("", "id")).transpose()
    }

    /// The id of realm role `name`, created with `description` if missing.
    async fn realm_role(&self, name: &str, description: &str) -> Result<String, DbErr> {
        if let Some(id) = self.find_realm_role(name).await? {
            return Ok(id);
        }
        let id = new_id();
        self.exec(
            "INSERT INTO role (id, realm_id, client_pk, name, description, attributes) \
             VALUES (?, ?, NULL, ?, ?, '{}')",
            vec![
                id.clone().into(),
                self.realm_id.into(),
                name.into(),
                description.into(),
            ],
        )
        .await?;
        Ok(id)
    }

    async fn client_role_id(&self, client_id: &str, role: &str) -> Result<Option<String>, DbErr> {
        let row = self
            .db
            .query_one(Statement::from_sql_and_values(
                self.backend,
                placeholders(
                    self.backend,
                    "SELECT role.id AS id FROM role JOIN client ON role.client_pk = client.id \
                     WHERE client.realm_id = ? AND client.client_id = ? AND role.name = ?",
                ),
                [
                    DbValue::from(self.realm_id),
                    DbValue::from(client_id),
                    DbValue::from(role),
                ],
            ))
            .await?;
        row.map(|r| r.try_get("", "id")).transpose()
    }

    /// Keycloak's `broker` client (bearer-only) and its `read-token` role, unless the realm
    /// has a client of that name.
    async fn broker_client(&self) -> Result<(), DbErr> {
        let exists = self
            .db
            .query_one(Statement::from_sql_and_values(
                self.backend,
                placeholders(
                    self.backend,
                    "SELECT id FROM client WHERE realm_id = ? AND client_id = ?",
                ),
                [DbValue::from(self.realm_id), DbValue::from(BROKER)],
            ))
            .await?;
        if exists.is_some() {
            return Ok(());
        }
        let client_pk = new_id();
        self.exec(
            "INSERT INTO client (id, realm_id, client_id, name, protocol, enabled, public_client, \
             bearer_only, redirect_uris, web_origins, attributes, standard_flow_enabled, \
             direct_access_grants_enabled, service_accounts_enabled, created_at, consent_required, \
             default_client_scopes, optional_client_scopes) \
             VALUES (?, ?, ?, ?, 'openid-connect', ?, ?, ?, '[]', '[]', '{}', ?, ?, ?, 0, ?, ?, ?)",
            vec![
                client_pk.clone().into(),
                self.realm_id.into(),
                BROKER.into(),
                "${client_broker}".into(),
                true.into(),
                false.into(),
                true.into(),
                true.into(),
                false.into(),
                false.into(),
                false.into(),
                r#"["web-origins","acr","profile","roles","email"]"#.into(),
                r#"["address","phone","offline_access","microprofile-jwt"]"#.into(),
            ],
        )
        .await?;
        self.exec(
            "INSERT INTO role (id, realm_id, client_pk, name, description, attributes) \
             VALUES (?, ?, ?, 'read-token', '${role_read-token}', '{}')",
            vec![new_id().into(), self.realm_id.into(), client_pk.into()],
        )
        .await
    }
}
