"""Every output of the shell commands that need no QEMU (report, diff,
path export), pointed at each kind of target: a device, a FIFO, a symlink,
`-`.  Each target is what it was afterwards."""

import json
import os
import stat

import pytest

from conftest import (DEVICE, AS_ROOT, FifoReader, is_null_device, own_null, run_cli,
                      stack_hit, trace_of)
from gdb_qemuinit.model.trace import save


@pytest.fixture
def saved(tmp_path):
    t = tmp_path / "t.json"
    save(trace_of([stack_hit(1, *DEVICE)]), t)
    return t


def test_report_to_dash_is_the_document_on_stdout(saved):
    r = run_cli("report", str(saved), "--format", "json", "-o", "-")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["schema"] == "qemuinit.trace/1"


@AS_ROOT
def test_report_to_a_device_leaves_a_device(saved, tmp_path):
    node = own_null(tmp_path)
    for fmt in ("json", "svg", "text"):
        r = run_cli("report", str(saved), "--format", fmt, "-o", node)
        assert r.returncode == 0, r.stderr
        assert is_null_device(node)


def test_report_through_a_symlink_and_into_a_fifo(saved, tmp_path):
    target = tmp_path / "real.svg"
    link = tmp_path / "link.svg"
    link.symlink_to(target)
    r = run_cli("report", str(saved), "--format", "svg", "-o", str(link))
    assert r.returncode == 0, r.stderr
    assert link.is_symlink() and target.read_text().lstrip().startswith("<?xml")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    reader = FifoReader(fifo)
    r = run_cli("report", str(saved), "--format", "json", "-o", str(fifo))
    assert r.returncode == 0, r.stderr
    assert json.loads(reader.result())["schema"] == "qemuinit.trace/1"
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_diff_picture_to_dash_sends_the_text_to_stderr(saved):
    r = run_cli("diff", str(saved), str(saved), "--svg", "-")
    assert r.returncode == 0, r.stderr
    assert "<svg" in r.stdout and "<svg" not in r.stderr and r.stderr.strip()
    r = run_cli("diff", str(saved), str(saved), "--svg", "-", "--html", "-")
    assert r.returncode == 2 and "only one output can be '-'" in r.stderr


def test_path_export_to_a_directory_is_one_line(saved, tmp_path):
    r = run_cli("path", "export", str(saved), "-o", str(tmp_path))
    assert r.returncode == 2
    assert r.stderr.strip().endswith(f"cannot write {tmp_path}: it is a directory")
    assert "Traceback" not in r.stderr
    r = run_cli("path", "export", str(saved), "-o", "-")
    assert r.returncode == 0 and r.stdout.startswith("digraph")
