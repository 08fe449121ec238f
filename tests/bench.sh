#!/usr/bin/env bash
# Every benchmark of docs/performance.md in one run (not a test: it asserts
# nothing and takes ~15 minutes; run as root). Each figure is printed by a
# benchmark that runs Debian's keepalived 2.2.7 beside us in the same run
# (same namespaces, same boot of the IPVS guest), and the machine's noise
# (load average, CPU and memory pressure) is printed before and after each,
# so a figure taken on a busy machine says so.
#
#   sudo ./tests/bench.sh [--quick] [--only NAME...] [--log FILE]
#
# NAME: wire, backup, scale, memory, check-host, check-guest, ipvs.
# --quick: fewer rounds and victims, 1,000 instead of 10,000 services.
# The whole output is also written to FILE (default target/bench.log).
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0
only=()
log=target/bench.log
while [ $# -gt 0 ]; do
    case $1 in
        --quick) quick=1 ;;
        --only)
            shift
            case ${1:-} in
                wire|backup|scale|memory|check-host|check-guest|ipvs) only+=("$1") ;;
                *) echo "--only: unknown benchmark '${1:-}' (wire, backup, scale, memory, check-host, check-guest, ipvs)" >&2; exit 2 ;;
            esac ;;
        --log) shift; log=$1 ;;
        *) echo "usage: $0 [--quick] [--only NAME...] [--log FILE]" >&2; exit 2 ;;
    esac
    shift
done
if [ "$(id -u)" != 0 ]; then
    echo "run as root: the benchmarks build network namespaces" >&2
    exit 1
fi
for c in keepalived ipvsadm tcpdump; do
    command -v "$c" >/dev/null || { echo "$c is needed (tests/run-all.sh installs it)" >&2; exit 1; }
done

wanted() {
    [ ${#only[@]} -eq 0 ] && return 0
    local n
    for n in "${only[@]}"; do [ "$n" = "$1" ] && return 0; done
    return 1
}

# The machine's noise: load average, and the kernel's pressure stall
# figures (the share of the last 10 s some task waited for CPU / memory).
noise() {
    local load cpu mem
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    cpu=$(awk '/^some/ {sub("avg10=", "", $2); print $2 "%"}' /proc/pressure/cpu 2>/dev/null || echo "n/a")
    mem=$(awk '/^some/ {sub("avg10=", "", $2); print $2 "%"}' /proc/pressure/memory 2>/dev/null || echo "n/a")
    echo "  [noise $1: load $load; CPU pressure (10 s) $cpu; memory pressure $mem; $(nproc) CPUs]"
}

run() { # NAME TITLE COMMAND...
    local name=$1 title=$2
    shift 2
    wanted "$name" || return 0
    echo
    echo "=== $name: $title"
    echo "  \$ $*"
    noise before
    local t0=$SECONDS rc=0
    "$@" || rc=$?
    noise after
    echo "  ($name: $((SECONDS - t0)) s, exit status $rc)"
}

mkdir -p "$(dirname "$log")"
exec > >(tee "$log") 2>&1
echo "keepalived-rs benchmarks, $(date -u '+%F %T') UTC, $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(uname -r)"
echo "keepalived: $(keepalived --version 2>&1 | head -1)"
echo "== release build"
cargo build --release --workspace --bins 2>&1 | tail -1

rounds=5; services=10000; checks_guest=1000; victims=7
if [ $quick = 1 ]; then
    rounds=2; services=1000; victims=3
fi
B=target/release
run wire "VRRP failover on the wire: crash and SIGTERM, v2 1 s / v3 0.1 s / v3 0.05 s" \
    $B/vrrp-bench wire "$rounds"
run backup "busy backup: 255 VRRPv3 instances at 0.02 s (CPU, drops, takeover), and the receive-only floor" \
    $B/vrrp-bench backup 0.02
run scale "master of 255 VRRPv3 instances at 0.1 s: CPU and RSS" \
    $B/vrrp-bench scale
run memory "memory: RSS / PSS per process, 1 and 255 instances" \
    $B/vrrp-bench memory
run check-host "10,000 TCP_CHECKs on the host: checkerd's CPU, detection delay" \
    $B/check-bench
run check-guest "$checks_guest TCP_CHECKs at delay_loop 1 in the real-kernel guest, keepalived beside" \
    tests/vm/run-ipvs-vm.sh tests/vm/check-bench.sh $B "$checks_guest" "$victims"
run ipvs "$services services x 2 into a real kernel's IPVS table: start, drift check, stop; keepalived and ipvsadm -R beside" \
    tests/vm/run-ipvs-vm.sh tests/vm/ipvs-bench.sh $B "$services"
echo
echo "== done; the whole output is in $log"
