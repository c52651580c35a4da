"""Who is at the other end of a unix socket path: which process listens on
it, which are connected through it, with their PIDs and command lines.

Read from the kernel, never by connecting (QEMU would take a probing
connection for its backend): the unix sockets and their peers from the
sock_diag netlink interface (what `ss -x` reads), their owners from
/proc/*/fd.  Where permissions hide a process, it is left out.
"""

from __future__ import annotations

import os
import struct

NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
NLMSG_DONE, NLMSG_ERROR = 3, 2
UDIAG_SHOW_NAME, UDIAG_SHOW_PEER = 0x1, 0x4
UNIX_DIAG_NAME, UNIX_DIAG_PEER = 0, 2
TCP_LISTEN = 10          # a listening unix socket's state, as for TCP
ACCEPTCON = 0x10000      # /proc/net/unix Flags of a listening socket


class UnixSocket(dict):
    """{"inode", "path", "listening", "peer"} (peer: the other end's inode)."""


def unix_sockets() -> list[UnixSocket]:
    """Every unix socket of this network namespace, with its peer."""
    import socket        # here: gdb's side imports this module for argv_of only
    out: list[UnixSocket] = []
    try:
        s = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_SOCK_DIAG)
    except OSError:
        return _from_proc()
    with s:
        req = struct.pack("=BBHIIIII", socket.AF_UNIX, 0, 0, 0xFFFFFFFF, 0,
                          UDIAG_SHOW_NAME | UDIAG_SHOW_PEER, 0xFFFFFFFF, 0xFFFFFFFF)
        s.sendto(struct.pack("=IHHII", 16 + len(req), SOCK_DIAG_BY_FAMILY,
                             NLM_F_REQUEST | NLM_F_DUMP, 1, 0) + req, (0, 0))
        while True:
            data = s.recv(1 << 16)
            off = 0
            while off + 16 <= len(data):
                length, kind = struct.unpack_from("=IH", data, off)
                if kind in (NLMSG_DONE, NLMSG_ERROR) or length < 16:
                    return out
                out.append(_parse(data[off + 16:off + length]))
                off += (length + 3) & ~3


def _from_proc() -> list[UnixSocket]:
    """Without sock_diag: /proc/net/unix has paths and listening, no peers."""
    out: list[UnixSocket] = []
    try:
        with open("/proc/net/unix", encoding="utf-8", errors="replace") as f:
            next(f)
            for line in f:
                fields = line.split(None, 7)
                if len(fields) < 7:
                    continue
                path = fields[7].rstrip("\n") if len(fields) == 8 else None
                out.append(UnixSocket(inode=int(fields[6]), path=path, peer=None,
                                      listening=bool(int(fields[3], 16) & ACCEPTCON)))
    except (OSError, StopIteration, ValueError):
        pass
    return out


def _parse(body: bytes) -> UnixSocket:
    _family, _type, state, _pad, inode = struct.unpack_from("=BBBBI", body)
    sock = UnixSocket(inode=inode, path=None, listening=state == TCP_LISTEN, peer=None)
    off = 16                                  # struct unix_diag_msg
    while off + 4 <= len(body):
        length, kind = struct.unpack_from("=HH", body, off)
        if length < 4:
            break
        value = body[off + 4:off + length]
        if kind == UNIX_DIAG_NAME:
            # An abstract name starts with a NUL byte; a path is plain.
            sock["path"] = value.rstrip(b"\0").decode(errors="replace") \
                if value[:1] != b"\0" else "@" + value[1:].decode(errors="replace")
        elif kind == UNIX_DIAG_PEER:
            sock["peer"] = struct.unpack("=I", value[:4])[0]
        off += (length + 3) & ~3
    return sock


def socket_owners() -> dict[int, set[int]]:
    """Socket inode -> the PIDs holding it open (those /proc lets us read)."""
    owners: dict[int, set[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        fd_dir = f"/proc/{entry}/fd"
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(f"{fd_dir}/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                owners.setdefault(int(target[8:-1]), set()).add(int(entry))
    return owners


def argv_of(pid: int) -> list[str] | None:
    """The argv a process received, from /proc (None if it cannot be read).
    Bytes that are not UTF-8 are kept as \\xNN escapes, so they survive JSON."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            raw = f.read()
    except OSError:
        return None
    return [a.decode("utf-8", "backslashreplace") for a in raw.split(b"\0")[:-1]]


def process(pid: int) -> dict:
    """{"pid", "cmdline"}: the command line as an argv list ([] if hidden)."""
    return {"pid": pid, "cmdline": argv_of(pid) or []}


def at_path(path: str, qemu_pid: int | None = None) -> dict:
    """Who is at `path`: {"listening": [processes], "connections":
    [{"qemu_side", "peer": [processes]}]}, QEMU (`qemu_pid`) marked."""
    socks = unix_sockets()
    by_inode = {s["inode"]: s for s in socks}
    owners = socket_owners()

    def procs(inode: int | None) -> list[dict]:
        return [dict(process(p), qemu=p == qemu_pid)
                for p in sorted(owners.get(inode, ()))] if inode else []

    listening, connections = [], []
    for s in socks:
        if s["path"] != path:
            continue
        if s["listening"]:
            listening += procs(s["inode"])
        elif s["peer"]:
            # The accepted (server) side has the path; the client side has none.
            server, client = procs(s["inode"]), procs(s["peer"])
            connections.append({"server": server, "client": client,
                                "client_inode": s["peer"],
                                "client_alive": s["peer"] in by_inode})
    return {"path": path, "listening": listening, "connections": connections}
