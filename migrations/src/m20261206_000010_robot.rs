//! Robots: machine accounts owned by a group, for `docker login` in CI. A robot has rules like
//! an app password's (one registry, repository patterns, actions), a required expiry, optional
//! source-address ranges, a usage record, and one or more secrets: rotating adds one and gives
//! the older ones a grace period (`robot_secret.expires_at`). Only the SHA-256 of each secret
//! is stored (unique: a presented secret is found by it). Names are unique per realm (the login
//! name is `robot.<name>`). Robots go with their group and realm; secrets with their robot.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_table(robot()).await?;
        manager.create_table(robot_secret()).await?;
        let indexes = [
            Index::create()
                .name("uq_robot_realm_name")
                .table(Robot::Table)
                .col(Robot::RealmId)
                .col(Robot::Name)
                .unique()
                .to_owned(),
            Index::create()
                .name("ix_robot_group")
                .table(Robot::Table)
                .col(Robot::GroupId)
                .to_owned(),
            Index::create()
                .name("uq_robot_secret_hash")
                .table(RobotSecret::Table)
                .col(RobotSecret::SecretHash)
                .unique()
                .to_owned(),
            Index::create()
                .name("ix_robot_secret_robot")
                .table(RobotSecret::Table)
                .col(RobotSecret::RobotId)
                .to_owned(),
        ];
        for index in indexes {
            manager.create_index(index).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(
                Table::drop()
                    .table(RobotSecret::Table)
                    .if_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(Robot::Table).if_exists().to_owned())
            .await
    }
}

fn robot() -> TableCreateStatement {
    let id = |column: Robot| ColumnDef::new(column).string_len(64).not_null().to_owned();
    let time = |column: Robot| ColumnDef::new(column).big_integer().not_null().to_owned();
    let optional_time = |column: Robot| ColumnDef::new(column).big_integer().null().to_owned();
    let optional_text =
        |column: Robot, len: u32| ColumnDef::new(column).string_len(len).null().to_owned();
    Table::create()
        .table(Robot::Table)
        .col(id(Robot::Id).primary_key())
        .col(id(Robot::RealmId))
        .col(id(Robot::GroupId))
        .col(ColumnDef::new(Robot::Name).string_len(64).not_null())
        .col(optional_text(Robot::Description, 255))
        .col(optional_text(Robot::Service, 255))
        .col(ColumnDef::new(Robot::Repositories).text().null())
        .col(ColumnDef::new(Robot::Actions).text().null())
        .col(ColumnDef::new(Robot::SourceCidrs).text().null())
        .col(ColumnDef::new(Robot::Enabled).boolean().not_null())
        .col(time(Robot::CreatedAt))
        .col(optional_text(Robot::CreatedBy, 64))
        .col(time(Robot::ExpiresAt))
        .col(optional_time(Robot::RevokedAt))
        .col(optional_time(Robot::LastUsedAt))
        .col(optional_text(Robot::LastUsedAddress, 64))
        .col(optional_text(Robot::LastUsedUserAgent, 255))
        .foreign_key(
            ForeignKey::create()
                .name("fk_robot_realm")
                .from(Robot::Table, Robot::RealmId)
                .to(Realm::Table, Realm::Id)
                .on_delete(ForeignKeyAction::Cascade)
                .on_update(ForeignKeyAction::Cascade),
        )
        .foreign_key(
            ForeignKey::create()
                .name("fk_robot_group")
                .from(Robot::Table, Robot::GroupId)
                .to(RealmGroup::Table, RealmGroup::Id)
                .on_delete(ForeignKeyAction::Cascade)
                .on_update(ForeignKeyAction::Cascade),
        )
        .to_owned()
}

fn robot_secret() -> TableCreateStatement {
    let id = |column: RobotSecret| ColumnDef::new(column).string_len(64).not_null().to_owned();
    Table::create()
        .table(RobotSecret::Table)
        .col(id(RobotSecret::Id).primary_key())
        .col(id(RobotSecret::RobotId))
        .col(id(RobotSecret::SecretHash))
        .col(
            ColumnDef::new(RobotSecret::CreatedAt)
                .big_integer()
                .not_null(),
        )
        .col(ColumnDef::new(RobotSecret::ExpiresAt).big_integer().null())
        .col(ColumnDef::new(RobotSecret::LastUsedAt).big_integer().null())
        .foreign_key(
            ForeignKey::create()
                .name("fk_robot_secret_robot")
                .from(RobotSecret::Table, RobotSecret::RobotId)
                .to(Robot::Table, Robot::Id)
                .on_delete(ForeignKeyAction::Cascade)
                .on_update(ForeignKeyAction::Cascade),
        )
        .to_owned()
}

#[derive(DeriveIden, Clone, Copy)]
enum Realm {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum RealmGroup {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum Robot {
    Table,
    Id,
    RealmId,
    /// The owning group.
    GroupId,
    /// Without the `robot.` prefix: `[a-z0-9._-]`, unique per realm.
    Name,
    Description,
    /// The one registry (docker-v2 `clientId`) it is limited to, if any.
    Service,
    /// A JSON array of repository patterns; null for any repository.
    Repositories,
    /// A JSON array of actions; null for any action.
    Actions,
    /// A JSON array of CIDR ranges it may be used from; null for anywhere.
    SourceCidrs,
    /// False while disabled (reversible); revocation is `revoked_at` (final).
    Enabled,
    /// Unix seconds.
    CreatedAt,
    /// The id of the user who created it.
    CreatedBy,
    ExpiresAt,
    RevokedAt,
    LastUsedAt,
    LastUsedAddress,
    LastUsedUserAgent,
}

#[derive(DeriveIden, Clone, Copy)]
enum RobotSecret {
    Table,
    Id,
    RobotId,
    /// Lowercase hex SHA-256 of the secret.
    SecretHash,
    /// Unix seconds.
    CreatedAt,
    /// Set when a rotation gave it a grace period; null: it lives as long as the robot.
    ExpiresAt,
    LastUsedAt,
}
