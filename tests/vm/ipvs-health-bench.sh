#!/bin/bash
# Inside the IPVS VM (a benchmark, not a test): N services x 2 real
# servers whose TCP checks all fail at once (nothing listens on their
# port), so ipvsd gets 2N down reports in a burst. Prints how long from
# start until the table has lost every destination, how many passes ipvsd
# made and how long its passes held its loop in all.
# Usage (host): tests/vm/run-ipvs-vm.sh tests/vm/ipvs-health-bench.sh [BINDIR] [N]
set -u
BIN=${1:-target/release}
N=${2:-2000}
w=$(mktemp -d)
chmod 755 "$w"
if ! ip link show kb0 >/dev/null 2>&1; then
    ip link add kb0 type dummy 2>/dev/null || ip link add kb0 type veth peer name kb1
    ip link set kb0 up
    ip addr add 10.2.0.1/16 dev kb0
fi
{
    echo "global_defs {"; echo "    router_id BENCH"; echo "}"
    for i in $(seq 0 $((N - 1))); do
        a=$((i / 250)); b=$((i % 250 + 1))
        echo "virtual_server 10.1.$a.$b 80 {"
        echo "    lb_algo rr"; echo "    lb_kind NAT"; echo "    protocol TCP"; echo "    delay_loop 2"
        for r in 1 2; do
            echo "    real_server 10.2.0.1 $((1000 + i * 2 + r)) {"
            echo "        TCP_CHECK {"; echo "            connect_timeout 1"; echo "            retry 0"; echo "        }"
            echo "    }"
        done
        echo "}"
    done
} >"$w/k.conf"
ms() { echo $(( ($2 - $1) / 1000000 )); }
ipvsadm -C
t0=$(date +%s%N)
"$BIN/keepalived-rs" -n -l -D -f "$w/k.conf" -p "$w/p" -r "$w/r" -c "$w/c" --ipvs_pid "$w/i" >"$w/log" 2>&1 &
# Every service programmed, then every destination gone (the checks may
# fail before the last services are in: destinations are not waited for).
wait_for() { # what test...
    local what=$1 end=$((SECONDS + 300))
    shift
    until "$@"; do
        [ $SECONDS -lt $end ] || { echo "  ($what: not within 300 s)"; return 1; }
        sleep 0.2
    done
}
services() { [ "$(ipvsadm -Ln | grep -c '^TCP')" -ge "$N" ]; }
no_dests() { [ "$(ipvsadm -Ln | grep -c Masq)" -eq 0 ]; }
wait_for "all services" services
t1=$(date +%s%N)
wait_for "all destinations gone" no_dests
t2=$(date +%s%N)
echo "$BIN: $N services in $(ms $t0 $t1) ms; all $((N * 2)) destinations down $(ms $t0 $t2) ms after start"
grep -o "reconcile pass: .* in [0-9.]*[mµn]*s" "$w/log" | awk '
    { t = $NF; v = t + 0; if (t ~ /ms$/) v /= 1000; else if (t ~ /µs$/) v /= 1e6; else if (t ~ /ns$/) v /= 1e9;
      n++; s += v; if (v > m) m = v }
    END { printf "  %d passes, %.2f s in all, longest %.3f s\n", n, s, m }'
pkill -TERM -x keepalived-rs
while pgrep -x keepalived-rs >/dev/null; do sleep 0.2; done
ipvsadm -C
