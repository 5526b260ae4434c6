//! `robot`: a group's machine account for `docker login`; its secrets are in `robot_secret`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "robot")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub realm_id: String,
    pub group_id: String,
    pub name: String,
    pub description: Option<String>,
    pub service: Option<String>,
    /// JSON array of repository patterns; `None` for any.
    pub repositories: Option<String>,
    /// JSON array of actions; `None` for any.
    pub actions: Option<String>,
    /// JSON array of CIDR ranges; `None` for anywhere.
    pub source_cidrs: Option<String>,
    pub enabled: bool,
    pub created_at: i64,
    pub created_by: Option<String>,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub last_used_address: Option<String>,
    pub last_used_user_agent: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
