//! `ClientRepresentation` and `ProtocolMapperRepresentation`.

use std::collections::BTreeMap;

use portcullis_core::model::ProtocolMapper;
use portcullis_store::entity::{client, protocol_mapper};
use portcullis_web::Protocols;
use serde_json::{Map, Value, json};

use portcullis_store::representation::{ClientRepresentation, ProtocolMapperRepresentation};

use super::{compose, from_row, parse, stored, text, to_column, to_object};
use crate::error::AdminError;

/// Fields the client row models or the API derives; everything else is kept as extras
/// (`rootUrl`, `frontchannelLogout`, ...), as a realm file's import keeps them.
pub const MODELLED: &[&str] = portcullis_store::representation::CLIENT_FIELDS_NOT_KEPT;

pub const OPENID_CONNECT: &str = "openid-connect";
/// What partial exports show instead of a secret.
pub const MASKED_SECRET: &str = "**********";

/// The client as Keycloak returns it. The secret is included only for callers allowed to see
/// clients in full.
pub fn representation(
    row: &client::Model,
    mappers: &[protocol_mapper::Model],
    extras: &Map<String, Value>,
    include_secret: bool,
) -> Result<Value, AdminError> {
    let mut rep = from_row::client(row, mappers)?;
    if !include_secret || row.public_client {
        rep.secret = None;
    }
    let defaults = json!({
        "surrogateAuthRequired": false,
        "alwaysDisplayInConsole": false,
        "implicitFlowEnabled": false,
        "frontchannelLogout": true,
        "fullScopeAllowed": true,
        "nodeReRegistrationTimeout": -1,
        "authenticationFlowBindingOverrides": {},
    });
    let mut core = to_object(&rep)?;
    core.insert(
        "access".into(),
        json!({"view": true, "configure": true, "manage": true}),
    );
    Ok(compose(defaults, extras, Value::Object(core)))
}

/// The client fields of a create or update body; `None` is "not given".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClientFields {
    pub client_id: Option<String>,
    pub name: Option<Option<String>>,
    pub description: Option<Option<String>>,
    pub protocol: Option<String>,
    pub enabled: Option<bool>,
    pub public_client: Option<bool>,
    pub bearer_only: Option<bool>,
    pub secret: Option<String>,
    pub redirect_uris: Option<Vec<String>>,
    pub web_origins: Option<Vec<String>>,
    pub standard_flow_enabled: Option<bool>,
    pub direct_access_grants_enabled: Option<bool>,
    pub service_accounts_enabled: Option<bool>,
    pub consent_required: Option<bool>,
    pub default_client_scopes: Option<Vec<String>>,
    pub optional_client_scopes: Option<Vec<String>>,
    pub full_scope_allowed: Option<bool>,
    pub attributes: Option<BTreeMap<String, String>>,
    /// Unix seconds; tokens issued to the client before it are dead.
    pub not_before: Option<i64>,
    /// `clientAuthenticatorType`.
    pub client_authenticator_type: Option<String>,
}

impl ClientFields {
    pub fn read(body: &Value) -> Result<Self, AdminError> {
        Self::from_representation(parse(body)?)
    }

    /// The fields a representation gives: trimmed, an empty name or description clears it, a
    /// masked secret (from a partial export) means "keep the stored one".
    pub fn from_representation(rep: ClientRepresentation) -> Result<Self, AdminError> {
        let clearable = |v: Option<String>| v.map(|s| Some(s).filter(|s| !s.is_empty()));
        let fields = Self {
            client_id: text(&rep.client_id),
            protocol: text(&rep.protocol),
            secret: text(&rep.secret).filter(|s| s != MASKED_SECRET),
            name: clearable(rep.name),
            description: clearable(rep.description),
            enabled: rep.enabled,
            public_client: rep.public_client,
            bearer_only: rep.bearer_only,
            redirect_uris: rep.redirect_uris,
            web_origins: rep.web_origins,
            standard_flow_enabled: rep.standard_flow_enabled,
            direct_access_grants_enabled: rep.direct_access_grants_enabled,
            service_accounts_enabled: rep.service_accounts_enabled,
            consent_required: rep.consent_required,
            default_client_scopes: rep.default_client_scopes,
            optional_client_scopes: rep.optional_client_scopes,
            full_scope_allowed: rep.full_scope_allowed,
            attributes: rep.attributes,
            not_before: rep.not_before,
            client_authenticator_type: text(&rep.client_authenticator_type),
        };
        fields.validate()?;
        Ok(fields)
    }

    /// Refuses a protocol the server does not serve.
    pub fn check_protocol(&self, protocols: &Protocols) -> Result<(), AdminError> {
        match &self.protocol {
            Some(protocol) if protocols.find(protocol).is_none() => {
                let served: Vec<&str> = protocols.iter().map(|p| p.name()).collect();
                Err(AdminError::BadRequest(format!(
                    "Unsupported protocol {protocol}; use {}",
                    served.join(" or ")
                )))
            }
            _ => Ok(()),
        }
    }

