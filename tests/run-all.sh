#!/usr/bin/env bash
# Every test of keepalived-rs: unit, integration (network namespaces, as
# root), interop with Debian's keepalived, and the real-kernel IPVS tests
# (in a VM when this kernel has no IPVS). Installs what it needs.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
    echo "run as root: the integration tests build network namespaces" >&2
    exit 1
fi

need=()
command -v ip >/dev/null || need+=(iproute2)
command -v keepalived >/dev/null || need+=(keepalived)
command -v ipvsadm >/dev/null || need+=(ipvsadm)
command -v tcpdump >/dev/null || need+=(tcpdump)
# nft reads back the no_accept tables (tests/tests/firewall.rs).
command -v nft >/dev/null || need+=(nftables)
# promtool validates keepalivedctl's Prometheus text.
command -v promtool >/dev/null || need+=(prometheus)
# openssl s_server is the real server requiring client certificates
# (tests/tests/ssl_client.rs).
command -v openssl >/dev/null || need+=(openssl)
# BIRD 2 routes the announced virtual servers (tests/vm/bgp-announce.sh).
command -v bird >/dev/null || need+=(bird2)
if [ ${#need[@]} -gt 0 ]; then
    echo "== installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# Debian's keepalived package starts a daemon on install; it must not take
# part in our tests.
systemctl disable --now keepalived >/dev/null 2>&1 || true
pkill -x keepalived 2>/dev/null || true
# Nor Prometheus's server, which its package starts too.
systemctl disable --now prometheus >/dev/null 2>&1 || true
pkill -x prometheus 2>/dev/null || true
# Nor BIRD's.
systemctl disable --now bird >/dev/null 2>&1 || true
pkill -x bird 2>/dev/null || true

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings

echo "== build"
cargo build --workspace --bins --tests

echo "== tests"
# Unit tests in parallel; the namespace tests (each runs several suites,
# keepalived, tcpdump) two at a time, so timing on a loaded 2-core CI
# machine stays far from every deadline.
cargo test --workspace --exclude keepalived-rs-tests -- --test-threads="${KARS_TEST_THREADS:-4}"
cargo test -p keepalived-rs-tests -- --test-threads="${KARS_NS_TEST_THREADS:-2}"

if [ -x tests/vm/run-ipvs-tests.sh ]; then
    echo "== IPVS tests on a real kernel"
    tests/vm/run-ipvs-tests.sh
    echo "== the suite programming IPVS on a real kernel"
    tests/vm/run-ipvs-vm.sh tests/vm/ipvsd-e2e.sh target/debug
    echo "== IPVS tables side by side with keepalived 2.2.7"
    tests/vm/run-ipvs-vm.sh tests/vm/ipvs-compare.sh target/debug
    echo "== traffic through a NAT virtual service (rr, then wrr 3:1 after a reload)"
    tests/vm/run-ipvs-vm.sh tests/vm/ipvs-traffic.sh target/debug
    echo "== real servers down and up side by side with keepalived 2.2.7 (inhibit, sorry server, quorum)"
    tests/vm/run-ipvs-vm.sh tests/vm/ipvs-health.sh target/debug
    echo "== lvs_flush, lvs_flush_on_stop, lvs_timeouts side by side with keepalived 2.2.7"
    tests/vm/run-ipvs-vm.sh tests/vm/ipvs-globals.sh target/debug
    echo "== nftables_ipvs (fwmarks for virtual-server groups) side by side with keepalived 2.2.7"
    tests/vm/run-ipvs-vm.sh tests/vm/ipvs-nft.sh target/debug
    echo "== lvs_sync_daemon following a VRRP instance, side by side with keepalived 2.2.7"
    tests/vm/run-ipvs-vm.sh tests/vm/ipvs-syncd.sh target/debug
    echo "== virtual servers announced over BGP: two directors, BIRD 2, ECMP (bgp_announce)"
    tests/vm/run-ipvs-vm.sh tests/vm/bgp-announce.sh target/debug
    echo "== use_ipvlan side by side with keepalived 2.2.7 (this host's kernel may have no ipvlan)"
    KARS_VM_FORCE=1 tests/vm/run-ipvs-vm.sh tests/vm/vrrp-links.sh target/debug
    echo "== faults on a VRRP pair: clock steps (monotonic timers), netem delay/reorder/duplicate/loss"
    # Forced into the VM: it steps the clock.
    KARS_VM_FORCE=1 tests/vm/run-ipvs-vm.sh tests/vm/faults.sh target/debug
    echo "== the Debian package replacing Debian's keepalived, and its hardened unit under systemd as PID 1 (the VM's throwaway root)"
    # Pinned: its --profile handling is what this relies on.
    command -v cargo-deb >/dev/null || cargo install cargo-deb --version 3.8.0 --locked
    rm -rf target/debug/docs target/debian
    for b in keepalived-rs keepalivedctl keepalived-rs-exporter; do
        target/debug/$b --generate-docs target/debug/docs
    done
    # The debug build CI already has, stripped (a release build would add
    # minutes; `cargo deb -p keepalived-rs` alone builds the release one).
    cargo deb -p keepalived-rs --no-build --strip --profile dev
    KARS_VM_INIT=systemd KARS_VM_FORCE=1 tests/vm/run-ipvs-vm.sh tests/vm/package.sh target/debian/keepalived-rs_*_amd64.deb
fi
echo "== all tests passed"
