"""Compare two traces: two QEMU versions, or two command lines."""

from __future__ import annotations

from ..model.trace import Trace


def _chains(trace: Trace) -> dict[str, list[str]]:
    """For each function hit, the outermost-first chain of its first hit."""
    out: dict[str, list[str]] = {}
    for h in trace.hits:
        out.setdefault(h.function, h.stack()[::-1])
    return out


def diff(a: Trace, b: Trace) -> dict:
    ea = {(e["from"], e["to"]): e for e in a.extra.get("edges", [])}
    eb = {(e["from"], e["to"]): e for e in b.extra.get("edges", [])}
    edges = []
    for key in list(ea) + [k for k in eb if k not in ea]:
        sa = ea.get(key, {}).get("status", "undocumented")
        sb = eb.get(key, {}).get("status", "undocumented")
        va, vb = ea.get(key, {}).get("via", []), eb.get(key, {}).get("via", [])
        if sa != sb or va != vb:
            edges.append({"from": key[0], "to": key[1],
                          "cluster": (ea.get(key) or eb[key])["cluster"],
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
