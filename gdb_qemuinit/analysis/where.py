"""`where` questions (data/questions.toml) and their answers, from a trace.

    {"schema": "qemuinit.where/1", "question", "outcome", "none",
     "answers": [{"function", "device", "id", "bdf", "config_size", "express",
                  "chain": [frames], "throwaway": note | null, ...}]}

A generic engine: what an answer holds (its keys, the fields each stop's
hit adds, rules, formats, what the final reads add) is the question's data;
`model/fields` makes the values, `render.where` the text; the questions
themselves are `model/questions`.
"""

from __future__ import annotations

from .summary import format_frame
from ..model import fields as answer_fields
from ..model import origins
from ..model.questions import Question, answer_layout
from ..model.throwaway import throwaway_functions, throwaway_key
from ..model.trace import Hit, Trace

SCHEMA = "qemuinit.where/1"


def throwaway_note(hit: Hit, functions: dict[str, str] | None = None) -> str | None:
    """Why the object of this hit is no object of the user's, if it is not."""
    functions = throwaway_functions() if functions is None else functions
    key = throwaway_key([f.function or "" for f in hit.frames], functions)
    return functions[key] if key else None


def throwaway_hits(trace: Trace) -> list[dict]:
    """The trace's hits on throwaway objects: [{"hit", "function", "under", "note"}]."""
    functions = throwaway_functions()
    out = []
    for h in trace.hits:
        key = throwaway_key([f.function or "" for f in h.frames], functions)
        if key:
            out.append({"hit": h.seq, "function": h.function,
                        "under": key.partition(" -> ")[0], "note": functions[key]})
    return out


# ---------------------------------------------------------------- answers
def _frames_json(hit: Hit) -> list[dict]:
    return [{"function": f.function, "file": f.file, "line": f.line}
            for f in reversed(hit.frames)]


def _hit_values(hit: Hit) -> dict:
    """What a format may name besides reads: the stop and who called it."""
    caller = hit.frames[1] if len(hit.frames) > 1 else hit.frames[0]
    return {"function": hit.function, "caller": format_frame(caller)}


def answers(q: Question, trace: Trace) -> list[dict]:
    """The question's answers in the trace: one per hit, or with a key one
    per object whose answer stop ran, each with every hit on it (steps)."""
    hits = [h for h in trace.hits if h.function in q.stops
            and (not q.within or any(f in h.stack() for f in q.within))]
    throwaway = throwaway_functions()
    blank = dict.fromkeys(answer_layout().keys)
    if not q.key:
        out = []
        for h in hits:
            ans = dict(blank, function=h.function, chain=_frames_json(h),
                       throwaway=throwaway_note(h, throwaway))
            _add_hit(q, ans, h)
            out.append(ans)
        return _users_first(q, out)
    by_key: dict[object, dict] = {}
    for h in hits:
        key = (h.reads or {}).get(q.key)
        if key is None:
            continue
        ans = by_key.setdefault(key, dict(blank, steps=[]))
        ans["steps"].append({"function": h.function, "at": format_frame(h.frames[0]),
                             "hit": h.seq})
        if h.function == q.answer_stop:
            ans.update(function=h.function, throwaway=throwaway_note(h, throwaway),
                       chain=_frames_json(h))
        _add_hit(q, ans, h)
    if q.final_fields:
        finals = trace.extra.get("final_reads", {})
        for key, ans in by_key.items():
            answer_fields.add_fields(ans, q.final_fields, finals.get(str(key)) or {})
    return _users_first(q, [a for a in by_key.values() if a["function"]])


def _add_hit(q: Question, ans: dict, h: Hit) -> None:
    """What the hit adds: its stop's fields, or without any every read."""
    if h.function in q.fields:
        answer_fields.add_fields(ans, q.fields[h.function], h.reads or {},
                                 own=_hit_values(h), stack=h.stack())
    else:
        ans.update(h.reads or {})


def _users_first(q: Question, answers: list[dict]) -> list[dict]:
    """The user's objects first, throwaway ones last (each in run order);
    of a question about devices, the command line's devices before the
    board's, each answer saying which (its origin)."""
    if q.devices:
        command_line = origins.command_line_functions()
        for a in answers:
            stack = [f["function"] for f in a.get("chain") or []]
            a["origin"] = None if a["throwaway"] else origins.origin(stack, command_line)
    rank: dict[object, int] = {origins.COMMAND_LINE: 0, origins.BOARD: 1}
    return sorted(answers, key=lambda a: (a["throwaway"] is not None,
                                          rank.get(a.get("origin"), 0)))


def result(q: Question, trace: Trace) -> dict:
    ans = answers(q, trace)
    return {"schema": SCHEMA, "question": q.name, "summary": q.summary,
            "qemu": trace.qemu,
            "outcome": {"state": trace.outcome.state, "detail": trace.outcome.detail},
            "none": None if ans else q.none, "answers": ans}
