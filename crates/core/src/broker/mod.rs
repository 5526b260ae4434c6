//! Identity brokering's pure logic: an identity provider's config read and checked
//! ([`settings`]), claim paths ([`claims`]), and what mappers assert for a login
//! ([`mappers`]). The HTTP client and the database side live in `portcullis-broker`.

pub mod claims;
pub mod mappers;
pub mod settings;

use serde_json::Value;

/// Who signed in at the upstream, as the upstream client read it. Serializable: between the
/// callback and the first-login page it travels in a signed form token.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct UpstreamIdentity {
    /// The upstream's stable id of the account (`sub`, GitHub's numeric `id`).
    pub subject: String,
    /// The upstream's username (`preferred_username`, GitHub's `login`).
    pub username: Option<String>,
    pub email: Option<String>,
    /// Whether the upstream says it verified the e-mail.
    pub email_verified: bool,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// Group names the upstream asserts (GitHub organisations and teams; an OIDC provider's
    /// `groups` claim).
    pub groups: Vec<String>,
    /// Every claim (ID token and user info merged; the user-info document for OAuth 2.0), what
    /// mappers read.
    pub claims: Value,
}
