//! sea-orm entities of the admin tables (migration `m20261124_000003_admin`).

/// `admin_event`: one row per change made through the admin API.
pub mod admin_event {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "admin_event")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub realm_id: String,
        /// Milliseconds since the epoch, as Keycloak reports it.
        pub time: i64,
        /// `CREATE`, `UPDATE`, `DELETE` or `ACTION`.
        pub operation_type: String,
        /// Keycloak's resource type: `USER`, `CLIENT`, `REALM_ROLE_MAPPING`, ...
        pub resource_type: String,
        /// The path below `admin/realms/{realm}/`, e.g. `users/<id>`.
        pub resource_path: String,
        /// The request's representation as JSON text, secrets removed.
        pub representation: Option<String>,
        pub error: Option<String>,
        pub auth_realm_id: Option<String>,
        pub auth_client_id: Option<String>,
        pub auth_user_id: Option<String>,
        pub ip_address: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `admin_extra`: representation fields kept as written, by owner id.
pub mod admin_extra {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "admin_extra")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub owner_id: String,
        pub realm_id: String,
        /// A JSON object.
        pub fields: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `user_federated_identity`: a user's account at an upstream identity provider.
pub mod user_federated_identity {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "user_federated_identity")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_id: String,
        /// The identity provider's alias.
        #[sea_orm(primary_key, auto_increment = false)]
        pub identity_provider: String,
        pub realm_id: String,
        pub federated_user_id: String,
        pub federated_username: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `user_profile_config`: a realm's declarative user profile (migration
/// `m20261206_000020_user_profile`).
pub mod user_profile_config {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "user_profile_config")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub realm_id: String,
        /// Keycloak's `UPConfig` as JSON text.
        pub config: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
