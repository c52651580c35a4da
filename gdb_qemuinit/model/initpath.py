"""The documented init path (data/init-path.toml) as a graph of edges.

A node is either a function (a breakpoint may go there) or a dispatch point
(a function pointer: ``ti->class_init``, ``VhostOps.vhost_backend_init``...),
which is seen only through the functions that serve it.
"""

from __future__ import annotations

import fnmatch
import functools
import os
import re
from typing import NamedTuple

from ..datafile import DataFileError, data_file, read_toml
from ..errors import QemuinitError
from . import shapes

DEFAULT_PATH_FILE = data_file("init-path.toml")


class InitPathError(QemuinitError, ValueError):
    """The documented-path file is malformed."""


class Edge(NamedTuple):
    caller: str
    callee: str
    cluster: str
    label: str = ""
    english: str = ""
    step: int | None = None
    origin: str = "graph"      # "graph" (the diagram) or "listing"
    sequence: bool = False     # "then", not "calls"

    @property
    def key(self) -> tuple[str, str]:
        return (self.caller, self.callee)


def same_name(a: str, b: str) -> bool:
    """A cluster's or a question's name, with - and _ alike (the old
    spellings of the questions named after clusters still work)."""
    return a.replace("-", "_") == b.replace("-", "_")


def facts_match(patterns, facts) -> bool:
    """Is any of `patterns` (facts, globs allowed: device:virtio-net*) in `facts`?"""
    return any(p in facts or ("*" in p or "?" in p or "[" in p)
               and any(fnmatch.fnmatchcase(f, p) for f in facts)
               for p in patterns)


# A plain name is compared, not compiled into a regular expression: a run
# compiles only the few real patterns.
_GLOB = re.compile(r"[*?[]")


@functools.lru_cache(maxsize=4096)
def _matches(patterns: tuple[str, ...], name: str) -> bool:
    """Verification asks this for every frame of every hit: cache it."""
    return any(name == pat if not _GLOB.search(pat) else fnmatch.fnmatchcase(name, pat)
               for pat in patterns)


class Dispatch(NamedTuple):
    name: str
    member: str
    implementations: tuple[str, ...]
    probes: tuple[str, ...]
    also_function: bool = False
    # functions a release puts between the caller and the call through the
    # pointer (QEMU 10.2: vhost_dev_init -> vhost_dev_get_features -> ...)
    through: tuple[str, ...] = ()

    def served_by(self, function: str | None) -> bool:
        return bool(function) and _matches(self.implementations, function)


class Cluster(NamedTuple):
    id: str
    label: str
    english: str
    boxed: bool = True


