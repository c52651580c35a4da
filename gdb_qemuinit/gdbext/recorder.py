"""Run QEMU under gdb with a breakpoint plan and record a Trace.

Each planned breakpoint records the backtrace in its ``stop()`` and returns
False, so QEMU never really stops there.  Only the end point
(``qemu_main_loop``), a crash, or our own timeout interrupt stop it.
"""

from __future__ import annotations

import os
import stat
import time

import gdb

from ..planning.recording import Recording
from ..model.trace import (ANSWERED, ERROR, EXITED, INIT_COMPLETE, INTERRUPTED, SIGNALED, TIMEOUT,
                           Frame, Hit, Outcome, Trace, clock_section)
from ..qemu.peers import argv_of
from ..qemu.sources import SourceRoots
from .breakpoints import (CALL, ENTRY, FINISH, LOST, RETURN, CallSiteBreakpoint,
                          EndBreakpoint, RecordingBreakpoint, ReplyFinish, ReturnBreakpoint,
                          call_sites, return_addresses)
from .quiet import NoStderr, PendingOn, Quiet
from .enums import read_enums
from .frames import read_values, walk_frames
from .outcomes import CRASH_SIGNALS, died, exited
from .symbols import LibrarySymbols, has_debug_info, names_near, without_symbol
from .watchdog import Watchdog

def qemu_argv(pid: int) -> list[str] | None:
    """The argv QEMU received (None before it exists)."""
    return argv_of(pid) if pid else None


