"""Files written whole or not at all; outputs checked before QEMU runs."""

import pytest

from gdb_qemuinit import files


def test_atomic_write_leaves_no_partial_file(tmp_path):
    target = tmp_path / "out.json"
    target.write_text("old")

    class Boom:          # fails while being written, like a full disk
        def __str__(self):
            raise RuntimeError("disk full")
    with pytest.raises(TypeError):
        files.write_atomic(target, Boom())
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]
    with pytest.raises(OSError):
        files.check_writable(tmp_path / "missing" / "x.json")
