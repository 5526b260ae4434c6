# Shell helpers shared by bench/run.sh and bench/oidc/run.sh (sourced, not run).

log() { printf '%s %s\n' "$(date +%T)" "$*" >&2; }
die() { log "error: $*"; exit 1; }
# The value of `$1=<number>` in the text $2 (a `key=value ...` line).
field() { sed -n "s/.*\<$1=\([0-9.?]*\).*/\1/p" <<<"$2"; }
# Sets ANON_KIB and FILE_KIB to the RssAnon and RssFile of pid $1 in KiB (0 if unreadable); it runs
# every 100 ms under load. Anonymous memory (heap, stacks, argon2's buffers) is what the process
# costs the machine; RssFile is its mapped executable and libraries, pages the kernel can drop
# and read again, so it is reported apart and never added in.
# awk reads /proc/<pid>/status forward from one open; the kernel formats the file once per open
# and serves the later read()s from that copy, so both figures come from one snapshot. bash's
# `read` instead seeks back to the end of each line, every seek formats the file anew, and a
# process whose memory changes in between gives a torn line ("mRSS:"), no match, status 1 and,
# under set -e, a silent exit mid-benchmark.
read_mem() {
    local both
    both=$(awk '$1 == "RssAnon:" { a = $2 } $1 == "RssFile:" { f = $2 }
                END { print (a == "" ? 0 : a), (f == "" ? 0 : f) }' "/proc/$1/status" 2>/dev/null) || true
    read -r ANON_KIB FILE_KIB <<<"${both:-0 0}" || true
    ANON_KIB=${ANON_KIB:-0} FILE_KIB=${FILE_KIB:-0}
}
# Jiffies every CPU has been busy: user nice system irq softirq steal.
busy_jiffies() {
    local _cpu user nice system _idle _iowait irq softirq steal _rest
    read -r _cpu user nice system _idle _iowait irq softirq steal _rest </proc/stat
    echo $((user + nice + system + irq + softirq + steal))
}
# Jiffies of CPU (user + system) pid $1 has used.
proc_jiffies() { local f; read -ra f <"/proc/$1/stat"; echo $((f[13] + f[14])); }
