#!/usr/bin/env bash
# Records which functions a serving Portcullis runs and writes crates/portcullis/link-order.txt,
# the order in which the release link lays them out (see crates/portcullis/build.rs for why).
#
#   bench/link-order/run.sh
#
# Profiles two release builds, the default one and the `bench` feature's (the benchmarks run
# that one; a feature changes the binary crate's symbol hashes, so it needs its own names), and
# lists the names of both: a build skips the names it does not have.
#
# 1. Imports the docker (../make_realm.py) and OpenID (../oidc/make_realm.py) benchmark realms
#    into a fresh SQLite database and runs the server under `valgrind --tool=callgrind`: what
#    runs until ready is start-up; then workload.py's phases (docker tokens, token grants,
#    browser logins, admin API), each followed by concurrent load, with a dump after each.
# 2. The same on PostgreSQL when PORTCULLIS_TEST_DATABASE_URL names one (its database is
#    recreated), for the PostgreSQL driver's functions.
# 3. When `perf` works, samples the native server under the same workload and load: valgrind
#    hides AVX-512 and ADX, so the assembly aws-lc picks on real hardware is only seen here.
#
# order.py then groups the functions by the phases that ran them (see its header).
# Symbol names are stable across edits (they hash the crate and the item, not the code), so the
# file only needs regenerating when many functions were added or renamed, when a crate's
# dependencies change, or on a new rustc.
# Needs valgrind and python3 with requests; perf and wrk are optional. Takes about six minutes.
set -euo pipefail

DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$(dirname "$DIR")")
OUT=$ROOT/crates/portcullis/link-order.txt
ROUNDS=3
PHASES=(docker grants browser admin) # workload.py's
USERS=400 # first-time logins: ROUNDS for the workload, the rest for concurrent_load
SECRET=bench-secret-0123456789abcdef0123

log() { printf '%s %s\n' "$(date +%T)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

for tool in valgrind callgrind_control python3 curl; do command -v "$tool" >/dev/null || die "$tool is required"; done
python3 -c 'import requests' 2>/dev/null || die "python3 requests is required (pip install requests)"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/portcullis-link-order.XXXXXX")
# $1: variant, then cargo's feature arguments. Copies the binary to $WORK/<variant>/portcullis.
build() {
    local variant=$1; shift
    mkdir -p "$WORK/$variant"
    log "building the release binary ($variant)"
    (cd "$ROOT" && cargo build --release -p portcullis "$@") >&2
    cp "$ROOT/target/release/portcullis" "$WORK/$variant/portcullis"
}
SERVER_PID=
stop_server() {
    [[ -n $SERVER_PID ]] || return 0
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
}
cleanup() { stop_server; rm -rf "$WORK"; }
trap cleanup EXIT

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export PORTCULLIS_BIND=127.0.0.1:$PORT PORTCULLIS_ADMIN_PASSWORD=x RUST_LOG=warn
mkdir -p "$WORK/realms" "$WORK/empty"
python3 "$DIR/../make_realm.py" --users "$USERS" >"$WORK/realms/bench.json"
python3 "$DIR/../oidc/make_realm.py" --users "$USERS" >"$WORK/realms/oidc.json"

wait_ready() {
    for _ in {1..240}; do
        curl -sf "http://127.0.0.1:$PORT/auth/health/ready" >/dev/null && return
        kill -0 "$SERVER_PID" 2>/dev/null || die "the server exited; see $WORK"
        sleep 0.5
    done
    die "the server did not become ready"
}

# $1: database URL. Imports the realms with the native binary (so the profile holds no import).
import_realms() {
    PORTCULLIS_DATABASE_URL=$1 PORTCULLIS_IMPORT_DIR=$WORK/realms "$BIN" serve >"$OUTD/import.log" 2>&1 &
    SERVER_PID=$!
    wait_ready
    stop_server
}

# $1: phase, $2: seconds. What only shows under concurrency and growing tables, per phase: 16
# connections of docker tokens (cached and first-time credentials) or of client credentials
# (wrk, when installed), or browser logins of distinct users by 8 workers.
concurrent_load() {
    local base=http://127.0.0.1:$PORT/auth/realms l docker_url
    case $1 in
        docker | grants) command -v wrk >/dev/null || return 0 ;;
    esac
    for l in rs256 es256; do
        docker_url="$base/bench/protocol/docker-v2/auth?service=bench-$l&scope=repository:team-a/app:pull,push"
        case $1 in
            docker)
                wrk -t1 -c16 -d"$2" -s "$DIR/../static.lua" "$docker_url" -- auth=bench:bench-password >/dev/null
                wrk -t1 -c16 -d"$2" -s "$DIR/../rotate.lua" "$docker_url" -- \
                    first="$ROUNDS" count=$((USERS - ROUNDS)) password=bench-password >/dev/null ;;
            grants)
                wrk -t1 -c16 -d"$2" -s "$DIR/../static.lua" "$base/oidc/protocol/openid-connect/token" -- \
                    "auth=cc-$l:$SECRET" body=grant_type=client_credentials >/dev/null ;;
        esac
    done
    if [[ $1 == browser ]]; then
        python3 "$DIR/../oidc/logins.py" --port "$PORT" --realm oidc --client web-rs256 --secret "$SECRET" \
            --redirect http://127.0.0.1:9/cb --password bench-password --first "$ROUNDS" \
            --count $((USERS - ROUNDS)) --workers 8 --seconds "$2" >/dev/null
    fi
}

