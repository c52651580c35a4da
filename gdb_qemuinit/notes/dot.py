"""The part of graphviz's DOT language that call-graph notes use, read
tolerantly: a digraph (or graph), subgraphs (boxed when named cluster_* or
given cluster=true) with a label, node statements, chains a -> b -> c,
[attributes] (label, weight...), comments, quoted ids in any script.

    notes = parse(text)      # Notes(name, clusters, chains), or NotesError

Only what a documented path needs is kept: each chain statement with its
cluster and label; graph, node and edge defaults are read and dropped.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from ..errors import QemuinitError


class NotesError(QemuinitError, ValueError):
    """Notes that cannot be read; the message is one line, with where."""


class Chain(NamedTuple):
    names: tuple[str, ...]      # a -> b -> c
    cluster: str                # the enclosing subgraph's id ("" for none)
    label: str = ""
    line: int = 0


class Cluster(NamedTuple):
    id: str
    label: str
    boxed: bool


class Notes(NamedTuple):
    name: str
    clusters: list[Cluster]
    chains: list[Chain]
    members: dict[str, str] = {}    # node -> the cluster a node statement put it in


_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<comment>//[^\n]*|/\*.*?\*/|\#[^\n]*)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<html><[^<>]*(?:<[^<>]*>[^<>]*)*>)
  | (?P<arrow>->|--)
  | (?P<punct>[{}\[\];,=:])
  | (?P<id>[^\W\d]\w*|-?(?:\.\d+|\d+(?:\.\d*)?))
""", re.VERBOSE | re.MULTILINE | re.DOTALL)


def _tokens(text: str) -> list[tuple[str, str, int]]:
    out, pos, line = [], 0, 1
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            snippet = text[pos:pos + 20].split("\n")[0]
            raise NotesError(f"line {line}: cannot read {snippet!r} as DOT")
        kind = m.lastgroup or ""
        value = m.group()
        if kind == "string":
            value = re.sub(r'\\(.)', lambda e: "\n" if e.group(1) in "nlr" else e.group(1),
                           value[1:-1].replace("\\\n", ""))
            out.append(("id", value, line))
        elif kind == "html":
            out.append(("id", value[1:-1], line))
        elif kind not in ("space", "comment"):
            out.append((kind if kind != "punct" else value, value, line))
        line += m.group().count("\n")
        pos = m.end()
    return out


