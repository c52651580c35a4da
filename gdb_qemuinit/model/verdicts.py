"""The verdict a documented edge gets, and its names: the one place they are
spelled.

  observed       seen in a recorded backtrace
  dispatch       the callee is a function pointer; `note` names what served it
  not-exercised  both ends exist, this command line never took the path
  not-reached    both ends exist, but the run ended (QEMU exited, crashed, hung)
                 before init got there
  absent         no such function in this binary (renamed or removed)
  unknown        no symbol, but the binary has no debug info to tell
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .trace import Trace

OBSERVED = "observed"
DISPATCH = "dispatch"
NOT_EXERCISED = "not-exercised"
NOT_REACHED = "not-reached"
ABSENT = "absent"
UNKNOWN = "unknown"
STATUSES = (OBSERVED, DISPATCH, NOT_EXERCISED, NOT_REACHED, ABSENT, UNKNOWN)
# Proven by a recorded stack: the edge's ends ran.
SEEN = (OBSERVED, DISPATCH)


class Verdict:
    """One documented edge's verdict, filled in by verify as the evidence is
    weighed; written to the trace's "edges" as JSON (`to_json`) and read
    back by the renderers as records (`from_json`, `edges_of`)."""

    __slots__ = ("caller", "callee", "cluster", "status", "via", "note", "label", "english",
                 "step", "hit", "caller_at", "callee_at", "served_by", "first_hit")

    def __init__(self, caller: str, callee: str, cluster: str, status: str,
                 label: str = "", english: str = "", step: int | None = None):
        self.caller = caller
        self.callee = callee
        self.cluster = cluster
        self.status = status
        self.via: list[str] = []
        self.note = ""
        self.label = label
        self.english = english
        self.step = step
        self.hit: int | None = None            # seq of the hit that proves it
        self.caller_at: str | None = None      # "file:line" of the call
        self.callee_at: str | None = None
        self.served_by: str | None = None      # for dispatch edges
        self.first_hit: int | None = None      # earliest hit that shows it (step order)

    def __repr__(self) -> str:
        return f"Verdict({self.caller} -> {self.callee}: {self.status})"

    def to_json(self) -> dict:
        """The edge as the trace's JSON has it: "from" and "to" for caller
        and callee, every other field under its own name."""
        d = {k: getattr(self, k) for k in self.__slots__}
        d["from"] = d.pop("caller")
        d["to"] = d.pop("callee")
        d["via"] = list(self.via)
        return d

    @classmethod
    def from_json(cls, d: dict) -> Verdict:
        """The inverse of `to_json`: "from" and "to" back to caller and
        callee; keys it does not know are ignored."""
        v = cls(d["from"], d["to"], d["cluster"], d["status"])
        for k in cls.__slots__:
            if k not in ("caller", "callee", "cluster", "status", "via") and k in d:
                setattr(v, k, d[k])
        v.via = list(d.get("via") or [])
        return v


def edges_of(trace: Trace) -> list[Verdict]:
    """The trace's "edges" section as Verdict records (empty if it has none)."""
    return [Verdict.from_json(d) for d in trace.extra.get("edges", [])]
