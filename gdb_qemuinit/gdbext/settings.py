"""`set qinit ...` / `show qinit ...`."""

from __future__ import annotations

import sys

import gdb


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
        self.value = 30

    def get_show_string(self, svalue):
        return f"qinit lets QEMU initialize for {svalue} seconds (0: no limit)."


_params: dict[str, gdb.Parameter] = {}


def register() -> None:
    SetQinit()
    ShowQinit()
    _params["color"] = ColorParameter()
    _params["timeout"] = TimeoutParameter()


def color_wanted() -> bool:
    return _params["color"].wanted()


def timeout() -> float | None:
    return float(_params["timeout"].value) or None
