"""How the shell starts gdb: its command line, and the quoting of the qinit
arguments, checked against a real gdb's string_to_argv."""

import json
import os
import subprocess

import pytest

from gdb_qemuinit import runner

TRICKY = ["plain", "with space", 'a"quote', "back\\slash", "tail\\", "it's", "",
          "--json", "/tmp/dir with space/t.json", "{socket}", "$HOME", "a\tb"]


def string_to_argv(text: str) -> list[str]:
    """What gdb's own parser makes of `text` (passed in the environment, so
    that nothing else quotes it)."""
    r = subprocess.run(["gdb", "-nx", "-batch", "-ex",
                        "python import gdb, json, os; "
                        "print(json.dumps(gdb.string_to_argv(os.environ['QINIT_ARGS'])))"],
                       capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
                       env=dict(os.environ, QINIT_ARGS=text))
    return json.loads(r.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("arg", TRICKY)
def test_each_argument_reaches_the_gdb_command_unchanged(arg):
    assert string_to_argv(runner._quote_gdb(arg)) == [arg]


def test_a_whole_argument_list_round_trips():
    assert string_to_argv(" ".join(runner._quote_gdb(a) for a in TRICKY)) == TRICKY


def test_gdb_gets_qemus_argument_list_and_the_quoted_qinit_command():
    qemu = ["/q/qemu-system-x86_64", "-name", "a b;rm -rf x", "-S"]
    cmd = runner.gdb_command(qemu, ["trace", "--json", "/p/t.json"])
    assert cmd[:2] == [runner.GDB, "-nx"] and "-batch" in cmd
    assert cmd[cmd.index("--args") + 1:] == qemu
    qinit = next(c for c in cmd if c.startswith("qinit "))
    assert qinit == 'qinit trace "--json" "/p/t.json"'


def test_a_vhost_user_chardev_without_backend_is_said_before_qemu_starts(tmp_path, capsys):
    from gdb_qemuinit.qemu.cmdline import QemuCommandLine
    from gdb_qemuinit.runner import _say_chardevs_without_backend, plan_backends
    cl = QemuCommandLine.parse(["qemu", "-chardev", f"socket,id=chr0,path={tmp_path}/a,server=on",
                                "-netdev", "vhost-user,id=net0,chardev=chr0",
                                "-chardev", f"socket,id=chr1,path={tmp_path}/b",
                                "-netdev", "vhost-user,id=net1,chardev=chr1"])
    _say_chardevs_without_backend(cl, [])
    err = capsys.readouterr().err.splitlines()
    assert [line.split(" (")[0] for line in err] == [
        "qemuinit: nothing is started for vhost-user chardev chr0",
        "qemuinit: nothing is started for vhost-user chardev chr1"]
    assert all("--testpmd" in line for line in err)
    served = plan_backends(cl, ["chr1=dpdk-testpmd"], "", str(tmp_path))
    _say_chardevs_without_backend(cl, served)
    assert [line.split(" (")[0] for line in capsys.readouterr().err.splitlines()] == [
        "qemuinit: nothing is started for vhost-user chardev chr0"]
