#!/bin/bash
# Inside the VM (Debian's kernel has the link kinds this host's may lack):
# `use_ipvlan NAME ADDRESS private` side by side with Debian's keepalived
# 2.2.7 on the same kernel. Each run records the ipvlan (kind, mode,
# flags, lower device, up), the addresses while MASTER (keepalived leaves
# the VIP on the instance's interface, not on the ipvlan), where the adverts
# come from on the wire (source address, and whether the source MAC is the
# lower device's: an ipvlan has none of its own) and the ipvlans left after
# stop. The transcripts must be equal line for line.
# Usage (host): tests/vm/run-ipvs-vm.sh tests/vm/vrrp-links.sh [BINDIR]
set -u
BIN=${1:-target/debug}
w=$(mktemp -d)
chmod 755 "$w"
. "$(dirname "$0")/lib.sh"
ip netns add obs
ip link add veth0 type veth peer name veth1 netns obs
ip addr add 10.0.60.2/24 dev veth0
ip link set veth0 up
ip -n obs link set veth1 up
mac=$(cat /sys/class/net/veth0/address)

cat >"$w/k.conf" <<'CONF'
vrrp_instance VI_1 {
    interface veth0
    virtual_router_id 51
    priority 200
    advert_int 1
    use_ipvlan ipv1 10.0.60.50/24 private
    virtual_ipaddress {
        10.0.60.100/24
    }
}
CONF

failed=0
bad() { echo "FAIL: $*"; failed=1; }

run() { # tag pidfile command...
    local tag=$1 pidfile=$2
    shift 2
    ip netns exec obs timeout 20 tcpdump -l -n -e -c 1 -i veth1 'ip proto 112' >"$w/$tag.wire" 2>/dev/null &
    local dump=$!
    sleep 1
    "$@" >"$w/$tag.log" 2>&1 &
    local t0=$SECONDS
    until ip -o addr show 2>/dev/null | grep -q ' 10.0.60.100/24 '; do
        [ $((SECONDS - t0)) -lt 20 ] || { bad "$tag: the VIP never came"; break; }
        sleep 0.2
    done
    wait "$dump"
    {
        ip -d -o link show ipv1 | grep -o 'ipvlan  *mode [a-z0-9]* [a-z]*' | tr -s ' '
        ip -o link show ipv1 | grep -o '@[a-z0-9]*:' | tr -d ':'
        ip -o link show ipv1 | grep -q ',UP' && echo up
        ip -o addr show | awk '$4 !~ /^fe80/ {print $2 " " $4}' | sort
        # "MAC > 01:00:5e:00:00:12 ... SRC > 224.0.0.18: VRRPv2"
        awk -v mac="$mac" '{ from = ($2 == mac) ? "veth0'"'"'s MAC" : $2
            for (i = 1; i <= NF; i++) if ($i == "224.0.0.18:") print "advert from " $(i - 2) " with " from }' "$w/$tag.wire"
    } >"$w/$tag.seen"
    stop "$pidfile"
    ip -o link show type ipvlan | awk '{print "left: " $2}' >>"$w/$tag.seen"
}

run ka "$w/kp" keepalived -n -l -P -f "$w/k.conf" -p "$w/kp" -r "$w/kr"
run rs "$w/p" "$BIN/keepalived-rs" -n -l -P -f "$w/k.conf" -p "$w/p" -r "$w/r"

echo "--- keepalived 2.2.7"
cat "$w/ka.seen"
grep -q 'advert from 10.0.60.50 with veth0' "$w/rs.seen" ||
    bad "keepalived-rs: adverts not from the ipvlan address with veth0's MAC"
grep -q '^ipvlan mode l2 private' "$w/rs.seen" || bad "keepalived-rs: no private L2 ipvlan"
if ! diff -u "$w/ka.seen" "$w/rs.seen"; then
    failed=1
fi
if [ $failed = 1 ]; then
    echo "--- keepalived-rs log"; tail -30 "$w/rs.log"
    echo "--- keepalived log"; tail -20 "$w/ka.log"
fi
[ $failed = 0 ] && echo "use_ipvlan: OK"
exit $failed
