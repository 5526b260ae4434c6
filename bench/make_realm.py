#!/usr/bin/env python3
"""Writes the benchmark realm (Keycloak realm JSON) to stdout.

Realm `bench`: realm role `writer`; two docker-v2 clients, `bench-rs256` and `bench-es256`, that
differ only in `access.token.signed.response.alg`, each granting `pull,push` on `team-a/**` to
`writer`; user `bench` for the cached-credential and refresh cases, and `--users` users
`u00000, u00001, ...` for first-time verification, all holding `writer`.

Every user has the same password, stored as a pre-computed Keycloak argon2 credential
(`secretData`/`credentialData`) with the realm default parameters (argon2id v1.3, m=7168 KiB,
t=5, p=1, 32 bytes) and one fixed salt. Importing plain `value` passwords would cost one
argon2 hash per user at first start (about 12 ms each); a stored hash costs nothing, and since
its parameters equal the realm policy the server never re-hashes it after a login, so every
first-time login costs exactly one verification. A shared salt is fine for a benchmark and
nowhere else.
"""

import argparse
import base64
import json
import sys

PASSWORD = "bench-password"
SALT = b"portcullis-bench"
# argon2id v1.3, m=7168, t=5, p=1, 32 bytes of PASSWORD with SALT (checked by --check when
# argon2-cffi is installed, and by the harness, which fails unless the server accepts it).
HASH_B64 = "5ivwsqo7LI1CxYUuCYaaL1bNndYHSo5KZGrHy2xEr74="
ARGON2_PARAMETERS = {
    "type": ["id"],
    "version": ["1.3"],
    "hashLength": ["32"],
    "memory": ["7168"],
    "parallelism": ["1"],
}


def check_hash() -> None:
    """Recomputes HASH_B64 with argon2-cffi, so a changed constant cannot go unnoticed."""
    from argon2.low_level import Type, hash_secret_raw

    raw = hash_secret_raw(
        PASSWORD.encode(), SALT, time_cost=5, memory_cost=7168, parallelism=1,
        hash_len=32, type=Type.ID, version=19,
    )
    if base64.b64encode(raw).decode() != HASH_B64:
        sys.exit("make_realm.py: HASH_B64 does not match the password and salt")


def credential() -> dict:
    secret = {"value": HASH_B64, "salt": base64.b64encode(SALT).decode(), "additionalParameters": {}}
    data = {"hashIterations": 5, "algorithm": "argon2", "additionalParameters": ARGON2_PARAMETERS}
    return {
        "type": "password",
        "temporary": False,
        "secretData": json.dumps(secret, separators=(",", ":")),
        "credentialData": json.dumps(data, separators=(",", ":")),
    }


def user(name: str) -> dict:
    return {"username": name, "enabled": True, "realmRoles": ["writer"], "credentials": [credential()]}


def docker_client(client_id: str, alg: str) -> dict:
    return {
        "clientId": client_id,
        "protocol": "docker-v2",
        "enabled": True,
        "attributes": {"access.token.signed.response.alg": alg},
        "protocolMappers": [{
            "name": "team-a writers",
            "protocol": "docker-v2",
            "protocolMapper": "docker-v2-repository-access-mapper",
            "config": {"repository": "team-a/**", "actions": "pull,push", "role": "writer"},
        }],
    }


def realm(users: int) -> dict:
    return {
        "realm": "bench",
        "enabled": True,
        "roles": {"realm": [{"name": "writer"}]},
        "clients": [docker_client("bench-rs256", "RS256"), docker_client("bench-es256", "ES256")],
        "users": [user("bench")] + [user(f"u{i:05d}") for i in range(users)],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=16000, help="first-time-login users")
    parser.add_argument("--check", action="store_true", help="verify HASH_B64 with argon2-cffi")
    args = parser.parse_args()
    if args.check:
        check_hash()
    json.dump(realm(args.users), sys.stdout, separators=(",", ":"))


if __name__ == "__main__":
    main()
