#!/usr/bin/env bash
# Build a minimal x86_64-softmmu QEMU with debug info from Debian's qemu
# source package, cached outside the checkout.  Prints the binary's path.
#
#   QEMUINIT_CACHE   cache root (default: ${XDG_CACHE_HOME:-~/.cache}/qemuinit)
#
# The build is reused when <cache>/qemu-<version>/build holds a finished
# build.  apt-get source needs a deb-src line (scripts/setup-system.sh adds one).
set -euo pipefail

CACHE=${QEMUINIT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/qemuinit}
mkdir -p "$CACHE"
cd "$CACHE"

# The source package version apt would fetch, e.g. 1:7.2+dfsg-7+deb12u18.
VERSION=$(apt-cache showsrc qemu 2>/dev/null | sed -n 's/^Version: //p' | sort -V | tail -n1)
if [ -z "$VERSION" ]; then
    echo "build-qemu: no qemu source package known to apt; run scripts/setup-system.sh" >&2
    exit 1
fi
TAG=$(echo "$VERSION" | sed 's/^[0-9]*://; s/[^A-Za-z0-9.+-]/_/g')
TOP="$CACHE/qemu-$TAG"
BIN="$TOP/build/qemu-system-x86_64"
STAMP="$TOP/build/.qemuinit-complete"

# A QEMU run from its build tree looks for firmware under build/qemu-bundle/
# (the configured --firmwarepath relocated there), not in /usr: point those
# directories at Debian's seabios, ipxe-qemu and qemu-system-data (option
# ROMs such as kvmvapic.bin) so no -L is needed.
link_firmware() {
    local bundle="$TOP/build/qemu-bundle"
    mkdir -p "$bundle/usr/share" "$bundle/usr/lib/ipxe"
    ln -sfn /usr/share/qemu "$bundle/usr/share/qemu"
    ln -sfn /usr/share/seabios "$bundle/usr/share/seabios"
    ln -sfn /usr/lib/ipxe/qemu "$bundle/usr/lib/ipxe/qemu"
}

if [ -x "$BIN" ] && [ -f "$STAMP" ]; then
    link_firmware
    echo "$BIN"
    exit 0
fi

if [ ! -d "$TOP/src" ]; then
    rm -rf "$TOP.fetch"
    mkdir -p "$TOP.fetch"
    (cd "$TOP.fetch" && apt-get source -q --only-source "qemu=$VERSION" >&2)
    src=$(find "$TOP.fetch" -mindepth 1 -maxdepth 1 -type d -name 'qemu-*' | head -n1)
    mkdir -p "$TOP"
    mv "$src" "$TOP/src"
    rm -rf "$TOP.fetch"
fi

# Built in place (debug info names sources relative to this directory);
# the stamp marks a finished build, so an interrupted one starts over.
rm -rf "$TOP/build"
mkdir -p "$TOP/build"
cd "$TOP/build"
# Only what qemuinit traces: one target, debug info, vhost-user and vhost-net,
# slirp for -netdev user.  Everything else off to keep the build ~2 minutes.
"$TOP/src/configure" \
    --target-list=x86_64-softmmu \
    --enable-debug \
    --disable-docs --disable-werror \
    --firmwarepath=/usr/share/qemu:/usr/share/seabios:/usr/lib/ipxe/qemu \
    --enable-slirp \
    --enable-vhost-user --enable-vhost-net --enable-vhost-kernel \
    --disable-gtk --disable-sdl --disable-vnc --disable-opengl --disable-spice \
    --disable-curses --disable-xen --disable-tools --disable-guest-agent \
    >&2
ninja -j"$(nproc)" qemu-system-x86_64 >&2
link_firmware
touch "$STAMP"
echo "$BIN"
