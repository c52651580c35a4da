"""One self-contained HTML file to attach to a bug report: the coloured
graph, the verdict table (filterable by cluster and status), the
negotiation's sequence diagrams, a timeline chart, why QEMU hangs, the
findings, QEMU's command line and version.  Everything is inline: no
external script, style sheet, font or URL, so it opens from a mail.
"""

from __future__ import annotations

import re
from html import escape

from . import graph as render_graph
from . import sequence as render_sequence
from . import timeline as render_timeline
from ..analysis.timeline import backends_of
from .devicestart import format_section as format_starts
from .findings import format_first_error
from ..model.devicestart import starts_of
from .hang import format_diagnosis
from .vhostuser import values_text
from .summary import edge_counts, summarize
from ..model.initpath import InitPath
from ..model.negotiation import vhost_user_of
from ..model.problems import Finding, Hang, first_error_of, hang_of
from ..model.records import ABSENT
from ..model.trace import Trace
from ..model.tracediff import TraceDiff
from ..model.verdicts import Verdict, edges_of

STYLE = """
body{font-family:DejaVu Sans,Helvetica,Arial,sans-serif;margin:1.5em;color:#1f2328;max-width:1400px}
h1{font-size:1.4em}h2{font-size:1.15em;border-bottom:1px solid #d0d7de;padding-bottom:.2em;margin-top:1.6em}
pre{background:#f6f8fa;padding:.6em;overflow-x:auto;white-space:pre-wrap;font-size:.85em}
table{border-collapse:collapse;font-size:.85em;width:100%}
th,td{border:1px solid #d0d7de;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#f6f8fa}.figure{overflow:auto;border:1px solid #d0d7de}
.figure svg{max-width:none}
td.observed{color:#1a7f37}td.dispatch{color:#0550ae}td.not-exercised{color:#6e7781}
td.not-reached{color:#8c959f}
td.absent{color:#cf222e;font-weight:bold}td.unknown{color:#bf8700}td.changed{color:#8250df}
td.observed,td.dispatch,td.not-exercised,td.not-reached,td.absent,td.unknown{white-space:nowrap}
.filters{margin:.5em 0}.filters label{margin-right:1em}
"""

# Filters the verdict table: a row shows when it matches both selects.  The
# choice is kept in the address (#cluster=...&status=...), so a link can
# open the report filtered.
SCRIPT = """
(function(){
  var table=document.getElementById('verdicts');
  if(!table){return;}
  var cluster=document.getElementById('filter-cluster');
  var status=document.getElementById('filter-status');
  var shown=document.getElementById('shown');
  var wanted=new URLSearchParams(location.hash.slice(1));
  cluster.value=wanted.get('cluster')||'';
  status.value=wanted.get('status')||'';
  function apply(){
    var rows=table.tBodies[0].rows, n=0;
    for(var i=0;i<rows.length;i++){
      var r=rows[i];
      var ok=(!cluster.value||r.dataset.cluster===cluster.value)&&
             (!status.value||r.dataset.status===status.value);
      r.hidden=!ok; if(ok){n++;}
    }
    shown.textContent=n+' of '+rows.length+' edges shown';
  }
  function changed(){
    var keep=new URLSearchParams();
    if(cluster.value){keep.set('cluster',cluster.value);}
    if(status.value){keep.set('status',status.value);}
    location.hash=keep.toString();
    apply();
  }
  cluster.addEventListener('change',changed);
  status.addEventListener('change',changed);
  apply();
})();
"""


def inline_svg(svg: bytes | str, fit: bool = False) -> str:
    """An SVG document as an element to put in HTML (no XML prolog or
    doctype: graphviz's names a DTD by URL); `fit` scales it to the page's
    width (its viewBox keeps the proportions)."""
    text = svg.decode("utf-8") if isinstance(svg, bytes) else svg
    text = text[text.index("<svg"):]
    if fit:
        head, rest = text.split(">", 1)
        head = re.sub(r'\s(width|height)="[^"]*"', "", head)
        text = head + ' style="width:100%;height:auto">' + rest
    return text


def _select(ident: str, label: str, values: list[str]) -> str:
    opts = "".join(f'<option value="{escape(v)}">{escape(v)}</option>' for v in values)
    return (f'<label>{label} <select id="{ident}"><option value="">all</option>'
            f"{opts}</select></label>")


