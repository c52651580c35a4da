"""The gdb the shell starts before it has decided the run: when it is
started, that it waits, that a run it was not started for gives it up
(killed by its PID, nothing run), and that its run file's QEMU arguments
read back in gdb as they were given."""

import json
import os
import subprocess

import pytest

from conftest import ROOT
from gdb_qemuinit import cli, earlygdb, gdbcommand
from gdb_qemuinit.errors import QemuinitError


@pytest.mark.parametrize("argv", [
    ["report", "t.json"],
    ["trace", "--help"],
    ["where", "--list"],
    ["trace", "--", "/nonexistent/qemu-system-x86_64"],
    ["trace", "--"],
    ["hang", "1"],
])
def test_no_gdb_for_a_command_that_runs_no_qemu_or_names_no_binary(argv):
    assert earlygdb.start(argv) is None


def test_it_waits_until_given_up_then_is_killed_having_run_nothing(qemu_binary):
    gdb = earlygdb.start(["trace", "--json", "t.json", "--", qemu_binary, "-S"])
    assert gdb is not None
    try:
        assert gdb.serves([qemu_binary, "-S"], "trace")
        assert not gdb.serves([qemu_binary, "-S"], "where")
        assert not gdb.serves(["/other/qemu", "-S"], "trace")
        # it goes nowhere by itself: no QEMU child appears while it waits
        with pytest.raises(subprocess.TimeoutExpired):
            gdb.proc.wait(timeout=1)
        assert earlygdb.child_pids(gdb.proc.pid) == []
    finally:
        gdb.close()
        gdb.private.cleanup()
    assert gdb.proc.returncode == -9
    assert not os.path.exists(gdb.run_file)
    gdb.close()                         # again: nothing more to do


def test_a_refused_command_line_leaves_no_gdb(qemu_binary, monkeypatch):
    started = []
    real = earlygdb.start
    monkeypatch.setattr(earlygdb, "start", lambda argv: started.append(real(argv)) or
                        started[-1])
    # hot-plug needs QMP commands: refused after gdb was started for it
    assert cli.main(["trace", "--until", "hot-plug", "--", qemu_binary]) == cli.EXIT_USAGE
    assert started and started[0] is not None
    assert started[0].proc.returncode is not None
    assert not os.path.exists(started[0].private.name)


def test_qemus_arguments_read_back_in_gdb_as_given(qemu_binary, tmp_path):
    args = [qemu_binary, "-name", "a b", '{"qom-type":"x","id":"# not a comment"}',
            "it's", "$HOME", "back\\slash", ""]
    run_file = tmp_path / "run.gdb"
    text = gdbcommand.run_file_text(args, ["trace", "--json", "t.json"])
    assert text.splitlines()[-1] == 'qinit trace "--json" "t.json"'
    run_file.write_text(text.splitlines()[0] + "\n")
    r = subprocess.run(["gdb", "-nx", "-batch", "-x", str(run_file), "-ex",
                        f"python import sys, json; sys.path.insert(0, {str(ROOT)!r}); "
                        "from gdb_qemuinit.gdbext.starting import program_args; "
                        "print(json.dumps(program_args()))", qemu_binary],
                       capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert json.loads(r.stdout.strip().splitlines()[-1]) == args[1:]


def test_an_argument_with_a_line_break_is_not_said_to_gdb():
    text = gdbcommand.run_file_text(["q", "-name", "a\nb"], ["trace"])
    assert text == "qinit trace\n"
    # a qinit argument cannot be left out: refused
    with pytest.raises(QemuinitError, match="line break"):
        gdbcommand.run_file_text(["q"], ["trace", "--path", "a\nb.toml"])


def test_an_argument_that_is_not_utf8_is_written_as_its_bytes():
    odd = os.fsdecode(b"caf\xe9")          # as sys.argv holds it
    data = gdbcommand.run_file_bytes(["q", "-name", odd], ["trace", "--json", odd])
    assert data.count(b"caf\xe9") == 2


def test_a_traced_run_uses_it_and_it_ends_by_itself(qemu_binary, tmp_path, monkeypatch):
    """The shell's run goes through the gdb it started first; that gdb says
    it is done, QEMU gone, and exits by itself (code 0, not killed)."""
    started = []
    real = earlygdb.start
    monkeypatch.setattr(earlygdb, "start", lambda argv: started.append(real(argv)) or
                        started[-1])
    out = tmp_path / "t.json"
    assert cli.main(["trace", "--json", str(out), "--", qemu_binary, "-machine", "q35",
                     "-nodefaults", "-display", "none", "-S"]) == cli.EXIT_OK
    gdb = started[0]
    assert gdb is not None and gdb.went and gdb.said_done
    assert gdb.proc.returncode == 0
    assert json.loads(out.read_text())["outcome"]["state"] == "init-complete"


def test_a_gdb_that_cannot_start_leaves_nothing_to_close(qemu_binary, monkeypatch):
    monkeypatch.setattr(gdbcommand, "GDB", "/nonexistent/gdb")
    before = len(os.listdir("/proc/self/fd"))
    assert earlygdb.start(["trace", "--", qemu_binary]) is None
    assert earlygdb._STARTED == [] and len(os.listdir("/proc/self/fd")) == before
    earlygdb.close_all()


def test_a_gdb_gone_before_go_is_a_user_error(qemu_binary):
    gdb = earlygdb.start(["trace", "--", qemu_binary, "-S"])
    try:
        gdb.proc.kill()
        gdb.proc.wait()
        with pytest.raises(QemuinitError, match="gdb ended before the run"):
            gdb.go([qemu_binary, "-S"], ["trace"])
    finally:
        earlygdb.close_all()
        gdb.private.cleanup()
