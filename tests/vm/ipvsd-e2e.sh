#!/bin/bash
# Inside the IPVS VM: the whole suite programs the kernel's IPVS table from
# a keepalived.conf, follows health, puts back what ipvsadm removes behind
# its back, issues no netlink write on a reload that changes nothing (the
# "Netlink writes" counter of the SIGUSR2 stats dump), applies a changed
# weight on reload, and removes what it created on stop.
# Usage (host): tests/vm/run-ipvs-vm.sh tests/vm/ipvsd-e2e.sh [BINDIR]
set -eu
BIN=${1:-target/debug}
dir=$(mktemp -d)
chmod 755 "$dir"
cat >"$dir/k.conf" <<'CONF'
global_defs {
    router_id VM
}
virtual_server 10.0.0.1 80 {
    delay_loop 1
    lb_algo wrr
    lb_kind NAT
    protocol TCP
    real_server 10.0.1.1 80 {
        weight 3
        MISC_CHECK {
            misc_path /bin/true
        }
    }
    real_server 10.0.1.2 80 {
        weight 2
        MISC_CHECK {
            misc_path /bin/false
        }
    }
}
CONF
"$BIN/keepalived-rs" -n -l -G -g "$dir/kl" -f "$dir/k.conf" -p "$dir/p" -r "$dir/r" -c "$dir/c" --ipvs_pid "$dir/i" >"$dir/log" 2>&1 &
fail() { echo "FAIL: $*"; cat "$dir/log"; ipvsadm -Ln; exit 1; }
wait_for() { # what command
    for _ in $(seq 1 150); do eval "$2" >/dev/null 2>&1 && return 0; sleep 0.1; done
    fail "$1"
}
# Up: 10.0.1.1 (true) in, 10.0.1.2 (false) out.
wait_for "service programmed" "ipvsadm -Ln | grep -q '10.0.1.1:80 *Masq *3'"
wait_for "failed real server removed" "! ipvsadm -Ln | grep -q 10.0.1.2"
ipvsadm -Ln | grep -q "TCP  10.0.0.1:80 wrr" || fail "scheduler"
echo "programmed:"; ipvsadm -Ln
# Drift: someone deletes our destination; it comes back.
ipvsadm -d -t 10.0.0.1:80 -r 10.0.1.1:80
wait_for "drift put back" "ipvsadm -Ln | grep -q '10.0.1.1:80 *Masq *3'"
# A weight edited, then the whole service deleted: both put back (the
# drift check compares destinations a slice at a time, services at once).
ipvsadm -e -t 10.0.0.1:80 -r 10.0.1.1:80 -m -w 1
wait_for "edited weight put back" "ipvsadm -Ln | grep -q '10.0.1.1:80 *Masq *3'"
ipvsadm -D -t 10.0.0.1:80
wait_for "deleted service put back" "ipvsadm -Ln | grep -q '10.0.1.1:80 *Masq *3'"
ipvsadm -Ln | grep -q "TCP  10.0.0.1:80 wrr" || fail "scheduler after the service came back"
# No-op reload: zero netlink writes. The counter is read from the SIGUSR2
# stats dump (/tmp/keepalived.stats, written by the parent).
writes() {
    rm -f /tmp/keepalived.stats
    kill -USR2 "$(cat "$dir/p")"
    wait_for "stats dump" "grep -q 'Netlink writes' /tmp/keepalived.stats"
    sed -n 's/^ *Netlink writes: *\([0-9]*\).*/\1/p' /tmp/keepalived.stats | head -1
}
reloaded() { # generation
    # ipvsd's own log file: on the shared console, lines of several
    # processes may interleave on some file systems.
    wait_for "reload $1 applied" "grep -q 'Reloaded configuration $1' '$dir/kl_ipvs'"
}
w0=$(writes)
[ -n "$w0" ] || fail "no 'Netlink writes' in the stats dump: $(cat /tmp/keepalived.stats)"
kill -HUP "$(cat "$dir/p")"
reloaded 2
w1=$(writes)
echo "netlink writes before/after a no-op reload: $w0 / $w1"
[ "$w0" = "$w1" ] || fail "a no-op reload wrote to netlink ($w0 -> $w1)"
ipvsadm -Ln | grep -q '10.0.1.1:80 *Masq *3' || fail "table changed by a no-op reload"
# A changed weight: applied in place, and counted.
sed -i 's/weight 3/weight 5/' "$dir/k.conf"
kill -HUP "$(cat "$dir/p")"
reloaded 3
wait_for "new weight" "ipvsadm -Ln | grep -q '10.0.1.1:80 *Masq *5'"
w2=$(writes)
echo "netlink writes after a weight change: $w2"
[ "$w2" -gt "$w1" ] || fail "a weight change was not written ($w1 -> $w2)"
echo "after reload:"; ipvsadm -Ln
# Foreign service: left alone.
ipvsadm -A -t 10.9.9.9:80 -s rr
kill -TERM "$(cat "$dir/p")"
wait_for "stopped" "! kill -0 $(cat "$dir/p" 2>/dev/null || echo 1)"
ipvsadm -Ln | grep -q "10.0.0.1:80" && fail "our service left behind at stop"
ipvsadm -Ln | grep -q "10.9.9.9:80" || fail "the foreign service was removed"
grep -q "IPVS: removing the" "$dir/log" || fail "no teardown"
echo "ipvsd e2e: OK"
