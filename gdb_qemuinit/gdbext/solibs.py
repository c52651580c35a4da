"""Shared libraries' symbols, read only when a run needs them.

gdb reads the symbols of each of QEMU's ~30 libraries as QEMU loads them:
about 75 ms, a third of a bare run to main.  A trace needs few of them: the
ones its library breakpoints live in (GLib's g_main_loop_run, named in the
documented path's [library] table) and the ones a backtrace passes through
(GLib calling back into QEMU).  So while qinit runs QEMU, 'auto-solib-add'
is off; the named libraries are read at main; a backtrace with a frame in a
library gdb has not read makes the recorder stop for real, read it and walk
again (the frames are the same as with every library read); a planned
function found nowhere makes it read them all.  At the end the user's
setting is back, and if QEMU stays alive every library is read, as a plain
gdb would have.
"""

from __future__ import annotations

import os

import gdb


def _bre_escape(text: str) -> str:
    """A literal for 'sharedlibrary REGEX' (a POSIX basic regex)."""
    return "".join("\\" + c if c in ".[]*^$\\" else c for c in text)


class LibrarySymbols:
    def __init__(self):
        self.deferred = False      # auto-solib-add turned off by us
        self.saved = True
        self.all_read = False
        self.settled: set[str] = set()   # libraries read, or tried: not to ask again

    def defer(self) -> None:
        """Before QEMU starts: read no library's symbols as it loads them."""
        self.saved = bool(gdb.parameter("auto-solib-add"))
        if self.saved:
            gdb.execute("set auto-solib-add off", to_string=True)
            self.deferred = True

    def read(self, names) -> None:
        """Read the libraries whose file name starts with one of `names`."""
        if not self.deferred:
            return
        for name in names:
            gdb.execute(f"sharedlibrary /{_bre_escape(name)}", to_string=True)

    def read_all(self) -> None:
        if self.deferred and not self.all_read:
            gdb.execute("sharedlibrary", to_string=True)
            self.all_read = True

    def unread(self, pcs) -> set[str]:
        """The libraries holding these code addresses whose symbols gdb has
        not read (and that were not tried already)."""
        if not self.deferred or self.all_read:
            return set()
        libs = {gdb.solib_name(pc) for pc in pcs} - {None} - self.settled
        if not libs:
            return set()
        have = {os.path.realpath(o.filename) for o in gdb.objfiles() if o.filename}
        unread = {lib for lib in libs if os.path.realpath(lib) not in have}
        self.settled |= libs - unread
        return unread

    def read_files(self, libs) -> None:
        """Read these libraries (paths from the inferior's link map)."""
        for lib in libs:
            self.settled.add(lib)
            gdb.execute(f"sharedlibrary ^{_bre_escape(lib)}$", to_string=True)

    def restore(self, qemu_alive: bool) -> None:
        """The user's setting back; a QEMU left alive gets every library
        read, as a plain gdb would have."""
        if not self.deferred:
            return
        gdb.execute("set auto-solib-add on", to_string=True)
        if qemu_alive:
            self.read_all()
        self.deferred = False
