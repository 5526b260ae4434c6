//! The built-in authentication flows, as Keycloak names them, describing what this server does
//! at each step. They are fixed: this server's login is code, not a configurable flow, so the
//! admin API shows them read-only (tools that list flows and executions work) and refuses edits.
//! Ids are stable per realm (derived from the realm id and the alias), as tools keep them
//! between calls.

use aws_lc_rs::digest::{SHA256, digest};

/// One step of a flow: an authenticator, or a sub-flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// The authenticator's provider id; `None` for a sub-flow.
    pub authenticator: Option<&'static str>,
    /// The sub-flow's alias; `None` for an authenticator.
    pub flow: Option<&'static str>,
    /// `REQUIRED`, `ALTERNATIVE`, `DISABLED`, `CONDITIONAL`.
    pub requirement: &'static str,
    pub priority: i64,
}

/// A flow: top-level (bound to a realm's login, grant or client authentication) or a sub-flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flow {
    pub alias: &'static str,
    pub description: &'static str,
    /// `basic-flow`, `client-flow` or `form-flow`.
    pub provider_id: &'static str,
    pub top_level: bool,
    pub steps: &'static [Step],
}

/// An authenticator this server runs: (provider id, display name, description, kind), where the
/// kind is the provider listing it appears in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Authenticator {
    pub id: &'static str,
    pub display_name: &'static str,
    pub description: &'static str,
    pub kind: Kind,
}

/// Which of Keycloak's provider listings an authenticator belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Authenticator,
    ClientAuthenticator,
    Form,
    FormAction,
}

const fn auth(id: &'static str, requirement: &'static str, priority: i64) -> Step {
    Step {
        authenticator: Some(id),
        flow: None,
        requirement,
        priority,
    }
}

const fn sub(alias: &'static str, requirement: &'static str, priority: i64) -> Step {
    Step {
        authenticator: None,
        flow: Some(alias),
        requirement,
        priority,
    }
}

/// The execution of the username and password form in the browser flow; the login form names
/// it in its URL (`execution=`), as Keycloak's does.
pub const LOGIN_FORM: &str = "auth-username-password-form";

pub const FLOWS: &[Flow] = &[
    Flow {
        alias: "browser",
        description: "Browser based authentication",
        provider_id: "basic-flow",
        top_level: true,
        steps: &[
            auth("auth-cookie", "ALTERNATIVE", 10),
            auth("identity-provider-redirector", "ALTERNATIVE", 25),
            sub("forms", "ALTERNATIVE", 30),
        ],
    },
    Flow {
        alias: "forms",
        description: "Username, password, otp and other auth forms.",
        provider_id: "basic-flow",
        top_level: false,
        steps: &[auth(LOGIN_FORM, "REQUIRED", 10)],
    },
    Flow {
        alias: "direct grant",
        description: "OpenID Connect Resource Owner Grant",
        provider_id: "basic-flow",
        top_level: true,
        steps: &[
            auth("direct-grant-validate-username", "REQUIRED", 10),
            auth("direct-grant-validate-password", "REQUIRED", 20),
        ],
    },
    Flow {
        alias: "registration",
        description: "Registration flow",
        provider_id: "basic-flow",
        top_level: true,
        steps: &[sub("registration form", "REQUIRED", 10)],
    },
    Flow {
        alias: "registration form",
        description: "Registration form",
        provider_id: "form-flow",
        top_level: false,
        steps: &[
            auth("registration-user-creation", "REQUIRED", 20),
            auth("registration-password-action", "REQUIRED", 50),
        ],
    },
    Flow {
        alias: "reset credentials",
        description: "Reset credentials for a user if they forgot their password or something",
        provider_id: "basic-flow",
        top_level: true,
        steps: &[
            auth("reset-credentials-choose-user", "REQUIRED", 10),
            auth("reset-credential-email", "REQUIRED", 20),
            auth("reset-password", "REQUIRED", 30),
        ],
    },
    Flow {
        alias: "clients",
        description: "Base authentication for clients",
        provider_id: "client-flow",
        top_level: true,
        steps: &[
            auth("client-secret", "ALTERNATIVE", 10),
            auth("client-jwt", "ALTERNATIVE", 20),
        ],
    },
    Flow {
        alias: "first broker login",
        description: "Actions taken after first broker login with identity provider account, which is not yet linked to any Keycloak account",
        provider_id: "basic-flow",
        top_level: true,
        steps: &[
            auth("idp-review-profile", "REQUIRED", 10),
            sub("User creation or linking", "REQUIRED", 20),
        ],
    },
    Flow {
        alias: "User creation or linking",
        description: "Flow for the existing/non-existing user alternatives",
        provider_id: "basic-flow",
        top_level: false,
        steps: &[
            auth("idp-create-user-if-unique", "ALTERNATIVE", 10),
            sub("Handle Existing Account", "ALTERNATIVE", 20),
        ],
    },
    Flow {
        alias: "Handle Existing Account",
        description: "Handle what to do if there is existing account with same email/username like authenticated identity provider",
        provider_id: "basic-flow",
        top_level: false,
        steps: &[
            auth("idp-confirm-link", "REQUIRED", 10),
            auth("idp-username-password-form", "REQUIRED", 20),
        ],
    },
    Flow {
        alias: "docker auth",
        description: "Used by Docker clients to authenticate against the IDP",
        provider_id: "basic-flow",
        top_level: true,
        steps: &[auth("docker-http-basic-authenticator", "REQUIRED", 10)],
    },
];

