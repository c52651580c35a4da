#!/usr/bin/env bash
# No backend: trace a q35 QEMU with one virtio-net-pci on a user
# netdev, write the trace, the report and the coloured graph to ./out/.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p out
.venv/bin/qemuinit trace --scenario user-netdev --json out/user.json --svg out/user.svg --report out/user.txt
