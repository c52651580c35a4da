"""The shell CLI's parser and what the README says of it (no gdb needed)."""

import argparse
import re

from conftest import ROOT
from gdb_qemuinit import cli, options


def subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = cli.build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_the_readme_synopsis_lists_every_option_of_every_subcommand():
    readme = (ROOT / "README.md").read_text()
    synopsis = readme.split("## From a shell", 1)[1].split("\n\n", 2)[1]
    for name, p in subparsers().items():
        lines = " ".join(re.findall(rf"qemuinit {name} .*(?:\n {{10,}}.*)*", synopsis)) + " "
        assert lines, name
        for a in p._actions:
            for opt in a.option_strings:
                if opt not in ("-h", "--help") and not (opt == "--output" and "-o" in lines):
                    assert f"[{opt}" in lines or f"{opt} " in lines, (name, opt)


def test_the_default_timeout_is_the_one_in_options():
    for name in ("trace", "where"):
        assert subparsers()[name].parse_args([]).timeout == options.DEFAULT_TIMEOUT


def test_an_option_shared_by_both_front_ends_has_one_help_text():
    trace = subparsers()["trace"]
    helps = {opt: a.help for a in trace._actions for opt in a.option_strings}
    assert helps["--json"] == options.OPTIONS["json"].help
    assert helps["--timeout"].startswith(options.OPTIONS["timeout"].help)
