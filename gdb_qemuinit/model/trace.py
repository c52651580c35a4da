"""The trace: what a run showed, as plain data, and its JSON form.

    {"schema": "qemuinit.trace/1",
     "qemu": {"binary", "version", "argv"},
     "outcome": {"state", "detail", "exit_code", ...},
     "hits": [{"seq", "function", "thread", "frames": [{"function", "file", "line"}], "t"}],
     "clock": {"name", "zero", "hit_t", "stops", "recording_seconds", ...},
     ...}

Frames are innermost first and end at ``main``.  Readers accept extra keys, so
later sections (edges, vhost_user, ...) do not change the schema version.
"""

from __future__ import annotations

import json
import os
from typing import NamedTuple

from ..datafile import read_text
from ..errors import QemuinitError
from ..files import write_output
from . import shapes
from .shapes import ANY, Map, OneOf, Opt, Record

SCHEMA = "qemuinit.trace/1"

# How a run ended (outcome.state).
INIT_COMPLETE = "init-complete"     # QEMU reached its main loop
DEVICES_STARTED = "devices-started"  # every vhost NIC's start returned 0 (phase device-start)
START_FAILED = "start-failed"       # every vhost NIC's start returned, one of them an error
ANSWERED = "answered"               # stopped at a question's first answer
WATCHED = "watched"                 # a watch's end: its time limit, Ctrl-C or its event
EXITED = "exited"
SIGNALED = "signaled"
TIMEOUT = "timeout"
INTERRUPTED = "interrupted"         # Ctrl-C, SIGTERM
ERROR = "error"                     # gdb failed
STATES = (INIT_COMPLETE, DEVICES_STARTED, START_FAILED, ANSWERED, WATCHED, EXITED, SIGNALED,
          TIMEOUT, INTERRUPTED, ERROR)
# QEMU got where the command wanted it.
REACHED = (INIT_COMPLETE, DEVICES_STARTED, START_FAILED, ANSWERED, WATCHED)
# ... and all went well there.
SUCCEEDED = (INIT_COMPLETE, DEVICES_STARTED, ANSWERED, WATCHED)
# Interrupted before the main loop, so still running: where does it block?
CUT_SHORT = (TIMEOUT, INTERRUPTED)


# What a run records, as shapes (model/shapes.py): checked where a trace is
# read.  A read the analysis uses by name has its type; any other read is
# a scalar (a question's reads are data).
_SCALAR = OneOf((type(None), bool, int, float, str))
_READS = Opt(Record({}, {"request": Opt(int), "flags": Opt(int), "size": Opt(int),
                         "u64": Opt(int), "fds": Opt(int), "vq_index": Opt(int),
                         "ret": Opt(int), "chardev": Opt(str), "netdev": Opt(str),
                         "written": Opt(bool), "lost": Opt(bool), "device": Opt(str),
                         "id": Opt(str), "arg": Opt(int), "queue_pairs": Opt(int),
                         "cvq": Opt(int), "guest_features": Opt(int),
                         "returned_after": Opt(int),
                         "regions": Opt([Map(Opt(int))]), "addr": Opt(Map(Opt(int)))}))
_FRAME = Record({"function": Opt(str)}, {"file": Opt(str), "line": Opt(int)})
_LOG = Record({}, {"requests": [str], "protocol_features": [int],
                   "connections": [Record({"requests": [str],
                                           "protocol_features": [int]})]})
_BACKEND = Record({}, {"chardev": Opt(str), "socket": Opt(str), "qemu_role": Opt(str),
                       "argv": [str], "pid": Opt(int), "started": Opt(bool),
                       "dropped_first": Opt(bool), "problem": Opt(str),
                       "times": Map(Opt(float)), "log": _LOG})
RECORDED = Record(
    {"schema": str,
     "qemu": Record({}, {"binary": Opt(str), "version": Opt(str), "argv": [str],
                         "clock_start": Opt(float), "seconds": float, "phase": Opt(str)}),
     "outcome": Record({"state": str}, {
         "detail": Opt(str), "exit_code": Opt(int), "signal": Opt(str),
         "frames": Opt([_FRAME]), "last_stage": Opt(str), "error_line": Opt(str),
         "t": Opt(float), "reads": Opt(Map(_READS))}),
     "hits": [Record({"seq": int, "function": str, "thread": int, "frames": [_FRAME]},
                     {"reads": _READS, "t": Opt(float), "err": Opt(int)})]},
    {"planted": [str],
     "symbols": Record({}, {"debug_info": bool, "missing": [str]}),
     "clock": Map(ANY),
     "enums": Map(Map(str)),
     "writes_watched": Opt([str]),
     "final_reads": Map(Map(_SCALAR)),
     "symbols_near": ANY,
     "qemu_stderr": [Record({"line": str}, {"t": Opt(float), "at": Opt(int)})],
     "backends": [_BACKEND],
     "backend": _BACKEND,       # before a backend per chardev (current_shape reads them)
     "backend_log": _LOG,
     "qmp": [Record({"execute": str}, {"arguments": ANY, "t": Opt(float), "return": ANY,
                                      "error": Opt(str)})],
     "fault": Opt(Record({}, {"cut_after": Opt(str), "connections": Opt(int),
                              "socket": Opt(str),
                              "cut": Opt(Record({"after": str, "request": int,
                                                 "connection": int},
                                                {"t": Opt(float)}))}))})
