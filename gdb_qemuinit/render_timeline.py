"""Where the time went: a trace as Chrome trace-event JSON (the
"traceEvents" format that Perfetto's UI and chrome://tracing open).

Every time comes from the trace: the init stages are spans computed from the
recorded backtraces (data/timeline.toml says which functions), each
vhost-user round runs from its first to its last message, each hit is an
instant with its chain, and QEMU's stderr lines and the backend's start and
stop are instants on tracks of their own.  Times are microseconds since the
trace's clock zero (see the trace's "clock").
"""

from __future__ import annotations

from typing import NamedTuple

from .datafile import data_file, read_toml
from .trace import Hit, Trace

# Chrome trace "processes": one per kind of track.
PID_STAGES, PID_HITS, PID_VHOST, PID_STDERR, PID_BACKEND = 1, 2, 3, 4, 5
PROCESS_NAMES = {PID_STAGES: "QEMU init stages", PID_HITS: "QEMU hits (breakpoints)",
                 PID_VHOST: "vhost-user negotiation", PID_STDERR: "QEMU stderr",
                 PID_BACKEND: "backend"}


class Stage(NamedTuple):
    name: str
    function: str
    entry: str | None = None
    until: str | None = None


class Span(NamedTuple):
    """A stretch of time, in seconds on the trace's clock."""
    name: str
    start: float
    end: float
    group: str                  # the track family (a process in Chrome's terms)
    args: dict


def load_stages(path: str | None = None) -> list[Stage]:
    doc = read_toml(path or data_file("timeline.toml"))
    return [Stage(s["name"], s["function"], s.get("entry"), s.get("until"))
            for s in doc.get("stage", [])]


def end_time(trace: Trace) -> float | None:
    """When the run ended (QEMU at its main loop, killed, crashed), else
    the last hit's time."""
    if trace.outcome.t is not None:
        return trace.outcome.t
    times = [h.t for h in trace.hits if h.t is not None]
    return max(times) if times else None


def _outer_first(h: Hit) -> list[str]:
    return h.stack()[::-1]


def stage_spans(trace: Trace, stages: list[Stage] | None = None) -> list[Span]:
    """Each stage's activations, from the hits (see data/timeline.toml)."""
    stages = load_stages() if stages is None else stages
    end = end_time(trace)
    timed = [h for h in trace.hits if h.t is not None]
    threads = sorted({h.thread for h in timed})
    spans = []
    for stage in stages:
        for thread in threads:
            spans += _activations(stage, [h for h in timed if h.thread == thread], end)
    return spans


def _activations(stage: Stage, hits: list[Hit], end: float | None) -> list[Span]:
    spans: list[Span] = []
    cur = None      # {"start": hit, "prefix": [...], "done": bool}

    def close(t: float, why: str, by: Hit | None) -> None:
        if not cur["done"]:
            args = {"function": stage.function, "from_hit": cur["start"].seq,
                    "from": cur["start"].function, "ended": why}
            if by is not None:
                args["to_hit"] = by.seq
                args["to"] = by.function
            spans.append(Span(stage.name, cur["start"].t, max(t, cur["start"].t),
                              "stages", args))

    for h in hits:
        stack = _outer_first(h)
        depth = stack.index(stage.function) if stage.function in stack else None
        if depth is None:
            if cur:
                close(h.t, f"{stage.function} had returned by hit #{h.seq}", h)
                cur = None
            continue
        prefix = stack[:depth + 1]
        new = h.function == stage.function or (
            stage.entry is not None and h.function == stage.entry
            and len(stack) >= 2 and stack[-2] == stage.function)
        if cur and (prefix != cur["prefix"] or (new and h is not cur["start"])):
            close(h.t, f"a new {stage.function} began at hit #{h.seq}", h)
            cur = None
        if cur is None:
            cur = {"start": h, "prefix": prefix, "done": False}
        if stage.until and not cur["done"] and stage.until in stack[depth + 1:]:
            close(h.t, f"{stage.until} at hit #{h.seq}", h)
            cur["done"] = True
    if cur and end is not None:
        close(end, "still on the stack when the run ended", None)
    return spans


def _reply_hit(hits: list[Hit], after: int, request: object) -> Hit | None:
    """The hit that read the reply to the request sent at hit `after`."""
    for h in hits:
        if h.seq > after and h.reads and "ret" in h.reads \
                and h.reads.get("request") == request:
            return h
        if h.seq > after and h.reads and "ret" not in h.reads and "request" in h.reads:
            return None     # the next request went out first: no reply
    return None


