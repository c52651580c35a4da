#!/usr/bin/env bash
# The restart ("vdpa 重启"): a client connects and closes at once before
# dpdk-testpmd connects.  QEMU's first negotiation fails at GET_FEATURES, it
# goes back to qemu_chr_fe_wait_connected and negotiates with testpmd.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p out
.venv/bin/qemuinit trace --scenario vhost-user-restart --json out/restart.json \
    --report out/restart.txt "$@"
sed -n '/^vhost-user negotiation/,/^  backend offered/p' out/restart.txt
