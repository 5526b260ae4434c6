#!/usr/bin/env bash
# The docker-v2 token endpoint benchmark behind BENCHMARKS.md.
#
#   bench/run.sh [--no-build]
#
# Builds the release binary with the `bench` feature, imports a benchmark realm into a fresh
# SQLite database in a temporary directory, measures start-to-ready on that existing database,
# then runs `wrk -t1 -c16 -d10s --latency` over loopback three times for each case and algorithm
# (after a 3 s warm-up per case) and prints a markdown report: medians, ratios against the
# sign-only route (d), against `openssl speed` (e) and against libargon2, memory (RssAnon and
# RssFile apart, idle and the peak of 100 ms samples under each load), start-to-ready.
#
# Cases, each with RS256 and ES256 (two docker-v2 clients that differ only in
# access.token.signed.response.alg):
#   (a) GET .../docker-v2/auth with the same Basic credentials (verified-credentials cache hits)
#   (b) POST .../docker-v2/auth, grant_type=refresh_token
#   (c) GET .../docker-v2/auth, a different user every request (one argon2id verification each)
#   (p) as (a), with an app password of user `bench` instead of the password
#   (d) GET .../bench/sign?alg=...: a fresh token signed with the same key, nothing else
#   (e) openssl speed rsa2048 ecdsap256, one core (two cores' worth = 2x)
#
# Every figure is only as good as the machine is quiet: the script waits for an idle machine
# before it starts, checks again before every measured run, and repeats a run during which other
# processes used more than a quarter of a core (at most BENCH_RETRIES times in all).
#
# Environment knobs: BENCH_RUNS (3), BENCH_DURATION (10s), BENCH_WARMUP (3s), BENCH_WINDOW
# (distinct users per first-time run, 2000), BENCH_STARTS (start-to-ready samples, 5),
# BENCH_RETRIES (4), BENCH_QUIET_WAIT (seconds to wait for an idle machine, 120),
# BENCH_CASES ("d a p b c"), BENCH_BIN=<path> (benchmark that binary instead of building one),
# BENCH_COMMIT (the commit BENCH_BIN was built from, for the report), BENCH_KEEP=1 (keep the
# temporary directory), BENCH_OUT=<file> (also write the report there).
# Needs bash, python3, curl, wrk and openssl; the server runs with RUST_LOG=warn under load.
set -euo pipefail
# One load test at a time on this machine (bench/oidc/run.sh takes the same lock): the whole run,
# ceilings included, holds it.
exec 9>>"${BENCH_LOCK:-/tmp/bench.lock}"
flock 9

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH_DIR")
RUNS=${BENCH_RUNS:-3}
DURATION=${BENCH_DURATION:-10s}
WARMUP=${BENCH_WARMUP:-3s}
WINDOW=${BENCH_WINDOW:-2000}
STARTS=${BENCH_STARTS:-5}
RETRIES_LEFT=${BENCH_RETRIES:-4}
QUIET_WAIT=${BENCH_QUIET_WAIT:-120}
CASES=${BENCH_CASES:-d a p b c}
CONNECTIONS=16
PASSWORD=bench-password
SCOPE='repository:team-a/app:pull,push'
ALGS=(RS256 ES256)
CLK_TCK=$(getconf CLK_TCK)
# A run is repeated when other processes used more than this many hundredths of a core.
DISTURBED=25
BIN=${BENCH_BIN:-$ROOT/target/release/portcullis}

# shellcheck source=bench/lib.sh
source "$BENCH_DIR/lib.sh"

# --- prerequisites ----------------------------------------------------------------------------
for tool in python3 curl openssl; do
    command -v "$tool" >/dev/null || die "$tool is required"
done
if ! command -v wrk >/dev/null; then
    if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
        log "installing wrk"
        apt-get install -y wrk >/dev/null
    else
        die "wrk is required (apt-get install wrk)"
    fi
fi
if [[ ${1:-} != --no-build && -z ${BENCH_BIN:-} ]]; then
    log "building the release binary with the bench feature"
    (cd "$ROOT" && cargo build --release -p portcullis --features portcullis/bench) >&2
