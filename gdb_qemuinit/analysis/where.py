"""`where` questions (data/questions.toml) and their answers, from a trace.

    {"schema": "qemuinit.where/1", "question", "outcome", "none",
     "answers": [{"function", "device", "id", "bdf", "config_size", "express",
                  "chain": [frames], "throwaway": note | null, ...}]}

A generic engine: what an answer holds (its keys, the fields each stop's
hit adds, rules, formats, what the final reads add) is the question's data;
`fields` makes the values, `render.where` the text.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from ..datafile import data_file, read_toml
from ..errors import QemuinitError
from . import fields as answer_fields
from .fields import Field, ShowLine
from .summary import format_frame
from ..model import origins, shapes
from ..model.initpath import same_name
from ..model.throwaway import throwaway_functions, throwaway_key
from ..model.trace import Hit, Trace

SCHEMA = "qemuinit.where/1"
QUESTIONS_FILE = data_file("questions.toml")
_C_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
NEVER_RAN = "the stop points never ran"


class QuestionError(QemuinitError, ValueError):
    """An unknown question, with the closest known names."""


class Question(NamedTuple):
    """A question of questions.toml (its comments say what each part means)."""
    name: str
    summary: str
    stops: list[str]
    reads: dict[str, dict[str, str]] = {}       # stop -> {name: expression}
    final: dict[str, str] = {}
    key: str | None = None
    within: str | None = None
    none: str = NEVER_RAN
    answer: str = ""                            # the answer's stop; "" for stops[0]
    fields: dict[str, dict[str, Field]] = {}    # stop -> {field: how it is made}
    final_fields: dict[str, Field] = {}
    show: list[ShowLine] = []
    hide: list[str] = []
    devices: bool = False       # its answers are about devices (see model/origins)

    @property
    def answer_stop(self) -> str:
        return self.answer or self.stops[0]


class AnswerLayout(NamedTuple):
    """What every answer has ([answers] in questions.toml)."""
    keys: list[str]
    head: list[str]
    show: list[ShowLine]


def load_questions() -> dict[str, Question]:
    doc = read_toml(QUESTIONS_FILE)
    return {name: question_from(name, q) for name, q in doc.get("question", {}).items()}


# A question's table (shapes.py); fields and show lines are parsed by
# analysis/fields.py, which says what is wrong in them.
_READ = shapes.OneOf((str, [str]))
QUESTION = shapes.Record({"stops": [str]}, {
    "summary": str, "key": str, "answer": str, "within": str, "none": str, "devices": bool,
    "read": shapes.Map(shapes.Map(_READ)), "final": shapes.Map(str),
    "fields": shapes.Map(shapes.Map(shapes.ANY)), "final_fields": shapes.Map(shapes.ANY),
    "show": [shapes.ANY], "hide": [str]})


def question_from(name: str, q: dict) -> Question:
    """A question from its table in questions.toml; QuestionError says what
    in it is wrong."""
    try:
        if not isinstance(q, dict) or not isinstance(q.get("stops"), list):
            raise ValueError("stops = [FUNCTION, ...] is missing")
        shapes.check(q, QUESTION, "the question")
        stops = list(q["stops"])
        answer = q.get("answer", "")
        if answer and answer not in stops:
            raise ValueError(f"answer = {answer!r} is none of its stops")
        fields = {stop: _fields(specs) for stop, specs in q.get("fields", {}).items()}
        strays = set(fields) - set(stops)
        if strays:
            raise ValueError(f"fields for {', '.join(sorted(strays))}, none of its stops")
        return Question(name=name, summary=q.get("summary", ""), stops=stops,
                        reads=q.get("read", {}), final=q.get("final", {}), key=q.get("key"),
                        within=q.get("within"),
                        none=q.get("none", NEVER_RAN),
                        answer=answer, fields=fields,
                        final_fields=_fields(q.get("final_fields", {})),
                        show=[answer_fields.parse_show(s) for s in q.get("show", [])],
                        hide=list(q.get("hide", [])), devices=bool(q.get("devices", False)))
    except (AttributeError, TypeError, ValueError) as exc:   # a table where a list goes...
        raise QuestionError(f"{QUESTIONS_FILE}: question {name}: {exc}") from None


def _fields(specs: dict) -> dict[str, Field]:
    out = {}
    for field, spec in specs.items():
        try:
            out[field] = answer_fields.parse_field(spec)
        except ValueError as exc:
            raise ValueError(f"field {field}: {exc}") from None
    return out


def answer_layout() -> AnswerLayout:
    """The keys, head and first lines of every answer ([answers])."""
    doc = read_toml(QUESTIONS_FILE).get("answers", {})
    try:
        return AnswerLayout(keys=list(doc.get("keys", ["function", "chain", "throwaway"])),
                            head=list(doc.get("head", [])),
                            show=[answer_fields.parse_show(s) for s in doc.get("show", [])])
    except ValueError as exc:
        raise QuestionError(f"{QUESTIONS_FILE}: [answers]: {exc}") from None


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


def resolve(name: str) -> Question:
    """A question by name, or any C function name as a one-stop question."""
    questions = load_questions()
    if name in questions:
        return questions[name]
    alike = next((q for n, q in questions.items() if same_name(n, name)), None)
    if alike is not None:
        return alike
    if _C_NAME.match(name):
        return Question(name=name, summary=f"where {name} runs", stops=[name],
                        none=f"{name} never ran during init")
    import difflib
    close = difflib.get_close_matches(name, list(questions), n=3, cutoff=0.4)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise QuestionError(f"unknown question {name!r}{hint} (qinit where --list "
                        f"shows them; a function name works too)")


def device_questions() -> list[str]:
    return [n for n, q in load_questions().items() if q.devices]


def check_device(q: Question, device: str | None) -> None:
    """--device TYPE|ID goes with a question about devices."""
    if device is not None and not q.devices:
        raise QuestionError(f"--device works with the questions about devices "
                            f"({', '.join(device_questions())}), not with {q.name}")


def listing() -> str:
    qs = load_questions()
    width = max(len(n) for n in qs)
    return "\n".join(f"  {n:<{width}}  {q.summary}" for n, q in qs.items())


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
            and (not q.within or q.within in h.stack())]
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
