"""A developer's call-graph notes read: a markdown file with a ```graphviz or
```dot block and maybe an indented `->` call listing under it, a .dot file,
or a listing alone, merged into one `ImportedNotes` for `notes/importer`.

The graph gives the clusters (their labels), chains and edge labels; a label
that is a number is a step (checked in order); listing edges not already in
the graph go to a cluster of their own, marked origin = "listing".  The
listing may spell a graph node fully (net_client_init_fun[netdev->type] for
the graph's net_client_init_fun): the graph's chains take that spelling.
"""

from __future__ import annotations

import os
import re
from typing import NamedTuple

from ..datafile import read_text
from . import dot as dotnotes
from . import listing as notes_listing
from .dot import NotesError

LISTING_CLUSTER = "listing"
TOP_CLUSTER = "graph"
_FENCE = re.compile(r"^(\s*)(```|~~~)\s*(\w+)?[^\n]*$")


class NotesEdge(NamedTuple):
    caller: str
    callee: str
    cluster: str
    label: str = ""
    step: int | None = None
    origin: str = "graph"


class NotesCluster(NamedTuple):
    id: str
    label: str
    boxed: bool
    origin: str = "graph"


class ImportedNotes(NamedTuple):
    source: str
    clusters: list[NotesCluster]
    edges: list[NotesEdge]
    chains: list[tuple[str, tuple[str, ...]]]      # (cluster, names) as written
    remarks: list[str]                              # what the reader changed

    def names(self) -> list[str]:
        return list(dict.fromkeys(n for e in self.edges for n in (e.caller, e.callee)))


def _split_markdown(text: str) -> tuple[list[tuple[int, str]], str, int]:
    """The DOT blocks (first line number, text) and the text outside fences
    (with the line number it starts at, for the listing)."""
    blocks, outside = [], []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            outside.append(lines[i])
            i += 1
            continue
        fence, lang = m.group(2), (m.group(3) or "").lower()
        end = next((j for j in range(i + 1, len(lines))
                    if lines[j].strip().startswith(fence)), None)
        if end is None:
            raise NotesError(f"line {i + 1}: a ``` block is never closed")
        body = "\n".join(lines[i + 1:end])
        if lang in ("graphviz", "dot", "gv"):
            blocks.append((i + 2, body))
        else:
            outside.append("")      # a code block is not part of a listing
        outside.extend([""] * (end - i))
        i = end + 1
    return blocks, "\n".join(outside), 1


def _read_dot(block: str, first_line: int) -> dotnotes.Notes:
    """A DOT block; its errors name the notes file's line, not the block's."""
    try:
        return dotnotes.parse(block)
    except NotesError as exc:
        msg = str(exc)
        m = re.match(r"line (\d+): (.*)", msg)
        if m:
            msg = f"line {int(m.group(1)) + first_line - 1}: {m.group(2)}"
        raise NotesError(msg) from None


def _step(label: str) -> int | None:
    """The step an edge label numbers (1, 2...): checked in order."""
    return int(label) if re.fullmatch(r"\s*\d{1,3}\s*", label) else None


def read(path: str) -> ImportedNotes:
    """The notes in `path`; NotesError with one line saying what is wrong."""
    text = read_text(path, NotesError)
    try:
        return parse(text, os.path.basename(path))
    except NotesError as exc:
        raise NotesError(f"{path}: {exc}") from None


def parse(text: str, source: str = "") -> ImportedNotes:
    """Notes `text`: a DOT graph as a whole (after comments), else markdown
    whose DOT blocks and the listing outside them are read and merged."""
    lead = re.match(r"(?:\s+|/\*.*?\*/|//[^\n]*|#[^\n]*)*", text, re.DOTALL)
    head = lead.end() if lead else 0
    if re.match(r"(strict\s+)?(di)?graph\b", text[head:], re.IGNORECASE):
        blocks, outside = [(1, text)], ""
    else:
        blocks, outside, _ = _split_markdown(text)
    graphs = [_read_dot(body, first) for first, body in blocks]
    listing = notes_listing.parse(outside) if outside else notes_listing.Listing([], [])
    if not graphs and not listing.edges:
        raise NotesError("no ```graphviz or ```dot block, no DOT graph and no "
                         "indented '->' call listing: nothing to import")
    return _merge(source, graphs, listing)


def _merge(source: str, graphs: list[dotnotes.Notes],
           listing: notes_listing.Listing) -> ImportedNotes:
    remarks = [f"{m}: the same name twice in a row in the listing, read once"
               for m in listing.merged]
    # The listing may spell a graph node fully: net_client_init_fun in the
    # graph, net_client_init_fun[netdev->type](...) in the listing.
    full: dict[str, str] = {}
    for e in listing.edges:
        for n in (e.caller, e.callee):
            base = n.split("[")[0]
            if base != n:
                full.setdefault(base, n)
    clusters: list[NotesCluster] = []
    edges: list[NotesEdge] = []
    chains: list[tuple[str, tuple[str, ...]]] = []
    seen: set[tuple[str, str]] = set()

    def add(edge: NotesEdge) -> None:
        if edge.caller == edge.callee or (edge.caller, edge.callee) in seen:
            return
        seen.add((edge.caller, edge.callee))
        edges.append(edge)

    for g in graphs:
        known = {c.id for c in clusters}
        clusters += [NotesCluster(c.id, c.label, c.boxed) for c in g.clusters
                     if c.id not in known]
        with_edges = {c.cluster for c in g.chains}
        # A cluster that only declares a node gets the edges into it (the
        # notes draw `object_new -> virtio_net_pci_instance_init` outside
        # the box that holds virtio_net_pci_instance_init).
        adopt = {n: c for n, c in g.members.items() if c and c not in with_edges}
        for chain in g.chains:
            names = tuple(full.get(n, n) for n in chain.names)
            if full.get(chain.names[0]) or any(full.get(n) for n in chain.names):
                remarks.append(f"{' '.join(sorted({n for n in chain.names if n in full}))}: "
                               "named as in the listing ("
                               + ", ".join(full[n] for n in chain.names if n in full) + ")")
            cluster = chain.cluster or TOP_CLUSTER
            chains.append((cluster, names))
            for a, b in zip(names, names[1:]):
                home = adopt.get(b, cluster) if not chain.cluster else cluster
                add(NotesEdge(a, b, home, chain.label, _step(chain.label)))
    if any(e.cluster == TOP_CLUSTER for e in edges):
        name = next((g.name for g in graphs if g.name), "")
        clusters.insert(0, NotesCluster(TOP_CLUSTER, name or "outside the clusters", False))
    before = len(edges)
    for e in listing.edges:
        add(NotesEdge(e.caller, e.callee, LISTING_CLUSTER, e.label, None, "listing"))
    if len(edges) > before:
        clusters.append(NotesCluster(LISTING_CLUSTER, "call listing", True, "listing"))
    return ImportedNotes(source, clusters, edges, chains, list(dict.fromkeys(remarks)))
