#!/bin/bash
# Inside the VM's throwaway root (the host's root, read-only, under a tmpfs
# overlay): keepalived-rs's Debian package replaces Debian's keepalived in
# place, runs from its installed paths, survives the purge of Debian's
# keepalived, and leaves nothing but /etc/keepalived when purged itself.
# Usage (host): KARS_VM_INIT=systemd KARS_VM_FORCE=1 tests/vm/run-ipvs-vm.sh tests/vm/package.sh DEB
set -eu
[ "$(cat /proc/1/comm)" = systemd ] || { echo "FAIL: run with KARS_VM_INIT=systemd (systemd as PID 1)"; exit 1; }
DEB=$(readlink -f "$1")
fail() {
    echo "FAIL: $*"
    systemctl status --no-pager keepalived.service 2>&1 | tail -n 20
    journalctl -b --no-pager -u keepalived.service 2>&1 | tail -n 40
    exit 1
}
ok() { echo "ok: $*"; }
export DEBIAN_FRONTEND=noninteractive
apt_opts=(-y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)

dpkg-query -W -f='${Status}' keepalived 2>/dev/null | grep -q "install ok installed" ||
    fail "Debian's keepalived must be installed to start from"
# The host root is a container image's, whose policy-rc.d forbids starting
# services from maintainer scripts; a real system has none.
rm -f /usr/sbin/policy-rc.d
ip link add kars0 type veth peer name kars1
ip link set kars0 up
ip addr add 10.77.1.1/24 dev kars0
ip link set kars1 up
mkdir -p /etc/keepalived
conf=/etc/keepalived/keepalived.conf
printf 'global_defs {\n    router_id PKG\n}\nvrrp_instance VI_1 {\n    state BACKUP\n    interface kars0\n    virtual_router_id 7\n    priority 100\n    virtual_ipaddress {\n        10.77.0.1/32\n    }\n}\n' >"$conf"
echo "# the operator's own file" >/etc/keepalived/notes
# As on a stock installation (CI disables it on the host): enabled.
systemctl enable keepalived.service 2>&1 | sed "s/^/   /"
[ -L /etc/systemd/system/multi-user.target.wants/keepalived.service ] || fail "cannot enable keepalived to start from"
before=$(cd /etc/keepalived && sha256sum keepalived.conf notes)

apt-get install "${apt_opts[@]}" "$DEB" >/tmp/apt.log 2>&1 || { cat /tmp/apt.log; fail "apt-get install"; }
dpkg-query -W -f='${Status}' keepalived-rs | grep -q "install ok installed" || fail "keepalived-rs not installed"
dpkg-query -W -f='${Status}' keepalived 2>/dev/null | grep -q "install ok installed" &&
    fail "Debian's keepalived is still installed"
ok "apt-get install replaced Debian's keepalived"

first=$(/usr/sbin/keepalived -v 2>&1 | head -1)
case $first in "Keepalived v2.2.7 (keepalived-rs"*) ;; *) fail "keepalived -v: $first" ;; esac
/usr/sbin/keepalived --signum=JSON | grep -qx 36 || fail "--signum=JSON"
/usr/sbin/keepalived -t -f "$conf" 2>/dev/null || fail "keepalived -t on the operator's file"
getent passwd keepalived-rs >/dev/null || fail "no keepalived-rs user"
grep -q '^ExecStart=/usr/sbin/keepalived-rs --dont-fork $DAEMON_ARGS' /lib/systemd/system/keepalived.service ||
    fail "the unit under keepalived's name"
grep -q '^EnvironmentFile=-/etc/default/keepalived' /lib/systemd/system/keepalived.service ||
    fail "/etc/default/keepalived is not read"
[ "$(readlink -f /etc/systemd/system/multi-user.target.wants/keepalived.service)" = /lib/systemd/system/keepalived.service ] ||
    [ "$(readlink -f /etc/systemd/system/multi-user.target.wants/keepalived.service)" = /usr/lib/systemd/system/keepalived.service ] ||
    { ls -l /etc/systemd/system/keepalived.service /etc/systemd/system/multi-user.target.wants/ 2>&1;
      ls -lR /var/lib/systemd/deb-systemd-helper-enabled/ /var/lib/systemd/deb-systemd-helper-masked/ 2>&1 | grep -i keepalived;
      grep -i systemd /tmp/apt.log; fail "keepalived.service is not enabled as it was"; }
for f in /usr/share/man/man8/keepalivedctl.8.gz /usr/share/man/man8/keepalived-rs.8.gz \
    /usr/share/man/man5/keepalived.conf.5.gz /usr/share/bash-completion/completions/keepalivedctl.bash \
    /usr/libexec/keepalived-rs/vrrpd /usr/libexec/keepalived-rs/checkerd /usr/libexec/keepalived-rs/ipvsd \
    /usr/share/doc/keepalived-rs/keywords.md /usr/share/doc/keepalived-rs/examples/keepalived.conf.sample; do
    [ -e "$f" ] || fail "missing $f"
done
zcat /usr/share/man/man5/keepalived.conf.5.gz | grep -q '^\\fBvirtual_router_id' ||
    fail "keepalived.conf(5) lacks the keyword table"
ok "keepalived -v, --signum, -t, the user, the unit, man pages, completions, children"

# postinst started the unit (keepalived was enabled and systemd runs).
for _ in $(seq 100); do systemctl is-active -q keepalived.service && break; sleep 0.1; done
systemctl is-active -q keepalived.service || fail "postinst did not start keepalived.service"
for _ in $(seq 100); do
    s=$(keepalivedctl status --json 2>&1) && [ "$(grep -o '"state":"running"' <<<"$s" | wc -l)" = 3 ] && break
    sleep 0.1
done
[ "$(grep -o '"state":"running"' <<<"$s" | wc -l)" = 3 ] || fail "keepalivedctl status: $s"
grep -q '"iname":"VI_1"' <<<"$s" || fail "no VI_1 in keepalivedctl status: $s"
ok "the installed suite runs as keepalived.service and answers keepalivedctl"

# The unit as systemd runs it, hardened (service.sh leaves the operator's
# file as it found it).
cp "$conf" /run/operator.conf
bash "$(dirname "$0")/service.sh" || fail "service.sh"
cp /run/operator.conf "$conf"
rm -f /etc/keepalived/notify.sh /etc/keepalived/fifo.sh

dpkg --purge keepalived >/dev/null
list=$(dpkg -L keepalived-rs)
for f in $list; do [ -e "$f" ] || fail "purging Debian's keepalived removed $f"; done
[ -e /etc/default/keepalived ] || fail "/etc/default/keepalived gone with Debian's keepalived"
ok "purging Debian's keepalived left keepalived-rs whole"

apt-get purge "${apt_opts[@]}" keepalived-rs >/tmp/apt.log 2>&1 || { cat /tmp/apt.log; fail "apt-get purge"; }
for f in $list; do
    [ -d "$f" ] && continue
    [ -e "$f" ] && fail "left behind: $f"
done
[ -e /etc/default/keepalived ] && fail "left behind: /etc/default/keepalived"
after=$(cd /etc/keepalived && sha256sum keepalived.conf notes)
[ "$before" = "$after" ] || fail "/etc/keepalived changed"
ok "purge left nothing but /etc/keepalived, untouched"
