"""What gdb knows of the symbols: QEMU's own (debug info, functions it has)
and its shared libraries' (read only when a run needs them).

gdb reads the symbols of each of QEMU's ~30 libraries as QEMU loads them:
about 75 ms, a third of a bare run to main.  A trace needs few of them: the
ones its library breakpoints live in (GLib's g_main_loop_run, named in the
documented path's [library] table) and the ones a backtrace passes through
(GLib calling back into QEMU).  So while qinit runs QEMU, 'auto-solib-add'
is off; the named libraries are read at main; a backtrace with a frame in a
library gdb has not read makes the recorder stop for real, read it and walk
again (the frames are the same as with every library read); a planned
library function found in none of the named ones makes it read them all.  At the end the user's
setting is back, and if QEMU stays alive every library is read, as a plain
gdb would have.
"""

from __future__ import annotations

import os

import gdb

from .quiet import NoStderr, PendingOn, Quiet


def has_debug_info() -> bool:
    """Full (DWARF) symbols for QEMU's own code, not just the ELF table."""
    return gdb.lookup_global_symbol("main") is not None


def names_near(name: str, limit: int = 3) -> list[str]:
    """Functions in the binary whose names are closest to `name`."""
    import difflib
    import re
    stem = re.escape("_".join(name.split("_")[:2]))
    try:
        out = gdb.execute(f"info functions -q -n {stem}", to_string=True)
    except gdb.error:
        return []
    names = set(re.findall(r"\b(\w+)\(", out))
    return difflib.get_close_matches(name, sorted(names), n=limit, cutoff=0.6)


def _known_of(binary: str, kind: str) -> tuple[str | None, dict]:
    """The binary's key in the cache (None: it cannot be read) and what
    earlier runs learnt of it under `kind` (qemu/binary.known_facts)."""
    from ..qemu.binary import binary_key, known_facts
    try:
        key = binary_key(binary)
    except OSError:
        return None, {}
    known = known_facts(key).get(kind, {})
    return key, dict(known) if isinstance(known, dict) else {}


def names_near_each(binary: str, names: list[str]) -> dict[str, list[str]]:
    """names_near of each of `names`, kept per binary like without_symbol's
    answers: a search of every function name costs gdb ~0.14 s, and a
    release that lacks a documented function (renamed in another) lacks it
    in every run."""
    from ..qemu.binary import remember_facts
    key, known = _known_of(binary, "near")
    learnt = {fn: names_near(fn) for fn in names if not isinstance(known.get(fn), list)}
    if learnt and key:
        remember_facts(key, near={**known, **learnt})
    return {fn: list(learnt.get(fn, known.get(fn, []))) for fn in names}


def without_symbol(binary: str, names: list[str]) -> list[str]:
    """Which of `names` the binary has no function for.  Each look-up makes
    gdb read that function's compilation unit, so the answers are kept per
    binary (with its --version) and asked once."""
    from ..qemu.binary import remember_facts
    key, known = _known_of(binary, "functions")
    learnt = {}
    with PendingOn(), Quiet(), NoStderr():
        for fn in names:
            if fn in known:
                continue
            try:
                probe = gdb.Breakpoint(fn, internal=True)
            except gdb.error:       # a process that cannot take it: unknown
                continue
            learnt[fn] = not probe.pending
            probe.delete()
    if learnt and key:
        remember_facts(key, functions={**known, **learnt})
    present = {**known, **learnt}
    return [fn for fn in names if present.get(fn) is False]


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
        with Quiet():
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
