"""Section names read from ELF headers, and the advice to add a gdb index."""

import os
import shutil
import subprocess

import pytest

from conftest import run_cli
from gdb_qemuinit.qemu import elf
from gdb_qemuinit.qemu.binary import index_advice

DEBIAN_QEMU = "/usr/bin/qemu-system-x86_64"


@pytest.fixture(scope="module")
def unindexed(qemu_binary, tmp_path_factory) -> str:
    """The debug QEMU without its gdb index (as a user's own build would be)."""
    copy = str(tmp_path_factory.mktemp("unindexed") / "qemu-system-x86_64")
    subprocess.run(["objcopy", "--remove-section", ".gdb_index", qemu_binary, copy], check=True)
    return copy


def test_the_project_build_has_debug_info_and_an_index(qemu_binary):
    names = elf.section_names(qemu_binary)
    assert {".text", ".debug_info", ".gdb_index"} <= names
    assert not elf.lacks_gdb_index(qemu_binary)


def test_a_build_without_index_is_told_apart(unindexed):
    names = elf.section_names(unindexed)
    assert ".debug_info" in names and ".gdb_index" not in names
    assert elf.lacks_gdb_index(unindexed)


def test_stripped_and_non_elf_files_need_no_index(tmp_path):
    if os.path.exists(DEBIAN_QEMU):      # stripped: an index would have nothing to index
        assert ".debug_info" not in elf.section_names(DEBIAN_QEMU)
        assert not elf.lacks_gdb_index(DEBIAN_QEMU)
    text = tmp_path / "not-elf"
    text.write_text("#!/bin/sh\n")
    assert elf.section_names(str(text)) == set()
    assert not elf.lacks_gdb_index(str(text))
    assert not elf.lacks_gdb_index(str(tmp_path / "missing"))


def test_index_advice_is_given_once_per_binary(unindexed, qemu_binary, tmp_path, monkeypatch):
    monkeypatch.setenv("QEMUINIT_CACHE", str(tmp_path / "cache"))
    first = index_advice(unindexed)
    assert first and first.endswith(f"gdb-add-index {unindexed}")
    assert index_advice(unindexed) is None
    assert index_advice(qemu_binary) is None


def test_the_cli_says_how_to_add_an_index(unindexed, tmp_path, monkeypatch, no_leftovers):
    monkeypatch.setenv("QEMUINIT_CACHE", str(tmp_path / "cache"))
    argv = ["where", "qemu_init_board", "--", unindexed,
            "-machine", "none", "-nodefaults", "-display", "none", "-S"]
    r = run_cli(*argv)
    assert r.returncode == 0, r.stderr
    assert r.stderr.count(f"gdb-add-index {unindexed}") == 1
    assert "gdb-add-index" not in run_cli(*argv).stderr
    shutil.rmtree(tmp_path / "cache")
