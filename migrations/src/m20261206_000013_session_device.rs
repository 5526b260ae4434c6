//! Where an SSO session was started from: the address and the browser's user agent, recorded
//! when the login starts it, so the account console can show a user their sessions as devices
//! ("Firefox on Linux, 192.0.2.10"). Older sessions have neither.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum UserSession {
    Table,
    IpAddress,
    UserAgent,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one at a time.
        for (column, len) in [(UserSession::IpAddress, 64), (UserSession::UserAgent, 512)] {
            manager
                .alter_table(
                    Table::alter()
                        .table(UserSession::Table)
                        .add_column(ColumnDef::new(column).string_len(len).null())
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [UserSession::IpAddress, UserSession::UserAgent] {
            manager
                .alter_table(
                    Table::alter()
                        .table(UserSession::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
