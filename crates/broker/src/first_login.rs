//! The first login of an upstream account that is not linked yet: one of four named policies
//! decides, from what the database says about local accounts with the same e-mail or
//! username, whether to create a user, link to an existing one (at once, or once its owner
//! proves it with its password), or refuse.
//!
//! Linking without proof happens only when the provider is trusted (`trustEmail`), the
//! upstream says the e-mail is verified, *and* the local account's e-mail is verified too
//! (Keycloak's auto-link attached to unverified local e-mails: keycloak/keycloak#53041).

use portcullis_core::broker::UpstreamIdentity;
use portcullis_core::model::FirstLoginPolicy;

/// A local account that matches the upstream one, as far as the decision needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalUser {
    pub id: String,
    pub username: String,
    pub enabled: bool,
    pub email_verified: bool,
    /// Has a local password to prove the account with.
    pub has_password: bool,
    /// Already linked to another account at the same provider.
    pub linked_to_provider: bool,
    /// A client's service account: never signed in through a provider.
    pub service_account: bool,
}

/// The local accounts that match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Matches {
    /// The account with the upstream's e-mail (case-insensitive).
    pub by_email: Option<LocalUser>,
    /// The account with the upstream's username (case-insensitive).
    pub by_username: Option<LocalUser>,
}

/// A user to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    /// The preferred username; taken ones get a suffix ([`username_candidates`]).
    pub username: String,
    /// None when the upstream has none or another account has it.
    pub email: Option<String>,
    pub email_verified: bool,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

/// Why a first login is refused; the text is for the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("An account with this {0} already exists. Sign in with it, or ask an administrator.")]
    Exists(&'static str),
    #[error("There is no account here for this sign-in; ask an administrator to create one.")]
    NoAccount,
    #[error("The account is disabled.")]
    Disabled,
    #[error(
        "An account with this e-mail already exists and has no password to confirm it with. \
         Sign in the way you usually do and link the provider from your account page."
    )]
    CannotProve,
    #[error("The matching account is already linked to another account at this provider.")]
    AlreadyLinked,
    #[error("This identity provider only links accounts; it cannot be used to sign in.")]
    LinkOnly,
}

/// What the first login does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Create(NewUser),
    /// Link to this account now (trusted and verified on both sides).
    LinkNow {
        user_id: String,
    },
    /// Link to this account once its owner enters its password.
    ConfirmLink {
        user_id: String,
        username: String,
    },
    Refuse(Refusal),
}

/// Decides an unlinked upstream account's first login.
pub fn decide(
    policy: FirstLoginPolicy,
    trust_email: bool,
    identity: &UpstreamIdentity,
    alias: &str,
    matches: &Matches,
) -> Decision {
    let new_user = |email_taken: bool| {
        Decision::Create(NewUser {
            username: preferred_username(identity, alias),
            email: identity.email.clone().filter(|_| !email_taken),
            email_verified: !email_taken && trust_email && identity.email_verified,
            first_name: identity.first_name.clone(),
            last_name: identity.last_name.clone(),
        })
    };
    let link = |user: &LocalUser, by_email: bool| {
        if user.service_account {
            return Decision::Refuse(Refusal::Exists(if by_email {
                "e-mail"
            } else {
                "username"
            }));
        }
        if !user.enabled {
            return Decision::Refuse(Refusal::Disabled);
        }
        if user.linked_to_provider {
            return Decision::Refuse(Refusal::AlreadyLinked);
        }
        if by_email && trust_email && identity.email_verified && user.email_verified {
            return Decision::LinkNow {
                user_id: user.id.clone(),
            };
        }
        if user.has_password {
            return Decision::ConfirmLink {
                user_id: user.id.clone(),
                username: user.username.clone(),
            };
        }
        Decision::Refuse(Refusal::CannotProve)
    };
    match policy {
        FirstLoginPolicy::Create => new_user(matches.by_email.is_some()),
        FirstLoginPolicy::LinkVerified => match &matches.by_email {
            Some(user) => link(user, true),
            None => new_user(false),
        },
        FirstLoginPolicy::DenyIfExists => match (&matches.by_email, &matches.by_username) {
            (Some(_), _) => Decision::Refuse(Refusal::Exists("e-mail")),
            (None, Some(_)) => Decision::Refuse(Refusal::Exists("username")),
            (None, None) => new_user(false),
        },
        FirstLoginPolicy::ExistingOnly => match (&matches.by_email, &matches.by_username) {
            (Some(user), _) => link(user, true),
            (None, Some(user)) => link(user, false),
            (None, None) => Decision::Refuse(Refusal::NoAccount),
        },
    }
}

