"""Arguments reach QEMU byte for byte: from the shell (gdb's "shell" is the
launcher, which execs QEMU with the argv the runner wrote) and inside the
user's gdb (gdb's own start-up).  What QEMU received is read from its
/proc/PID/cmdline while it is alive, and from the trace."""

import json
import os
import socket
import struct
import subprocess
import sys
import time

import pytest

from conftest import ROOT, run_cli, run_gdb

pytestmark = [pytest.mark.qemu, pytest.mark.usefixtures("no_leftovers")]

# What a shell, or gdb splitting a string on white space, would change.
ARGUMENTS = [
    '{"driver":"virtio-net-pci","netdev":"n0","id":"a,b"}',
    "two  words", "back\\slash", "trailing\\", "$HOME", "${PATH}", "*", "~", "~/x",
    "", "'single' \"double\"", "a;b|c&d", "héllo €", "line\nbreak", "tab\there", "`id`",
]


def firmware_dirs(qemu_binary: str) -> list[str]:
    """QEMU's own data directories (`-L help`): an -L replaces them."""
    out = subprocess.run([qemu_binary, "-L", "help"], capture_output=True, text=True,
                         check=True).stdout
    return [line.strip() for line in out.splitlines() if line.startswith("/")]


def table_argv(qemu_binary: str, hold: str | None = None) -> list[str]:
    """QEMU takes any string as an -L directory (a missing one is skipped;
    its own come first, for the firmware).  With `hold`, QEMU waits for a
    client on that socket first (server=on, wait=on), which lets the test
    look at it alive."""
    argv = [qemu_binary, "-machine", "q35", "-nodefaults", "-display", "none", "-S"]
    for d in firmware_dirs(qemu_binary):
        argv += ["-L", d]
    if hold:
        argv += ["-chardev", f"socket,id=hold,path={hold},server=on,wait=on"]
    for a in ARGUMENTS:
        argv += ["-L", a]
    return argv


def encoded(argv: list[str]) -> bytes:
    return b"".join(a.encode() + b"\0" for a in argv)


def connect_when_listening(path: str, proc: subprocess.Popen) -> socket.socket:
    """Connect once QEMU listens (no timing asserted: the run's own timeout
    bounds it)."""
    while True:
        s = socket.socket(socket.AF_UNIX)
        try:
            s.connect(path)
            return s
        except OSError:
            s.close()
            if proc.poll() is not None:
                raise AssertionError("qemuinit ended before QEMU listened: "
                                     + proc.stderr.read()) from None
            time.sleep(0.05)


def test_arguments_from_the_shell_reach_qemu_byte_for_byte(qemu_binary, tmp_path):
    sock = str(tmp_path / "hold.sock")
    argv = table_argv(qemu_binary, hold=sock)
    out = tmp_path / "t.json"
    proc = subprocess.Popen([sys.executable, "-m", "gdb_qemuinit.cli", "trace", "--json",
                             str(out), "--timeout", "60", "--", *argv],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, text=True)
    try:
        conn = connect_when_listening(sock, proc)
        with conn:
            creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                    struct.calcsize("3i"))
            pid = struct.unpack("3i", creds)[0]
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                received = f.read()
            assert os.path.realpath(f"/proc/{pid}/exe") == os.path.realpath(qemu_binary)
            # QEMU has our SHELL back, and none of the launcher's variables.
            with open(f"/proc/{pid}/environ", "rb") as f:
                env = dict(v.split(b"=", 1) for v in f.read().split(b"\0") if b"=" in v)
            stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert received == encoded(argv)
    ours = (b"QEMUINIT_ARGV", b"QEMUINIT_SHELL", b"QEMUINIT_END_FD", b"QEMUINIT_DONE_FD")
    assert not [k for k in ours if k in env], env
    assert env.get(b"SHELL") == (os.environ["SHELL"].encode() if "SHELL" in os.environ
                                 else None)
    assert proc.returncode == 0, stdout + stderr
    assert json.loads(out.read_text())["qemu"]["argv"] == argv


def test_arguments_inside_gdb_are_what_gdb_gives_qemu(qemu_binary, tmp_path):
    argv = table_argv(qemu_binary)
    where, seen = tmp_path / "w.json", tmp_path / "cmdline"
    r = run_gdb(argv, f"qinit where qemu_init_board --json {where}",
                "python import gdb; open(%r, 'wb').write(open('/proc/%%d/cmdline' %% "
                "gdb.selected_inferior().pid, 'rb').read())" % str(seen),
                "kill")
    assert r.returncode == 0, r.stdout + r.stderr
    assert seen.read_bytes() == encoded(argv)
    assert json.loads(where.read_text())["qemu"]["argv"] == argv


def test_a_json_only_command_line_traces_to_the_main_loop(qemu_binary, tmp_path):
    out = tmp_path / "t.json"
    r = run_cli("trace", "--json", str(out), "--", qemu_binary, "-machine", "q35",
                "-nodefaults", "-display", "none", "-S",
                "-netdev", '{"type":"user","id":"n0"}',
                "-device", '{"driver":"virtio-net-pci","netdev":"n0","id":"nic0"}')
    assert r.returncode == 0, r.stdout + r.stderr
    doc = json.loads(out.read_text())
    edges = {(e["from"], e["to"]): e for e in doc["edges"]}
    # found although no "-netdev user," is in the joined argv
    assert edges[("net_client_init1", "net_client_init_fun[netdev->type]")]["served_by"] \
        == "net_init_slirp"
    assert edges[("object_new", "virtio_net_pci_instance_init")]["status"] == "observed"
    for key in [("qemu_opts_foreach", "net_init_netdev"),
                ("qemu_opts_foreach", "device_init_func")]:
        e = edges[key]
        assert e["status"] == "not-exercised" and "JSON" in e["note"], e
    for e in doc["edges"]:
        assert "any command line" not in e["note"]
        assert "no -device option" not in e["note"] and "no -netdev option" not in e["note"]
