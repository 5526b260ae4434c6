"""Drives a running Portcullis with python-keycloak (the Keycloak admin library for Python),
exactly as a Keycloak user would: create a realm with roles, composites, groups, users, role
mappings and a docker-v2 registry client with access-rule mappers; then partialImport a Keycloak
export. Prints one JSON object with what the server answered; the Rust test asserts on it and
then asks the docker endpoint for tokens."""

import json
import os
import sys

from keycloak import KeycloakAdmin, KeycloakOpenID, KeycloakOpenIDConnection
from keycloak.exceptions import KeycloakError

BASE = os.environ["PORTCULLIS_URL"].rstrip("/") + "/auth/"
REALM = "pyrealm"


def mapper(name, **config):
    return {
        "name": name,
        "protocol": "docker-v2",
        "protocolMapper": "docker-v2-repository-access-mapper",
        "config": config,
    }


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
    out = {"serverinfo_version": admin.get_server_info()["systemInfo"]["version"]}

    admin.create_realm({"realm": REALM, "enabled": True})
    out["realm_exists_again"] = admin.create_realm({"realm": REALM, "enabled": True}, skip_exists=True) is not None
    admin.change_current_realm(REALM)

    admin.create_realm_role({"name": "writer", "description": "may push"})
    admin.create_realm_role({"name": "reader"})
    admin.create_realm_role({"name": "lead"})
    admin.add_composite_realm_roles_to_role("lead", [admin.get_realm_role("writer")])
    out["lead_composites"] = sorted(r["name"] for r in admin.get_composite_realm_roles_of_role("lead"))

    eng = admin.create_group({"name": "eng"})
    platform = admin.create_group({"name": "platform"}, parent=eng)
    admin.assign_group_realm_roles(eng, [admin.get_realm_role("reader")])
    out["platform_path"] = admin.get_group_by_path("/eng/platform")["id"] == platform

    alice = admin.create_user({"username": "alice", "email": "alice@example.test", "enabled": True,
                               "credentials": [{"type": "password", "value": "alice-pw", "temporary": False}]})
    bob = admin.create_user({"username": "bob", "enabled": True})
    admin.set_user_password(bob, "bob-pw", temporary=False)
    admin.assign_realm_roles(alice, [admin.get_realm_role("lead")])
    admin.group_user_add(bob, platform)
    try:
        admin.create_user({"username": "alice", "enabled": True})
        out["duplicate_user"] = "accepted"
    except KeycloakError as e:
        out["duplicate_user"] = e.response_code
    out["alice_effective"] = sorted(r["name"] for r in admin.get_composite_realm_roles_of_user(alice))
    out["user_count"] = admin.users_count()
    out["alice_lookup"] = admin.get_user_id("alice") == alice

    registry = admin.create_client({
        "clientId": "registry.py",
        "protocol": "docker-v2",
        "protocolMappers": [mapper("writers", repository="apps/**", actions="push", role="writer")],
    })
    admin.add_mapper_to_client(registry, mapper("readers", repository="apps/**", actions="pull", group="/eng"))
    out["registry_lookup"] = admin.get_client_id("registry.py") == registry
    out["registry_mappers"] = sorted(m["name"] for m in admin.get_mappers_from_client(registry))
    try:
        admin.add_mapper_to_client(registry, mapper("broken", repository="x/**", actions="fly", role="writer"))
        out["invalid_mapper"] = "accepted"
    except KeycloakError as e:
        out["invalid_mapper"] = e.response_code

    backend = admin.create_client({"clientId": "backend", "secret": "s3cret", "serviceAccountsEnabled": True,
                                   "publicClient": False})
    out["backend_secret"] = admin.get_client_secrets(backend)["value"]
    admin.create_client_role(backend, {"name": "viewer"})
    admin.assign_client_role(alice, backend, [admin.get_client_role(backend, "viewer")])
    out["alice_client_roles"] = [r["name"] for r in admin.get_client_roles_of_user(alice, backend)]

    export = json.loads(open(os.environ["KEYCLOAK_EXPORT"]).read())
    result = admin.partial_import_realm(REALM, {
        "ifResourceExists": "SKIP", "users": export.get("users", []), "roles": export.get("roles", {}),
        "groups": export.get("groups", []), "clients": export.get("clients", []),
    })
    out["partial_import_added"] = result.get("added")

    # Signing in and out as an application does with python-keycloak: logout() posts the
    # refresh token with the client's credentials, and everything of that session ends.
    admin.create_client({"clientId": "pyapp", "secret": "pyapp-secret", "publicClient": False,
                         "directAccessGrantsEnabled": True, "standardFlowEnabled": False})
    oidc = KeycloakOpenID(server_url=BASE, realm_name=REALM, client_id="pyapp",
                          client_secret_key="pyapp-secret", verify=False)
    token = oidc.token("alice", "alice-pw")
    out["userinfo_user"] = oidc.userinfo(token["access_token"])["preferred_username"]
    oidc.logout(token["refresh_token"])
    try:
        oidc.refresh_token(token["refresh_token"])
        out["refresh_after_logout"] = "accepted"
    except KeycloakError as e:
        out["refresh_after_logout"] = e.response_code
    try:
        oidc.userinfo(token["access_token"])
        out["userinfo_after_logout"] = "accepted"
    except KeycloakError as e:
        out["userinfo_after_logout"] = e.response_code
    print(json.dumps(out))


if __name__ == "__main__":
    try:
        main()
    except KeycloakError as e:
        print(f"python-keycloak failed: {e!r} {getattr(e, 'response_code', '')} {getattr(e, 'response_body', b'')!r}", file=sys.stderr)
        sys.exit(1)
