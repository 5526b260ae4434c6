//! Shared HTTP pieces: the application state every protocol handler receives, the realm cache,
//! the authenticator (credential sources), error responses, the protocol plug-in trait and the
//! protocol-neutral login flow ([`login`]).

mod auth;
pub mod authenticator;
pub mod bearer;
mod client_ip;
mod cluster;
pub mod cors;
pub mod csrf;
mod error;
mod events;
pub mod forms;
mod hashing;
pub mod http;
pub mod key_sets;
pub mod login;
mod protocol;
mod rate_limit;
mod realm_cache;
pub mod session;
mod state;
pub mod templates;

pub use auth::basic_credentials;
pub use authenticator::{Attempt, Credential, RobotCredential, Sources, Verification, Verified};
pub use client_ip::{ClientIp, ProxyHeader, TrustedProxies};
pub use error::WebError;
pub use events::LoginEvent;
pub use protocol::{
    AccessRule, AccessSubject, CiAttempt, CiRule, CiTry, ClientSetting, ClientSetup,
    ExampleRequest, ExampleToken, MapperType, Mount, Protocol, Protocols, RuleVerdictView,
    ScopeExplanation, realm_mapper_problems,
};
pub use state::{AppState, LiveUser, Urls};
