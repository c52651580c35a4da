"""A developer's call-graph notes as a documented-path file (init-path.toml's
format): `qemuinit path import NOTES`.

The notes are a markdown file with a ```graphviz or ```dot block and maybe an
indented `->` call listing under it, a .dot file, or a listing alone.  The
graph gives the clusters (their labels), chains and edge labels; a label
that is a number is a step (checked in order); listing edges not already in
the graph go to a cluster of their own, marked origin = "listing".

With facts from a QEMU binary (`binary_facts`, read by gdb in a short
counting run: gdb_qemuinit/gdbext/notes_facts.py) the file also says:
- which names are dispatch points: a name that looks like a function pointer
  (ti->class_init, ops.x, table[i]), a table of function pointers in the
  binary, or a name the caller calls through a pointer (its source line at an
  indirect call says so).  Their implementations are what the table holds or
  what the counting run saw called there; where nothing tells, a glob guessed
  from the name with a `fill_in` marker for the user;
- which functions are hot: called `hot_threshold` times or more in the run;
- which are a shared library's (GLib), and which the binary does not have;
- which edges are "then", not "calls": the callee ran after the caller
  returned and never below it.
"""

from __future__ import annotations

import json
import os
import re
from typing import NamedTuple

from ..datafile import read_text
from . import dot as dotnotes
from . import listing as notes_listing
from .dot import NotesError

HOT_THRESHOLD = 10
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


# ---------------------------------------------------------------- reading
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
    try:
        return dotnotes.parse(block)
    except NotesError as exc:
        msg = str(exc)
        m = re.match(r"line (\d+): (.*)", msg)
        if m:
            msg = f"line {int(m.group(1)) + first_line - 1}: {m.group(2)}"
        raise NotesError(msg) from None


def _step(label: str) -> int | None:
    return int(label) if re.fullmatch(r"\s*\d{1,3}\s*", label) else None


def read(path: str) -> ImportedNotes:
    """The notes in `path`; NotesError with one line saying what is wrong."""
    text = read_text(path, NotesError)
    try:
        return parse(text, os.path.basename(path))
    except NotesError as exc:
        raise NotesError(f"{path}: {exc}") from None


def parse(text: str, source: str = "") -> ImportedNotes:
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


# ---------------------------------------------------------------- names
def looks_like_pointer(name: str) -> bool:
    """ti->class_init, ops.vhost_backend_init, net_client_init_fun[...], (*fn)."""
    return bool(re.search(r"->|\.|\[|\(\*", name))


def member_of(name: str) -> str:
    """What a call through a pointer is called at its call site: the member
    (`class_init` of ti->class_init) or the table (`net_client_init_fun`)."""
    if "[" in name:
        return name.split("[")[0]
    return re.split(r"->|\.", name)[-1].strip("()*")


def gdb_request(notes: ImportedNotes) -> dict:
    """What the counting run looks up: every name, and every edge (a caller's
    calls through pointers are matched to its callees' member names)."""
    return {"names": notes.names(),
            "edges": [[e.caller, e.callee, member_of(e.callee)] for e in notes.edges]}


# ---------------------------------------------------------------- writing
class Result(NamedTuple):
    toml: str
    hot: list[str]
    missing: list[str]
    dispatch: dict[str, dict]
    fill_in: list[str]
    sequence: list[str]
    library: list[str]
    remarks: list[str]


