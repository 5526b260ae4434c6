//! The domain operations under both admin front ends: the Keycloak REST API (a JSON adapter)
//! and the admin console (an HTML adapter). Each operation takes typed input, checks the
//! caller's right in the target realm ([`target_realm`]), enforces its invariants, runs in one
//! transaction with its admin event ([`Change`]) and returns typed output, so neither front end
//! can allow what the other forbids.

pub mod access;
pub mod app_passwords;
pub mod client_certificates;
pub mod client_scopes;
pub mod clients;
pub mod events;
pub mod federated;
pub mod flows;
pub mod grants;
pub mod groups;
pub mod identity_providers;
pub mod import;
pub mod installation;
pub mod keys;
pub mod lookup;
pub mod mail;
pub mod mappings;
pub mod realm_admin;
pub mod realms;
pub mod required_actions;
pub mod robots;
pub mod roles;
pub mod self_service;
pub mod sessions;
pub mod user_actions;
pub mod user_profile;
pub mod users;

use portcullis_web::{AppState, Protocols};

use crate::auth::Caller;

/// Who is asking, and the server they ask: what every operation needs.
#[derive(Clone, Copy)]
pub struct Ops<'a> {
    pub state: &'a AppState,
    pub caller: &'a Caller,
    pub protocols: &'a Protocols,
}

impl<'a> Ops<'a> {
    pub fn new(state: &'a AppState, caller: &'a Caller, protocols: &'a Protocols) -> Self {
        Self {
            state,
            caller,
            protocols,
        }
    }
}
