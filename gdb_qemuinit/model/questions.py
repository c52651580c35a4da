"""The `where` questions (data/questions.toml): what to stop at and read,
and what an answer shows.  An input of planning (a question's stops and
reads) and of the analysis (`analysis/where` answers it from a trace).
"""

from __future__ import annotations

import re
from typing import NamedTuple

from ..datafile import data_file, read_toml
from ..errors import QemuinitError
from . import fields as answer_fields
from . import shapes
from .fields import Field, ShowLine
from .initpath import same_name
from . import phases
from .phases import Phase

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
    within: tuple[str, ...] = ()                # one of these on a hit's stack
    none: str = NEVER_RAN
    answer: str = ""                            # the answer's stop; "" for stops[0]
    fields: dict[str, dict[str, Field]] = {}    # stop -> {field: how it is made}
    final_fields: dict[str, Field] = {}
    show: list[ShowLine] = []
    hide: list[str] = []
    devices: bool = False       # its answers are about devices (see model/origins)
    until: str | None = None    # the phase its run goes to (model/phases); None: init

    def phase(self) -> Phase:
        return phases.load(self.until)

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
# model/fields.py, which says what is wrong in them.
_READ = shapes.OneOf((str, [str]))
QUESTION = shapes.Record({"stops": [str]}, {
    "summary": str, "key": str, "answer": str, "within": _READ, "none": str, "devices": bool,
    "until": str,
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
        until = q.get("until")
        if until is not None and until not in phases.trace_names():
            raise ValueError(f"until = {until!r} is no phase ({', '.join(phases.trace_names())})")
        return Question(name=name, summary=q.get("summary", ""), stops=stops,
                        reads=q.get("read", {}), final=q.get("final", {}), key=q.get("key"),
                        within=_names(q.get("within", ())),
                        none=q.get("none", NEVER_RAN),
                        answer=answer, fields=fields,
                        final_fields=_fields(q.get("final_fields", {})),
                        show=[answer_fields.parse_show(s) for s in q.get("show", [])],
                        hide=list(q.get("hide", [])), devices=bool(q.get("devices", False)),
                        until=until)
    except (AttributeError, TypeError, ValueError) as exc:   # a table where a list goes...
        raise QuestionError(f"{QUESTIONS_FILE}: question {name}: {exc}") from None


def _names(value: str | list[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


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
    return "\n".join(f"  {n:<{width}}  {q.summary}"
                     + (f" (runs --until {q.until})" if q.until else "") for n, q in qs.items())
