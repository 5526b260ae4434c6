#!/usr/bin/env python3
"""Full authorization-code logins per second, the load generator behind bench/oidc/run.sh.

    logins.py --port P --realm R --client C --secret S --redirect URI \
              --first N --count N --password PW [--workers 16] [--seconds 10]

wrk cannot follow a three-request flow, so this drives it with asyncio over raw keep-alive
sockets (no dependency beyond the standard library). Every login, by each of WORKERS concurrent
workers on its own connection:

1. GET .../openid-connect/auth?response_type=code&scope=openid&state&PKCE S256: the login page,
   with a PORTCULLIS_FORM cookie; the form's action and hidden inputs are parsed out of the HTML.
2. POST the form (hidden inputs + username + password) with that cookie only: must answer 302 or 303 (what it sends) to
   the redirect URI with `code` and the same `state`.
3. POST the code to the token endpoint with `code_verifier` (client_secret_basic): must answer
   200 with an access_token.

Each login signs in as the next user of a window u<first>, u<first+1>, ... (no cookie jar is kept
between logins, so there is no SSO session to reuse and every login verifies a password with
argon2id). Prints one line:

    BENCH logins=<n> seconds=<s> rps=<logins/s> p50_us=<n> p99_us=<n> errors=<n> cpu_cores=<n>

where cpu_cores is this generator's own user+system CPU per second of wall time. Exits 1 when
any login failed (the first failure is printed to stderr) or the window was too small.
"""

import argparse
import asyncio
import base64
import hashlib
import html
import re
import resource
import sys
import time
import urllib.parse

VERIFIER = "dBjftJeZ4CVP-1mB92DrX9g2IXWZ9Cmp9dBjftJeZ4CV"
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=").decode()
FORM_RE = re.compile(r'<form id="kc-form-login" action="([^"]*)"')
HIDDEN_RE = re.compile(r'<input type="hidden" name="([^"]*)" value="([^"]*)"')


class LoginError(Exception):
    """A login that did not end in a token: the run is worthless, so it stops the run."""


class Conn:
    """One HTTP/1.1 keep-alive connection, reopened when the server closes it."""

    def __init__(self, port: int):
        self.port = port
        self.reader = self.writer = None

    async def request(self, method: str, target: str, headers: dict, body: bytes = b"") -> tuple:
        for attempt in (0, 1):
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
            head = [f"{method} {target} HTTP/1.1", f"Host: 127.0.0.1:{self.port}"]
            head += [f"{k}: {v}" for k, v in headers.items()]
            if body or method == "POST":
                head.append(f"Content-Length: {len(body)}")
            try:
                self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
                return await self.read_response()
            except (ConnectionError, asyncio.IncompleteReadError):
                self.writer = None
                if attempt:
                    raise
        raise LoginError("unreachable")

    async def read_response(self) -> tuple:
        raw = await self.reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers: dict = {}
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                headers.setdefault(k.strip().lower(), []).append(v.strip())
        if headers.get("transfer-encoding", [""])[0].lower() == "chunked":
            body = b""
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                body += await self.reader.readexactly(size + 2)
                if size == 0:
                    break
        else:
            body = await self.reader.readexactly(int(headers.get("content-length", ["0"])[0]))
        if headers.get("connection", [""])[0].lower() == "close":
            self.writer.close()
            self.writer = None
        return status, headers, body


def form_cookie(headers: dict) -> str:
    for value in headers.get("set-cookie", []):
        if value.startswith("PORTCULLIS_FORM="):
            return value.split(";", 1)[0]
    raise LoginError(f"no PORTCULLIS_FORM cookie in {headers.get('set-cookie')}")


async def login(conn: Conn, args, user: str, basic: str) -> None:
    proto = f"/auth/realms/{args.realm}/protocol/openid-connect"
    query = urllib.parse.urlencode({
        "client_id": args.client, "redirect_uri": args.redirect, "response_type": "code",
        "scope": "openid", "state": user, "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
    })
    status, headers, body = await conn.request("GET", f"{proto}/auth?{query}", {})
    page = body.decode()
    action = FORM_RE.search(page)
    if status != 200 or not action:
        raise LoginError(f"auth GET: {status} {page[:300]}")
    fields = {html.unescape(k): html.unescape(v) for k, v in HIDDEN_RE.findall(page)}
    fields.update(username=user, password=args.password)
    target = html.unescape(action.group(1))
    if target.startswith("http"):
        parts = urllib.parse.urlsplit(target)
        target = parts.path + ("?" + parts.query if parts.query else "")
    status, headers, body = await conn.request("POST", target, {
        "Content-Type": "application/x-www-form-urlencoded", "Cookie": form_cookie(headers),
    }, urllib.parse.urlencode(fields).encode())
    location = headers.get("location", [""])[0]
    params = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)
    if status not in (302, 303) or not location.startswith(args.redirect) or params.get("state") != [user]:
        raise LoginError(f"form POST: {status} {location} {body[:300]!r}")
    token_body = urllib.parse.urlencode({
        "grant_type": "authorization_code", "code": params["code"][0],
        "redirect_uri": args.redirect, "code_verifier": VERIFIER,
    }).encode()
    status, _, body = await conn.request("POST", f"{proto}/token", {
        "Content-Type": "application/x-www-form-urlencoded", "Authorization": basic,
    }, token_body)
    if status != 200 or b'"access_token"' not in body:
        raise LoginError(f"token POST: {status} {body[:300]!r}")


async def run(args) -> int:
    basic = "Basic " + base64.b64encode(f"{args.client}:{args.secret}".encode()).decode()
    latencies: list = []
    failures: list = []
    counter = iter(range(args.count))
    deadline = time.perf_counter() + args.seconds

    async def worker() -> None:
        conn = Conn(args.port)
        while time.perf_counter() < deadline and not failures:
            index = next(counter, None)
            if index is None:
                failures.append(f"only {args.count} users in the window; raise it")
                return
            start = time.perf_counter()
            try:
                await login(conn, args, f"u{args.first + index:05d}", basic)
            except (LoginError, OSError, asyncio.IncompleteReadError, ValueError) as err:
                failures.append(f"u{args.first + index:05d}: {err}")
                return
            latencies.append(time.perf_counter() - start)

    cpu0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(args.workers)))
    cpu1, wall = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter() - t0
    cpu = (cpu1.ru_utime - cpu0.ru_utime + cpu1.ru_stime - cpu0.ru_stime) / wall
    latencies.sort()
    pick = lambda q: int(1e6 * latencies[min(len(latencies) - 1, int(q * len(latencies)))]) if latencies else 0  # noqa: E731
    print(f"BENCH logins={len(latencies)} seconds={wall:.3f} rps={len(latencies) / wall:.1f} "
          f"p50_us={pick(0.50)} p99_us={pick(0.99)} errors={len(failures)} cpu_cores={cpu:.2f}", flush=True)
    if failures:
        print(f"logins.py: {failures[0]}", file=sys.stderr)
        return 1
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--realm", required=True)
    parser.add_argument("--client", required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--redirect", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--first", type=int, default=0)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
