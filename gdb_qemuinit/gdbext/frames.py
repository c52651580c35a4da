"""Reading QEMU's state from gdb: backtraces as Frames, and gdb
expressions as plain JSON values (reads only; nothing runs in QEMU)."""

from __future__ import annotations

from contextlib import contextmanager

import gdb

from ..model.trace import Frame
from ..qemu.sources import SourceRoots

_FILE_OF: dict[str, str | None] = {}     # symtab.filename -> path in QEMU's tree


def as_frame(f: "gdb.Frame", name: str | None, roots: SourceRoots) -> Frame:
    """A gdb frame as the trace records it (`name`: its function's)."""
    return frame_at(name, f.find_sal(), roots)


def frame_at(name: str | None, sal: "gdb.Symtab_and_line", roots: SourceRoots) -> Frame:
    """The Frame of function `name` at source position `sal` (a frame's
    find_sal(), or gdb.find_pc_line() of the pc gdb looks up for it)."""
    symtab = sal.symtab
    if symtab is None:
        return Frame(function=name, file=None, line=None)
    path = symtab.filename
    if path not in _FILE_OF:
        _FILE_OF[path] = roots.relative(symtab.fullname())
    return Frame(function=name, file=_FILE_OF[path], line=sal.line or None)


def stack(frame=None):
    """The frames of the selected thread, newest first (`frame` and older),
    by walking frame objects; ends where gdb cannot unwind further."""
    try:
        f = frame or gdb.newest_frame()
        while f is not None:
            yield f
            f = f.older()
    except gdb.error:
        return


def function_names(frame=None) -> list[str]:
    """The names of the functions on the stack, newest first ("" where gdb
    has none)."""
    names = []
    try:
        for f in stack(frame):
            names.append(f.name() or "")
    except gdb.error:       # a frame gdb cannot name any more: the stack ends there
        pass
    return names


@contextmanager
def on_thread(thread):
    """Select `thread` for the block; the thread selected before comes back."""
    current = gdb.selected_thread()
    try:
        thread.switch()
        yield thread
    finally:
        if current is not None and current.is_valid():
            current.switch()


def walk_frames(roots: SourceRoots, frame=None, anchors: dict | None = None,
                nameless: list | None = None) -> list[Frame]:
    """Innermost first, by walking frame objects (much cheaper than 'bt').

    `anchors` maps a planted function to (sp, frames) of its latest entry
    hit.  Reaching that function's frame with the same sp means the same
    activation (a newer one would have hit its breakpoint; a recursive one
    would have a lower sp), so the older frames are those already recorded:
    unwinding them again is most of a deep stack's cost.  The addresses of
    frames gdb has no name for go to `nameless` (a library whose symbols
    are not read yet: see symbols.py)."""
    frames: list[Frame] = []
    try:
        for f in stack(frame):
            name = f.name()
            if name is None and nameless is not None:
                nameless.append(f.pc())
            if frames and anchors:
                known = anchors.get(name)
                if known is not None and known[0] == int(f.read_register("sp")):
                    return frames + [as_frame(f, name, roots)] + known[1][1:]
            frames.append(as_frame(f, name, roots))
    except gdb.error:
        pass
    return frames


def reads_on_stack(reads: dict[str, dict]) -> dict[str, dict]:
    """At the newest frame of each function named in `reads`, on the
    selected thread's stack: those expressions (reads only)."""
    got: dict[str, dict] = {}
    for f in stack():
        name = f.name()
        if name in reads and name not in got:
            f.select()
            got[name] = read_values(reads[name])
    return got


def _py(value):
    """A gdb.Value as plain JSON data: strings, ints, enum names."""
    t = value.type.strip_typedefs()
    code = t.code
    if code == gdb.TYPE_CODE_PTR:
        target = t.target().strip_typedefs()
        if target.code == gdb.TYPE_CODE_INT and target.sizeof == 1:
            return value.string() if int(value) else None
        return int(value)
    if code == gdb.TYPE_CODE_BOOL:
        return bool(value)
    if code == gdb.TYPE_CODE_ENUM:
        return str(value)
    if code in (gdb.TYPE_CODE_INT, gdb.TYPE_CODE_CHAR):
        return int(value)
    return str(value)


def read_values(exprs: dict) -> dict:
    """Evaluate expressions in the selected frame (reads only: a question's
    expressions call nothing in QEMU).  An expression may be a list of
    alternatives, tried in order (QEMU releases differ): the first that
    gdb evaluates wins.  A failed read is None, not an error."""
    out = {}
    for name, expr in exprs.items():
        out[name] = None
        for e in ([expr] if isinstance(expr, str) else expr):
            try:
                out[name] = _py(gdb.parse_and_eval(e))
                break
            except (gdb.error, gdb.MemoryError, ValueError, UnicodeDecodeError):
                continue
    return out


def read_some(conditional: list[dict], reads: dict) -> dict:
    """The reads of `conditional` (recording.reads_by) whose key this hit's
    `reads` has the value of: one dict each, or a list of `count` (at most
    `max`) with $i the index."""
    out: dict = {}
    for c in conditional:
        if reads.get(c["key"]) != c["value"]:
            continue
        if not c.get("count"):
            out[c["name"]] = read_values(c["reads"])
            continue
        n = read_values({"n": c["count"]})["n"]
        n = min(n, c["max"]) if isinstance(n, int) else 0
        out[c["name"]] = [read_values({k: e.replace("$i", str(i))
                                       for k, e in c["reads"].items()})
                          for i in range(max(n, 0))]
    return out
