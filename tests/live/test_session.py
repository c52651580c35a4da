"""Commands composed in one gdb session, as people use the prompt: each
starts from a state it can use.  A QEMU gdb started whose init is over is
started again (said so); an attached one is never restarted or killed."""

import json
import subprocess
import time

import pytest

from conftest import BREAKPOINTS, breakpoints_left, run_gdb

pytestmark = [pytest.mark.qemu, pytest.mark.usefixtures("no_leftovers")]


def test_trace_trace_where_trace_report_in_one_gdb(qemu_argv, tmp_path):
    a, b, c, d = (tmp_path / f"{n}.json" for n in "abcd")
    r = run_gdb(qemu_argv, f"qinit trace --quiet --json {a}",
                f"qinit trace --quiet --timeout 20 --json {b}",
                f"qinit where pci-config --quiet --json {c}",
                f"qinit trace --quiet --json {d}", "qinit report", BREAKPOINTS, "kill")
    out = r.stdout + r.stderr
    assert "Traceback" not in out, out
    traces = [json.loads(p.read_text()) for p in (a, b, d)]
    assert [t["outcome"]["state"] for t in traces] == ["init-complete"] * 3
    # each watched init from the start: the same hits, not a continuation
    assert len({len(t["hits"]) for t in traces}) == 1, [len(t["hits"]) for t in traces]
    assert traces[1]["hits"][0]["function"] == traces[0]["hits"][0]["function"]
    where = json.loads(c.read_text())
    assert where["outcome"]["state"] == "answered" and where["answers"]
    assert out.count("killing it and starting it again") == 3
    assert "qinit report: trace 3 of this gdb session" in out
    assert breakpoints_left(out) == []


def test_a_trace_after_the_users_start_continues_from_main(qemu_argv, tmp_path):
    out_file = tmp_path / "t.json"
    r = run_gdb(qemu_argv, "start", f"qinit trace --quiet --kill --json {out_file}")
    assert "killing it" not in r.stdout + r.stderr
    doc = json.loads(out_file.read_text())
    assert doc["outcome"]["state"] == "init-complete" and doc["hits"]


def test_an_attached_qemu_past_init_is_refused_then_hang_works(qemu_binary, tmp_path):
    qmp = tmp_path / "qmp.sock"
    proc = subprocess.Popen([qemu_binary, "-machine", "q35", "-nodefaults", "-display", "none",
                             "-S", "-qmp", f"unix:{qmp},server=on,wait=off"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not qmp.exists():
            assert time.monotonic() < deadline
            time.sleep(0.05)
        hang = tmp_path / "hang.json"
        cmd = ["gdb", "-nx", "-batch", "-x", "gdbinit.py", "-ex", "qinit trace --timeout 5",
               "-ex", f"qinit hang --quiet --json {hang}", "-p", str(proc.pid)]
        from conftest import ROOT
        r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120,
                           stdin=subprocess.DEVNULL)
        assert "past its init" in r.stderr and "Traceback" not in r.stderr
        assert json.loads(hang.read_text())["hang"]["kind"] == "init-complete"
        with open(f"/proc/{proc.pid}/status") as f:
            status = dict(line.split(":", 1) for line in f if ":" in line)
        assert proc.poll() is None and status["TracerPid"].strip() == "0"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_path_imports_counting_run_on_an_attached_qemu_that_times_out_detaches(
        qemu_binary, tmp_path):
    """Every command that runs QEMU ends by one policy: an attached QEMU the
    counting run of 'qinit path import' gave up on is detached, not killed."""
    sock = tmp_path / "vu.sock"
    proc = subprocess.Popen([qemu_binary, "-machine", "q35", "-nodefaults", "-display", "none",
                             "-chardev", f"socket,id=chr0,path={sock},server=on,wait=on",
                             "-netdev", "vhost-user,id=net0,chardev=chr0"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not sock.exists():      # QEMU listens: its init waits for a backend
            assert time.monotonic() < deadline
            time.sleep(0.05)
        from conftest import ROOT
        notes = ROOT / "tests" / "data" / "netdev-notes.dot"
        facts = tmp_path / "facts.json"
        cmd = ["gdb", "-nx", "-batch", "-x", "gdbinit.py", "-ex",
               f"qinit path import {notes} --quiet --timeout 3 --json {facts} -o {tmp_path}/p.toml",
               "-p", str(proc.pid)]
        r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120,
                           stdin=subprocess.DEVNULL)
        assert "Traceback" not in r.stderr, r.stderr
        assert json.loads(facts.read_text())["outcome"]["state"] == "timeout"
        with open(f"/proc/{proc.pid}/status") as f:
            status = dict(line.split(":", 1) for line in f if ":" in line)
        assert proc.poll() is None, "the attached QEMU was killed"
        assert status["TracerPid"].strip() == "0"
        assert status["State"].split()[0] in ("S", "R")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
