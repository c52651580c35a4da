"""argparse for the gdb commands: errors as exceptions, help from the parser,
completion of option names."""

import pytest

from gdb_qemuinit import options
from gdb_qemuinit import gdbargs as cmdline


@pytest.fixture
def parser():
    p = cmdline.ArgumentParser("qinit demo")
    options.add(p, "json", "kill", "question")
    return p


def test_a_bad_option_raises_with_the_usage_line(parser):
    with pytest.raises(cmdline.UsageError, match="unrecognized arguments: --bogus") as err:
        parser.parse_args(["--bogus"])
    assert str(err.value).splitlines()[-1].startswith("usage: qinit demo")


def test_help_replaces_options_in_a_docstring(parser):
    text = parser.help_for("Demo.\n\n{options}\n\nMore.")
    assert text.startswith("Demo.\n\nUsage: qinit demo [--json FILE] [--kill]")
    assert "\n  --json FILE " in text and "\n  --kill " in text and text.endswith("\n\nMore.")


def test_completion_follows_gdbs_word_split(parser):
    assert cmdline.last_word("qinit x --js") == "--js" and cmdline.last_word("a ") == ""
    # gdb splits words at '-': for '--js' the word being completed is 'js'
    assert cmdline.complete_options(parser, "--js", "js") == ["json"]
    assert cmdline.complete_options(parser, "--", "") == ["json", "kill"]