def verdict_table(edges: list[Verdict]) -> str:
    clusters = list(dict.fromkeys(e.cluster for e in edges))
    statuses = list(dict.fromkeys(e.status for e in edges))
    rows = []
    for e in edges:
        label = e.label or ""
        if e.english:
            label += f" ({e.english})" if label else e.english
        rows.append(
            f'<tr data-cluster="{escape(e.cluster)}" '
            f'data-status="{escape(e.status)}">'
            f'<td>{escape(e.cluster)}</td><td>{escape(e.caller)}</td>'
            f'<td>{escape(e.callee)}</td>'
            f'<td class="{escape(e.status)}">{escape(e.status)}</td>'
            f"<td>{escape(label)}</td><td>{escape(' -> '.join(e.via or []))}</td>"
            f"<td>{escape(e.note or '')}</td></tr>")
    return ('<div class="filters">' + _select("filter-cluster", "cluster", clusters)
            + _select("filter-status", "status", statuses)
            + '<span id="shown"></span></div>'
            '<table id="verdicts"><thead><tr><th>cluster</th><th>from</th><th>to</th>'
            "<th>status</th><th>label</th><th>via</th><th>note</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>")


def _findings(doc: object) -> str:
    """Findings of any shape (a list of texts or of objects: a hand-made
    trace's, another qemuinit's), as a list."""
    items = doc if isinstance(doc, list) else [doc]
    out = []
    for item in items:
        if isinstance(item, dict) and {"id", "seen", "change"} <= item.keys():
            f = Finding.from_json(item)
            text = f"{f.ident}: {f.seen}; change: {f.change}"
        elif isinstance(item, dict):
            text = "; ".join(f"{k}: {v}" for k, v in item.items())
        else:
            text = str(item)
        out.append(f"<li>{escape(text)}</li>")
    return "<ul>" + "".join(out) + "</ul>"


def _hang_text(hang: Hang | None) -> str:
    """The hang diagnosis as the text report says it; one without what that
    text needs (a hand-made trace's, another qemuinit's) as its keys and
    values."""
    if hang is None:
        return ""
    if ABSENT in (hang.blocked_in, hang.stage, hang.chain, hang.monitor):
        return "\n".join(f"{k}: {v}" for k, v in hang.to_json().items())
    return format_diagnosis(hang)


def page(title: str, sections: list[tuple[str, str, str]]) -> str:
    """(id, heading, html) sections as one document."""
    body = "".join(f'<section id="{ident}"><h2>{escape(head)}</h2>{html}</section>'
                   for ident, head, html in sections if html)
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>"
            f"<h1>{escape(title)}</h1>{body}<script>{SCRIPT}</script></body></html>\n")


def render(path: InitPath, trace: Trace) -> bytes:
    q = trace.qemu
    edges = edges_of(trace)
    graph = ""
    if edges:
        svg = render_graph.render(path, edges, "svg",
                                  title=f"QEMU {q.get('version', '?')}: {trace.outcome.state}")
        graph = f'<div class="figure" id="graph">{inline_svg(svg, fit=True)}</div>'
    stderr = "".join(f"<li><code>{escape(str(ln.get('t')))} s</code> {escape(ln.get('line', ''))}</li>"
                     for ln in trace.extra.get("qemu_stderr") or [])
    clock = trace.extra.get("clock")
    timeline = f'<div class="figure">{render_timeline.chart_svg(trace)}</div>'
    if clock:
        timeline += f"<p>Clock: {escape(clock.get('name', ''))}; {escape(clock.get('hit_t', ''))}.</p>"
    hang = _hang_text(hang_of(trace))
    first = format_first_error(first_error_of(trace))
    findings = trace.extra.get("findings")
    sequence = _negotiation(trace)
    started = format_starts(starts_of(trace))
    return page(f"qemuinit: QEMU {q.get('version', '?')}, {trace.outcome.state}", [
        ("run", "The run", _facts(trace)),
        ("first-error", "The first error", f"<pre>{escape(first)}</pre>" if first else ""),
        ("hang", "Why QEMU hangs", f"<pre>{escape(hang)}</pre>" if hang else ""),
        ("findings", "Findings", _findings(findings) if findings else ""),
        ("graph", "The documented path, coloured by what happened", graph),
        ("table", "Verdicts", verdict_table(edges) if edges else ""),
        ("device-start", "Device start", f"<pre>{escape(started)}</pre>" if started else ""),
        ("negotiation", "vhost-user negotiation", sequence),
        ("timeline", "Timeline", timeline),
        ("stderr", "QEMU's stderr", f"<ul>{stderr}</ul>" if stderr else ""),
    ]).encode("utf-8")


