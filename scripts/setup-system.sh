#!/usr/bin/env bash
# Install the Debian packages qemuinit needs (gdb, the venv package for
# gdb's own Python, graphviz, the QEMU build dependencies, firmware, DPDK's
# testpmd, chromium) and add deb-src lines for the running release's own
# suites so that its qemu source package can be fetched.  The release, its
# archive and keyring, and gdb's Python are read from the machine
# (/etc/os-release, apt's deb sources, gdb itself).  Idempotent; needs root
# (or sudo).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/apt-sources.sh
. "$HERE/apt-sources.sh"

SUDO=
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
export DEBIAN_FRONTEND=noninteractive

PACKAGES=(
    gdb graphviz fonts-wqy-microhei
    dpkg-dev build-essential ninja-build meson pkg-config flex bison python3-venv
    libglib2.0-dev libpixman-1-dev libslirp-dev zlib1g-dev libfdt-dev
    seabios ipxe-qemu qemu-system-data
    dpdk-dev
    qemu-system-x86     # Debian's own stripped QEMU: the tests trace it (degraded mode)
    chromium            # HTML reports are checked in headless chromium
    shellcheck          # scripts/lint.sh checks the shell scripts
)

RELEASE=$(release_codename)
if [ -z "$RELEASE" ]; then
    echo "setup-system: /etc/os-release names no release (VERSION_CODENAME)" >&2
    exit 1
fi
SRC_LIST=/etc/apt/sources.list.d/qemuinit-deb-src.sources

# deb-src for the release's own suites, from the machine's deb sources,
# unless the machine already has deb-src lines for the release.
need_update=0
others=$(grep -rlsE "^(deb-src[[:space:]].*[[:space:]]$RELEASE([[:space:]]|$)|Types:.*deb-src)" \
             /etc/apt/sources.list /etc/apt/sources.list.d/ | grep -vx "$SRC_LIST" || true)
if [ -z "$others" ]; then
    stanzas=$(deb_src_stanzas "$RELEASE")
    if [ -z "$stanzas" ]; then
        echo "setup-system: no deb line for $RELEASE among apt's sources to take deb-src lines from" >&2
        exit 1
    fi
    if [ "$stanzas" != "$(cat "$SRC_LIST" 2>/dev/null)" ]; then
        echo "$stanzas" | $SUDO tee "$SRC_LIST" >/dev/null
        need_update=1
    fi
fi

installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}
apt_install() {
    echo "qemuinit: installing $*"
    $SUDO apt-get install -y -q --no-install-recommends "$@"
}
if [ "$need_update" = 1 ] || ! installed gdb || [ -z "$(ls /var/lib/apt/lists/*Sources* 2>/dev/null)" ]; then
    $SUDO apt-get update -q
fi

# gdb first: the venv package is the one for the Python gdb embeds.
installed gdb || apt_install gdb
GDB_PY=$(gdb -nx -batch -ex 'python import sys; print("python%d.%d" % sys.version_info[:2])' 2>/dev/null | tail -n1)
case "$GDB_PY" in
python3.*)
    if apt-cache show "$GDB_PY-venv" >/dev/null 2>&1; then
        PACKAGES+=("$GDB_PY" "$GDB_PY-venv")
    else
        PACKAGES+=("$GDB_PY")
    fi ;;
*) echo "setup-system: gdb has no Python 3 ($GDB_PY)" >&2; exit 1 ;;
esac

missing=()
for p in "${PACKAGES[@]}"; do
    installed "$p" || missing+=("$p")
done
# testpmd ships in dpdk-dev; check the binary as well.
command -v dpdk-testpmd >/dev/null || [[ " ${missing[*]} " == *" dpdk-dev "* ]] || missing+=(dpdk-dev)

if [ "${#missing[@]}" -gt 0 ]; then
    apt_install "${missing[@]}" || { $SUDO apt-get update -q && apt_install "${missing[@]}"; }
fi