pub const AUTHENTICATORS: &[Authenticator] = &[
    Authenticator {
        id: "auth-cookie",
        display_name: "Cookie",
        description: "Validates the SSO cookie set by the auth server.",
        kind: Kind::Authenticator,
    },
    Authenticator {
        id: "identity-provider-redirector",
        display_name: "Identity Provider Redirector",
        description: "Redirects to default Identity Provider or Identity Provider specified with kc_idp_hint query parameter",
        kind: Kind::Authenticator,
    },
    Authenticator {
        id: LOGIN_FORM,
        display_name: "Username Password Form",
        description: "Validates a username and password from login form.",
        kind: Kind::Authenticator,
    },
    Authenticator {
        id: "direct-grant-validate-username",
        display_name: "Username Validation",
        description: "Validates the username supplied as a 'username' form parameter in direct grant request",
        kind: Kind::Authenticator,
    },
    Authenticator {
        id: "direct-grant-validate-password",
        display_name: "Password",
        description: "Validates the password supplied as a 'password' form parameter in direct grant request",
        kind: Kind::Authenticator,
    },
    Authenticator {
        id: "reset-credentials-choose-user",
        display_name: "Choose User",
        description: "Choose a user to reset credentials for",
        kind: Kind::Authenticator,
    },
    Authenticator {
        id: "reset-credential-email",
        display_name: "Send Reset Email",
        description: "Send email to user and wait for response.",
        kind: Kind::Authenticator,
    },
    Authenticator {
        id: "reset-password",
        display_name: "Reset Password",
        description: "Sets the Update Password required action if execution is REQUIRED.  Will also set it if execution is OPTIONAL and the password is currently configured for it.",
        kind: Kind::Authenticator,
    },
    Authenticator {
        id: "idp-review-profile",
        display_name: "Review Profile",
        description: "User reviews and updates profile data retrieved from Identity Provider in the displayed form",
        kind: Kind::Authenticator,
    },
    Authenticator {
        id: "idp-create-user-if-unique",
        display_name: "Create User If Unique",
        description: "Detect if there is existing Keycloak account with same email like identity provider. If no, create new user",
        kind: Kind::Authenticator,
    },
    Authenticator {
        id: "idp-confirm-link",
        display_name: "Confirm link existing account",
        description: "Show the form where user confirms if he wants to link identity provider with existing account or rather edit user profile data retrieved from identity provider to avoid conflict",
        kind: Kind::Authenticator,
    },
    Authenticator {
        id: "idp-username-password-form",
        display_name: "Username Password Form for identity provider reauthentication",
        description: "Validates a password from login form. Username may be already known from identity provider authentication",
        kind: Kind::Authenticator,
    },
    Authenticator {
        id: "docker-http-basic-authenticator",
        display_name: "Docker Authenticator",
        description: "Uses HTTP Basic authentication to validate docker users, returning a docker error token on auth failure",
        kind: Kind::Authenticator,
    },
    Authenticator {
        id: "client-secret",
        display_name: "Client Id and Secret",
        description: "Validates client based on 'client_id' and 'client_secret' sent either in request parameters or in 'Authorization: Basic' header",
        kind: Kind::ClientAuthenticator,
    },
    Authenticator {
        id: "client-jwt",
        display_name: "Signed Jwt",
        description: "Validates client based on signed JWT issued by client and signed with the Client private key",
        kind: Kind::ClientAuthenticator,
    },
    Authenticator {
        id: "registration-page-form",
        display_name: "Registration Page",
        description: "This is the controller for the registration page",
        kind: Kind::Form,
    },
    Authenticator {
        id: "registration-user-creation",
        display_name: "Registration User Profile Creation",
        description: "This action must always be first! Validates the username and user profile of the user in validation phase.  In success phase, this will create the user in the database including his user profile.",
        kind: Kind::FormAction,
    },
    Authenticator {
        id: "registration-password-action",
        display_name: "Password Validation",
        description: "Validates that password matches password confirmation field.  It also will store password in user's credential store.",
        kind: Kind::FormAction,
    },
];

