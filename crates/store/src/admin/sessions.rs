//! A realm's live SSO sessions, a page at a time.

use sea_orm::QuerySelect;
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::entity::user_session;
use crate::error::StoreError;

/// Which sessions count as live, and where a page starts.
#[derive(Debug, Clone, Default)]
pub struct SessionPage {
    /// Sessions seen last before this (unix seconds) have idled out.
    pub seen_since: i64,
    /// Sessions started before this have reached their maximum lifespan.
    pub started_since: i64,
    /// Keyset paging, newest first: only sessions started before this `(created_at, id)`.
    pub before: Option<(i64, String)>,
    pub limit: u64,
}

/// The realm's sessions that were not ended and have not timed out, newest first.
pub async fn live<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    page: &SessionPage,
) -> Result<Vec<user_session::Model>, StoreError> {
    use user_session::Column as C;
    let mut select = user_session::Entity::find()
        .filter(C::RealmId.eq(realm_id))
        .filter(C::Ended.eq(false))
        .filter(C::LastSeenAt.gte(page.seen_since))
        .filter(C::CreatedAt.gte(page.started_since));
    if let Some((created, id)) = &page.before {
        select = select.filter(
            Condition::any().add(C::CreatedAt.lt(*created)).add(
                Condition::all()
                    .add(C::CreatedAt.eq(*created))
                    .add(C::Id.lt(id.as_str())),
            ),
        );
    }
    Ok(select
        .order_by_desc(C::CreatedAt)
        .order_by_desc(C::Id)
        .limit(page.limit)
        .all(db)
        .await?)
}

/// The usernames of the given users of the realm, by id, in one query.
pub async fn usernames<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    ids: &[String],
) -> Result<std::collections::HashMap<String, String>, StoreError> {
    use crate::entity::user_entity;
    if ids.is_empty() {
        return Ok(Default::default());
    }
    Ok(user_entity::Entity::find()
        .filter(user_entity::Column::RealmId.eq(realm_id))
        .filter(user_entity::Column::Id.is_in(ids.iter().map(String::as_str)))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.username))
        .collect())
}
