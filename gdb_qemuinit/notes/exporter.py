"""The documented path given back as notes, corrected by a run:
`qemuinit path export TRACE.json --format dot|md`.

The same clusters, labels and chains as the documented path, in the style
notes are written in (a digraph with boxed subgraphs, box nodes; in
markdown, a ```graphviz block and an indented call listing), with what this
QEMU did written in:
- an edge seen through frames the notes skip is drawn through them (small
  grey nodes);
- a dispatch point's edge names the function that served it;
- an edge QEMU takes from another caller is drawn from that caller, the
  notes' edge kept, dashed, "not from here";
- an edge the run did not exercise is kept, dotted, and says so; one whose
  function this QEMU lacks is red.
The title holds the QEMU version and its command line.
"""

from __future__ import annotations

import json

from ..model.initpath import InitPath
from ..render.graph import FONT, STYLE
from ..analysis.summary import chain_text
from ..model.trace import Trace
from ..model.verdicts import (ABSENT, DISPATCH, NOT_EXERCISED, NOT_REACHED, OBSERVED, SEEN,
                              UNKNOWN, Verdict, edges_of)

FORMATS = ("dot", "md")
MARK = {OBSERVED: "", DISPATCH: "", NOT_EXERCISED: "not exercised", NOT_REACHED: "not reached",
        ABSENT: "not in this QEMU", UNKNOWN: "unknown"}


def _q(text: str) -> str:
    """A DOT quoted id (JSON's escapes, which DOT reads; newlines as \\n)."""
    return json.dumps(text, ensure_ascii=False)


def title(trace: Trace) -> str:
    q = trace.qemu
    return (f"QEMU {q.get('version', '?')}: {trace.outcome.state}\n"
            + " ".join(q.get("argv", [])[1:]))


def _moved(path: InitPath, trace: Trace, e: Verdict) -> tuple[str, str, str] | None:
    """(real caller, callee shown, the chain to it) for an edge the run did
    not take from its documented caller but from another one: a function
    whose stacks never hold the caller, a pointer called from another
    function than the notes say."""
    d = path.dispatch.get(e.callee)
    if e.callee in path.hot or e.caller in path.dispatch:
        return None         # called from everywhere, or a pointer: never a frame
    # A dispatch point shows through what served it: a probe, or a documented
    # function (glob implementations match too much).
    known = set(d.probes if d else ()) | set(path.nodes())
    for hit in trace.hits:
        stack = hit.stack()
        for i, name in enumerate(stack[:-1]):
            if d:
                moved = (d.served_by(name) and name in known
                         and stack[i + 1] != e.caller)
            else:
                moved = name == e.callee and e.caller not in stack[i + 1:]
            if moved:
                return stack[i + 1], name, chain_text(stack[i + 1:], 6)
    return None


def _label(e: Verdict, sequence: bool = False) -> str:
    parts = [e.label or ""]
    if sequence:
        parts.append("(then, not a call)")
    if e.status == DISPATCH and e.served_by:
        parts.append(f"= {e.served_by}()")
    if MARK.get(e.status):
        parts.append(f"({MARK[e.status]})")
    return "\n".join(p for p in parts if p)


def _attrs(style: dict, label: str = "", **extra) -> str:
    attrs = dict(style, **extra)
    if label:
        attrs["label"] = label
    return "[" + ", ".join(f"{k}={_q(str(v))}" for k, v in attrs.items()) + "]"


def _homes(path: InitPath) -> dict[str, str]:
    """The box each function is drawn in: the first of the notes' own boxes
    that names it; a listing's box only takes what the graph does not name."""
    homes: dict[str, str] = {}
    top: set[str] = set()
    for c in path.clusters:
        names = [n for e in path.edges_of(c.id) for n in (e.caller, e.callee)]
        if not c.boxed:
            top.update(names)
    for listing in (False, True):
        for c in path.clusters:
            from_listing = all(e.origin == "listing" for e in path.edges_of(c.id))
            if not c.boxed or from_listing != listing:
                continue
            for e in path.edges_of(c.id):
                for n in (e.caller, e.callee):
                    if not (listing and n in top):
                        homes.setdefault(n, c.id)
    return homes


def _edge_lines(e: Verdict, label: str, via_ids: list[int]) -> list[str]:
    """One edge, drawn through the frames the notes skip when there are any."""
    style = STYLE.get(e.status, {})
    via = e.via or []
    if e.status not in SEEN or not via:
        return [f"{_q(e.caller)} -> {_q(e.callee)} " + _attrs(style, label)]
    lines, chain = [], [e.caller]
    for v in via:
        via_ids.append(len(via_ids) + 1)
        node = f"via{via_ids[-1]}:{v}"
        lines.append(f"{_q(node)} [label={_q(v)}, shape=plaintext, "
                     f"fontcolor=\"#6e7781\", fontsize=8];")
        chain.append(node)
    chain.append(e.callee)
    return lines + [" -> ".join(_q(n) for n in chain) + " " + _attrs(style, label)]


