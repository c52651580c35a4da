"""libvirt's own generated QEMU command lines (tests/data/libvirt/*.args),
read as a shell reads them and adapted to run here.

An .args file is what libvirt's test suite expects libvirt to run: the
environment assignments first, then QEMU's argv, shell-quoted, one word or
option per line.  It names libvirt's directories, a monitor fd libvirt
passes, a host disk and a fixed TCP port; each difference made here to run
it on this machine is one named rule of ADAPTATIONS, applied to one option
(or the environment) at a time.  Everything else, JSON options included,
reaches QEMU exactly as libvirt wrote it.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from conftest import command_line_options
from gdb_qemuinit.qemu.binary import reconnect_option

DATA = Path(__file__).resolve().parent / "data" / "libvirt"

_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")


@dataclass
class LibvirtLine:
    """One .args file: the environment libvirt sets and QEMU's argv."""
    name: str
    env: dict[str, str]
    argv: list[str]

    def options(self) -> list[tuple[str, str | None]]:
        """argv after the binary as (option, value) pairs; libvirt writes no
        value that starts with '-'."""
        pairs: list[tuple[str, str | None]] = []
        for word in self.argv[1:]:
            if word.startswith("-"):
                pairs.append((word, None))
            else:
                option, value = pairs[-1]
                assert value is None, f"{self.name}: two values for {option}"
                pairs[-1] = (option, word)
        return pairs


def lines() -> list[Path]:
    """The vendored x86_64 .args files."""
    return sorted(DATA.glob("*.x86_64-latest.args"))


def read(path: Path) -> LibvirtLine:
    """Split an .args file as a POSIX shell would (backslash-newline joins
    lines; quotes as in the shell); leading NAME=VALUE words are the
    environment."""
    words = shlex.split(path.read_text().replace("\\\n", ""))
    env = {}
    while words and _ASSIGNMENT.match(words[0]):
        name, value = words.pop(0).split("=", 1)
        env[name] = value
    return LibvirtLine(path.name, env, words)


# ---------------------------------------------------------------- adapting
@dataclass
class Here:
    """Where the adapted line runs: the QEMU under test and a private
    directory for what libvirt's paths name."""
    qemu_binary: str
    tmp: Path
    # chardev id -> the socket path it now has (vhost-user sockets)
    sockets: dict[str, str] = field(default_factory=dict)
    applied: set[str] = field(default_factory=set)

    def private(self, name: str) -> Path:
        d = self.tmp / name
        d.mkdir(mode=0o700, parents=True, exist_ok=True)
        return d


Option = tuple[str, "str | None"]
Rewrite = Callable[[Here, str, "str | None"], "list[Option] | None"]


def _json(value: str | None) -> dict | None:
    return json.loads(value) if value and value.startswith("{") else None


def _compact(obj: dict) -> str:
    # JSON as libvirt writes it, without spaces
    return json.dumps(obj, separators=(",", ":"))


def _keyval(value: str) -> list[str]:
    return value.split(",")


def _monitor_fd_to_path(here: Here, option: str, value: str | None) -> list[Option] | None:
    # libvirt passes the monitor as an already-listening fd 1729; nothing
    # here passes it one, so the monitor listens on a path instead.
    if option != "-chardev" or value is None or "fd=" not in value:
        return None
    parts = [f"path={here.private('run') / 'monitor.sock'}" if p.startswith("fd=") else p
             for p in _keyval(value)]
    return [(option, ",".join(parts))]


def _secret_file_created(here: Here, option: str, value: str | None) -> list[Option] | None:
    # libvirt writes a 32-byte master key before starting QEMU.
    obj = _json(value) if option == "-object" else None
    if not obj or obj.get("qom-type") != "secret" or "file" not in obj:
        return None
    key = here.private("domain") / os.path.basename(obj["file"])
    key.write_bytes(os.urandom(32))
    obj["file"] = str(key)
    return [(option, _compact(obj))]


def _mem_path_created(here: Here, option: str, value: str | None) -> list[Option] | None:
    # libvirt creates the per-domain directory of a memory-backend-file
    # (hugetlbfs or /var/lib/libvirt/qemu/ram); QEMU makes the file in it.
    obj = _json(value) if option == "-object" else None
    if not obj or "mem-path" not in obj:
        return None
    obj["mem-path"] = str(here.private("ram") / os.path.basename(obj["mem-path"]))
    return [(option, _compact(obj))]


