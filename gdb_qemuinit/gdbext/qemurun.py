"""One run of QEMU under gdb for a qinit command: start it (or continue it),
let a recorder plant its breakpoints at `main`, go on until init is over,
a question is answered, QEMU ends, the timer fires or the user interrupts;
then end the run by one policy: remove every breakpoint qinit planted,
detach a QEMU gdb attached to, kill only one qinit started (when asked, or
when it can go no further), give the user's library settings back.

Every command that runs QEMU (trace, where, path import's counting run)
goes through QemuRun; what it records is its recorder's business.  A
recorder is any object with:

    breakpoints        the breakpoints it planted (removed at the end)
    plant(qemu)        plant, once QEMU is at main (or running already)
    at_main()          the temporary breakpoint at main stopped
    before_resume()    QEMU is about to run again
    on_stop(bps)       a real stop at some of its breakpoints: an Outcome
                       ends the run, None goes on
"""

from __future__ import annotations

import os
import time
from typing import Callable, Protocol, TypeVar

import gdb

from ..attached_gdb import WATCHING
from ..model.trace import (ERROR, EXITED, INIT_COMPLETE, INTERRUPTED, SIGNALED, TIMEOUT,
                           WATCHED, Frame, Outcome)
from ..qemu.sources import SourceRoots
from .attach import attached, detach
from .breakpoints import EndBreakpoint
from .frames import on_thread, reads_on_stack, walk_frames
from .outcomes import CRASH_SIGNALS, died, exited
from .quiet import NoStderr, PassSigint, PendingOn, Quiet
from .symbols import LibrarySymbols
from .interrupt import Interrupter
from ..marks import mark
from ..gdbcommand import END_FD
from .watchdog import EndRequest, Watchdog

Result = TypeVar("Result")


class RunRecorder(Protocol):
    breakpoints: list

    def plant(self, qemu: dict) -> None: ...
    def at_main(self) -> None: ...
    def before_resume(self) -> None: ...
    def on_stop(self, breakpoints: list) -> Outcome | None: ...


