#!/bin/bash
# Inside the IPVS VM: traffic through a NAT virtual service programmed by
# keepalived-rs. A client namespace reaches two real servers (namespaces
# with a tiny HTTP responder each) through the director (the VM itself);
# the split follows rr, then wrr 3:1 after a reload.
# Usage (host): tests/vm/run-ipvs-vm.sh tests/vm/ipvs-traffic.sh [BINDIR]
set -u
BIN=${1:-target/debug}
w=$(mktemp -d)
chmod 755 "$w"
fail() { echo "FAIL: $*"; ipvsadm -Ln; cat "$w/log"; exit 1; }
sysctl -qw net.ipv4.ip_forward=1
sysctl -qw net.ipv4.vs.conntrack=1 2>/dev/null || true
# client 10.0.0.2 -- director eth-c 10.0.0.254 (VIP 10.0.0.1)
# director eth-s 10.0.1.254 -- servers 10.0.1.1, 10.0.1.2 (gateway .254)
ip netns add cl
ip link add dc type veth peer name eth0 netns cl
ip addr add 10.0.0.254/24 dev dc; ip addr add 10.0.0.1/32 dev dc; ip link set dc up
ip -n cl addr add 10.0.0.2/24 dev eth0; ip -n cl link set eth0 up; ip -n cl link set lo up
ip link add br1 type bridge; ip link set br1 up; ip addr add 10.0.1.254/24 dev br1
for i in 1 2; do
    ip netns add s$i
    ip link add ds$i type veth peer name eth0 netns s$i
    ip link set ds$i master br1 up
    ip -n s$i addr add 10.0.1.$i/24 dev eth0; ip -n s$i link set eth0 up; ip -n s$i link set lo up
    ip -n s$i route add default via 10.0.1.254
    # Answer every connection with the server's name (bash /dev/tcp is client-only; use a loop with nc or python).
    ip netns exec s$i python3 -c "
import socket
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('0.0.0.0', 80)); s.listen(64)
while True:
    c,_=s.accept(); c.recv(1024); c.sendall(b'HTTP/1.0 200 OK\r\n\r\nserver$i\n'); c.close()
" &
done
sleep 1
conf() { # w1 w2 sched
    cat >"$w/k.conf" <<CONF
global_defs {
    router_id TRAFFIC
}
virtual_server 10.0.0.1 80 {
    delay_loop 1
    lb_algo $3
    lb_kind NAT
    protocol TCP
    real_server 10.0.1.1 80 {
        weight $1
        TCP_CHECK {
            connect_timeout 1
        }
    }
    real_server 10.0.1.2 80 {
        weight $2
        TCP_CHECK {
            connect_timeout 1
        }
    }
}
CONF
}
count() { # n -> "c1 c2"
    local c1=0 c2=0 r
    for _ in $(seq 1 "$1"); do
        r=$(ip netns exec cl python3 -c "
import socket
s=socket.create_connection(('10.0.0.1',80),timeout=3); s.sendall(b'GET / HTTP/1.0\r\n\r\n'); print(s.recv(1024).decode().split()[-1])" 2>/dev/null)
        case $r in server1) c1=$((c1 + 1)) ;; server2) c2=$((c2 + 1)) ;; esac
    done
    echo "$c1 $c2"
}
conf 1 1 rr
"$BIN/keepalived-rs" -n -l -G -f "$w/k.conf" -p "$w/p" -r "$w/r" -c "$w/c" --ipvs_pid "$w/i" >"$w/log" 2>&1 &
for _ in $(seq 1 100); do [ "$(ipvsadm -Ln | grep -c 'Masq')" -ge 2 ] && break; sleep 0.2; done
[ "$(ipvsadm -Ln | grep -c 'Masq')" -ge 2 ] || fail "real servers not programmed"
read -r a b <<<"$(count 20)"
echo "rr 1:1 over 20 connections: server1 $a, server2 $b"
[ "$a" = 10 ] && [ "$b" = 10 ] || fail "rr split $a/$b"
conf 3 1 wrr
kill -HUP "$(cat "$w/p")"
for _ in $(seq 1 100); do ipvsadm -Ln | grep -q "10.0.1.1:80 *Masq *3" && break; sleep 0.2; done
read -r a b <<<"$(count 40)"
echo "wrr 3:1 over 40 connections: server1 $a, server2 $b"
[ "$a" = 30 ] && [ "$b" = 10 ] || fail "wrr split $a/$b"
kill -TERM "$(cat "$w/p")"
echo "ipvs traffic: OK"
