#!/usr/bin/env bash
# Set up qemuinit on a Debian machine (12 or 13): system packages, the debug QEMU
# (built once, cached outside the checkout), and .venv made from gdb's own
# Python so that pygments and graphviz import inside gdb.  Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup-system.sh
bash scripts/build-qemu.sh >/dev/null

# gdb embeds Debian's python3.X; the venv must be made from that interpreter.
GDB_PYTHON=$(gdb -nx -batch -ex 'python import sys, os; print(os.path.join(sys.base_prefix, "bin", "python%d.%d" % sys.version_info[:2]))' 2>/dev/null | tail -n1)
if [ ! -x "$GDB_PYTHON" ]; then
    echo "setup: cannot find gdb's Python ($GDB_PYTHON)" >&2
    exit 1
fi
if [ -x .venv/bin/python ] && ! .venv/bin/python -c 'import sys; sys.exit(sys.base_prefix != "'"$(dirname "$(dirname "$GDB_PYTHON")")"'")'; then
    echo "setup: .venv was not made from gdb's Python; making it again" >&2
    rm -rf .venv
fi
[ -x .venv/bin/python ] || "$GDB_PYTHON" -m venv .venv
# An editable install that puts the checkout on sys.path with a plain .pth
# line: the default (an import hook) costs every qemuinit command ~15 ms
# of Python start-up.
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]' \
    --config-settings editable_mode=compat
# Byte-compile now: gdb may run with PYTHONDONTWRITEBYTECODE set, and then
# would compile every module at each start.
.venv/bin/python -m compileall -q gdb_qemuinit >/dev/null
echo "setup: done; QEMU: $(bash scripts/build-qemu.sh)"