/// The flow named `alias`.
pub fn flow(alias: &str) -> Option<&'static Flow> {
    FLOWS.iter().find(|f| f.alias == alias)
}

pub fn authenticator(id: &str) -> Option<&'static Authenticator> {
    AUTHENTICATORS.iter().find(|a| a.id == id)
}

/// A stable UUID-shaped id for `what` in the realm `realm_id`.
pub fn stable_id(realm_id: &str, what: &str) -> String {
    let hash = digest(&SHA256, format!("{realm_id}\u{0}{what}").as_bytes());
    let b = hash.as_ref();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&b[..16]);
    // Version 8 (custom), RFC 9562 variant.
    bytes[6] = (bytes[6] & 0x0f) | 0x80;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// The id of a flow in a realm.
pub fn flow_id(realm_id: &str, alias: &str) -> String {
    stable_id(realm_id, &format!("flow:{alias}"))
}

/// The id of the `index`th step of a flow in a realm.
pub fn execution_id(realm_id: &str, flow_alias: &str, index: usize) -> String {
    stable_id(realm_id, &format!("execution:{flow_alias}:{index}"))
}

/// The id of the login form's execution in a realm's browser flow.
pub fn login_form_execution_id(realm_id: &str) -> String {
    execution_id(realm_id, "forms", 0)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn every_step_names_a_known_authenticator_or_flow() {
        for flow in FLOWS {
            for step in flow.steps {
                match (step.authenticator, step.flow) {
                    (Some(id), None) => assert!(authenticator(id).is_some(), "{id}"),
                    (None, Some(alias)) => {
                        assert!(super::flow(alias).is_some_and(|f| !f.top_level), "{alias}")
                    }
                    other => panic!("bad step {other:?}"),
                }
            }
        }
    }

    #[test]
    fn ids_are_stable_and_distinct() {
        let a = flow_id("r1", "browser");
        assert_eq!(a, flow_id("r1", "browser"));
        assert_ne!(a, flow_id("r2", "browser"));
        assert_ne!(a, flow_id("r1", "clients"));
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "8");
    }
}
