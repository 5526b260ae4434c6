#!/usr/bin/env python3
"""Helpers for bench/run.sh: response checks, the form body, openssl parsing and the report.

    bench.py token ALG ACTIONS      stdin: a token response; checks the JWS header's alg and the
                                    granted actions, prints the response's refresh_token if any
    bench.py form TOKEN SERVICE     the refresh-token POST body, form-encoded as docker sends it
    bench.py openssl                stdin: `openssl speed rsa2048 ecdsap256` output;
                                    prints `rsa_sign=<n> ecdsa_sign=<n>` (signatures/s, one core)
    bench.py argon2 SECONDS         argon2id m=7168 t=5 p=1 hashes/s on one core with libargon2
                                    (argon2-cffi), the reference for (c); `argon2_hashes=0` if
                                    argon2-cffi is missing
    bench.py table RESULTS ENV      the markdown report from run.sh's results and environment files
"""

import base64
import json
import re
import statistics
import sys
import time
import urllib.parse

CASES = {
    "a": "(a) repeated Basic credentials",
    "b": "(b) refresh-token POST",
    "c": "(c) first-time password verification",
    "p": "(p) repeated app-password Basic credentials",
    "d": "(d) ceiling: sign only, same key",
}
ALGS = ("RS256", "ES256")
# The targets.
TARGET_VS_SIGN_ONLY = 0.85
TARGET_SIGN_ONLY_VS_OPENSSL = 0.70
TARGET_ANON_MIB = 32.0
TARGET_READY_MS = 100.0


