//! CORS for the OIDC endpoints: the one implementation in [`portcullis_web::cors`].

pub(crate) use portcullis_web::cors::{allow, preflight, request_origin};