def vhost_spans(trace: Trace) -> tuple[list[Span], list[dict]]:
    """Each round from its first to its last message (or that message's
    reply), and each message and reply as an instant."""
    by_seq = {h.seq: h for h in trace.hits}
    spans, instants = [], []
    for rnd in (trace.extra.get("vhost_user") or {}).get("rounds", []):
        track = str(rnd.get("netdev") or rnd.get("chardev") or "vhost-user")
        times = []
        for m in rnd.get("messages", []):
            h = by_seq.get(m.get("seq"))
            if h is None or h.t is None:
                continue
            times.append(h.t)
            instants.append({"name": f"{m.get('name')} ->", "t": h.t, "track": track,
                             "args": {"hit": h.seq, "step": m.get("step"),
                                      "sent_by": m.get("sent_by")}})
            if m.get("reply") is not None:
                r = _reply_hit(trace.hits, h.seq, (h.reads or {}).get("request"))
                if r is not None and r.t is not None:
                    times.append(r.t)
                    instants.append({"name": f"<- {m.get('name')} reply", "t": r.t,
                                     "track": track, "args": {"hit": r.seq,
                                                              "ret": m["reply"].get("ret")}})
        start_hit = by_seq.get(rnd.get("hit"))
        if not times and start_hit is not None and start_hit.t is not None:
            times = [start_hit.t]
        if not times:
            continue
        args = {k: rnd.get(k) for k in ("round", "connection", "chardev", "netdev",
                                        "trigger", "result", "failed_at", "why")
                if rnd.get(k) is not None}
        args["messages"] = len(rnd.get("messages", []))
        if rnd.get("errors"):
            args["errors"] = rnd["errors"]
        spans.append(Span(f"round {rnd.get('round')}: {rnd.get('result')}",
                          min(times), max(times), track, args))
    return spans, instants


def stderr_instants(trace: Trace) -> list[dict]:
    """QEMU's stderr lines.  qemuinit reads them within 50 ms; a hit whose
    stderr byte count is past a line's offset was recorded after the line
    was written, so the line is placed no later than that hit."""
    timed = [h for h in trace.hits if h.t is not None and h.err is not None]
    out = []
    for ln in trace.extra.get("qemu_stderr") or []:
        t, at = ln.get("t"), ln.get("at")
        args = {"line": ln.get("line"), "read_at": t}
        if at is not None:
            before = next((h for h in timed if h.err > at), None)
            after = [h for h in timed if h.err <= at]
            if before is not None:
                args["written_before_hit"] = before.seq
                t = before.t if t is None else min(t, before.t)
            if after:
                args["written_after_hit"] = after[-1].seq
        if t is not None:
            out.append({"name": ln.get("line") or "", "t": t, "args": args})
    return out


def backend_instants(trace: Trace) -> list[dict]:
    backend = trace.extra.get("backend") or {}
    times = backend.get("times") or {}
    what = {"listening": "QEMU's socket seen listening",
            "dropped": "first connection made and dropped",
            "started": "backend started", "stopped": "backend stopped by qemuinit",
            "exited": "backend found exited by itself"}
    argv = " ".join(backend.get("argv") or [])
    return [{"name": what.get(k, k), "t": t, "args": {"pid": backend.get("pid"),
                                                      "argv": argv}}
            for k, t in sorted(times.items(), key=lambda kv: kv[1])
            if isinstance(t, (int, float))]


def pack_lanes(spans: list[Span]) -> list[tuple[Span, int]]:
    """Each span with a lane (0, 1, ...) in which every two spans are either
    disjoint or nested, as trace viewers need."""
    lanes: list[list[Span]] = []
    out = []
    for s in sorted(spans, key=lambda s: (s.start, -(s.end - s.start))):
        for i, lane in enumerate(lanes):
            if all(s.end <= o.start or s.start >= o.end
                   or (o.start <= s.start and s.end <= o.end) for o in lane):
                lane.append(s)
                out.append((s, i))
                break
        else:
            lanes.append([s])
            out.append((s, len(lanes) - 1))
    return out


def _us(t: float) -> int:
    return int(round(t * 1e6))


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
    from .summary import chain
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
    from .trace import dumps
    return dumps(doc).encode()      # an event a line


# ---------------------------------------------------------------- a chart
def chart_svg(trace: Trace, width: int = 960) -> str:
    """The same spans as a simple inline chart (for the HTML report): a row
    per stage activation and per vhost-user round, QEMU's stderr lines and
    the backend's events as ticks on rows of their own."""
    from html import escape
    rows: list[tuple[str, float, float, str, str]] = []   # label, start, end, colour, title
    for s, _ in pack_lanes(stage_spans(trace)):
        rows.append((s.name, s.start, s.end, "#0969da", f"{s.name}: {s.args['ended']}"))
    for s in vhost_spans(trace)[0]:
        bad = s.args.get("result") == "failed"
        rows.append((f"vhost-user {s.name} ({s.group})", s.start, s.end,
                     "#cf222e" if bad else "#1a7f37",
                     f"{s.name}, {s.args.get('messages')} messages"))
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
                   f'<text x="{label_w - 6}" y="{y + 12}" text-anchor="end">{escape(label[:52])}</text>'
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


def _tick_step(span: float) -> float:
    """A round step (s) giving 5-10 ticks over `span` seconds."""
    step = 1e-4
    while span / step > 10:
        for m in (2, 2.5, 2):
            step *= m
            if span / step <= 10:
                break
    return step
