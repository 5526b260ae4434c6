//! portcullis-broker: signing in through upstream identity providers.
//!
//! - [`upstream`]: the upstream side: the authorization request, and at the callback the code
//!   exchanged and the identity read (OpenID Connect through `openidconnect`, OAuth 2.0 and
//!   GitHub through `oauth2`), every request through one [`http::Http`] client that follows
//!   no redirects and gives up after its timeouts.
//! - [`first_login`]: the four named first-login policies, as a pure decision.
//! - [`login`]: a login carried out on the database: the linked user or the policy's outcome,
//!   then the provider's mappers with every membership's provenance reconciled.
//!
//! - [`routes`]: the browser side: the login page's buttons and `kc_idp_hint` lead upstream,
//!   the callback signs the user in or shows the first-login pages, the account console links
//!   providers.
//!
//! The provider settings and mapper rules themselves are read in
//! `portcullis_core::broker`, where the admin API checks them too.

mod error;
pub mod first_login;
pub mod login;
mod routes;
pub mod upstream;

pub use error::BrokerError;
pub use login::{BrokeredLogin, FirstLogin, Outcome, Plan, link_confirmed, sign_in};
/// The outbound HTTP client lives in `portcullis_web` (the docker-v2 protocol fetches CI
/// issuers' keys with it too); re-exported under its old path.
pub use portcullis_web::http;
pub use portcullis_web::http::{Http, Limits};
pub use routes::routes;
pub use upstream::{PendingUpstream, Started, Upstream};
