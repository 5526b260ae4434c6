# Shell helpers shared by bench/run.sh and bench/oidc/run.sh (sourced, not run).

log() { printf '%s %s\n' "$(date +%T)" "$*" >&2; }
die() { log "error: $*"; exit 1; }
# The value of `$1=<number>` in the text $2 (a `key=value ...` line).
field() { sed -n "s/.*\<$1=\([0-9.?]*\).*/\1/p" <<<"$2"; }
# Sets RSS to the VmRSS of pid $1 in KiB (0 if unreadable); it runs every 100 ms under load.
# awk reads /proc/<pid>/status in one read(): bash's `read` takes it in pieces, and a process
# whose memory changes between two pieces gives a torn line ("mRSS:"), no match, status 1 and,
# under set -e, a silent exit mid-benchmark.
read_rss() { RSS=$(awk '$1 == "VmRSS:" { print $2; exit }' "/proc/$1/status" 2>/dev/null) || true; RSS=${RSS:-0}; }
# Jiffies every CPU has been busy: user nice system irq softirq steal.
busy_jiffies() {
    local _cpu user nice system _idle _iowait irq softirq steal _rest
    read -r _cpu user nice system _idle _iowait irq softirq steal _rest </proc/stat
    echo $((user + nice + system + irq + softirq + steal))
}
# Jiffies of CPU (user + system) pid $1 has used.
proc_jiffies() { local f; read -ra f <"/proc/$1/stat"; echo $((f[13] + f[14])); }
