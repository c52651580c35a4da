"""An answer's fields made from values read in QEMU, as questions.toml
describes them: templates, rules and field specifications.  Pure: plain
dicts in, plain values out; `where` applies them to hits, `render.where`
fills the text's lines with them.

A template is text with `{NAME}` for a value (`{NAME:02x}`: a Python format
spec; `{NAME >> 3}`, `{NAME & 7}`: an integer shifted or masked first) and
`[...]` for an optional part, left out unless every value it names is set.
A value is set unless it is null (None) or empty.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import NamedTuple

from . import shapes

_OPTIONAL = re.compile(r"\[([^\[\]]*)\]")
_VALUE = re.compile(r"\{(\w+)(?:\s*(>>|&)\s*(\d+))?(?::([^{}]*))?\}")
_CONDITIONS = ("if_true", "if_false", "if_null", "if_on_stack")
_FIELD_KEYS = {"read", "as", "format", "needs", "first"}
_SHOW_KEYS = {"text", "if_set", "words"}
UNKNOWN = "?"               # what a format shows for a value not read


def is_set(value: object) -> bool:
    return value is not None and value != ""


def template_names(template: str) -> list[str]:
    """The names a template uses, in order."""
    return [m.group(1) for m in _VALUE.finditer(template)]


def word(value: object, words: Mapping[str, str] | None) -> object:
    """The word `words` gives a value (its keys: true, false, null or the
    value as text), else the value."""
    if not words:
        return value
    text = ("null" if value is None else str(value).lower() if isinstance(value, bool)
            else str(value))
    return words.get(text, value)


def fill(template: str, values: Mapping[str, object],
         words: Mapping[str, Mapping[str, str]] | None = None,
         unknown: str | None = None) -> str | None:
    """The template with its values, or None when a value outside `[...]`
    is not set and there is no `unknown` text to show instead."""
    pieces = []
    for i, part in enumerate(_OPTIONAL.split(template)):
        optional = i % 2 == 1
        text = _fill_part(part, values, words or {}, None if optional else unknown)
        if text is None and not optional:
            return None
        pieces.append(text or "")
    return "".join(pieces)


def _fill_part(part: str, values: Mapping[str, object],
               words: Mapping[str, Mapping[str, str]], unknown: str | None) -> str | None:
    missing = False

    def one(m: re.Match) -> str:
        nonlocal missing
        name, op, operand, spec = m.groups()
        text = _shown(word(values.get(name), words.get(name)), op, operand, spec)
        if text is None:
            missing = missing or unknown is None
            return unknown or ""
        return text

    text = _VALUE.sub(one, part)
    return None if missing else text


def _shown(value: object, op: str | None, operand: str | None, spec: str | None) -> str | None:
    if not is_set(value):
        return None
    try:
        if op:
            number = int(value)         # type: ignore[call-overload]
            value = number >> int(operand or 0) if op == ">>" else number & int(operand or 0)
        return format(value, spec or "")
    except (TypeError, ValueError):     # not a number, or a spec it does not take
        return None


# ---------------------------------------------------------------- rules
class Rule(NamedTuple):
    """Its text, when every condition it has holds."""
    text: str
    if_true: str | None = None          # this value is true (non-zero)
    if_false: str | None = None         # this value is false, zero or null
    if_null: str | None = None          # this value is null: not read, or the read failed
    if_on_stack: str | None = None      # this function is on the hit's stack

    def holds(self, values: Mapping[str, object], stack: Sequence[str]) -> bool:
        return ((self.if_true is None or bool(values.get(self.if_true)))
                and (self.if_false is None or not values.get(self.if_false))
                and (self.if_null is None or not is_set(values.get(self.if_null)))
                and (self.if_on_stack is None or self.if_on_stack in stack))


def first_rule(rules: Sequence[Rule], values: Mapping[str, object],
               stack: Sequence[str]) -> str | None:
    """The text of the first rule that holds, or None."""
    return next((r.text for r in rules if r.holds(values, stack)), None)


# ---------------------------------------------------------------- fields
class Field(NamedTuple):
    """How one field of an answer is made; exactly one of read, format, rules."""
    read: str | None = None             # a value, as it is
    as_bool: bool = False               # ... as true or false (null stays null)
    as_features: bool = False           # ... as virtio feature bits: "0x... (NAMES)"
    format: str | None = None           # a template; a value not set shows as "?"
    needs: tuple[str, ...] = ()         # ... but these must be set, else no field
    rules: tuple[Rule, ...] = ()        # the first rule that holds gives the text
    first: bool = False                 # once set, later hits leave it

    def value(self, values: Mapping[str, object], stack: Sequence[str]) -> object:
        """The field's value, None when it has none."""
        if self.rules:
            return first_rule(self.rules, values, stack)
        if self.format is not None:
            if not all(is_set(values.get(n)) for n in self.needs):
                return None
            return fill(self.format, values, unknown=UNKNOWN)
        value = values.get(self.read or "")
        if value is None:
            return None
        if self.as_features and isinstance(value, int):
            return feature_text(value)
        return bool(value) if self.as_bool else value


