"""Who is at a unix socket, read from the kernel: a listener and a
connection made by this test process."""

import os
import socket

from gdb_qemuinit.qemu import peers


def test_listener_and_connection_are_found_with_their_process(tmp_path):
    path = str(tmp_path / "s.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as srv:
        srv.bind(path)
        srv.listen(1)
        empty = peers.at_path(path, qemu_pid=os.getpid())
        assert [p["pid"] for p in empty["listening"]] == [os.getpid()]
        assert empty["listening"][0]["qemu"] and empty["connections"] == []
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.connect(path)
            accepted, _ = srv.accept()
            with accepted:
                doc = peers.at_path(path)
                (conn,) = doc["connections"]
                assert [p["pid"] for p in conn["server"]] == [os.getpid()]
                assert [p["pid"] for p in conn["client"]] == [os.getpid()]
                assert conn["client_inode"] == os.fstat(client.fileno()).st_ino
                assert doc["listening"][0]["cmdline"]
    assert peers.at_path(path) == {"path": path, "listening": [], "connections": []}


def test_proc_fallback_sees_the_listener(tmp_path):
    path = str(tmp_path / "s.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as srv:
        srv.bind(path)
        srv.listen(1)
        ino = os.fstat(srv.fileno()).st_ino
        (mine,) = [s for s in peers._from_proc() if s["path"] == path]
        assert mine["listening"] and mine["inode"] == ino


def test_a_process_argv_keeps_bytes_that_are_not_utf8_as_escapes():
    import subprocess
    import sys
    import time
    proc = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()",
                             "ünï", b"\xff-raw"], stdin=subprocess.PIPE)
    try:
        for _ in range(200):            # until the child has exec'd
            argv = peers.argv_of(proc.pid)
            if argv and len(argv) == 5:
                break
            time.sleep(0.01)
    finally:
        proc.stdin.close()
        proc.wait(timeout=10)
    assert argv[-2:] == ["ünï", "\\xff-raw"]
    assert peers.argv_of(proc.pid) is None          # gone: nothing to read
