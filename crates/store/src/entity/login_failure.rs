//! `login_failure`: brute-force detection state per realm and user.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "login_failure")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub realm_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: String,
    pub failures: i64,
    /// Unix milliseconds of the last counted failure.
    pub last_failure_ms: i64,
    /// Unix milliseconds of the failure counted before the last one.
    pub previous_failure_ms: Option<i64>,
    pub last_ip: Option<String>,
    /// Unix seconds; `i64::MAX` for a permanent lockout.
    pub locked_until: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
