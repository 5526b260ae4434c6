//! What can go wrong talking to an upstream or deciding a first login. Every variant's text
//! is safe to show the user: it names the provider's fault, never a secret or a stack.

/// The broker's errors.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    /// The provider's settings cannot be used (the admin API refuses such settings; a realm
    /// file may still carry them, or discovery may contradict them).
    #[error("the identity provider is misconfigured: {0}")]
    Config(String),
    /// No answer in time, or no connection at all.
    #[error("the identity provider could not be reached ({0})")]
    Unreachable(String),
    /// An answer that is not what the protocol promises: an error status, not JSON, too
    /// large, a missing field.
    #[error("the identity provider answered unexpectedly: {0}")]
    Upstream(String),
    /// The provider refused: an OAuth error response (`access_denied`, `invalid_grant`).
    #[error("the identity provider refused the sign-in: {0}")]
    Refused(String),
    /// An ID token that does not verify (signature, issuer, audience, expiry, nonce).
    #[error("the identity provider's ID token is not valid: {0}")]
    InvalidToken(String),
    /// The upstream account may not sign in here (not in an allowed GitHub organisation).
    #[error("{0}")]
    NotAllowed(String),
    #[error("storage: {0}")]
    Store(#[from] portcullis_store::StoreError),
}
