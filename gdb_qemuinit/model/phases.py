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


class Phase(NamedTuple):
    name: str
    about: str
    paths: tuple[str, ...]          # data files, joined in order
    timeout: float
    end: str | None = None          # entered by the main thread: the run is over
    started: Started | None = None
    marks: tuple[str, ...] = ()
    refuses: dict[str, str] = {}

    def path(self, path_file: str | None = None) -> initpath.InitPath:
        """The phase's documented path; `path_file` replaces its first file."""
        first = initpath.load(path_file) if path_file else _shipped(self.paths[0])
        if len(self.paths) == 1:
            return first
        return initpath.join([first] + [_shipped(p) for p in self.paths[1:]])

    def refusal(self, argv: list[str]) -> str | None:
        """Why QEMU started with `argv` can never finish this phase."""
        return next((why for opt, why in self.refuses.items() if opt in argv[1:]), None)


_STARTED = shapes.Record({"function": str, "per": str},
                         {"reads": shapes.Map(str), "if_none": str})
_PHASE = shapes.Record({"about": str, "paths": [str], "timeout": float},
                       {"end": str, "started": _STARTED, "marks": [str],
                        "refuses": shapes.Map(str)})


@functools.lru_cache(maxsize=None)
def _shipped(name: str) -> initpath.InitPath:
    return initpath.load(data_file(name))


@functools.lru_cache(maxsize=1)
def _doc() -> dict:
    return read_toml(data_file("phases.toml"))


def names() -> list[str]:
    return [k for k, v in _doc().items() if isinstance(v, dict)]


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
                 marks=tuple(doc.get("marks", ())), refuses=dict(doc.get("refuses", {})))


def of_trace(qemu: dict) -> Phase:
    """The phase a trace was recorded for (before phases: the main loop)."""
    return load(qemu.get("phase"))