# The variant being profiled: its binary, and the directory its results go to.
BIN=
OUTD=

# $1: database URL, $2: output prefix. Writes $2.<phase> for start-up and each workload phase
# (functions, costliest first): callgrind dumps its counts after each phase and starts afresh.
profile_callgrind() {
    import_realms "$1"
    log "callgrind: $2"
    PORTCULLIS_DATABASE_URL=$1 PORTCULLIS_IMPORT_DIR=$WORK/empty valgrind --tool=callgrind --demangle=no \
        --callgrind-out-file="$OUTD/$2.cg" "$BIN" serve >"$OUTD/$2.log" 2>&1 &
    SERVER_PID=$!
    wait_ready
    local phase dumps=(startup)
    for phase in "${PHASES[@]}"; do
        callgrind_control --dump "$SERVER_PID" >/dev/null 2>&1 # the previous phase's counts: $2.cg.<n>
        python3 "$DIR/workload.py" "$PORT" "$ROUNDS" "$phase"
        concurrent_load "$phase" 2
        dumps+=("$phase")
    done
    stop_server # the last phase's counts: $2.cg
    local n
    for ((n = 1; n < ${#dumps[@]}; n++)); do
        python3 "$DIR/functions.py" callgrind "$BIN" "$OUTD/$2.cg.$n" >"$OUTD/$2.${dumps[n - 1]}"
    done
    python3 "$DIR/functions.py" callgrind "$BIN" "$OUTD/$2.cg" >"$OUTD/$2.${dumps[-1]}"
}

# Samples the native server (SQLite) under the workload and wrk; writes native.serve.
profile_perf() {
    : >"$OUTD/native.serve"
    perf record -q -o "$OUTD/probe.data" true >/dev/null 2>&1 || { log "perf does not work here: skipped"; return; }
    import_realms "sqlite://$OUTD/native.db?mode=rwc"
    log "perf: native sampling"
    PORTCULLIS_DATABASE_URL="sqlite://$OUTD/native.db?mode=rwc" PORTCULLIS_IMPORT_DIR=$WORK/empty \
        "$BIN" serve >"$OUTD/native.log" 2>&1 &
    SERVER_PID=$!
    wait_ready
    perf record -q -F 5000 -p "$SERVER_PID" -o "$OUTD/perf.data" >"$OUTD/perf.log" 2>&1 &
    local perf_pid=$!
    sleep 1
    python3 "$DIR/workload.py" "$PORT" "$ROUNDS"
    local phase
    for phase in "${PHASES[@]}"; do concurrent_load "$phase" 2; done
    kill -INT "$perf_pid"
    wait "$perf_pid" || true
    stop_server
    perf report -i "$OUTD/perf.data" --no-demangle --stdio --sort dso,sym 2>/dev/null \
        | python3 "$DIR/functions.py" perf "$BIN" >"$OUTD/native.serve"
}

# $1: variant. Writes sqlite.*, postgres.* and native.serve under $WORK/$1.
profile_variant() {
    BIN=$WORK/$1/portcullis OUTD=$WORK/$1
    profile_callgrind "sqlite://$OUTD/callgrind.db?mode=rwc" sqlite
    if [[ $PG_URL == postgres://* ]]; then
        local admin_url=${PG_URL%/*}/postgres
        psql_quiet "$admin_url" -c 'DROP DATABASE IF EXISTS portcullis_link_order' -c 'CREATE DATABASE portcullis_link_order'
        profile_callgrind "${PG_URL%/*}/portcullis_link_order" postgres
        psql_quiet "$admin_url" -c 'DROP DATABASE portcullis_link_order'
    fi
    profile_perf
}
psql_quiet() { PGOPTIONS="-c client_min_messages=warning" psql -q "$@"; }

PG_URL=${PORTCULLIS_TEST_DATABASE_URL:-}
if [[ $PG_URL != postgres://* ]] || ! command -v psql >/dev/null; then
    log "PORTCULLIS_TEST_DATABASE_URL names no PostgreSQL database: its driver stays unordered"
    PG_URL=
fi
VARIANTS=(default bench)
build default
build bench --features portcullis/bench
for variant in "${VARIANTS[@]}"; do profile_variant "$variant"; done

{
    echo "# Generated by bench/link-order/run.sh on $(date -u +%F) with $(rustc -V)."
    python3 "$DIR/order.py" "${VARIANTS[@]/#/$WORK/}"
} >"$OUT"
log "wrote $(grep -vc '^#' "$OUT") functions to $OUT"
