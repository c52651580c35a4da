"""Indented call listings, as developers write them under their graphs:

    main
        ->qemu_init
            ->qemu_create_late_backends
                ->net_init_clients   /* comment */
                    ->qemu_opts_foreach(qemu_find_opts("netdev"), net_init_netdev, ...)

A line's caller is the nearest line above it that is indented less (tabs
count 4 columns).  A call keeps its name (`ti->class_init(...)` is
`ti->class_init`, `DEVICE(object_new(name))` is `object_new`); a call whose
arguments run over several lines is read to its closing parenthesis, and a
`->name` after it is called from it.  A comment beside a call becomes that
edge's label.  Prose between listings ends the one above.
"""

from __future__ import annotations

import re
from typing import NamedTuple

TAB = 4
_NAME = re.compile(r"[A-Za-z_]\w*(?:(?:->|\.)[A-Za-z_]\w*|\[[^\]]*\])*")
_MACRO = re.compile(r"[A-Z][A-Z0-9_]*\(\s*(" + _NAME.pattern + r")\s*\(")
_COMMENT = re.compile(r"/\*(.*?)\*/|//(.*)$")


class ListingEdge(NamedTuple):
    caller: str
    callee: str
    label: str
    line: int


class Listing(NamedTuple):
    edges: list[ListingEdge]
    merged: list[str]        # "a -> a": a name written twice in a row, read once


def call_name(text: str) -> str | None:
    """The function a listing line calls, or None if it names none."""
    text = text.strip()
    m = _MACRO.match(text)
    if m:
        return m.group(1)
    m = _NAME.match(text)
    return m.group() if m else None


def _depth(text: str) -> int:
    depth = 0
    for ch in re.sub(r'"(?:[^"\\]|\\.)*"', "", text):
        depth += ch in "(["
        depth -= ch in ")]"
    return depth


def _logical_lines(lines: list[str], first: int):
    """(line number, indent, text, comment): a call over several lines read whole."""
    i = 0
    while i < len(lines):
        raw = lines[i].expandtabs(TAB)
        number = first + i
        i += 1
        if not raw.strip():
            yield number, None, "", ""
            continue
        indent = len(raw) - len(raw.lstrip())
        text = raw.strip()
        while _depth(_COMMENT.sub("", text)) > 0 and i < len(lines):
            text += " " + lines[i].strip()
            i += 1
        comments = [a or b for a, b in _COMMENT.findall(text)]
        yield number, indent, _COMMENT.sub(" ", text).strip(), " ".join(
            c.strip() for c in comments if c.strip())


def is_listing_line(line: str) -> bool:
    return line.strip().startswith("->")


def parse(text: str, first_line: int = 1) -> Listing:
    """Every caller -> callee edge of the listings in `text` (lines that are
    neither a call nor a listing's first name are skipped)."""
    lines = text.split("\n")
    edges: list[ListingEdge] = []
    merged: list[str] = []
    stack: list[tuple[int, str]] = []      # (indent, name) of the open callers
    logical = list(_logical_lines(lines, first_line))
    for k, (number, indent, body, comment) in enumerate(logical):
        if indent is None:
            continue
        if not body.startswith("->"):
            nxt = next((x for x in logical[k + 1:] if x[1] is not None), None)
            name = call_name(body)
            starts = (name and name == body.rstrip(";") and nxt is not None
                      and nxt[2].startswith("->") and nxt[1] > indent)
            stack = [(indent, name)] if starts and name else []
            continue
        # "->a(...); ->b": the first call, then what it calls.
        parts = [p for p in re.split(r"(?:^|[;)\s])\s*->", " " + body) if p.strip()]
        while stack and stack[-1][0] >= indent:
            stack.pop()
        depth = indent
        for n, part in enumerate(parts):
            name = call_name(part)
            if name is None:
                break
            parent = stack[-1][1] if stack else None
            if parent == name:
                merged.append(f"{name} -> {name}")
            elif parent is not None:
                edges.append(ListingEdge(parent, name, comment if n == 0 else "", number))
                stack.append((depth, name))
            else:
                stack.append((depth, name))
            depth += 1
    return Listing(edges, merged)