# Made by the analysis from the above: left out when read, made again.
ANALYSED = ("edges", "steps", "vhost_user", "hang", "throwaway", "first_error", "findings",
            "outages")


class TraceError(QemuinitError, ValueError):
    """A file is not a usable qemuinit trace."""


class Frame(NamedTuple):
    function: str | None
    file: str | None
    line: int | None


class Hit:
    __slots__ = ("seq", "function", "thread", "frames", "reads", "t", "err")

    def __init__(self, seq: int, function: str, thread: int, frames: list[Frame],
                 reads: dict | None = None, t: float | None = None, err: int | None = None):
        self.seq = seq
        self.function = function
        self.thread = thread
        self.frames = frames
        self.reads = reads      # values read at the hit (qinit where)
        self.t = t              # seconds since the run started
        self.err = err          # bytes QEMU and gdb had written to stderr by then

    def __repr__(self) -> str:
        return f"Hit(seq={self.seq}, function={self.function!r}, thread={self.thread})"

    def stack(self) -> list[str]:
        """Function names, innermost first ('??' where gdb knows none)."""
        return [f.function or "??" for f in self.frames]


class Outcome:
    __slots__ = ("state", "detail", "exit_code", "signal", "frames", "last_stage", "reads",
                 "error_line", "t")

    def __init__(self, state: str = ERROR, detail: str = "", exit_code: int | None = None,
                 signal: str | None = None, frames: list[Frame] | None = None,
                 last_stage: str | None = None, reads: dict | None = None,
                 error_line: str | None = None, t: float | None = None):
        self.state = state
        self.detail = detail
        self.exit_code = exit_code
        self.signal = signal
        self.frames = frames            # where it stopped (signaled, timeout)
        self.last_stage = last_stage    # the last documented function hit
        self.reads = reads              # {function: {name: value}} where it blocked
        self.error_line = error_line    # QEMU's own last error line (stderr)
        self.t = t                      # when the run ended, on the hits' clock

    def __repr__(self) -> str:
        return f"Outcome(state={self.state!r}, detail={self.detail!r})"

    def to_json(self) -> dict:
        doc = {k: getattr(self, k) for k in self.__slots__}
        if self.frames is not None:
            doc["frames"] = [f._asdict() for f in self.frames]
        return {k: v for k, v in doc.items() if v is not None or k == "exit_code"}


class Trace:
    __slots__ = ("qemu", "outcome", "hits", "planted", "missing_symbols", "debug_info", "extra")

    def __init__(self, qemu: dict, outcome: Outcome, hits: list[Hit] | None = None,
                 planted: list[str] | None = None, missing_symbols: list[str] | None = None,
                 debug_info: bool = True, extra: dict | None = None):
        self.qemu = qemu
        self.outcome = outcome
        self.hits = hits if hits is not None else []
        self.planted = planted if planted is not None else []
        self.missing_symbols = missing_symbols if missing_symbols is not None else []
        self.debug_info = debug_info
        self.extra = extra if extra is not None else {}     # sections added by analysis

    def __repr__(self) -> str:
        return f"Trace({self.outcome!r}, {len(self.hits)} hits)"

    def functions_hit(self) -> list[str]:
        return list(dict.fromkeys(h.function for h in self.hits))

    def to_json(self) -> dict:
        doc = {"schema": SCHEMA, "qemu": self.qemu,
               "outcome": self.outcome.to_json(),
               "hits": [_hit_json(h) for h in self.hits],
               "planted": self.planted,
               "symbols": {"debug_info": self.debug_info,
                           "missing": self.missing_symbols}}
        doc.update(self.extra)
        return doc

    @classmethod
    def from_json(cls, doc: object, checked: bool = True) -> "Trace":
        """A trace from its JSON document, checked against the shape of
        what a run records (TraceError names the first place that is not);
        the sections the analysis makes from it are left out, to be made
        again (analysis.annotate).  `checked=False`: the document is the one
        this qemuinit's gdb just wrote, whose shape is its own (the check is
        most of the reading's time)."""
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
            if checked:
                shapes.check(doc, RECORDED, "trace")
        except shapes.ShapeError as exc:
            raise TraceError(f"malformed trace: {exc}") from None
        doc = current_shape({k: v for k, v in doc.items() if k not in ANALYSED})
        try:
            out = doc["outcome"]
            outcome = Outcome(state=out["state"], detail=out.get("detail", ""),
                              exit_code=out.get("exit_code"), signal=out.get("signal"),
                              frames=_frames(out["frames"]) if out.get("frames") else None,
                              last_stage=out.get("last_stage"), reads=out.get("reads"),
                              error_line=out.get("error_line"), t=out.get("t"))
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
        for name, table in (doc.get("enums") or {}).items():
            bad = next((k for k in table if not k.lstrip("-").isdigit()), None)
            if bad is not None:     # a request's or a bit's number
                raise TraceError(f"malformed trace: enums.{name} has the key {bad!r}, "
                                 f"which is no number")
        known = {"schema", "qemu", "outcome", "hits", "planted", "symbols"}
        return cls(qemu=qemu, outcome=outcome, hits=hits,
                   planted=list(doc.get("planted", [])),
                   missing_symbols=list(symbols.get("missing", [])),
                   debug_info=bool(symbols.get("debug_info", True)),
                   extra={k: v for k, v in doc.items() if k not in known})


