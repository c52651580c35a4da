"""Writing files whole or not at all, and saying before QEMU runs that one
cannot be written: every output qemuinit writes goes through here."""

from __future__ import annotations

import os

from .errors import OutputError


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


def check_writable(path: str | os.PathLike) -> None:
    """Raise OutputError (an OSError) now if `path` cannot be written later
    (before QEMU runs)."""
    parent = os.path.dirname(os.path.realpath(os.path.expanduser(path)))
    if not os.path.isdir(parent):
        raise OutputError(f"cannot write {path}: directory {parent} does not exist")
    # Create and remove a file there, as the atomic writer will: os.access
    # says yes to root even in a read-only place.
    try:
        fd, probe = _exclusive_temp(parent, ".qemuinit-probe-")
    except OSError as exc:
        raise OutputError(f"cannot write {path}: directory {parent} is not writable "
                      f"({exc.strerror})") from None
    os.close(fd)
    os.unlink(probe)


def write_atomic(path: str | os.PathLike, data: str | bytes) -> None:
    """Write a whole file or nothing: a temp file beside it, then rename."""
    path = os.path.expanduser(path)
    fd, tmp = _exclusive_temp(os.path.dirname(os.path.realpath(path)),
                              f".{os.path.basename(path)}.")
    try:
        if isinstance(data, bytes):
            with os.fdopen(fd, "wb") as fb:
                fb.write(data)
        else:
            with os.fdopen(fd, "w", encoding="utf-8") as ft:
                ft.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_output(path: str | os.PathLike, data: str | bytes) -> None:
    """An output the user asked for, written whole; a failure is one line
    (OutputError), the same from the shell and in gdb."""
    try:
        write_atomic(path, data)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
