"""Built-in scenarios (data/scenarios.toml) and what a QEMU command line says
about its socket chardevs: which socket QEMU listens on, and whether it waits."""

from __future__ import annotations

import functools
import os
from typing import NamedTuple

from .datafile import data_file, read_toml


class ScenarioError(ValueError):
    """No such scenario, or a malformed scenarios file."""


class Scenario(NamedTuple):
    name: str
    about: str
    qemu: tuple[str, ...]
    backend: tuple[str, ...]
    drop_first: bool = False

    def qemu_args(self, socket: str) -> list[str]:
        return expand(self.qemu, socket)

    def backend_argv(self, socket: str, prefix: str) -> list[str]:
        return expand(self.backend, socket, prefix)


def expand(args, socket: str, prefix: str = "") -> list[str]:
    """A scenario's or the user's --backend arguments with {socket} and
    {prefix} (the DPDK file prefix of the run) filled in."""
    return [a.replace("{socket}", socket).replace("{prefix}", prefix) for a in args]


@functools.lru_cache(maxsize=1)
def _data() -> dict:
    """The scenarios file, parsed once: the CLI's help and parser ask often."""
    return read_toml(data_file("scenarios.toml"))


def names() -> list[str]:
    return list(_data()["scenario"])


def default_name() -> str:
    return _data()["default"]


def backend_log_patterns() -> dict[str, str]:
    return dict(_data()["backend_log"])


def load(name: str | None = None) -> Scenario:
    """A scenario by name; `like` inherits another's keys."""
    data = _data()
    table = data["scenario"]
    name = name or data["default"]
    if name not in table:
        raise ScenarioError(f"no scenario {name!r}; scenarios: {', '.join(table)}")
    merged: dict = {}
    chain = [name]
    while "like" in table[chain[-1]]:
        chain.append(table[chain[-1]]["like"])
    for n in reversed(chain):
        merged.update({k: v for k, v in table[n].items() if k != "like"})
    return Scenario(name=name, about=merged.get("about", ""),
                    qemu=tuple(merged["qemu"]), backend=tuple(merged.get("backend", ())),
                    drop_first=bool(merged.get("drop_first", False)))


def private_dir() -> str:
    """A new directory only this user can enter (mkdtemp makes it 0700)."""
    import tempfile
    return tempfile.mkdtemp(prefix="qemuinit-")


def _options(value: str) -> list[str]:
    """QEMU's key=value list: ',' separates, ',,' is a literal comma."""
    parts, cur, i = [], "", 0
    while i < len(value):
        if value[i] == ",":
            if value[i + 1:i + 2] == ",":
                cur += ","
                i += 2
                continue
            parts.append(cur)
            cur = ""
        else:
            cur += value[i]
        i += 1
    parts.append(cur)
    return parts


def _flag(v: str) -> bool:
    return v in ("on", "yes", "true", "")


def server_sockets(argv: list[str]) -> list[dict]:
    """The unix-socket chardevs QEMU serves: [{"id", "path", "wait"}]."""
    out = []
    for i, arg in enumerate(argv[:-1]):
        if arg not in ("-chardev", "--chardev"):
            continue
        opts = _options(argv[i + 1])
        if not opts or opts[0] != "socket":
            continue
        kv = dict(o.split("=", 1) if "=" in o else (o, "") for o in opts[1:])
        if "nowait" in kv:      # the old spelling of wait=off
            kv["wait"] = "off"
        if "path" in kv and _flag(kv.get("server", "off")):
            out.append({"id": kv.get("id"), "path": kv["path"],
                        "wait": _flag(kv.get("wait", "on"))})
    return out


def socket_of(argv: list[str], chardev: str | None) -> dict | None:
    """The served socket of `chardev`, or the only one there is."""
    socks = server_sockets(argv)
    for s in socks:
        if chardev and s["id"] == chardev:
            return s
    return socks[0] if len(socks) == 1 else None


def is_private(directory: str) -> bool:
    """Only its owner can enter it: no group or other permission bits."""
    st = os.stat(directory)
    return st.st_uid == os.getuid() and not st.st_mode & 0o077
