"""Fault injection: a relay between QEMU and the vhost-user backend that
forwards their messages and cuts the connection right after a chosen
request, once, so that QEMU's restart path can be seen on demand.

QEMU listens on its socket; the backend connects to the relay's socket
instead; for each backend connection the relay connects to QEMU and
forwards messages both ways: a 12-byte header (request, flags, size) and
`size` bytes of payload, with the file descriptors passed alongside
(SCM_RIGHTS).  After it has forwarded the chosen request from QEMU to the
backend the first time, it closes both connections: to QEMU the backend
has gone away right after that request, without a word back (the
backend's reply to it, if it is quick, is dropped: a relay that forwarded
it would let QEMU go one request further on some runs).  The backend (testpmd in client
mode reconnects) connects again, and that connection is forwarded whole.
"""

from __future__ import annotations

import os
import socket
import struct
import threading
import time

from ..errors import QemuinitError

HEADER = struct.Struct("=III")
MAX_FDS = 16


class RelayError(QemuinitError, ValueError):
    """An unknown request name."""


def request_number(name: str, requests: dict[int, str]) -> int:
    """A request by name (SET_OWNER, VHOST_USER_SET_OWNER) or number."""
    key = name.upper().removeprefix("VHOST_USER_")
    if key.isdigit():
        return int(key)
    for number, n in requests.items():
        if n == key:
            return number
    raise RelayError(f"no vhost-user request {name!r} (data/vhost-user.toml [requests])")


def _read_message(conn: socket.socket) -> tuple[bytes, list[int]] | None:
    """One message and the fds that came with it; None at end of stream."""
    data, fds = b"", []
    need = HEADER.size
    while len(data) < need:
        chunk, got, _flags, _addr = socket.recv_fds(conn, need - len(data), MAX_FDS)
        fds += got
        if not chunk:
            for fd in fds:
                os.close(fd)
            return None
        data += chunk
        if len(data) == HEADER.size and need == HEADER.size:
            need += HEADER.unpack(data)[2]
    return data, fds


class Relay:
    """`start()` listens on `listen_path`; `stop()` closes everything."""

    def __init__(self, qemu_socket: str, listen_path: str, cut_after: int, cut_name: str):
        self.qemu_socket = qemu_socket
        self.listen_path = listen_path
        self.cut_after = cut_after
        self.cut_name = cut_name
        self.connections = 0
        self.cut: dict | None = None         # when, on which connection
        self.forwarded: list[list[str]] = []  # per connection: QEMU's requests
        self._started = time.monotonic()
        self._stopping = threading.Event()
        self._socks: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._threads: list[threading.Thread] = []
        self._cutting: dict[int, threading.Event] = {}   # connection -> being cut

    def start(self) -> None:
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(self.listen_path)
        self._listener.listen(4)
        self._spawn(self._accept)

    def _spawn(self, target, *args) -> None:
        t = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(t)
        t.start()

    def _accept(self) -> None:
        listener = self._listener
        if listener is None:        # not started
            return
        while not self._stopping.is_set():
            try:
                backend, _ = listener.accept()
            except OSError:
                return
            qemu = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                qemu.connect(self.qemu_socket)
            except OSError:
                backend.close()
                qemu.close()
                continue
            with self._lock:
                self.connections += 1
                self._socks += [backend, qemu]
                self.forwarded.append([])
                number = self.connections
                self._cutting[number] = threading.Event()
            self._spawn(self._forward, qemu, backend, number, True)
            self._spawn(self._forward, backend, qemu, number, False)

    def _forward(self, src: socket.socket, dst: socket.socket, number: int,
                 from_qemu: bool) -> None:
        while True:
            try:
                got = _read_message(src)
            except OSError:
                got = None
            if got is None:
                break
            data, fds = got
            cutting = self._cutting[number]
            request = HEADER.unpack_from(data)[0]
            cut_here = from_qemu and request == self.cut_after and self.cut is None
            if cut_here:
                cutting.set()   # before the backend can have it, so before its reply
            elif cutting.is_set():
                for fd in fds:
                    os.close(fd)
                break
            try:
                socket.send_fds(dst, [data], fds) if fds else dst.sendall(data)
            except OSError:
                break
            finally:
                for fd in fds:
                    os.close(fd)
            if not from_qemu:
                continue
            self.forwarded[number - 1].append(request)
            if cut_here:
                self.cut = {"after": self.cut_name, "request": request,
                            "connection": number,
                            "t": round(time.monotonic() - self._started, 4)}
                break
        for s in (src, dst):       # one side gone (or the cut): end both
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def stop(self) -> None:
        self._stopping.set()
        with self._lock:
            socks = list(self._socks)
        for s in socks + ([self._listener] if self._listener else []):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
        for t in self._threads:
            t.join(timeout=5)
        try:
            os.unlink(self.listen_path)
        except OSError:
            pass

    def summary(self, clock_start: float | None = None) -> dict:
        cut = dict(self.cut) if self.cut else None
        if cut and clock_start is not None:
            cut["t"] = round(self._started + cut["t"] - clock_start, 4)
        return {"cut_after": self.cut_name, "cut": cut, "connections": self.connections,
                "socket": self.qemu_socket}