def b64url_json(part: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def check_token(alg: str, actions: str) -> None:
    body = json.load(sys.stdin)
    token = body.get("token") or body.get("access_token")
    if not token:
        sys.exit(f"bench.py: no token in response: {body}")
    header_b64, claims_b64, _ = token.split(".")
    header, claims = b64url_json(header_b64), b64url_json(claims_b64)
    if header.get("alg") != alg:
        sys.exit(f"bench.py: wanted alg {alg}, token header says {header}")
    if actions != "-":
        granted = {a for entry in claims.get("access") or [] for a in entry.get("actions", [])}
        if granted != set(actions.split(",")):
            sys.exit(f"bench.py: wanted actions {actions}, token grants {claims.get('access')}")
    print(body.get("refresh_token", ""))


def form_body(token: str, service: str) -> None:
    print(urllib.parse.urlencode({
        "grant_type": "refresh_token",
        "refresh_token": token,
        "service": service,
        "scope": "repository:team-a/app:pull",
        "client_id": "docker",
    }))


def app_password(base: str, admin_password: str, realm: str, username: str) -> None:
    """Creates an app password for `username` through the admin REST API and prints its secret."""
    import urllib.request

    def call(url, data=None, headers=None, method=None):
        req = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.load(resp)

    form = urllib.parse.urlencode({"grant_type": "password", "client_id": "admin-cli",
                                   "username": "admin", "password": admin_password}).encode()
    token = call(f"{base}/auth/realms/master/protocol/openid-connect/token", form)["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    users = call(f"{base}/auth/admin/realms/{realm}/users?exact=true&username={username}", headers=auth)
    body = json.dumps({"name": "bench", "expiresAt": int(time.time()) + 86400}).encode()
    made = call(f"{base}/auth/admin/realms/{realm}/users/{users[0]['id']}/app-passwords", body,
                {**auth, "Content-Type": "application/json"}, "POST")
    print(made["secret"])


def parse_openssl() -> None:
    text = sys.stdin.read()
    rsa = re.search(r"^rsa\s+2048 bits\s+\S+s\s+\S+s\s+([\d.]+)\s+([\d.]+)", text, re.M)
    ecdsa = re.search(r"^\s*256 bits ecdsa \(nistp256\)\s+\S+s\s+\S+s\s+([\d.]+)\s+([\d.]+)", text, re.M)
    if not rsa or not ecdsa:
        sys.exit("bench.py: could not parse openssl speed output:\n" + text)
    print(f"rsa_sign={rsa.group(1)} ecdsa_sign={ecdsa.group(1)}")


def argon2_speed(seconds: str) -> None:
    try:
        from argon2.low_level import Type, hash_secret_raw
    except ImportError:
        print("argon2_hashes=0")
        return
    start, count = time.perf_counter(), 0
    while time.perf_counter() - start < float(seconds):
        hash_secret_raw(b"bench-password", b"portcullis-bench", time_cost=5, memory_cost=7168,
                        parallelism=1, hash_len=32, type=Type.ID, version=19)
        count += 1
    print(f"argon2_hashes={count / (time.perf_counter() - start):.1f}")


def read_env(path: str) -> dict:
    env = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if "=" in line:
                key, value = line.rstrip("\n").split("=", 1)
                env[key] = value
    return env


def read_results(path: str) -> dict:
    """{(alg, case): [row, ...]} from run.sh's tab-separated results."""
    runs: dict = {}
    with open(path, encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        for line in f:
            row = dict(zip(header, line.rstrip("\n").split("\t")))
            runs.setdefault((row["alg"], row["case"]), []).append(row)
    return runs


def med(rows: list, key: str) -> float:
    return statistics.median(float(r[key]) for r in rows)


def peak(rows: list, key: str) -> float:
    """The highest of the runs' peaks, KiB -> MiB."""
    return max(int(r[key]) for r in rows) / 1024


def kib(env: dict, key: str) -> float:
    """An environment figure in KiB as MiB (nan when missing or "?")."""
    try:
        return float(env[key]) / 1024
    except (KeyError, ValueError):
        return float("nan")


def pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def verdict(ok: bool) -> str:
    return "**met**" if ok else "**not met**"


def table(results_path: str, env_path: str) -> None:
    env = read_env(env_path)
    runs = read_results(results_path)
    rsa1, ec1 = float(env["rsa_sign"]), float(env["ecdsa_sign"])
    argon1 = float(env.get("argon2_hashes", "0"))
    openssl_one_core = {"RS256": rsa1, "ES256": ec1}
    out = []
    out.append("| case | alg | tokens/s | p50 ms | p99 ms | vs ceiling | server CPU (cores) | wrk CPU "
               "| peak RssAnon MiB | peak RssFile MiB |")
    out.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    medians = {}
    for alg in ALGS:
        for case in ("d", "a", "p", "b", "c"):
            rows = runs.get((alg, case))
            if not rows:
                continue
            medians[(alg, case)] = med(rows, "rps")
        for case in ("d", "a", "p", "b", "c"):
            rows = runs.get((alg, case))
            if not rows:
                continue
            rps = medians[(alg, case)]
            if case == "d":
                ratio = f"{pct(rps / (2 * openssl_one_core[alg]))} of 2x(e)"
            elif case == "c":
                ratio = f"{pct(rps / (2 * argon1))} of 2x argon2" if argon1 else ""
            else:
                ratio = f"{pct(rps / medians[(alg, 'd')])} of (d)" if (alg, "d") in medians else ""
            out.append(
                f"| {CASES[case]} | {alg} | {rps:,.0f} | {med(rows, 'p50_us') / 1000:.2f} | "
                f"{med(rows, 'p99_us') / 1000:.2f} | {ratio} | {med(rows, 'server_cores'):.2f} | "
                f"{med(rows, 'wrk_cores'):.2f} | {peak(rows, 'anon_kib'):.1f} | {peak(rows, 'file_kib'):.1f} |"
            )
    out.append(f"| (e) `openssl speed` RSA-2048 sign, 1 core / 2 cores | | {rsa1:,.0f} / {2 * rsa1:,.0f} | | | | | | | |")
    out.append(f"| (e) `openssl speed` ECDSA P-256 sign, 1 core / 2 cores | | {ec1:,.0f} / {2 * ec1:,.0f} | | | | | | | |")
    if argon1:
        out.append(f"| argon2id m=7168 t=5 p=1, libargon2 (argon2-cffi), 1 core / 2 cores | | {argon1:,.0f} / {2 * argon1:,.0f} | | | | | | | |")
    out.append("")
    out.append("Medians of the runs (tokens/s, p50, p99 and CPU each taken separately). \"vs ceiling\": (a)")
    out.append("and (b) against the sign-only route (d) with the same algorithm, (d) against two cores of")
    out.append("`openssl speed` (e), (c) against two cores of libargon2; all measured in this run. CPU is")
    out.append("user+system time per second of wall time, so 2.00 is both cores; wrk shares them. Memory:")
    out.append("the highest RssAnon and, apart, the highest RssFile of /proc/<pid>/status sampled every 100 ms")
    out.append("during that case's runs, in MiB.")
    out.append("")
    out.append("Targets:")
    out.append("")
    for case in ("a", "p", "b"):
        for alg in ALGS:
            if (alg, case) in medians and (alg, "d") in medians:
                r = medians[(alg, case)] / medians[(alg, "d")]
                out.append(f"- {CASES[case]}, {alg}: {medians[(alg, case)]:,.0f} / {medians[(alg, 'd')]:,.0f} "
                           f"= {pct(r)} of (d), target >= {pct(TARGET_VS_SIGN_ONLY)}: {verdict(r >= TARGET_VS_SIGN_ONLY)}")
    if ("RS256", "d") in medians:
        r = medians[("RS256", "d")] / (2 * rsa1)
        out.append(f"- (d) RS256: {medians[('RS256', 'd')]:,.0f} / {2 * rsa1:,.0f} = {pct(r)} of two cores of "
                   f"openssl, target >= {pct(TARGET_SIGN_ONLY_VS_OPENSSL)}: {verdict(r >= TARGET_SIGN_ONLY_VS_OPENSSL)}")
    all_rows = [r for rows in runs.values() for r in rows]
    token_rows = [r for r in all_rows if r["case"] != "c"]
    login_rows = [r for r in all_rows if r["case"] == "c"]
    anon = peak(all_rows, "anon_kib")
    line = (f"- anonymous memory (RssAnon) under load: peak {anon:.1f} MiB over every run, target < "
            f"{TARGET_ANON_MIB:.0f} MiB: {verdict(anon < TARGET_ANON_MIB)}")
    if token_rows:
        line += f"; {peak(token_rows, 'anon_kib'):.1f} MiB during (a), (b) and (d), before any first-time login"
    if login_rows:
        line += f"; {peak(login_rows, 'anon_kib'):.1f} MiB during (c)"
    out.append(line + f". Idle after start {kib(env, 'idle_anon_kib'):.1f} MiB, idle 2 s after the load "
               f"{kib(env, 'after_anon_kib'):.1f} MiB (the load server starts with an empty import directory)")
    out.append(f"- file-backed memory (RssFile: the executable and libraries, pages the kernel can drop and "
               f"read again): idle {kib(env, 'idle_file_kib'):.1f} MiB, peak {peak(all_rows, 'file_kib'):.1f} MiB "
               f"under load, {kib(env, 'after_file_kib'):.1f} MiB after")
    ready = float(env["ready_external_ms"])
    empty = float(env["ready_empty_external_ms"])
    big = float(env["ready_big_external_ms"])
    out.append(f"- start to first 200 of `/auth/health/ready` on an existing database, import directory holding "
               f"the realm file without the first-time users: median {ready:.1f} ms (the server's own `ready_ms`: "
               f"{float(env['ready_logged_ms']):.0f}), target < 100 ms: {verdict(ready < TARGET_READY_MS)}. "
               f"Empty import directory: {empty:.1f} ms; import directory holding the full "
               f"{env['users']}-user realm file (parsed again at every start although the realm exists): "
               f"{big:.1f} ms. RssAnon / RssFile once ready: {kib(env, 'ready_anon_kib'):.1f} / {kib(env, 'ready_file_kib'):.1f}, "
               f"{kib(env, 'ready_empty_anon_kib'):.1f} / {kib(env, 'ready_empty_file_kib'):.1f} and "
               f"{kib(env, 'ready_big_anon_kib'):.1f} / {kib(env, 'ready_big_file_kib'):.1f} MiB. First start, importing the full file: "
               f"{float(env['import_external_ms']):.0f} ms")
    out.append("")
    others = max(float(r["other_cores"]) for r in all_rows)
    out.append(f"Other processes used at most {others:.2f} cores during any run "
               f"({'a quiet machine' if others < 0.1 else 'the figures are disturbed; rerun on a quiet machine'}).")
    c_rows = [r for (alg, case), rows in runs.items() if case == "c" for r in rows]
    if c_rows:
        worst = max(int(r["requests"]) for r in c_rows)
        out.append(f"First-time runs used at most {worst} of their {env['window']} distinct users each, so no "
                   "request was answered from the verified-credentials cache.")
    print("\n".join(out))


def main() -> None:
    command, args = sys.argv[1], sys.argv[2:]
    if command == "token":
        check_token(*args)
    elif command == "form":
        form_body(*args)
    elif command == "app-password":
        app_password(*args)
    elif command == "openssl":
        parse_openssl()
    elif command == "argon2":
        argon2_speed(*args)
    elif command == "table":
        table(*args)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
