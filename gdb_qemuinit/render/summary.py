"""The short text printed after a trace."""

from __future__ import annotations

from collections import Counter

from ..analysis.summary import chain
from ..model.trace import EXITED, Trace
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


def edge_counts(trace: Trace) -> str:
    counts = Counter(e.status for e in edges_of(trace))
    if not counts:
        return ""
    return "  documented edges: " + ", ".join(f"{n} {s}" for s, n in counts.items())
