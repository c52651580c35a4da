"""Record a Trace: the recorder a QemuRun (qemurun.py) runs for `qinit
trace` and `qinit where`.

Each planned breakpoint records the backtrace in its ``stop()`` and returns
False, so QEMU never really stops there.  Only the end point
(``qemu_main_loop``), a question's answer, a crash, or the run's own timeout
interrupt stop it.
"""

from __future__ import annotations

import os
import stat
import time

import gdb

from ..planning.recording import Recording
from ..model.trace import (ANSWERED, DEVICES_STARTED, INIT_COMPLETE, START_FAILED, WATCHED,
                           Frame, Hit, Outcome, Trace, clock_section)
from ..qemu.peers import argv_of
from .breakpoints import (CALL, ENTRY, EXIT, FINISH, LOST, RETURN, WRITE, CallSiteBreakpoint,
                          ExitBreakpoint, LeaveBreakpoint, RecordingBreakpoint, ReplyFinish,
                          ReturnBreakpoint, WriteBreakpoint, call_sites, return_addresses,
                          ways_through)
from .quiet import NoStderr, PendingOn, Quiet
from .enums import read_enums
from .framechain import FrameChain
from .frames import read_some, read_values, walk_frames
from .qemurun import QemuRun
from .symbols import has_debug_info, names_near_each, without_symbol


def qemu_argv(pid: int) -> list[str] | None:
    """The argv QEMU received (None before it exists)."""
    return argv_of(pid) if pid else None


