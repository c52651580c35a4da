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


# ---------------------------------------------------------------- what an output points at
import os  # noqa: E402
import stat  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402

from conftest import AS_ROOT, FifoReader, is_null_device, own_null  # noqa: E402
from gdb_qemuinit.errors import OutputError  # noqa: E402

def listing(directory) -> list[str]:
    return sorted(os.listdir(directory))


@AS_ROOT
def test_a_character_device_is_written_through_and_stays_a_device(tmp_path):
    node = own_null(tmp_path)
    before = listing(tmp_path)
    files.check_writable(node)
    files.write_output(node, b"x" * 100_000)
    assert is_null_device(node)
    assert listing(tmp_path) == before          # no temp file, no probe


def test_a_fifo_is_written_through_and_stays_a_fifo(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    files.check_writable(fifo)                  # opens nothing: no reader needed
    reader = FifoReader(fifo)
    files.write_output(fifo, "trace")
    assert reader.result() == b"trace"
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert listing(tmp_path) == ["pipe"]


def test_a_symlink_stays_a_link_and_its_file_is_written_whole(tmp_path):
    target = tmp_path / "target.json"
    target.write_text("old")
    link = tmp_path / "link"
    link.symlink_to(target)
    files.write_output(link, "new")
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text() == "new"
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "made.json")
    files.check_writable(dangling)
    files.write_output(dangling, "made")
    assert dangling.is_symlink() and (tmp_path / "made.json").read_text() == "made"
    assert listing(tmp_path) == ["dangling", "link", "made.json", "target.json"]


@AS_ROOT
def test_a_symlink_to_a_device_writes_the_device(tmp_path):
    node = own_null(tmp_path)
    link = tmp_path / "to-null"
    link.symlink_to(node)
    files.write_output(link, "x")
    assert link.is_symlink() and is_null_device(node)


def test_a_directory_or_a_socket_is_refused_in_one_line_before_anything_runs(tmp_path):
    import socket
    sock_path = str(tmp_path / "s")
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(sock_path)
        for target, what in ((tmp_path, "a directory"), (sock_path, "a socket")):
            for check in (files.check_writable, lambda p: files.write_output(p, "x")):
                with pytest.raises(OutputError) as e:
                    check(target)
                assert str(e.value) == f"cannot write {target}: it is {what}"
        assert stat.S_ISSOCK(os.lstat(sock_path).st_mode)


def test_check_writable_creates_nothing_and_says_why(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    os.utime(tmp_path, ns=(10**18, 10**18))      # a file made now would change it
    before, mtime = listing(tmp_path), os.stat(tmp_path).st_mtime_ns
    files.check_writable(tmp_path / "new.json")
    # not even a file made and removed: the directory did not change
    assert listing(tmp_path) == before and os.stat(tmp_path).st_mtime_ns == mtime
    with pytest.raises(OutputError, match="does not exist"):
        files.check_writable(tmp_path / "missing" / "x")
    if os.geteuid() != 0:                       # root writes a mode-0500 directory
        ro.chmod(0o500)
        with pytest.raises(OutputError, match="not writable"):
            files.check_writable(ro / "x")


def test_dash_is_standard_output_and_only_one_output_may_be_it():
    assert files.to_stdout(["-", None, "a.svg"])
    assert not files.to_stdout(["a.json", None])
    with pytest.raises(OutputError, match="only one output"):
        files.to_stdout(["-", "-"])
    files.check_writable("-")
    code = ("import sys; from gdb_qemuinit import files; print('first', flush=True); "
            "files.write_output('-', b'{\"k\": 1}\\n'); print('after')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True,
                         cwd=os.path.dirname(os.path.dirname(files.__file__)))
    assert out.stdout == b'first\n{"k": 1}\n' + b"after\n"


def test_checking_a_new_file_in_dev_leaves_dev_as_it_was():
    mtime = os.stat("/dev").st_mtime_ns
    if os.access("/dev", os.W_OK):
        files.check_writable(f"/dev/qemuinit-check-{os.getpid()}")
    files.check_writable(os.devnull)
    assert os.stat("/dev").st_mtime_ns == mtime
    assert not os.path.exists(f"/dev/qemuinit-check-{os.getpid()}")


def test_the_machines_dev_null_is_still_the_null_device():
    """Held at the end of the suite too (conftest): nothing here may replace it."""
    assert is_null_device(os.devnull)
