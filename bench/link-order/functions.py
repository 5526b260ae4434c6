#!/usr/bin/env python3
"""Which functions of one object ran, from callgrind output files or a `perf report`.

    functions.py callgrind OBJECT FILE...   callgrind.out files (run with --demangle=no)
    functions.py perf OBJECT                stdin: `perf report --no-demangle --stdio
                                            --sort dso,sym` output

Prints `<cost> <mangled name>` per function of OBJECT (the executable's path or file name) that
ran, the costliest first: instructions for callgrind, samples (per mille) for perf. Names carry
no callgrind recursion marks (`'2`), so they are the symbols the linker sees.
"""

import collections
import re
import sys

NAME_LINE = re.compile(r"^(c?)(ob|fl|fi|fe|fn)=\((\d+)\)(?: (.*))?$")
RECURSION = re.compile(r"'\d+$")


def callgrind(obj: str, paths: list) -> collections.Counter:
    """Self cost per function: callgrind compresses names to `(id)` after their first use."""
    cost: collections.Counter = collections.Counter()
    for path in paths:
        names: dict = {"ob": {}, "fn": {}}
        current = {"ob": None, "fn": None}
        after_calls = False
        with open(path, errors="replace") as lines:
            for line in lines:
                line = line.rstrip("\n")
                m = NAME_LINE.match(line)
                if m:
                    called, kind, ident, name = m.groups()
                    if kind in names:
                        if name is not None:
                            names[kind][ident] = name
                        if not called:
                            current[kind] = names[kind].get(ident)
                    continue
                if line.startswith("calls="):
                    after_calls = True  # the next cost line is the callee's inclusive cost
                    continue
                if not line or not (line[0].isdigit() or line[0] in "+-*"):
                    continue
                if after_calls:
                    after_calls = False
                    continue
                fields = line.split()
                ob, fn = current["ob"], current["fn"]
                if len(fields) >= 2 and ob and fn and ob.endswith(obj) and fields[1].isdigit():
                    cost[RECURSION.sub("", fn)] += int(fields[1])
    return cost


def perf(obj: str, report) -> collections.Counter:
    name = obj.rsplit("/", 1)[-1]
    cost: collections.Counter = collections.Counter()
    for line in report:
        m = re.match(r"^\s*([0-9.]+)%\s+(\S+)\s+\[\.\]\s+(\S+)", line)
        if m and m.group(2) == name:
            cost[m.group(3)] += int(float(m.group(1)) * 10) + 1
    return cost


def main() -> None:
    mode, obj = sys.argv[1], sys.argv[2]
    cost = callgrind(obj, sys.argv[3:]) if mode == "callgrind" else perf(obj, sys.stdin)
    for fn, c in cost.most_common():
        if c > 0 and not fn.startswith(("(", "0x")):
            print(c, fn)


if __name__ == "__main__":
    main()
