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


def test_an_output_that_cannot_be_written_is_one_line_naming_it(tmp_path):
    from gdb_qemuinit.errors import OutputError
    target = tmp_path / "missing" / "out.svg"
    with pytest.raises(OutputError) as e:
        files.write_output(target, "x")
    assert str(e.value).startswith(f"cannot write {target}: ") and "\n" not in str(e.value)
    files.write_output(tmp_path / "ok.txt", b"data")
    assert (tmp_path / "ok.txt").read_bytes() == b"data"
