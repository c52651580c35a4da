"""Every user error qemuinit raises shares one base, which each front end
catches in one place."""

import pytest

from gdb_qemuinit import datafile, errors
from gdb_qemuinit import gdbargs as cmdline
from gdb_qemuinit.model import initpath
from gdb_qemuinit.qemu import binary as qemu
from gdb_qemuinit.qemu import cmdline as qemu_cmdline
from gdb_qemuinit.qemu import relay
from gdb_qemuinit.qemu import scenario
from gdb_qemuinit.model import trace
from gdb_qemuinit.model import questions
from gdb_qemuinit.cli import main


@pytest.mark.parametrize("cls", [trace.TraceError, initpath.InitPathError,
                                 cmdline.UsageError, qemu.QemuError, errors.CliError,
                                 scenario.ScenarioError, datafile.DataFileError,
                                 questions.QuestionError, errors.OutputError,
                                 relay.RelayError, qemu_cmdline.CommandLineError])
def test_every_user_error_is_a_qemuinit_error(cls):
    assert issubclass(cls, errors.QemuinitError)


def test_an_unwritable_output_is_still_an_oserror(tmp_path):
    from gdb_qemuinit import files
    with pytest.raises(OSError):
        files.check_writable(tmp_path / "missing" / "x.json")


def test_the_cli_prints_one_line_and_exits_2(tmp_path, capsys):
    assert main(["report", str(tmp_path / "none.json")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("qemuinit: cannot read ") and err.count("\n") == 1
    assert main(["path", "no-such-cluster"]) == 2
    assert capsys.readouterr().err.startswith("qemuinit: no cluster 'no-such-cluster'")
