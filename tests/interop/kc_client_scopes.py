"""Drives a running Portcullis with python-keycloak the way its users manage client scopes:
create a realm, a user and a client with Keycloak's defaults, a client scope with a hardcoded
claim mapper, attach it to the client as an optional scope, get tokens with and without
`scope=` asking for it, and evaluate the client's scopes. Prints one JSON object with what the
server answered; the Rust test asserts on it."""

import base64
import json
import os
import urllib.parse

from keycloak import KeycloakAdmin, KeycloakOpenID, KeycloakOpenIDConnection

BASE = os.environ["PORTCULLIS_URL"].rstrip("/") + "/auth/"
REALM = "scoperealm"


def claims(token):
    payload = token.split(".")[1]
    payload += "=" * (-len(payload) % 4)
    return json.loads(base64.urlsafe_b64decode(payload))


def main():
    connection = KeycloakOpenIDConnection(
        server_url=BASE,
        username="admin",
        password=os.environ["ADMIN_PASSWORD"],
        realm_name="master",
        client_id="admin-cli",
        verify=False,
    )
    admin = KeycloakAdmin(connection=connection)
    admin.create_realm({"realm": REALM, "enabled": True})
    admin.change_current_realm(REALM)
    out = {"realm_scopes": sorted(s["name"] for s in admin.get_client_scopes())}

    alice = admin.create_user({
        "username": "alice", "enabled": True, "email": "alice@example.test",
        "firstName": "Alice", "lastName": "Liddell",
        "credentials": [{"type": "password", "value": "alice-pw", "temporary": False}],
    })
    client = admin.create_client({
        "clientId": "cli", "publicClient": True, "directAccessGrantsEnabled": True,
    })
    out["client_defaults"] = sorted(
        s["name"] for s in admin.get_client_default_client_scopes(client))

    scope = admin.create_client_scope({
        "name": "tier",
        "protocol": "openid-connect",
        "attributes": {"include.in.token.scope": "true", "display.on.consent.screen": "false"},
    })
    out["tier_again"] = admin.create_client_scope({"name": "tier"}, skip_exists=True) == scope
    admin.add_mapper_to_client_scope(scope, {
        "name": "tier claim",
        "protocol": "openid-connect",
        "protocolMapper": "oidc-hardcoded-claim-mapper",
        "config": {
            "claim.name": "tier", "claim.value": "gold", "jsonType.label": "String",
            "access.token.claim": "true", "id.token.claim": "true",
            "userinfo.token.claim": "true",
        },
    })
    admin.add_client_optional_client_scope(
        client, scope, {"realm": REALM, "client": client, "clientScopeId": scope})
    out["client_optional"] = sorted(
        s["name"] for s in admin.get_client_optional_client_scopes(client))

    oidc = KeycloakOpenID(server_url=BASE, realm_name=REALM, client_id="cli")
    plain = claims(oidc.token("alice", "alice-pw", scope="openid")["access_token"])
    asked = oidc.token("alice", "alice-pw", scope="openid tier")
    with_tier = claims(asked["access_token"])
    out["plain_tier"] = plain.get("tier")
    out["plain_scope"] = sorted(plain["scope"].split())
    out["asked_tier"] = with_tier.get("tier")
    out["asked_scope"] = sorted(with_tier["scope"].split())
    out["asked_username"] = with_tier.get("preferred_username")
    out["userinfo_tier"] = oidc.userinfo(asked["access_token"]).get("tier")

    evaluate = f"admin/realms/{REALM}/clients/{client}/evaluate-scopes"
    query = urllib.parse.urlencode({"scope": "openid tier", "userId": alice})
    example = admin.connection.raw_get(f"{evaluate}/generate-example-access-token?{query}")
    out["example_status"] = example.status_code
    out["example_tier"] = example.json().get("tier")
    out["example_sub"] = example.json().get("sub") == alice
    mappers = admin.connection.raw_get(
        f"{evaluate}/protocol-mappers?" + urllib.parse.urlencode({"scope": "openid tier"}))
    out["evaluated_mappers"] = sorted(
        {m["containerName"] for m in mappers.json() if m["mapperName"] == "tier claim"})
    print(json.dumps(out))


if __name__ == "__main__":
    main()
