#!/usr/bin/env bash
# The seed's question: where is PCIe config space initialized?  On q35, a NIC on
# the root bus and one behind a pcie-root-port.
set -euo pipefail
cd "$(dirname "$0")/.."
QEMU=$(bash scripts/build-qemu.sh)
.venv/bin/qemuinit where pci-config -- "$QEMU" -machine q35 -nodefaults -display none -S \
    -netdev user,id=n0 -device virtio-net-pci,netdev=n0,id=nic0 \
    -device pcie-root-port,id=rp1,bus=pcie.0,chassis=1 \
    -netdev user,id=n1 -device virtio-net-pci,netdev=n1,bus=rp1,id=nic1
