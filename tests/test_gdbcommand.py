"""How the shell starts gdb: its command line, and the quoting of the qinit
arguments, checked against a real gdb's string_to_argv."""

import json
import os
import subprocess

import pytest

from gdb_qemuinit import gdbcommand

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
    assert string_to_argv(gdbcommand._quote_gdb(arg)) == [arg]


def test_a_whole_argument_list_round_trips():
    assert string_to_argv(" ".join(gdbcommand._quote_gdb(a) for a in TRICKY)) == TRICKY


def test_gdb_gets_qemus_argument_list_and_the_quoted_qinit_command():
    qemu = ["/q/qemu-system-x86_64", "-name", "a b;rm -rf x", "-S"]
    cmd = gdbcommand.gdb_command(qemu, ["trace", "--json", "/p/t.json"])
    assert cmd[:2] == [gdbcommand.GDB, "-nx"] and "-batch" in cmd
    assert cmd[cmd.index("--args") + 1:] == qemu
    qinit = next(c for c in cmd if c.startswith("qinit "))
    assert qinit == 'qinit trace "--json" "/p/t.json"'
