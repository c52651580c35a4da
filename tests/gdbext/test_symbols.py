"""gdbext/symbols on the real debug QEMU (a fresh gdb each, QEMU not run)."""

import json

import pytest

from conftest import run_gdb

pytestmark = pytest.mark.qemu


def near_in_gdb(qemu_binary, names):
    r = run_gdb([qemu_binary], "python from gdb_qemuinit.gdbext.symbols import names_near_each; "
                f"import json; print('NEAR', json.dumps(names_near_each({qemu_binary!r}, "
                f"{names!r})))")
    line = next((ln for ln in r.stdout.splitlines() if ln.startswith("NEAR ")), None)
    assert line, r.stdout + r.stderr
    return json.loads(line[5:])


def test_names_near_a_missing_function_are_kept_per_binary(qemu_binary, tmp_path, monkeypatch):
    """The search costs gdb ~0.14 s a name: a second run of the same binary
    takes it from the cache (a planted entry proves it), a new name is
    searched."""
    monkeypatch.setenv("QEMUINIT_CACHE", str(tmp_path))
    first = near_in_gdb(qemu_binary, ["qemu_init_boardz"])
    assert "qemu_init_board" in first["qemu_init_boardz"]
    cache = tmp_path / "binaries.json"
    every = json.loads(cache.read_text())
    (entry,) = every.values()
    assert entry["near"] == first
    entry["near"]["qemu_init_boardz"] = ["from_the_cache"]
    cache.write_text(json.dumps(every))
    again = near_in_gdb(qemu_binary, ["qemu_init_boardz", "vhost_net_start_onee"])
    assert again["qemu_init_boardz"] == ["from_the_cache"]
    assert "vhost_net_start_one" in again["vhost_net_start_onee"]
