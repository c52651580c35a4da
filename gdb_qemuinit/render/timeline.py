"""Where the time went, drawn: a trace as Chrome trace-event JSON (the
"traceEvents" format that Perfetto's UI and chrome://tracing open), and the
same spans as a simple SVG chart for the HTML report.

The spans and instants come from `timeline`: the init stages, each vhost-user
round and its messages, each hit with its chain, QEMU's stderr lines and the
backend's start and stop, each family on tracks of its own.  Times are
microseconds since the trace's clock zero (see the trace's "clock").
"""

from __future__ import annotations

import math

from ..analysis.timeline import (Span, Stage, backend_instants, end_time, pack_lanes, stage_spans,
                       stderr_instants, vhost_spans)
from ..model.negotiation import FAILED
from ..model.trace import CUT_SHORT, Trace, TraceError

# Chrome trace "processes": one per kind of track.
PID_STAGES, PID_HITS, PID_VHOST, PID_STDERR, PID_BACKEND = 1, 2, 3, 4, 5
PROCESS_NAMES = {PID_STAGES: "QEMU init stages", PID_HITS: "QEMU hits (breakpoints)",
                 PID_VHOST: "vhost-user negotiation", PID_STDERR: "QEMU stderr",
                 PID_BACKEND: "backend"}


def _us(t: float) -> int:
    us = t * 1e6
    if not math.isfinite(us):       # a damaged trace: said, not a traceback
        raise TraceError(f"the trace has a time of {t:g} s, which no run takes")
    return int(round(us))


def events(trace: Trace, stages: list[Stage] | None = None) -> list[dict]:
    """The traceEvents array."""
    evs: list[dict] = []
    names: dict[tuple[int, int], str] = {}

    def span(s: Span, pid: int, tid: int) -> None:
        evs.append({"name": s.name, "cat": s.group, "ph": "X", "ts": _us(s.start),
                    "dur": _us(s.end) - _us(s.start), "pid": pid, "tid": tid,
                    "args": s.args})

    def instant(name: str, t: float, pid: int, tid: int, args: dict, cat: str) -> None:
        evs.append({"name": name, "cat": cat, "ph": "i", "s": "t", "ts": _us(t),
                    "pid": pid, "tid": tid, "args": args})

    for s, lane in pack_lanes(stage_spans(trace, stages)):
        names[(PID_STAGES, lane + 1)] = f"stages {lane + 1}"
        span(s, PID_STAGES, lane + 1)
    end = end_time(trace)
    if end is not None:
        names.setdefault((PID_STAGES, 1), "stages 1")
        instant(f"{trace.outcome.state}: {trace.outcome.detail}".rstrip(": "), end,
                PID_STAGES, 1, {"state": trace.outcome.state}, "outcome")
    from ..analysis.summary import chain
    for h in trace.hits:
        if h.t is None:
            continue
        names[(PID_HITS, h.thread)] = f"gdb thread {h.thread}"
        instant(h.function, h.t, PID_HITS, h.thread,
                {"seq": h.seq, "chain": chain(h.frames)}, "hit")
    vspans, vinstants = vhost_spans(trace)
    tracks = list(dict.fromkeys([s.group for s in vspans] + [i["track"] for i in vinstants]))
    for s in vspans:
        tid = tracks.index(s.group) + 1
        names[(PID_VHOST, tid)] = s.group
        span(s, PID_VHOST, tid)
    for i in vinstants:
        tid = tracks.index(i["track"]) + 1
        names[(PID_VHOST, tid)] = i["track"]
        instant(i["name"], i["t"], PID_VHOST, tid, i["args"], "message")
    for i in stderr_instants(trace):
        names[(PID_STDERR, 1)] = "stderr"
        instant(i["name"], i["t"], PID_STDERR, 1, i["args"], "stderr")
    for i in backend_instants(trace):
        names[(PID_BACKEND, 1)] = "backend"
        instant(i["name"], i["t"], PID_BACKEND, 1, i["args"], "backend")
    evs.sort(key=lambda e: (e["pid"], e["tid"], e["ts"], -e.get("dur", 0)))
    meta = []
    for pid in sorted({p for p, _ in names}):
        meta.append({"name": "process_name", "ph": "M", "pid": pid, "tid": 0,
                     "args": {"name": PROCESS_NAMES[pid]}})
        meta.append({"name": "process_sort_index", "ph": "M", "pid": pid, "tid": 0,
                     "args": {"sort_index": pid}})
    for (pid, tid), name in sorted(names.items()):
        meta.append({"name": "thread_name", "ph": "M", "pid": pid, "tid": tid,
                     "args": {"name": name}})
    return meta + evs


