"""How far a trace goes (data/phases.toml): init to the main loop, or on
to the guest starting every vhost NIC.  A phase names the documented paths
it checks and where its run ends; planning, the gdb run and the analysis
all read it from here."""

from __future__ import annotations

import functools
from typing import NamedTuple

from ..datafile import data_file, read_toml
from ..errors import QemuinitError
from . import initpath, shapes


class PhaseError(QemuinitError, ValueError):
    """An unknown phase, or a command line that can never finish it."""


# What a phase's `started.per` may count: the NICs a guest driver makes QEMU
# start a vhost backend for (QemuCommandLine.vhost_nics).
PER = ("vhost-nic",)


class Started(NamedTuple):
    """The run ends once `function` returned for every NIC counted by `per`."""
    function: str
    per: str
    reads: dict[str, str]
    if_none: str = ""               # why a command line without such a NIC never ends


class Event(NamedTuple):
    """What ends a watch (--until EVENT): QEMU enters one of `functions`,
    with one of `within` on its stack (empty: anywhere)."""
    name: str
    functions: tuple[str, ...]
    within: tuple[str, ...]
    about: str


class Phase(NamedTuple):
    name: str
    about: str
    paths: tuple[str, ...]          # data files, joined in order
    timeout: float
    end: str | None = None          # entered by the main thread: the run is over
    started: Started | None = None
    marks: tuple[str, ...] = ()
    refuses: dict[str, str] = {}
    # A running QEMU, attached (watch): its time limit is how it normally
    # ends, and what ends it earlier is one of its `events`.
    running: bool = False
    events: dict[str, Event] = {}
    reads: dict[str, dict[str, str]] = {}   # function -> {name: expression}
    # On past init while qemuinit sends QMP commands (trace --qmp), until the
    # last is answered.
    qmp: bool = False
    # (down, up): the events that bound a NIC's time without a backend
    outage: tuple[str, str] | None = None

    def path(self, path_file: str | None = None) -> initpath.InitPath:
        """The phase's documented path; `path_file` replaces its first file."""
        first = initpath.load(path_file) if path_file else _shipped(self.paths[0])
        if len(self.paths) == 1:
            return first
        return initpath.join([first] + [_shipped(p) for p in self.paths[1:]])

    def event(self, name: str) -> Event:
        if name not in self.events:
            raise PhaseError(f"no event {name!r} of {self.name}; events: "
                             f"{', '.join(self.events) or 'none'}")
        return self.events[name]

    def refusal(self, argv: list[str]) -> str | None:
        """Why QEMU started with `argv` can never finish this phase."""
        return next((why for opt, why in self.refuses.items() if opt in argv[1:]), None)


_STARTED = shapes.Record({"function": str, "per": str},
                         {"reads": shapes.Map(str), "if_none": str})
_EVENT = shapes.Record({"functions": [str], "about": str}, {"within": [str]})
_PHASE = shapes.Record({"about": str, "paths": [str], "timeout": float},
                       {"end": str, "started": _STARTED, "marks": [str],
                        "refuses": shapes.Map(str), "running": bool,
                        "events": shapes.Map(_EVENT), "reads": shapes.Map(shapes.Map(str)),
                        "qmp": bool,
                        "outage": shapes.Record({"down": str, "up": str})})


@functools.lru_cache(maxsize=None)
def _shipped(name: str) -> initpath.InitPath:
    """A shipped path file, or with FILE#CLUSTER,... only those clusters."""
    file, _, clusters = name.partition("#")
    path = initpath.load(data_file(file))
    return path.only(clusters.split(",")) if clusters else path


@functools.lru_cache(maxsize=1)
def _doc() -> dict:
    return read_toml(data_file("phases.toml"))


def names() -> list[str]:
    return [k for k, v in _doc().items() if isinstance(v, dict)]


def trace_names() -> list[str]:
    """The phases a trace runs QEMU to (not a watch of a running one)."""
    return [k for k in names() if not _doc()[k].get("running")]


def default_name() -> str:
    return _doc()["default"]


def load(name: str | None = None) -> Phase:
    name = name or default_name()
    doc = _doc().get(name)
    if not isinstance(doc, dict):
        raise PhaseError(f"no phase {name!r}; phases: {', '.join(names())}")
    try:
        shapes.check(doc, _PHASE, f"phase {name!r}")
    except shapes.ShapeError as exc:
        raise PhaseError(f"phases.toml: {exc}") from None
    st = doc.get("started")
    if st and st["per"] not in PER:
        raise PhaseError(f"phases.toml: phase {name!r}: started.per is {st['per']!r}, "
                         f"not one of {', '.join(PER)}")
    return Phase(name=name, about=doc["about"], paths=tuple(doc["paths"]),
                 timeout=float(doc["timeout"]), end=doc.get("end"),
                 started=Started(st["function"], st["per"], dict(st.get("reads", {})),
                                 st.get("if_none", ""))
                 if st else None,
                 marks=tuple(doc.get("marks", ())), refuses=dict(doc.get("refuses", {})),
                 running=bool(doc.get("running", False)),
                 events={k: Event(k, tuple(e["functions"]), tuple(e.get("within", ())),
                                  e["about"]) for k, e in doc.get("events", {}).items()},
                 reads={f: dict(r) for f, r in doc.get("reads", {}).items()},
                 qmp=bool(doc.get("qmp", False)),
                 outage=(doc["outage"]["down"], doc["outage"]["up"]) if "outage" in doc
                 else None)


def of_trace(qemu: dict) -> Phase:
    """The phase a trace was recorded for (before phases: the main loop)."""
    return load(qemu.get("phase"))
