#!/usr/bin/env python3
"""The request paths a running server spends its life on, for recording which functions run.

    workload.py PORT ROUNDS [PHASE,...]     phases: docker, grants, browser, admin (default: all)

Expects the realms `bench` (../make_realm.py) and `oidc` (../oidc/make_realm.py) and the master
admin password `x`. Each round: health probes; docker-v2 tokens by Basic credentials (cached and
first-time), offline_token, the refresh and password POSTs, anonymous, catalog, a wrong password
and an unknown service; the registry-config document; OpenID discovery, JWKS and realm info;
client credentials, password and refresh grants, userinfo, introspection and revocation with
RS256 and ES256; a browser login with PKCE (login page, form post, code exchange, SSO re-entry,
code replay, logout); a few admin API reads. Every answer's status is checked, so a profile is
never recorded from error paths by mistake.
"""

import base64
import hashlib
import re
import sys

import requests

SECRET = "bench-secret-0123456789abcdef0123"
PASSWORD = "bench-password"
REDIRECT = "http://127.0.0.1:9/cb"


def ok(response, codes=(200,)):
    if response.status_code not in codes:
        sys.exit(f"{response.request.method} {response.url}: {response.status_code} {response.text[:300]}")
    return response


def docker(s: requests.Session, base: str, round_: int) -> None:
    url = f"{base}/realms/bench/protocol/docker-v2/auth"
    for svc in ("bench-rs256", "bench-es256"):
        push = {"service": svc, "scope": "repository:team-a/app:pull,push"}
        pull = {"service": svc, "scope": "repository:team-a/app:pull"}
        for _ in range(5):
            ok(s.get(url, params=push, auth=("bench", PASSWORD)))
        offline = ok(s.get(url, params={**push, "offline_token": "true"}, auth=("bench", PASSWORD))).json()
        form = {**pull, "client_id": "docker"}
        for _ in range(5):
            ok(s.post(url, data={**form, "grant_type": "refresh_token", "refresh_token": offline["refresh_token"]}))
        ok(s.post(url, data={**form, "grant_type": "password", "username": "bench", "password": PASSWORD,
                             "access_type": "offline"}))
        ok(s.get(url, params=pull))
        ok(s.get(url, params={"service": svc, "scope": "registry:catalog:*"}, auth=("bench", PASSWORD)))
        ok(s.get(url, params=pull, auth=("bench", "wrong")), (401,))
        ok(s.get(url, params={"service": "nope"}, auth=("bench", PASSWORD)), (400,))
        ok(s.get(url, params=pull, auth=(f"u{round_:05d}", PASSWORD)))
        ok(s.get(f"{base}/realms/bench/protocol/docker-v2/clients/{svc}/registry-config"))


def grants(s: requests.Session, base: str) -> None:
    oidc = f"{base}/realms/oidc/protocol/openid-connect"
    ok(s.get(f"{base}/realms/oidc/.well-known/openid-configuration"))
    ok(s.get(f"{oidc}/certs"))
    ok(s.get(f"{base}/realms/oidc"))
    for alg in ("rs256", "es256"):
        cc, web = (f"cc-{alg}", SECRET), (f"web-{alg}", SECRET)
        for _ in range(5):
            access = ok(s.post(f"{oidc}/token", data={"grant_type": "client_credentials"}, auth=cc)).json()
        ok(s.post(f"{oidc}/token/introspect", data={"token": access["access_token"]}, auth=cc))
        first = ok(s.post(f"{oidc}/token", data={"grant_type": "password", "username": "bench",
                                                   "password": PASSWORD, "scope": "openid"}, auth=web)).json()
        for _ in range(5):
            tokens = ok(s.post(f"{oidc}/token", data={"grant_type": "refresh_token",
                                                       "refresh_token": first["refresh_token"]}, auth=web)).json()
        ok(s.get(f"{oidc}/userinfo", headers={"Authorization": "Bearer " + tokens["access_token"]}))
        ok(s.post(f"{oidc}/token/introspect", data={"token": tokens["refresh_token"]}, auth=web))
        ok(s.post(f"{oidc}/revoke", data={"token": tokens["access_token"]}, auth=web))
        ok(s.post(f"{oidc}/token", data={"grant_type": "client_credentials"}, auth=(cc[0], "bad")), (401,))


def browser_login(port: int, base: str, round_: int) -> None:
    oidc = f"{base}/realms/oidc/protocol/openid-connect"
    b = requests.Session()
    verifier = "v" * 50
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    authorize = {"response_type": "code", "client_id": "web-rs256", "redirect_uri": REDIRECT, "scope": "openid",
                 "state": "st", "nonce": "n", "code_challenge": challenge, "code_challenge_method": "S256"}
    page = ok(b.get(f"{oidc}/auth", params=authorize)).text
    action = re.search(r'<form id="kc-form-login" action="([^"]*)"', page).group(1).replace("&amp;", "&")
    form = dict(re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)"', page))
    form.update(username=f"u{round_:05d}", password=PASSWORD)
    if not action.startswith("http"):
        action = f"http://127.0.0.1:{port}{action}"
    redirect = ok(b.post(action, data=form, allow_redirects=False), (302, 303))
    code = re.search(r"code=([^&]+)", redirect.headers["location"]).group(1)
    exchange = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "code_verifier": verifier}
    tokens = ok(b.post(f"{oidc}/token", data=exchange, auth=("web-rs256", SECRET))).json()
    ok(b.get(f"{oidc}/auth", params=authorize, allow_redirects=False), (302, 303))
    ok(b.post(f"{oidc}/token", data=exchange, auth=("web-rs256", SECRET)), (400,))
    ok(b.get(f"{oidc}/logout", params={"id_token_hint": tokens["id_token"]}), (200, 302, 303))


def admin(s: requests.Session, base: str) -> None:
    token = ok(s.post(f"{base}/realms/master/protocol/openid-connect/token",
                      data={"grant_type": "password", "client_id": "admin-cli", "username": "admin",
                            "password": "x"})).json()["access_token"]
    headers = {"Authorization": "Bearer " + token}
    ok(s.get(f"{base}/admin/realms", headers=headers))
    ok(s.get(f"{base}/admin/realms/oidc/users", params={"max": 5}, headers=headers))
    ok(s.get(f"{base}/admin/realms/oidc/clients", headers=headers))


def main() -> None:
    port, rounds = int(sys.argv[1]), int(sys.argv[2])
    phases = sys.argv[3].split(",") if len(sys.argv) > 3 else ["docker", "grants", "browser", "admin"]
    base = f"http://127.0.0.1:{port}/auth"
    s = requests.Session()
    for round_ in range(rounds):
        ok(s.get(f"{base}/health/ready"))
        ok(s.get(f"{base}/health/live"))
        if "docker" in phases:
            docker(s, base, round_)
        if "grants" in phases:
            grants(s, base)
        if "browser" in phases:
            browser_login(port, base, round_)
        if "admin" in phases:
            admin(s, base)


if __name__ == "__main__":
    main()
