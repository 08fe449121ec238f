#!/bin/bash
# Inside the VM guest with systemd as PID 1 (KARS_VM_INIT=systemd), once
# package.sh has installed keepalived-rs's package over Debian's keepalived:
# the hardened unit as systemd runs it. READY (start returns), STATUS,
# RELOADING then READY around a good reload, a bad file failing
# `systemctl reload` while the old configuration keeps running, the
# parent's heartbeat restarting a SIGSTOPped child, systemd's watchdog
# restarting a stopped parent, STOPPING; and under the hardening: VMAC, the
# FIFO, a root notify script (script_user root) that writes /var/log and
# /run and restarts a service with systemctl, an SMTP alert, IPVS.
set -eu
fail() {
    echo "FAIL: $*"
    journalctl -b --no-pager -u keepalived.service | grep -v "Got notification message\|Received SIG\|Child .* belongs" | tail -n 40
    echo "FAIL: $*"
    exit 1
}
ok() { echo "ok: $*"; }
show() { systemctl show -P "$1" keepalived.service; }
# Wait up to $1 tenths of a second for the command after it to succeed.
until_ok() {
    local n=$1
    shift
    for _ in $(seq "$n"); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    return 1
}
# The notification messages systemd got from the suite (debug log level).
notes() { journalctl -b --no-pager -u keepalived.service -o cat | grep "Got notification message" || true; }

[ "$(cat /proc/1/comm)" = systemd ] || fail "systemd is not PID 1"
systemd-analyze log-level debug

# --- the hardening score -------------------------------------------------
score=$(systemd-analyze security keepalived.service 2>/dev/null | sed -n 's/.*exposure level for keepalived.service: \([0-9.]*\).*/\1/p')
echo "   systemd-analyze security keepalived.service: $score"
awk -v s="$score" 'BEGIN { exit !(s != "" && s <= 3.0) }' || fail "exposure $score > 3.0"
ok "hardened unit scores $score"

# --- the world the configuration uses ------------------------------------
ip addr add 10.77.1.2/24 dev kars1 2>/dev/null || true
printf '[Service]\nExecStart=/bin/sleep infinity\n' >/run/systemd/system/kars-dummy.service
systemctl daemon-reload
systemctl start kars-dummy.service
dummy_before=$(systemctl show -P InvocationID kars-dummy.service)

# An SMTP sink on 127.0.0.1:2525 keeping what it was sent.
cat >/run/smtp-sink.py <<'EOF'
import socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 2525))
s.listen(5)
while True:
    c, _ = s.accept()
    f = c.makefile("rb")
    out = open("/run/smtp-sink.log", "ab")
    c.sendall(b"220 sink\r\n")
    data = False
    for line in f:
        out.write(line)
        out.flush()
        if data:
            if line.strip() == b".":
                data = False
                c.sendall(b"250 ok\r\n")
            continue
        cmd = line[:4].upper()
        if cmd == b"DATA":
            data = True
            c.sendall(b"354 go\r\n")
        elif cmd == b"QUIT":
            c.sendall(b"221 bye\r\n")
            break
        else:
            c.sendall(b"250 ok\r\n")
    c.close()
EOF
systemd-run --unit=smtp-sink /usr/bin/python3 /run/smtp-sink.py >/dev/null

cat >/etc/keepalived/notify.sh <<'EOF'
#!/bin/sh
echo "$* uid=$(id -u) umask=$(umask)" >>/var/log/kars-notify.log
echo "$3" >/run/kars-notify.state
[ "$3" = MASTER ] && systemctl restart kars-dummy.service
exit 0
EOF
cat >/etc/keepalived/fifo.sh <<'EOF'
#!/bin/sh
while read -r line; do echo "$line" >>/var/log/kars-fifo.log; done <"$1"
EOF
chmod 755 /etc/keepalived/notify.sh /etc/keepalived/fifo.sh
conf=/etc/keepalived/keepalived.conf
write_conf() {
    cat >"$conf" <<EOF
global_defs {
    router_id SVC
    script_user root
    enable_script_security
    notify_fifo /run/kars.fifo
    notify_fifo_script /etc/keepalived/fifo.sh
    smtp_server 127.0.0.1 2525
    notification_email {
        ops@example.test
    }
    notification_email_from kars@example.test
}
vrrp_instance VI_1 {
    state MASTER
    interface kars0
    use_vmac
    virtual_router_id 7
    priority $1
    advert_int 1
    smtp_alert
    notify "/etc/keepalived/notify.sh"
    virtual_ipaddress {
        10.77.0.1/32
    }
}
virtual_server 10.77.0.1 80 {
    lb_algo rr
    lb_kind DR
    protocol TCP
    real_server 10.77.1.2 80 {
        weight 1
    }
}
EOF
}
write_conf 150

