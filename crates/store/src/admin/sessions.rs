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

/// The realm's live sessions (as [`SessionPage`] bounds them) in which the client (by
/// `clientId`) holds an online refresh token that is not revoked, oldest first; `first` and
/// `max` page them.
pub async fn of_client<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    client_id: &str,
    page: &SessionPage,
    first: u64,
    max: Option<u64>,
) -> Result<Vec<user_session::Model>, StoreError> {
    let mut select = client_select(realm_id, client_id, page)
        .order_by_asc(user_session::Column::CreatedAt)
        .order_by_asc(user_session::Column::Id)
        .offset(first);
    if let Some(max) = max {
        select = select.limit(max);
    }
    Ok(select.all(db).await?)
}

/// How many sessions [`of_client`] finds, paging aside.
pub async fn count_of_client<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    client_id: &str,
    page: &SessionPage,
) -> Result<u64, StoreError> {
    use sea_orm::PaginatorTrait;
    Ok(client_select(realm_id, client_id, page).count(db).await?)
}

fn client_select(
    realm_id: &str,
    client_id: &str,
    page: &SessionPage,
) -> sea_orm::Select<user_session::Entity> {
    use crate::entity::oidc_refresh_token as t;
    use sea_orm::sea_query::Query;
    use user_session::Column as C;
    let with_token = Query::select()
        .column(t::Column::SessionId)
        .from(t::Entity)
        .and_where(t::Column::RealmId.eq(realm_id))
        .and_where(t::Column::ClientId.eq(client_id))
        .and_where(t::Column::Offline.eq(false))
        .and_where(t::Column::Revoked.eq(false))
        .and_where(t::Column::SessionId.is_not_null())
        .to_owned();
    user_session::Entity::find()
        .filter(C::RealmId.eq(realm_id))
        .filter(C::Ended.eq(false))
        .filter(C::LastSeenAt.gte(page.seen_since))
        .filter(C::CreatedAt.gte(page.started_since))
        .filter(C::Id.in_subquery(with_token))
}
