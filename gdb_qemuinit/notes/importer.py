"""The documented-path file (init-path.toml's format) made from a developer's
notes, read by `notes/reader`: `qemuinit path import NOTES`.

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

from . import HOT_THRESHOLD
from .reader import ImportedNotes, NotesCluster, NotesEdge



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


class CallSites(NamedTuple):
    """The counting run's calls through pointers, by the documented name called
    (a name may be called at several sites: they add up)."""
    targets: dict[str, dict[str, int]]      # name -> function called there -> times
    depth: dict[str, dict[str, int]]        # name -> function -> its on_path depth
    where: dict[str, list[str]]             # name -> "file:line: source text" of each site


def _call_sites(facts: dict) -> CallSites:
    """The counting run's sites summed by the documented name they call."""
    sites = CallSites({}, {}, {})
    for s in facts.get("sites", []):
        t = sites.targets.setdefault(s["callee"], {})
        for fn, n in s["targets"].items():
            t[fn] = t.get(fn, 0) + n
        c = sites.depth.setdefault(s["callee"], {})
        for fn, depth in s.get("depth", {}).items():
            c[fn] = max(c.get(fn, 0), depth)
        sites.where.setdefault(s["callee"], []).append(f"{s['at']}: {s['text']}")
    return sites


def _dispatch_point(name: str, table: list[str] | None, sites: CallSites,
                    hot_threshold: int) -> dict:
    """One [dispatch] entry: what the binary's table holds, else what the run
    saw called through the pointer, else a glob guessed from the name that
    the user is asked to fill in."""
    if table:
        base = name.split("[")[0]
        return {"member": f"{base}[], a table of function pointers in this QEMU",
                "implementations": list(table), "probes": list(table)}
    if sites.targets.get(name):
        seen = sites.targets[name]
        return {"member": "called through a pointer at " + "; ".join(sites.where[name][:2]),
                "implementations": _implementations(member_of(name), seen),
                "probes": _probes(seen, sites.depth.get(name, {}), hot_threshold),
                "observed": True}
    return {"member": f"a function pointer ({member_of(name)})",
            "implementations": [_glob(member_of(name))],
            "probes": [],
            "fill_in": ("the functions that serve this pointer (glob patterns) and "
                        "a few cheap ones to plant as probes; guessed from the name")}


def _dispatch_points(notes: ImportedNotes, facts: dict, hot_threshold: int) -> dict[str, dict]:
    """The notes' names that are function pointers: by their looks, by a table
    of that name in the binary, or by the run's calls through a pointer."""
    functions: dict[str, dict] = facts.get("functions", {})
    tables: dict[str, list[str]] = facts.get("tables", {})
    sites = _call_sites(facts)
    dispatch: dict[str, dict] = {}
    for name in notes.names():
        table = tables.get(name) or tables.get(name.split("[")[0])
        is_function = functions.get(name, {}).get("count") is not None
        if name in sites.targets and is_function and set(sites.targets[name]) <= {name}:
            # A class hook whose default is the function of that name
            # (chr_be_event), or nothing seen: a plain function.
            sites.targets.pop(name)
        if not (looks_like_pointer(name) or table or name in sites.targets):
            continue
        dispatch[name] = _dispatch_point(name, table, sites, hot_threshold)
        if is_function:
            dispatch[name]["also_function"] = True
    return dispatch


def _sequence_edges(notes: ImportedNotes, present: dict[str, dict],
                    dispatch: dict[str, dict], hot: list[str]) -> list[str]:
    """The edges whose callee ran after its caller returned, never below it:
    "then", not "calls".  Never a dispatch point's or a hot callee's: their
    first hit may well be another caller's."""
    sequence = []
    for e in notes.edges:
        above, below = present.get(e.caller), present.get(e.callee)
        if (above and below and e.callee not in dispatch and e.callee not in hot
                and above["count"] and below["count"] and e.caller not in below.get("above", ())
                and above.get("first", 0) < below.get("first", 0)):
            sequence.append(f"{e.caller} -> {e.callee}")
    return sequence


