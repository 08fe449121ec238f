#!/usr/bin/env bash
# Run a command against a real IPVS kernel.
#
#   tests/vm/run-ipvs-vm.sh CMD [ARGS...]
#
# If this host's kernel has IPVS, CMD runs here directly. Otherwise (the
# project's build machines have no CONFIG_IP_VS) it boots Debian's
# distribution kernel under QEMU (TCG) over the host's root filesystem
# (9p, read-only, with a tmpfs overlay), runs CMD inside as root in the
# current directory, and exits with CMD's own status; CMD's stdout and
# stderr come back separately. One boot per call: run all IPVS tests in it.
#
# Environment:
#   KARS_VM_CACHE    cache for the kernel and initramfs (/var/cache/keepalived-rs-vm)
#   KARS_VM_TIMEOUT  seconds before the VM is killed (900)
#   KARS_VM_MEM      guest memory (1024M)
#   KARS_VM_FORCE=1  use the VM even if the host has IPVS
#   KARS_VM_ENV      extra variable names to pass into the guest (space separated)
#   KARS_VM_VERBOSE=1 show the guest console
#   KARS_VM_INIT=systemd boot systemd as PID 1 (the command runs as a
#                    oneshot unit, after sysinit and basic.target)
# The guest always gets KARS_IPVS_KERNEL=1.
set -euo pipefail

die() { echo "run-ipvs-vm: $*" >&2; exit 125; }
log() { [ "${KARS_VM_QUIET:-0}" = 1 ] || echo "run-ipvs-vm: $*" >&2; }

