"""Records written as JSON objects: the analysed sections of a trace (the
vhost-user rounds, the hang, the first error, the findings) and the diff
of two traces.  The analysis makes records, the trace's JSON holds their
`to_json`, the renderers read them back with `from_json`, so every key is
spelled in one place: the record's field.

A record is a dataclass deriving from `JsonRecord`: its fields in order are
the object's keys in order.  A field set to ABSENT is left out of the JSON
(an optional part, told apart from null); one made with `omit_default` is
left out while it has its default (a message's "sent": only `false` is
written); `json_field(key=...)` names a key no Python name can ("from").
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, ClassVar, Literal, Self, TypeVar


class Absent:
    """The value of a key the JSON leaves out.  False, so that `if x:`
    treats a part that is not there as one that is empty."""

    _one: ClassVar[Absent | None] = None

    def __new__(cls) -> Absent:
        if cls._one is None:
            cls._one = super().__new__(cls)
        return cls._one

    def __bool__(self) -> Literal[False]:
        return False

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT = Absent()


def json_field(*, key: str | None = None, read: Callable[[Any], Any] | None = None,
               omit_default: bool = False, default: Any = dataclasses.MISSING,
               default_factory: Any = dataclasses.MISSING) -> Any:
    """A field with its JSON key (else its name), how its JSON value is read
    back (a nested record; not for null), and whether its default is left
    out of the JSON."""
    meta = {"key": key, "read": read, "omit_default": omit_default}
    return dataclasses.field(default=default, default_factory=default_factory, metadata=meta)


def json_of(value: object) -> object:
    """A value as JSON holds it: records and named tuples as objects."""
    if isinstance(value, JsonRecord):
        return value.to_json()
    if isinstance(value, tuple) and hasattr(value, "_asdict"):
        return value._asdict()
    if isinstance(value, list):
        return [json_of(v) for v in value]
    if isinstance(value, dict):
        return {k: json_of(v) for k, v in value.items()}
    return value


R = TypeVar("R", bound="JsonRecord")


def records_of(cls: type[R]) -> Callable[[list[dict]], list[R]]:
    """Reads a JSON list of `cls` records."""
    return lambda items: [cls.from_json(d) for d in items]


class JsonRecord:
    __dataclass_fields__: ClassVar[dict[str, Any]]

    def to_json(self) -> dict:
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is ABSENT or (f.metadata.get("omit_default") and value == f.default):
                continue
            out[f.metadata.get("key") or f.name] = json_of(value)
        return out

    @classmethod
    def of(cls, doc: Self | dict) -> Self:
        """The record, or the record its JSON holds (a renderer takes either)."""
        return cls.from_json(doc) if isinstance(doc, dict) else doc

    @classmethod
    def from_json(cls, doc: dict) -> Self:
        """The inverse of `to_json`; a key left out gets the field's default."""
        values = {}
        for f in dataclasses.fields(cls):
            key = f.metadata.get("key") or f.name
            if key in doc:
                read = f.metadata.get("read")
                value = doc[key]
                values[f.name] = read(value) if read is not None and value is not None else value
        return cls(**values)
