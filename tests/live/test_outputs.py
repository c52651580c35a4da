"""A trace's outputs pointed at what users point them at, from the shell and
at the gdb prompt, on the debug QEMU: `-`, a character device, a symlink, a
FIFO.  Each is what it was afterwards; the text goes to stderr when an
output is standard output."""

import json
import os
import stat

import pytest

from conftest import AS_ROOT, FifoReader, is_null_device, own_null, run_cli, run_gdb

pytestmark = [pytest.mark.qemu, pytest.mark.usefixtures("no_leftovers")]


def json_in(out: str) -> dict:
    """The trace document gdb wrote to its stdout among its own lines."""
    start = out.index('{\n "schema"')
    return json.JSONDecoder().raw_decode(out[start:])[0]


def targets(tmp_path):
    link_target = tmp_path / "graph.svg"
    link = tmp_path / "link.svg"
    link.symlink_to(link_target)
    fifo = tmp_path / "timeline.fifo"
    os.mkfifo(fifo)
    return link, link_target, fifo


def check_targets(link, link_target, fifo, reader):
    assert link.is_symlink() and "<svg" in link_target.read_text()
    assert "traceEvents" in json.loads(reader.result())
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


@AS_ROOT
def test_shell_trace_json_to_stdout_and_the_rest_to_a_device_a_link_a_fifo(qemu_argv, tmp_path):
    link, link_target, fifo = targets(tmp_path)
    node = own_null(tmp_path)
    reader = FifoReader(fifo)
    r = run_cli("trace", "--json", "-", "--svg", str(link), "--report", node,
                "--timeline", str(fifo), "--", *qemu_argv)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)                  # nothing else on stdout
    assert doc["outcome"]["state"] == "init-complete"
    assert "init-complete" in r.stderr          # the summary went to stderr
    assert is_null_device(node)
    check_targets(link, link_target, fifo, reader)


@AS_ROOT
def test_gdb_trace_json_to_stdout_and_the_rest_to_a_device_a_link_a_fifo(qemu_argv, tmp_path):
    link, link_target, fifo = targets(tmp_path)
    node = own_null(tmp_path)
    reader = FifoReader(fifo)
    r = run_gdb(qemu_argv, f"qinit trace --kill --json - --svg {link} --dot {node} "
                f"--timeline {fifo}")
    assert r.returncode == 0, r.stderr
    assert json_in(r.stdout)["outcome"]["state"] == "init-complete"
    assert "init-complete" in r.stderr and "init-complete" not in r.stdout.split('{\n "schema"')[0]
    assert is_null_device(node)
    check_targets(link, link_target, fifo, reader)


def test_where_json_to_stdout_puts_the_answer_on_stderr(qemu_argv):
    r = run_cli("where", "qemu_init_board", "--json", "-", "--", *qemu_argv)
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert res["answers"] and "qemu_init_board" in r.stderr