def current_shape(doc: dict) -> dict:
    """A recorded trace in today's shape, whatever qemuinit wrote it, so
    that nothing after the load copes with older shapes: one "backend" and
    its "backend_log" (before a backend per chardev) become "backends", one
    backend for every chardev; a backend's log from before its connections
    were told apart is one connection."""
    doc = dict(doc)
    backend, log = doc.pop("backend", None), doc.pop("backend_log", None)
    if "backends" not in doc and (backend or log):
        one = dict(backend or {})
        if log and not one.get("log"):
            one["log"] = log
        doc["backends"] = [one]
    if "backends" in doc:
        doc["backends"] = [dict(b, log=_log_with_connections(b["log"])) if b.get("log") else b
                           for b in doc["backends"]]
    return doc


def _log_with_connections(log: dict) -> dict:
    if "connections" in log:
        return log
    return dict(log, connections=[{"requests": log.get("requests", []),
                                   "protocol_features": log.get("protocol_features", [])}])


def clock_section(zero: float, stops: int, recording_seconds: float) -> dict:
    """The trace's "clock": what every `t` in it is measured with."""
    return {"name": "CLOCK_MONOTONIC", "read_by": "time.monotonic() in gdb's Python",
            "unit": "s", "zero": zero,
            "t": "seconds since zero; QEMU's stderr lines (when qemuinit read them: "
                 "it polls every 50 ms, and the hits' err byte counts bound when a "
                 "line was written) and the backend's times are on the same clock",
            "hit_t": "read as a breakpoint's stop() begins: QEMU is stopped by then, "
                     "and each earlier stop's cost (gdb's trap handling and "
                     "recording) is in every later t",
            "stops": stops, "recording_seconds": round(recording_seconds, 6)}


def _hit_json(h: Hit) -> dict:
    doc = {"seq": h.seq, "function": h.function, "thread": h.thread,
           "frames": [f._asdict() for f in h.frames]}
    for key in ("reads", "t", "err"):
        value = getattr(h, key)
        if value is not None:
            doc[key] = value
    return doc


def _frames(raw: list) -> list[Frame]:
    return [Frame(function=f.get("function"), file=f.get("file"),
                  line=f.get("line")) for f in raw]


def dumps(trace: Trace | dict) -> str:
    """The JSON text qemuinit writes (traces and where results alike): a
    line per top-level key and per element of a top-level list (a hit, an
    edge), readable and diff-able, yet written by json's C encoder, which
    indent= would turn off (3 to 5 times slower on a trace)."""
    doc = trace.to_json() if isinstance(trace, Trace) else trace
    lines = []
    for key, value in doc.items():
        name = json.dumps(key)
        if isinstance(value, list) and value:
            items = ",\n  ".join(json.dumps(v, ensure_ascii=False) for v in value)
            lines.append(f"{name}: [\n  {items}\n ]")
        else:
            lines.append(f"{name}: {json.dumps(value, ensure_ascii=False)}")
    return "{\n " + ",\n ".join(lines) + "\n}\n"


def save(trace: Trace | dict, path: str | os.PathLike) -> None:
    write_output(path, dumps(trace))


def load(path: str | os.PathLike) -> Trace:
    text = read_text(path, TraceError, "{path} is not a qemuinit trace (not UTF-8 text)")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        # Cut short: the error is at the end, or in a string never closed
        # (json reports where that string starts; a string cannot span lines).
        cut = exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string")
        what = "truncated" if cut else "not valid JSON"
        raise TraceError(f"{path} is not a qemuinit trace ({what}: {exc.msg} "
                         f"at line {exc.lineno})") from None
    try:     # a \udcXX escape in the JSON is no character: nothing could print it
        json.dumps(doc, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise TraceError(f"{path} is not a qemuinit trace (a string holds "
                         f"{exc.object[exc.start:exc.end]!r}, which is no character)") from None
    return Trace.from_json(doc)
