"""From the documented path to the breakpoints a trace plants.

Hot functions (hundreds of calls per start) get no breakpoint: their edges are
confirmed from the backtraces of deeper points.  Dispatch points get none
either; their probes do.  The result is a short list of functions that run a
few times each, so a trace costs about what a bare run costs.
"""

from __future__ import annotations

from dataclasses import dataclass

from .initpath import InitPath

# QEMU enters its main loop here: init is complete.
MAIN_LOOP = "qemu_main_loop"


@dataclass(frozen=True)
class PlannedBreakpoint:
    function: str
    reason: str          # "documented" | "probe" | "extra"


@dataclass(frozen=True)
class Plan:
    breakpoints: tuple[PlannedBreakpoint, ...]
    end: str = MAIN_LOOP
    library: frozenset[str] = frozenset()   # resolved when QEMU loads them

    def functions(self) -> list[str]:
        return [b.function for b in self.breakpoints]


def make_plan(path: InitPath, extra: tuple[str, ...] = ()) -> Plan:
    """Breakpoints for `path`: its non-hot functions, the dispatch probes,
    and `extra` functions asked for by the caller (a question's stop points)."""
    chosen: dict[str, PlannedBreakpoint] = {}

    def add(fn: str, reason: str) -> None:
        if fn not in chosen and fn != MAIN_LOOP:
            chosen[fn] = PlannedBreakpoint(fn, reason)

    for fn in path.functions():
        if fn not in path.hot:
            add(fn, "documented")
    for d in path.dispatch.values():
        for fn in d.probes:
            add(fn, "probe")
    for fn in extra:
        add(fn, "extra")
    return Plan(tuple(chosen.values()), library=path.library)


def naive_plan(path: InitPath) -> Plan:
    """A breakpoint on every documented function, hot ones included: what a
    trace costs without planning (used by the benchmark)."""
    fns = path.functions() + [p for d in path.dispatch.values() for p in d.probes]
    return Plan(tuple(PlannedBreakpoint(f, "documented") for f in dict.fromkeys(fns)
                      if f != MAIN_LOOP), library=path.library)
