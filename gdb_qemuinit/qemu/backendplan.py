"""Which backend serves which vhost-user chardev: one per chardev that has
a command (--backend, --testpmd or the scenario's), in the role its chardev
needs, each with its own DPDK file prefix and log."""

from __future__ import annotations

import os
import re
import shlex
import shutil

from ..errors import CliError
from . import scenario
from .backend import Backend
from .cmdline import Chardev, QemuCommandLine

# What --testpmd starts ([backends] in scenarios.toml).
BUILTIN_BACKEND = "dpdk-testpmd"


def backend_sockets(cl: QemuCommandLine) -> list[tuple[Chardev, int]]:
    """The unix-socket chardevs a backend serves, with their netdev's queue
    pairs: those of the vhost-user netdevs, in command-line order (else, for
    a command line without one, the sockets QEMU serves)."""
    out: dict[str, tuple[Chardev, int]] = {}
    for netdev, chardev in cl.vhost_user():
        if chardev is not None and chardev.backend == "socket" and chardev.path and chardev.id:
            out.setdefault(chardev.id, (chardev, netdev.queues))
    if not out:
        return [(c, 1) for c in cl.server_sockets() if c.path and c.id]
    return list(out.values())


def assign_backends(commands: list[str], ids: list[str]) -> dict[str, str]:
    """Which --backend serves which chardev: CHARDEV=CMD names it, a plain
    CMD goes to the next chardev not named, in order."""
    named: dict[str, str] = {}
    plain: list[str] = []
    for cmd in commands:
        m = re.match(r"([^\s=]+)=(.*)", cmd, re.S)
        if m and m.group(1) in ids:
            if m.group(1) in named:
                raise CliError(f"two --backend for chardev {m.group(1)}")
            named[m.group(1)] = m.group(2)
        else:
            plain.append(cmd)
    free = [i for i in ids if i not in named]
    if len(plain) > len(free):
        raise CliError(f"{len(commands)} --backend for {len(ids)} vhost-user chardevs "
                       f"({', '.join(ids)})")
    named.update(zip(free, plain))
    return named


def plan_backends(command_line: QemuCommandLine, commands: list[str], builtin: str,
                  private: str, drop_first: bool = False) -> list[Backend]:
    """One backend per vhost-user chardev that has a command: in the role
    its chardev needs (QEMU's server: connects once QEMU listens; QEMU's
    client: listens first), each with its own DPDK file prefix and log."""
    sockets = backend_sockets(command_line)
    if commands and not sockets:
        raise CliError("--backend needs a -netdev vhost-user with a -chardev "
                       "socket,path=... (or a -chardev socket,path=...,server=on)")
    assigned = assign_backends(commands, [c.id or "" for c, _ in sockets])
    backends: list[Backend] = []
    for i, (chardev, queues) in enumerate(sockets):
        sock = chardev.path or ""        # backend_sockets keeps those with a path
        if chardev.id in assigned:
            args = shlex.split(assigned[chardev.id])
        elif builtin:
            args = scenario.builtin_backend(builtin, chardev.role)
        else:
            continue
        if not args:
            raise CliError(f"an empty --backend for chardev {chardev.id}")
        if not shutil.which(args[0]):
            raise CliError(f"backend {args[0]!r} not found (scripts/setup.sh "
                           f"installs dpdk-testpmd; --no-backend runs without one)")
        prefix = f"qemuinit-{os.getpid()}-{i}"
        drop = drop_first and chardev.server and not any(
            b.drop_first for b in backends)
        backends.append(Backend(scenario.expand(args, sock, prefix, queues),
                                sock,
                                os.path.join(private, f"backend-{i}.log"),
                                drop_first=drop, dpdk_prefix=prefix, chardev=chardev.id,
                                qemu_role=chardev.role))
    return backends
