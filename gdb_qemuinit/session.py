"""One `trace`, before and after QEMU runs: the same for `qinit trace` in
gdb and `qemuinit trace` from a shell (which runs the first under gdb and
finishes again with what only it saw)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import OutputError
from .model.phases import Phase, PhaseError

if TYPE_CHECKING:
    from .model.initpath import InitPath
    from .model.trace import Trace
    from .render import outputs


def prepare(path_file: str | None, outs: outputs.Outputs, phase: Phase) -> InitPath:
    """The phase's documented path, and every output checked writable: both
    fail now, before QEMU runs."""
    path = phase.path(path_file)
    outs.check()
    return path


def refuse(phase: Phase, argv: list[str], what: str = "") -> None:
    """A QEMU command line that can never finish `phase`: a user error now
    (`what` asked for the phase: --until PHASE, else a question)."""
    why = phase.refusal(argv) or _nothing_to_start(phase, argv)
    if why:
        asked = f"{what} (runs --until {phase.name})" if what else f"--until {phase.name}"
        raise PhaseError(f"{asked}: {why}")


def _nothing_to_start(phase: Phase, argv: list[str]) -> str | None:
    """Why a phase that waits for NICs to start never ends on `argv`: it
    has none of the NICs the phase counts (None: it has, or it cannot be
    told: no command line, -readconfig)."""
    if phase.started is None or not phase.started.if_none or len(argv) < 2:
        return None
    from .qemu.cmdline import QemuCommandLine
    command_line = QemuCommandLine.of_recorded(argv)
    if command_line is None or command_line.readconfig or command_line.vhost_nics():
        return None
    return phase.started.if_none


def finish(path: InitPath, trace: Trace, outs: outputs.Outputs, full: bool = False,
           color: bool = False) -> str:
    """Analyse the trace, write the outputs; the text to print: the whole
    report with `full`, else the summary."""
    # Imported here: gdb run by the shell records only, and never needs them.
    from .analysis import annotate as analysis
    from .render import outputs
    from .render import text as render_text
    analysis.annotate(path, trace)
    try:
        outputs.write(path, trace, outs)
    except Exception as exc:        # disk full, dot failing: one line, no traceback
        raise OutputError(f"cannot write the outputs: {exc}") from None
    if full:
        return render_text.render(path, trace, color=color)
    return render_text.brief(trace) + "\n"
