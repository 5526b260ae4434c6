//! Revocation by `notBefore` (Keycloak's `NotBeforeCheck`): a token issued before the realm's,
//! its client's or its user's `notBefore` is stale. The realm's is set by an admin ("Set to
//! now" in the console: `PUT realms/{realm}` with `notBefore`), the client's likewise through
//! its representation, the user's by an admin logout, a password reset or disabling. Every
//! check of a token the server issued (access tokens at userinfo, introspection and the admin
//! API, refresh and offline tokens at the refresh grant and introspection) goes through
//! [`is_stale`].

use crate::model::{Client, Realm, User};

/// The latest `notBefore` that applies to a token of `client` and `user` in `realm`.
pub fn effective_not_before(realm: &Realm, client: Option<&Client>, user: Option<&User>) -> i64 {
    let client = client.map_or(0, |c| c.not_before);
    let user = user.map_or(0, |u| u.not_before);
    realm.not_before.max(client).max(user)
}

/// Whether a token issued at `issued_at` (its `iat`, unix seconds) predates a `notBefore` that
/// applies to it. A token without `iat` should pass `i64::MIN`: older than anything.
pub fn is_stale(
    realm: &Realm,
    client: Option<&Client>,
    user: Option<&User>,
    issued_at: i64,
) -> bool {
    issued_at < effective_not_before(realm, client, user)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latest_not_before_of_realm_client_and_user_decides() {
        let realm = Realm {
            not_before: 100,
            ..Realm::default()
        };
        let client = Client {
            not_before: 200,
            ..Client::default()
        };
        let user = User {
            not_before: 150,
            ..User::default()
        };
        let cases = [
            (99, None, None, true),
            (100, None, None, false),
            (150, Some(&client), None, true),
            (200, Some(&client), Some(&user), false),
            (149, None, Some(&user), true),
            (150, None, Some(&user), false),
            (i64::MIN, None, None, true),
        ];
        for (iat, client, user, stale) in cases {
            assert_eq!(is_stale(&realm, client, user, iat), stale, "iat {iat}");
        }
        let none = Realm::default();
        assert!(!is_stale(&none, None, None, 0));
        assert_eq!(
            effective_not_before(&realm, Some(&client), Some(&user)),
            200
        );
    }
}
