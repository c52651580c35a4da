"""Compare two traces: two QEMU versions, or two command lines.  What a
QEMU developer compares: the verdicts (a changed verdict, or the same one
reached through other frames), the chains of the user's objects (throwaway
ones apart), and the vhost-user negotiation per chardev (requests added,
removed or renamed by number, replies that differ, feature bits)."""

from __future__ import annotations

import difflib

from ..model.negotiation import FEATURE_SETS, Message, Negotiated, Payload, vhost_user_of
from ..model.records import ABSENT
from ..model.throwaway import throwaway_functions, throwaway_key
from ..model.trace import Trace
from ..model.tracediff import (UNDOCUMENTED, ChainChange, ChardevDiff, EdgeChange, RunFacts,
                               Throwaway, TraceDiff)
from ..model.verdicts import edges_of


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
    """The diff as JSON (what `qemuinit diff --json` prints)."""
    return compare(a, b).to_json()


def compare(a: Trace, b: Trace) -> TraceDiff:
    ea = {(e.caller, e.callee): e for e in edges_of(a)}
    eb = {(e.caller, e.callee): e for e in edges_of(b)}
    edges = []
    for key in list(ea) + [k for k in eb if k not in ea]:
        in_a, in_b = ea.get(key), eb.get(key)
        sa = in_a.status if in_a else UNDOCUMENTED
        sb = in_b.status if in_b else UNDOCUMENTED
        va, vb = in_a.via if in_a else [], in_b.via if in_b else []
        if sa != sb or va != vb:
            edges.append(EdgeChange(key[0], key[1], (in_a or eb[key]).cluster,
                                    a=sa, b=sb, via_a=va, via_b=vb))
    (ca, ta), (cb, tb) = _chains(a), _chains(b)
    return TraceDiff(a=_facts(a), b=_facts(b), edges=edges,
                     chains=[ChainChange(fn, ca[fn], cb[fn])
                             for fn in ca if fn in cb and ca[fn] != cb[fn]],
                     only_a=[fn for fn in ca if fn not in cb],
                     only_b=[fn for fn in cb if fn not in ca],
                     throwaway=Throwaway(sorted(ta), sorted(tb)),
                     negotiation=negotiation(a, b))


def _facts(t: Trace) -> RunFacts:
    return RunFacts(t.qemu.get("version"), t.qemu.get("argv"), t.outcome.state)


def negotiation(a: Trace, b: Trace) -> list[ChardevDiff] | None:
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
        entry = ChardevDiff(ca, cb, *_requests(ma, mb), features=_features(fa, fb))
        if entry.differs():
            out.append(entry)
    return out


def _by_chardev(trace: Trace) -> dict[str | None, tuple[list[Message], Negotiated]]:
    """chardev -> (the messages QEMU put on the wire, in order; what was
    negotiated)."""
    vu = vhost_user_of(trace)
    out: dict[str | None, tuple[list[Message], Negotiated]] = {}
    if vu is None:
        return out
    for rnd in vu.rounds:
        out.setdefault(rnd.chardev, ([], Negotiated()))[0].extend(rnd.on_wire())
    for c in vu.chardevs:
        if c.chardev in out:
            out[c.chardev] = (sorted(out[c.chardev][0], key=lambda m: m.seq), c.negotiated)
    return out


def _name(m: Message) -> str:
    return f"{m.name} ({m.request})"


def _requests(ma: list[Message],
              mb: list[Message]) -> tuple[list[str], list[str], list[str], list[str]]:
    """Requests only B sent, only A sent, renamed, and replies that differ."""
    added: list[str] = []
    removed: list[str] = []
    renamed: list[str] = []
    replies: list[str] = []
    matcher = difflib.SequenceMatcher(a=[m.request for m in ma],
                                      b=[m.request for m in mb], autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op in ("delete", "replace"):
            removed += [f"#{i + 1} {_name(ma[i])}" for i in range(i1, i2)]
        if op in ("insert", "replace"):
            added += [f"#{j + 1} {_name(mb[j])}" for j in range(j1, j2)]
        if op != "equal":
            continue
        for i, j in zip(range(i1, i2), range(j1, j2)):
            x, y = ma[i], mb[j]
            if x.name != y.name:
                renamed.append(f"request {x.request}: {x.name} -> {y.name}")
            rx, ry = _reply(x), _reply(y)
            if rx != ry:
                replies.append(f"#{j + 1} {y.name}: A {rx}, B {ry}")
    return added, removed, list(dict.fromkeys(renamed)), replies


def _reply(m: Message) -> str:
    r = m.reply
    if not r:
        return "no reply"
    p = r.payload
    if p and p.hex:
        return p.hex
    if p and p.value is not ABSENT:
        return str(p.value)
    if r.ack is not None and r.ack is not ABSENT:
        return f"ack {r.ack}"
    return f"returned {r.ret}"


def _bits(value: Payload | None) -> dict[int, str]:
    """Bit number -> name of a decoded feature set (names in bit order)."""
    n = value.number() if value else None
    if value is None or n is None:
        return {}
    numbers = [b for b in range(64) if n >> b & 1]
    return dict(zip(numbers, value.bits or []))


def _features(fa: Negotiated, fb: Negotiated) -> list[str]:
    out = []
    for key in FEATURE_SETS:
        pa, pb = fa.feature_set(key), fb.feature_set(key)
        ba, bb = _bits(pa), _bits(pb)
        only_a = [f"{ba[n]} ({n})" for n in ba if n not in bb]
        only_b = [f"{bb[n]} ({n})" for n in bb if n not in ba]
        renamed = [f"bit {n}: {ba[n]} -> {bb[n]}" for n in ba if n in bb and ba[n] != bb[n]]
        if only_a or only_b or renamed:
            out.append(f"{key}: {pa.hex if pa and pa.hex else '-'} -> "
                       f"{pb.hex if pb and pb.hex else '-'}"
                       + (f"; only A: {', '.join(only_a)}" if only_a else "")
                       + (f"; only B: {', '.join(only_b)}" if only_b else "")
                       + (f"; renamed: {', '.join(renamed)}" if renamed else ""))
    return out
