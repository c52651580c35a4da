"""Which QEMU to run: the project's debug build, its default command line,
and a check that a binary is QEMU at all (run before gdb starts it)."""

from __future__ import annotations

import json
import os
import re

from .datafile import cache_dir

_VERSION_RE = re.compile(r"QEMU emulator version (\S+)")


class QemuError(RuntimeError):
    """The QEMU binary is missing, not runnable, or not QEMU."""


def default_binary() -> str | None:
    """The newest finished debug build in the cache, or None."""
    import glob
    env = os.environ.get("QEMUINIT_QEMU")
    if env:
        return env
    builds = sorted(glob.glob(os.path.join(glob.escape(cache_dir()),
                                           "qemu-*", "build", ".qemuinit-complete")))
    return os.path.join(os.path.dirname(builds[-1]), "qemu-system-x86_64") if builds else None


def _versions_file() -> str:
    return os.path.join(cache_dir(), "versions.json")


def _known_version(key: str) -> str | None:
    try:
        with open(_versions_file(), encoding="utf-8") as f:
            value = json.load(f).get(key)
        return value if isinstance(value, str) else None
    except (OSError, ValueError, AttributeError):
        return None


def _remember_version(key: str, version: str) -> None:
    """Keep the answer of `--version` per binary (path, size, mtime): a
    rebuilt QEMU gets asked again.  Best effort: a failure costs a re-run."""
    try:
        f = _versions_file()
        os.makedirs(os.path.dirname(f), exist_ok=True)
        try:
            with open(f, encoding="utf-8") as fh:
                known = json.load(fh)
        except (OSError, ValueError):
            known = {}
        if not isinstance(known, dict) or len(known) > 200:
            known = {}
        known[key] = version
        tmp = f"{f}.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(known))
        os.replace(tmp, f)
    except OSError:
        pass


def check_binary(binary: str | os.PathLike) -> str:
    """Return QEMU's version string, or raise QemuError saying what is wrong."""
    path = os.fspath(binary)
    if not os.path.exists(path):
        raise QemuError(f"QEMU binary {path} does not exist")
    if os.path.isdir(path) or not os.access(path, os.X_OK):
        raise QemuError(f"QEMU binary {path} is not an executable file")
    st = os.stat(path)
    key = f"{os.path.realpath(path)}:{st.st_size}:{st.st_mtime_ns}"
    known = _known_version(key)
    if known:
        return known
    import subprocess
    try:
        out = subprocess.run([str(path), "--version"], capture_output=True, text=True,
                             timeout=20, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise QemuError(f"{path} could not be run: {exc}") from None
    m = _VERSION_RE.search(out.stdout)
    if not m:
        raise QemuError(f"{path} is not QEMU ('{os.path.basename(path)} --version' did not print "
                        f"'QEMU emulator version ...')")
    _remember_version(key, m.group(1))
    return m.group(1)
