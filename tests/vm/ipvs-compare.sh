#!/bin/bash
# Inside the IPVS VM: for each configuration, the IPVS table Debian's
# keepalived 2.2.7 programs and the one keepalived-rs programs, compared
# line for line in every listing ipvsadm has for it:
#   -Sn                     schedulers, methods, weights, persistence, flags
#   -Ln --thresholds        upper/lower connection thresholds
#   -Ln --persistent-conn   persistence, persistent connection counts
#   -Ln --stats             traffic counters (zero on both sides: no traffic)
# The -L listings come in the kernel's order, which follows insertion order
# (a destination added later is listed first), not the configuration: the
# destinations of each service and the services are sorted before comparing
# (the -Sn listing is sorted whole). Nothing else is masked.
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
}

# An `ipvsadm -Ln ...` listing with the destinations of each service sorted
# and the services sorted (header lines first, as printed).
normalize_l() {
    awk -v OFS='\t' '
        /^(TCP|UDP|SCTP|FWM) / { svc = $0; print 1, svc, 0, $0; next }
        /^  -> [0-9a-fA-F[]/ && svc != "" { print 1, svc, 1, $0; next }
        { printf "0\t%06d\t0\t%s\n", NR, $0 }' | LC_ALL=C sort | cut -f4-
}

# Every listing, one section each.
snapshot() {
    echo "## -Sn"
    ipvsadm -Sn | sort
    for opt in --thresholds --persistent-conn --stats; do
        echo "## -Ln $opt"
        ipvsadm -Ln $opt | normalize_l
    done
}

. "$(dirname "$0")/lib.sh"

failed=0
for c in "${confs[@]}"; do
    name=$(basename "$c" .conf)
    ipvsadm -C
    keepalived -C -n -l -G -f "$c" -p "$work/kp" -c "$work/kc" >"$work/$name.ka.log" 2>&1 &
    settle
    snapshot >"$work/$name.ka"
    stop "$work/kp"
    ipvsadm -C
    "$BIN/keepalived-rs" -C -n -l -G -f "$c" -p "$work/p" -r "$work/r" -c "$work/c" --ipvs_pid "$work/i" \
        >"$work/$name.rs.log" 2>&1 &
    settle
    snapshot >"$work/$name.rs"
    stop "$work/p"
    left=$(ipvsadm -Sn)
    if diff -u "$work/$name.ka" "$work/$name.rs" >"$work/$name.diff"; then
        echo "SAME  $name ($(grep -c . "$work/$name.rs") lines: -Sn, -Ln --thresholds, --persistent-conn, --stats)"
    else
        echo "DIFF  $name"
        cat "$work/$name.diff"
        sed 's/^/   ours: /' "$work/$name.rs.log" | tail -20
        sed 's/^/   keepalived: /' "$work/$name.ka.log" | tail -10
        failed=1
    fi
    [ "${KARS_COMPARE_SHOW:-0}" = 1 ] && cat "$work/$name.rs"
    if [ -n "$left" ]; then
        echo "LEFT  $name: keepalived-rs left entries behind at stop:"
        echo "$left"
        failed=1
    fi
done
ipvsadm -C
exit $failed
