"""The backend processes: one per vhost-user chardev in its role, started and
stopped by PID (with harmless commands)."""

import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from gdb_qemuinit.qemu import backend
from gdb_qemuinit.qemu.backend import Backend, listening



def test_listening_reads_proc_net_unix(tmp_path):
    path = str(tmp_path / "l.sock")
    assert not listening(path)
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(path)
        assert not listening(path)         # bound, not listening
        s.listen(1)
        assert listening(path)


def test_backend_starts_once_listening_and_is_stopped_by_pid(tmp_path):
    path = str(tmp_path / "l.sock")
    log = str(tmp_path / "b.log")
    b = Backend([sys.executable, "-c", "import time; print('up', flush=True); time.sleep(60)"],
                path, log, drop_first=True)
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(path)
        s.listen(1)
        b.start(wait_seconds=10)
        conn, _ = s.accept()               # the dropped connection comes first
        assert conn.recv(1) == b""         # closed at once
        conn.close()
        for _ in range(200):
            if b.proc is not None:
                break
            subprocess.run(["sleep", "0.02"])
        pid = b.proc.pid
        b.stop()
    assert b.dropped and b.proc.returncode is not None
    assert not os.path.exists(f"/proc/{pid}") or \
        open(f"/proc/{pid}/stat").read().split()[2] == "Z"
    assert b.summary()["started"] and b.problem is None


def test_a_backend_for_a_qemu_client_listens_before_start_returns(tmp_path):
    path = str(tmp_path / "l.sock")
    server = ("import socket, sys, time; s = socket.socket(socket.AF_UNIX); "
              "time.sleep(0.3); s.bind(sys.argv[1]); s.listen(1); time.sleep(60)")
    b = Backend([sys.executable, "-c", server, path], path, str(tmp_path / "b.log"),
                qemu_role="client")
    try:
        b.start(wait_seconds=20)
        assert listening(path) and b.problem is None
        pid = b.proc.pid
    finally:
        b.stop()
    assert b.proc.returncode is not None
    assert not os.path.exists(f"/proc/{pid}") or \
        open(f"/proc/{pid}/stat").read().split()[2] == "Z"


def test_a_backend_that_never_listens_says_so(tmp_path):
    path = str(tmp_path / "l.sock")
    b = Backend([sys.executable, "-c", "print('cannot bind: error', flush=True)"], path,
                str(tmp_path / "b.log"), qemu_role="client")
    try:
        b.start(wait_seconds=20)
    finally:
        b.stop()
    assert "did not listen" in b.problem and "cannot bind" in b.problem


def test_a_backend_that_dies_says_why(tmp_path):
    path = str(tmp_path / "l.sock")
    b = Backend([sys.executable, "-c", "import sys; print('starting'); "
                 "print('error: no such device', flush=True); sys.exit(3)"],
                path, str(tmp_path / "b.log"))
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(path)
        s.listen(1)
        b.start(wait_seconds=10)
        for _ in range(200):
            if b.proc is not None and b.proc.poll() is not None:
                break
            subprocess.run(["sleep", "0.02"])
        b.stop()
    assert "code 3" in b.problem and "error: no such device" in b.problem