# --- start: READY, STATUS --------------------------------------------------
systemctl restart keepalived.service || fail "systemctl restart"
[ "$(show ActiveState)/$(show SubState)" = active/running ] || fail "not active/running: $(show ActiveState)/$(show SubState)"
notes | grep -q "READY=1" || fail "no READY=1 from the suite"
main=$(show MainPID)
until_ok 300 sh -c 'keepalivedctl status --json | grep -q "\"state\":2"' || fail "VI_1 never MASTER: $(keepalivedctl status)"
until_ok 100 sh -c 'systemctl show -P StatusText keepalived.service | grep -q "1 MASTER"' ||
    fail "STATUS: $(show StatusText)"
ok "start: READY=1, active/running, STATUS=\"$(show StatusText)\""

# --- every feature under the hardening -------------------------------------
ip -br link show vrrp.7 >/dev/null 2>&1 || fail "no VMAC interface vrrp.7"
ip -br addr show vrrp.7 | grep -q 10.77.0.1/32 || fail "VIP not on the VMAC: $(ip -br addr)"
[ "$(cat /proc/sys/net/ipv4/conf/vrrp.7/arp_ignore)" = 1 ] || fail "the VMAC's arp_ignore"
until_ok 100 grep -q "INSTANCE VI_1 MASTER 150 uid=0 umask=0177" /var/log/kars-notify.log ||
    fail "the root notify script: $(cat /var/log/kars-notify.log 2>&1)"
grep -qx MASTER /run/kars-notify.state || fail "the notify script could not write /run"
until_ok 100 sh -c "[ \"\$(systemctl show -P InvocationID kars-dummy.service)\" != $dummy_before ]" ||
    fail "the notify script's systemctl restart did not restart kars-dummy"
until_ok 100 grep -q 'INSTANCE "VI_1" MASTER 150' /var/log/kars-fifo.log ||
    fail "the FIFO: $(cat /var/log/kars-fifo.log 2>&1)"
until_ok 200 grep -qi "^Subject:.*VI_1" /run/smtp-sink.log || fail "no SMTP alert: $(cat /run/smtp-sink.log 2>&1)"
until_ok 100 sh -c 'ipvsadm -Ln | grep -q "10.77.1.2:80"' || fail "IPVS: $(ipvsadm -Ln)"
keepalivedctl status --json | grep -q '"ipvs":true' || fail "status does not say IPVS is available"
for c in vrrpd checkerd ipvsd; do
    pid=$(pgrep -x -P "$main" "$c") || fail "no $c under the parent"
    grep -q "^Seccomp:[[:space:]]*2" "/proc/$pid/status" || fail "$c has no seccomp filter"
done
# Made as their owners, without CAP_CHOWN (the unit has none).
[ "$(stat -c %U:%G:%a /run/keepalived-rs/status.sock)" = root:keepalived-rs:660 ] ||
    fail "status.sock: $(stat -c %U:%G:%a /run/keepalived-rs/status.sock)"
# (script_user root: its reader, the fifo script, is root.)
[ "$(stat -c %U:%G:%a /run/kars.fifo)" = root:root:600 ] ||
    fail "the FIFO in /run: $(stat -c %U:%G:%a /run/kars.fifo)"
ok "VMAC, root notify script (/var/log, /run, systemctl restart), FIFO, SMTP alert, IPVS, seccomp"

