"""Backtraces by QEMU's frame-pointer chain: the same frames gdb's unwinder
gives, at a fraction of its cost on deep stacks (a 41-frame stack: ~1 ms
with Frame.older() at each frame, ~0.1 ms this way).

gdb unwinds the hit's own frame and its caller (where the breakpoint is in
a function's prologue or epilogue, only its call-frame information says
where the return address is).  From the caller on, each frame is in the
middle of a call, so a function that keeps its frame pointer has its
caller's %rbp at 0(%rbp) and its return address at 8(%rbp): two words of
memory a frame.  A frame is taken that way only when its function has
debug info from an unoptimised compilation unit (-O0, as the project
builds QEMU: optimised code has tail-call frames gdb shows and the chain
does not), is the only function at its pc (no inlined one, which gdb
would show as a frame of its own) and begins by setting up the frame
pointer; else the whole backtrace is walked by gdb (walk_frames), as are
other threads' (their stacks end in the C library).  Only with gdb's
default backtrace settings (it ends at main, no limit).
"""

from __future__ import annotations

import struct

import gdb

from ..model.trace import Frame
from ..qemu.instructions import PROLOGUE_BYTES, keeps_frame_pointer, unoptimised
from ..qemu.sources import SourceRoots
from .frames import as_frame, frame_at

# gdb shows no frame older than main (`backtrace past-main`, off)
OUTERMOST = "main"
_MAX_DEPTH = 1024


class FrameChain:
    """Walks the frame-pointer chain; what it learns of each return address
    and function is kept for the run (the same call sites recur)."""

    def __init__(self, roots: SourceRoots):
        self.roots = roots
        # a user's `set backtrace past-main on` or `limit N` makes gdb's
        # backtraces end elsewhere: gdb walks them all
        self.usable = (not gdb.parameter("backtrace past-main")
                       and not gdb.parameter("backtrace limit"))
        self._caller_at: dict[int, tuple[Frame, bool] | None] = {}
        self._keeps_fp: dict[int, bool] = {}     # function start -> keeps it

    def walk(self, newest: "gdb.Frame") -> list[Frame] | None:
        """The backtrace from `newest`, innermost first; None where the
        chain cannot be followed (walk it with gdb)."""
        if not self.usable:
            return None
        try:
            name = newest.name()
            if name is None or newest.type() != gdb.NORMAL_FRAME:
                return None     # gdb's walk asks for the library it is in
            frames = [as_frame(newest, name, self.roots)]
            older = newest.older()
            if older is None:
                return frames
            name = older.name()
            if name is None or older.type() != gdb.NORMAL_FRAME:
                return None
            frames.append(as_frame(older, name, self.roots))
            if name == OUTERMOST:
                return frames
            caller = self._caller(older.pc())       # a return address: frame 0 is normal
            if caller is None or not caller[1] or caller[0] != frames[-1]:
                return None
            return self._follow(int(older.read_register("rbp")), frames)
        except (gdb.error, gdb.MemoryError, RuntimeError, ValueError):
            return None

    def _follow(self, rbp: int, frames: list[Frame]) -> list[Frame] | None:
        """From the frame whose %rbp is `rbp` (the last of `frames`), up to
        main."""
        memory = gdb.selected_inferior()
        while len(frames) < _MAX_DEPTH:
            saved, ret = struct.unpack("<QQ", memory.read_memory(rbp, 16).tobytes())
            caller = self._caller(ret)
            if caller is None:
                return None
            frame, keeps_fp = caller
            frames.append(frame)
            if frame.function == OUTERMOST:
                return frames
            if not keeps_fp or saved <= rbp:
                return None
            rbp = saved
        return None

    def _caller(self, ret: int) -> tuple[Frame, bool] | None:
        """The frame a return address lands in, as gdb shows a caller (the
        line of the call: pc - 1), and whether its function keeps the frame
        pointer; None if it is not one QEMU function of its own."""
        if ret in self._caller_at:
            return self._caller_at[ret]
        result = None
        block = gdb.block_for_pc(ret - 1)
        functions = []
        while block is not None and not (block.is_static or block.is_global):
            if block.function is not None:
                functions.append(block)
            block = block.superblock
        if len(functions) == 1:
            frame = frame_at(functions[0].function.name, gdb.find_pc_line(ret - 1), self.roots)
            result = (frame, self._keeps_frame_pointer(functions[0]))
        self._caller_at[ret] = result
        return result

    def _keeps_frame_pointer(self, block: "gdb.Block") -> bool:
        """Whether the function of `block` (its outermost block) keeps the
        frame-pointer chain: unoptimised, and set up by its first bytes."""
        start = block.start
        if start not in self._keeps_fp:
            symtab = block.function.symtab
            keeps = unoptimised(symtab.producer if symtab else None)
            if keeps:
                inferior = gdb.selected_inferior()
                first = inferior.read_memory(start, PROLOGUE_BYTES).tobytes()
                keeps = keeps_frame_pointer(first, inferior.architecture().name())
            self._keeps_fp[start] = keeps
        return self._keeps_fp[start]
