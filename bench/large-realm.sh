#!/usr/bin/env bash
# Import and export of a large realm file on SQLite: wall time and peak memory of
# `portcullis import` and `portcullis export --users` (BENCHMARKS.md, "Large realm files").
#
#   bench/large-realm.sh [path/to/portcullis]     (default target/release/portcullis)
#
# Knobs: USERS (100000), RUNS (3), SPLIT (users per Keycloak users file for one more import of
# the same users as `<realm>-realm.json` + `<realm>-users-<n>.json`; 0 skips it; 25000).
# Each import goes to a fresh SQLite database in a temporary directory; each export reads the
# last one. Memory: RssAnon sampled every 50 ms (peak of the samples) and VmHWM (the kernel's
# peak resident set, anonymous and file pages) read at the last sample.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
BIN=$(realpath "${1:-target/release/portcullis}")
USERS=${USERS:-100000}
RUNS=${RUNS:-3}
SPLIT=${SPLIT:-25000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
touch /tmp/bench.running
trap 'rm -rf "$work" /tmp/bench.running' EXIT

log "writing $USERS users"
python3 bench/gen-realm.py --users "$USERS" --out "$work/big.json"
log "realm file: $(du -m "$work/big.json" | cut -f1) MB"

# measure LABEL OUT ARGS...: runs the binary with ARGS, stdout to OUT, stderr to OUT.log.
measure() {
    local label=$1 out=$2; shift 2
    local start end peak=0 hwm=0 h
    start=$(date +%s.%N)
    "$BIN" "$@" >"$out" 2>"$out.log" &
    local pid=$!
    while kill -0 "$pid" 2>/dev/null; do
        read_mem "$pid"
        ((ANON_KIB > peak)) && peak=$ANON_KIB
        h=$(awk '$1 == "VmHWM:" { print $2 }' "/proc/$pid/status" 2>/dev/null || true)
        [[ -n $h ]] && hwm=$h
        sleep 0.05
    done
    wait "$pid" || die "$label failed: $(tail -3 "$out.log")"
    end=$(date +%s.%N)
    printf '%s: wall %.2f s, peak RssAnon %.1f MiB, VmHWM %.1f MiB\n' "$label" \
        "$(bc <<<"$end - $start")" "$(bc -l <<<"$peak / 1024")" "$(bc -l <<<"$hwm / 1024")"
}

for run in $(seq "$RUNS"); do
    export PORTCULLIS_DATABASE_URL="sqlite://$work/db-$run.sqlite?mode=rwc"
    measure "import run $run" "$work/import-$run.out" import "$work/big.json"
done
for run in $(seq "$RUNS"); do
    measure "export run $run" "$work/export.json" export --realm big --users
done
python3 - "$work/export.json" "$USERS" <<'PY'
import json, sys
users = json.load(open(sys.argv[1]))["users"]
assert len(users) == int(sys.argv[2]), len(users)
print(f"export checked: {len(users)} users, {sum(1 for u in users if u.get('credentials'))} with credentials")
PY
grep -c "importing users" "$work/import-1.out.log" | xargs -I{} echo "progress lines in import run 1: {}"
if ((SPLIT > 0)); then
    python3 bench/gen-realm.py --users "$USERS" --split "$SPLIT" --out "$work/split"
    export PORTCULLIS_DATABASE_URL="sqlite://$work/db-split.sqlite?mode=rwc"
    measure "import of $(ls "$work/split" | wc -l) split files" "$work/split.out" import "$work/split"
fi