class InitPath(NamedTuple):
    clusters: list[Cluster]
    edges: list[Edge]
    dispatch: dict[str, Dispatch]
    hot: frozenset[str]
    library: frozenset[str] = frozenset()
    library_symbols: tuple[str, ...] = ()       # the libraries they live in
    # caller -> callees it calls every time it runs (for a valid command line)
    always: dict[str, tuple[str, ...]] = {}
    needs: dict[str, tuple[str, ...]] = {}   # cluster/function -> facts (globs)
    # edge key -> {"lacks": facts, "note"}: the options that take a path
    exercise: dict[str, dict] = {}
    # why a path the command line asks for was not taken: {"edges", "facts",
    # "lacks", "seen", "chain", "note"}, the first that holds wins
    unseen: tuple[dict, ...] = ()

    # -- queries -----------------------------------------------------------
    def nodes(self) -> list[str]:
        seen: dict[str, None] = {}
        for e in self.edges:
            seen.setdefault(e.caller)
            seen.setdefault(e.callee)
        return list(seen)

    def is_dispatch(self, name: str) -> bool:
        return name in self.dispatch

    def functions(self) -> list[str]:
        """Documented names that are real functions."""
        return [n for n in self.nodes() if n not in self.dispatch]

    def check_cluster(self, cid: str | None) -> str | None:
        """The cluster `cid` names (- and _ alike: vhost-user-negotiation is
        vhost_user_negotiation, as the question of that name); InitPathError
        naming the clusters if it names none."""
        if cid is None:
            return None
        found = next((c for c in self.cluster_ids() if same_name(c, cid)), None)
        if found is None:
            raise InitPathError(f"no cluster {cid!r}; clusters: "
                                + ", ".join(self.cluster_ids()))
        return found

    def edges_of(self, cid: str) -> list[Edge]:
        return [e for e in self.edges if e.cluster == cid]

    def callers_of(self, name: str) -> list[str]:
        return [e.caller for e in self.edges if e.callee == name and not e.sequence]

    def callees_of(self, name: str) -> list[str]:
        return [e.callee for e in self.edges if e.caller == name and not e.sequence]

    @staticmethod
    def edge_keys(edge: Edge) -> tuple[str, ...]:
        """How data names an edge, most specific first: the edge, its
        callee, its cluster, its caller."""
        return (f"{edge.caller} -> {edge.callee}", edge.callee, edge.cluster, edge.caller)

    def exercise_entry(self, edge: Edge) -> dict | None:
        """The most specific [exercise] entry of `edge`."""
        return next((self.exercise[k] for k in self.edge_keys(edge) if k in self.exercise),
                    None)

    def unseen_entries(self, edge: Edge) -> list[dict]:
        """The [[unseen]] entries that name `edge`, in file order."""
        keys = set(self.edge_keys(edge))
        return [u for u in self.unseen if keys & set(u["edges"])]

    def needs_met(self, key: str, facts: frozenset[str]) -> bool:
        """Does a command line with `facts` have one of [needs] `key`'s?"""
        return facts_match(self.needs.get(key, ()), facts)

    def clusters_of(self, name: str) -> set[str]:
        return {e.cluster for e in self.edges if name in (e.caller, e.callee)}

    def cluster_ids(self) -> list[str]:
        return [c.id for c in self.clusters]

    def only(self, cluster_ids: list[str]) -> "InitPath":
        """The part of this path that is those clusters: their edges, and
        the dispatch points, hot functions and [always] callers among
        their nodes (a phase borrowing a cluster of another file)."""
        ids = [self.check_cluster(c) for c in cluster_ids]
        edges = [e for e in self.edges if e.cluster in ids]
        nodes = {n for e in edges for n in (e.caller, e.callee)}
        return self._replace(
            clusters=[c for c in self.clusters if c.id in ids], edges=edges,
            dispatch={k: d for k, d in self.dispatch.items() if k in nodes},
            hot=self.hot & nodes, library=self.library & nodes,
            library_symbols=self.library_symbols if self.library & nodes else (),
            always={k: v for k, v in self.always.items() if k in nodes},
            needs={k: v for k, v in self.needs.items() if k in nodes or k in ids},
            exercise={}, unseen=())


def _chain_edges(chain: str) -> list[tuple[str, str]]:
    # " -> " with spaces: names such as ti->class_init contain a bare "->".
    names = [n.strip() for n in chain.split(" -> ")]
    if len(names) < 2 or not all(names):
        raise InitPathError(f"bad chain: {chain!r}")
    return list(zip(names, names[1:]))


def _parse_dispatch(name: str, d: dict) -> Dispatch:
    impls = tuple(d.get("implementations", ()))
    if not impls:
        raise InitPathError(f"dispatch {name!r} has no implementations")
    return Dispatch(name=name, member=d.get("member", ""), implementations=impls,
                    probes=tuple(d.get("probes", ())),
                    also_function=bool(d.get("also_function", False)),
                    through=tuple(d.get("through", ())))


def parse(text: str) -> InitPath:
    import tomllib
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InitPathError(f"not valid TOML: {exc}") from None
    return from_doc(doc)


