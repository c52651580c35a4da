#!/usr/bin/env bash
# The demo: the seed's own scenario.  QEMU waits as vhost-user server
# (-chardev socket,server=on,wait=on), qemuinit starts dpdk-testpmd as the
# client once QEMU listens, every vhost-user request is decoded, and testpmd's
# log is checked against it.  Writes out/vhost-user.{json,svg,txt}.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p out
.venv/bin/qemuinit trace --json out/vhost-user.json --svg out/vhost-user.svg \
    --report out/vhost-user.txt "$@"
sed -n '/^vhost-user negotiation/,$p' out/vhost-user.txt