    fn validate(&self) -> Result<(), AdminError> {
        if self
            .client_id
            .as_ref()
            .is_some_and(|c| c.chars().count() > super::user::MAX_NAME_LEN)
        {
            return Err(AdminError::BadRequest("Client ID is too long".into()));
        }
        if self
            .client_authenticator_type
            .as_ref()
            .is_some_and(|t| t.chars().count() > 64)
        {
            return Err(AdminError::BadRequest(
                "clientAuthenticatorType is too long".into(),
            ));
        }
        if self.not_before.is_some_and(|n| n < 0) {
            return Err(AdminError::BadRequest(
                "notBefore must not be negative".into(),
            ));
        }
        Ok(())
    }

    /// The protocol a new client gets.
    pub fn protocol_or_default(&self) -> String {
        self.protocol
            .clone()
            .unwrap_or_else(|| OPENID_CONNECT.to_string())
    }

    /// What Keycloak's admin `POST clients` adds to the body before the row is made
    /// (`RepresentationToModel.createClient`, then `setupClientDefaults` of the protocol only
    /// when the body names one): without a protocol the stored defaults hold (confidential,
    /// standard flow on, direct access grants off); with `openid-connect` a body that says
    /// neither `publicClient` nor `bearerOnly` makes a public client, and the standard flow and
    /// direct access grants default to on. `frontchannelLogout` defaults to off either way; it
    /// is returned through `extras` when the body leaves it out.
    pub fn with_create_defaults(&self, extras: &mut Map<String, Value>) -> Self {
        let mut fields = self.clone();
        if fields.protocol.as_deref() == Some(OPENID_CONNECT) {
            fields.public_client.get_or_insert(true);
            fields.bearer_only.get_or_insert(false);
            fields.standard_flow_enabled.get_or_insert(true);
            fields.direct_access_grants_enabled.get_or_insert(true);
        } else {
            fields.direct_access_grants_enabled.get_or_insert(false);
        }
        if !matches!(extras.get("frontchannelLogout"), Some(Value::Bool(_))) {
            extras.insert("frontchannelLogout".into(), Value::Bool(false));
        }
        fields
    }

    /// A new client row: Keycloak's defaults for what the body leaves out (a confidential
    /// client gets a generated secret, a client the realm's default and optional scopes of
    /// its protocol, `realm_scopes`).
    pub fn new_row(
        &self,
        id: String,
        realm_id: &str,
        client_id: &str,
        now_unix: i64,
        realm_scopes: (&[String], &[String]),
    ) -> Result<client::Model, AdminError> {
        let protocol = self.protocol_or_default();
        let scopes = |given: &Option<Vec<String>>, defaults: &[String]| match given {
            Some(list) => list.clone(),
            None => defaults.to_vec(),
        };
        let mut row = client::Model {
            id,
            realm_id: realm_id.to_string(),
            client_id: client_id.to_string(),
            name: None,
            description: None,
            protocol: protocol.clone(),
            enabled: true,
            public_client: false,
            bearer_only: false,
            secret: None,
            redirect_uris: "[]".into(),
            web_origins: "[]".into(),
            attributes: "{}".into(),
            standard_flow_enabled: true,
            // Keycloak's default for a client created without the flag.
            direct_access_grants_enabled: true,
            service_accounts_enabled: false,
            created_at: now_unix,
            consent_required: false,
            default_client_scopes: to_column(&scopes(&self.default_client_scopes, realm_scopes.0))?,
            optional_client_scopes: to_column(&scopes(
                &self.optional_client_scopes,
                realm_scopes.1,
            ))?,
            full_scope_allowed: true,
            scope_role_ids: "[]".into(),
            not_before: 0,
            client_authenticator_type: portcullis_core::model::Client::SECRET.to_string(),
        };
        self.apply(&mut row)?;
        if row.public_client || row.bearer_only {
            // Keycloak keeps no secret for a public or bearer-only client.
            row.secret = None;
        } else if row.secret.is_none() {
            row.secret = Some(portcullis_store::admin::clients::new_secret()?);
        }
        Ok(row)
    }

