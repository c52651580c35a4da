#!/usr/bin/env bash
# Lint and type checks: ruff on the package, the tests and the loader, mypy
# on the pure modules (not gdbext/: it imports gdb, which only gdb has),
# and Debian's ShellCheck (installed by set-up; settings: .shellcheckrc) on
# the scripts and CI.  Installs the `lint` extra's tools (setup.cfg) into
# .venv first.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || bash scripts/setup.sh
tools=$(.venv/bin/python -c 'import configparser; c = configparser.ConfigParser();
c.read("setup.cfg"); print(c["options.extras_require"]["lint"])')
# shellcheck disable=SC2086  # one requirement a word
.venv/bin/python -m pip install -q --disable-pip-version-check $tools
.venv/bin/ruff check gdb_qemuinit tests gdbinit.py benchmarks
.venv/bin/mypy      # its files and settings: pyproject.toml [tool.mypy]
shellcheck scripts/*.sh .ci/run
