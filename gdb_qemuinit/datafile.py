"""The data files (TOML) as plain dicts, and the cache directory.

A command in gdb reads up to three data files before QEMU may start, and
tomllib costs more than the rest of that set-up (a few ms to import, a few
to parse init-path.toml).  So each parse is kept as JSON in the cache
directory, with the file's path, size and mtime: an edited file is parsed
again, an unwritable cache only costs the parse.
"""

from __future__ import annotations

import json
import os

from .errors import QemuinitError

TYPE_CHECKING = False     # typing costs 2 ms to import; the shell imports this early
if TYPE_CHECKING:
    from typing import Callable

DATA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")


class DataFileError(QemuinitError, ValueError):
    """A data file that is not valid TOML."""


def cache_dir() -> str:
    env = os.environ.get("QEMUINIT_CACHE")
    if env:
        return env
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(xdg, "qemuinit")


def data_file(name: str) -> str:
    return os.path.join(DATA_DIR, name)


def read_toml(path: str) -> dict:
    """The parsed file.  OSError if it cannot be read, DataFileError if it
    is not TOML."""
    path = os.path.abspath(os.path.expanduser(path))
    st = os.stat(path)
    stamp = [path, st.st_size, st.st_mtime_ns]
    cached = cache_entry(path)
    entry = load_cached(cached)
    if entry.get("source") == stamp and "doc" in entry:
        return entry["doc"]
    doc = _parse(path)
    store_cached(cached, {"source": stamp, "doc": doc})
    return doc


def cache_entry(path: str) -> str:
    """Where the parse of the file at absolute `path` is kept: one entry per
    file, so that a file of the same name elsewhere (a test's, a user's
    --path) does not evict the shipped one."""
    import zlib
    return os.path.join(cache_dir(), "data", "%s-%08x.json" % (
        os.path.basename(path), zlib.crc32(os.fsencode(path))))


def _parse(path: str) -> dict:
    import tomllib
    with open(path, "rb") as f:
        try:
            return tomllib.load(f)
        except tomllib.TOMLDecodeError as exc:
            raise DataFileError(f"not valid TOML: {exc}") from None
        except UnicodeDecodeError as exc:
            raise DataFileError(f"not UTF-8 text: {exc}") from None


def read_text(path: str | os.PathLike, error: Callable[[str], Exception],
              not_utf8: str = "{path} is not UTF-8 text") -> str:
    """A UTF-8 file's text.  `error` with one line when it cannot be read,
    or `not_utf8` (with {path}) when it is not UTF-8."""
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError as exc:
        raise error(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise error(not_utf8.format(path=path)) from None


def load_cached(path: str) -> dict:
    """A JSON object from the cache; {} when it is missing or damaged."""
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        return doc if isinstance(doc, dict) else {}
    except (OSError, ValueError):
        return {}


def store_cached(path: str, doc: dict) -> None:
    """Best effort, written whole (another qemuinit may read it meanwhile):
    a failure only costs the work again next time.  Only JSON-representable
    documents are kept: the data files have no TOML dates."""
    from .files import write_atomic
    try:
        text = json.dumps(doc)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        write_atomic(path, text)
    except (OSError, TypeError, ValueError):
        pass
