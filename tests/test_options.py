"""The option definitions both front ends build their parsers from."""

import argparse

import pytest

from gdb_qemuinit import options


def test_a_front_end_adds_its_own_default_and_note():
    p = argparse.ArgumentParser()
    options.add(p, "json", "full", "timeout", timeout={"default": 5.0, "note": "default 5"})
    opts = p.parse_args(["--full", "--timeout", "2.5"])
    assert (opts.json, opts.full, opts.timeout) == (None, True, 2.5)
    assert p.parse_args([]).timeout == 5.0
    helps = {a.dest: a.help for a in p._actions}
    assert helps["timeout"] == options.OPTIONS["timeout"].help + " (default 5)"


def test_two_options_may_share_a_flag_with_their_own_help():
    assert options.OPTIONS["json"].flags == options.OPTIONS["where-json"].flags
    assert options.OPTIONS["json"].help != options.OPTIONS["where-json"].help


@pytest.mark.parametrize("text", ["0", "-1", "soon", "nan"])
def test_a_timeout_must_be_a_positive_number(text):
    with pytest.raises(argparse.ArgumentTypeError):
        options.positive_seconds(text)