class _Parser:
    def __init__(self, tokens):
        self.toks = tokens
        self.i = 0
        self.clusters: list[Cluster] = []
        self.chains: list[Chain] = []
        self.node_labels: dict[str, str] = {}
        self.members: dict[str, str] = {}

    def peek(self, k: int = 0) -> tuple[str, str, int]:
        j = self.i + k
        if j < len(self.toks):
            return self.toks[j]
        return ("end", "", self.toks[-1][2] if self.toks else 1)

    def take(self, kind: str | None = None) -> tuple[str, str, int]:
        tok = self.peek()
        if kind and tok[0] != kind:
            what = "the end of the notes" if tok[0] == "end" else repr(tok[1])
            raise NotesError(f"line {tok[2]}: expected {kind!r}, found {what}")
        self.i += 1
        return tok

    def graph(self) -> Notes:
        if self.peek()[0] == "id" and self.peek()[1].lower() == "strict":
            self.take()
        kw = self.take("id")
        if kw[1].lower() not in ("digraph", "graph"):
            raise NotesError(f"line {kw[2]}: a DOT graph starts with 'digraph', "
                             f"found {kw[1]!r}")
        name = self.take()[1] if self.peek()[0] == "id" else ""
        opened = self.take("{")[2]
        self.statements("", opened)
        self.take("}")
        if self.peek()[0] != "end":
            raise NotesError(f"line {self.peek()[2]}: text after the graph's closing '}}'")
        return Notes(name, self.clusters, self.chains, self.members)

    def statements(self, cluster: str, opened: int) -> dict:
        attrs: dict[str, str] = {}
        while self.peek()[0] not in ("}", "end"):
            self.statement(cluster, attrs)
            while self.peek()[0] in (";", ","):
                self.take()
        if self.peek()[0] == "end":
            raise NotesError(f"line {opened}: this '{{' is never closed")
        return attrs

    def statement(self, cluster: str, attrs: dict) -> None:
        kind, value, line = self.peek()
        if kind == "id" and value.lower() in ("graph", "node", "edge") and self.peek(1)[0] == "[":
            self.take()
            self.attr_list()
            return
        if kind == "id" and self.peek(1)[0] == "=":
            self.take()
            self.take("=")
            attrs[value] = self.take("id")[1]
            return
        if (kind == "id" and value.lower() == "subgraph") or kind == "{":
            self.subgraph(cluster)
            return
        if kind != "id":
            raise NotesError(f"line {line}: unexpected {value!r}")
        names = [self.node_id()]
        while self.peek()[0] == "arrow":
            self.take()
            if self.peek()[0] in ("{",) or self.peek()[1].lower() == "subgraph":
                raise NotesError(f"line {self.peek()[2]}: a subgraph as an edge end "
                                 f"is not supported; write the edges one by one")
            names.append(self.node_id())
        a = self.attr_list() if self.peek()[0] == "[" else {}
        if len(names) == 1:
            if cluster:
                self.members.setdefault(names[0], cluster)
            if a.get("label"):
                self.node_labels[names[0]] = a["label"]
            return
        self.chains.append(Chain(tuple(names), cluster, a.get("label", ""), line))

    def node_id(self) -> str:
        name = self.take("id")[1]
        if self.peek()[0] == ":":        # a port: node:port[:compass]
            self.take()
            self.take("id")
            if self.peek()[0] == ":":
                self.take()
                self.take("id")
        return name

    def attr_list(self) -> dict[str, str]:
        attrs: dict[str, str] = {}
        while self.peek()[0] == "[":
            self.take()
            while self.peek()[0] != "]":
                key = self.take("id")[1]
                if self.peek()[0] == "=":
                    self.take()
                    attrs[key] = self.take("id")[1]
                else:
                    attrs[key] = "true"
                while self.peek()[0] in (",", ";"):
                    self.take()
                if self.peek()[0] == "end":
                    raise NotesError(f"line {self.peek()[2]}: a '[' is never closed")
            self.take("]")
        return attrs

    def subgraph(self, outer: str) -> None:
        name = ""
        if self.peek()[0] == "id":          # 'subgraph'
            self.take()
            if self.peek()[0] == "id":
                name = self.take()[1]
        opened = self.take("{")[2]
        start = len(self.chains)
        cid = re.sub(r"^cluster_?", "", name) or name
        boxed_by_name = name.startswith("cluster")
        # Chains are filed under this subgraph while it is read.
        attrs = self.statements(cid or outer, opened)
        self.take("}")
        boxed = boxed_by_name or attrs.get("cluster", "").lower() in ("true", "1", "yes")
        if not boxed or not cid:
            # An unboxed subgraph (rank=same, ...) groups nothing for us.
            self.chains[start:] = [c._replace(cluster=outer) if c.cluster == cid else c
                                   for c in self.chains[start:]]
            for n, c in list(self.members.items()):
                if c == cid:
                    self.members[n] = outer
            return
        if cid in {c.id for c in self.clusters}:
            return
        self.clusters.append(Cluster(cid, attrs.get("label", cid), True))


def parse(text: str) -> Notes:
    """The notes' graph; NotesError (one line, with the line number) when it
    is not DOT this reader understands."""
    tokens = _tokens(text)
    if not tokens:
        raise NotesError("no DOT graph: the text is empty")
    p = _Parser(tokens)
    notes = p.graph()
    if not notes.chains:
        raise NotesError("the graph has no edges (a -> b): nothing to check")
    if p.node_labels:
        # Notes that name nodes n1 [label="qemu_init"] call the function by its label.
        rename = {k: v.strip() for k, v in p.node_labels.items()
                  if re.fullmatch(r"[A-Za-z_][\w\->.\[\]]*(\(\))?", v.strip())}
        notes = notes._replace(chains=[
            c._replace(names=tuple(rename.get(n, n).removesuffix("()") for n in c.names))
            for c in notes.chains],
            members={rename.get(n, n): c for n, c in notes.members.items()})
    return notes
