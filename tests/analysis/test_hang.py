"""Integration: `qemuinit hang PID` on QEMUs started outside qemuinit (by
the test, stopped by the test by PID), each hanging in its own way; after
the diagnosis the same QEMU goes on, and a real backend lets it finish init
(its QMP socket answers only once the main loop runs)."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT, run_cli, run_gdb
from gdb_qemuinit.qemu.binary import reconnect_option
from gdb_qemuinit.qemu.backend import listening, remove_dpdk_runtime, stop_process

pytestmark = [pytest.mark.qemu, pytest.mark.usefixtures("no_leftovers")]

SILENT = str(Path(__file__).parent.parent / "vhost_user_silent.py")
MEMORY = ["-machine", "q35,memory-backend=mem0", "-m", "256M",
          "-object", "memory-backend-memfd,id=mem0,size=256M,share=on"]


class Started:
    """Processes this test started, stopped by PID at the end."""

    def __init__(self):
        self.procs: list[subprocess.Popen] = []
        self.prefixes: list[str] = []

    def start(self, argv, **kw) -> subprocess.Popen:
        p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, **kw)
        self.procs.append(p)
        return p

    def testpmd(self, sock: str, client: bool) -> subprocess.Popen:
        prefix = f"qemuinit-test-{os.getpid()}-{len(self.prefixes)}"
        self.prefixes.append(prefix)
        iface = f"net_vhost0,iface={sock}" + (",client=1" if client else "")
        return self.start(["dpdk-testpmd", "--no-huge", "-m", "256", "--no-pci",
                           f"--file-prefix={prefix}", "--vdev", iface, "--",
                           "--no-mlockall", "--total-num-mbufs=2048"])

    def stop(self):
        for p in reversed(self.procs):
            stop_process(p)
        for prefix in self.prefixes:
            remove_dpdk_runtime(prefix)


@pytest.fixture
def started():
    s = Started()
    yield s
    s.stop()


def qemu(started, qemu_binary, tmp_path, chardev: str, memory=MEMORY):
    """QEMU with a vhost-user netdev on `chardev` and a QMP socket that
    does not wait; returns (process, vhost-user socket, QMP socket)."""
    sock, qmp = str(tmp_path / "vu.sock"), str(tmp_path / "qmp.sock")
    p = started.start([qemu_binary, *memory, "-nodefaults", "-display", "none", "-S",
                       "-qmp", f"unix:{qmp},server=on,wait=off",
                       "-chardev", chardev.format(socket=sock),
                       "-netdev", "vhost-user,id=net0,chardev=chr0",
                       "-device", "virtio-net-pci,netdev=net0"])
    return p, sock, qmp


def waiting_for_a_client(started, qemu_binary, tmp_path):
    """QEMU listening on its vhost-user socket, waiting (wait=on) for a backend."""
    proc, sock, qmp = qemu(started, qemu_binary, tmp_path,
                           "socket,id=chr0,path={socket},server=on,wait=on")
    wait_for(lambda: listening(sock), "QEMU listens")
    return proc, sock, qmp


def wait_for(predicate, what: str, seconds: float = 60):
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.05)


def blocked_in(pid: int, function: str) -> bool:
    """Is QEMU's main thread in `function` yet?  (Read with gdb by the
    diagnosis itself: here, wait until its stack has it.)"""
    r = run_cli("hang", str(pid))
    return r.returncode == 0 and function in r.stdout


def diagnose(pid: int, tmp_path) -> dict:
    out = tmp_path / f"hang-{time.monotonic_ns()}.json"
    r = run_cli("hang", str(pid), "--json", str(out))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Traceback" not in r.stderr, r.stderr
    return json.loads(out.read_text())


def still_running_untraced(pid: int) -> bool:
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        status = dict(line.split(":", 1) for line in f if ":" in line)
    return status["TracerPid"].strip() == "0" and status["State"].split()[0] in "SR"


def qmp_greeting(path: str) -> dict:
    """Connect to QMP and read its greeting: sent from the main loop only."""
    wait_for(lambda: listening(path), "QMP listens")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(120)
        s.connect(path)
        data = b""
        while b"\n" not in data:
            chunk = s.recv(4096)
            assert chunk, "QMP closed the connection"
            data += chunk
    return json.loads(data.split(b"\n")[0])


def finishes_init(started, sock: str, qmp: str, backend_is_client: bool = True) -> bool:
    """A real backend connects: does QEMU reach its main loop?"""
    started.testpmd(sock, client=backend_is_client)
    return "QMP" in qmp_greeting(qmp)


def attached_gdb(pid: int, command: str, out: Path) -> dict:
    """gdb -p PID runs one qinit command that writes JSON to `out`; its document."""
    r = subprocess.run(["gdb", "-nx", "-batch", "-x", str(ROOT / "gdbinit.py"),
                        "-p", str(pid), "-ex", command],
                       capture_output=True, text=True, timeout=180,
                       stdin=subprocess.DEVNULL)
    assert "Traceback" not in r.stderr, r.stderr
    return json.loads(out.read_text())


def test_waiting_for_a_client_is_diagnosed_by_pid_and_testpmd_then_finishes_init(
        started, qemu_binary, tmp_path):
    proc, sock, qmp = waiting_for_a_client(started, qemu_binary, tmp_path)
    doc = diagnose(proc.pid, tmp_path)
    h = doc["hang"]
    assert doc["pid"] == proc.pid and doc["argv"] == proc.args and doc["attached"]
    assert h["kind"] == "waiting-for-client" and h["function"] == "tcp_chr_accept_server_sync"
    assert (h["socket"], h["chardev"], h["role"], h["wait"]) == (sock, "chr0", "server", True)
    assert [p["pid"] for p in doc["peer"]["listening"]] == [proc.pid]
    assert doc["peer"]["listening"][0]["qemu"] and doc["peer"]["connections"] == []
    main = [t for t in doc["threads"] if t["main"]]
    assert len(main) == 1 and main[0]["lwp"] == proc.pid and len(doc["threads"]) >= 2
    assert all(t["chain"] for t in doc["threads"])
    assert doc["findings"] == []
    assert still_running_untraced(proc.pid)
    # The same QEMU goes on: a real backend connects, init finishes.
    assert finishes_init(started, sock, qmp)
    assert proc.poll() is None


def test_waiting_in_the_netdev_with_wait_off(started, qemu_binary, tmp_path):
    proc, sock, _ = qemu(started, qemu_binary, tmp_path,
                         "socket,id=chr0,path={socket},server=on,wait=off")
    wait_for(lambda: blocked_in(proc.pid, "qemu_chr_fe_wait_connected"), "the netdev waits")
    doc = diagnose(proc.pid, tmp_path)
    h = doc["hang"]
    assert h["kind"] == "waiting-in-netdev" and (h["socket"], h["wait"]) == (sock, False)
    assert "net_vhost_user_init" in h["chain"]
    assert [p["pid"] for p in doc["peer"]["listening"]] == [proc.pid]
    assert doc["peer"]["connections"] == []
    assert [f["id"] for f in doc["findings"]] == ["server-without-wait"]
    assert still_running_untraced(proc.pid)


def test_client_with_nothing_listening_retries_and_a_server_backend_ends_it(
        started, qemu_binary, tmp_path):
    every_second = reconnect_option(qemu_binary, 1)
    proc, sock, qmp = qemu(started, qemu_binary, tmp_path,
                           "socket,id=chr0,path={socket}," + every_second)
    wait_for(lambda: blocked_in(proc.pid, "g_usleep"), "QEMU retries")
    doc = diagnose(proc.pid, tmp_path)
    h = doc["hang"]
    assert h["kind"] == "client-retrying" and h["role"] == "client"
    assert h["reconnect_seconds"] == 1 and h["socket"] == sock
    assert doc["peer"]["listening"] == [] and doc["peer"]["connections"] == []
    assert "nothing-listening" in [f["id"] for f in doc["findings"]]
    assert still_running_untraced(proc.pid)
    assert finishes_init(started, sock, qmp, backend_is_client=False)


@pytest.mark.parametrize("answers, step", [(0, 1), (2, 3)], ids=["never", "after-2"])
def test_a_silent_backend_names_the_blocked_request_and_its_step(
        started, qemu_binary, tmp_path, answers, step):
    sock = str(tmp_path / "vu.sock")
    server = started.start([sys.executable, SILENT, sock, str(answers)])
    assert server.stdout.readline().strip() == b"listening"
    proc, _, _ = qemu(started, qemu_binary, tmp_path, "socket,id=chr0,path={socket}",
                      memory=["-m", "256M"])
    wait_for(lambda: blocked_in(proc.pid, "vhost_user_read"), "QEMU waits for a reply")
    doc = diagnose(proc.pid, tmp_path)
    h = doc["hang"]
    assert h["kind"] == "backend-silent" and h["role"] == "client"
    req = h["request"]
    assert (req["name"], req["request"], req["step"]) == ("GET_FEATURES", 1, step)
    # the name is the binary's own, read from its debug info as a trace does
    assert doc["enums"]["requests"][str(req["request"])] == req["name"]
    assert len(doc["enums"]["requests"]) > 30
    # The server read exactly the requests up to the blocked one.
    (conn,) = doc["peer"]["connections"]
    assert [p["pid"] for p in conn["server"]] == [server.pid]
    assert [p["pid"] for p in conn["client"]] == [proc.pid]
    assert [p["pid"] for p in doc["peer"]["listening"]] == [server.pid]
    assert "memory-not-shared" in [f["id"] for f in doc["findings"]]
    assert still_running_untraced(proc.pid)


def test_a_qemu_past_init_shows_every_thread_and_what_it_sits_in(
        started, qemu_binary, tmp_path):
    qmp = str(tmp_path / "qmp.sock")
    proc = started.start([qemu_binary, "-machine", "q35", "-nodefaults", "-display", "none",
                          "-S", "-qmp", f"unix:{qmp},server=on,wait=off"])
    assert "QMP" in qmp_greeting(qmp)           # at its main loop
    # A thread caught running (on a loaded machine) sits in nothing at that
    # moment; an idle QEMU's threads all sit in a wait within a few looks.
    for _ in range(3):
        doc = diagnose(proc.pid, tmp_path)
        if all(t["sits_in"] for t in doc["threads"]):
            break
    assert doc["hang"]["kind"] == "init-complete" and doc["hang"]["hanging"] is False
    assert "socket" not in doc["hang"] and doc["findings"] == []
    assert all(t["sits_in"] for t in doc["threads"]), [
        (t["num"], t["sits_in"], t["chain"]) for t in doc["threads"]]
    assert "qemu_main_loop" in next(t["chain"] for t in doc["threads"] if t["main"])
    assert still_running_untraced(proc.pid)


def test_anywhere_else_in_a_qemu_gdb_started_it_stays_stopped(qemu_argv, tmp_path):
    out = tmp_path / "h.json"
    r = run_gdb(qemu_argv, "break qemu_init_board", "run", f"qinit hang --json {out}",
                "python print('PID-AFTER', gdb.selected_inferior().pid)")
    assert "Traceback" not in r.stderr, r.stderr
    doc = json.loads(out.read_text())
    assert doc["hang"]["kind"] == "other" and not doc["attached"]
    main = next(t for t in doc["threads"] if t["main"])
    assert main["frames"][0]["function"] == "qemu_init_board"
    assert doc["argv"] == qemu_argv
    assert f"PID-AFTER {doc['pid']}" in r.stdout      # not detached: still gdb's


def test_qinit_trace_on_an_attached_qemu_times_out_and_detaches(
        started, qemu_binary, tmp_path):
    proc, sock, qmp = waiting_for_a_client(started, qemu_binary, tmp_path)
    out = tmp_path / "t.json"
    doc = attached_gdb(proc.pid, f"qinit trace --timeout 2 --json {out}", out)
    assert doc["outcome"]["state"] == "timeout"
    assert doc["hang"]["socket"] == sock and doc["qemu"]["argv"] == proc.args
    assert still_running_untraced(proc.pid)
    assert finishes_init(started, sock, qmp)


def test_hang_on_no_such_process_is_a_usage_error():
    r = run_cli("hang", "999999999")
    assert r.returncode == 2 and "999999999" in r.stderr


def test_qinit_where_on_an_attached_qemu_times_out_and_detaches(
        started, qemu_binary, tmp_path):
    proc, sock, qmp = waiting_for_a_client(started, qemu_binary, tmp_path)
    out = tmp_path / "w.json"
    doc = attached_gdb(proc.pid, f"qinit where pci-config --all --timeout 2 --json {out}", out)
    assert doc["outcome"]["state"] == "timeout" and doc["answers"] == []
    assert still_running_untraced(proc.pid)
    assert finishes_init(started, sock, qmp)


def test_out_of_time_gdb_is_interrupted_detaches_and_qemu_goes_on(started, qemu_binary, tmp_path):
    """gdb held up while it has QEMU attached and stopped (SIGSTOP by the
    test): qemuinit's time limit kills it and the kernel detaches QEMU;
    QEMU is neither killed nor left traced or stopped, and finishes init
    with a backend."""
    from conftest import CLI_PIDS
    from gdb_qemuinit.attached_gdb import tracer_of
    proc, sock, qmp = waiting_for_a_client(started, qemu_binary, tmp_path)
    for _ in range(5):
        cli = subprocess.Popen([sys.executable, "-m", "gdb_qemuinit.cli", "hang", str(proc.pid),
                                "--timeout", "3"], cwd=ROOT, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        CLI_PIDS.append(cli.pid)
        deadline = time.monotonic() + 30
        while not tracer_of(proc.pid) and cli.poll() is None:
            assert time.monotonic() < deadline, "gdb never attached"
            time.sleep(0.005)
        gdb = tracer_of(proc.pid)
        held = False
        if gdb:
            os.kill(gdb, signal.SIGSTOP)            # gdb is the CLI's child: ours
            held = tracer_of(proc.pid) == gdb
            if not held:
                os.kill(gdb, signal.SIGCONT)
        out, err = cli.communicate(timeout=90)
        if held:
            break
    assert held, "gdb never stayed attached long enough to be held up"
    assert cli.returncode == 2, out + err
    assert "did not finish within 3 s" in err and "QEMU goes on as before" in err
    # killed: none of gdb's own code ran (its quit passes QEMU a Ctrl-C)
    assert "it was killed and the kernel detached QEMU" in err
    assert "Traceback" not in err
    status = open(f"/proc/{proc.pid}/status").read()[:300]
    # if QEMU died: how (returncode -N: signal N)
    assert still_running_untraced(proc.pid), (status, proc.poll(), err)
    assert finishes_init(started, sock, qmp)
    assert proc.poll() is None


def test_hang_of_a_process_that_is_not_qemu_is_refused(started):
    sleeper = started.start(["sleep", "60"])
    r = run_cli("hang", str(sleeper.pid))
    assert r.returncode == 2 and "which is not QEMU" in r.stderr
    assert sleeper.poll() is None and still_running_untraced(sleeper.pid)


def test_without_libcs_debug_info_every_thread_still_sits_somewhere(started, qemu_binary,
                                                                    tmp_path):
    """A machine without libc6-dbg: gdb names libc's functions by their
    exported names (poll, not __GI___poll); [waits] knows both."""
    qmp = str(tmp_path / "qmp.sock")
    proc = started.start([qemu_binary, "-machine", "q35", "-nodefaults", "-display", "none",
                          "-S", "-qmp", f"unix:{qmp},server=on,wait=off"])
    assert "QMP" in qmp_greeting(qmp)
    out = tmp_path / "hang.json"
    r = subprocess.run(["gdb", "-nx", "-batch", "-iex", "set debug-file-directory /nonexistent",
                        "-x", str(ROOT / "gdbinit.py"), "-ex", f"qinit hang --quiet --json {out}",
                        "-p", str(proc.pid)], capture_output=True, text=True, timeout=120,
                       stdin=subprocess.DEVNULL)
    assert "Traceback" not in r.stderr
    threads = json.loads(out.read_text())["threads"]
    assert all(t["sits_in"] for t in threads), [(t["sits_in"], t["chain"]) for t in threads]
    assert still_running_untraced(proc.pid)