def to_dot(path: InitPath, trace: Trace) -> str:
    edges = edges_of(trace)
    sequence = {e.key for e in path.edges if e.sequence}
    homes = _homes(path)
    out = ["digraph {",
           f"    label={_q(title(trace))};",
           "    labelloc=t;",
           f"    fontname={_q(FONT)};",
           f"    node [fontname={_q(FONT)}, fontsize=10, shape=box, height=0.25];",
           f"    edge [fontname={_q(FONT)}, fontsize=10];",
           "    // green: observed, blue dashed: dispatch (= what served it), grey dotted:",
           "    // not exercised, red: not in this QEMU; grey nodes: frames the notes skip",
           ""]
    via_ids: list[int] = []
    outside: list[str] = []
    for c in path.clusters:
        mine = [e for e in edges if e.cluster == c.id]
        if not mine:
            continue
        inside: list[str] = []
        for e in mine:
            label = _label(e, (e.caller, e.callee) in sequence)
            lines = _edge_lines(e, label, via_ids)
            # An edge between two of this box's functions is written in it, as
            # the notes do; any other outside, so no function changes box.
            boxed = c.boxed and homes.get(e.caller) == homes.get(e.callee) == c.id
            (inside if boxed else outside).extend(lines)
            if e.status == "not-exercised":
                real = _moved(path, trace, e)
                if real:
                    caller, callee, chain = real
                    outside.append(f"{_q(caller)} -> {_q(callee)} "
                                   + _attrs(STYLE[OBSERVED], f"moved: QEMU calls it from "
                                            f"{caller}, not {e.caller}\n({chain})"))
        if c.boxed:
            out.append(f"    subgraph {_q('cluster_' + c.id)} {{")
            out.append(f"        label={_q(c.label)};")
            out += [f"        {_q(n)};" for n, h in homes.items() if h == c.id]
            out += ["        " + ln for ln in inside]
            out += ["    }", ""]
    out += ["    " + ln for ln in outside]
    for name, d in path.dispatch.items():
        out.append(f"    {_q(name)} [shape=box, style=\"dashed,rounded\", "
                   f"tooltip={_q(d.member)}];")
    out.append("}")
    return "\n".join(out) + "\n"


def _listing(path: InitPath, trace: Trace) -> list[str]:
    """The listing edges as an indented call listing, each line marked."""
    edges = [e for e in edges_of(trace)
             if path.edges and _origin(path, e) == "listing"]
    if not edges:
        return []
    children: dict[str, list[Verdict]] = {}
    for e in edges:
        children.setdefault(e.caller, []).append(e)
    callees = {e.callee for e in edges}
    lines: list[str] = []
    shown: set[str] = set()

    def walk(name: str, depth: int) -> None:
        for e in children.get(name, []):
            notes = [e.label or ""]
            if e.via:
                notes.append("via " + " -> ".join(e.via))
            if e.status == DISPATCH and e.served_by:
                notes.append(f"= {e.served_by}()")
            if MARK.get(e.status):
                notes.append(MARK[e.status])
            text = "; ".join(n for n in notes if n)
            lines.append("    " * depth + f"->{e.callee}" + (f"\t/* {text} */" if text else ""))
            if e.callee not in shown:
                shown.add(e.callee)
                walk(e.callee, depth + 1)

    for root in [n for n in children if n not in callees] or list(children)[:1]:
        lines.append(root)
        walk(root, 1)
    return lines


def _origin(path: InitPath, e: Verdict) -> str:
    for pe in path.edges:
        if pe.caller == e.caller and pe.callee == e.callee:
            return pe.origin
    return "graph"


def to_markdown(path: InitPath, trace: Trace) -> str:
    q = trace.qemu
    head, _, cmdline = title(trace).partition("\n")
    out = [f"# {head}", "", f"Command line: `{cmdline}`", "",
           f"Corrected by a run of {q.get('binary', 'QEMU')}: green edges were "
           "observed, blue dashed ones are dispatch points with what served them, "
           "grey dotted ones were not exercised, red ones name functions this QEMU "
           "does not have; grey nodes are frames the notes skip.", "",
           "```graphviz", to_dot(path, trace).rstrip("\n"), "```"]
    listing = _listing(path, trace)
    if listing:
        out += ["", "Call listing (checked):", ""] + listing
    return "\n".join(out) + "\n"


def export(path: InitPath, trace: Trace, fmt: str) -> str:
    if fmt == "dot":
        return to_dot(path, trace)
    if fmt == "md":
        return to_markdown(path, trace)
    raise ValueError(f"unknown export format {fmt!r} (one of {', '.join(FORMATS)})")
