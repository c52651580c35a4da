"""A broken vhost-user backend for the tests: it listens on a unix socket,
accepts QEMU, answers the first K messages (GET_* requests get a u64: the
features without VHOST_USER_F_PROTOCOL_FEATURES, so QEMU asks little) and
then reads on without ever answering.  K=0 never answers.

    python vhost_user_silent.py SOCKET K

Prints 'listening' once it listens, and each request number it reads."""

from __future__ import annotations

import os
import socket
import struct
import sys

HEADER = struct.Struct("=III")          # request, flags, size
REPLY_FLAGS = 0x1 | 0x4                 # version 1, reply
NEED_REPLY = 0x8
U64_REPLIES = {1: 1 << 32,              # GET_FEATURES: VIRTIO_F_VERSION_1 only
               15: 0,                   # GET_PROTOCOL_FEATURES
               17: 1,                   # GET_QUEUE_NUM
               36: 8}                   # GET_MAX_MEM_SLOTS


def read_exact(conn: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk, fds, _flags, _addr = socket.recv_fds(conn, n - len(data), 8)
        for fd in fds:
            os.close(fd)
        if not chunk:
            raise EOFError
        data += chunk
    return data


def serve(path: str, answers: int) -> None:
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    print("listening", flush=True)
    conn, _ = srv.accept()
    seen = 0
    try:
        while True:
            request, flags, size = HEADER.unpack(read_exact(conn, HEADER.size))
            if size:
                read_exact(conn, size)
            seen += 1
            print(request, flush=True)
            if seen > answers:
                continue
            if request in U64_REPLIES:
                conn.sendall(HEADER.pack(request, REPLY_FLAGS, 8)
                             + struct.pack("=Q", U64_REPLIES[request]))
            elif flags & NEED_REPLY:
                conn.sendall(HEADER.pack(request, REPLY_FLAGS, 8) + struct.pack("=Q", 0))
    except EOFError:
        pass
    conn.close()
    srv.close()


if __name__ == "__main__":
    serve(sys.argv[1], int(sys.argv[2]))
