//! Realm settings the admin API manages beside the realm row: the required actions a realm has
//! registered (Keycloak's `RequiredActionProviderRepresentation`: enabled, default action,
//! priority, config) and the groups every new user joins (`defaultGroups`). Both go with their
//! realm; a default group goes with its group.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum RealmRequiredAction {
    Table,
    RealmId,
    Alias,
    Name,
    ProviderId,
    Enabled,
    DefaultAction,
    Priority,
    Config,
}

#[derive(DeriveIden)]
enum RealmDefaultGroup {
    Table,
    RealmId,
    GroupId,
}

#[derive(DeriveIden)]
enum Realm {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum RealmGroup {
    Table,
    Id,
}

fn key(column: impl IntoIden + 'static) -> ColumnDef {
    ColumnDef::new(column).string_len(64).not_null().to_owned()
}

fn cascade(
    name: &str,
    from: (impl IntoIden + 'static, impl IntoIden + 'static),
    to: (impl IntoIden + 'static, impl IntoIden + 'static),
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from.0, from.1)
        .to(to.0, to.1)
        .on_delete(ForeignKeyAction::Cascade)
        .on_update(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use RealmRequiredAction as A;
        manager
            .create_table(
                Table::create()
                    .table(A::Table)
                    .col(key(A::RealmId))
                    .col(ColumnDef::new(A::Alias).string_len(255).not_null())
                    .col(ColumnDef::new(A::Name).string_len(255).not_null())
                    .col(ColumnDef::new(A::ProviderId).string_len(255).not_null())
                    .col(ColumnDef::new(A::Enabled).boolean().not_null())
                    .col(ColumnDef::new(A::DefaultAction).boolean().not_null())
                    .col(ColumnDef::new(A::Priority).big_integer().not_null())
                    .col(ColumnDef::new(A::Config).text().not_null())
                    .primary_key(Index::create().col(A::RealmId).col(A::Alias))
                    .foreign_key(&mut cascade(
                        "fk_required_action_realm",
                        (A::Table, A::RealmId),
                        (Realm::Table, Realm::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        use RealmDefaultGroup as G;
        manager
            .create_table(
                Table::create()
                    .table(G::Table)
                    .col(key(G::RealmId))
                    .col(key(G::GroupId))
                    .primary_key(Index::create().col(G::RealmId).col(G::GroupId))
                    .foreign_key(&mut cascade(
                        "fk_default_group_realm",
                        (G::Table, G::RealmId),
                        (Realm::Table, Realm::Id),
                    ))
                    .foreign_key(&mut cascade(
                        "fk_default_group_group",
                        (G::Table, G::GroupId),
                        (RealmGroup::Table, RealmGroup::Id),
                    ))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let tables: [DynIden; 2] = [
            RealmDefaultGroup::Table.into_iden(),
            RealmRequiredAction::Table.into_iden(),
        ];
        for table in tables {
            manager
                .drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
