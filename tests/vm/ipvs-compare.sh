#!/bin/bash
# Inside the IPVS VM: for each configuration, the IPVS table Debian's
# keepalived 2.2.7 programs and the one keepalived-rs programs, compared
# line for line (`ipvsadm -Sn`, which carries schedulers, methods, weights,
# persistence, thresholds and flags).
# Usage (host): tests/vm/run-ipvs-vm.sh tests/vm/ipvs-compare.sh [BINDIR] [CONF...]
set -u
BIN=${1:-target/debug}
shift || true
confs=("$@")
[ ${#confs[@]} -gt 0 ] || confs=(tests/fixtures/ipvs/*.conf)
work=$(mktemp -d)
chmod 755 "$work"

# Wait until the table has entries and stays the same for two seconds.
settle() {
    local prev="" cur same=0
    for _ in $(seq 1 60); do
        cur=$(ipvsadm -Sn | sort)
        if [ -n "$cur" ] && [ "$cur" = "$prev" ]; then
            same=$((same + 1))
            [ $same -ge 4 ] && break
        else
            same=0
        fi
        prev=$cur
        sleep 0.5
    done
    echo "$cur"
}

stop() { # pidfile
    local p
    p=$(cat "$1" 2>/dev/null) || return 0
    kill -TERM "$p" 2>/dev/null
    for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
}

failed=0
for c in "${confs[@]}"; do
    name=$(basename "$c" .conf)
    ipvsadm -C
    keepalived -C -n -l -G -f "$c" -p "$work/kp" -c "$work/kc" >"$work/$name.ka.log" 2>&1 &
    settle >"$work/$name.ka"
    stop "$work/kp"
    ipvsadm -C
    "$BIN/keepalived-rs" -C -n -l -G -f "$c" -p "$work/p" -r "$work/r" -c "$work/c" --ipvs_pid "$work/i" \
        >"$work/$name.rs.log" 2>&1 &
    settle >"$work/$name.rs"
    stop "$work/p"
    left=$(ipvsadm -Sn)
    if diff -u "$work/$name.ka" "$work/$name.rs" >"$work/$name.diff"; then
        echo "SAME  $name ($(wc -l <"$work/$name.rs") lines)"
    else
        echo "DIFF  $name"
        cat "$work/$name.diff"
        sed 's/^/   ours: /' "$work/$name.rs.log" | tail -20
        failed=1
    fi
    if [ -n "$left" ]; then
        echo "LEFT  $name: keepalived-rs left entries behind at stop:"
        echo "$left"
        failed=1
    fi
done
ipvsadm -C
exit $failed
