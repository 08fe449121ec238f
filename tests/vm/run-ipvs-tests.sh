#!/usr/bin/env bash
# Build keepalived-ipvs's real-kernel tests on the host and run them in one
# VM boot (or directly when the host kernel has IPVS).
#   tests/vm/run-ipvs-tests.sh [extra test-binary args, e.g. a test name]
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=$(cargo test -p keepalived-ipvs --test kernel --no-run --message-format=json |
    sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | grep '/kernel-' | tail -1)
[ -x "$bin" ] || { echo "ipvs-kernel-tests: could not build the kernel test binary" >&2; exit 125; }
exec "$(dirname "$0")/run-ipvs-vm.sh" "$bin" --include-ignored --test-threads=1 --nocapture "$@"
