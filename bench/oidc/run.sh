#!/usr/bin/env bash
# The OpenID Connect benchmark behind the "OpenID Connect" section of BENCHMARKS.md.
#
#   bench/oidc/run.sh [--no-build]
#
# Same method as bench/run.sh (the docker-v2 benchmark): a release binary built with the
# `bench` feature, a realm imported into a fresh SQLite database in a temporary directory, the
# server at RUST_LOG=warn, `wrk -t1 -c16 -d10s --latency` over loopback, a 3 s warm-up per case,
# medians of 3 runs, RssAnon and RssFile sampled every 100 ms (the peak of each kept apart).
# Cases, in this order:
#   sign   GET .../bench/sign?alg=A: a fresh token signed with the same key (the ceiling)
#   cc     POST .../openid-connect/token grant_type=client_credentials, client cc-rs256 / cc-es256
#   refresh POST .../openid-connect/token grant_type=refresh_token, one token replayed
#          (web-rs256 / web-es256; the token comes once from the password grant)
#   login  full authorization-code logins (auth GET, form POST, code exchange with PKCE) by
#          logins.py, 16 concurrent workers, a different user every login (one argon2id each)
#   node   npm oidc-provider 9 (server.js), client_credentials, JWT RS256 / ES256
#   argon2 argon2id m=7168 t=5 p=1 hashes/s, libargon2 (argon2-cffi) in 2 processes for 5 s
#
# Every measuring phase holds an exclusive flock on BENCH_LOCK (/tmp/bench.lock), so that
# another benchmark on the same machine never measures at the same time; servers are started
# without the lock's file descriptor.
#
# Environment: BENCH_RUNS (3), BENCH_DURATION (10s), BENCH_WARMUP (3s), BENCH_WINDOW (users
# per login run, 2500), BENCH_BIN=<path> (skip the build), BENCH_COMMIT (the commit BENCH_BIN was
# built from, for the report), BENCH_LOCK, BENCH_KEEP=1, BENCH_OUT=<file> (also write the report
# there). Needs bash, python3, curl, wrk, node, npm.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$(dirname "$BENCH_DIR")")
RUNS=${BENCH_RUNS:-3}
DURATION=${BENCH_DURATION:-10s}
WARMUP=${BENCH_WARMUP:-3s}
WINDOW=${BENCH_WINDOW:-2500}
LOCK=${BENCH_LOCK:-/tmp/bench.lock}
CONNECTIONS=16
PASSWORD=bench-password
SECRET=bench-secret-0123456789abcdef0123
REDIRECT=http://127.0.0.1:9/cb
ALGS=(RS256 ES256)
declare -A LC=([RS256]=rs256 [ES256]=es256)
CLK_TCK=$(getconf CLK_TCK)
BIN=${BENCH_BIN:-$ROOT/target/release/portcullis}

# shellcheck source=bench/lib.sh
source "$BENCH_DIR/../lib.sh"

for tool in python3 curl wrk node npm flock; do command -v "$tool" >/dev/null || die "$tool is required"; done
# The argon2 reference comes last; fail now rather than after the whole run.
python3 -c 'import argon2' 2>/dev/null || die "argon2-cffi is required for the argon2 reference (pip install argon2-cffi)"
if [[ ${1:-} != --no-build && -z ${BENCH_BIN:-} ]]; then
    log "building the release binary with the bench feature"
    (cd "$ROOT" && cargo build --release -p portcullis --features portcullis/bench) >&2
