"""Compare two traces: two QEMU versions, or two command lines.  What a
QEMU developer compares: the verdicts (a changed verdict, or the same one
reached through other frames), the chains of the user's objects (throwaway
ones apart), and the vhost-user negotiation per chardev (requests added,
removed or renamed by number, replies that differ, feature bits)."""

from __future__ import annotations

import difflib

from ..model.throwaway import throwaway_functions, throwaway_key
from ..model.trace import Trace
from ..model.verdicts import edges_of

FEATURES = ("backend_features", "backend_protocol_features", "acked_protocol_features",
            "acked_features")


def _chains(trace: Trace) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """For each function hit, the outermost-first chain of its first hit on
    an object of the user's, and apart, of its first hit on a throwaway one."""
    keys = throwaway_functions()
    own: dict[str, list[str]] = {}
    throwaway: dict[str, list[str]] = {}
    for h in trace.hits:
        stack = h.stack()
        into = throwaway if throwaway_key(stack, keys) else own
        into.setdefault(h.function, stack[::-1])
    return own, throwaway


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
    (ca, ta), (cb, tb) = _chains(a), _chains(b)
    chains = [{"function": fn, "a": ca[fn], "b": cb[fn]}
              for fn in ca if fn in cb and ca[fn] != cb[fn]]
    return {"a": {"version": a.qemu.get("version"), "argv": a.qemu.get("argv"),
                  "state": a.outcome.state},
            "b": {"version": b.qemu.get("version"), "argv": b.qemu.get("argv"),
                  "state": b.outcome.state},
            "edges": edges, "chains": chains,
            "only_a": [fn for fn in ca if fn not in cb],
            "only_b": [fn for fn in cb if fn not in ca],
            "throwaway": {"a": sorted(ta), "b": sorted(tb)},
            "negotiation": negotiation(a, b)}


def negotiation(a: Trace, b: Trace) -> list[dict] | None:
    """Per chardev (paired by id, else in order), what QEMU sent and the
    backend answered, A against B: requests by number (renamed when a
    number's name changed), replies that differ, feature bits.  The chardevs
    that differ; None when neither run negotiated."""
    ra, rb = _by_chardev(a), _by_chardev(b)
    if not ra and not rb:
        return None
    pairs = [(c, c) for c in ra if c in rb]
    rest_a, rest_b = [c for c in ra if c not in rb], [c for c in rb if c not in ra]
    pairs += list(zip(rest_a, rest_b))
    out = []
    for ca, cb in pairs:
        (ma, fa), (mb, fb) = ra[ca], rb[cb]
        entry = {"chardev_a": ca, "chardev_b": cb, **_requests(ma, mb),
                 "features": _features(fa, fb)}
        if any(entry[k] for k in ("added", "removed", "renamed", "replies", "features")):
            out.append(entry)
    return out


def _by_chardev(trace: Trace) -> dict:
    """chardev -> (the messages QEMU put on the wire, in order; what was
    negotiated)."""
    vu = trace.extra.get("vhost_user") or {}
    out: dict = {}
    for rnd in vu.get("rounds", []):
        msgs = out.setdefault(rnd.get("chardev"), ([], {}))[0]
        msgs += [m for m in rnd.get("messages", []) if m.get("sent", True)]
    for c in vu.get("chardevs", []):
        if c.get("chardev") in out:
            out[c["chardev"]] = (sorted(out[c["chardev"]][0], key=lambda m: m.get("seq", 0)),
                                 c.get("negotiated") or {})
    return out


def _name(m: dict) -> str:
    return f"{m.get('name')} ({m.get('request')})"


def _requests(ma: list[dict], mb: list[dict]) -> dict:
    added, removed, renamed, replies = [], [], [], []
    matcher = difflib.SequenceMatcher(a=[m.get("request") for m in ma],
                                      b=[m.get("request") for m in mb], autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op in ("delete", "replace"):
            removed += [f"#{i + 1} {_name(ma[i])}" for i in range(i1, i2)]
        if op in ("insert", "replace"):
            added += [f"#{j + 1} {_name(mb[j])}" for j in range(j1, j2)]
        if op != "equal":
            continue
        for i, j in zip(range(i1, i2), range(j1, j2)):
            x, y = ma[i], mb[j]
            if x.get("name") != y.get("name"):
                renamed.append(f"request {x.get('request')}: {x.get('name')} -> {y.get('name')}")
            rx, ry = _reply(x), _reply(y)
            if rx != ry:
                replies.append(f"#{j + 1} {y.get('name')}: A {rx}, B {ry}")
    return {"added": added, "removed": removed,
            "renamed": list(dict.fromkeys(renamed)), "replies": replies}


def _reply(m: dict) -> str:
    r = m.get("reply")
    if r is None:
        return "no reply"
    p = r.get("payload")
    if isinstance(p, dict) and "hex" in p:
        return p["hex"]
    if isinstance(p, dict) and "value" in p:
        return str(p["value"])
    if r.get("ack") is not None:
        return f"ack {r['ack']}"
    return f"returned {r.get('ret')}"


def _bits(value: dict | None) -> dict[int, str]:
    """Bit number -> name of a decoded feature set (names in bit order)."""
    if not value or "hex" not in value:
        return {}
    n = int(value["hex"], 16)
    numbers = [b for b in range(64) if n >> b & 1]
    return dict(zip(numbers, value.get("bits", [])))


def _features(fa: dict, fb: dict) -> list[str]:
    out = []
    for key in FEATURES:
        ba, bb = _bits(fa.get(key)), _bits(fb.get(key))
        only_a = [f"{ba[n]} ({n})" for n in ba if n not in bb]
        only_b = [f"{bb[n]} ({n})" for n in bb if n not in ba]
        renamed = [f"bit {n}: {ba[n]} -> {bb[n]}" for n in ba if n in bb and ba[n] != bb[n]]
        if only_a or only_b or renamed:
            out.append(f"{key}: {fa.get(key, {}).get('hex', '-')} -> "
                       f"{fb.get(key, {}).get('hex', '-')}"
                       + (f"; only A: {', '.join(only_a)}" if only_a else "")
                       + (f"; only B: {', '.join(only_b)}" if only_b else "")
                       + (f"; renamed: {', '.join(renamed)}" if renamed else ""))
    return out
