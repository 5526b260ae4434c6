//! Required actions a realm registers (Keycloak's `RequiredActionProviderModel`): what a user
//! must do before a login completes. This server performs `UPDATE_PASSWORD` at login; the other
//! actions it knows stop the login (and every grant without a browser) while pending, since
//! the account is not fully set up. A registered action turned off is not enforced, and a
//! default action is given to every new user.

use std::collections::BTreeMap;

use crate::model::UPDATE_PASSWORD;

/// A required action as a realm registered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequiredAction {
    /// Keycloak's alias, the name users carry in `requiredActions`.
    pub alias: String,
    pub name: String,
    pub provider_id: String,
    pub enabled: bool,
    /// Given to every new user.
    pub default_action: bool,
    /// Lower runs first.
    pub priority: i64,
    pub config: BTreeMap<String, String>,
}

/// An action this server knows: (alias, Keycloak's display name, enabled in a new realm,
/// Keycloak's priority in a new realm).
const KNOWN: [(&str, &str, bool, i64); 5] = [
    ("CONFIGURE_TOTP", "Configure OTP", true, 10),
    ("TERMS_AND_CONDITIONS", "Terms and Conditions", false, 20),
    (UPDATE_PASSWORD, "Update Password", true, 30),
    ("UPDATE_PROFILE", "Update Profile", true, 40),
    ("VERIFY_EMAIL", "Verify Email", true, 50),
];

/// The provider ids this server knows (Keycloak's provider id equals the alias).
pub fn known() -> impl Iterator<Item = (&'static str, &'static str)> {
    KNOWN.iter().map(|(alias, name, _, _)| (*alias, *name))
}

/// Whether `provider_id` is one this server knows.
pub fn is_known(provider_id: &str) -> bool {
    KNOWN.iter().any(|(alias, ..)| *alias == provider_id)
}

/// What a realm that never changed its required actions has registered, as Keycloak registers
/// them in a new realm.
pub fn defaults() -> Vec<RequiredAction> {
    KNOWN
        .iter()
        .map(|(alias, name, enabled, priority)| RequiredAction {
            alias: alias.to_string(),
            name: name.to_string(),
            provider_id: alias.to_string(),
            enabled: *enabled,
            default_action: false,
            priority: *priority,
            config: BTreeMap::new(),
        })
        .collect()
}

/// The registered actions ordered as Keycloak lists them: by priority, then by name.
pub fn sorted(mut actions: Vec<RequiredAction>) -> Vec<RequiredAction> {
    actions.sort_by(|a, b| a.priority.cmp(&b.priority).then(a.name.cmp(&b.name)));
    actions
}

/// Moves `alias` one place up (`raise`) or down in the order by swapping priorities with its
/// neighbour, as Keycloak's `raise-priority` and `lower-priority` do. `false` when `alias` is
/// not registered; the first (last) action stays where it is.
pub fn move_action(actions: &mut [RequiredAction], alias: &str, raise: bool) -> bool {
    actions.sort_by(|a, b| a.priority.cmp(&b.priority).then(a.name.cmp(&b.name)));
    let Some(at) = actions.iter().position(|a| a.alias == alias) else {
        return false;
    };
    let other = if raise {
        at.checked_sub(1)
    } else {
        Some(at + 1).filter(|i| *i < actions.len())
    };
    if let Some(other) = other {
        let mut a = actions[at].priority;
        let mut b = actions[other].priority;
        if a == b {
            // Equal priorities would not reorder anything: make room first.
            if raise {
                a = b.saturating_add(1);
            } else {
                b = a.saturating_add(1);
            }
        }
        actions[at].priority = b;
        actions[other].priority = a;
    }
    true
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn order(actions: &[RequiredAction]) -> Vec<String> {
        sorted(actions.to_vec())
            .into_iter()
            .map(|a| a.alias)
            .collect()
    }

    #[test]
    fn raising_and_lowering_swap_neighbours() {
        let mut actions = defaults();
        assert_eq!(
            order(&actions)[..3],
            ["CONFIGURE_TOTP", "TERMS_AND_CONDITIONS", UPDATE_PASSWORD]
        );
        assert!(move_action(&mut actions, UPDATE_PASSWORD, true));
        assert_eq!(
            order(&actions)[..3],
            ["CONFIGURE_TOTP", UPDATE_PASSWORD, "TERMS_AND_CONDITIONS"]
        );
        assert!(move_action(&mut actions, "CONFIGURE_TOTP", true));
        assert_eq!(order(&actions)[0], "CONFIGURE_TOTP");
        assert!(move_action(&mut actions, "VERIFY_EMAIL", false));
        assert_eq!(order(&actions)[4], "VERIFY_EMAIL");
        assert!(move_action(&mut actions, "CONFIGURE_TOTP", false));
        assert_eq!(order(&actions)[..2], [UPDATE_PASSWORD, "CONFIGURE_TOTP"]);
        assert!(!move_action(&mut actions, "NOPE", true));
    }

    #[test]
    fn equal_priorities_still_move() {
        let mut actions = defaults();
        for a in &mut actions {
            a.priority = 5;
        }
        let before = order(&actions);
        assert!(move_action(&mut actions, &before[2], true));
        assert_eq!(order(&actions)[1], before[2]);
    }
}