def _facts(trace: Trace) -> str:
    """QEMU, its command line, the summary, and the backends qemuinit started."""
    q = trace.qemu
    argv = q.get("argv") or []
    facts = (f"<p>QEMU {escape(str(q.get('version', '?')))} "
             f"(<code>{escape(str(q.get('binary', '?')))}</code>): "
             f"<b>{escape(trace.outcome.state)}</b> {escape(trace.outcome.detail or '')}</p>"
             f"<pre>{escape(' '.join(argv))}</pre>"
             f"<pre>{escape(summarize(trace))}\n{escape(edge_counts(trace).strip())}</pre>")
    for backend in backends_of(trace):
        facts += ("<p>backend"
                  + (f" of chardev {escape(backend['chardev'])}" if backend.get("chardev") else "")
                  + f": <code>{escape(' '.join(backend.get('argv') or []))}</code>"
                  + (f" — {escape(backend['problem'])}" if backend.get("problem") else "")
                  + "</p>")
    return facts


def _negotiation(trace: Trace) -> str:
    """The sequence diagrams, and whether each backend's log agrees."""
    sequence = "".join(f'<div class="figure">{d}</div>'
                       for d in render_sequence.diagrams(trace))
    vu = vhost_user_of(trace)
    for check in (vu.backend_checks or []) if sequence and vu else []:
        who = f"backend of chardev {check.chardev}" if check.chardev else "backend"
        sequence += (f"<p>{escape(who)} log "
                     f"{'agrees' if check.requests_agree else 'DISAGREES'}"
                     f": it received {check.backend_received} requests, QEMU sent "
                     f"{check.qemu_sent}"
                     + (f"; {escape(check.first_difference)}"
                        if check.first_difference else "")
                     + escape(values_text(check)) + "</p>")
    return sequence


def render_diff(path: InitPath, a: Trace, b: Trace, doc: TraceDiff | dict) -> bytes:
    """The diff of two traces: B's graph with the changed edges highlighted,
    and the table of what changed."""
    d = TraceDiff.of(doc)
    rows = "".join(
        f"<tr><td>{escape(e.cluster)}</td><td>{escape(e.caller)}</td>"
        f"<td>{escape(e.callee)}</td><td class=\"{escape(e.a)}\">{escape(e.a)}</td>"
        f"<td class=\"{escape(e.b)}\">{escape(e.b)}</td>"
        f"<td>{escape(' -> '.join(e.via_a))}</td>"
        f"<td>{escape(' -> '.join(e.via_b))}</td></tr>" for e in d.edges)
    table = ("<table id=\"changed\"><thead><tr><th>cluster</th><th>from</th><th>to</th>"
             "<th>A</th><th>B</th><th>via A</th><th>via B</th></tr></thead><tbody>"
             + rows + "</tbody></table>") if rows else "<p>No edge changed.</p>"
    svg = render_graph.render(path, edges_of(b), "svg",
                              title="B, with the edges whose verdict changed since A",
                              changed=changed_edges(d))
    head = "".join(f"<p><b>{k}</b>: QEMU {escape(str(run.version))} "
                   f"({escape(str(run.state))})</p>"
                   f"<pre>{escape(' '.join(run.argv or []))}</pre>"
                   for k, run in (("A", d.a), ("B", d.b)))
    chains = "".join(f"<li>{escape(c.function)}<br>A: {escape(' -> '.join(c.a))}"
                     f"<br>B: {escape(' -> '.join(c.b))}</li>" for c in d.chains)
    from .diff import negotiation_lines
    negotiation = ("<pre>" + escape("\n".join(negotiation_lines(d.negotiation)).strip())
                   + "</pre>") if d.negotiation is not None else ""
    t = d.throwaway
    throwaway = (f"<p>Made and freed by QEMU, not the user's (kept apart from the chains): "
                 f"A in {escape(', '.join(t.a) or 'none')}; "
                 f"B in {escape(', '.join(t.b) or 'none')}</p>"
                 if t.a or t.b else "")
    return page("qemuinit diff", [
        ("runs", "The two runs", head),
        ("graph", "B's graph, changes highlighted",
         f'<div class="figure" id="graph">{inline_svg(svg, fit=True)}</div>'),
        ("changed", f"Edges whose verdict changed: {len(d.edges)}", table),
        ("chains", "Chains that changed", f"<ul>{chains}</ul>" if chains else ""),
        ("throwaway", "Throwaway objects", throwaway),
        ("negotiation", "vhost-user negotiation", negotiation),
    ]).encode("utf-8")


def changed_edges(doc: TraceDiff | dict) -> dict[tuple[str, str], str]:
    """A diff's changed edges, as render_graph highlights them."""
    return {(e.caller, e.callee): f"{e.a} → {e.b}" + (" (via changed)" if e.via_a != e.via_b
                                                      else "")
            for e in TraceDiff.of(doc).edges}
