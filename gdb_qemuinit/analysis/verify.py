"""Documented vs observed: a verdict for every documented edge.

A hit proves an edge only through its stack: caller above callee, with the
frames between them listed as `via`.  The verdicts are in `verdicts`.
"""

from __future__ import annotations

import fnmatch
from typing import Any

from ..model.initpath import Dispatch, Edge, InitPath, facts_match
from ..qemu.cmdline import QemuCommandLine
from .summary import chain_text
from ..model.trace import REACHED, Hit, Trace
from ..model.verdicts import (ABSENT, DISPATCH, NOT_EXERCISED, NOT_REACHED, OBSERVED, STATUSES,
                              UNKNOWN, Verdict)

# _why_unseen's answer for a run that ended before init took the path.
_NOT_REACHED = "not reached"

__all__ = ["STATUSES", "Verdict", "Verifier", "add_verdicts", "verify"]


class _Match:
    __slots__ = ("hit", "stack", "inner", "outer", "score", "first")

    def __init__(self, hit: Hit, stack: list[str], inner: int, outer: int, score: int):
        self.hit = hit
        self.stack = stack      # the hit's stack, innermost first
        self.inner = inner      # index of the callee-side frame
        self.outer = outer      # index of the caller-side frame
        self.score = score
        self.first = 0          # earliest seq among all matches of the edge


def _where(hit: Hit, i: int) -> str | None:
    f = hit.frames[i]
    return f"{f.file}:{f.line}" if f.file and f.line else None


