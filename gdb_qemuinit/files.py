"""Writing outputs, and saying before QEMU runs that one cannot be written:
every file qemuinit writes goes through here.

What a user points an output at decides how it is written:
- a regular file, or a name that does not exist yet: whole or not at all
  (a temp file beside it, then a rename onto it);
- a symlink: the file it names, by the same rules (the link stays a link);
- a character device (/dev/null, /dev/stdout, a terminal) or a FIFO:
  written through, as a shell's `>` would; never replaced;
- `-`: standard output.
A directory, a socket or a block device is refused with one line."""

from __future__ import annotations

import errno
import os
import stat
import sys

from .errors import OutputError

STDOUT = "-"

# How a target is written (output_kind's answers).
KIND_STDOUT, KIND_FILE, KIND_STREAM = "stdout", "file", "stream"


def _exclusive_temp(directory: str, prefix: str) -> tuple[int, str]:
    """A new file in `directory`, created with O_EXCL (what tempfile does,
    without importing it into gdb for one file)."""
    for n in range(100):
        name = os.path.join(directory, f"{prefix}{os.getpid()}-{n}")
        try:
            return os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), name
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name in {directory}")


def output_kind(path: str | os.PathLike) -> tuple[str, str]:
    """(kind, where): how `path` is written and the path written (a
    symlink's final target).  OutputError for what cannot take an output."""
    name = os.fspath(path)
    if name == STDOUT:
        return KIND_STDOUT, name
    real = os.path.realpath(os.path.expanduser(name))
    try:
        mode = os.stat(real).st_mode
    except FileNotFoundError:
        return KIND_FILE, real
    except OSError as exc:
        raise OutputError(f"cannot write {name}: {exc.strerror}") from None
    if stat.S_ISREG(mode):
        return KIND_FILE, real
    if stat.S_ISCHR(mode) or stat.S_ISFIFO(mode):
        return KIND_STREAM, real
    what = ("a directory" if stat.S_ISDIR(mode) else "a socket" if stat.S_ISSOCK(mode)
            else "a block device" if stat.S_ISBLK(mode) else "not a file")
    raise OutputError(f"cannot write {name}: it is {what}")


def check_writable(path: str | os.PathLike) -> None:
    """Raise OutputError now if `path` cannot be written later (before QEMU
    runs).  Nothing is replaced, and no file shows in a directory, to find
    out."""
    kind, real = output_kind(path)
    if kind == KIND_STDOUT:
        return
    if kind == KIND_STREAM:
        if not os.access(real, os.W_OK):
            raise OutputError(f"cannot write {path}: permission denied")
        return
    parent = os.path.dirname(real)
    if not os.path.isdir(parent):
        raise OutputError(f"cannot write {path}: directory {parent} does not exist")
    try:
        _try_create_in(parent)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: directory {parent} is not writable "
                          f"({exc.strerror})") from None


def _try_create_in(directory: str) -> None:
    """Create a file in `directory` as the writer will, and drop it: an
    unnamed one (O_TMPFILE) that no one sees and that goes with its close;
    where the file system has none (sysfs, some network ones), a named one
    removed at once.  (os.access says yes to root even where a write fails:
    a read-only mount, sysfs.)"""
    try:
        os.close(os.open(directory, os.O_TMPFILE | os.O_WRONLY, 0o600))
        return
    except OSError as exc:
        if exc.errno not in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL):
            raise
    fd, probe = _exclusive_temp(directory, ".qemuinit-probe-")
    os.close(fd)
    os.unlink(probe)


def _replace_whole(real: str, data: bytes) -> None:
    """A regular file written whole or not at all: a temp file beside it,
    then a rename onto it."""
    fd, tmp = _exclusive_temp(os.path.dirname(real), f".{os.path.basename(real)}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, real)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _write_through(real: str, data: bytes) -> None:
    """A device or a FIFO: opened for writing (a FIFO waits for its reader,
    as a shell's `>` does), never created, truncated or replaced."""
    fd = os.open(real, os.O_WRONLY | os.O_NOCTTY)
    try:
        _write_all(fd, data)
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _to_stdout(data: bytes) -> None:
    """Standard output, after what was printed to it already (gdb's stdout
    has no binary buffer: its file descriptor is written)."""
    out = sys.stdout
    out.flush()
    buffer = getattr(out, "buffer", None)
    if buffer is not None:
        buffer.write(data)
        buffer.flush()
    else:
        _write_all(1, data)


def write_atomic(path: str | os.PathLike, data: str | bytes) -> None:
    """Write `data` to `path` as the module's rules say (a regular file
    whole or not at all).  OSError on failure."""
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    kind, real = output_kind(path)
    if kind == KIND_STDOUT:
        _to_stdout(raw)
    elif kind == KIND_STREAM:
        _write_through(real, raw)
    else:
        _replace_whole(real, raw)


def write_output(path: str | os.PathLike, data: str | bytes) -> None:
    """An output the user asked for; a failure is one line (OutputError),
    the same from the shell and in gdb."""
    try:
        write_atomic(path, data)
    except OutputError:
        raise
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None


def to_stdout(paths) -> bool:
    """Is one of these outputs standard output?  (Then what a command would
    print goes to standard error.)  More than one `-` is a user error."""
    n = sum(1 for p in paths if p is not None and os.fspath(p) == STDOUT)
    if n > 1:
        raise OutputError("only one output can be '-' (standard output)")
    return n == 1