def _q(text: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(text, ensure_ascii=False)


def _glob(member: str) -> str:
    return f"*_{member}" if re.fullmatch(r"\w+", member) else f"*{member}*"


def _implementations(member: str, targets: dict[str, int]) -> list[str]:
    """What the counting run saw called, many with one suffix as a glob."""
    names = sorted(targets)
    glob = _glob(member)
    matching = [n for n in names if re.fullmatch(r"\w+", member) and n.endswith("_" + member)]
    if len(names) > 6 and len(matching) * 5 >= len(names) * 4:
        return [glob] + [n for n in names if n not in matching]
    return names


def on_path(edges: set[tuple[str, str]], stack: list[str]) -> int:
    """How far up the notes' own edges a call's stack (documented names,
    innermost first) goes from its innermost frame, frames between allowed."""
    depth = 0
    for inner, outer in zip(stack, stack[1:]):
        if outer == inner:          # recursion (object_init_with_type)
            continue
        if (outer, inner) not in edges:
            break
        depth += 1
    return depth


def _probes(seen: dict[str, int], context: dict[str, int], hot_threshold: int) -> list[str]:
    """What to plant to see a dispatch happen: the targets called with the
    most of the documented path above them, the cheapest first; a hot one
    only when nothing cheaper was called from as deep on the path."""
    best = max(context.values(), default=0)
    on_path = sorted((fn for fn in seen if context.get(fn, 0) == best),
                     key=lambda fn: (seen[fn], fn))
    cheap = [fn for fn in on_path if seen[fn] < hot_threshold]
    return cheap[:3] or on_path[:1]


def decide(notes: ImportedNotes, facts: dict | None, hot_threshold: int = HOT_THRESHOLD):
    """From the notes and what gdb found: dispatch points, hot functions,
    library functions, missing names, sequence edges."""
    facts = facts or {}
    functions: dict[str, dict] = facts.get("functions", {})
    tables: dict[str, list[str]] = facts.get("tables", {})
    sites: dict[str, dict[str, int]] = {}
    context: dict[str, dict[str, int]] = {}
    where: dict[str, list[str]] = {}
    for s in facts.get("sites", []):
        t = sites.setdefault(s["callee"], {})
        for fn, n in s["targets"].items():
            t[fn] = t.get(fn, 0) + n
        c = context.setdefault(s["callee"], {})
        for fn, depth in s.get("depth", {}).items():
            c[fn] = max(c.get(fn, 0), depth)
        where.setdefault(s["callee"], []).append(f"{s['at']}: {s['text']}")
    dispatch: dict[str, dict] = {}
    for name in notes.names():
        base = name.split("[")[0]
        table = tables.get(name) or tables.get(base)
        is_function = functions.get(name, {}).get("count") is not None
        if name in sites and is_function and set(sites[name]) <= {name}:
            # A class hook whose default is the function of that name
            # (chr_be_event), or nothing seen: a plain function.
            sites.pop(name)
        if not (looks_like_pointer(name) or table or name in sites):
            continue
        d: dict = {}
        if table:
            d["member"] = f"{base}[], a table of function pointers in this QEMU"
            d["implementations"] = list(table)
            d["probes"] = list(table)
        elif sites.get(name):
            seen = sites[name]
            d["member"] = "called through a pointer at " + "; ".join(where[name][:2])
            d["implementations"] = _implementations(member_of(name), seen)
            d["probes"] = _probes(seen, context.get(name, {}), hot_threshold)
            d["observed"] = True
        else:
            d["member"] = f"a function pointer ({member_of(name)})"
            d["implementations"] = [_glob(member_of(name))]
            d["probes"] = []
            d["fill_in"] = ("the functions that serve this pointer (glob patterns) and "
                            "a few cheap ones to plant as probes; guessed from the name")
        if is_function:
            d["also_function"] = True
        dispatch[name] = d
    present = {n: f for n, f in functions.items() if f.get("count") is not None}
    hot = sorted(n for n, f in present.items()
                 if f["count"] >= hot_threshold and n not in dispatch and not f.get("library"))
    library = sorted(n for n, f in present.items() if f.get("library"))
    missing = [n for n in facts.get("missing", []) if n not in dispatch]
    sequence = []
    for e in notes.edges:
        above, below = present.get(e.caller), present.get(e.callee)
        if (above and below and e.callee not in dispatch and e.callee not in hot
                and above["count"] and below["count"] and e.caller not in below.get("above", ())
                and above.get("first", 0) < below.get("first", 0)):
            sequence.append(f"{e.caller} -> {e.callee}")
    return dispatch, hot, library, missing, sequence


def _library_files(facts: dict, library: list[str]) -> list[str]:
    files = {os.path.basename(facts["functions"][n]["library"]) for n in library}
    return sorted({f.split(".so")[0] + ".so" for f in files})


def build(notes: ImportedNotes, facts: dict | None = None,
          hot_threshold: int = HOT_THRESHOLD) -> Result:
    """The documented-path file's text, and what the import decided."""
    dispatch, hot, library, missing, sequence = decide(notes, facts, hot_threshold)
    out = [f"# Documented path imported from {notes.source or 'notes'} by "
           f"'qemuinit path import'.",
           "# Add English beside each label (english = \"...\") and comments as you go;",
           "# see gdb_qemuinit/data/init-path.toml for what each table means."]
    if facts:
        q = facts.get("qemu", {})
        out.append(f"# Checked against QEMU {q.get('version', '?')}: "
                   + " ".join(q.get("argv", [])))
        out.append(f"# Hot: called {hot_threshold} times or more in that run "
                   f"({facts.get('outcome', {}).get('state', '?')}).")
    else:
        out.append("# Not checked against a QEMU binary: no hot functions, and "
                   "dispatch points only by their names.")
    if missing:
        out.append("# Not in this QEMU binary: " + ", ".join(missing))
    for r in notes.remarks:
        out.append(f"# Read from the notes: {r}")
    for c in notes.clusters:
        mine = [e for e in notes.edges if e.cluster == c.id]
        if not mine:
            continue
        out += ["", "[[cluster]]", f"id = {_q(c.id)}", f"label = {_q(c.label)}",
                'english = ""']
        if not c.boxed:
            out.append("boxed = false")
        if c.origin != "graph":
            out.append(f"origin = {_q(c.origin)}")
        plain = [e for e in mine if not e.label and " -> " not in e.caller + e.callee]
        chains = _chains(plain)
        if chains:
            out.append("chains = [")
            out += [f"    {_q(' -> '.join(ch))}," for ch in chains]
            out.append("]")
        for e in mine:
            if e in plain:
                continue
            out += ["  [[cluster.edge]]", f"  from = {_q(e.caller)}", f"  to = {_q(e.callee)}"]
            if e.label:
                out += [f"  label = {_q(e.label)}", '  english = ""']
            if e.step is not None:
                out.append(f"  step = {e.step}")
    if dispatch:
        out += ["", "# " + "-" * 64 + " dispatch"]
    fill_in = []
    for name, d in dispatch.items():
        out.append("")
        if d.get("fill_in"):
            fill_in.append(name)
            out.append("# FILL IN: which functions serve this pointer, and probes to plant.")
        elif d.get("observed"):
            out.append("# Seen in the counting run; other command lines may call others.")
        out.append(f"[dispatch.{_q(name)}]")
        for key in ("member", "implementations", "probes", "also_function", "fill_in"):
            if key in d:
                value = d[key]
                text = ("true" if value is True else _q(value) if isinstance(value, str)
                        else "[" + ", ".join(_q(v) for v in value) + "]")
                out.append(f"{key} = {text}")
    if sequence:
        out += ["", "[sequence]",
                "# The callee ran after the caller returned, never below it, in the",
                "# counting run: \"then\", not \"calls\".  Check, and remove if wrong.",
                "edges = [" + ", ".join(_q(s) for s in sequence) + "]"]
    if hot:
        out += ["", "[hot]", f"# Called {hot_threshold} times or more in the counting run.",
                "functions = [" + ", ".join(_q(h) for h in hot) + "]"]
    if library:
        out += ["", "[library]", "functions = [" + ", ".join(_q(n) for n in library) + "]",
                "symbols = [" + ", ".join(_q(s) for s in _library_files(facts or {}, library))
                + "]"]
    return Result("\n".join(out) + "\n", hot, missing, dispatch, fill_in, sequence,
                  library, notes.remarks)


def _chains(edges: list[NotesEdge]) -> list[list[str]]:
    """Edges joined into chains a -> b -> c, in the notes' order."""
    chains: list[list[str]] = []
    for e in edges:
        if chains and chains[-1][-1] == e.caller and e.callee not in chains[-1]:
            chains[-1].append(e.callee)
        else:
            chains.append([e.caller, e.callee])
    return chains


def summary(result: Result, output: str) -> str:
    lines = [f"qemuinit: wrote {output}"]
    if result.missing:
        lines.append("  not in this QEMU: " + ", ".join(result.missing))
    for name, d in result.dispatch.items():
        mark = " (FILL IN)" if d.get("fill_in") else ""
        lines.append(f"  dispatch {name}{mark}: {', '.join(d['implementations'][:6])}"
                     + (" ..." if len(d["implementations"]) > 6 else ""))
    if result.hot:
        lines.append("  hot: " + ", ".join(result.hot))
    if result.sequence:
        lines.append("  then, not calls: " + ", ".join(result.sequence))
    if result.library:
        lines.append("  library: " + ", ".join(result.library))
    for r in result.remarks:
        lines.append(f"  note: {r}")
    return "\n".join(lines)