class Recorder:
    """Executes a Recording (what to plant, read and when, decided by
    recording.py): plants its plan, runs or continues the inferior, returns
    a Trace.  Breakpoints report to it through on_hit() only."""

    def __init__(self, recording: Recording, timeout: float | None = None,
                 lazy_libraries: bool = True):
        self.recording = recording
        self.plan = recording.plan
        # argv -> Plan: the plan is made at main, from the argv QEMU really
        # received (its /proc/PID/cmdline), not from gdb's argument string.
        self.planner = recording.plan_for
        self.argv: list[str] | None = None
        self.timeout = timeout
        self.hits: list[Hit] = []
        self.roots = SourceRoots()
        self._bps: list[gdb.Breakpoint] = []
        self._unplanted: list[str] = []
        self.needs_finish: set[str] = set()
        self.stops = 0                    # every breakpoint stop, ours
        self._anchors: dict[int, dict] = {}   # thread -> function -> (sp, frames)
        # stderr a file (qemuinit from a shell): note its size at each hit,
        # which places QEMU's error lines between hits exactly.
        self._stderr_is_file = stat.S_ISREG(os.fstat(2).st_mode)
        self._open: dict[str, list[tuple[Hit, str]]] = {}   # replies being read
        self.started = 0.0                # time.monotonic() when run() began
        self.recording_seconds = 0.0      # spent in stop() recording hits
        self._end: gdb.Breakpoint | None = None
        self._start: gdb.Breakpoint | None = None
        self._last_stop = None
        self._exited = None
        self._timer: Watchdog | None = None
        self.pid = 0
        self.symbols = LibrarySymbols()
        self.lazy_libraries = lazy_libraries
        self.wanted_libraries: set[str] = set()   # seen in a backtrace, not read yet
        self.writes_watched: list[str] = []       # whose write call has breakpoints

    # -- called from stop(): no stepping, no breakpoint changes -------------
    def on_hit(self, function: str, at: str = ENTRY, ret: int | None = None) -> bool:
        """What every breakpoint's stop() reports: `function` was entered,
        returned (`ret`: its return value), or its finish breakpoint fired or
        went out of scope.  True asks for a real stop: at a question's stop
        point, at a reply function without return breakpoints (to plant a
        finish breakpoint outside stop()), and to read a library a backtrace
        ran into."""
        if at == LOST:
            self.close_reply(function, None, lost=True)
            return False
        self.stops += 1
        if at == FINISH:
            self.close_reply(function, ret)
            return False
        if at == RETURN:
            self.record_return(function, ret)
            return self.wants_real_stop()
        if at == CALL:
            self.record_call(function)
            return False
        self.record_hit(function)
        if function in self.recording.replies:
            self.open_reply(function)
        return (self.is_answer(function) or function in self.needs_finish
                or self.wants_real_stop())

    def record_hit(self, function: str) -> Hit | None:
        try:
            return self._record_hit(function)
        except gdb.error:       # QEMU killed under our feet: no stack to read
            return None

    def _record_hit(self, function: str) -> Hit:
        # The clock first: the backtrace walk below is the stop's own cost.
        now = time.monotonic()
        thread = gdb.selected_thread()
        num = thread.num if thread else 0
        exprs = self.recording.reads.get(function)
        hit = Hit(seq=len(self.hits) + 1, function=function, thread=num,
                  frames=self._walk(function, num),
                  reads=read_values(exprs) if exprs else None,
                  t=round(now - self.started, 6),
                  err=os.fstat(2).st_size if self._stderr_is_file else None)
        self.hits.append(hit)
        self.recording_seconds += time.monotonic() - now
        return hit

    def _walk(self, function: str, thread: int) -> list[Frame]:
        """The backtrace at a hit; a frame in a library whose symbols are
        not read yet asks for a real stop (see wants_real_stop)."""
        anchors = self._anchors.setdefault(thread, {})
        nameless: list[int] = []
        newest = gdb.newest_frame()     # each call rebuilds it: once per hit
        frames = walk_frames(self.roots, frame=newest, anchors=anchors, nameless=nameless)
        if nameless:
            self.wanted_libraries |= self.symbols.unread(nameless)
        if len(frames) > 1:
            anchors[function] = (int(newest.read_register("sp")), frames)
        return frames

    def is_answer(self, function: str) -> bool:
        """The hit just recorded is the question's answer to stop at (the
        recording's stop rule chooses it)."""
        rule = self.recording.stop_rule
        if rule is None or not self.hits:
            return False
        hit = self.hits[-1]
        return hit.function == function and rule.chooses(hit)

    def wants_real_stop(self) -> bool:
        """A hit's backtrace ran into a library gdb has not read: stop for
        real, so that it can be read and the backtrace walked again."""
        return bool(self.wanted_libraries)

    def record_call(self, function: str) -> None:
        """The watched call (recording.writes) was made by `function`'s
        latest hit on this thread: it wrote its message."""
        thread = gdb.selected_thread()
        num = thread.num if thread else 0
        for hit in reversed(self.hits):
            if hit.function == function and hit.thread == num:
                hit.reads = {**(hit.reads or {}), "written": True}
                return

    def record_return(self, function: str, ret: int | None) -> None:
        """At a return instruction of a reply function: its hit, the reply
        it read and its return value, in one stop.  (Its arguments are
        still readable there: at -O0 they live in the frame, found from
        the CFA.)"""
        hit = self.record_hit(function)
        if hit is not None:
            now = time.monotonic()
            hit.reads = self._reply_reads(function, ret, self._reply_pointer(function))
            self.recording_seconds += time.monotonic() - now

    def _reply_pointer(self, function: str) -> str | None:
        """The message a reply function fills in, as a cast address."""
        try:
            ptr = gdb.parse_and_eval(self.recording.replies[function]["pointer"])
            return f"(({ptr.type}) {int(ptr):#x})"
        except (gdb.error, ValueError):
            return None

    def _reply_reads(self, function: str, ret: int | None, pointer: str | None) -> dict:
        reads = {"ret": ret}
        if pointer is None:
            reads["lost"] = True
        else:
            exprs = {k: (e.replace("$msg", pointer) if isinstance(e, str)
                         else [a.replace("$msg", pointer) for a in e])
                     for k, e in self.recording.replies[function]["reads"].items()}
            reads.update(read_values(exprs))
        return reads

    # Where no return instruction was found: the entry stops for real, a
    # FinishBreakpoint reads the reply.
    def open_reply(self, function: str) -> None:
        """At a reply function's entry: remember which message it fills in."""
        self._open.setdefault(function, []).append((self.hits[-1],
                                                    self._reply_pointer(function)))

    def close_reply(self, function: str, ret: int | None, lost: bool = False) -> None:
        """At its return: read the reply into the entry's hit."""
        stack = self._open.get(function)
        if not stack:
            return
        hit, pointer = stack.pop()
        hit.reads = self._reply_reads(function, ret, None if lost else pointer)

    # -- events ---------------------------------------------------------------
    def _on_stop(self, event):
        self._last_stop = event

    def _on_exit(self, event):
        self._exited = event

    def _on_new_thread(self, event):
        # The first thread of a new QEMU: now its pid is known, start the clock.
        if self.timeout and self._timer is None:
            self.pid = event.inferior_thread.ptid[0]
            self._start_timer()

    def _start_timer(self) -> None:
        self._timer = Watchdog(self.timeout, self._interrupt_after_timeout)

    # -- set up / tear down ---------------------------------------------------
    def plant(self) -> None:
        """One breakpoint per planned function.  Called once QEMU is at main:
        its libraries are loaded, so a breakpoint that stays pending has no
        symbol and is dropped (library ones stay, for a library loaded
        later), and its callers confirmed below ([always]) get breakpoints
        of their own.  Planting after the libraries load also spares gdb
        re-setting every breakpoint at each of QEMU's ~40 library loads."""
        self.argv = qemu_argv(gdb.selected_inferior().pid)
        if self.planner is not None:     # before QEMU exists: gdb's idea of it
            self.plan = self.planner(self.argv or self._given_argv)
        fallback = self.plan.fallback or {}
        todo = list(self.plan.functions)
        with PendingOn(), Quiet(), NoStderr():
            self.symbols.read(self.plan.library_symbols)
            while todo:
                fn = todo.pop(0)
                bp = RecordingBreakpoint(fn, self)
                if bp.pending and fn in self.plan.library:
                    self.symbols.read_all()   # in a library not named?
                if bp.pending:
                    # No symbol: the callers left to its backtraces need their own.
                    todo += [f for f in fallback.get(fn, ()) if f not in todo]
                    if fn not in self.plan.library:
                        self._unplanted.append(fn)
                        bp.delete()
                        continue
                if fn in self.recording.writes:
                    sites = call_sites(bp, self.recording.writes[fn])
                    self._bps += [CallSiteBreakpoint(a, self, fn) for a in sites]
                    if sites:
                        self.writes_watched.append(fn)
                if fn in self.recording.replies:
                    returns = return_addresses(bp)
                    if returns:
                        # Recorded at its return instructions only: no entry stop.
                        bp.delete()
                        self._bps += [ReturnBreakpoint(a, self, fn) for a in returns]
                        continue
                    self.needs_finish.add(fn)
                self._bps.append(bp)
        self._end = EndBreakpoint(self.plan.end)

    def _unseen_without_symbol(self, binary: str) -> list[str]:
        """Documented functions without a breakpoint (hot ones) that no
        backtrace showed: does the binary have them ('absent' versus
        'not-exercised')?  Looked up after the run, and only these."""
        seen = {f.function for h in self.hits for f in h.frames}
        planted = set(self.plan.functions)
        todo = [fn for fn in self.recording.documented
                if not (fn in seen or fn in planted or fn in self.plan.library
                        or fn in self.plan.skipped)]
        return without_symbol(binary, todo) if todo else []

    def missing_symbols(self) -> list[str]:
        return self._unplanted + [bp.function for bp in self._bps
                                  if bp.is_valid() and bp.pending]

    def restore_libraries(self, qemu_alive: bool) -> None:
        """The user's library settings back; a QEMU left alive gets every
        library's symbols read, as in a plain gdb."""
        self.symbols.restore(qemu_alive=qemu_alive)

    def remove(self) -> None:
        # gdb warns for each breakpoint it cannot lift from a dead process.
        with NoStderr():
            for bp in self._bps + [b for b in (self._end, self._start) if b]:
                if bp.is_valid():
                    try:
                        bp.delete()
                    except gdb.error:
                        pass
        self._bps.clear()
        self._end = None

    def _interrupt_after_timeout(self) -> None:
        import signal
        try:
            os.kill(self.pid, signal.SIGINT)
        except OSError:
            pass

    # -- the run --------------------------------------------------------------
    def run(self, qemu: dict) -> Trace:
        handlers = ((gdb.events.stop, self._on_stop), (gdb.events.exited, self._on_exit),
                    (gdb.events.new_thread, self._on_new_thread))
        for registry, handler in handlers:
            registry.connect(handler)
        self.started = time.monotonic()
        self._given_argv = qemu.get("argv") or []
        try:
            self.pid = gdb.selected_inferior().pid
            if self.pid:        # already running (at the prompt): plant now
                self.plant()
                if self.timeout:
                    self._start_timer()
            else:               # plant at main, once the libraries are loaded
                if self.lazy_libraries:
                    self.symbols.defer()
                with PendingOn():
                    self._start = gdb.Breakpoint("main", internal=True, temporary=True)
                    self._start.silent = True
                if self._start.pending:
                    self._start.delete()
                    self._start = None
                    self.plant()
            outcome = self._continue_until_done("continue" if self.pid else "run")
        except gdb.error as exc:
            # QEMU killed from outside while gdb held it stopped: gdb cannot
            # resume it, the kernel has its exit status.
            outcome = (died(self.pid, self.plan.end)
                       or Outcome(state=ERROR, detail=str(exc)))
            if outcome.state != ERROR:
                try:        # let gdb reap it: nothing more to insert there
                    gdb.execute("kill", to_string=True)
                except gdb.error:
                    pass
        finally:
            if self._timer:
                self._timer.cancel()
            for registry, handler in handlers:
                registry.disconnect(handler)
        outcome.t = round(time.monotonic() - self.started, 6)
        documented = self.recording.documented
        stages = [h.function for h in self.hits
                  if not documented or h.function in documented]
        outcome.last_stage = stages[-1] if stages else None
        # clock_start lines up other logs (QEMU's stderr) with the hits' t.
        if self.argv:       # what QEMU received, byte for byte
            qemu = dict(qemu, argv=self.argv)
        qemu = dict(qemu, seconds=round(time.monotonic() - self.started, 3),
                    clock_start=self.started, breakpoint_stops=self.stops)
        missing = list(dict.fromkeys(self.missing_symbols()
                                     + self._unseen_without_symbol(qemu["binary"])))
        trace = Trace(qemu=qemu, outcome=outcome, hits=self.hits,
                      planted=list(dict.fromkeys(bp.function for bp in self._bps)),
                      missing_symbols=missing, debug_info=has_debug_info())
        trace.extra["clock"] = clock_section(self.started, self.stops,
                                             self.recording_seconds)
        if outcome.state == INIT_COMPLETE and self.recording.final and self.recording.key:
            trace.extra["final_reads"] = self._final_reads()
        enums = self._read_enums()
        if enums:
            trace.extra["enums"] = enums
        if self.writes_watched:
            trace.extra["writes_watched"] = self.writes_watched
        near = {fn: names_near(fn) for fn in missing if fn in self.recording.documented}
        if near and trace.debug_info:
            trace.extra["symbols_near"] = near
        return trace

    def _continue_until_done(self, command: str) -> Outcome:
        while True:
            self._last_stop = None
            self._exited = None
            first_hit = len(self.hits)      # the hits of the coming stop start here
            with Quiet():      # gdb prints stops even with to_string
                gdb.execute(command, to_string=True)
            command = "continue"
            if self._exited is not None:
                return exited(self._exited, self.plan.end)
            ev = self._last_stop
            if isinstance(ev, gdb.BreakpointEvent):
                if self._start in ev.breakpoints or self._end in ev.breakpoints:
                    self.stops += 1     # ours, with no stop() of their own
                if self._start is not None and self._start in ev.breakpoints:
                    self._start = None          # temporary: gdb deleted it
                    if "main" in self.plan.functions or "main" in self.recording.documented:
                        self.record_hit("main")     # a stop we make anyway
                    self.plant()
                    continue
                if self._end in ev.breakpoints:
                    return Outcome(state=INIT_COMPLETE,
                                   detail=f"QEMU reached {self.plan.end}")
                mine = [b for b in ev.breakpoints if b in self._bps]
                if self.wanted_libraries:
                    self._read_wanted_libraries(first_hit)
                for bp in mine:
                    if bp.function in self.needs_finish:
                        ReplyFinish(self, bp.function)
                answer = [b for b in mine if self.is_answer(b.function)]
                if answer:
                    return Outcome(state=ANSWERED,
                                   detail=f"QEMU is stopped at {answer[0].function}")
                continue   # a reply read, or someone else's breakpoint: keep going
            if isinstance(ev, gdb.SignalEvent):
                sig = ev.stop_signal
                if sig == "SIGINT":
                    return self._interrupted()
                if sig in CRASH_SIGNALS:
                    thread = gdb.selected_thread()
                    named = f" ({thread.name})" if thread and thread.name else ""
                    return Outcome(state=SIGNALED, signal=sig,
                                   detail=f"QEMU received {sig} in thread "
                                          f"{thread.num if thread else '?'}{named}",
                                   frames=self._walk_reading_libraries())
                continue
            if ev is None and gdb.selected_inferior().pid == 0:
                return Outcome(state=EXITED, detail="QEMU is gone")

    def _walk_reading_libraries(self) -> list[Frame]:
        """At a real stop: the backtrace, with the libraries it passes
        through read first."""
        nameless: list[int] = []
        frames = walk_frames(self.roots, nameless=nameless)
        libs = self.symbols.unread(nameless) if nameless else set()
        if not libs:
            return frames
        self.symbols.read_files(libs)
        return walk_frames(self.roots)

    def _read_wanted_libraries(self, first_hit: int) -> None:
        """At a real stop asked for by wants_real_stop: read the libraries
        and walk this stop's hits again (QEMU has not moved)."""
        libs, self.wanted_libraries = self.wanted_libraries, set()
        self.symbols.read_files(libs)
        for hit in self.hits[first_hit:]:
            hit.frames = self._walk(hit.function, hit.thread)

    def _read_enums(self) -> dict:
        """The binary's own names for the enums asked for, read once the run
        is over (types do not change; only when the run used them)."""
        return read_enums(self.recording.enums, {h.function for h in self.hits})

    def _final_reads(self) -> dict:
        """What each recorded object ended up as, read once init is done."""
        out = {}
        keys = {h.reads.get(self.recording.key) for h in self.hits if h.reads} - {None}
        for k in keys:
            out[str(k)] = read_values({name: expr.replace("$key", str(k))
                                       for name, expr in self.recording.final.items()})
        return out

    def _interrupted(self) -> Outcome:
        frames, reads = self._main_thread_frames()
        if self._timer is not None and self._timer.fired:
            return Outcome(state=TIMEOUT, frames=frames, reads=reads or None,
                           detail=f"QEMU did not reach {self.plan.end} within "
                                  f"{self.timeout:g} s")
        return Outcome(state=INTERRUPTED, frames=frames, reads=reads or None,
                       detail="by the user (SIGINT)")

    def _main_thread_frames(self) -> tuple[list[Frame], dict]:
        """Where QEMU's main thread is (the one that runs init), and the
        blocking reads of the frames on its stack that have some."""
        current = gdb.selected_thread()
        threads = sorted(gdb.selected_inferior().threads(), key=lambda t: t.num)
        if not threads:
            return [], {}
        threads[0].switch()
        frames: list[Frame] = []
        try:
            frames = self._walk_reading_libraries()
            reads = {}
            f = gdb.newest_frame()
            while f is not None:
                exprs = self.recording.blocking_reads.get(f.name())
                if exprs and f.name() not in reads:
                    f.select()
                    reads[f.name()] = read_values(exprs)
                f = f.older()
            return frames, reads
        except gdb.error:
            return frames, {}
        finally:
            if current is not None and current.is_valid():
                current.switch()