def render(trace: Trace) -> bytes:
    doc = {"traceEvents": events(trace), "displayTimeUnit": "ms",
           "otherData": {"qemu": trace.qemu.get("version"),
                         "argv": " ".join(trace.qemu.get("argv") or []),
                         "state": trace.outcome.state,
                         "clock": trace.extra.get("clock"),
                         "ts": "microseconds since the trace's clock zero"}}
    from ..model.trace import dumps
    return dumps(doc).encode()      # an event a line


# ---------------------------------------------------------------- a chart
# A chart's row: label, start, end, colour, title
Row = tuple[str, float, float, str, str]


def chart_svg(trace: Trace, width: int = 960) -> str:
    """The same spans as a simple inline chart (for the HTML report): a row
    per stage activation and per vhost-user round, QEMU's stderr lines and
    the backend's events as ticks on rows of their own."""
    from html import escape
    rows = _chart_rows(trace)
    ticks = [("QEMU stderr", i["t"], i["name"]) for i in stderr_instants(trace)]
    ticks += [("backend", i["t"], i["name"]) for i in backend_instants(trace)]
    end = end_time(trace)
    times = [r[2] for r in rows] + [t[1] for t in ticks] + ([end] if end is not None else [])
    if not times:
        return "<p>No timed hits in this trace.</p>"
    span = max(times) or 1.0
    label_w, row_h, top = 330, 18, 24
    plot = width - label_w - 40
    tick_rows = list(dict.fromkeys(t[0] for t in ticks))
    height = top + row_h * (len(rows) + len(tick_rows)) + 10

    def x(t: float) -> float:
        return label_w + plot * t / span

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline" width="{width}" '
           f'height="{height}" viewBox="0 0 {width} {height}" '
           f'style="font-family:DejaVu Sans,Helvetica,Arial,sans-serif;font-size:11px">']
    step = _tick_step(span)
    n = 0
    while n * step <= span:
        xx = x(n * step)
        out.append(f'<line x1="{xx:.1f}" y1="{top - 6}" x2="{xx:.1f}" y2="{height - 8}" '
                   f'stroke="#eaeef2"/><text x="{xx:.1f}" y="{top - 10}" '
                   f'text-anchor="middle" fill="#57606a">{n * step * 1000:g} ms</text>')
        n += 1
    y = top
    for label, s, e, colour, title in rows:
        w = max(x(e) - x(s), 1.5)
        out.append(f'<g class="span"><title>{escape(title)} ({s * 1000:.2f}-{e * 1000:.2f} ms, '
                   f'{(e - s) * 1000:.2f} ms)</title>'
                   f'<text x="{label_w - 6}" y="{y + 12}" text-anchor="end">'
                   f'{escape(label[:52])}</text>'
                   f'<rect x="{x(s):.1f}" y="{y + 3}" width="{w:.1f}" height="{row_h - 6}" '
                   f'fill="{colour}" rx="2"/></g>')
        y += row_h
    for name in tick_rows:
        out.append(f'<text x="{label_w - 6}" y="{y + 12}" text-anchor="end">{escape(name)}</text>')
        for row, t, title in ticks:
            if row == name:
                out.append(f'<g class="tick"><title>{escape(title)} ({t * 1000:.2f} ms)</title>'
                           f'<rect x="{x(t) - 1.5:.1f}" y="{y + 2}" width="3" '
                           f'height="{row_h - 4}" fill="#bf8700"/></g>')
        y += row_h
    out.append("</svg>")
    return "".join(out)


def _chart_rows(trace: Trace) -> list[Row]:
    """A row per stage activation (open at the end of a blocked QEMU: where
    it hangs) and per vhost-user round (red when it failed)."""
    rows: list[Row] = []
    stuck = trace.outcome.state in CUT_SHORT
    for sp, _ in pack_lanes(stage_spans(trace)):
        # Still on the stack when a blocked QEMU was stopped: where it hangs.
        open_end = stuck and "to_hit" not in sp.args
        rows.append((sp.name, sp.start, sp.end, "#bf8700" if open_end else "#0969da",
                     f"{sp.name}: {sp.args['ended']}"
                     + (f" ({trace.outcome.state})" if open_end else "")))
    for sp in vhost_spans(trace)[0]:
        bad = sp.args.get("result") == FAILED
        rows.append((f"vhost-user {sp.name} ({sp.group})", sp.start, sp.end,
                     "#cf222e" if bad else "#1a7f37",
                     f"{sp.name}, {sp.args.get('messages')} messages"))
    return rows


def _tick_step(span: float) -> float:
    """A round step (s) giving 5-10 ticks over `span` seconds."""
    step = 1e-4
    while span / step > 10:
        for m in (2, 2.5, 2):
            step *= m
            if span / step <= 10:
                break
    return step
