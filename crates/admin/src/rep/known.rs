//! The fields Keycloak's representation classes accept, for the one check every admin REST body
//! goes through: Keycloak's JAX-RS provider (Jackson) refuses a property its class does not have
//! with 400 `Unrecognized field "x" (class ...)`, so a typo never reaches the database and a
//! tool learns at once that the server ignored nothing. The lists hold every property Keycloak
//! accepts (deprecated ones included), whether Portcullis models it or not: tools send back
//! what a `GET` gave them.
//!
//! Nested representations are checked too (a realm's users, a user's credentials, ...); a nested
//! value Portcullis does not interpret (`clientScopes`, `authenticationFlows`, `components`) is
//! left to its own endpoint.

use serde_json::Value;

use crate::error::AdminError;

/// One Keycloak representation class: its name and properties.
#[derive(Debug)]
pub struct Schema {
    /// Jackson names the class in its message.
    pub class: &'static str,
    pub fields: &'static [(&'static str, Nested)],
    /// Keycloak's `@JsonIgnoreProperties(ignoreUnknown = true)`: other properties are ignored
    /// (and never stored), the known ones still checked.
    pub ignore_unknown: bool,
}

/// What a property holds, as far as the check descends.
#[derive(Debug, Clone, Copy)]
pub enum Nested {
    /// A value the check does not descend into.
    Leaf,
    /// One object of that representation.
    One(&'static Schema),
    /// A list of them.
    List(&'static Schema),
    /// `{key: [objects]}`, as `roles.client`.
    MapOfLists(&'static Schema),
}

use Nested::{Leaf, List, MapOfLists, One};

const IDM: &str = "org.keycloak.representations.idm";

macro_rules! leaves {
    ($($name:literal),* $(,)?) => { &[$(($name, Leaf)),*] };
}

pub static CREDENTIAL: Schema = Schema {
    class: "CredentialRepresentation",
    ignore_unknown: false,
    fields: leaves!(
        "id",
        "type",
        "userLabel",
        "createdDate",
        "secretData",
        "credentialData",
        "priority",
        "value",
        "temporary",
        "device",
        "hashedSaltedValue",
        "salt",
        "hashIterations",
        "counter",
        "algorithm",
        "digits",
        "period",
        "config",
        "federationLink",
    ),
};

pub static FEDERATED_IDENTITY: Schema = Schema {
    class: "FederatedIdentityRepresentation",
    ignore_unknown: false,
    fields: leaves!("identityProvider", "userId", "userName"),
};

pub static USER: Schema = Schema {
    class: "UserRepresentation",
    ignore_unknown: false,
    fields: &[
        ("id", Leaf),
        ("username", Leaf),
        ("firstName", Leaf),
        ("lastName", Leaf),
        ("email", Leaf),
        ("emailVerified", Leaf),
        ("attributes", Leaf),
        ("userProfileMetadata", Leaf),
        ("self", Leaf),
        ("origin", Leaf),
        ("createdTimestamp", Leaf),
        ("enabled", Leaf),
        ("totp", Leaf),
        ("federationLink", Leaf),
        ("serviceAccountClientId", Leaf),
        ("credentials", List(&CREDENTIAL)),
        ("disableableCredentialTypes", Leaf),
        ("requiredActions", Leaf),
        ("federatedIdentities", List(&FEDERATED_IDENTITY)),
        ("realmRoles", Leaf),
        ("clientRoles", Leaf),
        ("clientConsents", Leaf),
        ("notBefore", Leaf),
        ("applicationRoles", Leaf),
        ("socialLinks", Leaf),
        ("groups", Leaf),
        ("access", Leaf),
    ],
};

pub static PROTOCOL_MAPPER: Schema = Schema {
    class: "ProtocolMapperRepresentation",
    ignore_unknown: false,
    fields: leaves!(
        "id",
        "name",
        "protocol",
        "protocolMapper",
        "consentRequired",
        "consentText",
        "config",
    ),
};

pub static CLIENT: Schema = Schema {
    class: "ClientRepresentation",
    ignore_unknown: false,
    fields: &[
        ("id", Leaf),
        ("clientId", Leaf),
        ("name", Leaf),
        ("description", Leaf),
        ("type", Leaf),
        ("rootUrl", Leaf),
        ("adminUrl", Leaf),
        ("baseUrl", Leaf),
        ("surrogateAuthRequired", Leaf),
        ("enabled", Leaf),
        ("alwaysDisplayInConsole", Leaf),
        ("clientAuthenticatorType", Leaf),
        ("secret", Leaf),
        ("registrationAccessToken", Leaf),
        ("defaultRoles", Leaf),
        ("redirectUris", Leaf),
        ("webOrigins", Leaf),
        ("notBefore", Leaf),
        ("bearerOnly", Leaf),
        ("consentRequired", Leaf),
        ("standardFlowEnabled", Leaf),
        ("implicitFlowEnabled", Leaf),
        ("directAccessGrantsEnabled", Leaf),
        ("serviceAccountsEnabled", Leaf),
        ("oauth2DeviceAuthorizationGrantEnabled", Leaf),
        ("proofKeyForCodeExchangeRequired", Leaf),
        ("authorizationServicesEnabled", Leaf),
        ("directGrantsOnly", Leaf),
        ("publicClient", Leaf),
        ("frontchannelLogout", Leaf),
        ("protocol", Leaf),
        ("attributes", Leaf),
        ("authenticationFlowBindingOverrides", Leaf),
        ("fullScopeAllowed", Leaf),
        ("nodeReRegistrationTimeout", Leaf),
        ("registeredNodes", Leaf),
        ("protocolMappers", List(&PROTOCOL_MAPPER)),
        ("clientTemplate", Leaf),
        ("useTemplateConfig", Leaf),
        ("useTemplateScope", Leaf),
        ("useTemplateMappers", Leaf),
        ("defaultClientScopes", Leaf),
        ("optionalClientScopes", Leaf),
        ("authorizationSettings", Leaf),
        ("access", Leaf),
        ("origin", Leaf),
    ],
};

pub static COMPOSITES: Schema = Schema {
    class: "RoleRepresentation$Composites",
    ignore_unknown: false,
    fields: leaves!("realm", "client", "application"),
};

pub static ROLE: Schema = Schema {
    class: "RoleRepresentation",
    ignore_unknown: false,
    fields: &[
        ("id", Leaf),
        ("name", Leaf),
        ("description", Leaf),
        ("scopeParamRequired", Leaf),
        ("composite", Leaf),
        ("composites", One(&COMPOSITES)),
        ("clientRole", Leaf),
        ("containerId", Leaf),
        ("attributes", Leaf),
    ],
};

pub static ROLES: Schema = Schema {
    class: "RolesRepresentation",
    ignore_unknown: false,
    fields: &[
        ("realm", List(&ROLE)),
        ("client", MapOfLists(&ROLE)),
        ("application", MapOfLists(&ROLE)),
    ],
};

pub static GROUP: Schema = Schema {
    class: "GroupRepresentation",
    ignore_unknown: false,
    fields: &[
        ("id", Leaf),
        ("name", Leaf),
        ("description", Leaf),
        ("path", Leaf),
        ("parentId", Leaf),
        ("subGroupCount", Leaf),
        ("subGroups", List(&GROUP)),
        ("attributes", Leaf),
        ("realmRoles", Leaf),
        ("clientRoles", Leaf),
        ("access", Leaf),
    ],
};

pub static IDENTITY_PROVIDER: Schema = Schema {
    class: "IdentityProviderRepresentation",
    ignore_unknown: false,
    fields: leaves!(
        "alias",
        "displayName",
        "internalId",
        "providerId",
        "enabled",
        "updateProfileFirstLoginMode",
        "trustEmail",
        "storeToken",
        "addReadTokenRoleOnCreate",
        "authenticateByDefault",
        "linkOnly",
        "hideOnLogin",
        "firstBrokerLoginFlowAlias",
        "postBrokerLoginFlowAlias",
        "organizationId",
        "config",
        "updateProfileFirstLogin",
        "types",
    ),
};

pub static IDENTITY_PROVIDER_MAPPER: Schema = Schema {
    class: "IdentityProviderMapperRepresentation",
    ignore_unknown: false,
    fields: leaves!(
        "id",
        "name",
        "identityProviderAlias",
        "identityProviderMapper",
        "config"
    ),
};

pub static REALM: Schema = Schema {
    class: "RealmRepresentation",
    ignore_unknown: false,
    fields: &[
        ("id", Leaf),
        ("realm", Leaf),
        ("displayName", Leaf),
        ("displayNameHtml", Leaf),
        ("notBefore", Leaf),
        ("defaultSignatureAlgorithm", Leaf),
        ("revokeRefreshToken", Leaf),
        ("refreshTokenMaxReuse", Leaf),
        ("accessTokenLifespan", Leaf),
        ("accessTokenLifespanForImplicitFlow", Leaf),
        ("ssoSessionIdleTimeout", Leaf),
        ("ssoSessionMaxLifespan", Leaf),
        ("ssoSessionIdleTimeoutRememberMe", Leaf),
        ("ssoSessionMaxLifespanRememberMe", Leaf),
        ("offlineSessionIdleTimeout", Leaf),
        ("offlineSessionMaxLifespanEnabled", Leaf),
        ("offlineSessionMaxLifespan", Leaf),
        ("clientSessionIdleTimeout", Leaf),
        ("clientSessionMaxLifespan", Leaf),
        ("clientOfflineSessionIdleTimeout", Leaf),
        ("clientOfflineSessionMaxLifespan", Leaf),
        ("accessCodeLifespan", Leaf),
        ("accessCodeLifespanUserAction", Leaf),
        ("accessCodeLifespanLogin", Leaf),
        ("actionTokenGeneratedByAdminLifespan", Leaf),
        ("actionTokenGeneratedByUserLifespan", Leaf),
        ("oauth2DeviceCodeLifespan", Leaf),
        ("oauth2DevicePollingInterval", Leaf),
        ("enabled", Leaf),
        ("sslRequired", Leaf),
        ("passwordCredentialGrantAllowed", Leaf),
        ("registrationAllowed", Leaf),
        ("registrationEmailAsUsername", Leaf),
        ("rememberMe", Leaf),
        ("verifyEmail", Leaf),
        ("loginWithEmailAllowed", Leaf),
        ("duplicateEmailsAllowed", Leaf),
        ("resetPasswordAllowed", Leaf),
        ("editUsernameAllowed", Leaf),
        ("userCacheEnabled", Leaf),
        ("realmCacheEnabled", Leaf),
        ("bruteForceProtected", Leaf),
        ("permanentLockout", Leaf),
        ("maxTemporaryLockouts", Leaf),
        ("bruteForceStrategy", Leaf),
        ("maxFailureWaitSeconds", Leaf),
        ("minimumQuickLoginWaitSeconds", Leaf),
        ("waitIncrementSeconds", Leaf),
        ("quickLoginCheckMilliSeconds", Leaf),
        ("maxDeltaTimeSeconds", Leaf),
        ("failureFactor", Leaf),
        ("privateKey", Leaf),
        ("publicKey", Leaf),
        ("certificate", Leaf),
        ("codeSecret", Leaf),
        ("roles", One(&ROLES)),
        ("groups", List(&GROUP)),
        ("defaultRoles", Leaf),
        ("defaultRole", One(&ROLE)),
        ("defaultGroups", Leaf),
        ("requiredCredentials", Leaf),
        ("passwordPolicy", Leaf),
        ("otpPolicyType", Leaf),
        ("otpPolicyAlgorithm", Leaf),
        ("otpPolicyInitialCounter", Leaf),
        ("otpPolicyDigits", Leaf),
        ("otpPolicyLookAheadWindow", Leaf),
        ("otpPolicyPeriod", Leaf),
        ("otpPolicyCodeReusable", Leaf),
        ("otpSupportedApplications", Leaf),
        ("localizationTexts", Leaf),
        ("webAuthnPolicyRpEntityName", Leaf),
        ("webAuthnPolicySignatureAlgorithms", Leaf),
        ("webAuthnPolicyRpId", Leaf),
        ("webAuthnPolicyAttestationConveyancePreference", Leaf),
        ("webAuthnPolicyAuthenticatorAttachment", Leaf),
        ("webAuthnPolicyRequireResidentKey", Leaf),
        ("webAuthnPolicyUserVerificationRequirement", Leaf),
        ("webAuthnPolicyCreateTimeout", Leaf),
        ("webAuthnPolicyAvoidSameAuthenticatorRegister", Leaf),
        ("webAuthnPolicyAcceptableAaguids", Leaf),
        ("webAuthnPolicyExtraOrigins", Leaf),
        ("webAuthnPolicyPasswordlessRpEntityName", Leaf),
        ("webAuthnPolicyPasswordlessSignatureAlgorithms", Leaf),
        ("webAuthnPolicyPasswordlessRpId", Leaf),
        (
            "webAuthnPolicyPasswordlessAttestationConveyancePreference",
            Leaf,
        ),
        ("webAuthnPolicyPasswordlessAuthenticatorAttachment", Leaf),
        ("webAuthnPolicyPasswordlessRequireResidentKey", Leaf),
        (
            "webAuthnPolicyPasswordlessUserVerificationRequirement",
            Leaf,
        ),
        ("webAuthnPolicyPasswordlessCreateTimeout", Leaf),
        (
            "webAuthnPolicyPasswordlessAvoidSameAuthenticatorRegister",
            Leaf,
        ),
        ("webAuthnPolicyPasswordlessAcceptableAaguids", Leaf),
        ("webAuthnPolicyPasswordlessExtraOrigins", Leaf),
        ("webAuthnPolicyPasswordlessPasskeysEnabled", Leaf),
        ("clientProfiles", Leaf),
        ("clientPolicies", Leaf),
        ("users", List(&USER)),
        ("federatedUsers", List(&USER)),
        ("scopeMappings", Leaf),
        ("clientScopeMappings", Leaf),
        ("clients", List(&CLIENT)),
        ("clientScopes", Leaf),
        ("defaultDefaultClientScopes", Leaf),
        ("defaultOptionalClientScopes", Leaf),
        ("browserSecurityHeaders", Leaf),
        ("smtpServer", Leaf),
        ("userFederationProviders", Leaf),
        ("userFederationMappers", Leaf),
        ("loginTheme", Leaf),
        ("accountTheme", Leaf),
        ("adminTheme", Leaf),
        ("emailTheme", Leaf),
        ("eventsEnabled", Leaf),
        ("eventsExpiration", Leaf),
        ("eventsListeners", Leaf),
        ("enabledEventTypes", Leaf),
        ("adminEventsEnabled", Leaf),
        ("adminEventsDetailsEnabled", Leaf),
        ("identityProviders", List(&IDENTITY_PROVIDER)),
        ("identityProviderMappers", List(&IDENTITY_PROVIDER_MAPPER)),
        ("protocolMappers", List(&PROTOCOL_MAPPER)),
        ("components", Leaf),
        ("internationalizationEnabled", Leaf),
        ("supportedLocales", Leaf),
        ("defaultLocale", Leaf),
        ("authenticationFlows", Leaf),
        ("authenticatorConfig", Leaf),
        ("requiredActions", Leaf),
        ("browserFlow", Leaf),
        ("registrationFlow", Leaf),
        ("directGrantFlow", Leaf),
        ("resetCredentialsFlow", Leaf),
        ("clientAuthenticationFlow", Leaf),
        ("dockerAuthenticationFlow", Leaf),
        ("firstBrokerLoginFlow", Leaf),
        ("attributes", Leaf),
        ("keycloakVersion", Leaf),
        ("userManagedAccessAllowed", Leaf),
        ("organizationsEnabled", Leaf),
        ("organizations", Leaf),
        ("verifiableCredentialsEnabled", Leaf),
        ("oid4VciEnabled", Leaf),
        ("adminPermissionsEnabled", Leaf),
        ("social", Leaf),
        ("updateProfileOnInitialSocialLogin", Leaf),
        ("socialProviders", Leaf),
        ("applicationScopeMappings", Leaf),
        ("applications", Leaf),
        ("oauthClients", Leaf),
        ("clientTemplates", Leaf),
    ],
};

pub static PARTIAL_IMPORT: Schema = Schema {
    class: "PartialImportRepresentation",
    // A whole realm export may be posted: its realm settings are not for this endpoint.
    ignore_unknown: true,
    fields: &[
        ("policy", Leaf),
        ("ifResourceExists", Leaf),
        ("users", List(&USER)),
        ("clients", List(&CLIENT)),
        ("groups", List(&GROUP)),
        ("identityProviders", List(&IDENTITY_PROVIDER)),
        ("identityProviderMappers", List(&IDENTITY_PROVIDER_MAPPER)),
        ("roles", One(&ROLES)),
    ],
};

/// A representation class an admin REST body is read as.
pub trait Kind {
    const SCHEMA: &'static Schema;
}

macro_rules! kinds {
    ($($kind:ident => $schema:ident),* $(,)?) => {
        $(
            #[derive(Debug)]
            pub struct $kind;
            impl Kind for $kind {
                const SCHEMA: &'static Schema = &$schema;
            }
        )*
    };
}

kinds!(
    Realm => REALM,
    User => USER,
    Credential => CREDENTIAL,
    FederatedIdentity => FEDERATED_IDENTITY,
    Client => CLIENT,
    ProtocolMapper => PROTOCOL_MAPPER,
    Role => ROLE,
    Group => GROUP,
    IdentityProvider => IDENTITY_PROVIDER,
    IdentityProviderMapper => IDENTITY_PROVIDER_MAPPER,
    PartialImport => PARTIAL_IMPORT,
);

/// Refuses `body` if it (an object, or a list of objects, as role mappings are) or anything
/// nested in it has a property its Keycloak class lacks. Values of other shapes are left to the
/// typed parse, which gives its own 400.
pub fn check(schema: &'static Schema, body: &Value) -> Result<(), AdminError> {
    match body {
        Value::Object(map) => {
            for (key, value) in map {
                let Some((_, nested)) = schema.fields.iter().find(|(name, _)| name == key) else {
                    if schema.ignore_unknown {
                        continue;
                    }
                    return Err(AdminError::BadRequest(format!(
                        "Unrecognized field \"{key}\" (class {IDM}.{}), not marked as ignorable",
                        schema.class
                    )));
                };
                check_nested(*nested, value)?;
            }
            Ok(())
        }
        Value::Array(items) => items.iter().try_for_each(|item| check(schema, item)),
        _ => Ok(()),
    }
}

fn check_nested(nested: Nested, value: &Value) -> Result<(), AdminError> {
    match (nested, value) {
        (One(schema), Value::Object(_)) | (List(schema), Value::Array(_)) => check(schema, value),
        (MapOfLists(schema), Value::Object(map)) => {
            map.values().try_for_each(|list| check(schema, list))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn message(err: AdminError) -> String {
        match err {
            AdminError::BadRequest(m) => m,
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn accepts_keycloak_fields_and_null() {
        for (schema, body) in [
            (
                &USER,
                json!({"username": "a", "totp": false, "groups": null, "attributes": null,
                       "credentials": [{"type": "password", "value": "x", "temporary": false}]}),
            ),
            (
                &CLIENT,
                json!({"clientId": "c", "rootUrl": "", "protocolMappers": [{"name": "m",
                       "protocolMapper": "x", "consentRequired": false, "config": {}}]}),
            ),
            (&ROLE, json!([{"name": "r", "composite": false}])),
            (
                &REALM,
                json!({"realm": "r", "roles": {"realm": [{"name": "x"}], "client": {"c": [
                       {"name": "y", "composites": {"realm": ["x"]}}]}},
                       "groups": [{"name": "g", "subGroups": [{"name": "h"}]}],
                       "clientScopes": [{"anything": 1}], "defaultRole": {"name": "d"}}),
            ),
        ] {
            check(schema, &body).unwrap();
        }
    }

    #[test]
    fn refuses_unknown_fields_at_any_depth() {
        let cases = [
            (
                &USER,
                json!({"username": "a", "bogus": 1}),
                "bogus",
                "UserRepresentation",
            ),
            (
                &USER,
                json!({"credentials": [{"type": "password", "pin": "1"}]}),
                "pin",
                "CredentialRepresentation",
            ),
            (
                &ROLE,
                json!([{"name": "r"}, {"nam": "s"}]),
                "nam",
                "RoleRepresentation",
            ),
            (
                &REALM,
                json!({"realm": "r", "groups": [{"name": "g", "subGroups": [{"x": 1}]}]}),
                "x",
                "GroupRepresentation",
            ),
            (
                &REALM,
                json!({"roles": {"client": {"c": [{"name": "y", "colour": "red"}]}}}),
                "colour",
                "RoleRepresentation",
            ),
            (
                &PARTIAL_IMPORT,
                json!({"realm": "ignored", "clients": [{"clientId": "c",
                       "protocolMappers": [{"nme": "m"}]}]}),
                "nme",
                "ProtocolMapperRepresentation",
            ),
        ];
        for (schema, body, field, class) in cases {
            let msg = message(check(schema, &body).unwrap_err());
            assert_eq!(
                msg,
                format!(
                    "Unrecognized field \"{field}\" (class {IDM}.{class}), not marked as ignorable"
                ),
                "{body}"
            );
        }
    }
}
