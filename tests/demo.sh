#!/usr/bin/env bash
# The main job: build keepalived-rs and run it on two nodes in network
# namespaces it creates (and removes, even on failure), with the example
# configuration. Shows the privilege-separated suite at work: a VRRP
# election, who runs with which privileges, vrrpd killed on the master and
# resumed without a failover, a crash of the master and the failover, a
# reload, a dump, and an ordered stop.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "run as root (network namespaces)" >&2; exit 1; }

P=kars-demo-$$
WORK=$(mktemp -d /tmp/kars-demo.XXXXXX)
chmod 755 "$WORK"
cleanup() {
    for n in a b; do
        [ -f "$WORK/$n.pid" ] && kill -TERM "$(cat "$WORK/$n.pid")" 2>/dev/null || true
    done
    sleep 0.5
    for ns in "$P-a" "$P-b" "$P-sw"; do
        ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
        ip netns del "$ns" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

wait_count() { # file pattern n: wait until pattern has matched n lines
    for _ in $(seq 1 200); do [ "$(grep -c "$2" "$1" 2>/dev/null)" -ge "$3" ] && return 0; sleep 0.05; done
    echo "timed out waiting for '$2' x$3 in $1" >&2; cat "$1" >&2; return 1
}
wait_log() { # file pattern
    for _ in $(seq 1 200); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
    echo "timed out waiting for '$2' in $1" >&2; cat "$1" >&2; return 1
}

echo "== building the suite"
cargo build --workspace --bins --quiet
BIN=$PWD/target/debug

echo "== two nodes on one segment: $P-a (10.99.0.11) and $P-b (10.99.0.12)"
ip netns add "$P-sw"; ip -n "$P-sw" link add br0 type bridge; ip -n "$P-sw" link set br0 up
i=11
for n in a b; do
    ip netns add "$P-$n"
    ip -n "$P-$n" link set lo up
    ip link add "kd$$$n" netns "$P-$n" type veth peer name "p$n" netns "$P-sw"
    ip -n "$P-$n" link set "kd$$$n" name eth0
    ip -n "$P-$n" addr add "10.99.0.$i/24" dev eth0
    ip -n "$P-$n" link set eth0 up
    ip -n "$P-sw" link set "p$n" master br0 up
    i=$((i + 1))
done

# Node a has the higher priority.
sed 's/priority 100/priority 150/; s/DEMO_NODE/DEMO_A/' docs/examples/demo-node.conf >"$WORK/a.conf"
sed 's/DEMO_NODE/DEMO_B/' docs/examples/demo-node.conf >"$WORK/b.conf"
run_node() { # a|b
    ip netns exec "$P-$1" "$BIN/keepalived-rs" -n -l -G -f "$WORK/$1.conf" \
        -p "$WORK/$1.pid" -r "$WORK/$1-vrrp.pid" -c "$WORK/$1-checker.pid" --ipvs_pid "$WORK/$1-ipvs.pid" \
        --control-dir "$WORK/$1-ctl" >>"$WORK/$1.log" 2>&1 &
    disown
}
vip_holder() {
    for n in a b; do ip -n "$P-$n" -4 addr show eth0 | grep -q 10.99.0.100 && echo "node $n"; done
}
run_node a
run_node b
for n in a b; do wait_log "$WORK/$n.log" "All children configured; starting"; done
echo "== both suites are up; node a's log:"
sed 's/^/   /' "$WORK/a.log"

echo "== VRRP election (VRRPv2, PASS authentication, advert_int 1)"
wait_log "$WORK/a.log" "(VI_1) Entering MASTER STATE"
wait_log "$WORK/b.log" "(VI_1) Entering BACKUP STATE"
grep -h "(VI_1)" "$WORK/a.log" "$WORK/b.log" | sed 's/^/   /'
echo "   VIP 10.99.0.100 is on: $(vip_holder)"

echo "== privileges on node a (from /proc/<pid>/status)"
printf '   %-14s %-7s %-18s %-18s %-10s %s\n' process uid CapEff CapBnd NoNewPrivs Seccomp
show() { # name pid
    s=/proc/$2/status
    printf '   %-14s %-7s %-18s %-18s %-10s %s\n' "$1" "$(awk '/^Uid/{print $2}' $s)" \
        "$(awk '/^CapEff/{print $2}' $s)" "$(awk '/^CapBnd/{print $2}' $s)" \
        "$(awk '/^NoNewPrivs/{print $2}' $s)" "$(awk '/^Seccomp:/{print $2}' $s)"
}
show keepalived-rs "$(cat "$WORK/a.pid")"
show vrrpd "$(cat "$WORK/a-vrrp.pid")"
show checkerd "$(cat "$WORK/a-checker.pid")"
show ipvsd "$(cat "$WORK/a-ipvs.pid")"

echo "== SIGKILL vrrpd on the master: the parent restarts it and replays its state"
old=$(cat "$WORK/a-vrrp.pid")
kill -9 "$old"
wait_log "$WORK/a.log" "(VI_1) resuming in MASTER state"
grep -E "Keepalived_vrrp \(pid $old\)|vrrpd \(pid|resuming" "$WORK/a.log" | tail -3 | sed 's/^/   /'
echo "   vrrpd pid $old -> $(cat "$WORK/a-vrrp.pid"); checkerd and ipvsd untouched"
echo "   VIP still on: $(vip_holder); node b never left BACKUP: $(grep -c 'Entering MASTER' "$WORK/b.log") takeovers"

echo "== the master crashes (every process SIGKILLed): node b takes over"
kill -STOP "$(cat "$WORK/a.pid")"
kill -9 "$(cat "$WORK/a-vrrp.pid")" "$(cat "$WORK/a-checker.pid")" "$(cat "$WORK/a-ipvs.pid")"
kill -9 "$(cat "$WORK/a.pid")"
wait_log "$WORK/b.log" "(VI_1) Entering MASTER STATE"
grep "(VI_1) Entering MASTER" "$WORK/b.log" | sed 's/^/   /'
ip -n "$P-a" addr del 10.99.0.100/24 dev eth0   # what the crashed host left behind
echo "   VIP now on: $(vip_holder)"

echo "== node a comes back and preempts"
rm -f "$WORK"/a*.pid
run_node a
wait_count "$WORK/a.log" "(VI_1) Entering MASTER STATE" 2
wait_count "$WORK/b.log" "(VI_1) Entering BACKUP STATE" 2
echo "   VIP back on: $(vip_holder)"

echo "== keepalivedctl status on node a (its control socket)"
"$BIN/keepalivedctl" --control-dir "$WORK/a-ctl" status | sed 's/^/   /'

echo "== keepalivedctl reload on node a: validated first, answered at the barrier"
"$BIN/keepalivedctl" --control-dir "$WORK/a-ctl" reload | sed 's/^/   /'
for c in vrrpd checkerd ipvsd; do wait_log "$WORK/a.log" "$c applied configuration 2"; done
grep "applied configuration 2" "$WORK/a.log" | sed 's/^/   /'

echo "== SIGUSR1 on node a: /tmp/keepalived.data"
kill -USR1 "$(cat "$WORK/a.pid")"
wait_log "$WORK/a.log" "Wrote /tmp/keepalived.data"
sed 's/^/   /' /tmp/keepalived.data

echo "== SIGTERM: children stop in order (vrrpd, checkerd, ipvsd)"
for n in a b; do kill -TERM "$(cat "$WORK/$n.pid")"; done
for n in a b; do wait_log "$WORK/$n.log" "Stopped keepalived-rs"; done
grep -E "exited with status|Stopped keepalived-rs" "$WORK/a.log" | sed 's/^/   /'
echo "== done; namespaces removed"
