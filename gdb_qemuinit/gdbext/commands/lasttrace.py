"""The last trace of this gdb session, for `qinit report` and `qinit path
export`."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from ...errors import QemuinitError

if TYPE_CHECKING:
    from ...model.initpath import InitPath
    from ...model.trace import Trace

_LAST: dict = {}


def remember(path: InitPath, trace: Trace) -> None:
    _LAST.update(trace=trace, path=path, number=_LAST.get("number", 0) + 1,
                 when=time.strftime("%H:%M:%S"))


def last() -> tuple[InitPath, Trace]:
    """The documented path and the trace of this session's last 'qinit trace'."""
    if not _LAST:
        raise QemuinitError("no trace yet in this session: run 'qinit trace' first")
    return _LAST["path"], _LAST["trace"]


def heading() -> str:
    """Which trace that is: its number in this session, when it ended, how."""
    return (f"trace {_LAST['number']} of this gdb session, ended {_LAST['when']} "
            f"({_LAST['trace'].outcome.state})")
