"""The short text printed after a trace."""

from __future__ import annotations

from collections import Counter

from ..analysis.summary import chain
from ..model import phases
from ..model.trace import EXITED, WATCHED, Trace
from ..model.verdicts import edges_of


NO_DEBUG_INFO_HINT = """\
  this QEMU has no debug info (a distribution build is stripped: only its
  exported functions have symbols), so this trace is partial and edges it could
  not see are 'unknown', never 'absent'.  For a full trace, use a QEMU with
  debug info: scripts/build-qemu.sh builds one (qemuinit's default), or install
  Debian's qemu-system-x86-dbgsym from the debian-debug archive, or let gdb
  fetch the symbols: export DEBUGINFOD_URLS=https://debuginfod.debian.net"""


def summarize(trace: Trace) -> str:
    o = trace.outcome
    q = trace.qemu
    lines = [f"qemuinit: {o.state}: {o.detail}",
             f"  QEMU {q.get('version', '?')} ({q.get('binary', '?')}), "
             f"{len(trace.hits)} hits on {len(trace.planted)} breakpoints"
             + (f" in {q['seconds']:.2f} s" if "seconds" in q else "")]
    if o.state == WATCHED and phases.of_trace(q).running:
        lines.append(held_line(q, trace.extra.get("clock") or {}))
    if o.exit_code is not None and o.state == EXITED:
        lines.append(f"  exit code {o.exit_code}")
    if o.last_stage:
        lines.append(f"  last documented function hit: {o.last_stage}")
    if o.frames:
        lines.append("  stopped in: " + chain(o.frames, limit=12))
    counts = Counter(h.function for h in trace.hits)
    if counts:
        lines.append("  functions hit (in the order of their first hit): " + ", ".join(
            f"{fn}" + (f" x{counts[fn]}" if counts[fn] > 1 else "")
            for fn in trace.functions_hit()))
    if trace.missing_symbols:
        lines.append(f"  no symbol in this binary for {len(trace.missing_symbols)} "
                     f"planned functions: " + ", ".join(trace.missing_symbols))
    if not trace.debug_info:
        lines.append(NO_DEBUG_INFO_HINT)
    return "\n".join(lines)


# What one breakpoint stop costs gdb itself (trap, stopping and resuming
# every thread), measured on a stop() that returns at once: docs/notes-watch.md.
GDB_STOP_MS = 0.23


def held_line(qemu: dict, clock: dict) -> str:
    """How long a watch held the QEMU it watched: stopped outside its runs
    (planting, real stops, the trace made, the breakpoints out: measured),
    and at its breakpoint stops (the recording measured, gdb's own cost
    per stop added).  gdb's attach, before the watch began, is not in it."""
    stops = qemu.get("breakpoint_stops") or clock.get("stops") or 0
    recording_ms = (clock.get("recording_seconds") or 0) * 1000
    outside_ms = (clock.get("stopped_outside_run_seconds") or 0) * 1000
    at_stops_ms = recording_ms + stops * GDB_STOP_MS
    return (f"  QEMU was held about {outside_ms + at_stops_ms:.0f} ms: {outside_ms:.0f} ms "
            f"stopped while the watch planted, read and took its breakpoints out, and "
            f"{stops} breakpoint stops (all its threads each time: {recording_ms:.1f} ms of "
            f"recording, measured, plus gdb's own ~{GDB_STOP_MS} ms a stop); gdb's attach "
            f"before the watch is not counted")


def edge_counts(trace: Trace) -> str:
    counts = Counter(e.status for e in edges_of(trace))
    if not counts:
        return ""
    return "  documented edges: " + ", ".join(f"{n} {s}" for s, n in counts.items())