# The shapes of a field's table, a rule and a line to show (model/shapes.py).
_FIELD_TABLE = shapes.Record({}, {"read": str, "as": str, "format": str, "needs": [str],
                                  "first": bool})
_RULE = shapes.Record({"text": str}, {c: str for c in _CONDITIONS})
_SHOW = shapes.Record({"text": str}, {"if_set": str, "words": shapes.Map(shapes.Map(str))})


def parse_field(spec: object) -> Field:
    """A field as questions.toml writes it: a read's name, a table (read,
    as, format, needs, first), or an array of rule tables.  ValueError if it
    is none of these."""
    if isinstance(spec, str):
        return Field(read=spec)
    if isinstance(spec, list):
        return Field(rules=tuple(parse_rule(r) for r in spec))
    if not isinstance(spec, dict):
        raise ValueError(f"a field is a read's name, a table or rules, not {spec!r}")
    _refuse_unknown_keys(spec, _FIELD_KEYS, "", "a field takes")
    shapes.check(spec, _FIELD_TABLE, "a field")
    if ("read" in spec) == ("format" in spec):
        raise ValueError("a field has either read or format")
    as_ = spec.get("as")
    if as_ not in (None, "bool", "virtio_features"):
        raise ValueError(f"as = {as_!r}: \"bool\" or \"virtio_features\"")
    return Field(read=spec.get("read"), as_bool=as_ == "bool",
                 as_features=as_ == "virtio_features", format=spec.get("format"),
                 needs=tuple(spec.get("needs", ())), first=bool(spec.get("first")))


def feature_text(value: int) -> str:
    """Virtio feature bits as hex and their names (vhost-user.toml's
    [virtio_features]; "bit N" for a bit it does not name)."""
    from .spec import bits, load_spec
    value &= (1 << 64) - 1         # a read may come signed
    names = bits(value, load_spec().virtio_bits)
    return f"{value:#x}" + (f" ({', '.join(names)})" if names else "")


def parse_rule(spec: object) -> Rule:
    if not isinstance(spec, dict) or not isinstance(spec.get("text"), str):
        raise ValueError(f"a rule is a table with a text, not {spec!r}")
    unknown = set(spec) - set(_CONDITIONS) - {"text"}
    if unknown:
        raise ValueError(f"unknown key {', '.join(sorted(unknown))} in a rule "
                         f"(its conditions: {', '.join(_CONDITIONS)})")
    shapes.check(spec, _RULE, "a rule")
    return Rule(**spec)


def add_fields(answer: dict, fields: Mapping[str, Field], reads: Mapping[str, object],
               own: Mapping[str, object] | None = None, stack: Sequence[str] = ()) -> None:
    """Set the answer's fields, in order.  A name stands for the hit's own
    value (`own`: function, caller), else its read, else the answer's field
    so far.  A field with no value leaves the answer as it was."""
    values: dict[str, object] = dict(answer)
    values.update((k, v) for k, v in reads.items() if v is not None)
    values.update(own or {})
    for name, field in fields.items():
        if field.first and answer.get(name) is not None:
            continue
        value = field.value(values, stack)
        if value is not None:
            answer[name] = value
            if name not in reads or reads[name] is None:
                values[name] = value


# ---------------------------------------------------------------- text lines
class ShowLine(NamedTuple):
    """One line of an answer's text."""
    text: str                           # a template of the answer's fields
    if_set: str | None = None           # shown only when this field is set
    words: dict[str, dict[str, str]] = {}   # field -> {value: word}

    def names(self) -> list[str]:
        return template_names(self.text) + ([self.if_set] if self.if_set else [])

    def line(self, answer: Mapping[str, object]) -> str | None:
        if self.if_set and not is_set(answer.get(self.if_set)):
            return None
        return fill(self.text, answer, self.words)


def parse_show(spec: object) -> ShowLine:
    if not isinstance(spec, dict) or not isinstance(spec.get("text"), str):
        raise ValueError(f"a line to show is a table with a text, not {spec!r}")
    _refuse_unknown_keys(spec, _SHOW_KEYS, " in a line to show", "it takes")
    shapes.check(spec, _SHOW, "a line to show")
    return ShowLine(**spec)


def _refuse_unknown_keys(spec: dict, known: frozenset[str] | set[str], where: str,
                         takes: str) -> None:
    """A key the table does not know is a typo: say which, and the keys it takes."""
    unknown = set(spec) - known
    if unknown:
        raise ValueError(f"unknown key {', '.join(sorted(unknown))}{where} "
                         f"({takes} {', '.join(sorted(known))})")
