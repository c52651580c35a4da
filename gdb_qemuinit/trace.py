"""The trace: what a run showed, as plain data, and its JSON form.

    {"schema": "qemuinit.trace/1",
     "qemu": {"binary", "version", "argv"},
     "outcome": {"state", "detail", "exit_code", ...},
     "hits": [{"seq", "function", "thread", "frames": [{"function", "file", "line"}]}],
     ...}

Frames are innermost first and end at ``main``.  Readers accept extra keys, so
later sections (edges, vhost_user, ...) do not change the schema version.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

SCHEMA = "qemuinit.trace/1"
STATES = ("init-complete", "answered", "exited", "signaled", "timeout", "interrupted",
          "error")


class TraceError(ValueError):
    """A file is not a usable qemuinit trace."""


@dataclass
class Frame:
    function: str | None
    file: str | None
    line: int | None


@dataclass
class Hit:
    seq: int
    function: str
    thread: int
    frames: list[Frame]
    reads: dict | None = None     # values read at the hit (qinit where)
    t: float | None = None        # seconds since the run started
    err: int | None = None        # bytes QEMU and gdb had written to stderr by then

    def stack(self) -> list[str]:
        """Function names, innermost first ('??' where gdb knows none)."""
        return [f.function or "??" for f in self.frames]


@dataclass
class Outcome:
    state: str = "error"
    detail: str = ""
    exit_code: int | None = None
    signal: str | None = None
    frames: list[Frame] | None = None     # where it stopped (signaled, timeout)
    last_stage: str | None = None         # the last documented function hit
    reads: dict | None = None             # {function: {name: value}} where it blocked
    error_line: str | None = None         # QEMU's own last error line (stderr)


@dataclass
class Trace:
    qemu: dict
    outcome: Outcome
    hits: list[Hit] = field(default_factory=list)
    planted: list[str] = field(default_factory=list)
    missing_symbols: list[str] = field(default_factory=list)
    debug_info: bool = True
    extra: dict = field(default_factory=dict)   # sections added by analysis

    def functions_hit(self) -> list[str]:
        return list(dict.fromkeys(h.function for h in self.hits))

    def to_json(self) -> dict:
        doc = {"schema": SCHEMA, "qemu": self.qemu,
               "outcome": _drop_none(asdict(self.outcome)),
               "hits": [_hit_json(h) for h in self.hits],
               "planted": self.planted,
               "symbols": {"debug_info": self.debug_info,
                           "missing": self.missing_symbols}}
        doc.update(self.extra)
        return doc

    @classmethod
    def from_json(cls, doc: object) -> "Trace":
        if not isinstance(doc, dict):
            raise TraceError("not a qemuinit trace (the top level is not a JSON object)")
        schema = doc.get("schema")
        if schema != SCHEMA:
            if isinstance(schema, str) and schema.startswith("qemuinit.trace/"):
                raise TraceError(f"trace schema {schema!r} is not supported "
                                 f"(this qemuinit reads {SCHEMA!r})")
            raise TraceError(f"not a qemuinit trace (schema is {schema!r}, "
                             f"expected {SCHEMA!r})")
        try:
            out = doc["outcome"]
            outcome = Outcome(state=out["state"], detail=out.get("detail", ""),
                              exit_code=out.get("exit_code"), signal=out.get("signal"),
                              frames=_frames(out["frames"]) if out.get("frames") else None,
                              last_stage=out.get("last_stage"), reads=out.get("reads"),
                              error_line=out.get("error_line"))
            hits = [Hit(seq=int(h["seq"]), function=str(h["function"]),
                        thread=int(h["thread"]), frames=_frames(h["frames"]),
                        reads=h.get("reads"), t=h.get("t"), err=h.get("err"))
                    for h in doc["hits"]]
            qemu = dict(doc["qemu"])
            symbols = doc.get("symbols", {})
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise TraceError(f"malformed trace: missing or bad field {exc}") from None
        if outcome.state not in STATES:
            raise TraceError(f"malformed trace: unknown outcome state {outcome.state!r}")
        known = {"schema", "qemu", "outcome", "hits", "planted", "symbols"}
        return cls(qemu=qemu, outcome=outcome, hits=hits,
                   planted=list(doc.get("planted", [])),
                   missing_symbols=list(symbols.get("missing", [])),
                   debug_info=bool(symbols.get("debug_info", True)),
                   extra={k: v for k, v in doc.items() if k not in known})


def _hit_json(h: Hit) -> dict:
    """asdict() deep-copies: a trace has thousands of frames, build it directly."""
    doc = {"seq": h.seq, "function": h.function, "thread": h.thread,
           "frames": [{"function": f.function, "file": f.file, "line": f.line}
                      for f in h.frames]}
    for key in ("reads", "t", "err"):
        value = getattr(h, key)
        if value is not None:
            doc[key] = value
    return doc


def _frames(raw: list) -> list[Frame]:
    return [Frame(function=f.get("function"), file=f.get("file"),
                  line=f.get("line")) for f in raw]


def _drop_none(d: dict) -> dict:
    return {k: v for k, v in d.items() if v is not None or k == "exit_code"}


# ---------------------------------------------------------------- files
def check_writable(path: str | os.PathLike) -> None:
    """Raise OSError now if `path` cannot be written later (before QEMU runs)."""
    parent = Path(path).expanduser().resolve().parent
    if not parent.is_dir():
        raise OSError(f"directory {parent} does not exist")
    # Create and remove a file there, as the atomic writer will: os.access
    # says yes to root even in a read-only place.
    try:
        fd, probe = tempfile.mkstemp(dir=parent, prefix=".qemuinit-probe-")
    except OSError as exc:
        raise OSError(f"directory {parent} is not writable ({exc.strerror})") from None
    os.close(fd)
    os.unlink(probe)


def write_atomic(path: str | os.PathLike, data: str | bytes) -> None:
    """Write a whole file or nothing: a temp file beside it, then rename."""
    path = Path(path).expanduser()
    mode = "wb" if isinstance(data, bytes) else "w"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.resolve().parent)
    try:
        with os.fdopen(fd, mode) as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def dumps(trace: Trace | dict) -> str:
    """The JSON text qemuinit writes (traces and where results alike)."""
    doc = trace.to_json() if isinstance(trace, Trace) else trace
    return json.dumps(doc, indent=1, ensure_ascii=False) + "\n"


def save(trace: Trace | dict, path: str | os.PathLike) -> None:
    write_atomic(path, dumps(trace))


def load(path: str | os.PathLike) -> Trace:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise TraceError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise TraceError(f"{path} is not a qemuinit trace (not UTF-8 text)") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        what = "truncated" if exc.pos >= len(text.rstrip()) else "not valid JSON"
        raise TraceError(f"{path} is not a qemuinit trace ({what}: {exc.msg} "
                         f"at line {exc.lineno})") from None
    return Trace.from_json(doc)


# ---------------------------------------------------------------- sources
class SourceRoots:
    """Turns gdb's absolute source names into paths relative to QEMU's tree
    ("softmmu/vl.c"), caching the answer per directory."""

    MARKERS = ("VERSION", "meson.build", "qemu-options.hx")

    def __init__(self) -> None:
        self._root_of: dict[str, str | None] = {}

    def _root(self, directory: str) -> str | None:
        if directory in self._root_of:
            return self._root_of[directory]
        root = None
        d = directory
        while True:
            if all(os.path.exists(os.path.join(d, m)) for m in self.MARKERS):
                root = d
                break
            up = os.path.dirname(d)
            if up == d:
                break
            d = up
        self._root_of[directory] = root
        return root

    def relative(self, fullname: str | None) -> str | None:
        if not fullname:
            return None
        full = os.path.normpath(fullname)
        root = self._root(os.path.dirname(full))
        if root is None:
            return full
        return os.path.relpath(full, root)
