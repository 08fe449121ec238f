#!/bin/bash
# Inside the IPVS VM: `nftables_ipvs` side by side with Debian's keepalived
# 2.2.7 on the same kernel. Virtual-server groups of addresses become one
# fwmark service per group, protocol and family, their traffic marked by
# the `keepalived_ipvs` tables. Each run records:
#   - `nft list table ip|ip6 keepalived_ipvs` (maps, rule, counters, the
#     marks from nftables_ipvs_start_fwmark) and `ipvsadm -Sn`;
#   - a TCP connection from a client namespace to a group address that is
#     not the first of its range reaching the real server through the mark;
#   - after a reload dropping one group and adding another: the surviving
#     group keeps its mark, the new one gets the next;
#   - after stop: no table, no service left.
# Ours alone: a table someone else deletes is put back.
# The two transcripts must be equal line for line (counter values
# normalised; ours must have counted the connection).
# Usage (host): tests/vm/run-ipvs-vm.sh tests/vm/ipvs-nft.sh [BINDIR]
set -u
BIN=${1:-target/debug}
w=$(mktemp -d)
chmod 755 "$w"
. "$(dirname "$0")/lib.sh"
failed=0
bad() { echo "FAIL: $*"; failed=1; }
sysctl -qw net.ipv4.ip_forward=1
# client 10.0.0.2 -- director dc 10.0.0.254 (group addresses .1, .3, .4)
# director br1 10.0.1.254 -- server 10.0.1.1 (gateway .254)
ip netns add cl
ip link add dc type veth peer name eth0 netns cl
ip addr add 10.0.0.254/24 dev dc
for a in 1 3 4; do ip addr add 10.0.0.$a/32 dev dc; done
ip link set dc up
ip -n cl addr add 10.0.0.2/24 dev eth0
ip -n cl link set eth0 up
ip -n cl link set lo up
ip link add br1 type bridge
ip link set br1 up
ip addr add 10.0.1.254/24 dev br1
ip netns add s1
ip link add ds1 type veth peer name eth0 netns s1
ip link set ds1 master br1 up
ip -n s1 addr add 10.0.1.1/24 dev eth0
ip -n s1 link set eth0 up
ip -n s1 link set lo up
ip -n s1 route add default via 10.0.1.254
ip netns exec s1 python3 -c "
import socket
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('0.0.0.0', 80)); s.listen(64)
while True:
    c,_=s.accept(); c.recv(1024); c.sendall(b'HTTP/1.0 200 OK\r\n\r\nserver1\n'); c.close()
" &
server=$!

conf() { # second group's name and port
    cat <<EOF
global_defs {
    nftables_ipvs
    nftables_ipvs_start_fwmark 2000
    nftables_counters
}
virtual_server_group WEB {
    10.0.0.1 80
    10.0.0.3-4 80
}
virtual_server_group V6 {
    2001:db8::10-12 443
}
virtual_server_group $1 {
    10.0.0.1 $2
}
virtual_server group WEB {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 10.0.1.1 80 {
        weight 1
    }
}
virtual_server group V6 {
    lb_algo wlc
    lb_kind NAT
    protocol TCP
    real_server 2001:db8:1::1 443 {
        weight 1
    }
}
virtual_server group $1 {
    lb_algo rr
    lb_kind DR
    protocol UDP
    real_server 10.0.1.1 $2 {
        weight 1
    }
}
EOF
}
conf DNS 53 >"$w/a.conf"
conf NTP 123 >"$w/b.conf"

# Wait (at most 15 s) until ipvsadm shows fwmark $1 and the table exists.
wait_mark() {
    for _ in $(seq 1 150); do
        ipvsadm -Sn | grep -q -- "-f $1 " && nft list table ip keepalived_ipvs >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "(fwmark $1 never came)"
}

record() { # tag
    {
        for f in ip ip6; do
            nft list table $f keepalived_ipvs 2>&1 |
                sed -E 's/packets [0-9]+ bytes [0-9]+/packets N bytes N/g'
        done
        ipvsadm -Sn | sort
    } >>"$w/$1.seen"
}

run() { # tag pidfile command...
    local tag=$1 pidfile=$2 reply
    shift 2
    cp "$w/a.conf" "$w/k.conf"
    "$@" >"$w/$tag.log" 2>&1 &
    wait_mark 2002 >>"$w/$tag.seen"
    echo "== started" >>"$w/$tag.seen"
    reply=$(ip netns exec cl python3 -c "
import socket
s=socket.create_connection(('10.0.0.4',80),timeout=3); s.sendall(b'GET / HTTP/1.0\r\n\r\n'); print(s.recv(1024).decode().split()[-1])" 2>&1)
    echo "connection to 10.0.0.4:80: $reply" >>"$w/$tag.seen"
    nft list map ip keepalived_ipvs tcp_map >"$w/$tag.counted" 2>&1
    record "$tag"
    cp "$w/b.conf" "$w/k.conf"
    kill -HUP "$(cat "$pidfile")"
    wait_mark 2003 >>"$w/$tag.seen"
    # (The old group's service goes in the same pass.)
    for _ in $(seq 1 50); do ipvsadm -Sn | grep -q -- "-f 2002 " || break; sleep 0.1; done
    echo "== reloaded" >>"$w/$tag.seen"
    record "$tag"
    if [ "$tag" = rs ]; then
        # Ours only (keepalived leaves a deleted table deleted): a table
        # someone else deletes comes back whole.
        nft delete table ip keepalived_ipvs
        for _ in $(seq 1 100); do
            nft list map ip keepalived_ipvs udp_map 2>/dev/null | grep -q '123' && break
            sleep 0.1
        done
        nft list map ip keepalived_ipvs udp_map >"$w/restored" 2>&1
    fi
    stop "$pidfile"
    echo "== stopped" >>"$w/$tag.seen"
    nft list tables | grep keepalived_ipvs >>"$w/$tag.seen"
    ipvsadm -Sn >>"$w/$tag.seen"
}

run ka "$w/kp" keepalived -C -n -l -f "$w/k.conf" -p "$w/kp" -c "$w/kc"
run rs "$w/p" "$BIN/keepalived-rs" -C -n -l -f "$w/k.conf" -p "$w/p" -r "$w/r" -c "$w/c" \
    --ipvs_pid "$w/i" --control-dir "$w/ctl"
kill "$server" 2>/dev/null

echo "--- keepalived 2.2.7"
cat "$w/ka.seen"
grep -q 'connection to 10.0.0.4:80: server1' "$w/rs.seen" ||
    bad "keepalived-rs: the marked connection did not reach the real server"
grep -Eq '10\.0\.0\.3-10\.0\.0\.4 \. 80 counter packets [1-9]' "$w/rs.counted" ||
    bad "keepalived-rs: the range's counter did not count the connection: $(cat "$w/rs.counted")"
grep -q '10.0.0.1 . 123 counter packets 0 bytes 0 : 0x000007d3' "$w/restored" ||
    bad "keepalived-rs: a deleted table was not put back: $(cat "$w/restored")"
if ! diff -u "$w/ka.seen" "$w/rs.seen"; then
    failed=1
fi
if [ $failed = 1 ]; then
    echo "--- keepalived-rs log"; tail -30 "$w/rs.log"
    echo "--- keepalived log"; tail -20 "$w/ka.log"
fi
[ $failed = 0 ] && echo "nftables_ipvs: OK"
