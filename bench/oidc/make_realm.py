#!/usr/bin/env python3
"""Writes the OpenID Connect benchmark realm (Keycloak realm JSON) to stdout.

Realm `oidc` (revokeRefreshToken false, so one refresh token can be replayed under load):
- `cc-rs256`, `cc-es256`: confidential clients with service accounts for client_credentials,
  differing only in the algorithm of the tokens they get (`access.token.signed.response.alg`
  and `id.token.signed.response.alg`: without the second, ID tokens would be signed with the
  realm's default RS256 key);
- `web-rs256`, `web-es256`: confidential clients with the standard flow (redirect
  REDIRECT_URI) and direct access grants (the password grant fetches the refresh token once);
- user `bench` and `--users` users u00000, u00001, ... for first-time logins.

Passwords are the pre-computed argon2id credentials of ../make_realm.py (the realm's default
policy, m=7168 KiB t=5 p=1), so importing costs no hashing and every login costs exactly one
verification.
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from make_realm import PASSWORD, check_hash, credential  # noqa: E402,F401

SECRET = "bench-secret-0123456789abcdef0123"
REDIRECT_URI = "http://127.0.0.1:9/cb"


def client(client_id: str, alg: str, **flags) -> dict:
    return {
        "clientId": client_id, "enabled": True, "protocol": "openid-connect",
        "publicClient": False, "secret": SECRET,
        "attributes": {"access.token.signed.response.alg": alg,
                       "id.token.signed.response.alg": alg}, **flags,
    }


def realm(users: int) -> dict:
    user = lambda name: {"username": name, "enabled": True, "credentials": [credential()]}  # noqa: E731
    flows = {"standardFlowEnabled": True, "directAccessGrantsEnabled": True,
             "redirectUris": [REDIRECT_URI]}
    return {
        "realm": "oidc",
        "enabled": True,
        "revokeRefreshToken": False,
        "clients": [
            client("cc-rs256", "RS256", serviceAccountsEnabled=True, standardFlowEnabled=False),
            client("cc-es256", "ES256", serviceAccountsEnabled=True, standardFlowEnabled=False),
            client("web-rs256", "RS256", **flows),
            client("web-es256", "ES256", **flows),
        ],
        "users": [user("bench")] + [user(f"u{i:05d}") for i in range(users)],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=12000, help="first-time-login users")
    args = parser.parse_args()
    json.dump(realm(args.users), sys.stdout, separators=(",", ":"))


if __name__ == "__main__":
    main()
