#!/bin/bash
# Inside the IPVS VM (a benchmark, not a test): N TCP_CHECKs at
# `delay_loop 1` (connect_timeout 1, retry 0) against N local listeners,
# keepalived-rs and then Debian's keepalived 2.2.7 on the same file in the
# same boot. Prints each one's CPU (its whole process tree and its checker
# process alone) over 10 s once the checks run, then the delay from a
# listener closing to the "Removing service" log line for ROUNDS victims
# (min / median / max); then the floor under both (`check-bench
# connect-floor`: the same connects and closes, nothing else). The
# machine's load is printed beside them.
# Usage (host): tests/vm/run-ipvs-vm.sh tests/vm/check-bench.sh [BINDIR] [N] [ROUNDS]
set -u
BIN=${1:-target/release}
N=${2:-1000}
ROUNDS=${3:-5}
BASE=20000
w=$(mktemp -d)
chmod 755 "$w"
ip link set lo up
ulimit -n 65536

wait_for() { # what test... (bounded: a benchmark that hangs says where)
    local what=$1 end=$((SECONDS + 120))
    shift
    until "$@"; do
        [ $SECONDS -lt $end ] || { echo "  ($what: not within 120 s)" >&2; return 1; }
        sleep 0.02
    done
}
# The listeners: accept and close; a port written to the FIFO stops
# listening (one Python process, one selector).
mkfifo "$w/close"
cat >"$w/listen.py" <<'EOF'
import os, selectors, socket, sys
base, n, fifo = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
sel = selectors.DefaultSelector()
socks = {}
for p in range(base, base + n):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", p)); s.listen(128); s.setblocking(False)
    sel.register(s, selectors.EVENT_READ, p); socks[p] = s
ctl = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
sel.register(ctl, selectors.EVENT_READ, None)
print("listening", flush=True)
buf = b""
while True:
    for key, _ in sel.select():
        if key.data is None:
            buf += os.read(ctl, 4096)
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                p = int(line)
                if p in socks:
                    sel.unregister(socks[p]); socks.pop(p).close()
            continue
        try:
            c, _ = key.fileobj.accept(); c.close()
        except OSError:
            pass
EOF
python3 "$w/listen.py" $BASE "$N" "$w/close" >"$w/listen.out" 2>&1 &
LPID=$!
exec 9>"$w/close" # held open: the listener never sees EOF
wait_for "listeners" grep -q listening "$w/listen.out" || exit 1

{
    echo "global_defs {"; echo "    router_id CHK"; echo "}"
    echo "virtual_server 10.1.0.1 80 {"
    echo "    delay_loop 1"; echo "    lb_algo rr"; echo "    lb_kind NAT"; echo "    protocol TCP"
    for i in $(seq 0 $((N - 1))); do
        echo "    real_server 127.0.0.1 $((BASE + i)) {"
        echo "        TCP_CHECK {"; echo "            connect_timeout 1"; echo "            retry 0"; echo "        }"
        echo "    }"
    done
    echo "}"
} >"$w/k.conf"

ticks() { # pid... -> utime+stime of them all (USER_HZ)
    local t=0 p f
    for p in "$@"; do
        f=$(cut -d')' -f2- "/proc/$p/stat" 2>/dev/null) || continue
        set -- $f
        t=$((t + ${12} + ${13}))
    done
    echo $t
}
tree() { pgrep -x "$1" | tr '\n' ' '; } # pattern -> pids
pct() { awk -v t="$1" 'BEGIN { printf "%.1f %%", t / 10 }'; } # ticks in 10 s
victim=$((BASE + 7))

# $1: name, $2: its processes (pgrep -x pattern), $3: its checker
# process(es), $4: its log; the implementation is running.
measure() {
    local who=$1 comm=$2 checker_pid=$3 log=$4
    local all a0 c0 a1 c1 l0 l1
    all=$(tree "$comm")
    sleep 3 # every check has run
    read -r l0 _ </proc/loadavg
    a0=$(ticks $all); c0=$(ticks $checker_pid)
    sleep 10
    a1=$(ticks $all); c1=$(ticks $checker_pid)
    read -r l1 _ </proc/loadavg
    echo "$who, $N TCP_CHECKs at delay_loop 1: CPU $(pct $((a1 - a0))) of one core in all, checker process $(pct $((c1 - c0))) (load average $l0 -> $l1)"
    local d=() r t0 t1
    for r in $(seq 1 "$ROUNDS"); do
        victim=$((victim + 1))
        t0=$(date +%s%N)
        echo $victim >&9
        wait_for "victim $victim reported" grep -q "Removing service \[127.0.0.1\]:tcp:$victim " "$log" || return 1
        t1=$(date +%s%N)
        d+=($(( (t1 - t0) / 1000000 )))
    done
    echo "$who, listener closed -> Removing service, $ROUNDS rounds (ms): $(printf '%s\n' "${d[@]}" | sort -n | awk '{v[NR]=$1} END {printf "min %d median %d max %d", v[1], v[int((NR+1)/2)], v[NR]}')"
}

ipvsadm -C
"$BIN/keepalived-rs" -n -l -D -f "$w/k.conf" -p "$w/p" -r "$w/r" -c "$w/c" --ipvs_pid "$w/i" >"$w/rs.log" 2>&1 &
wait_for "checkerd running" pgrep -x checkerd >/dev/null
measure keepalived-rs 'keepalived-rs|vrrpd|checkerd|ipvsd' "$(pgrep -x checkerd | tr '\n' ' ')" "$w/rs.log"
pkill -TERM -x keepalived-rs
while pgrep -x keepalived-rs >/dev/null; do sleep 0.2; done
ipvsadm -C

if command -v keepalived >/dev/null; then
    keepalived --check --dont-fork --log-console --log-detail --use-file "$w/k.conf" \
        -p "$w/kp" -c "$w/kc" -r "$w/kr" >"$w/ka.log" 2>&1 &
    # The checker is the child of the parent keepalived.
    wait_for "keepalived's checker running" pgrep -P "$(pgrep -o -x keepalived)" -x keepalived >/dev/null
    checker=$(pgrep -P "$(pgrep -o -x keepalived)" -x keepalived | head -1)
    measure "keepalived 2.2.7" keepalived "$checker" "$w/ka.log"
    pkill -TERM -x keepalived
    while pgrep -x keepalived >/dev/null; do sleep 0.2; done
    ipvsadm -C
else
    echo "(keepalived is not installed: no side-by-side figures)"
fi
# The floor under both: the same connects and closes, nothing else
# (check-bench connect-floor), against the same listeners.
FLOOR=$BIN/check-bench
if [ -x "$FLOOR" ]; then
    "$FLOOR" connect-floor "$N" $BASE &
    FPID=$!
    sleep 3
    read -r l0 _ </proc/loadavg
    f0=$(ticks $FPID)
    sleep 10
    f1=$(ticks $FPID)
    read -r l1 _ </proc/loadavg
    echo "floor (connect, wait, peer address, close; nothing else), $N ports once a second: CPU $(pct $((f1 - f0))) of one core (load average $l0 -> $l1)"
    kill $FPID
else
    echo "(no check-bench binary in $BIN: no floor figure)"
fi
kill $LPID