[ $# -ge 1 ] || die "usage: $0 CMD [ARGS...]"

host_has_ipvs() {
    [ -e /proc/net/ip_vs ] && return 0
    modprobe -q ip_vs 2>/dev/null || true
    [ -e /proc/net/ip_vs ]
}

if [ "${KARS_VM_FORCE:-0}" != 1 ] && host_has_ipvs; then
    log "host kernel has IPVS; running directly"
    export KARS_IPVS_KERNEL=1
    exec "$@"
fi

CACHE=${KARS_VM_CACHE:-/var/cache/keepalived-rs-vm}
TIMEOUT=${KARS_VM_TIMEOUT:-900}
MEM=${KARS_VM_MEM:-1024M}

# --- tools -----------------------------------------------------------------
need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
[ -x /bin/busybox ] && file -L /bin/busybox 2>/dev/null | grep -q 'statically linked' || need+=(busybox-static)
command -v depmod >/dev/null || need+=(kmod)
command -v ipvsadm >/dev/null || need+=(ipvsadm)
command -v xz >/dev/null || need+=(xz-utils)
command -v cpio >/dev/null || need+=(cpio)
command -v file >/dev/null || need+=(file)
if [ ${#need[@]} -gt 0 ]; then
    [ "$(id -u)" = 0 ] || die "missing packages (${need[*]}); install them or run as root"
    log "installing ${need[*]}"
    apt-get install -y --no-install-recommends "${need[@]}" >/dev/null 2>&1 ||
        { apt-get update >/dev/null && apt-get install -y --no-install-recommends "${need[@]}" >/dev/null; } ||
        die "apt-get install ${need[*]} failed"
fi
file -L /bin/busybox | grep -q 'statically linked' || die "/bin/busybox is not static (install busybox-static)"

# --- kernel ----------------------------------------------------------------
mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9   # one preparation / one VM at a time on this host

abi_pkg() { apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}'; }
PKG=${KARS_VM_KERNEL_PKG:-$(abi_pkg)}
if [ -z "$PKG" ]; then
    apt-get update >/dev/null 2>&1 || true
    PKG=$(abi_pkg)
fi
[ -n "$PKG" ] || die "cannot find the ABI package of linux-image-amd64 (apt-cache depends)"
KVER=${PKG#linux-image-}
KDIR=$CACHE/$PKG
if [ ! -e "$KDIR/.ready" ]; then
    log "fetching $PKG"
    rm -rf "$KDIR" "$CACHE/deb"
    mkdir -p "$CACHE/deb" "$KDIR"
    (cd "$CACHE/deb" && apt-get download "$PKG" >/dev/null 2>&1) ||
        { apt-get update >/dev/null 2>&1 && (cd "$CACHE/deb" && apt-get download "$PKG" >/dev/null); } ||
        die "apt-get download $PKG failed"
    dpkg -x "$CACHE"/deb/"$PKG"_*.deb "$KDIR"
    rm -rf "$CACHE/deb"
    depmod -b "$KDIR" "$KVER"
    touch "$KDIR/.ready"
fi
# The uncompressed ELF vmlinux (PVH entry) boots much faster under TCG than the bzImage.
VMLINUZ=$KDIR/boot/vmlinuz-$KVER
if [ ! -e "$KDIR/vmlinux" ] && [ ! -e "$KDIR/.no-vmlinux" ]; then
    off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$VMLINUZ" | head -1 | cut -d: -f1 || true)
    # (tail dies of SIGPIPE once xz has its stream: judge by the result.)
    [ -n "$off" ] && { tail -c +$((off + 1)) "$VMLINUZ" | xz -dc --single-stream >"$KDIR/vmlinux.tmp" 2>/dev/null || true; }
    if [ -s "$KDIR/vmlinux.tmp" ] && file "$KDIR/vmlinux.tmp" | grep -q ELF; then
        mv "$KDIR/vmlinux.tmp" "$KDIR/vmlinux"
    else
        rm -f "$KDIR/vmlinux.tmp"
        touch "$KDIR/.no-vmlinux"
    fi
fi
MODDIR=$KDIR/lib/modules/$KVER
KERNEL=$KDIR/vmlinux
[ -e "$KERNEL" ] || KERNEL=$KDIR/boot/vmlinuz-$KVER

# --- initramfs -------------------------------------------------------------
INITRD=$CACHE/initramfs-$KVER.cpio.gz
INIT_SRC=$(cd "$(dirname "$0")" && pwd)/guest-init.sh
if [ ! -e "$INITRD" ] || [ "$INIT_SRC" -nt "$INITRD" ]; then
    log "building initramfs"
    ird=$(mktemp -d)
    mkdir -p "$ird"/{bin,dev,proc,sys,mnt/lower,mnt/rw,newroot,modules}
    cp /bin/busybox "$ird/bin/busybox"
    for a in sh mount umount mkdir insmod switch_root cat echo sleep ls mknod ln printf; do ln -s busybox "$ird/bin/$a"; done
    # Modules for 9p over virtio and the overlay, with their dependencies, in load order.
    want="virtio_pci virtio_console 9pnet_virtio 9p overlay"
    order=()
    add_mod() {
        local m=$1 path deps d
        path=$(awk -F: -v m="$m" '{n=$1; sub(/.*\//,"",n); sub(/\.ko(\.[a-z]+)?$/,"",n); gsub("-","_",n); if (n==m) {print $0; exit}}' "$MODDIR/modules.dep")
        [ -n "$path" ] || return 0   # built in
        deps=${path#*:}
        path=${path%%:*}
        for d in $deps; do
            d=${d##*/}; d=${d%%.ko*}; d=${d//-/_}
            add_mod "$d"
        done
        for o in "${order[@]:-}"; do [ "$o" = "$path" ] && return 0; done
        order+=("$path")
    }
    for m in $want; do add_mod "$m"; done
    : >"$ird/modules/order"
    for p in "${order[@]}"; do
        n=${p##*/}
        case $n in
            *.ko.xz) xz -dc "$MODDIR/$p" >"$ird/modules/${n%.xz}"; n=${n%.xz} ;;
            *.ko.zst) zstd -dqc "$MODDIR/$p" >"$ird/modules/${n%.zst}"; n=${n%.zst} ;;
            *) cp "$MODDIR/$p" "$ird/modules/$n" ;;
        esac
        echo "$n" >>"$ird/modules/order"
    done
    cp "$INIT_SRC" "$ird/init"
    chmod +x "$ird/init"
    (cd "$ird" && find . | cpio -o -H newc --quiet | gzip -1 >"$INITRD.tmp") && mv "$INITRD.tmp" "$INITRD"
    rm -rf "$ird"
fi

# --- run -------------------------------------------------------------------
OUT=$(mktemp -d /tmp/kars-vm.XXXXXX)
trap 'rm -rf "$OUT"' EXIT
{
    echo "export PATH=$(printf %q "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:${HOME:-/root}/.cargo/bin")"
    echo "export HOME=$(printf %q "${HOME:-/root}") KARS_IPVS_KERNEL=1 KARS_IN_VM=1"
    for v in RUST_BACKTRACE RUST_LOG RUST_TEST_THREADS ${KARS_VM_ENV:-}; do
        [ -n "${!v+x}" ] && echo "export $v=$(printf %q "${!v}")"
    done
    echo "cd $(printf %q "$PWD")"
    printf 'exec'
    printf ' %q' "$@"
    echo
} >"$OUT/cmd.sh"
: >"$OUT/stdout"; : >"$OUT/stderr"

console=$OUT/console.log
if [ "${KARS_VM_VERBOSE:-0}" = 1 ]; then console=/dev/stderr; fi
append="console=ttyS0 panic=-1 quiet loglevel=3 kars.modver=$KVER kars.workdir=$PWD"
if [ "${KARS_VM_INIT:-}" = systemd ]; then
    append="$append kars.init=systemd"
fi
log "booting $PKG ($(basename "$KERNEL"), TCG)"
start=$(date +%s.%N)
set +e
timeout --kill-after=10 "$TIMEOUT" qemu-system-x86_64 \
    -accel tcg,thread=multi -cpu ${KARS_VM_CPU:-qemu64} -smp "$(nproc)" -m "$MEM" \
    -nographic -no-reboot -nodefaults -serial stdio \
    -kernel "$KERNEL" -initrd "$INITRD" \
    -append "$append" \
    -fsdev local,id=root,path=/,security_model=none,readonly=on,multidevs=remap \
    -device virtio-9p-pci,fsdev=root,mount_tag=hostroot \
    -fsdev local,id=mods,path="$MODDIR",security_model=none,readonly=on \
    -device virtio-9p-pci,fsdev=mods,mount_tag=kmods \
    -fsdev local,id=out,path="$OUT",security_model=none \
    -device virtio-9p-pci,fsdev=out,mount_tag=karsout \
    -fsdev local,id=work,path="$PWD",security_model=none,readonly=on,multidevs=remap \
    -device virtio-9p-pci,fsdev=work,mount_tag=kwork \
    </dev/null >"$console" 2>&1
qrc=$?
set -e
end=$(date +%s.%N)
cat "$OUT/stdout"
cat "$OUT/stderr" >&2
if [ ! -s "$OUT/status" ]; then
    [ "$console" = /dev/stderr ] || tail -n 40 "$console" >&2
    die "VM ended without a command status (qemu exit $qrc)"
fi
log "VM done in $(echo "$end - $start" | bc 2>/dev/null || echo "?") s"
exit "$(cat "$OUT/status")"
