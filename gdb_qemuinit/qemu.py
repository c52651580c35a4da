"""Which QEMU to run: the project's debug build, its default command line,
and a check that a binary is QEMU at all (run before gdb starts it)."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent
BUILD_SCRIPT = CHECKOUT / "scripts" / "build-qemu.sh"

_VERSION_RE = re.compile(r"QEMU emulator version (\S+)")


class QemuError(RuntimeError):
    """The QEMU binary is missing, not runnable, or not QEMU."""


def cache_dir() -> Path:
    env = os.environ.get("QEMUINIT_CACHE")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(xdg) / "qemuinit"


def default_binary() -> Path | None:
    """The newest finished debug build in the cache, or None."""
    env = os.environ.get("QEMUINIT_QEMU")
    if env:
        return Path(env)
    builds = sorted(cache_dir().glob("qemu-*/build/.qemuinit-complete"))
    return builds[-1].parent / "qemu-system-x86_64" if builds else None


def _versions_file() -> Path:
    return cache_dir() / "versions.json"


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
        f.parent.mkdir(parents=True, exist_ok=True)
        try:
            known = json.loads(f.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            known = {}
        if not isinstance(known, dict) or len(known) > 200:
            known = {}
        known[key] = version
        tmp = f.with_name(f"{f.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(known), encoding="utf-8")
        os.replace(tmp, f)
    except OSError:
        pass


def check_binary(binary: str | os.PathLike) -> str:
    """Return QEMU's version string, or raise QemuError saying what is wrong."""
    path = Path(binary)
    if not path.exists():
        raise QemuError(f"QEMU binary {path} does not exist")
    if path.is_dir() or not os.access(path, os.X_OK):
        raise QemuError(f"QEMU binary {path} is not an executable file")
    st = path.stat()
    key = f"{path.resolve()}:{st.st_size}:{st.st_mtime_ns}"
    known = _known_version(key)
    if known:
        return known
    try:
        out = subprocess.run([str(path), "--version"], capture_output=True, text=True,
                             timeout=20, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise QemuError(f"{path} could not be run: {exc}") from None
    m = _VERSION_RE.search(out.stdout)
    if not m:
        raise QemuError(f"{path} is not QEMU ('{path.name} --version' did not print "
                        f"'QEMU emulator version ...')")
    _remember_version(key, m.group(1))
    return m.group(1)
