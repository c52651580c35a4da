#!/bin/sh
# Two vhost-user NICs, one per socket role, then one NIC with 4 queue
# pairs: each with its own dpdk-testpmd, each round on its own chardev.
set -e
cd "$(dirname "$0")/.."
mkdir -p out
for s in vhost-user-two-roles vhost-user-multiqueue; do
    .venv/bin/qemuinit trace --scenario "$s" --json "out/$s.json" --report "out/$s.txt" "$@"
done
