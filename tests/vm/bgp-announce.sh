#!/bin/bash
# Inside the IPVS VM: two directors running keepalived-rs with bgp_announce
# and BIRD 2, peering with a router running BIRD 2 (merge paths): the VIP is
# on both directors' dummy interface while their real servers pass their
# checks, and the router spreads flows over both by ECMP.
#
#   client --- router (BIRD, ECMP) --- bridge --- d1, d2 (keepalived-rs + BIRD)
#                                           \---- rs1, rs2 (VIP on lo, DR)
#
# What must hold (issue 16), with the figures printed:
#   1. both healthy: two next hops on the router; lifetime refreshes send no
#      BGP update (the router's import counters stay flat);
#   2. d1's checks fail: one next hop within delay_loop + 1 s, BGP sessions
#      stay up (no restart); 200 TCP flows opened before keep exchanging data
#      through d2 on the same real servers (mh + sloppy_tcp);
#   3. d1's checks pass again: announced again after delay_up;
#   4. d2's whole suite SIGKILLed: its address expires, withdrawn within the
#      address lifetime + 2 s;
#   5. d1 stopped (SIGTERM): withdrawn at once (withdraw_on_shutdown).
# The destinations are in the same order on both directors (one Maglev
# table). Between 3 and 4, d1's ipvsd and checkerd are SIGKILLed in turn:
# the parent restarts them and the route never moves (no BGP update).
# Usage (host): tests/vm/run-ipvs-vm.sh tests/vm/bgp-announce.sh [BINDIR [ROUNDS]]
# ROUNDS > 1 repeats steps 2-3 (without the flows) and prints the spread:
# the benchmark of failure -> withdrawal and restore -> announcement.
set -u
BIN=$(cd "${1:-target/debug}" && pwd)
ROUNDS=${2:-1}
w=$(mktemp -d)
chmod 755 "$w"
VIP=192.0.2.10
LIFETIME=6
DELAY_UP=2
fail=0
bad() { echo "FAIL: $*"; fail=1; }
ms() { date +%s%3N; }

modprobe -q dummy; modprobe -q ip_vs; modprobe -q ip_vs_mh

# --- the hosts -------------------------------------------------------------
ip link add br0 type bridge && ip link set br0 up
port() { # ns ifname address
    ip netns add "$1"
    ip link add "$1-p" type veth peer name "$2" netns "$1"
    ip link set "$1-p" master br0 up
    ip -n "$1" link set lo up
    ip -n "$1" link set "$2" up
    ip -n "$1" addr add "$3" dev "$2"
}
port rtr r-f 10.0.1.1/24
port d1 eth0 10.0.1.2/24
port d2 eth0 10.0.1.3/24
port rs1 eth0 10.0.1.11/24
port rs2 eth0 10.0.1.12/24
ip netns add cli
ip link add c-r netns cli type veth peer name r-c netns rtr
ip -n cli link set lo up; ip -n cli link set c-r up; ip -n cli addr add 10.9.0.2/24 dev c-r
ip -n cli route add default via 10.9.0.1
ip -n rtr link set r-c up; ip -n rtr addr add 10.9.0.1/24 dev r-c
for s in net.ipv4.ip_forward=1 net.ipv4.fib_multipath_hash_policy=1 \
    net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0; do
    ip netns exec rtr sysctl -qw "$s"
done
for d in d1 d2; do
    ip -n $d route add default via 10.0.1.1
    ip netns exec $d sysctl -qw net.ipv4.vs.sloppy_tcp=1
done
for r in rs1 rs2; do
    ip -n $r addr add $VIP/32 dev lo
    ip -n $r route add default via 10.0.1.1
    for s in net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 \
        net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.eth0.rp_filter=0; do
        ip netns exec $r sysctl -qw "$s"
    done
done

# --- real servers: each line echoed back after the server's name ----------
cat >"$w/server.py" <<'PY'
import socket, sys, threading
name, port = sys.argv[1], int(sys.argv[2])
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", port))
s.listen(1024)
def serve(c):
    with c:
        for line in c.makefile("rb"):
            c.sendall(name.encode() + b" " + line)
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
for r in rs1 rs2; do
    ip netns exec $r python3 "$w/server.py" $r 80 >/dev/null 2>&1 &
    # The directors' health ports: d1 checks 8101, d2 8102.
    ip netns exec $r python3 "$w/server.py" $r 8101 >/dev/null 2>&1 &
    echo $! >"$w/$r.8101"
    ip netns exec $r python3 "$w/server.py" $r 8102 >/dev/null 2>&1 &
done

