#!/bin/bash
# Soak (outside CI: minutes, not seconds): N reloads (10,000 by default) of
# a suite whose configuration churns — real servers of a virtual server
# and VIPs of a VRRP instance come and go in a cycle of four files — each
# reload waited for through the control socket (`keepalivedctl reload`
# returns once every child applied it). Every EVERY reloads it prints the
# RSS and descriptor count of the parent and each child: flat lines are
# the pass. It fails if a reload fails, a process is restarted, or a
# figure at the end is more than 2 MiB / 4 descriptors over its first
# reading after warm-up.
#
#   sudo tests/soak/reloads.sh [BINDIR] [N] [EVERY]
set -u
BIN=${1:-target/debug}
N=${2:-10000}
EVERY=${3:-500}
[ "$(id -u)" = 0 ] || { echo "run as root (network namespaces)" >&2; exit 1; }
w=$(mktemp -d)
chmod 755 "$w"
ns=kars-soak-$$
cleanup() {
    [ -f "$w/p" ] && kill -TERM "$(cat "$w/p")" 2>/dev/null
    sleep 1
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
    ip netns del "$ns" 2>/dev/null
    ip netns del "$ns-peer" 2>/dev/null
    rm -rf "$w"
}
trap cleanup EXIT
ip netns add "$ns"
ip netns add "$ns-peer"
ip -n "$ns" link set lo up
ip -n "$ns" link add eth0 type veth peer name eth0 netns "$ns-peer"
ip -n "$ns" addr add 10.77.0.2/24 dev eth0
ip -n "$ns" link set eth0 up
ip -n "$ns-peer" link set eth0 up
# Real servers: TCP listeners on the node itself (lo), ports 8000..8039.
# (A subshell each: not this shell's jobs, so their end at cleanup is quiet.)
for p in $(seq 8000 8039); do
    (ip netns exec "$ns" python3 -c "
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', $p)); s.listen(64)
while True: s.accept()[0].close()" >/dev/null 2>&1 &)
done

variant() { # k: real servers from a window of 20 of the 40 ports; 2 VIPs of 4
    local k=$1
    cat <<CONF
global_defs {
    router_id SOAK
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 77
    priority 150
    advert_int 1
    virtual_ipaddress {
        10.77.0.$((100 + k))/24
        10.77.0.$((101 + k))/24
    }
}
virtual_server 127.0.0.1 80 {
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
CONF
    for p in $(seq $((8000 + k * 5)) $((8019 + k * 5))); do
        printf '    real_server 127.0.0.1 %d {\n        TCP_CHECK {\n            connect_timeout 1\n        }\n    }\n' "$p"
    done
    echo "}"
}
variant 0 >"$w/k.conf"
ip netns exec "$ns" "$BIN/keepalived-rs" -n -l -f "$w/k.conf" -p "$w/p" -r "$w/r" -c "$w/c" \
    --ipvs_pid "$w/i" --control-dir "$w/ctl" >"$w/log" 2>&1 &
ctl() { ip netns exec "$ns" "$BIN/keepalivedctl" --control-dir "$w/ctl" "$@"; }
for _ in $(seq 1 100); do ctl status >/dev/null 2>&1 && break; sleep 0.1; done

pids() { # name pid, parent first
    echo "parent $(cat "$w/p")"
    echo "vrrpd $(cat "$w/r")"
    echo "checkerd $(cat "$w/c")"
    echo "ipvsd $(cat "$w/i")"
}
figures() { # one line: name rss_kib fds ...
    pids | while read -r name pid; do
        rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
        fds=$(ls "/proc/$pid/fd" 2>/dev/null | wc -l)
        printf '%s %s %s ' "$name" "${rss:-gone}" "$fds"
    done
    echo
}
first_pids=$(pids)
printf '%8s  %s\n' reloads "name RSS_KiB fds ..."
start=$SECONDS
base=""
for i in $(seq 1 "$N"); do
    variant $((i % 4)) >"$w/k.conf.new"
    mv "$w/k.conf.new" "$w/k.conf"
    out=$(ctl reload 2>&1) || { echo "reload $i failed: $out"; tail -20 "$w/log"; exit 1; }
    if [ $((i % EVERY)) = 0 ] || [ "$i" = 100 ]; then
        f=$(figures)
        printf '%8d  %s\n' "$i" "$f"
        [ "$i" = 100 ] && base=$f
    fi
done
elapsed=$((SECONDS - start))
[ "$(pids)" = "$first_pids" ] || { echo "FAIL: a process was restarted"; pids; exit 1; }
last=$(figures)
echo "$N reloads in ${elapsed} s"
fail=0
set -- $base
b=("$@")
set -- $last
l=("$@")
for j in 0 3 6 9; do
    name=${b[$j]}
    drss=$((l[j + 1] - b[j + 1]))
    dfd=$((l[j + 2] - b[j + 2]))
    echo "$name: RSS ${b[$j + 1]} -> ${l[$j + 1]} KiB (${drss}), fds ${b[$j + 2]} -> ${l[$j + 2]} (${dfd})"
    [ "$drss" -gt 2048 ] && { echo "FAIL: $name grew ${drss} KiB"; fail=1; }
    [ "$dfd" -gt 4 ] && { echo "FAIL: $name holds ${dfd} more descriptors"; fail=1; }
done
grep -c "Misbehav\|restarting" "$w/log" | sed 's/^/restart or misbehaviour lines: /'
[ $fail = 0 ] && echo "soak: OK"
exit $fail
