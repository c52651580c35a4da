"""The text report: every documented edge with its verdict, grouped by the
seed's clusters.  Coloured with pygments when asked (on a terminal)."""

from __future__ import annotations

from . import devicestart
from .findings import format_findings, format_first_error
from .hang import format_diagnosis
from .summary import edge_counts, summarize
from .vhostuser import format_section, values_text
from ..analysis.timeline import backends_of
from ..model.devicestart import starts_of
from ..model.initpath import InitPath
from ..model.negotiation import Round, vhost_user_of
from ..model.problems import findings_of, first_error_of, hang_of
from ..model.trace import Trace
from ..model.verdicts import (ABSENT, DISPATCH, NOT_EXERCISED, NOT_REACHED, OBSERVED, UNKNOWN,
                              Verdict, edges_of)

MARK = {OBSERVED: "+", DISPATCH: "*", NOT_EXERCISED: "-", NOT_REACHED: ".", ABSENT: "!",
        UNKNOWN: "?"}


def _tokens(path: InitPath, trace: Trace):
    """(token type name, text) pairs; the type names are pygments' tokens."""
    edges = edges_of(trace)
    yield "Generic.Heading", summarize(trace) + "\n"
    first = format_first_error(first_error_of(trace))
    if first:
        yield "Generic.Error", "\n" + first
    counts = edge_counts(trace).strip()
    if counts:
        yield "Generic.Strong", f"\n{counts}\n"
    for cluster in path.clusters:
        mine = [e for e in edges if e.cluster == cluster.id]
        if not mine:
            continue
        title = cluster.label + (f"  ({cluster.english})" if cluster.english else "")
        yield "Generic.Subheading", f"\n[{cluster.id}] {title}\n"
        for e in mine:
            yield from _edge_tokens(e)
    for step in trace.extra.get("steps", []):
        ok = "in the documented order" if step["in_order"] else "NOT in the documented order"
        yield "Generic.Strong", (f"\nsteps under {step['caller']}: documented "
                                 f"{', '.join(step['documented'])}; observed "
                                 f"{', '.join(step['observed']) or 'none'} ({ok})\n")
    throwaway = trace.extra.get("throwaway") or []
    if throwaway:
        yield "Generic.Subheading", "\nThrowaway objects (not the command line's)\n"
        for t in throwaway:
            yield "Comment", f"  hit #{t['hit']} {t['function']}: {t['note']}\n"
    started = devicestart.format_section(starts_of(trace))
    if started:
        yield "Generic.Subheading", "\n" + started
    vhost = format_section(vhost_user_of(trace))
    if vhost:
        yield "Generic.Subheading", "\n" + vhost
    hang = format_diagnosis(hang_of(trace))
    if hang:
        yield "Generic.Error", "\n" + hang
    found = format_findings(findings_of(trace))
    if found:
        yield "Generic.Strong", "\n" + found


def brief(trace: Trace) -> str:
    """What is printed after a run: the summary, the edge counts, one line
    per vhost-user round, and why QEMU hangs if it does."""
    parts = [summarize(trace)]
    parts += [f"  QMP {c['execute']}" + (f" at {c['t']:.2f} s" if c.get("t") is not None else "")
              + (f": error: {c['error']}" if "error" in c else ": answered")
              for c in trace.extra.get("qmp", [])]
    first_error = first_error_of(trace)
    first = format_first_error(first_error)
    if first:
        parts.append(first.rstrip("\n"))
    parts.append(edge_counts(trace))
    vu = vhost_user_of(trace)
    parts += [_round_line(rnd) for rnd in (vu.rounds if vu else [])]
    for check in (vu.backend_checks or []) if vu else []:
        who = f"backend of chardev {check.chardev}" if check.chardev else "backend"
        parts.append(f"  {who}: log " + ("agrees" if check.requests_agree else
                                         "DISAGREES") + " with the decoded requests"
                     f" ({check.backend_received} received, {check.qemu_sent} sent)"
                     + (f": {check.first_difference}" if check.first_difference else "")
                     + values_text(check))
    parts += devicestart.brief_lines(starts_of(trace))
    parts += [_outage_line(o) for o in trace.extra.get("outages") or []]
    said = ([first_error.first_line, *first_error.consequences] if first_error
            else [])
    if trace.outcome.error_line and trace.outcome.error_line not in said:
        parts.append(f"  QEMU said: {trace.outcome.error_line}")
    for backend in backends_of(trace):
        if backend.get("problem"):
            parts.append(f"  backend {' '.join(backend['argv'][:1])}"
                         + (f" (chardev {backend['chardev']})" if backend.get("chardev") else "")
                         + f": {backend['problem']}")
    hang = format_diagnosis(hang_of(trace))
    if hang:
        parts.append(hang.rstrip("\n"))
    found = format_findings(findings_of(trace))
    if found:
        parts.append(found.rstrip("\n"))
    return "\n".join(p for p in parts if p)


