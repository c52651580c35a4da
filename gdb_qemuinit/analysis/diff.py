"""Compare two traces: two QEMU versions, or two command lines."""

from __future__ import annotations

from ..model.trace import Trace
from ..model.verdicts import edges_of


def _chains(trace: Trace) -> dict[str, list[str]]:
    """For each function hit, the outermost-first chain of its first hit."""
    out: dict[str, list[str]] = {}
    for h in trace.hits:
        out.setdefault(h.function, h.stack()[::-1])
    return out


def diff(a: Trace, b: Trace) -> dict:
    ea = {(e.caller, e.callee): e for e in edges_of(a)}
    eb = {(e.caller, e.callee): e for e in edges_of(b)}
    edges = []
    for key in list(ea) + [k for k in eb if k not in ea]:
        in_a, in_b = ea.get(key), eb.get(key)
        sa = in_a.status if in_a else "undocumented"
        sb = in_b.status if in_b else "undocumented"
        va, vb = in_a.via if in_a else [], in_b.via if in_b else []
        if sa != sb or va != vb:
            edges.append({"from": key[0], "to": key[1],
                          "cluster": (in_a or eb[key]).cluster,
                          "a": sa, "b": sb, "via_a": va, "via_b": vb})
    ca, cb = _chains(a), _chains(b)
    chains = [{"function": fn, "a": ca[fn], "b": cb[fn]}
              for fn in ca if fn in cb and ca[fn] != cb[fn]]
    return {"a": {"version": a.qemu.get("version"), "argv": a.qemu.get("argv"),
                  "state": a.outcome.state},
            "b": {"version": b.qemu.get("version"), "argv": b.qemu.get("argv"),
                  "state": b.outcome.state},
            "edges": edges, "chains": chains,
            "only_a": [fn for fn in ca if fn not in cb],
            "only_b": [fn for fn in cb if fn not in ca]}
