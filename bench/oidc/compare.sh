#!/usr/bin/env bash
# Client credentials against the sign-only ceiling, for one or more release binaries at once.
#
#   bench/oidc/compare.sh BIN [BIN ...]
#
# On a machine whose speed drifts from one second to the next (a shared VM), runs of ten seconds
# minutes apart compare badly. This starts one server per binary (each built with the `bench`
# feature, the OIDC bench realm of make_realm.py imported into its own SQLite database), then
# runs short `wrk -t1 -c16` rounds that alternate between them: the sign-only route, then
# client_credentials, with ALG tokens. Each round prints both rates and their ratio; the
# summary gives the medians per binary. A binary whose path ends in `-noevents` gets a realm with
# `eventsEnabled: false`, to see what recording login events costs.
#
# Environment: ROUNDS (12), DURATION (3s), ALG (ES256). Needs python3, wrk.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROUNDS=${ROUNDS:-12}
DURATION=${DURATION:-3s}
ALG=${ALG:-ES256}
SECRET=bench-secret-0123456789abcdef0123
CLIENT=cc-$(tr '[:upper:]' '[:lower:]' <<<"$ALG")

# shellcheck source=bench/lib.sh
source "$BENCH_DIR/../lib.sh"
(($# > 0)) || die "usage: $0 BIN [BIN ...]"
for tool in python3 wrk; do command -v "$tool" >/dev/null || die "$tool is required"; done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/portcullis-compare.XXXXXX")
PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

PORTS=()
NAMES=()
for bin in "$@"; do
    [[ -x $bin ]] || die "$bin is missing"
    i=${#PORTS[@]}
    dir=$WORK/$i
    mkdir -p "$dir/realms" "$dir/empty"
    python3 "$BENCH_DIR/make_realm.py" --users 10 >"$dir/realms/oidc.json"
    if [[ $bin == *-noevents ]]; then
        python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); r["eventsEnabled"] = False; json.dump(r, open(sys.argv[1], "w"))' "$dir/realms/oidc.json"
    fi
    port=$(free_port)
    export PORTCULLIS_BIND=127.0.0.1:$port PORTCULLIS_DATABASE_URL="sqlite://$dir/bench.db?mode=rwc" PORTCULLIS_ADMIN_PASSWORD=x
    PORTCULLIS_IMPORT_DIR=$dir/realms python3 "$BENCH_DIR/../ready.py" --port "$port" --log "$dir/first.log" --stop -- "$bin" serve >/dev/null
    line=$(RUST_LOG=warn PORTCULLIS_IMPORT_DIR=$dir/empty python3 "$BENCH_DIR/../ready.py" --port "$port" --log "$dir/server.log" -- "$bin" serve)
    PIDS+=("$(field pid "$line")")
    PORTS+=("$port")
    NAMES+=("$(basename "$bin")")
done

rate() { field rps "$(wrk -t1 -c16 -d"$DURATION" -s "$BENCH_DIR/../static.lua" "$@" | grep '^BENCH ')"; }
RESULTS=$WORK/results
: >"$RESULTS"
for ((round = 1; round <= ROUNDS; round++)); do
    for i in "${!PORTS[@]}"; do
        base=http://127.0.0.1:${PORTS[$i]}/auth/realms/oidc
        sign=$(rate "$base/bench/sign?alg=$ALG")
        cc=$(rate "$base/protocol/openid-connect/token" -- "auth=$CLIENT:$SECRET" body=grant_type=client_credentials)
        printf '%s\t%s\t%s\n' "${NAMES[$i]}" "$sign" "$cc" | tee -a "$RESULTS" >&2
    done
done
python3 - "$RESULTS" <<'EOF'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    name, sign, cc = line.split()
    rows.setdefault(name, []).append((float(sign), float(cc)))
for name, runs in rows.items():
    med = lambda xs: statistics.median(xs)
    print(f"{name}: sign {med(s for s, _ in runs):,.0f}/s, client_credentials {med(c for _, c in runs):,.0f}/s, "
          f"ratio {med(c / s for s, c in runs):.2f} (median of {len(runs)} rounds)")
EOF
