#!/bin/bash
# Inside the IPVS VM: the global IPVS keywords, side by side with Debian's
# keepalived 2.2.7 on the same kernel, each run recording what ipvsadm shows:
#   lvs_flush          a service someone else made before the start is gone
#   lvs_timeouts       ipvsadm -L --timeout while running (an unset one kept)
#   lvs_flush_on_stop  a foreign service made while running is gone at stop
#                      too; without it, it stays and only ours go
#   reload             a reload that drops lvs_timeouts puts the kernel's
#                      values back
# The two transcripts must be equal line for line.
# Usage (host): tests/vm/run-ipvs-vm.sh tests/vm/ipvs-globals.sh [BINDIR]
set -u
BIN=${1:-target/debug}
work=$(mktemp -d)
chmod 755 "$work"
. "$(dirname "$0")/lib.sh"

conf() { # global_defs lines
    cat <<EOF
global_defs {
$1
}
virtual_server 10.0.0.1 80 {
    delay_loop 60
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 10.0.1.1 80 {
        weight 1
    }
}
EOF
}

# Wait (at most 15 s) until `ipvsadm -Sn` shows our service.
wait_ours() {
    for _ in $(seq 1 150); do
        ipvsadm -Sn | grep -q "10.0.0.1:80" && return 0
        sleep 0.1
    done
    echo "(our service never came)"
}

# Wait (at most 15 s) until `ipvsadm -L --timeout` says $1.
wait_timeout() {
    for _ in $(seq 1 150); do
        [ "$(ipvsadm -L --timeout)" = "$1" ] && return 0
        sleep 0.1
    done
}

start() { # who conf-file tag
    if [ "$1" = keepalived ]; then
        keepalived -C -n -l -G -f "$2" -p "$work/$3.p" -c "$work/$3.c" >"$work/$3.log" 2>&1 &
    else
        "$BIN/keepalived-rs" -C -n -l -G -f "$2" -p "$work/$3.p" -r "$work/$3.r" -c "$work/$3.c" \
            --ipvs_pid "$work/$3.i" --control-dir "$work/$3.ctl" >"$work/$3.log" 2>&1 &
    fi
}

run() { # who
    local who=$1
    echo "# lvs_flush, lvs_timeouts tcp 1000 udp 200, lvs_flush_on_stop"
    ipvsadm -C
    ipvsadm --set 900 120 300
    ipvsadm -A -t 10.255.0.1:99
    conf "    lvs_flush
    lvs_timeouts tcp 1000 udp 200
    lvs_flush_on_stop" >"$work/$who.1.conf"
    start "$who" "$work/$who.1.conf" "$who.1"
    wait_ours
    echo "before-start foreign service: $(ipvsadm -Sn | grep -c 10.255.0.1)"
    wait_timeout "Timeout (tcp tcpfin udp): 1000 120 200"
    ipvsadm -L --timeout
    ipvsadm -A -t 10.255.0.2:99
    stop "$work/$who.1.p"
    echo "left at stop: $(ipvsadm -Sn | wc -l)"

    echo "# no lvs_flush_on_stop: a foreign service stays"
    ipvsadm -C
    conf "" >"$work/$who.2.conf"
    start "$who" "$work/$who.2.conf" "$who.2"
    wait_ours
    ipvsadm -A -t 10.255.0.3:99
    stop "$work/$who.2.p"
    ipvsadm -Sn | sort

    echo "# a reload that drops lvs_timeouts"
    ipvsadm -C
    ipvsadm --set 900 120 300
    conf "    lvs_timeouts tcpfin 60" >"$work/$who.3.conf"
    start "$who" "$work/$who.3.conf" "$who.3"
    wait_ours
    wait_timeout "Timeout (tcp tcpfin udp): 900 60 300"
    ipvsadm -L --timeout
    conf "" >"$work/$who.3.conf"
    kill -HUP "$(cat "$work/$who.3.p")"
    wait_timeout "Timeout (tcp tcpfin udp): 900 120 300"
    ipvsadm -L --timeout
    stop "$work/$who.3.p"
    ipvsadm -C
}

run keepalived >"$work/ka" 2>&1
run ours >"$work/rs" 2>&1
if diff -u "$work/ka" "$work/rs"; then
    echo "SAME  global IPVS keywords ($(grep -c . "$work/rs") lines)"
    cat "$work/rs"
    exit 0
fi
echo "DIFF  global IPVS keywords (keepalived 2.2.7 left, ours right)"
for f in "$work"/ours.*.log; do sed "s|^|   $(basename "$f"): |" "$f" | tail -15; done
exit 1
