//! Portcullis domain: the realm model and the pure logic around it.
//!
//! Nothing here knows about HTTP or SQL. Time comes in through [`clock::Clock`].

pub mod app_password;
pub mod authority;
pub mod broker;
pub mod brute_force;
pub mod client_scopes;
pub mod clock;
pub mod epoch_cache;
pub mod flows;
pub mod jwk;
pub mod jws;
pub mod keys;
pub mod model;
pub mod not_before;
pub mod password;
pub mod required_action;
pub mod resolve;
pub mod robot;
pub mod secrets;
pub mod verified_cache;
