#!/usr/bin/env python3
"""Writes a large Keycloak realm file, as Keycloak's export writes one, for the import and
export benchmark (BENCHMARKS.md, "Large realm files").

Realm `big` (or --realm): realm roles `staff` and `ops`, groups `/eng/platform` and `/sales`,
one client `app` with a client role `viewer`, and --users users `user000000, ...`. Every user
has Keycloak's pbkdf2-sha256 credential (`type: password`, `secretData` {"value","salt"},
`credentialData` {"hashIterations":27500,"algorithm":"pbkdf2-sha256"}), a few attributes,
and, by index, realm roles, a client role and groups. With --split N the users go to
`<realm>-users-<k>.json` files of N users each beside `<realm>-realm.json`
(Keycloak's `usersExportStrategy=DIFFERENT_FILES`); --out names the file or directory.

Hashing 27,500 pbkdf2 rounds per user would take minutes, so --distinct passwords
(`password-<i % distinct>`) are hashed once each, with their own salts, and shared.

    bench/gen-realm.py --users 100000 --out /tmp/big.json
    bench/gen-realm.py --users 100000 --split 50000 --out /tmp/big-dir
"""

import argparse
import base64
import hashlib
import json
import os

ITERATIONS = 27500


def credential(password: str, salt: bytes, created_ms: int, cred_id: str) -> dict:
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, ITERATIONS, 64)
    return {
        "id": cred_id,
        "type": "password",
        "createdDate": created_ms,
        "secretData": json.dumps(
            {"value": base64.b64encode(digest).decode(), "salt": base64.b64encode(salt).decode(),
             "additionalParameters": {}}, separators=(",", ":")),
        "credentialData": json.dumps(
            {"hashIterations": ITERATIONS, "algorithm": "pbkdf2-sha256",
             "additionalParameters": {}}, separators=(",", ":")),
    }


def realm(name: str) -> dict:
    return {
        "id": f"{name}-id",
        "realm": name,
        "enabled": True,
        "sslRequired": "external",
        "roles": {
            "realm": [{"name": "staff", "composite": False},
                      {"name": "ops", "composite": True, "composites": {"realm": ["staff"]}}],
            "client": {"app": [{"name": "viewer", "composite": False, "clientRole": True}]},
        },
        "groups": [
            {"name": "eng", "path": "/eng", "subGroups": [
                {"name": "platform", "path": "/eng/platform", "realmRoles": ["ops"], "subGroups": []}]},
            {"name": "sales", "path": "/sales", "subGroups": []},
        ],
        "clients": [{"clientId": "app", "enabled": True, "publicClient": True,
                     "redirectUris": ["http://localhost/*"], "protocol": "openid-connect"}],
    }


def user(name: str, i: int, creds: list) -> dict:
    created = 1_700_000_000_000 + i * 1000
    template = creds[i % len(creds)]
    groups = [["/eng/platform"], ["/sales"], [], ["/eng", "/sales"]][i % 4]
    out = {
        "id": f"00000000-0000-4000-8000-{i:012d}",
        "createdTimestamp": created,
        "username": f"user{i:06d}",
        "enabled": True,
        "totp": False,
        "emailVerified": i % 3 == 0,
        "firstName": f"First{i}",
        "lastName": f"Last{i}",
        "email": f"user{i:06d}@example.com",
        "credentials": [dict(template, id=f"10000000-0000-4000-8000-{i:012d}", createdDate=created)],
        "disableableCredentialTypes": [],
        "requiredActions": [],
        "realmRoles": ["staff"] if i % 2 else ["ops"],
        "notBefore": 0,
        "groups": groups,
    }
    if i % 5 == 0:
        out["clientRoles"] = {"app": ["viewer"]}
    if i % 10 == 0:
        out["attributes"] = {"department": [["eng", "sales", "ops"][i % 3]]}
    return out


def write_users(f, name: str, first: int, count: int, creds: list) -> None:
    f.write('  "users" : [')
    for k in range(count):
        if k:
            f.write(",")
        f.write("\n    ")
        f.write(json.dumps(user(name, first + k, creds), separators=(",", ":")))
    f.write(" ]")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--realm", default="big")
    parser.add_argument("--distinct", type=int, default=16, help="distinct passwords")
    parser.add_argument("--split", type=int, default=0, help="users per users file (0: inline)")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    creds = [credential(f"password-{k}", os.urandom(16), 0, "") for k in range(args.distinct)]
    head = json.dumps(realm(args.realm), indent=2)
    if not args.split:
        with open(args.out, "w") as f:
            # Keycloak writes `users` before `clients`, whose roles the users refer to.
            body = head.rstrip()[:-1].rstrip()
            f.write(body[: body.index('"clients"')])
            write_users(f, args.realm, 0, args.users, creds)
            f.write(",\n  " + body[body.index('"clients"'):] + "\n}\n")
        return
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, f"{args.realm}-realm.json"), "w") as f:
        f.write(head + "\n")
    for k, first in enumerate(range(0, args.users, args.split)):
        count = min(args.split, args.users - first)
        with open(os.path.join(args.out, f"{args.realm}-users-{k}.json"), "w") as f:
            f.write('{\n  "realm" : %s,\n' % json.dumps(args.realm))
            write_users(f, args.realm, first, count, creds)
            f.write("\n}\n")


if __name__ == "__main__":
    main()