class QemuRun:
    """The run: gdb's events, the timer, the start and end breakpoints, the
    libraries' symbols, and how the run ends."""

    def __init__(self, end: str | None, timeout: float | None, lazy_libraries: bool = True,
                 blocking_reads: dict | None = None, goal: tuple[str, str] | None = None,
                 watch: bool = False, event: str | None = None, on_request: bool = False):
        # Entered by the main thread, the run is over (None: the recorder
        # ends it); `goal` says what the run waits for, as in "QEMU did
        # not GOAL[0]" and "... before GOAL[1]".
        self.end = end
        self.goal, self.before = goal or (f"reach {end}", f"reaching {end}")
        # A watch of a running QEMU ends by its time limit, Ctrl-C or a
        # request from the qemuinit that runs this gdb: all normal ends.
        self.watch = watch
        self.event = event
        self.on_request = on_request or watch
        self.timeout = timeout
        self.lazy_libraries = lazy_libraries
        self.blocking_reads = blocking_reads or {}
        self.symbols = LibrarySymbols()
        self.roots = SourceRoots()
        self.was_attached = attached()
        self.started = 0.0                # time.monotonic() when the run began
        self.pid = 0
        self.stops = 0                    # every stop at a qinit breakpoint
        self._start: gdb.Breakpoint | None = None
        self._end: gdb.Breakpoint | None = None
        self._timer: Watchdog | None = None
        self._last_stop = None
        self._exited = None
        # The run's own interrupt of QEMU (time limit, end request)
        self.interrupter = Interrupter(self.was_attached)
        self._pass_sigint = False         # someone else's SIGINT, for QEMU
        self.running_seconds = 0.0        # QEMU running (inside continue)
        self.ended = 0.0                  # time.monotonic() once detached or left

    def carry_out(self, qemu: dict, recorder: RunRecorder, kill: bool,
                  result: Callable[[Outcome], Result]) -> Result:
        """Run QEMU with `recorder`, make `result` of the outcome while QEMU
        is still as the run left it, then end the run (always)."""
        state = None
        try:
            outcome = self.execute(qemu, recorder)
            made = result(outcome)
            state = outcome.state
            return made
        finally:
            self.finish(recorder, state, kill)

    # -- the run ---------------------------------------------------------------
    def execute(self, qemu: dict, recorder: RunRecorder) -> Outcome:
        handlers = ((gdb.events.stop, self._on_stop), (gdb.events.exited, self._on_exit),
                    (gdb.events.new_thread, self._on_new_thread))
        for registry, handler in handlers:
            registry.connect(handler)
        self.started = time.monotonic()
        end_fd = os.environ.get(END_FD)
        if self.on_request and end_fd and end_fd.isdigit():
            EndRequest(int(end_fd), self._end_requested)
        try:
            outcome = self._start_and_continue(qemu, recorder)
        except gdb.error as exc:
            # QEMU killed from outside while gdb held it stopped: gdb cannot
            # resume it, the kernel has its exit status.
            outcome = died(self.pid, self.before) or Outcome(state=ERROR, detail=str(exc))
            if outcome.state != ERROR:
                try:        # let gdb reap it: nothing more to insert there
                    gdb.execute("kill", to_string=True)
                except gdb.error:
                    pass
        finally:
            if self._timer:
                self._timer.cancel()
            self.interrupter.disarm()
            for registry, handler in handlers:
                registry.disconnect(handler)
        outcome.t = round(time.monotonic() - self.started, 6)
        return outcome

    def _start_and_continue(self, qemu: dict, recorder: RunRecorder) -> Outcome:
        self.pid = gdb.selected_inferior().pid
        if self.pid:        # already running (at the prompt): plant now
            self._plant(qemu, recorder)
            self.interrupter.arm(self.pid)
            if self.timeout:
                self._start_timer()
            return self._continue_until_done("continue", qemu, recorder)
        # plant at main, once the libraries are loaded
        if self.lazy_libraries:
            self.symbols.defer()
        with PendingOn():
            self._start = gdb.Breakpoint("main", internal=True, temporary=True)
            self._start.silent = True
        if self._start.pending:
            self._start.delete()
            self._start = None
            self._plant(qemu, recorder)
        return self._continue_until_done("run", qemu, recorder)

    def _plant(self, qemu: dict, recorder: RunRecorder) -> None:
        recorder.plant(qemu)
        if self.end:
            self._end = EndBreakpoint(self.end)
        if self.watch:      # the moment from which what QEMU does is seen
            ends = [f"{self.timeout:g} s are over" if self.timeout else "",
                     self.event or "", "Ctrl-C"]
            gdb.write(f"{WATCHING} QEMU (PID {self.pid}), {len(recorder.breakpoints)} "
                      f"breakpoints planted; until {', '.join(e for e in ends if e)}\n",
                      gdb.STDERR)

    def _continue_until_done(self, command: str, qemu: dict, recorder: RunRecorder) -> Outcome:
        while True:
            self._last_stop = None
            self._exited = None
            recorder.before_resume()
            resumed = time.monotonic()
            try:
                with Quiet():      # gdb prints stops even with to_string
                    gdb.execute(command, to_string=True)
            finally:
                self.running_seconds += time.monotonic() - resumed
            command = "continue"
            if self._exited is not None:
                return exited(self._exited, self.before)
            ev = self._last_stop
            if isinstance(ev, gdb.BreakpointEvent):
                if self._start in ev.breakpoints or self._end in ev.breakpoints:
                    self.stops += 1     # ours, with no stop() of their own
                if self._start is not None and self._start in ev.breakpoints:
                    self._start = None          # temporary: gdb deleted it
                    mark("gdb: QEMU at main")
                    recorder.at_main()
                    self._plant(qemu, recorder)
                    mark("gdb: planted")
                    continue
                if self._end is not None and self._end in ev.breakpoints:
                    mark("gdb: end reached")
                    return Outcome(state=INIT_COMPLETE, detail=f"QEMU reached {self.end}")
                ended = recorder.on_stop([b for b in ev.breakpoints
                                          if b in recorder.breakpoints])
                if ended is not None:
                    return ended
                continue   # a reply read, or someone else's breakpoint: keep going
            if isinstance(ev, gdb.SignalEvent):
                ended = self._signalled(ev.stop_signal)
                if ended is not None:
                    return ended
                continue
            if ev is None and gdb.selected_inferior().pid == 0:
                return Outcome(state=EXITED, detail="QEMU is gone")

    def _signalled(self, sig: str) -> Outcome | None:
        """A stop by a signal: the run's own interrupt or the user's, a
        crash, or one QEMU handles itself (None: it goes on)."""
        if self.interrupter.is_ours(sig):
            return self._interrupted()
        if sig == "SIGINT":
            return self._interrupted(theirs=True)
        if sig in CRASH_SIGNALS:
            thread = gdb.selected_thread()
            named = f" ({thread.name})" if thread and thread.name else ""
            return Outcome(state=SIGNALED, signal=sig,
                           detail=f"QEMU received {sig} in thread "
                                  f"{thread.num if thread else '?'}{named}",
                           frames=self.walk_reading_libraries())
        return None

    def _interrupted(self, theirs: bool = False) -> Outcome:
        """The run's own interrupt (`theirs`: a SIGINT it did not send)."""
        requested = not theirs and self.interrupter.why != self._time_limit()
        if self.watch or (self.on_request and requested):
            return Outcome(state=WATCHED,
                           detail=("the watch ended: " if self.watch else "the run ended: ")
                           + (self._their_sigint() if theirs else self.interrupter.why or "?"))
        frames, reads = self._main_thread_frames()
        if not theirs and self.interrupter.why == self._time_limit():
            return Outcome(state=TIMEOUT, frames=frames, reads=reads or None,
                           detail=f"QEMU did not {self.goal} within "
                                  f"{self.timeout:g} s")
        return Outcome(state=INTERRUPTED, frames=frames, reads=reads or None,
                       detail="by the user (SIGINT)")

    def _main_thread_frames(self) -> tuple[list[Frame], dict]:
        """Where QEMU's main thread is (the one that runs init), and the
        blocking reads of the frames on its stack that have some."""
        threads = sorted(gdb.selected_inferior().threads(), key=lambda t: t.num)
        if not threads:
            return [], {}
        frames: list[Frame] = []
        try:
            with on_thread(threads[0]):
                frames = self.walk_reading_libraries()
                return frames, reads_on_stack(self.blocking_reads)
        except gdb.error:
            return frames, {}

    def walk_reading_libraries(self) -> list[Frame]:
        """At a real stop: the backtrace, with the libraries it passes
        through read first."""
        nameless: list[int] = []
        frames = walk_frames(self.roots, nameless=nameless)
        libs = self.symbols.unread(nameless) if nameless else set()
        if not libs:
            return frames
        self.symbols.read_files(libs)
        return walk_frames(self.roots)

    def qemu_with_run(self, qemu: dict) -> dict:
        """`qemu` with what the run adds: its length, the clock the hits'
        times count from (to line up other logs) and the stops it made."""
        return dict(qemu, seconds=round(time.monotonic() - self.started, 3),
                    clock_start=self.started, breakpoint_stops=self.stops)

    # -- gdb's events, the timer ----------------------------------------------
    def _on_stop(self, event):
        self._last_stop = event

    def _on_exit(self, event):
        self._exited = event

    def _on_new_thread(self, event):
        # The first thread of a new QEMU: now its pid is known, start the clock.
        if not self.pid:
            self.pid = event.inferior_thread.ptid[0]
            self.interrupter.arm(self.pid)
        if self.timeout and self._timer is None:
            self._start_timer()

    def _start_timer(self) -> None:
        self._timer = Watchdog(self.timeout,
                               lambda: self.interrupter.request(self._time_limit()))

    def _time_limit(self) -> str:
        return f"its time limit ({self.timeout:g} s)"

    def _end_requested(self, said: str) -> None:
        self.interrupter.request(f"qemuinit received {said}" if said else
                                 "qemuinit, which ran this gdb, is gone")

    def _their_sigint(self) -> str:
        """A SIGINT the watch did not send: the user's Ctrl-C at gdb's
        prompt, or, gdb having no terminal, another process telling QEMU
        to quit, which it then does (passed on as gdb detaches)."""
        if os.isatty(0) or not self.was_attached:
            return "by the user (SIGINT)"
        self._pass_sigint = True
        return ("QEMU received SIGINT from another process; it is passed on as gdb "
                "detaches, and QEMU quits as asked")

    # -- the end ---------------------------------------------------------------
    def finish(self, recorder: RunRecorder, state: str | None, kill: bool) -> None:
        """The end-of-run policy, the same for every command.  A QEMU that
        timed out is blocked for good, one gdb failed on is in an unknown
        state: kill those, and any when asked.  A crashed one stays stopped
        at the prompt, to be looked at.  One gdb attached to is not ours to
        kill (unless asked): it is detached instead."""
        self.interrupter.disarm()
        self._remove(recorder.breakpoints)
        over = state is None or state in (TIMEOUT, ERROR)
        if self.was_attached and not kill:
            if over or state in (INTERRUPTED, WATCHED):
                with PassSigint(self._pass_sigint):
                    detach()
        elif (kill or over) and gdb.selected_inferior().pid:
            try:
                gdb.execute("kill", to_string=True)
            except gdb.error:
                pass        # already gone
        self.interrupter.restore()
        self.ended = time.monotonic()
        try:
            # The user's library settings back; a QEMU left alive gets every
            # library's symbols read, as in a plain gdb.
            self.symbols.restore(qemu_alive=bool(gdb.selected_inferior().pid))
        except gdb.error:
            pass
        from . import starting
        starting.left()

    def _remove(self, breakpoints: list) -> None:
        # gdb warns for each breakpoint it cannot lift from a dead process.
        with NoStderr():
            for bp in breakpoints + [b for b in (self._end, self._start) if b]:
                if bp.is_valid():
                    try:
                        bp.delete()
                    except gdb.error:
                        pass
        breakpoints.clear()
        self._end = None

