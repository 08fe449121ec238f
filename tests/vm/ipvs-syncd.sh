#!/bin/bash
# Inside the IPVS VM: `lvs_sync_daemon veth0 VI_1 ...` runs the IPVS sync
# daemon as MASTER while VI_1 is MASTER and as BACKUP once it has left
# MASTER, as keepalived 2.2.7 does, and stops it at exit. The same file runs
# under keepalived 2.2.7, then under keepalived-rs (the whole suite); VI_1 is
# alone on a veth pair (MASTER after the master-down timer), then a peer
# with a higher priority (Debian's keepalived in a namespace on the other
# end) takes over. `ipvsadm -Ln --daemon` is compared at each step.
# Usage (host): tests/vm/run-ipvs-vm.sh tests/vm/ipvs-syncd.sh [BINDIR]
set -u
BIN=${1:-target/debug}
w=$(mktemp -d)
chmod 755 "$w"
ip netns add peer
ip link add veth0 type veth peer name veth1 netns peer
ip addr add 10.0.50.2/24 dev veth0
ip link set veth0 up
ip -n peer addr add 10.0.50.3/24 dev veth1
ip -n peer link set veth1 up
ip -n peer link set lo up

cat >"$w/k.conf" <<'CONF'
global_defs {
    router_id SYNCD
    lvs_sync_daemon veth0 VI_1 id 7 maxlen 1400
}
vrrp_instance VI_1 {
    state BACKUP
    interface veth0
    virtual_router_id 51
    priority 100
    advert_int 1
    virtual_ipaddress {
        10.0.50.1/24
    }
}
virtual_server 10.0.50.1 80 {
    delay_loop 1
    lb_algo rr
    lb_kind DR
    protocol TCP
    real_server 10.0.50.10 80 {
        weight 1
        MISC_CHECK {
            misc_path /bin/true
        }
    }
}
CONF
cat >"$w/peer.conf" <<'CONF'
global_defs {
    router_id PEER
}
vrrp_instance VI_1 {
    state BACKUP
    interface veth1
    virtual_router_id 51
    priority 200
    advert_int 1
    virtual_ipaddress {
        10.0.50.1/24
    }
}
CONF

daemons() { ipvsadm -Ln --daemon; }
wait_daemons() { # the whole listing to wait for (at most 40 s)
    local t0=$SECONDS cur
    while [ $((SECONDS - t0)) -lt 40 ]; do
        cur=$(daemons)
        [ "$cur" = "$1" ] && { echo "$cur"; return 0; }
        sleep 0.3
    done
    echo "$cur"
    return 1
}
. "$(dirname "$0")/lib.sh"

failed=0
bad() { echo "FAIL: $*"; failed=1; }
# (group, port and ttl are the kernel's defaults, reported back.)
MASTER='master sync daemon (mcast=veth0, syncid=7, maxlen=1400, group=224.0.0.81, port=8848, ttl=1)'
BACKUP='backup sync daemon (mcast=veth0, syncid=7, maxlen=1400, group=224.0.0.81, port=8848, ttl=1)'

run() { # tag command...
    local tag=$1
    shift
    ipvsadm -C
    "$@" >"$w/$tag.log" 2>&1 &
    # Before VI_1 has ever been MASTER: no daemon (keepalived starts none).
    daemons >"$w/$tag.0"
    wait_daemons "$MASTER" >"$w/$tag.1" && echo "$tag: VI_1 MASTER -> master sync daemon" ||
        bad "$tag: no master sync daemon: $(cat "$w/$tag.1")"
    ip netns exec peer keepalived -P -n -l -G -f "$w/peer.conf" -p "$w/pp" -r "$w/pr" >"$w/$tag.peer.log" 2>&1 &
    wait_daemons "$BACKUP" >"$w/$tag.2" && echo "$tag: VI_1 BACKUP (peer took over) -> backup sync daemon" ||
        bad "$tag: no backup sync daemon after the peer took over: $(cat "$w/$tag.2")"
    stop "$w/pp"
    wait_daemons "$MASTER" >"$w/$tag.3" && echo "$tag: VI_1 MASTER again -> master sync daemon" ||
        bad "$tag: no master sync daemon after the peer left: $(cat "$w/$tag.3")"
}

run ka keepalived -n -l -G -f "$w/k.conf" -p "$w/kp" -r "$w/kr" -c "$w/kc"
stop "$w/kp"
daemons >"$w/ka.4"
run rs "$BIN/keepalived-rs" -n -l -G -f "$w/k.conf" -p "$w/p" -r "$w/r" -c "$w/c" --ipvs_pid "$w/i"
stop "$w/p"
daemons >"$w/rs.4"
[ -s "$w/rs.4" ] && bad "keepalived-rs left a sync daemon running at exit: $(cat "$w/rs.4")"

names=("before MASTER" "MASTER" "BACKUP" "MASTER again" "after exit")
for i in 0 1 2 3 4; do
    if diff -u "$w/ka.$i" "$w/rs.$i" >"$w/diff.$i"; then
        echo "SAME  ${names[$i]}: $(tr '\n' ' ' <"$w/rs.$i")"
    else
        echo "DIFF  ${names[$i]}"
        cat "$w/diff.$i"
        failed=1
    fi
done
if [ $failed = 1 ]; then
    echo "--- keepalived-rs log"; grep -v MISC "$w/rs.log" | tail -40
    echo "--- keepalived log"; tail -20 "$w/ka.log"
fi
ipvsadm -C
[ $failed = 0 ] && echo "ipvs sync daemon: OK"
exit $failed
