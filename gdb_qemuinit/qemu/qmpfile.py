"""A file of QMP commands (trace --qmp FILE): one JSON object a line, as
libvirt sends them ({"execute": ..., "arguments": {...}}); blank lines and
lines starting with # are skipped, and so is qmp_capabilities (qemuinit
negotiates that itself).  {dir} stands for the run's private directory."""

from __future__ import annotations

import json

from ..errors import QemuinitError


class QmpFileError(QemuinitError, ValueError):
    """A line that is no QMP command."""


def parse(text: str, where: str = "QMP file") -> list[dict]:
    commands = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            doc = json.loads(line)
        except ValueError as exc:
            raise QmpFileError(f"{where}:{n}: not JSON: {exc}") from None
        if not isinstance(doc, dict) or not isinstance(doc.get("execute"), str):
            raise QmpFileError(f"{where}:{n}: not a QMP command: an object with "
                               f"\"execute\" (a string) is needed")
        if "arguments" in doc and not isinstance(doc["arguments"], dict):
            raise QmpFileError(f"{where}:{n}: \"arguments\" must be an object")
        unknown = set(doc) - {"execute", "arguments", "id"}
        if unknown:
            raise QmpFileError(f"{where}:{n}: unknown key {sorted(unknown)[0]!r}")
        if doc["execute"] != "qmp_capabilities":
            commands.append(doc)
    if not commands:
        raise QmpFileError(f"{where}: no QMP command in it")
    return commands


def with_dir(commands: list[dict], directory: str) -> list[dict]:
    """The commands with {dir} in their strings filled in."""
    def fill(v):
        if isinstance(v, str):
            return v.replace("{dir}", directory)
        if isinstance(v, list):
            return [fill(x) for x in v]
        if isinstance(v, dict):
            return {k: fill(x) for k, x in v.items()}
        return v
    return [fill(c) for c in commands]


def socket_chardevs(commands: list[dict]) -> list[tuple[str, str, bool]]:
    """Each chardev-add of a unix socket: (id, path, QEMU the server?)."""
    out = []
    for c in commands:
        if c["execute"] != "chardev-add":
            continue
        args = c.get("arguments") or {}
        backend = args.get("backend") or {}
        data = backend.get("data") or {}
        addr = (data.get("addr") or {})
        path = (addr.get("data") or {}).get("path")
        if backend.get("type") == "socket" and addr.get("type") == "unix" and path:
            # QAPI: server defaults to true
            out.append((str(args.get("id")), str(path), bool(data.get("server", True))))
    return out
