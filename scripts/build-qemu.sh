#!/usr/bin/env bash
# Build a minimal x86_64-softmmu QEMU with debug info and a gdb index from
# Debian's qemu source package, cached outside the checkout.  Prints the
# binary's path.
#
#   scripts/build-qemu.sh                the running release's own qemu (the default build)
#   scripts/build-qemu.sh --suite SUITE  another suite's qemu (trixie, sid, ...)
#
#   QEMUINIT_CACHE   cache root (default: ${XDG_CACHE_HOME:-~/.cache}/qemuinit)
#
#   scripts/build-qemu.sh --dry-run      say whether a build would be reused or made, and where
#
# The default build is <cache>/qemu-<version>/build-<recipe>, and
# <cache>/default-qemu names its binary (what qemuinit runs when
# QEMUINIT_QEMU is not set).  Another suite's build is
# <cache>/suite-<suite>/qemu-<version>/build-<recipe>; its source comes
# through a private apt configuration (<cache>/apt-<suite>: own sources list,
# lists and cache), so the system's apt sources are never changed.  A QEMU
# newer than the release's meson is configured with a newer meson from PyPI,
# installed in a venv inside the cache (<cache>/build-venv), never in the
# system.
#
# <recipe> is a hash of how the build is made: the configure arguments, the
# build steps (the functions below, as bash reads them: comments do not
# count) and the meson used.  A finished build (its stamp file) is reused
# only under the same recipe, so a change to this script's build rebuilds
# on every machine, CI included; builds of an older recipe are removed once
# the new one is finished.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/apt-sources.sh
. "$HERE/apt-sources.sh"

SUITE=
DRY_RUN=0
while [ $# -gt 0 ]; do
    case "$1" in
    --suite) SUITE=${2:?--suite needs a suite name}; shift 2 ;;
    --suite=*) SUITE=${1#--suite=}; shift ;;
    --dry-run) DRY_RUN=1; shift ;;
    -h|--help) sed -n '2,/^set /p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-qemu: unknown argument $1" >&2; exit 2 ;;
    esac
done

CACHE=${QEMUINIT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/qemuinit}
mkdir -p "$CACHE"
RELEASE=$(release_codename)
[ "$SUITE" = "$RELEASE" ] && SUITE=

