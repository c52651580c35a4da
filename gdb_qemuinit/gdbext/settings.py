"""`set qinit ...` / `show qinit ...`."""

from __future__ import annotations

import sys

import gdb

from ..options import DEFAULT_TIMEOUT


class SetQinit(gdb.Command):
    """Settings of the qinit commands."""

    def __init__(self):
        super().__init__("set qinit", gdb.COMMAND_DATA, prefix=True)


class ShowQinit(gdb.Command):
    """Show the settings of the qinit commands."""

    def __init__(self):
        super().__init__("show qinit", gdb.COMMAND_DATA, prefix=True)


class ColorParameter(gdb.Parameter):
    """Colour qinit's reports: on, off, or auto (only on a terminal)."""

    set_doc = "Set whether qinit colours its reports."
    show_doc = "Show whether qinit colours its reports."

    def __init__(self):
        super().__init__("qinit color", gdb.COMMAND_DATA, gdb.PARAM_AUTO_BOOLEAN)
        self.value = None

    def get_show_string(self, svalue):
        return f"qinit colours its reports: {svalue}."

    def wanted(self) -> bool:
        if self.value is None:
            return sys.stdout.isatty() and gdb.parameter("style enabled")
        return bool(self.value)


class TimeoutParameter(gdb.Parameter):
    """Seconds QEMU may take to reach its main loop before qinit interrupts it
    and reports where it blocks (0: no limit)."""

    set_doc = "Set how long qinit lets QEMU initialize."
    show_doc = "Show how long qinit lets QEMU initialize."

    def __init__(self):
        super().__init__("qinit timeout", gdb.COMMAND_DATA, gdb.PARAM_ZUINTEGER)
        self.value = DEFAULT_TIMEOUT

    def get_show_string(self, svalue):
        return f"qinit lets QEMU initialize for {svalue} seconds (0: no limit)."


class LazyLibrariesParameter(gdb.Parameter):
    """Whether qinit has gdb read a shared library's symbols only when a
    run needs them (a library breakpoint, a backtrace through it) instead
    of each as QEMU loads it.  The backtraces are the same; reading all ~30
    of QEMU's libraries costs about a third of a run to main.  Off: gdb
    reads every library, as without qinit."""

    set_doc = "Set whether qinit reads shared libraries' symbols only when needed."
    show_doc = "Show whether qinit reads shared libraries' symbols only when needed."

    def __init__(self):
        super().__init__("qinit lazy-libraries", gdb.COMMAND_DATA, gdb.PARAM_BOOLEAN)
        self.value = True

    def get_show_string(self, svalue):
        return f"qinit reads shared libraries' symbols only when needed: {svalue}."


_params: dict[str, gdb.Parameter] = {}


def register() -> None:
    SetQinit()
    ShowQinit()
    _params["color"] = ColorParameter()
    _params["timeout"] = TimeoutParameter()
    _params["lazy-libraries"] = LazyLibrariesParameter()


def color_wanted() -> bool:
    return _params["color"].wanted()


def lazy_libraries() -> bool:
    return bool(_params["lazy-libraries"].value)


def timeout() -> float | None:
    return float(_params["timeout"].value) or None


def phase_timeout(phase) -> float | None:
    """The setting is the time limit of init (None: none); a phase past
    init (model/phases) takes at least its own."""
    limit = timeout()
    if limit and phase.started:
        limit = max(limit, phase.timeout)
    return limit