    /// Applies the given fields to a row.
    pub fn apply(&self, row: &mut client::Model) -> Result<(), AdminError> {
        if let Some(v) = &self.client_id {
            row.client_id = v.clone();
        }
        if let Some(v) = &self.name {
            row.name = v.clone();
        }
        if let Some(v) = &self.description {
            row.description = v.clone();
        }
        if let Some(v) = &self.protocol {
            row.protocol = v.clone();
        }
        let flags = [
            (self.enabled, &mut row.enabled),
            (self.public_client, &mut row.public_client),
            (self.bearer_only, &mut row.bearer_only),
            (self.standard_flow_enabled, &mut row.standard_flow_enabled),
            (
                self.direct_access_grants_enabled,
                &mut row.direct_access_grants_enabled,
            ),
            (
                self.service_accounts_enabled,
                &mut row.service_accounts_enabled,
            ),
            (self.consent_required, &mut row.consent_required),
            (self.full_scope_allowed, &mut row.full_scope_allowed),
        ];
        for (given, field) in flags {
            if let Some(value) = given {
                *field = value;
            }
        }
        if let Some(v) = &self.secret {
            row.secret = Some(v.clone());
        }
        let lists = [
            (&self.redirect_uris, &mut row.redirect_uris),
            (&self.web_origins, &mut row.web_origins),
            (&self.default_client_scopes, &mut row.default_client_scopes),
            (
                &self.optional_client_scopes,
                &mut row.optional_client_scopes,
            ),
        ];
        for (given, column) in lists {
            if let Some(list) = given {
                *column = to_column(list)?;
            }
        }
        if let Some(v) = &self.attributes {
            row.attributes = to_column(v)?;
        }
        if let Some(v) = self.not_before {
            row.not_before = v;
        }
        if let Some(v) = &self.client_authenticator_type {
            row.client_authenticator_type = v.clone();
        }
        Ok(())
    }
}

pub fn mapper_representation(row: &protocol_mapper::Model) -> Result<Value, AdminError> {
    Ok(Value::Object(to_object(&from_row::mapper(row)?)?))
}

/// A protocol mapper body.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MapperFields {
    pub id: Option<String>,
    pub name: Option<String>,
    pub protocol: Option<String>,
    pub mapper_type: Option<String>,
    pub config: Option<BTreeMap<String, String>>,
}

impl MapperFields {
    pub fn read(body: &Value) -> Result<Self, AdminError> {
        Self::from_representation(parse(body)?)
    }

    pub fn from_representation(rep: ProtocolMapperRepresentation) -> Result<Self, AdminError> {
        let fields = Self {
            id: text(&rep.id),
            name: text(&rep.name),
            protocol: text(&rep.protocol),
            mapper_type: text(&rep.protocol_mapper),
            config: rep.config,
        };
        let too_long = [&fields.id, &fields.name, &fields.mapper_type]
            .into_iter()
            .flatten()
            .any(|s| s.chars().count() > super::user::MAX_NAME_LEN);
        if too_long {
            return Err(AdminError::BadRequest(
                "Protocol mapper field too long".into(),
            ));
        }
        Ok(fields)
    }

    /// The mapper as the domain sees it, for validation.
    pub fn to_domain(row: &protocol_mapper::Model) -> Result<ProtocolMapper, AdminError> {
        Ok(ProtocolMapper {
            id: row.id.clone(),
            name: row.name.clone(),
            protocol: row.protocol.clone(),
            mapper_type: row.mapper_type.clone(),
            config: stored(&row.config, "protocol mapper config")?,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn new_clients_get_keycloak_defaults() {
        let body = json!({"clientId": "app", "redirectUris": ["http://x/*"],
                          "attributes": {"pkce.code.challenge.method": "S256"}});
        let fields = ClientFields::read(&body).unwrap();
        let defaults = vec!["profile".to_owned(), "basic".to_owned()];
        let row = fields
            .new_row("id1".into(), "r", "app", 5, (&defaults, &[]))
            .unwrap();
        assert!(row.secret.as_ref().is_some_and(|s| s.len() >= 43));
        assert!(row.standard_flow_enabled && !row.public_client);
        assert!(row.default_client_scopes.contains("profile"));
        let rep = representation(&row, &[], &Map::new(), true).unwrap();
        assert_eq!(rep["redirectUris"], json!(["http://x/*"]));
        assert_eq!(rep["attributes"]["pkce.code.challenge.method"], "S256");
        assert_eq!(rep["fullScopeAllowed"], true);
        assert!(rep.get("secret").is_some());
        let hidden = representation(&row, &[], &Map::new(), false).unwrap();
        assert!(hidden.get("secret").is_none());

        let public = json!({"clientId": "reg", "protocol": "docker-v2", "publicClient": true});
        let fields = ClientFields::read(&public).unwrap();
        let row = fields
            .new_row("id2".into(), "r", "reg", 5, (&[], &[]))
            .unwrap();
        assert_eq!(row.secret, None);
        assert_eq!(row.default_client_scopes, "[]");
    }

    #[test]
    fn rejects_bad_client_bodies() {
        for bad in [
            json!({"redirectUris": "http://x"}),
            json!({"publicClient": "yes"}),
            json!({"attributes": {"a": {"b": 1}}}),
        ] {
            assert!(ClientFields::read(&bad).is_err(), "{bad}");
        }
        let masked = json!({"secret": MASKED_SECRET});
        let fields = ClientFields::read(&masked).unwrap();
        assert_eq!(fields.secret, None);
    }
}
