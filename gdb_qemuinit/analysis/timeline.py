"""Where the time went, from a trace: the init stages as spans computed
from the recorded backtraces (data/timeline.toml says which functions), each
vhost-user round from its first to its last message, QEMU's stderr lines
placed between the hits, and the backend's events.  Every time is in seconds
on the trace's clock (its "clock" section); nothing is guessed.  Pure: the
renderers (render_timeline, render_html) draw these.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from ..datafile import data_file, read_toml
from ..model.negotiation import Round, rounds_of
from ..model.records import ABSENT
from ..model.trace import Hit, Trace


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
    cur: Any = None      # {"start": hit, "prefix": [...], "done": bool}

    def close(t: Any, why: str, by: Hit | None) -> None:      # t: the hits here are timed
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
    for rnd in rounds_of(trace):
        track = str(rnd.netdev or rnd.chardev or "vhost-user")
        times = []
        for m in rnd.messages:
            h = by_seq.get(m.seq)
            if h is None or h.t is None:
                continue
            times.append(h.t)
            instants.append({"name": f"{m.name} " + ("->" if m.sent else "(not sent)"),
                             "t": h.t, "track": track,
                             "args": {"hit": h.seq, "step": m.step, "sent_by": m.sent_by}})
            if m.reply:
                r = _reply_hit(trace.hits, h.seq, (h.reads or {}).get("request"))
                if r is not None and r.t is not None:
                    times.append(r.t)
                    instants.append({"name": f"<- {m.name} reply", "t": r.t,
                                     "track": track, "args": {"hit": r.seq,
                                                              "ret": m.reply.ret}})
        start_hit = by_seq.get(rnd.hit)
        if not times and start_hit is not None and start_hit.t is not None:
            times = [start_hit.t]
        if times:
            spans.append(Span(f"round {rnd.round}: {rnd.result}",
                              min(times), max(times), track, _round_args(rnd)))
    return spans, instants


def _round_args(rnd: Round) -> dict:
    """What a round's span says of it: the round's keys that are set."""
    args = {k: v for k in ("round", "connection", "chardev", "netdev", "vq_index", "trigger",
                           "result", "failed_at", "why")
            if (v := getattr(rnd, k)) is not None and v is not ABSENT}
    args["messages"] = len(rnd.messages)
    if rnd.errors:
        args["errors"] = rnd.errors
    return args


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


def backends_of(trace: Trace) -> list[dict]:
    """The backends qemuinit started, one per vhost-user chardev."""
    return list(trace.extra.get("backends") or [])


def backend_instants(trace: Trace) -> list[dict]:
    what = {"listening": "QEMU's socket seen listening",
            "backend_listening": "backend listening (QEMU connects to it)",
            "dropped": "first connection made and dropped",
            "started": "backend started", "stopped": "backend stopped by qemuinit",
            "exited": "backend found exited by itself"}
    backends = backends_of(trace)
    out = []
    for backend in backends:
        argv = " ".join(backend.get("argv") or [])
        who = f"{backend['chardev']}: " if len(backends) > 1 and backend.get("chardev") else ""
        out += [{"name": who + what.get(k, k), "t": t,
                 "args": {"pid": backend.get("pid"), "argv": argv,
                          **({"chardev": backend["chardev"]} if backend.get("chardev") else {})}}
                for k, t in (backend.get("times") or {}).items()
                if isinstance(t, (int, float))]
    return sorted(out, key=lambda i: i["t"])


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
