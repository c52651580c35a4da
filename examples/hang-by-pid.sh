#!/usr/bin/env bash
# A QEMU started by hand that waits for its vhost-user backend, diagnosed by
# PID (qemuinit attaches, reads, detaches), then stopped by its PID.
set -euo pipefail
cd "$(dirname "$0")/.."
qemu=$(.venv/bin/python -c 'from gdb_qemuinit.qemu.binary import default_binary; print(default_binary())')
dir=$(mktemp -d)
"$qemu" -machine q35 -m 256M -nodefaults -display none -S \
    -chardev "socket,id=chr0,path=$dir/vhost-user.sock,server=on,wait=on" \
    -netdev vhost-user,id=net0,chardev=chr0 -device virtio-net-pci,netdev=net0 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
until [ -S "$dir/vhost-user.sock" ]; do sleep 0.1; done
.venv/bin/qemuinit hang "$pid"
