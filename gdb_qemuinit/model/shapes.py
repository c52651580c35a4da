"""Shapes of JSON documents, checked once where a document is read: a saved
trace is checked against its shape before anything analyses it, so a
damaged or hand-edited file is one user error naming the place, not a crash
deep in a renderer.

A shape is:
  str, int, float, bool   that type (int is no bool; float takes an int too)
  Opt(shape)              that shape, or null
  [shape]                 a list of them
  Map(shape)              an object whose values have that shape (any keys)
  Record(required, optional)  an object with these keys (others allowed)
  OneOf(shape, ...)       any of these
  ANY                     anything JSON holds
"""

from __future__ import annotations

from typing import NamedTuple, NoReturn

ANY = object()


class Opt(NamedTuple):
    shape: object


class Map(NamedTuple):
    values: object


class OneOf(NamedTuple):
    shapes: tuple


class Record(NamedTuple):
    required: dict
    optional: dict = {}


class ShapeError(ValueError):
    """Where a document departs from its shape, and how."""


_NAMES = {str: "a string", int: "a whole number", float: "a number", bool: "true or false"}


def describe(shape: object) -> str:
    if isinstance(shape, type) and shape in _NAMES:
        return _NAMES[shape]
    if isinstance(shape, Opt):
        return f"{describe(shape.shape)} or null"
    if isinstance(shape, list):
        return "a list"
    if isinstance(shape, (Map, Record)):
        return "an object"
    if isinstance(shape, OneOf):
        return " or ".join(describe(s) for s in shape.shapes)
    return "a value"


def _fits(value: object, shape: object) -> bool:
    if shape is bool:
        return isinstance(value, bool)
    if shape is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if shape is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(shape, type) and isinstance(value, shape)


def check(value: object, shape: object, where: str = "") -> None:
    """Raise ShapeError("WHERE: expected ..., found ...") at the first place
    `value` departs from `shape`."""
    if shape is ANY or (isinstance(shape, Opt) and value is None):
        return
    if isinstance(shape, Opt):
        check(value, shape.shape, where)
    elif isinstance(shape, OneOf):
        if not any(_holds(value, s, where) for s in shape.shapes):
            _wrong(value, shape, where)
    elif isinstance(shape, list):
        if not isinstance(value, list):
            _wrong(value, shape, where)
        else:
            for i, item in enumerate(value):
                check(item, shape[0], f"{where}[{i}]")
    elif isinstance(shape, (Map, Record)):
        if not isinstance(value, dict):
            _wrong(value, shape, where)
        elif isinstance(shape, Map):
            for k, v in value.items():
                check(v, shape.values, f"{where}.{k}")
        else:
            _check_record(value, shape, where)
    elif not _fits(value, shape):
        _wrong(value, shape, where)


def _holds(value: object, shape: object, where: str) -> bool:
    try:
        check(value, shape, where)
        return True
    except ShapeError:
        return False


def _check_record(value: dict, shape: Record, where: str) -> None:
    for k, s in shape.required.items():
        if k not in value:
            raise ShapeError(f"{where}: {k!r} is missing")
        check(value[k], s, f"{where}.{k}")
    for k, s in shape.optional.items():
        if k in value:
            check(value[k], s, f"{where}.{k}")


def _wrong(value: object, shape: object, where: str) -> NoReturn:
    found = repr(value)
    if len(found) > 40:
        found = found[:37] + "..."
    raise ShapeError(f"{where}: expected {describe(shape)}, found {found}")
