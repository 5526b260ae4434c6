//! `device_code`: RFC 8628 device authorizations, by the hex SHA-256 of the device code; the
//! user code is unique per realm.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "device_code")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub device_code_hash: String,
    pub user_code: String,
    pub realm_id: String,
    /// The client's `clientId`.
    pub client_id: String,
    pub scope: String,
    pub created_at: i64,
    pub expires_at: i64,
    /// Seconds between polls (`interval` is an SQL type name, hence the column name).
    #[sea_orm(column_name = "poll_interval")]
    pub interval: i64,
    pub last_polled_at: Option<i64>,
    /// `pending`, `approved`, `denied` or `consumed`.
    pub status: String,
    /// Set once approved.
    pub user_id: Option<String>,
    pub session_id: Option<String>,
    pub auth_time: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
