#!/bin/bash
# Inside the test VM (its own clock to step, and sch_netem): faults on a
# VRRP pair of keepalived-rs suites on a veth pair, A (priority 150, MASTER)
# in namespace a and B (priority 100, BACKUP) in namespace b, advert_int 1.
#
# 1. Clock steps (`date -s`): timers are monotonic.
#    - steady state, the clock stepped 1 h forward, then 2 h back: no
#      transition on either side (a wall-clock master-down timer fires at
#      once on the forward step; a wall-clock advert timer stalls for two
#      hours on the backward one);
#    - during a failover (A's adverts cut by netem loss 100 %, the clock
#      stepped at the same moment, forward then back): B takes over after
#      Master_Down_Interval (3 x 1 + (256 - 100) / 256 = 3.61 s after A's
#      last advert, so 2.6..3.6 s after the cut), measured on CLOCK_BOOTTIME
#      (/proc/uptime), not at once and not an hour later. keepalived 2.2.7
#      as B under the same steps: its figures printed beside ours.
# 2. netem on the segment: delay 100 ms +- 50 ms, 25 % reordered, 20 %
#    duplicated on A's adverts for 20 s: no transition; then 100 % loss: B
#    takes over; loss cleared: A preempts, B back to BACKUP.
# Neither parent reports a missed heartbeat across the steps.
# Usage (host): tests/vm/run-ipvs-vm.sh tests/vm/faults.sh [BINDIR]
set -u
BIN=${1:-target/debug}
# It steps the clock: never on a real host (run-ipvs-vm.sh runs commands
# directly on a host with IPVS unless KARS_VM_FORCE=1).
[ "$(hostname)" = kars-ipvs-vm ] || { echo "faults.sh steps the clock: run it in the test VM (KARS_VM_FORCE=1)" >&2; exit 125; }
w=$(mktemp -d)
chmod 755 "$w"
modprobe sch_netem 2>/dev/null || true
ip netns add a
ip netns add b
ip link add vA netns a type veth peer name vB netns b
ip -n a addr add 10.0.60.2/24 dev vA
ip -n b addr add 10.0.60.3/24 dev vB
for n in a b; do
    ip -n $n link set lo up
done
ip -n a link set vA up
ip -n b link set vB up

conf() { # name iface priority
    cat <<CONF
global_defs {
    router_id $1
}
vrrp_instance VI_1 {
    interface $2
    virtual_router_id 60
    priority $3
    advert_int 1
    virtual_ipaddress {
        10.0.60.1/24
    }
}
CONF
}
conf A vA 150 >"$w/a.conf"
conf B vB 100 >"$w/b.conf"

failed=0
bad() { echo "FAIL: $*"; failed=1; }
now() { cut -d' ' -f1 /proc/uptime; } # CLOCK_BOOTTIME, immune to date -s
count() { grep -c "$2" "$1" 2>/dev/null || true; }
wait_count() { # file needle n [timeout s]: until the needle has appeared n times
    local t0=$SECONDS lim=${4:-30}
    while [ "$(count "$1" "$2")" -lt "$3" ]; do
        [ $((SECONDS - t0)) -ge "$lim" ] && return 1
        sleep 0.02
    done
}
. "$(dirname "$0")/lib.sh"
step_clock() { date -s "@$(($(date +%s) + $1))" >/dev/null; }
netem() { ip netns exec a tc qdisc replace dev vA root netem "$@"; }
clear_netem() { ip netns exec a tc qdisc del dev vA root 2>/dev/null || true; }

rs() { # ns tag: start a keepalived-rs suite
    ip netns exec "$1" "$BIN/keepalived-rs" -n -l -D -f "$w/$1.conf" -p "$w/$2.p" -r "$w/$2.r" \
        -c "$w/$2.c" --ipvs_pid "$w/$2.i" --control-dir "$w/$2.ctl" >"$w/$2.log" 2>&1 &
}
ka() { # ns tag: start keepalived 2.2.7
    ip netns exec "$1" keepalived -n -l -D -f "$w/$1.conf" -p "$w/$2.p" -r "$w/$2.r" \
        -c "$w/$2.c" >"$w/$2.log" 2>&1 &
}