class Verifier:
    def __init__(self, path: InitPath, trace: Trace, command_line: QemuCommandLine | None):
        self.path = path
        self.trace = trace
        self.documented = set(path.nodes())
        self.missing = set(trace.missing_symbols)
        # Each hit's stack once, innermost first, and where each name stands
        # in them: an edge looks only at the stacks that hold its callee.
        self.stacks = [(h, h.stack()) for h in trace.hits]
        self.positions: dict[str, list[tuple[int, int]]] = {}
        for n, (_, stack) in enumerate(self.stacks):
            for i, name in enumerate(stack):
                self.positions.setdefault(name, []).append((n, i))
        self.seen = set(self.positions)
        self._served_cache: dict[str, list[str]] = {}
        # How much of the documented path stands above each frame: prefer
        # the stack that reached the caller the documented way.
        self.context = [self._documented_above(stack) for _, stack in self.stacks]
        self.facts = command_line_facts(command_line)

    # -- matching -----------------------------------------------------------
    def _documented_above(self, stack: list[str]) -> list[int]:
        above, count = [0] * len(stack), 0
        for j in range(len(stack) - 1, -1, -1):
            above[j] = count
            count += stack[j] in self.documented
        return above

    def _best(self, matches: list[_Match]) -> _Match | None:
        # Closest pair first (fewest frames between), then most documented
        # context, then the earliest hit.
        best = min(matches, key=lambda m: (m.outer - m.inner, -m.score, m.hit.seq),
                   default=None)
        if best:
            best.first = min(m.hit.seq for m in matches)
        return best

    def _served(self, d: Dispatch) -> list[str]:
        """The functions seen that serve dispatch point `d` (asked per edge)."""
        if d.name not in self._served_cache:
            self._served_cache[d.name] = [n for n in self.seen if d.served_by(n)]
        return self._served_cache[d.name]

    def _pairs(self, callees, is_caller, adjacent: bool = False) -> list[_Match]:
        out = []
        where = sorted(p for name in callees for p in self.positions.get(name, ()))
        for n, i in where:      # in hit order, innermost first, as in the stacks
            hit, stack = self.stacks[n]
            span = stack[i + 1:i + 2] if adjacent else stack[i + 1:]
            for k, outer_name in enumerate(span):
                if is_caller(outer_name):
                    j = i + 1 + k
                    out.append(_Match(hit, stack, i, j, self.context[n][j]))
                    break
        return out

    # -- one edge -----------------------------------------------------------
    def verdict(self, e: Edge) -> Verdict:
        v = Verdict(e.caller, e.callee, e.cluster, NOT_EXERCISED, label=e.label,
                    english=e.english, step=e.step)
        if e.sequence:
            return self._sequence(e, v)
        d_callee = self.path.dispatch.get(e.callee)
        d_caller = self.path.dispatch.get(e.caller)
        if d_callee:
            pairs = self._pairs(self._served(d_callee), lambda n: n == e.caller,
                                adjacent=not d_callee.through)
            pairs = [p for p in pairs if all(n in d_callee.through
                                             for n in p.stack[p.inner + 1:p.outer])]
            m = self._best(pairs)
            if m:
                served = m.stack[m.inner]
                self._fill(v, m, DISPATCH)
                v.served_by = served
                v.note = f"{e.callee} is {d_callee.member}; here it was {served}()"
                # several netdevs of different types: each served it once
                others = [n for n in dict.fromkeys(p.stack[p.inner] for p in pairs)
                          if n != served]
                if others:
                    v.note += f", also {', '.join(n + '()' for n in others)}"
                return v
        elif d_caller:
            callers = set(self.path.callers_of(e.caller))
            if d_caller.served_by(e.callee):
                m = self._best(self._pairs((e.callee,), callers.__contains__))
                note = f"{e.caller} ({d_caller.member}) resolved to {e.callee}()"
            else:
                m = self._best(self._pairs((e.callee,), d_caller.served_by))
                note = (f"{e.caller} ({d_caller.member}) was "
                        f"{m.stack[m.outer]}() here" if m else "")
            if m:
                self._fill(v, m, OBSERVED)
                v.note = note
                return v
        else:
            m = self._best(self._pairs((e.callee,), lambda n: n == e.caller))
            if m:
                self._fill(v, m, OBSERVED)
                others = self._other_callers(e, set(m.stack[m.inner + 1:m.outer]))
                if others:
                    v.note = f"{e.callee} was also reached from {', '.join(others)}"
                return v
        return self._unseen(e, v)

    def _fill(self, v: Verdict, m: _Match, status: str) -> None:
        v.status = status
        v.via = m.stack[m.inner + 1:m.outer][::-1]      # outer to inner
        v.hit = m.hit.seq
        v.first_hit = m.first
        v.caller_at = _where(m.hit, m.outer)
        v.callee_at = _where(m.hit, m.inner)

    def _other_callers(self, e: Edge, between: set[str]) -> list[str]:
        """Callers of the callee that are not the documented one, over the
        hits of the callee itself: the first frame that is not one of those
        `between` them on the documented way (QOM's object_init_with_type
        calls every instance_init, whoever created the object)."""
        others: dict[str, None] = {}
        for hit, stack in self.stacks:
            if hit.function == e.callee and e.caller not in stack:
                caller = next((n for n in stack[1:] if n not in between), None)
                if caller:
                    others.setdefault(caller)
        return list(others)

    def _sequence(self, e: Edge, v: Verdict) -> Verdict:
        first = next((h for h, stack in self.stacks if e.caller in stack), None)
        later = first and next((h for h, stack in self.stacks if h.seq > first.seq
                                and e.callee in stack and e.caller not in stack), None)
        if first is not None and later:
            v.status = OBSERVED
            v.hit = later.seq
            v.note = (f"sequence, not a call: {e.callee} ran (hit #{later.seq}) after "
                      f"{e.caller} returned (hit #{first.seq})")
            return v
        v.note = f"sequence, not a call: {e.callee} runs after {e.caller} returns"
        return self._unseen(e, v, keep_note=True)

    def _unseen(self, e: Edge, v: Verdict, keep_note: bool = False) -> Verdict:
        gone = [n for n in (e.caller, e.callee)
                if n not in self.path.dispatch and n in self.missing and n not in self.seen]
        if gone:
            if not self.trace.debug_info:
                v.status = UNKNOWN
                v.note = (f"no symbol for {', '.join(gone)}: this binary has no debug "
                          f"info (static functions are invisible)")
                return v
            v.status = ABSENT
            hints = self.trace.extra.get("symbols_near", {})
            parts = []
            for n in gone:
                near = hints.get(n) or []
                parts.append(f"{n} is not in this binary"
                             + (f" (closest: {', '.join(near)})" if near else ""))
            v.note = "; ".join(parts)
            return v
        if not self.trace.debug_info:
            # Static and inlined functions leave no named frame: unseen proves nothing.
            v.status = UNKNOWN
            v.note = ("not seen, but this binary has no debug info: frames of static "
                      "and inlined functions are invisible, so qemuinit cannot tell "
                      "a path not taken from a hidden one")
            return v
        v.status = NOT_EXERCISED
        text = self._explain_dispatch(e) or self._why_unseen(e)
        if text is _NOT_REACHED:
            v.status = NOT_REACHED
            text = (f"the run ended ({self.trace.outcome.state}) after "
                    f"{self.trace.outcome.last_stage or 'no documented point'}, "
                    f"before QEMU took this path")
        v.note = f"{v.note}; {text}" if keep_note and v.note else text
        return v

    def _why_unseen(self, e: Edge) -> str:
        """A note true for this command line and run: a documented reason
        ([[unseen]]), the options it lacks ([exercise]), how far the run
        got, or what was seen."""
        reason = self._documented_reason(e)
        if reason:
            return reason
        entry = self.path.exercise_entry(e)
        if entry and self.facts is not None and not facts_match(entry["lacks"], self.facts):
            return entry["note"]
        if self.trace.outcome.state not in REACHED:
            return _NOT_REACHED
        if e.caller in self.seen and not self.path.is_dispatch(e.caller):
            text = f"{e.caller} ran, but {e.callee} was never seen below it"
            if e.callee in self.path.hot:
                text += (f" ({e.callee} runs hundreds of times and has no breakpoint: "
                         f"it shows only under a deeper documented point)")
            return text
        return "not taken in this run (no documented reason for this command line)"

    def _documented_reason(self, e: Edge) -> str:
        for u in self.path.unseen_entries(e):
            if u["facts"] or u["lacks"]:
                if self.facts is None or not all(facts_match((f,), self.facts)
                                                 for f in u["facts"]):
                    continue
                if facts_match(u["lacks"], self.facts):
                    continue
            if not all(f in self.seen for f in u["seen"]):
                continue
            found = self._chain(u["chain"]) if u["chain"] else (None, None)
            if u["chain"] and found[0] is None:
                continue
            return u["note"].format(function=found[0], hit=found[1])
        return ""

    def _chain(self, names: tuple[str, ...]) -> tuple[str | None, int | None]:
        """The first backtrace holding `names` (globs) in this order,
        outermost first: its innermost match and the hit's seq."""
        for hit, stack in self.stacks:
            i = len(stack) - 1
            for name in names[:-1]:
                while i >= 0 and not fnmatch.fnmatchcase(stack[i], name):
                    i -= 1
                i -= 1
            innermost = next((f for f in stack[:i + 1] if fnmatch.fnmatchcase(f, names[-1])),
                             None) if i >= 0 else None
            if innermost:
                return innermost, hit.seq
        return None, None

    def _explain_dispatch(self, e: Edge) -> str:
        """A dispatch point served from somewhere the document does not say."""
        d = self.path.dispatch.get(e.callee)
        if not d:
            return ""
        # the first hit's innermost such frame (with a caller above it)
        for n, i in sorted(p for name in self._served(d) if name in d.probes
                           for p in self.positions[name]):
            stack = self.stacks[n][1]
            if i < len(stack) - 1:
                return (f"{e.callee} was served by {stack[i]}() through "
                        f"{chain_text(stack[i:], 8)}, not from {e.caller}")
        return ""

    # -- ordered steps -------------------------------------------------------
    def steps(self, verdicts: list[Verdict]) -> list[dict]:
        """For each caller with numbered steps: documented vs observed order."""
        by_caller: dict[str, list[Verdict]] = {}
        for v in verdicts:
            if v.step is not None:
                by_caller.setdefault(v.caller, []).append(v)
        out = []
        for caller, vs in by_caller.items():
            documented = [v.callee for v in sorted(vs, key=lambda v: v.step or 0)]
            seen = sorted((v for v in vs if v.first_hit is not None),
                          key=lambda v: v.first_hit or 0)
            observed = [v.callee for v in seen]
            in_order = observed == [c for c in documented if c in observed]
            out.append({"caller": caller, "documented": documented,
                        "observed": observed, "in_order": in_order})
            if not in_order:
                for v in vs:
                    v.note = (v.note + "; " if v.note else "") + (
                        f"step {v.step} is not where the document puts it: observed "
                        f"order {', '.join(observed)}")
        return out