def test_stop_process_terms_then_kills_one_that_stays():
    polite = subprocess.Popen(["sleep", "60"])
    stubborn = subprocess.Popen(
        [sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, "
         "signal.SIG_IGN); print('ready', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert stubborn.stdout.readline().strip() == "ready"
        backend.stop_process(polite)
        assert polite.returncode == -signal.SIGTERM
        backend.stop_process(stubborn, grace=0.5)
        assert stubborn.returncode == -signal.SIGKILL
        backend.stop_process(polite)          # already gone: nothing to do
    finally:
        for p in (polite, stubborn):
            if p.poll() is None:
                p.kill()
                p.wait()
        stubborn.stdout.close()


def test_backends_qemu_connects_to_start_together_and_all_listen(tmp_path):
    """start_listening starts them all before waiting for any: each one
    sleeps before it listens, and each one's start comes before the
    first listens."""
    server = ("import socket, sys, time; s = socket.socket(socket.AF_UNIX); "
              "time.sleep(0.3); s.bind(sys.argv[1]); s.listen(1); time.sleep(60)")
    paths = [str(tmp_path / f"l{i}.sock") for i in range(3)]
    bs = [Backend([sys.executable, "-c", server, p], p, str(tmp_path / f"b{i}.log"),
                  qemu_role="client") for i, p in enumerate(paths)]
    never = Backend([sys.executable, "-c", "import time; time.sleep(60)"],
                    str(tmp_path / "never.sock"), str(tmp_path / "n.log"), qemu_role="client")
    try:
        assert backend.start_listening(bs, 20) is None
        assert all(listening(p) for p in paths)
        last_start = max(b.times["started"] for b in bs)
        assert last_start < min(b.times["backend_listening"] for b in bs)
        assert backend.start_listening([never], 0.5) is never and "did not listen" in never.problem
    finally:
        backend.stop_backends(bs + [never])
    assert all(b.proc.returncode is not None for b in bs + [never])


def test_an_interrupted_stop_still_ends_and_reaps_every_backend(tmp_path, monkeypatch):
    """A Ctrl-C while qemuinit waits for a backend that ignores TERM: that
    one is killed rather than left, the others are still stopped and
    reaped, and the interrupt goes on."""
    stubborn = ("import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                "import socket; s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); "
                "s.listen(1); time.sleep(60)")
    paths = [str(tmp_path / f"s{i}.sock") for i in range(3)]
    bs = [Backend([sys.executable, "-c", stubborn, p], p, str(tmp_path / f"b{i}.log"),
                  qemu_role="client") for i, p in enumerate(paths)]
    real_wait = backend.wait_exit
    calls = []

    def interrupted_once(proc, timeout):
        calls.append(proc.pid)
        if len(calls) == 1:
            raise KeyboardInterrupt
        return real_wait(proc, 0.3)     # TERM ignored: each ends by the KILL
    try:
        assert backend.start_listening(bs, 20) is None
        monkeypatch.setattr(backend, "wait_exit", interrupted_once)
        with pytest.raises(KeyboardInterrupt):
            backend.stop_backends(bs)
    finally:
        monkeypatch.undo()
        backend.stop_backends(bs)
    assert calls == [b.proc.pid for b in bs]
    assert [b.proc.returncode for b in bs] == [-signal.SIGKILL] * 3


def test_a_backend_whose_log_closed_every_connection_is_reaped_at_the_end(tmp_path):
    """Once QEMU is gone: a backend whose log says every connection it took
    is closed ([backend_log] connection and closed) is left to end while the
    command goes on, and reaped at its end (reap_ended); one whose log does
    not (still open, or no connection at all) is stopped at once, so that
    its log is whole when read."""
    from gdb_qemuinit.qemu import scenario
    patterns = scenario.backend_log_patterns()
    # Each prints its log lines once TERM takes it a while to end.
    slow_end = ("import signal, sys, time\n"
                "delay = float(sys.argv[1])\n"
                "signal.signal(signal.SIGTERM, lambda *a: (time.sleep(delay), sys.exit(0)))\n"
                "for line in ['ready'] + sys.argv[2:]:\n    print(line, flush=True)\n"
                "time.sleep(60)\n")
    # (a connection reset by QEMU's end reads as a failed read: closed too)
    logs = {"closed": ["X new device, handle is 0", "X vhost peer closed",
                       "X new device, handle is 0", "X vhost read message failed"],
            "open": ["X new device, handle is 0", "X new device, handle is 1",
                     "X vhost peer closed"],
            "silent": []}
    # the one left to end takes longer to end than the others are waited for
    bs = {name: Backend([sys.executable, "-c", slow_end, "3" if name == "closed" else "0.3",
                         *lines], str(tmp_path / f"{name}.sock"),
                        str(tmp_path / f"{name}.log"), qemu_role="client")
          for name, lines in logs.items()}
    try:
        for b in bs.values():
            b.start(20, wait=False)
        deadline = time.monotonic() + 20
        while not all(b.proc and len(b.log_text().splitlines()) == len(logs[n]) + 1
                      for n, b in bs.items()):
            assert time.monotonic() < deadline
            time.sleep(0.01)
        for b in bs.values():
            b.terminate()
        start = time.monotonic()
        backend.end_when_logged(list(bs.values()), patterns, 20)
        # not the 20 s: the two whose logs stay open were waited for as they ended
        assert time.monotonic() - start < 2.5
        assert bs["closed"].proc.poll() is None             # ending: reaped later
        assert bs["open"].proc.returncode == 0 and bs["silent"].proc.returncode == 0
        backend.reap_ended()
        assert bs["closed"].proc.returncode == 0
    finally:
        backend.stop_backends(list(bs.values()))
        backend.reap_ended()