# A failover with the clock stepped at the cut: prints the takeover time.
# b_log: B's log; n: B's MASTER count before; secs: the step.
failover_with_step() {
    local b_log=$1 n=$2 secs=$3 t0 t1 nb
    nb=$(count "$b_log" "Entering BACKUP STATE")
    netem loss 100%
    t0=$(now)
    step_clock "$secs"
    if ! wait_count "$b_log" "Entering MASTER STATE" $((n + 1)) 20; then
        echo "none"
        clear_netem
        return
    fi
    t1=$(now)
    clear_netem
    # A's adverts are back: B returns to BACKUP (A preempts).
    wait_count "$b_log" "Entering BACKUP STATE" $((nb + 1)) 20 || true
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }'
}
in_window() { # figure: within 2.5..8 s?
    awk -v x="$1" 'BEGIN { exit !(x != "none" && x >= 2.5 && x <= 8) }'
}

rs a ra
wait_count "$w/ra.log" "Entering MASTER STATE" 1 || bad "A never became MASTER"

for who in rs ka; do
    $who b rb_$who
    log=$w/rb_$who.log
    wait_count "$log" "Entering BACKUP STATE" 1 || bad "$who B never entered BACKUP"
    # Two adverts seen by B: the pair is settled.
    sleep 2
    ma=$(count "$w/ra.log" "Entering")
    mb=$(count "$log" "Entering MASTER STATE")
    if [ $who = rs ]; then
        step_clock 3600
        sleep 5
        step_clock -7200
        sleep 5
        step_clock 3600
        [ "$(count "$w/ra.log" "Entering")" = "$ma" ] || bad "A changed state across clock steps"
        [ "$(count "$log" "Entering MASTER STATE")" = "$mb" ] ||
            bad "B became MASTER across clock steps (a wall-clock timer)"
        echo "steady state, clock +1 h then -2 h: no transition on either side"
    fi
    fwd=$(failover_with_step "$log" "$mb" 3600)
    mb=$(count "$log" "Entering MASTER STATE")
    back=$(failover_with_step "$log" "$mb" -3600)
    echo "$who as B: cut + clock +1 h -> MASTER after $fwd s; cut + clock -1 h -> MASTER after $back s (2.61..3.61 s expected)"
    if [ $who = rs ]; then
        in_window "$fwd" || bad "takeover with the clock stepped forward: $fwd s"
        in_window "$back" || bad "takeover with the clock stepped back: $back s"
    fi
    stop "$w/rb_$who.p"
done

# netem on A's adverts, B a keepalived-rs suite again.
rs b rb2
log=$w/rb2.log
wait_count "$log" "Entering BACKUP STATE" 1 || bad "B never entered BACKUP"
sleep 2
ma=$(count "$w/ra.log" "Entering")
mb=$(count "$log" "Entering")
netem delay 100ms 50ms reorder 25% 50% duplicate 20%
sleep 20
[ "$(count "$w/ra.log" "Entering")" = "$ma" ] || bad "A changed state under delay/reorder/duplicate"
[ "$(count "$log" "Entering")" = "$mb" ] || bad "B changed state under delay/reorder/duplicate"
echo "netem delay 100 ms +- 50 ms, reorder 25 %, duplicate 20 % for 20 s: no transition"
n=$(count "$log" "Entering MASTER STATE")
nb=$(count "$log" "Entering BACKUP STATE")
netem loss 100%
wait_count "$log" "Entering MASTER STATE" $((n + 1)) 20 || bad "B did not take over when A's adverts were lost"
clear_netem
wait_count "$log" "Entering BACKUP STATE" $((nb + 1)) 20 || bad "B did not go back to BACKUP when A's adverts returned"
vip_a=$(ip -n a -4 addr show dev vA | grep -c 10.0.60.1)
vip_b=$(ip -n b -4 addr show dev vB | grep -c 10.0.60.1)
[ "$vip_a/$vip_b" = "1/0" ] || bad "after the loss: VIP on A $vip_a, on B $vip_b (want 1/0)"
echo "netem loss 100 %: B took over; loss cleared: A preempted, the VIP on A only"

for f in ra rb_rs rb2; do
    if grep -q "has not answered its heartbeat" "$w/$f.log"; then
        bad "$f: a heartbeat was missed: $(grep "heartbeat" "$w/$f.log" | head -3)"
    fi
done
stop "$w/rb2.p"
stop "$w/ra.p"
if [ $failed = 1 ]; then
    for f in ra rb_rs rb_ka rb2; do
        echo "--- $f"
        grep -E "STATE|heartbeat|rror" "$w/$f.log" | tail -20
    done
fi
[ $failed = 0 ] && echo "faults: OK"
exit $failed