fi
[[ -x $BIN ]] || die "$BIN is missing"
[[ -d $BENCH_DIR/node_modules/oidc-provider ]] || (cd "$BENCH_DIR" && npm ci --no-audit --no-fund >&2)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/portcullis-oidc-bench.XXXXXX")
PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill -0 "$pid" 2>/dev/null || continue
        kill -TERM "$pid"
        for _ in {1..50}; do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    done
    if [[ ${BENCH_KEEP:-0} == 1 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
PORT=$(free_port)
NODE_PORT=$(free_port)
BASE=http://127.0.0.1:$PORT/auth/realms/oidc
TOKEN_URL=$BASE/protocol/openid-connect/token
RESULTS=$WORK/results.tsv
ENV_FILE=$WORK/env
: >"$ENV_FILE"
lock() { exec 9>>"$LOCK"; log "waiting for $LOCK"; flock 9; log "holding $LOCK"; wait_quiet 60; }
# Waits up to $1 seconds for one second in which the machine used under 0.2 cores (a process
# that measures without taking the lock, or a build), then goes on with a warning.
wait_quiet() {
    local deadline=$((SECONDS + $1)) b0 b1
    while :; do
        b0=$(busy_jiffies); sleep 1; b1=$(busy_jiffies)
        ((b1 - b0 < CLK_TCK / 5)) && return
        ((SECONDS >= deadline)) && { log "warning: the machine is busy ($(((b1 - b0) * 100 / CLK_TCK))% of a core); measuring anyway"; return; }
    done
}
unlock() { flock -u 9; exec 9>&-; log "released $LOCK"; }

# --- portcullis -------------------------------------------------------------------------------
USERS=$(((RUNS + 2) * WINDOW))
mkdir -p "$WORK/realms" "$WORK/empty"
python3 "$BENCH_DIR/make_realm.py" --users "$USERS" >"$WORK/realms/oidc.json"
export PORTCULLIS_BIND=127.0.0.1:$PORT PORTCULLIS_DATABASE_URL="sqlite://$WORK/bench.db?mode=rwc" PORTCULLIS_ADMIN_PASSWORD=x
lock # the import and the sanity requests would disturb another benchmark's measurements
log "first start: import the realm ($USERS login users), then restart with an empty import dir"
PORTCULLIS_IMPORT_DIR=$WORK/realms python3 "$BENCH_DIR/../ready.py" --port "$PORT" --log "$WORK/server-first.log" --stop -- "$BIN" serve >/dev/null 9>&-
line=$(RUST_LOG=warn PORTCULLIS_IMPORT_DIR=$WORK/empty python3 "$BENCH_DIR/../ready.py" --port "$PORT" --log "$WORK/server.log" -- "$BIN" serve 9>&-)
SERVER_PID=$(field pid "$line"); PIDS+=("$SERVER_PID")
sleep 1; read_mem "$SERVER_PID"; printf 'idle_anon_portcullis=%s\nidle_file_portcullis=%s\n' "$ANON_KIB" "$FILE_KIB" >>"$ENV_FILE"

# Sanity: the sign route and client credentials answer 200 with a token of the right
# algorithm. Nothing has hashed a password yet: client credentials compare a secret, as
# oidc-provider does, so the sign and cc cases measure a process that never held argon2's
# working memory (7 MiB per busy hashing thread, released after 2 s idle; the logins row shows it).
for alg in "${ALGS[@]}"; do
    l=${LC[$alg]}
    curl -sf "$BASE/bench/sign?alg=$alg" | python3 "$BENCH_DIR/../bench.py" token "$alg" - >/dev/null || die "sign $alg failed"
    curl -sf -u "cc-$l:$SECRET" -d grant_type=client_credentials "$TOKEN_URL" \
        | python3 "$BENCH_DIR/../bench.py" token "$alg" - >/dev/null || die "client_credentials $alg failed"
done
read_mem "$SERVER_PID"; printf 'sanity_anon_portcullis=%s\nsanity_file_portcullis=%s\n' "$ANON_KIB" "$FILE_KIB" >>"$ENV_FILE"

# The password grant gives the refresh token that the refresh case replays (one argon2 each).
declare -A BODY
refresh_sanity() {
    local alg l refresh
    for alg in "${ALGS[@]}"; do
        l=${LC[$alg]}
        refresh=$(curl -sf -u "web-$l:$SECRET" -d grant_type=password -d username=bench -d "password=$PASSWORD" -d scope=openid "$TOKEN_URL" \
            | python3 "$BENCH_DIR/../bench.py" token "$alg" -) || die "password grant $alg failed"
        [[ -n $refresh ]] || die "no refresh_token from the password grant ($alg)"
        BODY[$alg]="grant_type=refresh_token&refresh_token=$refresh"
        curl -sf -u "web-$l:$SECRET" --data "${BODY[$alg]}" "$TOKEN_URL" | python3 "$BENCH_DIR/../bench.py" token "$alg" - >/dev/null \
            || die "refresh grant $alg failed"
    done
}
LOGIN_ARGS=(--port "$PORT" --realm oidc --client web-rs256 --secret "$SECRET" --redirect "$REDIRECT" --password "$PASSWORD" --count "$WINDOW")

# One measured run against pid $1: $2 label (target/case/alg), $3 run, then the load command.
# Samples RssAnon and RssFile every 100 ms, keeps the peak of each; appends a results row (not
# for warm-ups).
measure() {
    local pid=$1 label=$2 run=$3; shift 3
    local out=$WORK/load.out times=$WORK/load.time max_anon=0 max_file=0 busy0 srv0 busy1 srv1 t0 t1
    [[ $run == warm ]] || wait_quiet 15
    busy0=$(busy_jiffies); srv0=$(proc_jiffies "$pid"); t0=$(date +%s.%N)
    ( TIMEFORMAT='%U %S'; { time "$@" >"$out"; } 2>"$times" ) &
    local load_pid=$!
    while kill -0 "$load_pid" 2>/dev/null; do
        read_mem "$pid"
        ((ANON_KIB > max_anon)) && max_anon=$ANON_KIB
        ((FILE_KIB > max_file)) && max_file=$FILE_KIB
        sleep 0.1
    done
    wait "$load_pid" || die "$label $run failed: $(cat "$out" "$times")"
    busy1=$(busy_jiffies); srv1=$(proc_jiffies "$pid"); t1=$(date +%s.%N)
    local stats; stats=$(grep '^BENCH ' "$out") || die "no BENCH line: $(cat "$out")"
    local -A f=(); local kv; for kv in ${stats#BENCH }; do f[${kv%%=*}]=${kv#*=}; done
    ((${f[non2xx]:-0} == 0 && ${f[sockerr]:-0} == 0 && ${f[errors]:-0} == 0)) || die "$label $run: errors: $stats"
    local cores
    cores=$(python3 -c '
import sys
t0, t1, tck, busy, srv, lu, ls = map(float, sys.argv[1:])
wall = t1 - t0
print(f"{srv / tck / wall:.2f} {(lu + ls) / wall:.2f} {max(0.0, busy / tck / wall - srv / tck / wall - (lu + ls) / wall):.2f}")
' "$t0" "$t1" "$CLK_TCK" "$((busy1 - busy0))" "$((srv1 - srv0))" $(tail -1 "$times"))
    log "$label $run: ${f[rps]}/s p50 ${f[p50_us]} us p99 ${f[p99_us]} us peak RssAnon $max_anon KiB, RssFile $max_file KiB; server, load, other cores: $cores"
    [[ $run == warm ]] || printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$run" "${f[rps]}" "${f[p50_us]}" "${f[p99_us]}" \
        "$max_anon" "$max_file" "${cores// /$'\t'}" >>"$RESULTS"
}
wrk_run() { # $1 pid, $2 label, $3 run, $4 url, then static.lua arguments
    local pid=$1 label=$2 run=$3 url=$4; shift 4
    local d=$DURATION; [[ $run == warm ]] && d=$WARMUP
    measure "$pid" "$label" "$run" wrk -t1 -c"$CONNECTIONS" -d"$d" --latency -s "$BENCH_DIR/../static.lua" "$url" -- "$@"
}
portcullis_case() { # $1 case, $2 alg, $3 run
    local l=${LC[$2]}
    case $1 in
        sign) wrk_run "$SERVER_PID" "portcullis/sign/$2" "$3" "$BASE/bench/sign?alg=$2" ;;
        cc) wrk_run "$SERVER_PID" "portcullis/cc/$2" "$3" "$TOKEN_URL" "auth=cc-$l:$SECRET" "body=grant_type=client_credentials" ;;
        refresh) wrk_run "$SERVER_PID" "portcullis/refresh/$2" "$3" "$TOKEN_URL" "auth=web-$l:$SECRET" "body=${BODY[$2]}" ;;
    esac
}

printf 'label\trun\trps\tp50_us\tp99_us\tanon_kib\tfile_kib\tserver_cores\tload_cores\tother_cores\n' >"$RESULTS"
# Token issuing without passwords first (see the sanity checks), then refresh, then logins.
for alg in "${ALGS[@]}"; do
    for c in sign cc; do portcullis_case "$c" "$alg" warm; done
    for ((run = 1; run <= RUNS; run++)); do for c in sign cc; do portcullis_case "$c" "$alg" "$run"; done; done
done
refresh_sanity
for alg in "${ALGS[@]}"; do
    portcullis_case refresh "$alg" warm
    for ((run = 1; run <= RUNS; run++)); do portcullis_case refresh "$alg" "$run"; done
done
# Logins last: argon2id's 7 MiB per verification would otherwise hide what issuing tokens needs.
python3 "$BENCH_DIR/logins.py" "${LOGIN_ARGS[@]}" --first 0 --seconds 0.2 --workers 4 >/dev/null || die "login flow failed"
next_window=$WINDOW
seconds=${DURATION%s}
for run in warm $(seq "$RUNS"); do
    s=$seconds; [[ $run == warm ]] && s=${WARMUP%s}
    measure "$SERVER_PID" portcullis/login/RS256 "$run" python3 "$BENCH_DIR/logins.py" "${LOGIN_ARGS[@]}" --first "$next_window" --seconds "$s"
    next_window=$((next_window + WINDOW))
done
unlock
sleep 2; read_mem "$SERVER_PID"; printf 'after_anon_portcullis=%s\nafter_file_portcullis=%s\n' "$ANON_KIB" "$FILE_KIB" >>"$ENV_FILE"
kill -TERM "$SERVER_PID"

# --- oidc-provider and the argon2 ceiling -------------------------------------------------------
node "$BENCH_DIR/server.js" "$NODE_PORT" >"$WORK/node.log" 2>&1 9>&- &
NODE_PID=$!; PIDS+=("$NODE_PID")
for _ in {1..100}; do curl -s -o /dev/null "http://127.0.0.1:$NODE_PORT/.well-known/openid-configuration" && break; sleep 0.1; done
for alg in "${ALGS[@]}"; do
    curl -sf -u "cc-${LC[$alg]}:$SECRET" -d grant_type=client_credentials "http://127.0.0.1:$NODE_PORT/token" \
        | python3 "$BENCH_DIR/../bench.py" token "$alg" - >/dev/null || die "oidc-provider $alg failed"
done
sleep 1; read_mem "$NODE_PID"; printf 'idle_anon_node=%s\nidle_file_node=%s\n' "$ANON_KIB" "$FILE_KIB" >>"$ENV_FILE"
lock
log "argon2id reference: libargon2 (argon2-cffi), 2 processes, 5 s"
python3 "$BENCH_DIR/../bench.py" argon2 5 >"$WORK/argon2.a" & a=$!
python3 "$BENCH_DIR/../bench.py" argon2 5 >"$WORK/argon2.b" & b=$!
wait "$a" "$b"
echo "argon2_two_procs=$(cat "$WORK/argon2.a" "$WORK/argon2.b" | sed 's/.*=//' | paste -sd+ | bc)" >>"$ENV_FILE"
for alg in "${ALGS[@]}"; do
    for run in warm $(seq "$RUNS"); do
        wrk_run "$NODE_PID" "oidc-provider/cc/$alg" "$run" "http://127.0.0.1:$NODE_PORT/token" \
            "auth=cc-${LC[$alg]}:$SECRET" "body=grant_type=client_credentials"
    done
done
unlock
echo "node=$(node -v) oidc_provider=$(node -p 'require("'"$BENCH_DIR"'/node_modules/oidc-provider/package.json").version')" >>"$ENV_FILE"

{
    echo "Machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), $(uname -sr)."
    echo "Versions: $(rustc --version), $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2), node $(node -v), oidc-provider $(node -p 'require("'"$BENCH_DIR"'/node_modules/oidc-provider/package.json").version'), portcullis ${BENCH_COMMIT:-$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?') (the checkout; BENCH_COMMIT not given)}, binary $BIN."
    echo "Run: $(date -u '+%Y-%m-%d %H:%M UTC'), wrk -t1 -c$CONNECTIONS -d$DURATION --latency, $RUNS runs, warm-up $WARMUP per case."
    echo
    python3 "$BENCH_DIR/report.py" "$RESULTS" "$ENV_FILE"
    echo
    echo '```'
    column -t -s $'\t' "$RESULTS"
    echo '```'
} | tee "${BENCH_OUT:-/dev/null}"
