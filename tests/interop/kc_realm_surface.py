"""The realm-level admin surface as python-keycloak users call it: authentication flows and
their executions, required actions (listed and updated), the realm's keys, the events settings
(read and written through the library's raw calls, as it has no helper for them), logout-all,
an unknown route's JSON error, and a scripted form login with requests (GET the auth URL, read
the form's action, POST the credentials). Prints one JSON object; the Rust test asserts on it."""

import base64
import hashlib
import html
import json
import os
import re
import secrets
from urllib.parse import parse_qs, urlparse

import requests
from keycloak import KeycloakAdmin, KeycloakOpenIDConnection
from keycloak.exceptions import KeycloakError

BASE = os.environ["PORTCULLIS_URL"].rstrip("/") + "/auth/"
REALM = "surface"


def form_login(username, password):
    """Signs in through the browser login page as a script does; returns the code or None."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    session = requests.Session()
    page = session.get(
        f"{BASE}realms/{REALM}/protocol/openid-connect/auth",
        params={
            "client_id": "web",
            "redirect_uri": "http://web.test/cb",
            "response_type": "code",
            "scope": "openid",
            "state": "st",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
    )
    page.raise_for_status()
    action = html.unescape(re.search(r'<form[^>]*id="kc-form-login"[^>]*action="([^"]+)"', page.text).group(1))
    reply = session.post(action, data={"username": username, "password": password}, allow_redirects=False)
    location = reply.headers.get("Location", "")
    code = parse_qs(urlparse(location).query).get("code", [None])[0]
    if code is None:
        return None, action
    token = session.post(
        f"{BASE}realms/{REALM}/protocol/openid-connect/token",
        data={
            "grant_type": "authorization_code",
            "client_id": "web",
            "code": code,
            "redirect_uri": "http://web.test/cb",
            "code_verifier": verifier,
        },
    )
    return token.status_code, action


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
    out = {}

    flows = admin.get_authentication_flows()
    out["flows"] = sorted(f["alias"] for f in flows)
    executions = admin.get_authentication_flow_executions("browser")
    out["browser_executions"] = [e.get("providerId") for e in executions]
    try:
        admin.create_authentication_flow({"alias": "mine", "providerId": "basic-flow", "topLevel": True})
        out["create_flow"] = "created"
    except KeycloakError as e:
        out["create_flow"] = e.response_code

    actions = admin.get_required_actions()
    out["required_actions"] = [a["alias"] for a in actions]
    verify = admin.get_required_action_by_alias("VERIFY_EMAIL")
    verify["enabled"] = False
    try:
        admin.update_required_action("VERIFY_EMAIL", verify)
    except TypeError:
        # Older python-keycloak versions expect a body; the update happened (204).
        pass
    out["verify_email_enabled"] = admin.get_required_action_by_alias("VERIFY_EMAIL")["enabled"]

    keys = admin.get_keys()
    out["active_rs256"] = keys["active"].get("RS256")
    out["key_kids"] = [k["kid"] for k in keys["keys"]]
    certs = requests.get(f"{BASE}realms/{REALM}/protocol/openid-connect/certs").json()
    out["jwks_kids"] = [k["kid"] for k in certs["keys"]]

    path = f"admin/realms/{REALM}/events/config"
    before = admin.connection.raw_get(path).json()
    out["events_enabled_before"] = before["eventsEnabled"]
    put = admin.connection.raw_put(path, data=json.dumps({"eventsEnabled": False, "adminEventsEnabled": True}))
    out["events_put_status"] = put.status_code
    out["events_enabled_after"] = admin.connection.raw_get(path).json()["eventsEnabled"]

    unknown = admin.connection.raw_get(f"admin/realms/{REALM}/no-such-endpoint")
    out["unknown_status"] = unknown.status_code
    out["unknown_body"] = unknown.json()

    admin.create_client({"clientId": "web", "publicClient": True, "redirectUris": ["http://web.test/*"]})
    admin.create_user({"username": "carol", "enabled": True,
                       "credentials": [{"type": "password", "value": "carol-pw", "temporary": False}]})
    out["form_login_token_status"], action = form_login("carol", "carol-pw")
    out["form_action_absolute"] = action.startswith(os.environ["PORTCULLIS_URL"].rstrip("/") + "/auth/realms/")
    out["form_action_has_session_code"] = "session_code=" in action
    out["session_stats"] = admin.get_client_sessions_stats()
    logout = admin.connection.raw_post(f"admin/realms/{REALM}/logout-all", data="{}")
    out["logout_all_status"] = logout.status_code
    out["logout_all_body"] = logout.json()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
