"""The qinit commands as gdb shows them: help and Tab completion, through a
real `gdb -nx -batch` (no QEMU needed)."""

import ast
import subprocess

from conftest import ROOT
from gdb_qemuinit import options

SUBCOMMANDS = ("qinit trace", "qinit where", "qinit report", "qinit path", "qinit path import",
               "qinit path export", "qinit hang", "qinit watch")


def gdb(*commands: str) -> str:
    cmd = ["gdb", "-nx", "-batch", "-x", str(ROOT / "gdbinit.py")]
    for c in commands:
        cmd += ["-ex", c]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60,
                       stdin=subprocess.DEVNULL)
    assert "Traceback" not in r.stdout + r.stderr, r.stderr
    return r.stdout


def accepted_options() -> dict[str, list[list[str]]]:
    """What each subcommand's parser accepts, asked of the registered commands:
    per option its spellings (-o, --output)."""
    out = gdb("python from gdb_qemuinit.gdbext import commands; "
              "print({n: [a.option_strings for a in c.parser._actions if a.option_strings] "
              "for n, c in commands.COMMANDS.items()})")
    return ast.literal_eval(out.strip().splitlines()[-1])


def test_the_help_of_every_subcommand_lists_every_option_its_parser_accepts():
    accepted = accepted_options()
    assert set(accepted) == set(SUBCOMMANDS)
    for name, opts in accepted.items():
        text = gdb(f"help {name}")
        usage = text[text.index("Usage: "):text.index("\n\n", text.index("Usage: "))]
        for spellings in opts:
            assert any(f"[{o}" in usage for o in spellings), (name, spellings)
            # and its own help line
            assert any(f"\n  {o}" in text for o in spellings), (name, spellings)
    assert ["--naive"] in accepted["qinit trace"] and ["--quiet"] in accepted["qinit where"]


def test_the_timeout_setting_starts_at_the_shell_default():
    out = gdb("python import gdb; print(gdb.parameter('qinit timeout'))")
    assert int(out.strip().splitlines()[-1]) == options.DEFAULT_TIMEOUT


def completions(line: str) -> list[str]:
    return [ln for ln in gdb(f"complete {line}").splitlines() if ln.strip()]


def test_tab_completes_options_question_names_and_clusters():
    assert completions("qinit trace --j") == ["qinit trace --json"]
    assert completions("qinit trace --n") == ["qinit trace --naive"]
    assert "qinit trace --json x --timeout" in completions("qinit trace --json x --ti")
    assert completions("qinit report --no") == ["qinit report --no-color"]
    assert completions("qinit where pci") == ["qinit where pci-config"]
    assert completions("qinit where --a") == ["qinit where --all"]
    assert completions("qinit path chardev") == ["qinit path chardev_init"]
