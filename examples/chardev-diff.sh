#!/usr/bin/env bash
# Two command lines, one diff: what a server chardev (wait=off) adds to the path.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p out
QEMU=$(bash scripts/build-qemu.sh)
ARGS=(-machine q35 -nodefaults -display none -S -netdev user,id=n0 -device virtio-net-pci,netdev=n0)
SOCKDIR=$(mktemp -d)       # private (0700): only you can reach the socket
trap 'rm -rf "$SOCKDIR"' EXIT
.venv/bin/qemuinit trace --json out/a.json -- "$QEMU" "${ARGS[@]}"
.venv/bin/qemuinit trace --json out/b.json -- "$QEMU" "${ARGS[@]}" \
    -chardev "socket,id=c0,path=$SOCKDIR/c.sock,server=on,wait=off"
.venv/bin/qemuinit diff out/a.json out/b.json