APT=(apt-get)
APT_CACHE=(apt-cache)
if [ -n "$SUITE" ]; then
    # A private apt: the machine's archive and keyring, SUITE's sources only.
    PRIVATE="$CACHE/apt-$SUITE"
    mkdir -p "$PRIVATE/lists/partial" "$PRIVATE/cache/archives/partial" "$PRIVATE/parts"
    deb_src_stanzas "$SUITE" >"$PRIVATE/suite.sources"
    if [ ! -s "$PRIVATE/suite.sources" ]; then
        echo "build-qemu: no Debian archive among this machine's apt sources" >&2
        exit 1
    fi
    cp "$PRIVATE/suite.sources" "$PRIVATE/parts/suite.sources"
    OPTS=(-o "Dir::Etc::SourceList=/dev/null" -o "Dir::Etc::SourceParts=$PRIVATE/parts"
          -o "Dir::State::Lists=$PRIVATE/lists" -o "Dir::Cache=$PRIVATE/cache"
          -o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache=")
    APT=(apt-get "${OPTS[@]}")
    APT_CACHE=(apt-cache "${OPTS[@]}")
    # Lists older than a day are fetched again.
    if [ -z "$(find "$PRIVATE/lists" -maxdepth 1 -name '*Sources*' -mmin -1440 2>/dev/null)" ]; then
        "${APT[@]}" update -q >&2
    fi
fi

# The source package versions apt knows, newest first, e.g. 1:7.2+dfsg-7+deb12u18.
# A suite may list a version its mirror does not serve (yet): the newest one
# whose source can be fetched is built.
mapfile -t VERSIONS < <("${APT_CACHE[@]}" showsrc qemu 2>/dev/null | sed -n 's/^Version: //p' | sort -rV | uniq)
if [ "${#VERSIONS[@]}" = 0 ]; then
    echo "build-qemu: no qemu source package known to apt${SUITE:+ for $SUITE}; run scripts/setup-system.sh" >&2
    exit 1
fi
top_of() {  # the build's directory for a source version
    local tag
    tag=$(echo "$1" | sed 's/^[0-9]*://; s/[^A-Za-z0-9.+-]/_/g')
    if [ -n "$SUITE" ]; then echo "$CACHE/suite-$SUITE/qemu-$tag"; else echo "$CACHE/qemu-$tag"; fi
}
fetch_source() {  # fetch_source VERSION TOP: unpack the source into TOP/src
    local src
    [ -d "$2/src" ] && return 0
    rm -rf "$2.fetch"
    mkdir -p "$2.fetch"
    if ! (cd "$2.fetch" && "${APT[@]}" source -q --only-source "qemu=$1" >&2); then
        rm -rf "$2.fetch"
        return 1
    fi
    src=$(find "$2.fetch" -mindepth 1 -maxdepth 1 -type d -name 'qemu-*' | head -n1)
    mkdir -p "$2"
    mv "$src" "$2/src"
    rm -rf "$2.fetch"
}
TOP=
for v in "${VERSIONS[@]}"; do
    t=$(top_of "$v")
    if fetch_source "$v" "$t"; then
        TOP=$t
        break
    fi
    echo "build-qemu: qemu $v is listed but its source could not be fetched; trying an older one" >&2
done
if [ -z "$TOP" ]; then
    echo "build-qemu: no qemu source package could be fetched${SUITE:+ for $SUITE}" >&2
    exit 1
fi
TAG=$(basename "$TOP")

# QEMU's configure says which meson it needs (meson.build's
# meson_version); if the system's is older, a build-only venv in the cache
# gets one from PyPI.  configure then runs on that venv's Python (--python),
# and QEMU's own build venv inherits its packages.  With the system's meson
# no --python is given: QEMU 7.2's configure takes an explicit --python to
# mean its embedded meson, which Debian's source does not ship.
PYTHON_ARGS=()
need=$(sed -n "s/.*meson_version: *'>=\([0-9.]*\)'.*/\1/p" "$TOP/src/meson.build" | head -n1)
MESON_USED="system $(meson --version 2>/dev/null || echo 0)"
version_below() {  # version_below NEED HAVE: HAVE is older than NEED
    [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n1)" != "$1" ]
}
if [ -n "$need" ] && version_below "$need" "${MESON_USED#system }"; then
    VENV="$CACHE/build-venv"
    vhave=$("$VENV/bin/meson" --version 2>/dev/null || echo 0)
    if version_below "$need" "$vhave" && [ "$DRY_RUN" = 0 ]; then
        echo "build-qemu: $TAG needs meson >= $need (the system has ${MESON_USED#system }): installing it in $VENV" >&2
        [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV" >&2
        "$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade "meson>=$need" >&2
        vhave=$("$VENV/bin/meson" --version)
    fi
    MESON_USED="venv $vhave"
    PYTHON_ARGS=(--python="$VENV/bin/python")
fi

# Only what qemuinit traces: one target, debug info, vhost-user and vhost-net,
# slirp for -netdev user.  Everything else off to keep the build short.
CONFIGURE_ARGS=(
    "${PYTHON_ARGS[@]}"
    --target-list=x86_64-softmmu
    --enable-debug
    --disable-docs --disable-werror --disable-install-blobs
    --firmwarepath=/usr/share/qemu:/usr/share/seabios:/usr/lib/ipxe/qemu
    --enable-slirp
    --enable-vhost-user --enable-vhost-net --enable-vhost-kernel
    --disable-gtk --disable-sdl --disable-vnc --disable-opengl --disable-spice
    --disable-curses --disable-xen --disable-tools --disable-guest-agent
)

# A QEMU run from its build tree looks for firmware under build/qemu-bundle/
# (the configured --firmwarepath relocated there), not in /usr: point those
# directories at Debian's seabios, ipxe-qemu and qemu-system-data (option
# ROMs such as kvmvapic.bin) so no -L is needed.
link_firmware() {
    local bundle="$BUILD/qemu-bundle"
    mkdir -p "$bundle/usr/share" "$bundle/usr/lib/ipxe"
    ln -sfn /usr/share/qemu "$bundle/usr/share/qemu"
    ln -sfn /usr/share/seabios "$bundle/usr/share/seabios"
    ln -sfn /usr/lib/ipxe/qemu "$bundle/usr/lib/ipxe/qemu"
}

# gdb reads an indexed binary's symbols lazily: a traced start is faster.
# The index is added to a copy that replaces the binary in one rename, so a
# gdb or QEMU already running from it keeps its file.
add_gdb_index() {
    if readelf -SW "$BIN" | grep -q '\.gdb_index'; then
        return 0
    fi
    local dir tmp
    dir=$(dirname "$BIN")
    tmp=$(mktemp -d "$dir/.index.XXXXXX")
    cp -p "$BIN" "$tmp/qemu-system-x86_64"
    if gdb-add-index "$tmp/qemu-system-x86_64" >&2; then
        mv -f "$tmp/qemu-system-x86_64" "$BIN"
    else
        echo "build-qemu: gdb-add-index failed; the build stays without an index" >&2
    fi
    rm -rf "$tmp"
}

# Built in place (debug info names sources relative to this directory);
# the stamp marks a finished build, so an interrupted one starts over.
compile_qemu() {
    rm -rf "$BUILD"
    mkdir -p "$BUILD"
    (cd "$BUILD" && "$TOP/src/configure" "${CONFIGURE_ARGS[@]}" >&2 &&
        ninja -j"$(nproc)" qemu-system-x86_64 >&2)
}

# The recipe: everything above that decides what the build is.  The venv's
# path is the cache's, so only the meson version counts, not where it is.
RECIPE=$( {
    printf '%s\n' "${CONFIGURE_ARGS[@]}" | sed "s|^--python=.*|--python=build-venv|"
    echo "meson: $MESON_USED"
    declare -f compile_qemu link_firmware add_gdb_index
} | sha256sum | cut -c1-12)
BUILD="$TOP/build-$RECIPE"
BIN="$BUILD/qemu-system-x86_64"
STAMP="$BUILD/.qemuinit-complete"

if [ "$DRY_RUN" = 1 ]; then
    if [ -x "$BIN" ] && [ -f "$STAMP" ]; then echo "reuse $BUILD"; else echo "build $BUILD"; fi
    exit 0
fi

if ! [ -x "$BIN" ] || ! [ -f "$STAMP" ]; then
    echo "build-qemu: building $TAG (recipe $RECIPE) in $BUILD" >&2
    compile_qemu
fi
link_firmware
add_gdb_index
touch "$STAMP"
# Builds of other recipes of this version are stale.
for old in "$TOP"/build "$TOP"/build-*; do
    [ -d "$old" ] && [ "$old" != "$BUILD" ] && rm -rf "$old"
done
[ -n "$SUITE" ] || echo "$BIN" >"$CACHE/default-qemu"
echo "$BIN"
