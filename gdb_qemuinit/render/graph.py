"""The seed's own diagram, coloured by what really happened (graphviz).

Clusters and edge labels as in the seed (original label, English beside it);
each documented edge styled by its status; frames that stood between a
caller and its documented callee (`via`) drawn in grey.
"""

from __future__ import annotations

from ..model.initpath import InitPath
from ..model.verdicts import (ABSENT, DISPATCH, NOT_EXERCISED, NOT_REACHED, OBSERVED, SEEN,
                              UNKNOWN, Verdict)

STYLE = {
    OBSERVED: {"color": "#1a7f37", "penwidth": "2.2", "style": "solid"},
    DISPATCH: {"color": "#0550ae", "penwidth": "2.2", "style": "dashed"},
    NOT_EXERCISED: {"color": "#8c959f", "penwidth": "1", "style": "dotted"},
    NOT_REACHED: {"color": "#c4cad0", "penwidth": "1", "style": "dotted"},
    ABSENT: {"color": "#cf222e", "penwidth": "2", "style": "dashed"},
    UNKNOWN: {"color": "#bf8700", "penwidth": "1.5", "style": "dotted"},
}
FORMATS = ("dot", "svg", "png")
# The seed's labels are Chinese: a CJK font first (Debian's fonts-wqy-microhei).
FONT = "WenQuanYi Micro Hei,Helvetica,Arial,sans-serif"


def _node_home(path: InitPath) -> dict[str, str | None]:
    """The boxed cluster a node is drawn in: where it first appears."""
    boxed = {c.id for c in path.clusters if c.boxed}
    home: dict[str, str | None] = {}
    for e in path.edges:
        for n in (e.callee, e.caller):
            if e.cluster in boxed and home.get(n) is None:
                home[n] = e.cluster
            home.setdefault(n, None)
    return home


CHANGED = {"color": "#8250df", "penwidth": "4", "style": "solid"}


def _new_graph(title: str):
    """An empty graph, top to bottom, in the CJK-first font."""
    import graphviz       # only when drawing
    return graphviz.Digraph("qemu_init", graph_attr={
        "fontname": FONT, "label": title, "labelloc": "t",
        "fontsize": "14", "rankdir": "TB", "compound": "true"},
        node_attr={"fontname": FONT, "fontsize": "10",
                   "shape": "record", "height": "0.25"},
        edge_attr={"fontname": FONT, "fontsize": "9"})


def _add_nodes(g, path: InitPath, edges: list[Verdict]) -> None:
    """Every documented name, in its cluster's box or outside the boxes: a
    dispatch point drawn dashed, a name the run saw in green."""
    home = _node_home(path)
    seen_nodes = {n for e in edges if e.status in SEEN
                  for n in (e.caller, e.callee)}

    def node_attrs(n: str) -> dict:
        attrs: dict[str, str] = {}
        if path.is_dispatch(n):
            attrs.update(shape="box", style="dashed,rounded",
                         tooltip=path.dispatch[n].member)
        if n in seen_nodes:
            attrs.update(color="#1a7f37")
        return attrs

    for c in path.clusters:
        members = [n for n, h in home.items() if h == c.id]
        if not members:
            continue
        with g.subgraph(name=f"cluster_{c.id}") as sub:
            sub.attr(label=f"{c.label}\n({c.english})" if c.english else c.label,
                     style="rounded", color="#57606a", fontsize="11")
            for n in members:
                sub.node(n, n, **node_attrs(n))
    for n, h in home.items():
        if h is None:
            g.node(n, n, **node_attrs(n))


def _add_edge(g, e: Verdict, note: str | None) -> None:
    """A documented edge styled by its verdict: the seed's label, its
    English, what served a dispatch point; `note` highlights a changed one."""
    label = e.label or ""
    if e.english and e.english != label:
        label = f"{label}\n{e.english}" if label else e.english
    if e.status == DISPATCH and e.served_by:
        label = (label + "\n" if label else "") + f"= {e.served_by}()"
    attrs = dict(STYLE.get(e.status, {}))
    attrs["tooltip"] = f"{e.status}: {e.note or ''}"
    if note is not None:
        attrs.update(CHANGED, fontcolor=CHANGED["color"], tooltip=f"changed: {note}")
        label = (label + "\n" if label else "") + f"changed: {note}"
    g.edge(e.caller, e.callee, label=label, **attrs)


def _add_via(g, e: Verdict, via_nodes: set[str]) -> None:
    """The frames between an observed edge's caller and callee, in grey
    beside it (each frame's node drawn once: `via_nodes`)."""
    via = e.via or []
    if e.status == OBSERVED and via:
        chain = [e.caller, *(f"via__{v}" for v in via), e.callee]
        for v in via:
            if f"via__{v}" not in via_nodes:
                via_nodes.add(f"via__{v}")
                g.node(f"via__{v}", v, shape="plaintext", fontcolor="#6e7781",
                       fontsize="8")
        # constraint=false: the grey detour must not move the documented layout
        for a, b in zip(chain, chain[1:]):
            g.edge(a, b, color="#afb8c1", style="solid", penwidth="0.8",
                   arrowsize="0.5", constraint="false")


def _add_legend(g, changed: bool) -> None:
    """One short sample edge per verdict (and "changed" in a diff)."""
    with g.subgraph(name="cluster_legend") as lg:
        lg.attr(label="legend", fontsize="9", color="#d0d7de")
        legend = dict(STYLE, **({"changed": CHANGED} if changed else {}))
        for i, (status, attrs) in enumerate(legend.items()):
            lg.node(f"legend_{i}a", "", shape="point", width="0.05")
            lg.node(f"legend_{i}b", "", shape="point", width="0.05")
            lg.edge(f"legend_{i}a", f"legend_{i}b", label=status, **attrs)


def build(path: InitPath, edges: list[Verdict], title: str = "",
          changed: dict[tuple[str, str], str] | None = None):
    """The graph; `changed` maps (from, to) to a note ("observed -> absent")
    for edges drawn highlighted (a diff of two traces)."""
    changed = changed or {}
    g = _new_graph(title)
    _add_nodes(g, path, edges)
    via_nodes: set[str] = set()
    for e in edges:
        _add_edge(g, e, changed.get((e.caller, e.callee)))
        _add_via(g, e, via_nodes)
    _add_legend(g, bool(changed))
    return g


def render(path: InitPath, edges: list[Verdict], fmt: str, title: str = "",
           changed: dict[tuple[str, str], str] | None = None) -> bytes:
    """DOT source (fmt "dot") or the picture made by Debian's `dot`."""
    g = build(path, edges, title, changed)
    if fmt == "dot":
        return g.source.encode("utf-8")
    if fmt not in FORMATS:
        raise ValueError(f"unknown graph format {fmt!r} (one of {', '.join(FORMATS)})")
    return g.pipe(format=fmt)
