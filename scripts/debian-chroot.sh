#!/usr/bin/env bash
# Run a command as root in a fresh Debian system (SUITE, e.g. trixie) made
# with debootstrap, with a copy of this checkout at /root/qemuinit.  Used by
# CI to run the README's commands on another Debian release.
#
#   scripts/debian-chroot.sh SUITE COMMAND...     (needs root; COMMAND runs in bash -c)
#
# The base system is made once and kept as a tarball
# (<cache>/chroot/SUITE-base.tar); each run unpacks it into a new root, so
# every run starts from a fresh system.  What the commands build or download
# is kept between runs (the root's qemuinit cache, apt's downloaded
# packages, pip's cache) in <cache>/chroot/SUITE-keep, bound into the root.
# Everything else the commands install stays in the root, which is removed
# afterwards.  /proc, /sys, /dev and /dev/pts are bound, /dev/shm is a new
# tmpfs (DPDK keeps its runtime files there); all of it in a private mount
# namespace, unmounted when the command ends or fails.  Processes left in
# the root when the command ends are stopped.
#
# Apt and pip inside reach the registries as this machine does: its CA
# certificates, its apt.conf.d, its pip configuration and proxy variables are
# copied in.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/apt-sources.sh
. "$HERE/apt-sources.sh"

# Every mount below is made in a private mount namespace: none is seen
# outside, and none outlives the run.
if [ -z "${QEMUINIT_CHROOT_NS:-}" ]; then
    exec unshare --mount --propagation private env QEMUINIT_CHROOT_NS=1 bash "$0" "$@"
fi

SUITE=${1:?usage: debian-chroot.sh SUITE COMMAND...}
shift
[ $# -gt 0 ] || { echo "debian-chroot: no command" >&2; exit 2; }
CACHE=${QEMUINIT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/qemuinit}
DIR="$CACHE/chroot"
BASE="$DIR/$SUITE-base.tar"
KEEP="$DIR/$SUITE-keep"
mkdir -p "$DIR" "$KEEP/qemuinit" "$KEEP/apt-archives/partial" "$KEEP/pip"

# The archive this machine's apt uses for its own release, and its keyring.
IFS=$'\t' read -r MIRROR _ _ KEYRING < <(deb_sources | awk -F'\t' -v r="$(release_codename)" '$2 == r' | head -n1)
: "${MIRROR:?debian-chroot: no Debian archive among this machine apt sources}"

if [ ! -s "$BASE" ]; then
    command -v debootstrap >/dev/null || {
        echo "debian-chroot: installing debootstrap" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap >&2
    }
    work=$(mktemp -d "$DIR/.base.XXXXXX")
    trap 'rm -rf "$work"' EXIT
    echo "debian-chroot: debootstrap $SUITE from $MIRROR (once; kept in $BASE)" >&2
    debootstrap --variant=minbase --include=ca-certificates \
        ${KEYRING:+--keyring="$KEYRING"} "$SUITE" "$work/root" "$MIRROR" >&2
    # The system's apt sources as a Debian installer writes them: the
    # release, its updates and its security suite.
    rm -f "$work/root/etc/apt/sources.list"
    deb_src_stanzas "$SUITE" | sed 's/^Types: deb-src/Types: deb/' \
        >"$work/root/etc/apt/sources.list.d/debian.sources"
    tar -C "$work/root" -cf "$BASE.tmp" .
    mv "$BASE.tmp" "$BASE"
    rm -rf "$work"
    trap - EXIT
fi

ROOT=$(mktemp -d "$DIR/$SUITE-root.XXXXXX")
MOUNTS=()
cleanup() {
    local rc=$? pid i
    # Nothing may go on running inside the root.
    for pid in /proc/[0-9]*; do
        pid=${pid#/proc/}
        [ "$(readlink "/proc/$pid/root" 2>/dev/null)" = "$ROOT" ] || continue
        echo "debian-chroot: stopping process $pid left in the root: $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" >&2
        kill -KILL "$pid" 2>/dev/null || true
    done
    for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do
        umount "${MOUNTS[$i]}" 2>/dev/null || umount -l "${MOUNTS[$i]}" || true
    done
    if ! grep -q " ${ROOT}[/ ]" /proc/self/mounts; then
        rm -rf "$ROOT"
    else
        echo "debian-chroot: $ROOT still has mounts; left in place" >&2
        rc=1
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

tar -C "$ROOT" -xf "$BASE"
bind() {  # bind SOURCE TARGET-IN-ROOT [ro]
    mkdir -p "$ROOT$2"
    mount --bind "$1" "$ROOT$2"
    MOUNTS+=("$ROOT$2")
    [ "${3:-}" != ro ] || mount -o remount,bind,ro "$ROOT$2"
}
mount -t proc proc "$ROOT/proc"; MOUNTS+=("$ROOT/proc")
bind /sys /sys
bind /dev /dev
bind /dev/pts /dev/pts
mount -t tmpfs -o mode=1777 shm "$ROOT/dev/shm"; MOUNTS+=("$ROOT/dev/shm")
bind "$KEEP/qemuinit" /root/.cache/qemuinit
bind "$KEEP/apt-archives" /var/cache/apt/archives
bind "$KEEP/pip" /root/.cache/pip

# How this machine reaches the registries.
if [ -d /usr/local/share/ca-certificates ]; then
    cp -a /usr/local/share/ca-certificates/. "$ROOT/usr/local/share/ca-certificates/"
fi
cp -a /etc/apt/apt.conf.d/. "$ROOT/etc/apt/apt.conf.d/"
# Keep downloaded packages (the machine may be set to delete them).
rm -f "$ROOT/etc/apt/apt.conf.d/docker-clean"
for f in /etc/pip.conf /etc/xdg/pip; do
    [ -e "$f" ] && mkdir -p "$ROOT$(dirname "$f")" && cp -a "$f" "$ROOT$(dirname "$f")/"
done
# Local package directories pip is pointed at (find-links, file:// indexes).
for d in $( (cat /etc/pip.conf /etc/xdg/pip/pip.conf ~/.config/pip/pip.conf 2>/dev/null; env) |
            grep -oE '(file://)?/[^ "]+' | sed 's|^file://||' | sort -u); do
    case "$d" in /opt/*|/srv/*) [ -d "$d" ] && bind "$d" "$d" ro ;; esac
done
cp /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true
ENV=(HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
     LANG=C.UTF-8 TERM=dumb DEBIAN_FRONTEND=noninteractive CI="${CI:-}")
for v in $(env | grep -iE '^(https?|no|all)_proxy=|^PIP_' | cut -d= -f1); do
    ENV+=("$v=${!v}")
done

# This checkout, without its venv.
mkdir -p "$ROOT/root/qemuinit"
tar -C "$HERE/.." --exclude=./.venv --exclude=./.git --exclude='__pycache__' -cf - . | tar -C "$ROOT/root/qemuinit" -xf -

chroot "$ROOT" /usr/bin/env -i "${ENV[@]}" /bin/bash -c 'update-ca-certificates >/dev/null 2>&1 && cd /root/qemuinit && '"$*"
