"""Drives a running Portcullis with python-keycloak the way its users manage users and
clients: the declarative user profile (read, extend, enforce), `q=` user search, a client's
installation file, a generated client certificate, and that certificate's key authenticating
the client with private_key_jwt. Prints one JSON object with what the server answered; the Rust
test asserts on it."""

import json
import os
import time
import uuid

import requests
from jwcrypto import jwk, jwt
from keycloak import KeycloakAdmin, KeycloakOpenIDConnection
from keycloak.exceptions import KeycloakError

BASE = os.environ["PORTCULLIS_URL"].rstrip("/") + "/auth/"
REALM = "usersclients"


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

    profile = admin.get_realm_users_profile()
    out["profile_attributes"] = sorted(a["name"] for a in profile["attributes"])
    profile["attributes"].append({
        "name": "department",
        "displayName": "Department",
        "validations": {"length": {"max": 10}},
        "permissions": {"view": ["admin"], "edit": ["admin"]},
    })
    profile["unmanagedAttributePolicy"] = "ADMIN_EDIT"
    updated = admin.update_realm_users_profile(profile)
    out["profile_policy"] = updated.get("unmanagedAttributePolicy")
    out["profile_has_department"] = any(
        a["name"] == "department" for a in admin.get_realm_users_profile()["attributes"])

    try:
        admin.create_user({"username": "too-long", "enabled": True,
                           "attributes": {"department": ["a-very-long-department"]}})
        out["invalid_user"] = 201
    except KeycloakError as e:
        out["invalid_user"] = e.response_code
        out["invalid_user_message"] = json.loads(e.error_message)["errorMessage"]

    for name, email in [("nora", "nora@north.test"), ("sam", "sam@south.test"),
                        ("nils", "nils@north.test")]:
        admin.create_user({"username": name, "email": email, "enabled": True,
                           "attributes": {"department": ["ops"], "site": [name]}})
    out["q_email"] = sorted(u["username"] for u in admin.get_users({"q": "email:north.test"}))
    out["q_custom"] = sorted(u["username"] for u in admin.get_users({"q": "department:ops site:sam"}))
    nora = admin.get_user_id("nora")
    out["nora_department"] = admin.get_user(nora)["attributes"].get("department")

    admin.create_client({"clientId": "svc", "publicClient": False, "secret": "svc-secret",
                         "serviceAccountsEnabled": True, "clientAuthenticatorType": "client-jwt"})
    svc = admin.get_client_id("svc")
    installation = admin.get_client_installation_provider(svc, "keycloak-oidc-keycloak-json")
    out["installation_resource"] = installation["resource"]
    out["installation_realm"] = installation["realm"]

    raw = admin.connection.raw_post(
        f"admin/realms/{REALM}/clients/{svc}/certificates/jwt.credential/generate", data="{}")
    generated = raw.json()
    out["generated_has_private_key"] = bool(generated.get("privateKey"))
    info = admin.get_client_certificate_key_info(svc, "jwt.credential")
    out["stored_matches"] = info.get("certificate") == generated["certificate"]
    out["stored_private_key"] = "privateKey" in info

    # The generated key signs an RFC 7523 client assertion; the token endpoint accepts it once.
    pem = "-----BEGIN PRIVATE KEY-----\n" + generated["privateKey"] + "\n-----END PRIVATE KEY-----\n"
    key = jwk.JWK.from_pem(pem.encode())
    token_url = f"{BASE}realms/{REALM}/protocol/openid-connect/token"
    claims = {"iss": "svc", "sub": "svc", "aud": token_url, "jti": str(uuid.uuid4()),
              "iat": int(time.time()), "exp": int(time.time()) + 60}
    assertion = jwt.JWT(header={"alg": "RS256", "typ": "JWT"}, claims=claims)
    assertion.make_signed_token(key)
    form = {"grant_type": "client_credentials",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion.serialize()}
    out["jwt_grant"] = requests.post(token_url, data=form).status_code
    out["jwt_replay"] = requests.post(token_url, data=form).status_code

    # Uploading the certificate back as PEM, as python-keycloak does.
    cert_pem = ("-----BEGIN CERTIFICATE-----\n" + generated["certificate"]
                + "\n-----END CERTIFICATE-----\n")
    uploaded = admin.upload_certificate(svc, cert_pem)
    out["uploaded_matches"] = uploaded.get("certificate") == generated["certificate"]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