# The file's shape (model/shapes.py): checked before it is read, so a
# mistyped file is one error naming the place.
_STRS = [str]
PATH_FILE = shapes.Record({}, {
    "cluster": [shapes.Record({"id": str}, {
        "label": str, "english": str, "boxed": bool, "origin": str, "chains": _STRS,
        "edge": [shapes.Record({"from": str, "to": str}, {
            "label": shapes.OneOf((str, int)), "english": str, "step": shapes.Opt(int),
            "origin": str})]})],
    "dispatch": shapes.Map(shapes.Record({}, {
        "member": str, "implementations": _STRS, "probes": _STRS, "also_function": bool,
        "through": _STRS})),
    "sequence": shapes.Record({}, {"edges": _STRS}),
    "hot": shapes.Record({}, {"functions": _STRS}),
    "always": shapes.Record({}, {"edges": _STRS}),
    "library": shapes.Record({}, {"functions": _STRS, "symbols": _STRS}),
    "needs": shapes.Map(_STRS),
    "exercise": shapes.Map(shapes.Record({"note": str}, {"lacks": _STRS})),
    "unseen": [shapes.Record({"edges": _STRS, "note": str}, {
        "facts": _STRS, "lacks": _STRS, "seen": _STRS, "chain": _STRS})]})


def _exercise(doc: dict) -> dict[str, dict]:
    """[exercise]: per edge key, the facts a command line lacks and the note."""
    exercise = {}
    for key, entry in doc.get("exercise", {}).items():
        if not (isinstance(entry, dict) and isinstance(entry.get("note"), str)
                and isinstance(entry.get("lacks", []), list)):
            raise InitPathError(f"[exercise] {key!r}: a table with a note and the "
                                f"facts it lacks")
        exercise[key] = {"lacks": tuple(entry.get("lacks", ())), "note": entry["note"]}
    return exercise


def _unseen(doc: dict) -> tuple[dict, ...]:
    """[[unseen]], in file order: every list a tuple, and the note."""
    unseen = []
    for n, entry in enumerate(doc.get("unseen", []), 1):
        if not (isinstance(entry.get("note"), str) and entry.get("edges")):
            raise InitPathError(f"[[unseen]] entry {n}: needs edges and a note")
        keys = ("edges", "facts", "lacks", "seen", "chain")
        unseen.append({k: tuple(entry.get(k, ())) for k in keys} | {"note": entry["note"]})
    return tuple(unseen)


def _sequence(doc: dict) -> set[tuple[str, str]]:
    """[sequence]'s chains: the edges whose callee runs after its caller
    returned ("then", not "calls")."""
    sequence = set()
    for chain in doc.get("sequence", {}).get("edges", []):
        sequence.update(_chain_edges(chain))
    return sequence


def _clusters(doc: dict, sequence: set[tuple[str, str]]) -> tuple[list[Cluster], list[Edge]]:
    """The [[cluster]] tables and their edges, chains first then the labelled
    [[cluster.edge]]s, each edge once (the first place it is written wins);
    an edge in `sequence` is "then", not "calls"."""
    clusters: list[Cluster] = []
    edges: list[Edge] = []
    seen: set[tuple[str, str]] = set()

    def add(edge: Edge) -> None:
        if edge.key in seen:       # a chain may repeat an edge of another chain
            return
        seen.add(edge.key)
        edges.append(edge)

    for c in doc.get("cluster", []):
        cid = c["id"]
        origin = c.get("origin", "graph")
        clusters.append(Cluster(id=cid, label=c.get("label", cid),
                                english=c.get("english", ""),
                                boxed=c.get("boxed", True)))
        labelled = {(e["from"], e["to"]): e for e in c.get("edge", [])}
        for chain in c.get("chains", []):
            for a, b in _chain_edges(chain):
                if (a, b) not in labelled:
                    add(Edge(a, b, cid, origin=origin, sequence=(a, b) in sequence))
        for (a, b), e in labelled.items():
            add(Edge(a, b, cid, label=str(e.get("label", "")),
                     english=e.get("english", ""), step=e.get("step"),
                     origin=e.get("origin", origin), sequence=(a, b) in sequence))
    return clusters, edges


