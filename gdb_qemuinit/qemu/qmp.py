"""A QMP client on QEMU's own socket (-qmp unix:PATH,server=on,wait=off), as
libvirt speaks it: the greeting, qmp_capabilities, then one command at a
time, each answered by "return" or "error"; events that arrive meanwhile
are kept."""

from __future__ import annotations

import json
import socket
import time

from ..errors import QemuinitError


class QmpError(QemuinitError):
    """QEMU answered a command with an error, or the monitor went away."""


class Qmp:
    def __init__(self, path: str, timeout: float = 30):
        self.path = path
        self.timeout = timeout
        self.events: list[dict] = []
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.settimeout(timeout)
        self._buf = b""
        try:
            self._sock.connect(path)
            greeting = self._message()
            if "QMP" not in greeting:
                raise QmpError(f"{path}: not a QMP monitor (it said {greeting!r})")
            self.execute("qmp_capabilities")
        except OSError as exc:
            self._sock.close()
            raise QmpError(f"QMP at {path}: {exc}") from None

    def execute(self, command: str, arguments: dict | None = None) -> object:
        """Send one command, wait for its answer: its "return" value, or
        QmpError with QEMU's "error" description."""
        doc: dict = {"execute": command}
        if arguments is not None:
            doc["arguments"] = arguments
        return self.send(doc)

    def send(self, doc: dict) -> object:
        """Send one QMP command object as it is (a line of a --qmp file)."""
        try:
            self._sock.sendall(json.dumps(doc).encode() + b"\n")
            while True:
                msg = self._message()
                if "event" in msg:
                    self.events.append(msg)
                    continue
                if "error" in msg:
                    err = msg["error"]
                    raise QmpError(f"{doc.get('execute')}: {err.get('desc', err)}")
                if "return" in msg:
                    return msg["return"]
        except OSError as exc:
            raise QmpError(f"{doc.get('execute')}: {exc}") from None

    def wait_event(self, name: str, timeout: float) -> dict | None:
        """The first event `name` (one kept already, or the next to come)."""
        deadline = time.monotonic() + timeout
        while True:
            for e in self.events:
                if e.get("event") == name:
                    self.events.remove(e)
                    return e
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self._sock.settimeout(left)
            try:
                msg = self._message()
            except (OSError, QmpError):
                return None
            finally:
                self._sock.settimeout(self.timeout)
            if "event" in msg:
                self.events.append(msg)

    def _message(self) -> dict:
        while b"\n" not in self._buf:
            chunk = self._sock.recv(65536)
            if not chunk:
                raise QmpError(f"QMP at {self.path}: QEMU closed the monitor")
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        try:
            msg = json.loads(line)
        except ValueError:
            raise QmpError(f"QMP at {self.path}: not JSON: {line[:80]!r}") from None
        if not isinstance(msg, dict):
            raise QmpError(f"QMP at {self.path}: not a JSON object: {line[:80]!r}")
        return msg

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> "Qmp":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
