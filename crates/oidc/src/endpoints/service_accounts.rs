//! Service-account users, remembered for a few seconds per realm snapshot with the claims their
//! access tokens carry, so the client credentials grant (machine-to-machine traffic, often one
//! request per call) costs a signature and neither a database read nor a run of the mappers. A
//! changed realm (new snapshot) or the short TTL picks up changes; introspection and userinfo
//! still read the user from the database every time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use portcullis_core::model::{RealmSnapshot, User};
use portcullis_core::resolve::{ResolvedUser, resolve_user};

use super::{Ctx, OAuthError};
use crate::tokens::TokenError;
use crate::tokens::claims::ClaimContext;
use crate::tokens::mint::PreparedClaims;
use crate::tokens::scopes::GrantedScopes;

/// How long a loaded service account is trusted, in seconds.
const TTL_SECS: i64 = 10;
/// More entries than this and the cache starts over (a realm with thousands of service clients
/// simply reads more often).
const CAPACITY: usize = 4096;

/// A service-account user, its resolved roles, and the claims of its last access token.
pub(crate) struct ServiceAccount {
    pub user: User,
    pub resolved: ResolvedUser,
    /// The prepared access-token claims, with the scopes they were prepared for.
    access_claims: Mutex<Option<(GrantedScopes, Arc<PreparedClaims>)>>,
}

impl ServiceAccount {
    /// The access-token claims for `ctx`, which must be this account's, for its client, in the
    /// snapshot the account was resolved against: the ones of the last grant when it was
    /// granted the same scopes.
    pub(crate) fn access_claims(
        &self,
        ctx: &ClaimContext<'_>,
    ) -> Result<Arc<PreparedClaims>, TokenError> {
        let last = self.access_claims.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((scopes, prepared)) = &*last
            && scopes == ctx.scopes
        {
            return Ok(prepared.clone());
        }
        drop(last);
        let prepared = Arc::new(PreparedClaims::access(ctx)?);
        let mut last = self.access_claims.lock().unwrap_or_else(|e| e.into_inner());
        *last = Some((ctx.scopes.clone(), prepared.clone()));
        Ok(prepared)
    }
}

/// (realm id, clientId) → the account, the snapshot it was resolved against, and when.
type Entries = HashMap<(String, String), (Arc<ServiceAccount>, Weak<RealmSnapshot>, i64)>;

#[derive(Default)]
pub(crate) struct ServiceAccounts {
    entries: Mutex<Entries>,
}

impl ServiceAccounts {
    /// The enabled service-account user of `client_id`, from the cache or the database.
    pub(crate) async fn get(
        &self,
        ctx: &Ctx,
        client_id: &str,
    ) -> Result<Option<Arc<ServiceAccount>>, OAuthError> {
        let key = (ctx.snapshot.realm.id.clone(), client_id.to_owned());
        {
            let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((account, built_from, loaded_at)) = entries.get(&key)
                && std::ptr::eq(built_from.as_ptr(), Arc::as_ptr(&ctx.snapshot))
                && ctx.now - loaded_at < TTL_SECS
                && ctx.now >= *loaded_at
            {
                return Ok(Some(account.clone()));
            }
        }
        let Some(user) = ctx
            .state
            .store()
            .find_service_account(&ctx.snapshot.realm.id, client_id)
            .await?
            .filter(|u| u.enabled)
        else {
            return Ok(None);
        };
        let account = Arc::new(ServiceAccount {
            resolved: resolve_user(&ctx.snapshot, &user),
            user,
            access_claims: Mutex::new(None),
        });
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= CAPACITY {
            entries.clear();
        }
        entries.insert(
            key,
            (account.clone(), Arc::downgrade(&ctx.snapshot), ctx.now),
        );
        Ok(Some(account))
    }
}