# --- BIRD ------------------------------------------------------------------
cat >"$w/rtr.bird" <<BIRD
router id 10.0.1.1;
protocol device { scan time 1; }
protocol kernel { ipv4 { import none; export all; }; merge paths yes; }
template bgp dir {
    local 10.0.1.1 as 65000;
    hold time 3; keepalive time 1; connect retry time 1;
    ipv4 { import where net ~ [ 192.0.2.0/24{32,32} ]; export none; };
}
protocol bgp d1 from dir { neighbor 10.0.1.2 as 65001; }
protocol bgp d2 from dir { neighbor 10.0.1.3 as 65001; }
BIRD
for d in d1 d2; do
    a=10.0.1.$([ $d = d1 ] && echo 2 || echo 3)
    cat >"$w/$d.bird" <<BIRD
router id $a;
protocol device { scan time 1; }
protocol direct vips { ipv4; interface "kalrs0"; }
protocol bgp up {
    local $a as 65001; neighbor 10.0.1.1 as 65000;
    hold time 3; keepalive time 1; connect retry time 1;
    ipv4 { import none; export where ifname = "kalrs0"; };
}
BIRD
done
for n in rtr d1 d2; do
    ip netns exec $n bird -c "$w/$n.bird" -s "$w/$n.ctl" -P "$w/$n.bird.pid" || bad "bird in $n did not start"
done
birdc() { command birdc -s "$w/$1.ctl" "${@:2}"; }

# --- keepalived-rs on each director ---------------------------------------
for d in d1 d2; do
    p=$([ $d = d1 ] && echo 8101 || echo 8102)
    chk="TCP_CHECK {
            connect_port $p
            connect_timeout 1
            retry 0
        }"
    cat >"$w/$d.conf" <<CONF
global_defs {
    router_id $d
}
bgp_announce {
    interface kalrs0
    address_lifetime $LIFETIME
    health_timeout 3
}
virtual_server $VIP 80 {
    delay_loop 1
    lb_algo mh
    mh-port
    mh-fallback
    lb_kind DR
    protocol TCP
    inhibit_on_failure
    announce {
        delay_up $DELAY_UP
    }
    real_server 10.0.1.11 80 {
        $chk
    }
    real_server 10.0.1.12 80 {
        $chk
    }
}
CONF
    mkdir -p "$w/$d.run"
    ip netns exec $d "$BIN/keepalived-rs" -C -n -l -G -f "$w/$d.conf" -p "$w/$d.run/p" \
        -r "$w/$d.run/r" -c "$w/$d.run/c" --ipvs_pid "$w/$d.run/i" --control-dir "$w/$d.run/ctl" \
        >"$w/$d.log" 2>&1 &
    disown $!
done

# The router's next hops for the VIP, sorted ("10.0.1.2 10.0.1.3").
hops() { ip -n rtr -4 route show $VIP/32 | grep -o 'via 10\.0\.1\.[0-9]*' | cut -d' ' -f2 | sort -u | xargs; }
# Wait (at most $2 s) until the next hops are $1; prints the ms it took.
wait_hops() { # expected timeout_s
    local t0 now
    t0=$(ms)
    while :; do
        [ "$(hops)" = "$1" ] && { echo $(($(ms) - t0)); return 0; }
        now=$(ms)
        [ $((now - t0)) -gt $(($2 * 1000)) ] && { echo $((now - t0)); return 1; }
        sleep 0.05
    done
}
# When the router's session with $1 came up, in ms of the day (BIRD prints
# it rounded: two readings may differ by a millisecond).
since() { birdc rtr show protocols | awk -v p="$1" '$1 == p && $6 == "Established" { split($5, t, ":"); print int((t[1] * 3600 + t[2] * 60 + t[3]) * 1000) }'; }
same_since() { [ -n "$1" ] && [ -n "$2" ] && [ $(($1 - $2)) -le 5 ] && [ $(($2 - $1)) -le 5 ]; }
updates() { birdc rtr show protocols all "$1" | awk '/Import updates:/ { print $3 }'; }

if t=$(wait_hops "10.0.1.2 10.0.1.3" 90); then
    echo "start: both directors announced (${t} ms after the suites were started and BIRD came up)"
else
    bad "start: next hops '$(hops)', not both directors"
    ip -n rtr route; birdc rtr show protocols; ip -n d1 addr show dev kalrs0
    tail -30 "$w/d1.log"
fi
ip -o -n d1 addr show dev kalrs0 | grep -q "inet $VIP/32 .*valid_lft [1-$LIFETIME]sec" ||
    bad "d1: $VIP/32 without its lifetime on kalrs0: $(ip -n d1 addr show dev kalrs0)"

# The same destinations in the same order on both directors (Maglev).
o1=$(ip netns exec d1 ipvsadm -Ln | tail -n +4); o2=$(ip netns exec d2 ipvsadm -Ln | tail -n +4)
[ "$o1" = "$o2" ] && echo "IPVS: the same table, in the same order, on both directors" ||
    bad "IPVS tables differ: d1 '$o1' d2 '$o2'"
