#!/usr/bin/env bash
# Install the Debian packages qemuinit needs (gdb, graphviz, the QEMU build
# dependencies, firmware, DPDK's testpmd) and add a deb-src line so that
# Debian's qemu source package can be fetched.  Idempotent; needs root (or sudo).
set -euo pipefail

SUDO=
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi

PACKAGES=(
    gdb graphviz fonts-wqy-microhei python3.11 python3.11-venv
    dpkg-dev build-essential ninja-build meson pkg-config flex bison
    libglib2.0-dev libpixman-1-dev libslirp-dev zlib1g-dev libfdt-dev
    seabios ipxe-qemu qemu-system-data
    dpdk-dev
    qemu-system-x86     # Debian's own stripped QEMU: the tests trace it (degraded mode)
)

SRC_LIST=/etc/apt/sources.list.d/qemuinit-deb-src.sources

need_update=0
if ! grep -rqsE '^(deb-src|Types:.*deb-src)' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    # Same mirrors and suites as the binary lines, source packages only.
    $SUDO tee "$SRC_LIST" >/dev/null <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    need_update=1
fi

missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# testpmd ships in 'dpdk' under this name; check the binary as well.
command -v dpdk-testpmd >/dev/null || missing+=(dpdk-dev)

if [ "$need_update" = 1 ] || [ "${#missing[@]}" -gt 0 ] || [ -z "$(ls /var/lib/apt/lists/*Sources* 2>/dev/null)" ]; then
    $SUDO apt-get update -q
fi
if [ "${#missing[@]}" -gt 0 ]; then
    echo "qemuinit: installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
