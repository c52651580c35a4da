"""Built-in scenarios (data/scenarios.toml) and the run's private directory.
What a QEMU command line asks for (its sockets, netdevs, ...) is read from
its model, qemu/cmdline.py."""

from __future__ import annotations

import functools
import os
from typing import NamedTuple

from ..datafile import data_file, read_toml
from ..errors import QemuinitError


class ScenarioError(QemuinitError, ValueError):
    """No such scenario, or a malformed scenarios file."""


class Scenario(NamedTuple):
    name: str
    about: str
    qemu: tuple[str, ...]
    backend: str = ""           # a built-in backend ([backends.NAME]), or none
    drop_first: bool = False
    until: str | None = None    # the phase a trace of it goes to (model/phases.py)
    qmp: str | None = None      # its QMP commands after init: a file of data/qmp/

    def qemu_args(self, socket: str, directory: str | None = None) -> list[str]:
        """The QEMU arguments with {socket} and {dir} (the run's private
        directory, by default the socket's) filled in."""
        directory = directory if directory is not None else os.path.dirname(socket)
        return [a.replace("{socket}", socket).replace("{dir}", directory) for a in self.qemu]


def expand(args, socket: str, prefix: str = "", queues: int = 1) -> list[str]:
    """A built-in or the user's --backend arguments with {socket}, {prefix}
    (the backend's DPDK file prefix) and {queues} filled in."""
    return [a.replace("{socket}", socket).replace("{prefix}", prefix)
            .replace("{queues}", str(queues)) for a in args]


@functools.lru_cache(maxsize=1)
def _data() -> dict:
    """The scenarios file, parsed once: the CLI's help and parser ask often."""
    return read_toml(data_file("scenarios.toml"))


def names() -> list[str]:
    return list(_data()["scenario"])


def default_name() -> str:
    return _data()["default"]


def backend_log_patterns() -> dict:
    return dict(_data()["backend_log"])


def builtin_backend(name: str, qemu_role: str) -> list[str]:
    """A built-in backend's command for a chardev where QEMU is `qemu_role`
    ('server': QEMU listens, the backend connects; 'client': the backend
    listens first)."""
    table = _data().get("backends", {})
    if name not in table:
        raise ScenarioError(f"no built-in backend {name!r}; backends: {', '.join(table)}")
    return list(table[name][f"qemu-{qemu_role}"])


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
                    qemu=tuple(merged["qemu"]), backend=str(merged.get("backend", "")),
                    drop_first=bool(merged.get("drop_first", False)),
                    until=merged.get("until"), qmp=merged.get("qmp"))


def private_dir() -> str:
    """A new directory only this user can enter (mkdtemp makes it 0700)."""
    import tempfile
    return tempfile.mkdtemp(prefix="qemuinit-")


def is_private(directory: str) -> bool:
    """Only its owner can enter it: no group or other permission bits."""
    st = os.stat(directory)
    return st.st_uid == os.getuid() and not st.st_mode & 0o077