def _socket_paths_private(here: Here, option: str, value: str | None) -> list[Option] | None:
    # /tmp/vhost0.sock would collide with any other run on this machine;
    # libvirt's runtime directories (/var/run/libvirt/qemu/passt) are not here.
    if option != "-chardev" or value is None or not value.startswith("socket,"):
        return None
    parts = _keyval(value)
    if not any(p.startswith("path=") for p in parts):
        return None
    chardev = next(p[3:] for p in parts if p.startswith("id="))
    out = []
    for p in parts:
        if p.startswith("path="):
            p = f"path={here.private('sockets') / os.path.basename(p[5:])}"
            here.sockets[chardev] = p[5:]
        out.append(p)
    return [(option, ",".join(out))]


def _reconnect_as_this_binary_spells_it(here: Here, option: str,
                                        value: str | None) -> list[Option] | None:
    # reconnect=N became reconnect-ms=N*1000 in 9.2 and the old spelling is
    # gone in 10.2: the spelling is read from the binary's QMP.
    if option != "-chardev" or value is None or ",reconnect=" not in value:
        return None
    parts = [reconnect_option(here.qemu_binary, int(p.split("=")[1]))
             if p.startswith("reconnect=") else p for p in _keyval(value)]
    return [(option, ",".join(parts))]


def _sandbox_only_with_seccomp(here: Here, option: str, value: str | None) -> list[Option] | None:
    # -sandbox exists only in a QEMU built with seccomp (the suite's are
    # not): asked of the binary, dropped where it has no such option.
    if option != "-sandbox" or "sandbox" in command_line_options(here.qemu_binary):
        return None
    return []


def _host_device_as_null(here: Here, option: str, value: str | None) -> list[Option] | None:
    # /dev/HostVG/QEMUGuest1 is libvirt's example LVM volume; a null-co node
    # with the same node-name keeps the -device that uses it unchanged.
    obj = _json(value) if option == "-blockdev" else None
    if not obj or obj.get("driver") != "host_device":
        return None
    del obj["filename"]
    obj["driver"] = "null-co"
    return [(option, _compact(obj))]


def _listen_port_free(here: Here, option: str, value: str | None) -> list[Option] | None:
    # A fixed TCP port (":2015") may be taken by another run: a free one.
    obj = _json(value) if option == "-netdev" else None
    if not obj or obj.get("type") != "socket" or "listen" not in obj:
        return None
    host = obj["listen"].rsplit(":", 1)[0]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    obj["listen"] = f"{host}:{port}"
    return [(option, _compact(obj))]


# (name, rule), applied in this order: each rule sees the options the rules
# before it made, returns None to leave one alone, a replacement (an empty
# list drops it).
ADAPTATIONS: list[tuple[str, Rewrite]] = [
    ("sockets private", _socket_paths_private),
    ("monitor fd -> path", _monitor_fd_to_path),
    ("master key created", _secret_file_created),
    ("mem-path created", _mem_path_created),
    ("reconnect spelling", _reconnect_as_this_binary_spells_it),
    ("no -sandbox without seccomp", _sandbox_only_with_seccomp),
    ("host_device -> null-co", _host_device_as_null),
    ("free TCP port", _listen_port_free),
]


def adapt_env(env: dict[str, str], here: Here) -> dict[str, str]:
    """libvirt's environment for QEMU: HOME and XDG_* are the domain's
    directories (made in tmp here); PATH=/bin would hide gdb and
    dpdk-testpmd from qemuinit, which runs in this environment, so it stays
    ours; the rest (LC_ALL=C, USER, LOGNAME) is kept."""
    home = here.private("home")
    out = {}
    for name, value in env.items():
        if name == "PATH":
            continue
        if name == "HOME":
            value = str(home)
        elif name.startswith("XDG_"):
            value = str(home / value.rsplit("/", 1)[-1])
        out[name] = value
    return out


def adapt(line: LibvirtLine, here: Here) -> list[str]:
    """QEMU's argv to run here: the binary under test, each option through
    ADAPTATIONS.  here.applied names the rules that changed something."""
    argv = [here.qemu_binary]
    for option, value in line.options():
        current: list[Option] = [(option, value)]
        for name, rule in ADAPTATIONS:
            changed: list[Option] = []
            for o, v in current:
                replaced = rule(here, o, v)
                if replaced is not None:
                    here.applied.add(name)
                changed += [(o, v)] if replaced is None else replaced
            current = changed
        for o, v in current:
            argv += [o] if v is None else [o, v]
    return argv