def command_line_facts(command_line: QemuCommandLine | None) -> frozenset[str] | None:
    """The facts of the command line QEMU ran with (None: unknown, or a
    -readconfig file may add anything)."""
    if command_line is None or command_line.readconfig:
        return None
    return command_line.facts()


# verify's command_line when the caller has none parsed: parse the trace's
# (None is a parsed answer: the command line is unknown)
FROM_TRACE: Any = object()


def verify(path: InitPath, trace: Trace,
           command_line: QemuCommandLine | None = FROM_TRACE) -> tuple[list[Verdict], list[dict]]:
    """Every documented edge's verdict, and the numbered steps' order;
    `command_line`: QEMU's, parsed once by the caller (None: unknown)."""
    if command_line is FROM_TRACE:
        command_line = QemuCommandLine.of_recorded(trace.qemu.get("argv"))
    vf = Verifier(path, trace, command_line)
    verdicts = [vf.verdict(e) for e in path.edges]
    return verdicts, vf.steps(verdicts)


def add_verdicts(path: InitPath, trace: Trace,
                 command_line: QemuCommandLine | None = FROM_TRACE) -> Trace:
    """Add the "edges" and "steps" sections to the trace (kept in JSON);
    `command_line` as verify's."""
    verdicts, steps = verify(path, trace, command_line)
    trace.extra["edges"] = [v.to_json() for v in verdicts]
    trace.extra["steps"] = steps
    return trace
