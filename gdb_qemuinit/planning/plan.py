"""From the documented path to the breakpoints a trace plants.

Hot functions (hundreds of calls per start) get no breakpoint: their edges are
confirmed from the backtraces of deeper points.  Dispatch points get none
either; their probes do.  The result is a short list of functions that run a
few times each, so a trace costs about what a bare run costs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from ..model.initpath import InitPath
    from ..qemu.cmdline import QemuCommandLine

# QEMU enters its main loop here: init is complete.
MAIN_LOOP = "qemu_main_loop"


class Plan(NamedTuple):
    functions: tuple[str, ...]              # one breakpoint each
    # Entered by the main thread: the run is over (None: the phase ends
    # otherwise, see model/phases.py).
    end: str | None = MAIN_LOOP
    library: frozenset[str] = frozenset()   # resolved when QEMU loads them
    # Shared libraries whose symbols are read before planting (where the
    # library functions live); the others only when a backtrace needs them.
    library_symbols: tuple[str, ...] = ()
    # Documented functions left without a breakpoint because the command
    # line cannot take their path ([needs]); not looked up after the run.
    skipped: tuple[str, ...] = ()
    # callee -> callers left to its backtraces: planted if it has no symbol
    fallback: dict[str, tuple[str, ...]] | None = None
    # The netdevs whose NIC's start the run waits for (phase device-start)
    awaited: tuple[str, ...] = ()


def _breakpoints(functions, end: str | None = MAIN_LOOP) -> tuple[str, ...]:
    """Each once, in order; the end point has its own breakpoint."""
    return tuple(f for f in dict.fromkeys(functions) if f != end)


def _plan(path: InitPath, functions: list[str], skipped: Sequence[str] = (),
          fallback: dict[str, tuple[str, ...]] | None = None,
          end: str | None = MAIN_LOOP) -> Plan:
    return Plan(_breakpoints(functions, end), end=end,
                library=path.library, library_symbols=path.library_symbols,
                skipped=tuple(dict.fromkeys(skipped)),
                fallback=fallback)


def can_take(path: InitPath, name: str, command_line: QemuCommandLine | None) -> bool:
    """Can this QEMU command line reach `name`?  By [needs] (facts of the
    command line, QemuCommandLine.facts()): its own entry (a dispatch
    probe), else those of its clusters (any one matching will do; a cluster
    without an entry always can).  -readconfig can add anything."""
    if command_line is None or command_line.readconfig:
        return True
    facts = command_line.facts()
    if name in path.needs:
        return path.needs_met(name, facts)
    clusters = path.clusters_of(name)
    if not clusters:
        return True
    return any(c not in path.needs or path.needs_met(c, facts) for c in clusters)


def _probes(path: InitPath) -> list[str]:
    return [fn for d in path.dispatch.values() for fn in d.probes]


def _confirmed_below(path: InitPath, candidates: set[str]) -> dict[str, str]:
    """Candidates that need no breakpoint, each with the callee that will
    show it ([always]): a callee is watched if it is a candidate (planted or
    itself confirmed below) or a dispatch point with a candidate probe."""
    def watched(callee: str) -> bool:
        d = path.dispatch.get(callee)
        if d is not None:
            return any(p in candidates for p in d.probes)
        return callee in candidates

    below: dict[str, str] = {}
    for caller, callees in path.always.items():
        if caller in candidates:
            callee = next((c for c in callees if watched(c)), None)
            if callee is not None:
                below[caller] = callee
    # A loop of [always] edges would leave nothing planted: keep its members.
    for caller in list(below):
        seen, c = set(), caller
        while c in below and c not in seen:
            seen.add(c)
            c = below[c]
        if c in seen:
            below.pop(caller)
    return below


def make_plan(path: InitPath, extra: Sequence[str] = (),
              command_line: QemuCommandLine | None = None,
              end: str | None = MAIN_LOOP) -> Plan:
    """Breakpoints for `path`: its functions that are not hot, the dispatch
    probes, and `extra` (where vhost-user messages are read), less those
    confirmed from the backtrace of a watched callee they always call
    ([always]), so a device or netdev more costs a few stops.  With the
    QEMU `command_line`, paths it cannot take ([needs]) get none either:
    every breakpoint makes gdb read a compilation unit of QEMU's debug info."""
    wanted = [fn for fn in path.functions() if fn not in path.hot]
    wanted += _probes(path) + list(extra)
    takeable = {fn: can_take(path, fn, command_line)
                for fn in dict.fromkeys(wanted + path.functions())}
    candidates = [fn for fn in wanted if takeable[fn]]
    below = _confirmed_below(path, set(candidates))
    for fn in extra:            # read at their own hits: always planted
        below.pop(fn, None)
    fallback: dict[str, tuple[str, ...]] = {}
    for caller, callee in below.items():
        fallback[callee] = fallback.get(callee, ()) + (caller,)
    return _plan(path, [fn for fn in candidates if fn not in below],
                 skipped=[fn for fn in path.functions() if not takeable[fn]],
                 fallback=fallback, end=end)


def stops_plan(stops: list[str], end: str | None = MAIN_LOOP) -> Plan:
    """Breakpoints on a question's stop points only (no documented path
    needed: a where question does not read it).  A stop may be any function
    the user names, one of a shared library too."""
    functions = _breakpoints(stops, end)
    return Plan(functions, end=end, library=frozenset(functions))


def naive_plan(path: InitPath, extra: Sequence[str] = (),
               end: str | None = MAIN_LOOP) -> Plan:
    """A breakpoint on every documented function, hot ones included: what a
    trace costs without planning (used by the benchmark)."""
    return _plan(path, path.functions() + _probes(path) + list(extra), end=end)
