"""gdb's own settings and output, changed for a moment while qemuinit plants
or runs, then put back as the user had them."""

from __future__ import annotations

import os
import sys

import gdb


class PendingOn:
    """`set breakpoint pending on` for the duration, then the user's value back."""

    def __enter__(self):
        self.saved = gdb.parameter("breakpoint pending")
        gdb.execute("set breakpoint pending on", to_string=True)

    def __exit__(self, *exc):
        value = {True: "on", False: "off", None: "auto"}[self.saved]
        gdb.execute(f"set breakpoint pending {value}", to_string=True)


class Quiet:
    """Send gdb's own messages to /dev/null for a moment (unless the user
    is logging), then put the logging settings back."""

    def __enter__(self):
        self.active = not gdb.parameter("logging enabled")
        if self.active:
            self.saved = (gdb.parameter("logging file"), gdb.parameter("logging redirect"))
            for cmd in ("set logging file /dev/null", "set logging redirect on",
                        "set logging enabled on"):
                gdb.execute(cmd, to_string=True)

    def __exit__(self, *exc):
        if self.active:
            gdb.execute("set logging enabled off", to_string=True)
            gdb.execute(f"set logging file {self.saved[0]}", to_string=True)
            gdb.execute(f"set logging redirect {'on' if self.saved[1] else 'off'}",
                        to_string=True)


class NoStderr:
    """gdb prints 'Function "x" not defined.' on its stderr for a breakpoint
    that goes pending, even with pending on and logging redirected; silence
    fd 2 while planting (QEMU is stopped then, so none of its output is lost)."""

    def __enter__(self):
        sys.stderr.flush()
        self.saved = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)

    def __exit__(self, *exc):
        os.dup2(self.saved, 2)
        os.close(self.saved)


class PassSigint:
    """While it lasts (when `on`), gdb passes SIGINT on: detaching after a
    stop by someone else's SIGINT then hands it to QEMU.  (gdb asks before
    changing SIGINT's handling: not here.)"""

    def __init__(self, on: bool):
        self.on = on
        self._confirm = True

    def __enter__(self):
        if self.on:
            self._confirm = bool(gdb.parameter("confirm"))
            gdb.execute("set confirm off", to_string=True)
            gdb.execute("handle SIGINT pass", to_string=True)
        return self

    def __exit__(self, *exc):
        if self.on:
            gdb.execute("handle SIGINT nopass", to_string=True)
            gdb.execute(f"set confirm {'on' if self._confirm else 'off'}", to_string=True)
        return False