def decide(notes: ImportedNotes, facts: dict | None, hot_threshold: int = HOT_THRESHOLD):
    """From the notes and what gdb found: dispatch points, hot functions,
    library functions, missing names, sequence edges."""
    facts = facts or {}
    dispatch = _dispatch_points(notes, facts, hot_threshold)
    # the functions the binary has (a count, even 0), by name
    present = {n: f for n, f in facts.get("functions", {}).items()
               if f.get("count") is not None}
    hot = sorted(n for n, f in present.items()
                 if f["count"] >= hot_threshold and n not in dispatch and not f.get("library"))
    library = sorted(n for n, f in present.items() if f.get("library"))
    missing = [n for n in facts.get("missing", []) if n not in dispatch]
    sequence = _sequence_edges(notes, present, dispatch, hot)
    return dispatch, hot, library, missing, sequence


def _library_files(facts: dict, library: list[str]) -> list[str]:
    files = {os.path.basename(facts["functions"][n]["library"]) for n in library}
    return sorted({f.split(".so")[0] + ".so" for f in files})


def _head(notes: ImportedNotes, facts: dict | None, hot_threshold: int,
          missing: list[str]) -> list[str]:
    """The file's opening comments: where it came from, what QEMU checked it
    (or that none did), what that QEMU lacks, what reading the notes changed."""
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
    return out


def _cluster_table(c: NotesCluster, mine: list[NotesEdge]) -> list[str]:
    """One [[cluster]] with its edges `mine` (none: no table): unlabelled
    edges joined into chains, the others one [[cluster.edge]] each."""
    if not mine:
        return []
    out = ["", "[[cluster]]", f"id = {_q(c.id)}", f"label = {_q(c.label)}", 'english = ""']
    if not c.boxed:
        out.append("boxed = false")
    if c.origin != "graph":
        out.append(f"origin = {_q(c.origin)}")
    # a name with " -> " in it cannot be in a chain: chains are split there
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
    return out


def _toml_value(value) -> str:
    """A [dispatch] entry's value in TOML: true, a string or a list of strings."""
    if value is True:
        return "true"
    if isinstance(value, str):
        return _q(value)
    return "[" + ", ".join(_q(v) for v in value) + "]"


def _dispatch_tables(dispatch: dict[str, dict]) -> list[str]:
    """One [dispatch."NAME"] per dispatch point, said to be a guess to fill
    in or what one run saw."""
    out = ["", "# " + "-" * 64 + " dispatch"] if dispatch else []
    for name, d in dispatch.items():
        out.append("")
        if d.get("fill_in"):
            out.append("# FILL IN: which functions serve this pointer, and probes to plant.")
        elif d.get("observed"):
            out.append("# Seen in the counting run; other command lines may call others.")
        out.append(f"[dispatch.{_q(name)}]")
        out += [f"{key} = {_toml_value(d[key])}"
                for key in ("member", "implementations", "probes", "also_function", "fill_in")
                if key in d]
    return out


def _run_tables(facts: dict | None, hot_threshold: int, sequence: list[str],
                hot: list[str], library: list[str]) -> list[str]:
    """What only the counting run tells: [sequence], [hot] and [library]."""
    out = []
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
    return out


def build(notes: ImportedNotes, facts: dict | None = None,
          hot_threshold: int = HOT_THRESHOLD) -> Result:
    """The documented-path file's text, and what the import decided."""
    dispatch, hot, library, missing, sequence = decide(notes, facts, hot_threshold)
    out = _head(notes, facts, hot_threshold, missing)
    for c in notes.clusters:
        out += _cluster_table(c, [e for e in notes.edges if e.cluster == c.id])
    out += _dispatch_tables(dispatch)
    out += _run_tables(facts, hot_threshold, sequence, hot, library)
    fill_in = [name for name, d in dispatch.items() if d.get("fill_in")]
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
