#!/usr/bin/env bash
# Fault injection: dpdk-testpmd connects through a relay that cuts its first
# connection right after SET_OWNER (or the request given as $1).  QEMU's
# round fails; the report leads with the first error, QEMU waits again and
# negotiates when testpmd reconnects.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p out
.venv/bin/qemuinit trace --cut-after "${1:-SET_OWNER}" --json out/cut.json \
    --report out/cut.txt
sed -n '/^First error/,/^$/p' out/cut.txt
