#!/usr/bin/env python3
"""Admin console at scale: seeds a realm with 100,000 users, 10,100 groups, 1,000 clients and a
registry, plus 1,000 realms on the server, signs in to the master console as a browser does, and
times every console page and search (p50 / p95 / max of the server's answer, measured on
loopback with keep-alive: the time from sending the request to reading the response headers).

Usage: bench/console/run.py [--binary target/release/portcullis] [--database-url URL]
       [--users 100000] [--groups 100] [--clients 1000] [--realms 1000] [--samples 40]
Without --database-url a fresh SQLite file is used; pass postgres://... for PostgreSQL (the
database must exist and be empty).
"""

import argparse
import html
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import requests

ADMIN_PASSWORD = "bench-admin-password"
REALM = "scale"
SERVICE = "registry.scale.test"


def log(*args):
    print(time.strftime("%H:%M:%S"), *args, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(binary, database_url, workdir):
    port = free_port()
    env = dict(os.environ)
    env.update(
        PORTCULLIS_BIND=f"127.0.0.1:{port}",
        PORTCULLIS_DATABASE_URL=database_url,
        PORTCULLIS_ADMIN_PASSWORD=ADMIN_PASSWORD,
        PORTCULLIS_IMPORT_DIR=os.path.join(workdir, "no-realms"),
        RUST_LOG="warn",
    )
    os.makedirs(env["PORTCULLIS_IMPORT_DIR"], exist_ok=True)
    logfile = open(os.path.join(workdir, "server.log"), "w")
    proc = subprocess.Popen([binary, "serve"], env=env, stdout=logfile, stderr=logfile)
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if requests.get(f"{base}/auth/health/ready", timeout=1).status_code == 200:
                return proc, base
        except requests.RequestException:
            pass
        time.sleep(0.05)
    raise SystemExit("the server did not become ready; see server.log")


class Admin:
    """The admin REST API as the master admin."""

    def __init__(self, base):
        self.base = base
        self.http = requests.Session()
        self.token_at = 0
        self.refresh()

    def refresh(self):
        r = self.http.post(
            f"{self.base}/auth/realms/master/protocol/openid-connect/token",
            data={"grant_type": "password", "client_id": "admin-cli",
                  "username": "admin", "password": ADMIN_PASSWORD},
        )
        r.raise_for_status()
        self.http.headers["Authorization"] = "Bearer " + r.json()["access_token"]
        self.token_at = time.time()

    def call(self, method, path, body=None):
        if time.time() - self.token_at > 40:
            self.refresh()
        r = self.http.request(method, f"{self.base}/auth/admin/realms{path}", json=body)
        if r.status_code >= 300:
            raise SystemExit(f"{method} {path}: {r.status_code} {r.text[:300]}")
        return r


def seed(admin, args):
    log(f"seeding realm {REALM}: {args.groups}x{args.groups} groups, {args.clients} clients")
    groups = [
        {"name": f"g{t:03}", "subGroups": [{"name": f"c{c:03}"} for c in range(args.groups)]}
        for t in range(args.groups)
    ]
    clients = [
        {"clientId": f"app-{i:04}", "publicClient": True, "redirectUris": [f"https://app{i}.test/*"]}
        for i in range(args.clients)
    ]
    rules = [
        {"name": f"team g{t:03}", "protocol": "docker-v2",
         "protocolMapper": "docker-v2-repository-access-mapper",
         "config": {"repository": f"g{t:03}/**", "actions": "push", "group": f"/g{t:03}"}}
        for t in range(min(args.groups, 20))
    ] + [
        {"name": "ci pushes", "protocol": "docker-v2",
         "protocolMapper": "docker-v2-repository-access-mapper",
         "config": {"repository": "**", "actions": "push", "role": "ci"}},
        {"name": "everyone pulls base", "protocol": "docker-v2",
         "protocolMapper": "docker-v2-repository-access-mapper",
         "config": {"repository": "base/**", "actions": "pull", "subject": "authenticated"}},
    ]
    clients.append({"clientId": SERVICE, "protocol": "docker-v2", "protocolMappers": rules})
    admin.call("POST", "", {
        "realm": REALM, "enabled": True,
        "roles": {"realm": [{"name": "ci"}, {"name": "registry-admin"}]},
        "groups": groups, "clients": clients,
    })
    log(f"seeding {args.users} users in batches")
    batch = 5000
    for start in range(0, args.users, batch):
        users = []
        for i in range(start, min(start + batch, args.users)):
            t, c = i % args.groups, (i // args.groups) % args.groups
            user = {"username": f"user{i:06}", "email": f"user{i:06}@scale.test",
                    "enabled": True, "groups": [f"/g{t:03}/c{c:03}"]}
            if i % 2 == 0:
                user["realmRoles"] = ["ci"]
            users.append(user)
        # The server refreshes PostgreSQL's statistics as an import grows the user tables.
        admin.call("POST", f"/{REALM}/partialImport", {"users": users, "ifResourceExists": "SKIP"})
    log(f"creating {args.realms - 2} more realms")
    for i in range(args.realms - 2):
        admin.call("POST", "", {"realm": f"r{i:04}", "enabled": True})


class Console:
    """A browser signed in to the master console."""

    def __init__(self, base):
        self.base = base
        self.console = f"{base}/auth/admin/master/console"
        self.http = requests.Session()
        login = self.http.get(f"{self.console}/")
        form = re.search(r'<form[^>]*id="kc-form-login"[^>]*action="([^"]+)"', login.text)
        if not form:
            raise SystemExit(f"no login form: {login.status_code} {login.text[:300]}")
        fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', login.text))
        fields.update(username="admin", password=ADMIN_PASSWORD)
        done = self.http.post(requests.compat.urljoin(login.url, html.unescape(form.group(1))), data=fields)
        if "PORTCULLIS_CONSOLE" not in self.http.cookies.keys():
            raise SystemExit(f"console sign-in failed: {done.status_code} {done.url}")

    def realm(self, path):
        return f"{self.console}/realms/{REALM}{path}"

    def csrf(self, url):
        page = self.http.get(url)
        return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)


def timed(label, fn, samples, budget_ms, results):
    fn()  # warm the caches a first request fills (the realm snapshot)
    times = []
    status = None
    for _ in range(samples):
        start = time.perf_counter()
        r = fn()
        times.append((time.perf_counter() - start) * 1000)
        status = r.status_code
        if status >= 400:
            raise SystemExit(f"{label}: {status} {r.text[:400]}")
    times.sort()
    p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
    row = {"page": label, "p50": statistics.median(times), "p95": p95, "max": times[-1],
           "budget": budget_ms, "status": status}
    results.append(row)
    log(f"{label:55} p50 {row['p50']:7.1f} ms  p95 {p95:7.1f} ms  (budget {budget_ms} ms)")


def measure(console, admin, args):
    s = console.http
    results = []
    n = args.samples
    registry = admin.call("GET", f"/{REALM}/clients?clientId={SERVICE}").json()[0]["id"]
    probe_name = f"user{min(4242, args.users - 1):06}"
    user = admin.call("GET", f"/{REALM}/users?username={probe_name}&exact=true").json()[0]["id"]
    g000 = admin.call("GET", f"/{REALM}/group-by-path/g000").json()["id"]
    get = lambda url: (lambda: s.get(url, allow_redirects=False))
    timed(f"realms list ({args.realms:,} realms)", get(f"{console.console}/realms"), n, 50, results)
    timed("realm overview", get(console.realm("")), n, 50, results)
    timed("users, first page", get(console.realm("/users")), n, 50, results)
    timed("users, search 'user0421'", get(console.realm("/users?q=user0421")), n, 50, results)
    timed("users, search by email 'user09999@'", get(console.realm("/users?q=user09999%40")), n, 50, results)
    after = f"user{args.users * 9 // 10:06}"
    timed(f"users, page after {after}", get(console.realm(f"/users?after={after}")), n, 50, results)
    timed("user details", get(console.realm(f"/users/{user}")), n, 50, results)
    timed("user groups tab", get(console.realm(f"/users/{user}/groups")), n, 50, results)
    timed("user registry access tab", get(console.realm(f"/users/{user}/access")), n, 50, results)
    timed(f"groups, top level ({args.groups} of {args.groups * (args.groups + 1):,})", get(console.realm("/groups")), n, 50, results)
    timed("groups, children of /g000", get(console.realm(f"/groups?parent={g000}")), n, 50, results)
    timed("registries list", get(console.realm("/registries")), n, 50, results)
    timed("registry rules (22 rules)", get(console.realm(f"/registries/{registry}/rules")), n, 50, results)
    scopes = "repository:g004/api:push\nrepository:base/x:pull\nrepository:other/y:push"
    timed("try it (3 scopes)", lambda: s.get(console.realm(f"/registries/{registry}/try"),
                                            params={"username": probe_name, "scope": scopes}), n, 50, results)
    timed("registry setup", get(console.realm(f"/registries/{registry}/setup")), n, 50, results)
    timed("registry logins", get(console.realm(f"/registries/{registry}/logins")), n, 50, results)
    for extra in ("/clients", "/roles", "/sessions", "/events", "/settings", "/keys"):
        probe = s.get(console.realm(extra), allow_redirects=False)
        if probe.status_code == 200:
            timed(f"{extra[1:]} page", get(console.realm(extra)), n, 50, results)
    rules_url = console.realm(f"/registries/{registry}/rules")
    csrf = console.csrf(rules_url)
    preview = console.realm(f"/registries/{registry}/rules/preview")
    diffs = [
        (f"access diff: +push for group /g000 ({args.users // args.groups:,} members)", "team-new/**", "group", "/g000"),
        (f"access diff: +push for role ci ({(args.users + 1) // 2:,} holders)", "ci-new/**", "role", "ci"),
        ("access diff: +pull for every signed-in user", "base/**", "authenticated", ""),
        ("access diff: +pull for anonymous", "public/**", "anonymous", ""),
    ]
    for label, pattern, kind, subject in diffs:
        data = {"csrf": csrf, "pattern": pattern, "actions": "push" if kind in ("group", "role") else "pull",
                "subjectKind": kind, "subject": subject}
        timed(label, lambda d=data: s.post(preview, data=d, allow_redirects=False), max(10, n // 4), 1000, results)
        page = s.post(preview, data=data).text
        lines = re.findall(r'<li class="(?:gain|loss)">([^<]+)</li>', page)
        log(f"    diff says: {[html.unescape(l) for l in lines]}")
    return results


def rss_anon_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
    return 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default="target/release/portcullis")
    parser.add_argument("--database-url")
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--groups", type=int, default=100, help="top-level groups, each with as many children")
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--realms", type=int, default=1000)
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="console-bench-")
    url = args.database_url or f"sqlite://{workdir}/bench.db?mode=rwc"
    proc, base = start_server(args.binary, url, workdir)
    try:
        admin = Admin(base)
        started = time.time()
        seed(admin, args)
        log(f"seeded in {time.time() - started:.0f} s")
        console = Console(base)
        results = measure(console, admin, args)
        anon = rss_anon_kib(proc.pid)
        over = [r for r in results if r["p95"] > r["budget"]]
        summary = {"database": "postgres" if url.startswith("postgres") else "sqlite",
                   "users": args.users, "groups": args.groups * (args.groups + 1),
                   "clients": args.clients, "realms": args.realms,
                   "rss_anon_kib": anon, "results": results, "over_budget": [r["page"] for r in over]}
        print("| page | p50 ms | p95 ms | max ms | budget ms |")
        print("|---|---:|---:|---:|---:|")
        for r in results:
            print(f"| {r['page']} | {r['p50']:.1f} | {r['p95']:.1f} | {r['max']:.1f} | {r['budget']} |")
        print(f"\nRssAnon after the run: {anon / 1024:.1f} MiB; over budget: {summary['over_budget'] or 'none'}")
        if args.json:
            with open(args.json, "w") as f:
                json.dump(summary, f, indent=1)
    finally:
        proc.terminate()
        proc.wait()


if __name__ == "__main__":
    main()