/// The longest username made.
const MAX_USERNAME: usize = 255;

/// The username a new user would like: the upstream's, else the e-mail's local part, else
/// `{alias}.{subject}`; lowercase, without control characters or spaces.
pub fn preferred_username(identity: &UpstreamIdentity, alias: &str) -> String {
    let clean = |s: &str| -> String {
        s.trim()
            .to_lowercase()
            .chars()
            .filter(|c| !c.is_control())
            .map(|c| if c.is_whitespace() { '.' } else { c })
            .take(MAX_USERNAME - 16)
            .collect()
    };
    let from_email = identity
        .email
        .as_deref()
        .and_then(|e| e.split('@').next())
        .map(clean);
    identity
        .username
        .as_deref()
        .map(clean)
        .filter(|u| !u.is_empty())
        .or(from_email.filter(|u| !u.is_empty()))
        .unwrap_or_else(|| clean(&format!("{alias}.{}", identity.subject)))
}

/// Usernames to try in turn for a new user: the preferred one, then with the provider's
/// alias, then numbered. Never a robot's login name (`robot.*`): an upstream account called
/// `robot.ci` starts at `{alias}.robot.ci`.
pub fn username_candidates(preferred: &str, alias: &str) -> impl Iterator<Item = String> {
    let preferred = if portcullis_core::robot::is_reserved_username(preferred) {
        format!("{alias}.{preferred}")
    } else {
        preferred.to_string()
    };
    let with_alias = format!("{preferred}.{alias}");
    std::iter::once(preferred)
        .chain(std::iter::once(with_alias.clone()))
        .chain((2..=20).map(move |n| format!("{with_alias}.{n}")))
        .filter(|name| !portcullis_core::robot::is_reserved_username(name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use FirstLoginPolicy::{Create, DenyIfExists, ExistingOnly, LinkVerified};

    fn upstream(verified: bool) -> UpstreamIdentity {
        UpstreamIdentity {
            subject: "up-1".into(),
            username: Some("Alice".into()),
            email: Some("alice@corp.test".into()),
            email_verified: verified,
            first_name: Some("Alice".into()),
            last_name: None,
            ..Default::default()
        }
    }

    fn local(id: &str) -> LocalUser {
        LocalUser {
            id: id.into(),
            username: id.into(),
            enabled: true,
            email_verified: true,
            has_password: true,
            linked_to_provider: false,
            service_account: false,
        }
    }

    fn with(tweak: impl Fn(&mut LocalUser)) -> LocalUser {
        let mut u = local("existing");
        tweak(&mut u);
        u
    }

    fn create(email: bool, verified: bool) -> Decision {
        Decision::Create(NewUser {
            username: "alice".into(),
            email: email.then(|| "alice@corp.test".into()),
            email_verified: verified,
            first_name: Some("Alice".into()),
            last_name: None,
        })
    }

    fn confirm() -> Decision {
        Decision::ConfirmLink {
            user_id: "existing".into(),
            username: "existing".into(),
        }
    }

    fn link_now() -> Decision {
        Decision::LinkNow {
            user_id: "existing".into(),
        }
    }

    #[test]
    fn policies_decide_first_logins() {
        let none = Matches::default();
        let email = |u: LocalUser| Matches {
            by_email: Some(u),
            by_username: None,
        };
        let username = |u: LocalUser| Matches {
            by_email: None,
            by_username: Some(u),
        };
        let refuse = Decision::Refuse;
        // (policy, trusted, upstream verified, matches, decision)
        let rows: Vec<(FirstLoginPolicy, bool, bool, Matches, Decision)> = vec![
            // Nothing matches: every policy but existing-only creates.
            (Create, false, false, none.clone(), create(true, false)),
            (Create, true, true, none.clone(), create(true, true)),
            (LinkVerified, true, false, none.clone(), create(true, false)),
            (DenyIfExists, false, true, none.clone(), create(true, false)),
            (
                ExistingOnly,
                true,
                true,
                none.clone(),
                refuse(Refusal::NoAccount),
            ),
            // create never links; a taken e-mail is left off the new user.
            (
                Create,
                true,
                true,
                email(local("existing")),
                create(false, false),
            ),
            (
                Create,
                true,
                true,
                username(local("existing")),
                create(true, true),
            ),
            // link-verified: by e-mail, with proof; at once only when trusted and verified on
            // both sides.
            (
                LinkVerified,
                true,
                true,
                email(local("existing")),
                link_now(),
            ),
            (
                LinkVerified,
                false,
                true,
                email(local("existing")),
                confirm(),
            ),
            (
                LinkVerified,
                true,
                false,
                email(local("existing")),
                confirm(),
            ),
            (
                LinkVerified,
                true,
                true,
                email(with(|u| u.email_verified = false)),
                confirm(),
            ),
            (
                LinkVerified,
                false,
                true,
                email(with(|u| u.has_password = false)),
                refuse(Refusal::CannotProve),
            ),
            (
                LinkVerified,
                true,
                true,
                email(with(|u| u.has_password = false)),
                link_now(),
            ),
            (
                LinkVerified,
                true,
                true,
                email(with(|u| u.enabled = false)),
                refuse(Refusal::Disabled),
            ),
            (
                LinkVerified,
                true,
                true,
                email(with(|u| u.linked_to_provider = true)),
                refuse(Refusal::AlreadyLinked),
            ),
            (
                LinkVerified,
                true,
                true,
                email(with(|u| u.service_account = true)),
                refuse(Refusal::Exists("e-mail")),
            ),
            // A username alone is no reason to link: a new user (with a suffix, later).
            (
                LinkVerified,
                true,
                true,
                username(local("existing")),
                create(true, true),
            ),
            // deny-if-exists refuses either match.
            (
                DenyIfExists,
                true,
                true,
                email(local("existing")),
                refuse(Refusal::Exists("e-mail")),
            ),
            (
                DenyIfExists,
                true,
                true,
                username(local("existing")),
                refuse(Refusal::Exists("username")),
            ),
            // existing-only links by e-mail or username, with proof; never by username alone
            // without it.
            (
                ExistingOnly,
                true,
                true,
                email(local("existing")),
                link_now(),
            ),
            (
                ExistingOnly,
                true,
                true,
                username(local("existing")),
                confirm(),
            ),
            (
                ExistingOnly,
                true,
                true,
                username(with(|u| u.has_password = false)),
                refuse(Refusal::CannotProve),
            ),
        ];
        for (policy, trusted, verified, matches, want) in rows {
            let got = decide(policy, trusted, &upstream(verified), "corp", &matches);
            assert_eq!(
                got, want,
                "{policy:?} trusted={trusted} verified={verified} {matches:?}"
            );
        }
    }

    #[test]
    fn usernames_come_from_the_upstream() {
        let mut id = upstream(true);
        assert_eq!(preferred_username(&id, "corp"), "alice");
        id.username = Some(" Mona Lisa\u{7} ".into());
        assert_eq!(preferred_username(&id, "corp"), "mona.lisa");
        id.username = None;
        assert_eq!(preferred_username(&id, "corp"), "alice");
        id.email = None;
        assert_eq!(preferred_username(&id, "corp"), "corp.up-1");
        let candidates: Vec<String> = username_candidates("alice", "corp").take(4).collect();
        assert_eq!(
            candidates,
            ["alice", "alice.corp", "alice.corp.2", "alice.corp.3"]
        );
        assert_eq!(username_candidates("a", "b").count(), 21);
        let robot: Vec<String> = username_candidates("robot.ci", "corp").take(2).collect();
        assert_eq!(
            robot,
            ["corp.robot.ci", "corp.robot.ci.corp"],
            "an upstream account never gets a robot's login name"
        );
    }
}
