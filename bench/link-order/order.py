#!/usr/bin/env python3
"""The link order: functions grouped by which workloads ran them.

    order.py DIR...     each DIR (one per build variant) holds, from run.sh,
                        sqlite.<phase> and postgres.<phase> for the phases startup, docker,
                        grants, browser and admin, and native.serve (perf samples)

Prints one mangled name per line. A server under one kind of load should touch one contiguous
stretch of code, so the groups run from docker-only code, through code every protocol shares,
to OpenID-only code; then PostgreSQL's driver, the admin API and what only start-up ran. Within
a group the costliest come first. Functions only perf saw (the AVX-512 and ADX assembly
valgrind hides: signing and hashing) count as shared.
"""

import collections
import os
import sys

PHASES = ("startup", "docker", "grants", "browser", "admin")
GROUPS = (
    "docker only",
    "docker and one OpenID flow",
    "docker and both OpenID flows",
    "both OpenID flows",
    "token grants only",
    "browser logins only",
    "PostgreSQL only",
    "admin only",
    "start-up only",
)


def read(path: str):
    """(cost, name) pairs of a functions.py output file; nothing if the file is missing."""
    if not os.path.exists(path):
        return
    with open(path) as lines:
        for line in lines:
            cost, name = line.split(None, 1)
            yield int(cost), name.strip()


def group(seen: set, postgres: set, native: bool) -> str:
    d, g, b = ("docker" in seen), ("grants" in seen), ("browser" in seen)
    if d and g and b:
        return GROUPS[2]
    if d:
        return GROUPS[1] if g or b else GROUPS[0]
    if g and b:
        return GROUPS[3]
    if g or b:
        return GROUPS[4] if g else GROUPS[5]
    if native:
        return GROUPS[2]
    if postgres - {"startup"}:
        return GROUPS[6]
    if "admin" in seen or "admin" in postgres:
        return GROUPS[7]
    return GROUPS[8]


def main() -> None:
    phases = collections.defaultdict(set)  # SQLite phases a function ran in
    pg_phases = collections.defaultdict(set)
    native = set()
    cost: collections.Counter = collections.Counter()
    for d in sys.argv[1:]:
        for phase in PHASES:
            for c, name in read(f"{d}/sqlite.{phase}"):
                phases[name].add(phase)
                cost[name] += c
            for c, name in read(f"{d}/postgres.{phase}"):
                pg_phases[name].add(phase)
        for c, name in read(f"{d}/native.serve"):
            native.add(name)
    names = set(phases) | set(pg_phases) | native
    groups = collections.defaultdict(list)
    for name in names:
        groups[group(phases[name], pg_phases[name], name in native)].append(name)
    for g in GROUPS:
        print(f"# {g}")
        for name in sorted(groups[g], key=lambda n: (-cost[n], n)):
            print(name)


if __name__ == "__main__":
    main()
