#!/usr/bin/env bash
# The hang: no backend ever connects.  After --timeout seconds qemuinit
# interrupts QEMU, says where it blocks, on which socket and in which role,
# and what would unblock it; QEMU is killed.  Exits 1 (init did not complete).
# The second run has wait=off on the chardev: QEMU then blocks in the netdev.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p out
.venv/bin/qemuinit trace --scenario vhost-user-hang --timeout 5 --json out/hang.json || true
.venv/bin/qemuinit trace --scenario vhost-user-hang-netdev --timeout 5 \
    --json out/hang-netdev.json || true
