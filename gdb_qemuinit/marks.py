"""Wall-clock marks of a run's phases, for the benchmark's profile
(QEMUINIT_PROFILE=DIR): the shell and its gdb each append `NAME SECONDS`
lines (time.monotonic(), one clock for both) to DIR/marks, so that where
the time of a run goes, and what overlaps, is read off one timeline.
Without QEMUINIT_PROFILE a mark is one test of a constant."""

from __future__ import annotations

import os
import time

_INTO = os.environ.get("QEMUINIT_PROFILE")


def mark(name: str) -> None:
    if _INTO:
        with open(os.path.join(_INTO, "marks"), "a", encoding="ascii") as f:
            f.write(f"{name} {time.monotonic():.6f}\n")
