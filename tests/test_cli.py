"""The shell CLI's parser and what the README says of it (no gdb needed)."""

import argparse
import re
import subprocess

import pytest

from conftest import ROOT
from gdb_qemuinit import cli, options, subcommands
from gdb_qemuinit.model import phases


def subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = subcommands.build_parser()
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


def test_the_default_timeout_is_the_one_in_options_or_the_later_phases():
    # init's phase has the options' time limit; a trace past it, its phase's
    assert phases.load("main-loop").timeout == options.DEFAULT_TIMEOUT
    trace = subparsers()["trace"]
    for args, phase in (([], "main-loop"), (["--until", "device-start"], "device-start"),
                        (["--scenario", "device-start"], "device-start")):
        opts = trace.parse_args(args)
        opts.qemu = []
        assert opts.timeout is None
        assert subcommands._run_phase(opts, opts.until).name == phase
        assert opts.timeout == phases.load(phase).timeout
    opts = trace.parse_args(["--until", "device-start", "--timeout", "5"])
    opts.qemu = ["qemu-system-x86_64", "-S"]
    # -S: the guest never runs, the phase could never end
    with pytest.raises(phases.PhaseError, match="-S"):
        subcommands._run_phase(opts, opts.until)


def test_a_question_past_init_runs_its_phases_scenario_and_refuses_s(capsys):
    """`where memory-table` goes to device start: with no QEMU given, the
    phase's scenario and time limit; on a line with -S, a refusal that
    names the question, before anything runs."""
    where = subparsers()["where"]
    opts = where.parse_args(["memory-table"])
    opts.qemu = []
    assert subcommands._run_phase(opts, "device-start", "where memory-table").name == "device-start"
    assert opts.scenario == "device-start" and opts.timeout == phases.load("device-start").timeout
    assert cli.main(["where", "memory-table", "--scenario", "vhost-user"]) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert "where memory-table (runs --until device-start)" in err and "-S" in err


def test_an_option_shared_by_both_front_ends_has_one_help_text():
    trace = subparsers()["trace"]
    helps = {opt: a.help for a in trace._actions for opt in a.option_strings}
    assert helps["--json"] == options.OPTIONS["json"].help
    assert helps["--timeout"].startswith(options.OPTIONS["timeout"].help)


def test_watch_refuses_what_is_not_a_running_qemu(capsys):
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        assert cli.main(["watch", str(sleeper.pid)]) == cli.EXIT_USAGE
        assert "which is not QEMU" in capsys.readouterr().err
    finally:
        sleeper.kill()
        sleeper.wait()
    assert cli.main(["watch", str(sleeper.pid)]) == cli.EXIT_USAGE
    assert f"no process {sleeper.pid}" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["watch", "1", "--until", "nic-gone"])     # not an event: argparse says


def test_qmp_goes_past_init_and_a_qmp_phase_needs_commands(capsys, tmp_path):
    f = tmp_path / "q.jsonl"
    f.write_text('{"execute": "query-status"}\n')
    assert cli.main(["trace", "--qmp", str(f), "--until", "device-start"]) == cli.EXIT_USAGE
    assert "--qmp goes on past init (--until hot-plug)" in capsys.readouterr().err
    assert cli.main(["trace", "--until", "hot-plug", "--", "qemu-system-x86_64"]) == \
        cli.EXIT_USAGE
    assert "give them with --qmp FILE" in capsys.readouterr().err
    trace = subparsers()["trace"]
    opts = trace.parse_args(["--qmp", str(f)])
    opts.qemu = []
    assert subcommands._run_phase(opts, opts.until).name == "hot-plug"
    assert opts.scenario == "hot-plug"