echo "$o1" | grep -q "mh" || bad "d1: no mh service: $o1"

# 1. Lifetime refreshes: no BGP update over two lifetimes.
u1=$(updates d1); u2=$(updates d2); s1=$(since d1); s2=$(since d2)
sleep $((2 * LIFETIME))
[ "$(updates d1) $(updates d2)" = "$u1 $u2" ] &&
    echo "refresh: no BGP update in $((2 * LIFETIME)) s ($((2 * LIFETIME * 3 / LIFETIME)) lifetime refreshes per director; import updates $u1 / $u2)" ||
    bad "refreshes made BGP updates: $u1 $u2 -> $(updates d1) $(updates d2)"
[ "$(hops)" = "10.0.1.2 10.0.1.3" ] || bad "a refresh lost a next hop: $(hops)"

# 2. 200 flows, then d1's real servers fail d1's checks.
cat >"$w/client.py" <<'PY'
import socket, sys, collections
n, vip = int(sys.argv[1]), sys.argv[2]
conns = []
for i in range(n):
    s = socket.create_connection((vip, 80), timeout=10)
    f = s.makefile("rb")
    s.sendall(b"one\n")
    conns.append((s, f, f.readline().split()[0]))
print("opened", dict(collections.Counter(c[2].decode() for c in conns)), flush=True)
sys.stdin.readline()
same = moved = broken = 0
for s, f, first in conns:
    try:
        s.sendall(b"two\n")
        r = f.readline().split()
        if r and r[0] == first:
            same += 1
        elif r:
            moved += 1
        else:
            broken += 1
    except OSError:
        broken += 1
print("after", same, moved, broken, flush=True)
PY
mkfifo "$w/go"
ip netns exec cli python3 "$w/client.py" 200 $VIP <"$w/go" >"$w/client.out" 2>&1 &
client=$!
exec 7>"$w/go"
for _ in $(seq 1 600); do grep -q opened "$w/client.out" && break; sleep 0.1; done
cat "$w/client.out"
via1=$(ip netns exec d1 ipvsadm -Lnc | grep -c ESTABLISHED)
via2=$(ip netns exec d2 ipvsadm -Lnc | grep -c ESTABLISHED)
echo "flows: $via1 through d1, $via2 through d2"
[ "$via1" -gt 0 ] && [ "$via2" -gt 0 ] || bad "ECMP did not spread the flows over both directors"

# d1's health ports close: d1 withdrawn (figure in $down).
fail_checks() {
    local t0
    t0=$(ms)
    for r in rs1 rs2; do kill "$(cat "$w/$r.8101")"; done
    if wait_hops "10.0.1.3" 10 >/dev/null; then
        down=$(($(ms) - t0))
        echo "figure: health failure -> withdrawal: $down ms (delay_loop 1 s, connect refused)"
        [ "$down" -le 2000 ] || bad "withdrawn in $down ms: more than delay_loop + 1 s"
    else
        bad "d1 not withdrawn: next hops '$(hops)'"
        tail -20 "$w/d1.log"
    fi
}
# d1's health ports open again: announced after delay_up, counted from when
# both accept, as d1 sees them (figure in $up).
restore_checks() {
    local a t0 tstart tend
    # Quorum cannot come back before the listeners exist: the lower bound
    # counts from here; the figure and the upper bound from when d1 can
    # connect to both (the checks may pass in between).
    tstart=$(ms)
    for r in rs1 rs2; do
        ip netns exec $r python3 "$w/server.py" $r 8101 >/dev/null 2>&1 &
        echo $! >"$w/$r.8101"
    done
    for a in 10.0.1.11 10.0.1.12; do
        for _ in $(seq 1 100); do
            ip netns exec d1 bash -c "exec 3<>/dev/tcp/$a/8101" 2>/dev/null && break
            sleep 0.05
        done
    done
    t0=$(ms)
    if wait_hops "10.0.1.2 10.0.1.3" 15 >/dev/null; then
        tend=$(ms)
        up=$((tend - t0))
        echo "figure: restore -> announcement: $up ms (delay_up $DELAY_UP s, delay_loop 1 s)"
        [ $((tend - tstart)) -ge $((DELAY_UP * 1000)) ] ||
            bad "announced $((tend - tstart)) ms after the health ports were started: before delay_up"
        [ "$up" -le $((DELAY_UP * 1000 + 2000)) ] || bad "announced after $up ms: later than delay_up + delay_loop + 1 s"
    else
        bad "d1 not announced again: next hops '$(hops)'"
    fi
}
fail_checks
same_since "$(since d1)" "$s1" && same_since "$(since d2)" "$s2" && echo "BGP sessions stayed up ($(birdc rtr show protocols | awk '$1 ~ /^d[12]$/ { print $1, $6 }' | xargs))" ||
    bad "a BGP session restarted: '$s1' '$s2' -> '$(since d1)' '$(since d2)'"