# --- reload: RELOADING=1 then READY=1; a bad file fails systemctl reload ----
write_conf 160
systemctl reload keepalived.service || fail "systemctl reload of a good file"
notes | grep -q "RELOADING=1" || fail "no RELOADING=1"
show StatusText | grep -q "configuration 2: applied" || fail "STATUS after reload: $(show StatusText)"
until_ok 100 sh -c 'keepalivedctl status --json | grep -q "\"effective_priority\":160"' ||
    fail "priority 160 not applied: $(keepalivedctl status)"
cp "$conf" /run/good.conf
printf 'vrrp_instance VI_1 {\n' >"$conf"
if systemctl reload keepalived.service 2>/dev/null; then fail "systemctl reload of a bad file succeeded"; fi
[ "$(show ActiveState)" = active ] || fail "a failed reload left $(show ActiveState)"
show StatusText | grep -q "not loaded" || fail "STATUS after a bad reload: $(show StatusText)"
keepalivedctl status --json | grep -q '"effective_priority":160' || fail "the running configuration changed"
ip -br addr show vrrp.7 | grep -q 10.77.0.1/32 || fail "VIP lost on a bad reload"
[ "$(show MainPID)" = "$main" ] || fail "the parent changed"
cp /run/good.conf "$conf"
ok "reload: RELOADING=1, applied; a bad file fails systemctl reload and changes nothing"

# --- heartbeat: a SIGSTOPped child is killed and restarted by the parent ----
vrrpd=$(pgrep -x -P "$main" vrrpd)
kill -STOP "$vrrpd"
until_ok 300 sh -c "! kill -0 $vrrpd 2>/dev/null" || { kill -CONT "$vrrpd"; fail "the stopped vrrpd was not killed"; }
until_ok 100 pgrep -x -P "$main" vrrpd || fail "vrrpd not restarted"
[ "$(show MainPID)" = "$main" ] && [ "$(show NRestarts)" = 0 ] || fail "the unit restarted instead"
notes | grep -q "WATCHDOG=1" || fail "no WATCHDOG=1"
until_ok 300 sh -c 'keepalivedctl status --json | grep -q "\"state\":2"' || fail "not MASTER again"
ok "heartbeat: a SIGSTOPped vrrpd was killed and restarted by the parent; the unit untouched"

# --- the watchdog: a stopped parent is restarted by systemd ----------------
mkdir -p /run/systemd/system/keepalived.service.d
printf '[Service]\nWatchdogSec=4\n' >/run/systemd/system/keepalived.service.d/watchdog.conf
systemctl daemon-reload
systemctl restart keepalived.service || fail "restart with WatchdogSec=4"
main=$(show MainPID)
kill -STOP "$main"
until_ok 600 sh -c "[ \"\$(systemctl show -P MainPID keepalived.service)\" != $main ] && [ \"\$(systemctl show -P ActiveState keepalived.service)\" = active ]" ||
    fail "the watchdog did not restart a stopped parent ($(show ActiveState), NRestarts $(show NRestarts))"
journalctl -b --no-pager -u keepalived.service | grep -q "Watchdog timeout" || fail "no watchdog timeout logged"
[ "$(show NRestarts)" -ge 1 ] || fail "NRestarts $(show NRestarts)"
rm -r /run/systemd/system/keepalived.service.d
systemctl daemon-reload
ok "watchdog: systemd restarted a SIGSTOPped parent"

# --- stop: STOPPING=1, nothing left ----------------------------------------
until_ok 300 sh -c 'keepalivedctl status --json | grep -q "\"state\":2"' || fail "not MASTER before stop"
systemctl stop keepalived.service
notes | grep -q "STOPPING=1" || fail "no STOPPING=1"
[ "$(show ActiveState)" = inactive ] || fail "after stop: $(show ActiveState)"
pgrep -x vrrpd >/dev/null || pgrep -x checkerd >/dev/null || pgrep -x ipvsd >/dev/null && fail "children left behind"
ip link show vrrp.7 >/dev/null 2>&1 && fail "the VMAC interface is left"
ipvsadm -Ln | grep -q 10.77.0.1:80 && fail "IPVS service left: $(ipvsadm -Ln)"
ok "stop: STOPPING=1, children gone, VMAC and IPVS removed"
systemctl stop smtp-sink.service kars-dummy.service
systemd-analyze log-level info