def _outage_line(o: dict) -> str:
    """A NIC's time without a backend (analysis/outages), in one line."""
    if o.get("seconds") is not None:
        return (f"  {o['netdev']} was without a backend for {o['seconds']:.3f} s (link down "
                f"at {o['down']:.3f} s, up again at {o['up']:.3f} s)")
    if o.get("down") is not None:
        return (f"  {o['netdev']} was without a backend from {o['down']:.3f} s to the end "
                f"of the watch (its link still down)")
    return f"  {o['netdev']} lost its backend (times unknown)"


def _round_line(rnd: Round) -> str:
    """A round in one line, for the text printed after a run."""
    sent = rnd.on_wire()
    where = "".join(f", {k} {v}" for k, v in (("chardev", rnd.chardev), ("netdev", rnd.netdev),
                                              ("vq_index", rnd.vq_index)) if v)
    return (f"  vhost-user round {rnd.round} (connection {rnd.connection}"
            f"{where}): {len(sent)} requests, {rnd.result}"
            + (f" at {rnd.failed_at}" if rnd.failed_at else "")
            + (f"; {len(rnd.messages) - len(sent)} requests not sent"
               if len(sent) < len(rnd.messages) else ""))


STATUS_TOKEN = {OBSERVED: "Generic.Inserted", DISPATCH: "Name.Builtin",
                NOT_EXERCISED: "Comment", NOT_REACHED: "Comment", ABSENT: "Generic.Error",
                UNKNOWN: "Generic.Deleted"}


def _edge_tokens(e: Verdict):
    status = e.status
    yield STATUS_TOKEN.get(status, "Text"), f"  {MARK.get(status, ' ')} {status:<13} "
    yield "Name.Function", e.caller
    yield "Operator", " -> "
    yield "Name.Function", e.callee
    if e.label:
        label = e.label + (f" = {e.english}" if e.english else "")
        yield "Literal.String", f"  [{label}]"
    yield "Text", "\n"
    if e.via:
        yield "Comment", f"      via {' -> '.join(e.via)}\n"
    if e.caller_at:
        yield "Literal.String", (f"      call at {e.caller_at}"
                                 + (f", callee at {e.callee_at}" if e.callee_at else "")
                                 + (f" (hit #{e.hit})" if e.hit else "") + "\n")
    if e.note:
        yield "Comment", f"      {e.note}\n"


def render(path: InitPath, trace: Trace, color: bool = False) -> str:
    pairs = list(_tokens(path, trace))
    if not color:
        return "".join(text for _, text in pairs)
    from pygments import format as pyg_format      # only when colouring
    from pygments.formatters import TerminalFormatter
    from pygments.token import string_to_tokentype
    return pyg_format([(string_to_tokentype(t), text) for t, text in pairs],
                      TerminalFormatter())


def path_tree(path: InitPath, cluster: str | None = None) -> str:
    """The documented path as an indented call tree, per cluster."""
    out = []
    for c in path.clusters:
        if cluster and c.id != cluster:
            continue
        edges = path.edges_of(c.id)
        out.append(f"[{c.id}] {c.label}" + (f"  ({c.english})" if c.english else ""))
        children: dict[str, list] = {}
        for e in edges:
            children.setdefault(e.caller, []).append(e)
        callees = {e.callee for e in edges}
        roots = [n for n in children if n not in callees] or list(children)[:1]
        shown: set[str] = set()

        def walk(name: str, depth: int) -> None:
            for e in children.get(name, []):
                marks = []
                if e.step is not None:
                    marks.append(f"step {e.step}")
                if e.label and e.step is None:
                    marks.append(e.label + (f" = {e.english}" if e.english else ""))
                if e.sequence:
                    marks.append("then, not a call")
                if path.is_dispatch(e.callee):
                    marks.append("dispatch: " + path.dispatch[e.callee].member)
                if e.callee in path.hot:
                    marks.append("hot: no breakpoint")
                out.append("  " * depth + f"-> {e.callee}"
                           + (f"   ({'; '.join(marks)})" if marks else ""))
                if e.callee not in shown:
                    shown.add(e.callee)
                    walk(e.callee, depth + 1)

        for r in roots:
            out.append(f"  {r}")
            walk(r, 2)
        out.append("")
    return "\n".join(out)