echo go >&7
wait $client
cat "$w/client.out"
set -- $(grep after "$w/client.out")
same=${2:-} moved=${3:-} broken=${4:-}
[ "${same:-0}" = 200 ] && echo "flows: all 200 kept their real server through d2 (sloppy_tcp, mh)" ||
    bad "flows after the withdrawal: same ${same:-?} moved ${moved:-?} broken ${broken:-?}"

# 3. d1's checks pass again: announced after delay_up.
restore_checks
downs=("$down") ups=("$up")
for _ in $(seq 2 "$ROUNDS"); do
    sleep 1
    fail_checks >/dev/null; downs+=("$down")
    restore_checks >/dev/null; ups+=("$up")
done
if [ "$ROUNDS" -gt 1 ]; then
    spread() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { printf "min %d median %d max %d ms", v[1], v[int((NR + 1) / 2)], v[NR] }'; }
    echo "benchmark ($ROUNDS rounds): health failure -> withdrawal: $(spread "${downs[@]}")"
    echo "benchmark ($ROUNDS rounds): restore -> announcement: $(spread "${ups[@]}") (delay_up $DELAY_UP s)"
fi

# 3b. d1's ipvsd, then its checkerd, SIGKILLed: restarted by the parent,
#     the address stays (adopted by the new ipvsd; checkerd back within
#     health_timeout): the route never moves, no BGP update.
steady() { # seconds: the next hops stay both directors' throughout
    local t0
    t0=$(ms)
    while [ $(($(ms) - t0)) -lt $(($1 * 1000)) ]; do
        [ "$(hops)" = "10.0.1.2 10.0.1.3" ] || return 1
        sleep 0.05
    done
}
for child in i c; do
    name=$([ $child = i ] && echo ipvsd || echo checkerd)
    u=$(birdc rtr show protocols all d1 | awk '/Import (updates|withdraws):/ { print $3 }' | xargs)
    old=$(cat "$w/d1.run/$child")
    kill -KILL "$old"
    if steady 5; then
        new=$(cat "$w/d1.run/$child" 2>/dev/null)
        [ -n "$new" ] && [ "$new" != "$old" ] && kill -0 "$new" 2>/dev/null ||
            bad "d1's $name was not restarted (pid $old -> '${new:-}')"
        [ "$(birdc rtr show protocols all d1 | awk '/Import (updates|withdraws):/ { print $3 }' | xargs)" = "$u" ] &&
            echo "crash: d1's $name SIGKILLed and restarted (pid $old -> $new); route and BGP untouched" ||
            bad "d1's $name crash made BGP updates: $u -> $(birdc rtr show protocols all d1 | awk '/Import (updates|withdraws):/ { print $3 }' | xargs)"
    else
        bad "d1's $name crash moved the route: next hops '$(hops)'"
        tail -20 "$w/d1.log"
    fi
done

# 4. d2's whole suite killed at once (stopped first, so no process of it
#    sees another die and cleans up): the kernel deletes its address.
suite=$(ip netns pids d2 | grep -vx "$(cat "$w/d2.bird.pid")" | xargs)
t0=$(ms)
kill -STOP $suite
kill -KILL $suite
if t=$(wait_hops "10.0.1.2" $((LIFETIME + 4))); then
    t=$(($(ms) - t0))
    echo "figure: SIGKILL of the suite -> withdrawal: $t ms (address_lifetime $LIFETIME s)"
    [ "$t" -le $(((LIFETIME + 2) * 1000)) ] || bad "withdrawn $t ms after SIGKILL: more than the lifetime + 2 s"
else
    bad "d2 not withdrawn after SIGKILL: next hops '$(hops)'"
fi

# 5. d1 stopped: withdrawn at once.
t0=$(ms)
kill -TERM "$(cat "$w/d1.run/p")"
if t=$(wait_hops "" 10); then
    echo "figure: SIGTERM -> withdrawal: $(($(ms) - t0)) ms"
else
    bad "d1 not withdrawn at stop: next hops '$(hops)'"
fi
[ -z "$(ip -n d1 addr show dev kalrs0 | grep 'inet ')" ] || bad "d1 left an address on kalrs0"

if [ $fail != 0 ]; then
    echo "--- d1 log"; tail -40 "$w/d1.log"
    echo "--- d2 log"; tail -20 "$w/d2.log"
fi
for n in rtr d1 d2; do kill "$(cat "$w/$n.bird.pid")" 2>/dev/null; done
[ $fail = 0 ] && echo "bgp announce: OK"
exit $fail
