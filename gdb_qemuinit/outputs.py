"""Writing what a trace produced: JSON, text report, DOT/SVG/PNG.  Shared by
the gdb commands and the shell CLI; every file is written atomically."""

from __future__ import annotations

from typing import NamedTuple

from . import render_graph, render_text
from .initpath import InitPath
from .trace import Trace, check_writable, dumps, write_atomic


class Outputs(NamedTuple):
    json: str | None = None
    dot: str | None = None
    svg: str | None = None
    png: str | None = None
    report: str | None = None      # text report to a file

    def paths(self) -> list[str]:
        return [p for p in (self.json, self.dot, self.svg, self.png, self.report) if p]

    def check(self) -> None:
        """Fail before QEMU starts when an output cannot be written."""
        for p in self.paths():
            check_writable(p)


def render(path: InitPath, trace: Trace, fmt: str, color: bool = False) -> bytes:
    if fmt == "json":
        return dumps(trace).encode()
    if fmt == "text":
        return render_text.render(path, trace, color=color).encode()
    title = (f"QEMU {trace.qemu.get('version', '?')}: {trace.outcome.state}\n"
             + " ".join(trace.qemu.get("argv", [])[1:]))
    return render_graph.render(path, trace.extra.get("edges", []), fmt, title=title)


def write(path: InitPath, trace: Trace, outs: Outputs) -> None:
    for fmt, target in (("json", outs.json), ("dot", outs.dot), ("svg", outs.svg),
                        ("png", outs.png), ("text", outs.report)):
        if target:
            write_atomic(target, render(path, trace, fmt))
