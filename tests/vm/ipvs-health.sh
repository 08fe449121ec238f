#!/bin/bash
# Inside the IPVS VM: real servers going down and up move the table as
# keepalived 2.2.7 moves it. The same configuration runs under keepalived,
# then under keepalived-rs; each real server's health is a MISC_CHECK on a
# flag file (delay_loop 1), and the same sequence of flag changes is walked:
# removal, weight 0 with inhibit_on_failure, sorry server in and out, quorum
# lost and regained with hysteresis. After each step the table must reach the
# expected one (written below, keepalived's semantics) and hold it for two
# seconds; then `ipvsadm -Sn` of both implementations is compared per step.
# Usage (host): tests/vm/run-ipvs-vm.sh tests/vm/ipvs-health.sh [BINDIR]
set -u
BIN=${1:-target/debug}
w=$(mktemp -d)
chmod 755 "$w"
mkdir "$w/flags"
chmod 755 "$w/flags" # checkerd runs unprivileged

check() { # flag name
    cat <<CHK
        MISC_CHECK {
            misc_path "/usr/bin/test -f $w/flags/$1"
        }
CHK
}
# vs A: wrr, NAT, weights 2+2+1, quorum 4 hysteresis 1 (lost below 3,
#       regained at 5), sorry server; rs1 inhibit_on_failure.
# vs B: rr, DR, no quorum (1): all down puts the sorry server in; rs4
#       inhibit_on_failure, rs5 removed when down.
cat >"$w/k.conf" <<CONF
global_defs {
    router_id HEALTH
}
virtual_server 10.0.0.20 80 {
    delay_loop 1
    lb_algo wrr
    lb_kind NAT
    protocol TCP
    quorum 4
    hysteresis 1
    sorry_server 10.0.20.99 80
    real_server 10.0.20.1 80 {
        weight 2
        inhibit_on_failure
$(check rs1)
    }
    real_server 10.0.20.2 80 {
        weight 2
$(check rs2)
    }
    real_server 10.0.20.3 80 {
        weight 1
$(check rs3)
    }
}
virtual_server 10.0.0.21 80 {
    delay_loop 1
    lb_algo rr
    lb_kind DR
    protocol TCP
    sorry_server 10.0.21.99 80
    real_server 10.0.21.1 80 {
        weight 1
        inhibit_on_failure
$(check rs4)
    }
    real_server 10.0.21.2 80 {
        weight 1
$(check rs5)
    }
}
CONF

# Steps: "flags up after the step" and the expected table (-Sn, sorted).
A='-A -t 10.0.0.20:80 -s wrr'
B='-A -t 10.0.0.21:80 -s rr'
a() { echo "-a -t 10.0.0.20:80 -r $1 -m -w $2"; }
b() { echo "-a -t 10.0.0.21:80 -r $1 -g -w $2"; }
steps=(
    "all up"
    "rs3 down (sum 4, quorum held by hysteresis), rs4 down (inhibit: weight 0)"
    "rs2 down (sum 2 < 3: quorum lost, sorry in), rs5 down (all down: sorry in)"
    "rs3 up (sum 3 < 5: still no quorum), rs4 up (sorry out)"
    "rs2 up (sum 5: quorum regained, sorry out), rs5 up"
    "rs1 down (sum 3: quorum held, inhibit: weight 0)"
)
flags=(
    "rs1 rs2 rs3 rs4 rs5"
    "rs1 rs2 rs5"
    "rs1"
    "rs1 rs3 rs4"
    "rs1 rs2 rs3 rs4 rs5"
    "rs2 rs3 rs4 rs5"
)
expect() { # step
    case $1 in
        0) echo "$A"; a 10.0.20.1:80 2; a 10.0.20.2:80 2; a 10.0.20.3:80 1
           echo "$B"; b 10.0.21.1:80 1; b 10.0.21.2:80 1 ;;
        1) echo "$A"; a 10.0.20.1:80 2; a 10.0.20.2:80 2
           echo "$B"; b 10.0.21.1:80 0; b 10.0.21.2:80 1 ;;
        2) echo "$A"; a 10.0.20.1:80 0; a 10.0.20.99:80 1
           echo "$B"; b 10.0.21.1:80 0; b 10.0.21.99:80 1 ;;
        3) echo "$A"; a 10.0.20.1:80 0; a 10.0.20.99:80 1
           echo "$B"; b 10.0.21.1:80 1 ;;
        4) echo "$A"; a 10.0.20.1:80 2; a 10.0.20.2:80 2; a 10.0.20.3:80 1
           echo "$B"; b 10.0.21.1:80 1; b 10.0.21.2:80 1 ;;
        5) echo "$A"; a 10.0.20.1:80 0; a 10.0.20.2:80 2; a 10.0.20.3:80 1
           echo "$B"; b 10.0.21.1:80 1; b 10.0.21.2:80 1 ;;
    esac | sort
}

