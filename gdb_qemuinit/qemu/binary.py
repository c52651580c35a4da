"""Which QEMU to run: the project's debug build, its default command line,
and a check that a binary is QEMU at all (run before gdb starts it)."""

from __future__ import annotations

import functools
import os
import re

from ..datafile import cache_dir, load_cached, store_cached
from ..errors import QemuinitError

_VERSION_RE = re.compile(r"QEMU emulator version (\S+)")


class QemuError(QemuinitError, RuntimeError):
    """The QEMU binary is missing, not runnable, or not QEMU."""


def default_binary() -> str | None:
    """$QEMUINIT_QEMU, else the running release's own debug build: the
    binary named by <cache>/default-qemu (written by scripts/build-qemu.sh),
    else the newest finished build in <cache>/qemu-*/build-*; or None."""
    import glob
    env = os.environ.get("QEMUINIT_QEMU")
    if env:
        return env
    try:
        with open(os.path.join(cache_dir(), "default-qemu"), encoding="utf-8") as f:
            named = f.read().strip()
    except OSError:
        named = ""
    if named and os.path.isfile(named):
        return named
    builds = sorted(glob.glob(os.path.join(glob.escape(cache_dir()),
                                           "qemu-*", "build-*", ".qemuinit-complete")))
    return os.path.join(os.path.dirname(builds[-1]), "qemu-system-x86_64") if builds else None


def _binaries_file() -> str:
    return os.path.join(cache_dir(), "binaries.json")


def binary_key(path: str) -> str:
    """A binary's identity for the cache: a rebuilt QEMU is a new one."""
    st = os.stat(path)
    return f"{os.path.realpath(path)}:{st.st_size}:{st.st_mtime_ns}"


def known_facts(key: str) -> dict:
    """What earlier runs learnt of this binary: its "version" (from
    --version) and "functions" (name -> whether it has that symbol)."""
    facts = load_cached(_binaries_file()).get(key)
    return facts if isinstance(facts, dict) else {}


def remember_facts(key: str, **facts) -> None:
    """Add to what is known of a binary (best effort: a failure only costs
    asking again next time)."""
    every = load_cached(_binaries_file())
    if len(every) > 200:
        every = {}
    entry = every.get(key)
    if not isinstance(entry, dict):
        entry = {}
    entry.update(facts)
    every[key] = entry
    store_cached(_binaries_file(), every)


def check_binary(binary: str | os.PathLike) -> str:
    """Return QEMU's version string, or raise QemuError saying what is wrong."""
    path = os.fspath(binary)
    if not os.path.exists(path):
        raise QemuError(f"QEMU binary {path} does not exist")
    if os.path.isdir(path) or not os.access(path, os.X_OK):
        raise QemuError(f"QEMU binary {path} is not an executable file")
    key = binary_key(path)
    known = known_facts(key).get("version")
    if isinstance(known, str):
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
    remember_facts(key, version=m.group(1))
    return m.group(1)


def index_advice(binary: str | os.PathLike) -> str | None:
    """How to add a gdb index to a QEMU with debug info but none (gdb then
    reads its symbols lazily and a trace starts faster); said once per
    binary, None after that and for a binary that has one."""
    from .elf import lacks_gdb_index
    path = os.fspath(binary)
    try:
        key = binary_key(path)
    except OSError:
        return None
    if known_facts(key).get("index_advised") or not lacks_gdb_index(path):
        return None
    remember_facts(key, index_advised=True)
    return (f"qemuinit: {path} has no gdb index; gdb starts it faster with one "
            f"(Debian's gdb package has the command): gdb-add-index {path}")


@functools.lru_cache(maxsize=8)
def command_line_options(binary: str) -> dict[str, frozenset[str]]:
    """Every command-line option group this QEMU has and its parameters, as
    its QMP describes them (query-command-line-options), asked once per
    binary: what a release takes is read from the binary, e.g. -chardev's
    reconnect= (10.0 still takes it, 10.2 refuses it) or reconnect-ms= (from
    9.2)."""
    import json
    import subprocess
    qmp = ('{"execute": "qmp_capabilities"}\n'
           '{"execute": "query-command-line-options"}\n'
           '{"execute": "quit"}\n')
    try:
        out = subprocess.run([binary, "-machine", "none", "-nodefaults", "-display", "none",
                              "-qmp", "stdio"], input=qmp, capture_output=True, text=True,
                             timeout=60).stdout
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise QemuError(f"{binary} could not be run: {exc}") from None
    for line in out.splitlines():
        try:
            ret = json.loads(line).get("return")
        except ValueError:
            continue
        if isinstance(ret, list) and ret:
            return {o["option"]: frozenset(p["name"] for p in o["parameters"]) for o in ret}
    raise QemuError(f"{binary} described no command-line options over QMP")


def reconnect_option(binary: str, seconds: int) -> str:
    """-chardev's client retry, every `seconds`, in the spelling `binary` takes."""
    if "reconnect-ms" in command_line_options(binary).get("chardev", ()):
        return f"reconnect-ms={seconds * 1000}"
    return f"reconnect={seconds}"