class Recorder:
    """Executes a Recording (what to plant, read and when, decided by
    recording.py) in a QemuRun: plants its plan, records every hit, makes
    the Trace.  Breakpoints report to it through on_hit() only."""

    def __init__(self, recording: Recording, run: QemuRun):
        self.recording = recording
        self.run = run
        self.plan = recording.plan
        # argv -> Plan: the plan is made at main, from the argv QEMU really
        # received (its /proc/PID/cmdline), not from gdb's argument string.
        self.planner = recording.plan_for
        self.argv: list[str] | None = None
        self.hits: list[Hit] = []
        self.breakpoints: list[gdb.Breakpoint] = []
        self._unplanted: list[str] = []
        self.needs_finish: set[str] = set()
        self._anchors: dict[int, dict] = {}   # thread -> function -> (sp, frames)
        # recorded elsewhere than at their entry (a reply at its return, a
        # writer on its ways through): an activation of theirs is not sure
        # to have been recorded, so their frames are never reused
        self._not_at_entry: set[str] = set()
        self._chain = FrameChain(run.roots)
        # stderr a file (qemuinit from a shell): note its size at each hit,
        # which places QEMU's error lines between hits exactly.
        self._stderr_is_file = stat.S_ISREG(os.fstat(2).st_mode)
        self._open: dict[str, list[tuple[Hit, str | None]]] = {}   # replies being read
        self.recording_seconds = 0.0      # spent in stop() recording hits
        self._first_hit_of_stop = 0       # the hits of the coming stop start here
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
        self.run.stops += 1
        if at == FINISH:
            self.close_reply(function, ret)
            return False
        if at == RETURN:
            self.record_return(function, ret)
            return self.wants_real_stop()
        if at == CALL:
            self.record_call(function)
            return False
        if at == EXIT:
            return self.record_exit(function, ret)
        hit = self.record_hit(function)     # at its entry, or on its way through
        if at == WRITE and hit is not None:
            hit.reads = {**(hit.reads or {}), "written": True}
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
        reads = read_values(exprs) if exprs else None
        if reads and function in self.recording.reads_by:
            reads.update(read_some(self.recording.reads_by[function], reads))
        hit = Hit(seq=len(self.hits) + 1, function=function, thread=num,
                  frames=self._walk(function, num),
                  reads=reads,
                  t=round(now - self.run.started, 6),
                  err=os.fstat(2).st_size if self._stderr_is_file else None)
        self.hits.append(hit)
        self.recording_seconds += time.monotonic() - now
        return hit

    def _walk(self, function: str, thread: int) -> list[Frame]:
        """The backtrace at a hit: by the frame-pointer chain where it can
        be followed (framechain.py), else by gdb's unwinder, where a frame
        in a library whose symbols are not read yet asks for a real stop
        (see wants_real_stop)."""
        anchors = self._anchors.setdefault(thread, {})
        newest = gdb.newest_frame()     # each call rebuilds it: once per hit
        frames = self._chain.walk(newest)
        if frames is not None:
            # This activation is not kept (its sp not read): a later gdb
            # walk must not take an older one of this function for it.
            anchors.pop(function, None)
            return frames
        nameless: list[int] = []
        frames = walk_frames(self.run.roots, frame=newest, anchors=anchors, nameless=nameless)
        if nameless:
            self.wanted_libraries |= self.run.symbols.unread(nameless)
        if len(frames) > 1 and function not in self._not_at_entry:
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
        hit = self._latest_on_this_thread(function)
        if hit is not None:
            hit.reads = {**(hit.reads or {}), "written": True}

    def record_exit(self, function: str, ret: int | None) -> bool:
        """A started function returned (phase device-start): its value into
        its entry's hit on this thread, with the last hit before it.  True
        (a real stop, which ends the run) once every awaited NIC's start
        has returned."""
        hit = self._latest_on_this_thread(function)
        if hit is not None and (hit.reads is None or "ret" not in hit.reads):
            hit.reads = {**(hit.reads or {}), "ret": ret, "returned_after": len(self.hits)}
        return self.starts_returned() is not None

    def _latest_on_this_thread(self, function: str) -> Hit | None:
        """`function`'s latest hit on the thread QEMU stopped in."""
        thread = gdb.selected_thread()
        num = thread.num if thread else 0
        return next((h for h in reversed(self.hits)
                     if h.function == function and h.thread == num), None)

    def starts_returned(self) -> dict[str, int] | None:
        """Each awaited netdev's last start's return value, once every one
        has returned (with none awaited, the first start); else None."""
        started = self.recording.started
        if started is None:
            return None
        returned: dict[str, int] = {}
        for hit in self.hits:
            r = hit.reads or {}
            if hit.function == started.function and r.get("ret") is not None:
                returned[str(r.get("netdev"))] = r["ret"]
        awaited = self.plan.awaited or tuple(returned)[:1]
        if not awaited or any(n not in returned for n in awaited):
            return None
        return {n: returned[n] for n in awaited}

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

    # -- set up / tear down ---------------------------------------------------
    def plant(self, qemu: dict) -> None:
        """One breakpoint per planned function.  Called once QEMU is at main:
        its libraries are loaded, so a breakpoint that stays pending has no
        symbol and is dropped (library ones stay, for a library loaded
        later), and its callers confirmed below ([always]) get breakpoints
        of their own.  Planting after the libraries load also spares gdb
        re-setting every breakpoint at each of QEMU's ~40 library loads."""
        self.argv = qemu_argv(gdb.selected_inferior().pid)
        if self.planner is not None:     # before QEMU exists: gdb's idea of it
            self.plan = self.planner(self.argv or qemu.get("argv") or [])
        fallback = self.plan.fallback or {}
        todo = list(self.plan.functions)
        with PendingOn(), Quiet(), NoStderr():
            self.run.symbols.read(self.plan.library_symbols)
            while todo:
                fn = todo.pop(0)
                bp = RecordingBreakpoint(fn, self)
                if bp.pending and fn in self.plan.library:
                    self.run.symbols.read_all()   # in a library not named?
                if bp.pending:
                    # No symbol: the callers left to its backtraces need their own.
                    todo += [f for f in fallback.get(fn, ()) if f not in todo]
                    if fn not in self.plan.library:
                        self._unplanted.append(fn)
                        bp.delete()
                        continue
                if fn in self.recording.writes and self._plant_ways_through(bp, fn):
                    continue
                if fn in self.recording.writes:
                    sites = call_sites(bp, self.recording.writes[fn])
                    self.breakpoints += [CallSiteBreakpoint(a, self, fn) for a in sites]
                    if sites:
                        self.writes_watched.append(fn)
                if self.recording.started and fn == self.recording.started.function:
                    self.breakpoints += [ExitBreakpoint(a, self, fn)
                                         for a in return_addresses(bp)]
                if fn in self.recording.replies:
                    returns = return_addresses(bp)
                    if returns:
                        # Recorded at its return instructions only: no entry stop.
                        self._not_at_entry.add(fn)
                        bp.delete()
                        self.breakpoints += [ReturnBreakpoint(a, self, fn) for a in returns]
                        continue
                    self.needs_finish.add(fn)
                self.breakpoints.append(bp)

    def _plant_ways_through(self, bp: RecordingBreakpoint, fn: str) -> bool:
        """A function that writes a message (recording.writes), recorded in
        one stop each: at its call of the writer, and at each jump that
        leaves before it, instead of its entry.  The message reads there as
        at the entry: nothing before the call changes it but the
        need-reply flag QEMU clears on a request it skips, which expects
        no reply either way (analysis/vhostuser.py).  False where its
        instructions do not show every way (the entry and the call sites
        are planted instead)."""
        if (self.recording.started and fn == self.recording.started.function
                or fn in self.recording.replies or len(bp.locations) != 1):
            return False
        points = ways_through(bp, self.recording.writes[fn])
        if points is None:
            return False
        self._not_at_entry.add(fn)
        bp.delete()
        self.breakpoints += [WriteBreakpoint(points.call, self, fn)]
        self.breakpoints += [LeaveBreakpoint(a, self, fn) for a in points.leaves]
        self.writes_watched.append(fn)
        return True

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
        return self._unplanted + [bp.function for bp in self.breakpoints
                                  if bp.is_valid() and bp.pending]

    # -- the run's hooks (qemurun.RunRecorder) ---------------------------------
    def at_main(self) -> None:
        """The run stopped at main anyway: record it when it is planned."""
        if "main" in self.plan.functions or "main" in self.recording.documented:
            self.record_hit("main")

    def before_resume(self) -> None:
        self._first_hit_of_stop = len(self.hits)

    def on_stop(self, breakpoints: list) -> Outcome | None:
        """A real stop at some of ours: read the libraries a backtrace ran
        into, plant a reply's finish breakpoint, or end at the answer."""
        if self.wanted_libraries:
            self._read_wanted_libraries()
        for bp in breakpoints:
            if bp.function in self.needs_finish:
                self.breakpoints.append(ReplyFinish(self, bp.function))
        answer = [b for b in breakpoints if self.is_answer(b.function)]
        if answer and self.recording.event:
            return Outcome(state=WATCHED, detail=f"{self.recording.event}: QEMU entered "
                                                 f"{answer[0].function}")
        if answer:
            return Outcome(state=ANSWERED, detail=f"QEMU is stopped at {answer[0].function}")
        returned = self.starts_returned()
        if returned is not None:
            failed = {n: r for n, r in returned.items() if r != 0}
            if failed:
                return Outcome(state=START_FAILED, detail="the start of " + ", ".join(
                    f"{n} returned {r}" for n, r in failed.items()))
            return Outcome(state=DEVICES_STARTED,
                           detail=f"the guest started {', '.join(returned)}")
        return None

    # -- the trace ---------------------------------------------------------------
    def trace(self, outcome: Outcome, qemu: dict) -> Trace:
        """The Trace of the run that ended with `outcome` (QEMU still as the
        run left it: what it ended up as is read here)."""
        documented = self.recording.documented
        stages = [h.function for h in self.hits
                  if not documented or h.function in documented]
        outcome.last_stage = stages[-1] if stages else None
        if self.argv:       # what QEMU received, byte for byte
            qemu = dict(qemu, argv=self.argv)
        qemu = self.run.qemu_with_run(qemu)
        missing = list(dict.fromkeys(self.missing_symbols()
                                     + self._unseen_without_symbol(qemu["binary"])))
        trace = Trace(qemu=qemu, outcome=outcome, hits=self.hits,
                      planted=list(dict.fromkeys(bp.function for bp in self.breakpoints)),
                      missing_symbols=missing, debug_info=has_debug_info())
        trace.extra["clock"] = clock_section(self.run.started, self.run.stops,
                                             self.recording_seconds)
        if outcome.state == INIT_COMPLETE and self.recording.final and self.recording.key:
            trace.extra["final_reads"] = self._final_reads()
        enums = self._read_enums()
        if enums:
            trace.extra["enums"] = enums
        if self.writes_watched:
            trace.extra["writes_watched"] = self.writes_watched
        if trace.debug_info:
            near = names_near_each(qemu["binary"], [fn for fn in missing
                                                    if fn in self.recording.documented])
            if near:
                trace.extra["symbols_near"] = near
        return trace

    def _read_wanted_libraries(self) -> None:
        """At a real stop asked for by wants_real_stop: read the libraries
        and walk this stop's hits again (QEMU has not moved)."""
        libs, self.wanted_libraries = self.wanted_libraries, set()
        self.run.symbols.read_files(libs)
        for hit in self.hits[self._first_hit_of_stop:]:
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


def record(qemu: dict, recording: Recording, timeout: float | None, kill: bool,
           lazy_libraries: bool = True) -> Trace:
    """Execute `recording` on QEMU (starting.qemu_under_gdb()): plant (its
    plan, or the one it makes at main from QEMU's real argv), run to its
    main loop (or a question's first stop), then end the run as every qinit
    run ends (QemuRun.finish)."""
    run = QemuRun(recording.plan.end, timeout, lazy_libraries, recording.blocking_reads,
                  goal=recording.goal, watch=recording.watch, event=recording.event,
                  on_request=recording.on_request)
    recorder = Recorder(recording, run)
    trace = run.carry_out(qemu, recorder, kill, lambda outcome: recorder.trace(outcome, qemu))
    # QEMU stopped outside the run's continues (planting, real stops, the
    # trace made, the breakpoints out): known once the run has ended
    if run.ended:
        trace.extra["clock"]["stopped_outside_run_seconds"] = round(
            run.ended - run.started - run.running_seconds, 6)
    return trace