fi
[[ -x $BIN ]] || die "$BIN is missing"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/portcullis-bench.XXXXXX")
SERVER_PID=
cleanup() {
    if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID"
        # Not our child (ready.py spawned it): poll until it is gone.
        for _ in {1..50}; do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    fi
    if [[ ${BENCH_KEEP:-0} == 1 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
REALM_URL=http://127.0.0.1:$PORT/auth/realms/bench
mkdir -p "$WORK/realms" "$WORK/small" "$WORK/empty"
export PORTCULLIS_BIND=127.0.0.1:$PORT
export PORTCULLIS_DATABASE_URL="sqlite://$WORK/bench.db?mode=rwc"
export PORTCULLIS_ADMIN_PASSWORD=x
export PORTCULLIS_IMPORT_DIR=$WORK/realms
ENV_FILE=$WORK/env
RESULTS=$WORK/results.tsv
: >"$ENV_FILE"

# First-time users: a window of WINDOW distinct users for every (c) run, warm-ups and repeats
# included, so that no user signs in twice within the cache's 60 s.
USERS=$(((${#ALGS[@]} * (RUNS + 1) + RETRIES_LEFT) * WINDOW))
CHECK=
python3 -c 'import argon2' 2>/dev/null && CHECK=--check
python3 "$BENCH_DIR/make_realm.py" --users "$USERS" $CHECK >"$WORK/realms/bench.json"
# The same realm without the first-time users: the import dir an operator would have.
python3 "$BENCH_DIR/make_realm.py" --users 0 >"$WORK/small/bench.json"
log "realm file: $USERS first-time users + 1, $(du -h "$WORK/realms/bench.json" | cut -f1)"

# Median of the numeric arguments ("?" = not logged, e.g. under a RUST_LOG that hides info); nan if none.
median() {
    python3 -c '
import statistics, sys
xs = [float(x) for x in sys.argv[1:] if x.replace(".", "", 1).isdigit()]
print(statistics.median(xs) if xs else float("nan"))' "$@"
}

# Waits up to $1 seconds for one second in which the machine (the idle server included) used
# under 0.2 cores, then goes on anyway with a warning.
wait_quiet() {
    local deadline=$((SECONDS + $1)) b0 b1 said=
    while :; do
        b0=$(busy_jiffies); sleep 1; b1=$(busy_jiffies)
        ((b1 - b0 < CLK_TCK / 5)) && return
        if ((SECONDS >= deadline)); then
            log "warning: the machine is still busy ($(((b1 - b0) * 100 / CLK_TCK))% of a core); measuring anyway"
            return
        fi
        [[ -n $said ]] || log "the machine is busy ($(((b1 - b0) * 100 / CLK_TCK))% of a core); waiting"
        said=1
    done
}
wait_quiet "$QUIET_WAIT"

# --- first start: import, then start-to-ready on the existing database ------------------------
log "first start (creates the database and imports the realm)"
line=$(python3 "$BENCH_DIR/ready.py" --port "$PORT" --log "$WORK/server-first.log" --stop -- "$BIN" serve)
echo "import_external_ms=$(field external_ms "$line")" >>"$ENV_FILE"

measure_starts() { # $1: key prefix, $2: label; the import dir comes from the environment
    local external=() logged=() anon=() file=() line
    for ((i = 0; i < STARTS; i++)); do
        line=$(python3 "$BENCH_DIR/ready.py" --port "$PORT" --log "$WORK/server-start.log" --stop -- "$BIN" serve)
        external+=("$(field external_ms "$line")")
        logged+=("$(field ready_ms "$line")")
        anon+=("$(field rss_anon_kib "$line")")
        file+=("$(field rss_file_kib "$line")")
    done
    log "start to ready ($2): external ${external[*]} ms; logged ready_ms ${logged[*]}; RssAnon ${anon[*]} KiB; RssFile ${file[*]} KiB"
    {
        echo "${1}_external_ms=$(median "${external[@]}")"
        echo "${1}_logged_ms=$(median "${logged[@]}")"
        echo "${1}_anon_kib=$(median "${anon[@]}")"
        echo "${1}_file_kib=$(median "${file[@]}")"
    } >>"$ENV_FILE"
}
PORTCULLIS_IMPORT_DIR=$WORK/small measure_starts ready "existing database, import dir with the realm file minus the first-time users"
PORTCULLIS_IMPORT_DIR=$WORK/empty measure_starts ready_empty "existing database, empty import dir"
measure_starts ready_big "existing database, import dir with the full $USERS-user realm file"

# --- ceilings on an idle machine --------------------------------------------------------------
log "openssl speed -seconds 5 rsa2048 ecdsap256"
openssl speed -seconds 5 rsa2048 ecdsap256 2>/dev/null >"$WORK/openssl.txt"
python3 "$BENCH_DIR/bench.py" openssl <"$WORK/openssl.txt" | tr ' ' '\n' >>"$ENV_FILE"
log "argon2id reference (libargon2 via argon2-cffi, one core, 5 s)"
python3 "$BENCH_DIR/bench.py" argon2 5 >>"$ENV_FILE"

# --- the server under load --------------------------------------------------------------------
# The realm exists now; an empty import dir keeps the start from re-reading the 11 MB file, an
# artefact of this benchmark that costs time and memory (ready_big_* in the report).
log "starting the server for the load runs (RUST_LOG=warn, empty import dir)"
line=$(RUST_LOG=warn PORTCULLIS_IMPORT_DIR=$WORK/empty \
    python3 "$BENCH_DIR/ready.py" --port "$PORT" --log "$WORK/server.log" -- "$BIN" serve)
SERVER_PID=$(field pid "$line")
sleep 1
read_mem "$SERVER_PID"; printf 'idle_anon_kib=%s\nidle_file_kib=%s\n' "$ANON_KIB" "$FILE_KIB" >>"$ENV_FILE"

# Sanity: each endpoint answers 200 with a token of the right algorithm and grants; this also
# proves the pre-computed password hash verifies, and puts user `bench` in the verified cache.
# Refresh tokens come from offline_token=true.
declare -A SERVICE=([RS256]=bench-rs256 [ES256]=bench-es256) BODY
APP_PASSWORD=$(python3 "$BENCH_DIR/bench.py" app-password "http://127.0.0.1:$PORT" "$PORTCULLIS_ADMIN_PASSWORD" bench bench) \
    || die "creating an app password for user bench failed"
for alg in "${ALGS[@]}"; do
    svc=${SERVICE[$alg]}
    curl -sf "$REALM_URL/bench/sign?alg=$alg" | python3 "$BENCH_DIR/bench.py" token "$alg" - >/dev/null \
        || die "(d) sign-only route failed for $alg"
    refresh=$(curl -sf -u "bench:$PASSWORD" "$REALM_URL/protocol/docker-v2/auth?service=$svc&scope=$SCOPE&offline_token=true" \
        | python3 "$BENCH_DIR/bench.py" token "$alg" pull,push) || die "(a) token request failed for $alg"
    [[ -n $refresh ]] || die "no refresh_token with offline_token=true for $alg"
    BODY[$alg]=$(python3 "$BENCH_DIR/bench.py" form "$refresh" "$svc")
    curl -sf -X POST -H 'Content-Type: application/x-www-form-urlencoded' --data "${BODY[$alg]}" \
        "$REALM_URL/protocol/docker-v2/auth" | python3 "$BENCH_DIR/bench.py" token "$alg" pull >/dev/null \
        || die "(b) refresh-token POST failed for $alg"
    curl -sf -u "bench:$APP_PASSWORD" "$REALM_URL/protocol/docker-v2/auth?service=$svc&scope=$SCOPE" \
        | python3 "$BENCH_DIR/bench.py" token "$alg" pull,push >/dev/null || die "(p) app-password token request failed for $alg"
done

# One wrk run: $1 alg, $2 case, $3 run label, $4 duration, then wrk's URL and script arguments.
# Samples the server's RssAnon and RssFile every 100 ms while wrk runs and keeps the peak of
# each; sets ROW (a results line) and OTHER (hundredths of a core used by other processes).
run_wrk() {
    local alg=$1 kind=$2 label=$3 duration=$4; shift 4
    local out=$WORK/wrk.out times=$WORK/wrk.time max_anon=0 max_file=0 busy0 srv0 busy1 srv1 t0 t1
    busy0=$(busy_jiffies); srv0=$(proc_jiffies "$SERVER_PID"); t0=$(date +%s.%N)
    ( TIMEFORMAT='%U %S'; { time wrk -t1 -c"$CONNECTIONS" -d"$duration" --latency "$@" >"$out"; } 2>"$times" ) &
    local wrk_pid=$!
    while kill -0 "$wrk_pid" 2>/dev/null; do
        read_mem "$SERVER_PID"
        ((ANON_KIB > max_anon)) && max_anon=$ANON_KIB
        ((FILE_KIB > max_file)) && max_file=$FILE_KIB
        sleep 0.1
    done
    wait "$wrk_pid" || die "wrk failed: $(cat "$out")"
    busy1=$(busy_jiffies); srv1=$(proc_jiffies "$SERVER_PID"); t1=$(date +%s.%N)
    local stats; stats=$(grep '^BENCH ' "$out") || die "no BENCH line from wrk: $(cat "$out")"
    local -A f=(); local kv; for kv in ${stats#BENCH }; do f[${kv%%=*}]=${kv#*=}; done
    ((f[non2xx] == 0 && f[sockerr] == 0)) \
        || die "$alg ($kind) $label: ${f[non2xx]} non-2xx answers, ${f[sockerr]} socket errors; see $WORK/server.log"
    if [[ $kind == c ]] && ((f[requests] + CONNECTIONS > WINDOW)); then
        die "$alg (c) $label: ${f[requests]} requests but only $WINDOW users; raise BENCH_WINDOW"
    fi
    local wall server_cores wrk_cores other_cores
    read -r wall server_cores wrk_cores other_cores < <(python3 -c '
import sys
t0, t1, tck, busy, srv, wu, ws = map(float, sys.argv[1:])
wall = t1 - t0
server, wrk = srv / tck / wall, (wu + ws) / wall
print(f"{wall:.2f} {server:.2f} {wrk:.2f} {max(0.0, busy / tck / wall - server - wrk):.2f}")
' "$t0" "$t1" "$CLK_TCK" "$((busy1 - busy0))" "$((srv1 - srv0))" $(tail -1 "$times"))
    log "$alg ($kind) $label: ${f[rps]} req/s, p50 ${f[p50_us]} us, p99 ${f[p99_us]} us, peak RssAnon $max_anon KiB, RssFile $max_file KiB, server $server_cores cores, wrk $wrk_cores, other $other_cores"
    ROW=$(printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s' "$alg" "$kind" "$label" "${f[rps]}" \
        "${f[p50_us]}" "${f[p99_us]}" "${f[requests]}" "$max_anon" "$max_file" "$server_cores" "$wrk_cores" "$other_cores")
    OTHER=$((10#${other_cores/./}))
}

# One run of a case: $1 alg, $2 case, $3 run label ("warm" is not recorded), $4 duration.
# Measured runs wait for a quiet moment first and are repeated when they were disturbed.
# The server refuses password checks from one address once 20 have failed, refilling one per
# second (crates/web/src/rate_limit.rs), and a check that wrk abandons when a run ends counts as
# failed: a (c) run can leave the bucket CONNECTIONS tokens short. The next (c) run starts only
# once the bucket is full again, or its logins would be refused (429).
LOGIN_REFILL=21
next_window=0
c_ended=-$LOGIN_REFILL
run_case() {
    local alg=$1 kind=$2 label=$3 svc=${SERVICE[$1]}
    local token_url="$REALM_URL/protocol/docker-v2/auth"
    while :; do
        if [[ $kind == c ]] && ((SECONDS < c_ended + LOGIN_REFILL)); then
            sleep $((c_ended + LOGIN_REFILL - SECONDS))
        fi
        [[ $label == warm ]] || wait_quiet 30
        case $kind in
            d) run_wrk "$@" -s "$BENCH_DIR/static.lua" "$REALM_URL/bench/sign?alg=$alg" ;;
            a) run_wrk "$@" -s "$BENCH_DIR/static.lua" "$token_url?service=$svc&scope=$SCOPE" -- "auth=bench:$PASSWORD" ;;
            p) run_wrk "$@" -s "$BENCH_DIR/static.lua" "$token_url?service=$svc&scope=$SCOPE" -- "auth=bench:$APP_PASSWORD" ;;
            b) run_wrk "$@" -s "$BENCH_DIR/static.lua" "$token_url" -- "body=${BODY[$alg]}" ;;
            c) run_wrk "$@" -s "$BENCH_DIR/rotate.lua" "$token_url?service=$svc&scope=$SCOPE" -- \
                   "first=$next_window" "count=$WINDOW" "password=$PASSWORD"
               next_window=$((next_window + WINDOW))
               c_ended=$SECONDS ;;
        esac
        [[ $label == warm ]] && return
        if ((OTHER > DISTURBED && RETRIES_LEFT > 0)); then
            RETRIES_LEFT=$((RETRIES_LEFT - 1))
            log "other processes used $OTHER% of a core: repeating this run ($RETRIES_LEFT repeats left)"
            continue
        fi
        echo "$ROW" >>"$RESULTS"
        return
    done
}

printf 'alg\tcase\trun\trps\tp50_us\tp99_us\trequests\tanon_kib\tfile_kib\tserver_cores\twrk_cores\tother_cores\n' >"$RESULTS"
# Token cases first, rounds interleaved (d a p b, d a p b, ...) so a drift of the machine hits a
# case and its ceiling alike; first-time logins last, so the memory they take (argon2id works in
# 7 MiB per hash) does not hide what issuing tokens needs.
TOKEN_CASES=$(tr -d c <<<"$CASES")
for alg in "${ALGS[@]}"; do
    [[ -n ${TOKEN_CASES// /} ]] || break
    for kind in $TOKEN_CASES; do run_case "$alg" "$kind" warm "$WARMUP"; done
    for ((run = 1; run <= RUNS; run++)); do
        for kind in $TOKEN_CASES; do run_case "$alg" "$kind" "$run" "$DURATION"; done
    done
done
for alg in "${ALGS[@]}"; do
    [[ $CASES == *c* ]] || break
    run_case "$alg" c warm "$WARMUP"
    for ((run = 1; run <= RUNS; run++)); do run_case "$alg" c "$run" "$DURATION"; done
done
sleep 2
read_mem "$SERVER_PID"; printf 'after_anon_kib=%s\nafter_file_kib=%s\n' "$ANON_KIB" "$FILE_KIB" >>"$ENV_FILE"
echo "window=$WINDOW" >>"$ENV_FILE"
echo "users=$USERS" >>"$ENV_FILE"

# --- report -----------------------------------------------------------------------------------
{
    echo "Machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), $(uname -sr)."
    echo "Versions: $(rustc --version), $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2), $(openssl version | cut -d' ' -f1-2), portcullis ${BENCH_COMMIT:-$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?') (the checkout; BENCH_COMMIT not given)}, binary $BIN."
    echo "Run: $(date -u '+%Y-%m-%d %H:%M UTC'), wrk -t1 -c$CONNECTIONS -d$DURATION --latency, $RUNS runs, warm-up $WARMUP per case."
    echo
    python3 "$BENCH_DIR/bench.py" table "$RESULTS" "$ENV_FILE"
    echo
    echo "Raw runs:"
    echo
    echo '```'
    column -t -s $'\t' "$RESULTS"
    echo '```'
} | tee "${BENCH_OUT:-/dev/null}"
