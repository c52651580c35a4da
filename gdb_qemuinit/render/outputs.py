"""Writing what a trace produced: JSON, text report, DOT/SVG/PNG, the
timeline (Chrome trace-event JSON), the negotiation's sequence diagram
and the HTML report.  Shared by the gdb commands and the shell CLI; every
output is written as files.write_output says (a regular file whole, a
device or FIFO through, `-` to standard output)."""

from __future__ import annotations

from typing import NamedTuple

from ..model.initpath import InitPath
from ..files import check_writable, to_stdout, write_output
from ..model.trace import Trace, dumps
from ..model.verdicts import edges_of

FORMATS = ("text", "json", "dot", "svg", "png", "timeline", "sequence", "html")


class Outputs(NamedTuple):
    json: str | None = None
    dot: str | None = None
    svg: str | None = None
    png: str | None = None
    report: str | None = None      # text report to a file
    timeline: str | None = None    # Chrome trace-event JSON
    html: str | None = None        # the self-contained HTML report

    @classmethod
    def asked(cls, opts) -> "Outputs":
        """The outputs a command's parsed options ask for (--json, --svg, ...)."""
        return cls(**{f: getattr(opts, f, None) for f in cls._fields})

    def targets(self) -> list[tuple[str, str]]:
        """(format, path) of each output asked for."""
        return [(fmt, p) for fmt, p in (("json", self.json), ("dot", self.dot),
                                        ("svg", self.svg), ("png", self.png),
                                        ("text", self.report), ("timeline", self.timeline),
                                        ("html", self.html)) if p]

    def paths(self) -> list[str]:
        return [p for _, p in self.targets()]

    def check(self) -> None:
        """Fail before QEMU starts when an output cannot be written."""
        self.to_stdout()
        for p in self.paths():
            check_writable(p)

    def to_stdout(self) -> bool:
        """Does one output go to standard output (`-`)?  Then the text a
        command prints goes to standard error."""
        return to_stdout(self.paths())


def render(path: InitPath, trace: Trace, fmt: str, color: bool = False) -> bytes:
    if fmt == "json":
        return dumps(trace).encode()
    if fmt == "text":
        from . import text as render_text
        return render_text.render(path, trace, color=color).encode()
    if fmt == "timeline":
        from . import timeline as render_timeline
        return render_timeline.render(trace)
    if fmt == "sequence":
        from . import sequence as render_sequence
        return render_sequence.render(trace)
    if fmt == "html":
        from . import html as render_html
        return render_html.render(path, trace)
    from . import graph as render_graph
    title = (f"QEMU {trace.qemu.get('version', '?')}: {trace.outcome.state}\n"
             + " ".join(trace.qemu.get("argv", [])[1:]))
    return render_graph.render(path, edges_of(trace), fmt, title=title)


def write(path: InitPath, trace: Trace, outs: Outputs) -> None:
    for fmt, target in outs.targets():
        write_output(target, render(path, trace, fmt))