def _always(doc: dict) -> dict[str, tuple[str, ...]]:
    """[always]'s chains as caller -> the callees it calls every time."""
    always: dict[str, tuple[str, ...]] = {}
    for chain in doc.get("always", {}).get("edges", []):
        for a, b in _chain_edges(chain):
            always[a] = always.get(a, ()) + (b,)
    return always


def _needs(doc: dict) -> dict[str, tuple[str, ...]]:
    """[needs]: per cluster or function, the command-line facts (globs) one
    of which a command line must have to take it."""
    needs = {}
    for key, facts in doc.get("needs", {}).items():
        if not (isinstance(facts, list) and all(isinstance(f, str) for f in facts)):
            raise InitPathError(f"[needs] {key}: a list of command-line facts, such as "
                                f'["netdev:vhost-user"]')
        needs[key] = tuple(facts)
    return needs


def from_doc(doc: dict) -> InitPath:
    """The documented path in `doc` (the file's TOML, parsed), its shape
    checked first; InitPathError saying what is wrong."""
    try:
        shapes.check(doc, PATH_FILE, "the documented path")
    except shapes.ShapeError as exc:
        raise InitPathError(str(exc)) from None
    # Table by table; of two mistakes in a file, the one in the table read
    # first is the one reported.
    exercise = _exercise(doc)
    unseen = _unseen(doc)
    clusters, edges = _clusters(doc, _sequence(doc))
    dispatch = {name: _parse_dispatch(name, d)
                for name, d in doc.get("dispatch", {}).items()}
    hot = frozenset(doc.get("hot", {}).get("functions", []))
    for name in hot & set(dispatch):
        raise InitPathError(f"{name!r} is both hot and a dispatch point")
    library = frozenset(doc.get("library", {}).get("functions", []))
    library_symbols = tuple(doc.get("library", {}).get("symbols", []))
    always = _always(doc)
    needs = _needs(doc)
    return InitPath(clusters=clusters, edges=edges, dispatch=dispatch, hot=hot,
                    library=library, library_symbols=library_symbols,
                    always=always, needs=needs,
                    exercise=exercise, unseen=unseen)


def load(path: str | os.PathLike | None = None) -> InitPath:
    p = os.fspath(path) if path else DEFAULT_PATH_FILE
    try:
        doc = read_toml(p)
    except OSError as exc:
        raise InitPathError(f"cannot read {p}: {exc.strerror}") from None
    except DataFileError as exc:
        raise InitPathError(str(exc)) from None
    return from_doc(doc)


def join(paths: list[InitPath]) -> InitPath:
    """One documented path made of several (a phase's files, in order): the
    first file's entry for an edge, a dispatch point or a [needs] key wins."""
    edges: dict[tuple[str, str], Edge] = {}
    for p in paths:
        for e in p.edges:
            edges.setdefault(e.key, e)

    def merged(field: str) -> dict:
        out: dict = {}
        for p in paths:
            for k, v in getattr(p, field).items():
                out.setdefault(k, v)
        return out

    return InitPath(
        clusters=[c for p in paths for c in p.clusters],
        edges=list(edges.values()),
        dispatch=merged("dispatch"),
        hot=frozenset().union(*(p.hot for p in paths)),
        library=frozenset().union(*(p.library for p in paths)),
        library_symbols=tuple(dict.fromkeys(s for p in paths for s in p.library_symbols)),
        always={k: tuple(dict.fromkeys(c for p in paths for c in p.always.get(k, ())))
                for k in merged("always")},
        needs=merged("needs"), exercise=merged("exercise"),
        unseen=tuple(u for p in paths for u in p.unseen))
