#!/bin/sh
# PID 1 of the IPVS test VM (busybox, inside the initramfs built by
# run-ipvs-vm.sh): mount the host root read-only over 9p under a tmpfs
# overlay, put the Debian kernel's modules at /lib/modules/VERSION, run the
# host-written /kars-out/cmd.sh and record its status, then power off.
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
fail() { echo "guest-init: $*" >/dev/console; echo o >/proc/sysrq-trigger; sleep 5; }
while read -r m; do insmod "/modules/$m" || fail "insmod $m"; done </modules/order
opts=trans=virtio,version=9p2000.L,msize=512000,cache=loose
mount -t 9p -o "$opts,ro" hostroot /mnt/lower || fail "9p root"
mount -t tmpfs -o size=50% rw /mnt/rw
mkdir -p /mnt/rw/upper /mnt/rw/work
mount -t overlay -o lowerdir=/mnt/lower,upperdir=/mnt/rw/upper,workdir=/mnt/rw/work overlay /newroot || fail overlay
for k in $(cat /proc/cmdline); do
    case $k in
    kars.modver=*) KVER=${k#kars.modver=} ;;
    kars.workdir=*) WORKDIR=${k#kars.workdir=} ;;
    kars.init=*) INIT=${k#kars.init=} ;;
    esac
done
mkdir -p "/newroot/lib/modules/$KVER" /newroot/kars-out
mount -t 9p -o "$opts,ro" kmods "/newroot/lib/modules/$KVER" || fail "9p modules"
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 karsout /newroot/kars-out || fail "9p out"
mount -t proc proc /newroot/proc
mount -t sysfs sys /newroot/sys
mount -t devtmpfs dev /newroot/dev
mount -t tmpfs tmp /newroot/tmp
mount -t tmpfs run /newroot/run
# The working directory (the checkout and its target/) may live on a mount
# the root share does not show, such as a host /tmp: share it explicitly.
if [ -n "${WORKDIR:-}" ]; then
    mkdir -p "/newroot$WORKDIR"
    mount -t 9p -o "$opts,ro" kwork "/newroot$WORKDIR" || fail "9p workdir"
fi
umount /proc /sys /dev 2>/dev/null
if [ "${INIT:-}" = systemd ]; then
    # systemd as PID 1 (KARS_VM_INIT=systemd): the command runs as the
    # oneshot unit kars-test.service, the only thing the boot target pulls
    # beyond sysinit/basic; nothing of the host's own fstab or enabled
    # units is started.
    u=/newroot/etc/systemd/system
    mkdir -p "$u"
    : >/newroot/etc/fstab
    printf '[Unit]\nDescription=keepalived-rs VM test target\nRequires=kars-test.service\nAfter=kars-test.service\nAllowIsolate=yes\n' >"$u/kars-test.target"
    printf '[Unit]\nDescription=keepalived-rs VM test\nAfter=basic.target\n[Service]\nType=oneshot\nTimeoutStartSec=infinity\nExecStart=/bin/sh -c "hostname kars-ipvs-vm; ip link set lo up; /bin/sh /kars-out/cmd.sh >/kars-out/stdout 2>/kars-out/stderr; echo $$? >/kars-out/status; sync; echo o >/proc/sysrq-trigger; sleep 10"\n' >"$u/kars-test.service"
    for m in systemd-timesyncd systemd-pstore getty@tty1 systemd-firstboot systemd-repart systemd-pcrphase systemd-pcrphase-sysinit; do
        ln -sf /dev/null "$u/$m.service"
    done
    # The host root is a container's: without this systemd believes it
    # runs in docker and ignores the kernel command line.
    rm -f /newroot/.dockerenv
    exec switch_root /newroot /lib/systemd/systemd --unit=kars-test.target --show-status=error
fi
exec switch_root /newroot /bin/sh -c '
    hostname kars-ipvs-vm 2>/dev/null
    ip link set lo up 2>/dev/null
    /bin/sh /kars-out/cmd.sh >/kars-out/stdout 2>/kars-out/stderr
    echo $? >/kars-out/status
    sync
    echo o >/proc/sysrq-trigger
    sleep 10'
