#!/usr/bin/env python3
"""Starts the server and measures the time from start to the first 200 of its readiness probe.

    ready.py --port P --log FILE [--stop] -- /path/to/portcullis serve

The clock starts just before the process is spawned and stops when `GET /auth/health/ready`
first answers 200, polled over a raw socket every half millisecond (curl in a loop would add its
own start-up to every probe). Prints one line,
`pid=<n> external_ms=<x> ready_ms=<y> rss_anon_kib=<a> rss_file_kib=<f>`, where `ready_ms` is
what the server itself logged (measured from inside `main`, so it leaves out exec and dynamic
loading; `?` when the log level hides it) and the last two its RssAnon and RssFile once ready.
With `--stop` the server then gets SIGTERM and is waited for; otherwise it keeps running,
logging to FILE, and the caller owns the pid.
"""

import argparse
import re
import signal
import socket
import subprocess
import sys
import time

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def probe(port: int) -> bool:
    """True when the readiness probe answers 200; False while refused or not ready."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
            sock.sendall(
                b"GET /auth/health/ready HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
            )
            status = sock.recv(64)
            return status.startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def logged_ready_ms(log_path: str) -> str:
    with open(log_path, encoding="utf-8", errors="replace") as log:
        text = ANSI.sub("", log.read())
    found = re.findall(r"ready_ms=(\d+)", text)
    return found[-1] if found else "?"


def rss_kib(pid: int) -> tuple:
    """RssAnon and RssFile right after readiness (plus the 50 ms above), idle, from one snapshot
    of /proc/<pid>/status (read forward from one open; see read_mem in lib.sh)."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        text = status.read()
    found = dict(re.findall(r"^(RssAnon|RssFile):\s+(\d+) kB$", text, re.M))
    return found.get("RssAnon", "?"), found.get("RssFile", "?")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--stop", action="store_true")
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    with open(args.log, "ab") as log:
        start = time.perf_counter()
        server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        while not probe(args.port):
            if server.poll() is not None:
                print(f"ready.py: server exited with {server.returncode}; see {args.log}", file=sys.stderr)
                return 1
            if time.perf_counter() - start > args.timeout:
                server.send_signal(signal.SIGTERM)
                print(f"ready.py: not ready after {args.timeout} s; see {args.log}", file=sys.stderr)
                return 1
            time.sleep(0.0005)
        elapsed_ms = (time.perf_counter() - start) * 1000
    # The log line is written just before the listener starts serving; give it a moment to land.
    time.sleep(0.05)
    anon, file = rss_kib(server.pid)
    print(
        f"pid={server.pid} external_ms={elapsed_ms:.1f} ready_ms={logged_ready_ms(args.log)} "
        f"rss_anon_kib={anon} rss_file_kib={file}",
        flush=True,
    )
    if args.stop:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
