//! Shared HTTP pieces: the application state every protocol handler receives, the realm cache,
//! password authentication, error responses and the protocol plug-in trait.

mod auth;
mod error;
mod protocol;
mod realm_cache;
mod state;

pub use auth::basic_credentials;
pub use error::WebError;
pub use protocol::{MapperType, Protocol, protocol_mount_path};
pub use state::{AppState, Urls};