# Only the flags that change are touched: a check running meanwhile must
# never see a server that stays up as down (with hysteresis, such a glitch
# would stick).
set_flags() {
    local f
    for f in rs1 rs2 rs3 rs4 rs5; do
        case " $1 " in
            *" $f "*) [ -e "$w/flags/$f" ] || touch "$w/flags/$f" ;;
            *) rm -f "$w/flags/$f" ;;
        esac
    done
}

# Poll (at most 40 s) until the table equals the expected one and keeps it
# for 2 s; print what it settled on (the last table seen on timeout).
reach() { # expected
    local cur held=0 t0=$SECONDS
    while [ $((SECONDS - t0)) -lt 40 ]; do
        cur=$(ipvsadm -Sn | sort)
        if [ "$cur" = "$1" ]; then
            held=$((held + 1))
            [ $held -ge 5 ] && break
        else
            held=0
        fi
        sleep 0.4
    done
    echo "$cur"
    [ $held -ge 5 ]
}

. "$(dirname "$0")/lib.sh"

run() { # tag command...
    local tag=$1 i
    shift
    ipvsadm -C
    set_flags "${flags[0]}"
    "$@" >"$w/$tag.log" 2>&1 &
    for i in "${!steps[@]}"; do
        set_flags "${flags[$i]}"
        if reach "$(expect "$i")" >"$w/$tag.$i"; then
            echo "$tag step $i: reached (${steps[$i]})"
        else
            echo "$tag step $i: NOT reached (${steps[$i]}); table:"
            sed 's/^/    /' "$w/$tag.$i"
            echo "    expected:"
            expect "$i" | sed 's/^/    /'
        fi
    done
}

run ka keepalived -C -n -l -G -f "$w/k.conf" -p "$w/kp" -c "$w/kc"
stop "$w/kp"
run rs "$BIN/keepalived-rs" -C -n -l -G -f "$w/k.conf" -p "$w/p" -r "$w/r" -c "$w/c" --ipvs_pid "$w/i"
stop "$w/p"

failed=0
for i in "${!steps[@]}"; do
    if diff -u "$w/ka.$i" "$w/rs.$i" >"$w/diff.$i" && [ "$(cat "$w/rs.$i")" = "$(expect "$i")" ]; then
        echo "SAME  step $i: ${steps[$i]} ($(wc -l <"$w/rs.$i") lines)"
    else
        echo "DIFF  step $i: ${steps[$i]}"
        cat "$w/diff.$i"
        failed=1
    fi
done
if [ $failed = 1 ]; then
    echo "--- keepalived-rs log"; tail -40 "$w/rs.log"
    echo "--- keepalived log"; tail -20 "$w/ka.log"
fi
[ -z "$(ipvsadm -Sn)" ] || { echo "LEFT: keepalived-rs left entries behind"; ipvsadm -Sn; failed=1; }
ipvsadm -C
[ $failed = 0 ] && echo "ipvs health: OK"
exit $failed
