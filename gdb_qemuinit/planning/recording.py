"""What a recorder does in one run, decided here, in pure code: what to
plant, what to read at each hit and when to stop.  The gdb Recorder
(gdbext/recorder.py) only executes it.

For `trace`: from the documented path, the vhost-user spec and QEMU's
command line.  For `where`: from the question.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, NamedTuple

from . import plan as planning
from ..model.origins import StopRule
from ..model.phases import Event, Phase, Started
from ..qemu.cmdline import CommandLineError, QemuCommandLine

if TYPE_CHECKING:
    from ..model.initpath import InitPath
    from ..model.spec import Spec
    from ..model.questions import Question

# function -> {name: gdb expression, or a list of them tried in order}
Reads = Mapping[str, Mapping[str, str | list[str]]]


class Recording(NamedTuple):
    plan: planning.Plan
    # QEMU's real argv (its /proc/PID/cmdline, read at main) -> the plan to
    # plant then, instead of `plan`: the paths this command line can take.
    plan_for: Callable[[list[str]], planning.Plan] | None = None
    # Documented functions: the last one hit is the outcome's last stage, and
    # those no backtrace showed are looked up after the run (absent versus
    # not-exercised).
    documented: tuple[str, ...] = ()
    reads: Reads = {}                   # read at each hit of the function
    # function -> [{"key", "value", "name", "reads", "count", "max"}]: read
    # only at hits whose `key` read has `value`, into reads[name] (a list of
    # `count` of them when given, $i the index)
    reads_by: dict[str, list[dict]] = {}
    # function -> {"pointer", "reads"}: read when it returns ($msg is the
    # message `pointer` names at its entry), with its return value
    replies: dict[str, dict] = {}
    # function -> the callee whose call in it puts its message on the wire:
    # a hit's "written" read says whether this invocation made that call
    writes: dict[str, str] = {}
    blocking_reads: Reads = {}          # read where QEMU's main thread blocks
    # Record the hit, then really stop, at the first hit this rule chooses.
    stop_rule: StopRule | None = None
    # Read once init is complete, for each value of the `key` read
    # ($key stands for it): what a recorded object ended up as.
    final: dict[str, str] = {}
    key: str | None = None
    # name -> {"types", "prefix", "skip", "near"}: enums read from the debug
    # info after the run, if a hit needs them (vhost-user request names)
    enums: dict[str, dict] = {}
    # The run ends once this function returned for every NIC the plan
    # awaits (its return value read into its entry's hit): phase device-start
    started: Started | None = None
    # What the run waits for, said when the time limit ends it
    # (what QEMU did not do, before what it ended): None, reach the plan's end
    goal: tuple[str, str] | None = None
    # A watch of a running QEMU: the time limit is its end, not a failure;
    # `event` (stop_rule's) ends it earlier.
    watch: bool = False
    event: str | None = None
    # The run also ends when the qemuinit that runs gdb asks (trace --qmp:
    # once its last QMP command is answered).
    on_request: bool = False


# What a run of a phase past init waits for, said when its time is up
START_GOAL = ("have every vhost NIC started by its guest driver", "every vhost NIC was started")
QMP_GOAL = ("answer every QMP command", "every QMP command was answered")


def for_trace(path: InitPath, spec: Spec, phase: Phase, naive: bool = False) -> Recording:
    """`qinit trace`: the documented path of `phase`, planned at main for
    QEMU's real command line; the vhost-user messages are read when it can
    send any (every function, hot ones too, with `naive`)."""
    reads = dict(spec.reads())
    goal = None
    if phase.started:
        reads[phase.started.function] = phase.started.reads
        goal = START_GOAL
    if phase.qmp:
        goal = QMP_GOAL
    return Recording(planning.Plan((), end=phase.end),
                     plan_for=functools.partial(trace_plan, path, spec, phase, naive),
                     documented=tuple(path.functions()), reads=reads,
                     reads_by=spec.reads_by_request(),
                     replies=spec.replies(), writes=spec.writes(),
                     blocking_reads=spec.blocking_reads(),
                     enums=spec.enums(), started=phase.started, goal=goal,
                     on_request=phase.qmp)


def for_watch(path: InitPath, spec: Spec, phase: Phase, event: Event | None) -> Recording:
    """`qinit watch`: the running QEMU's paths of `phase` (hot-plug, a
    backend's close and reconnect) and every vhost-user message (any NIC
    may be added), until the time limit or `event`."""
    rule = StopRule(functions=event.functions, within=event.within) if event else None
    also = tuple(dict.fromkeys((event.functions if event else ()) + tuple(phase.reads)))
    return Recording(planning.Plan((), end=None),
                     plan_for=functools.partial(trace_plan, path, spec, phase, False,
                                                also=also),
                     documented=tuple(path.functions()),
                     reads={**spec.reads(), **phase.reads},
                     reads_by=spec.reads_by_request(),
                     replies=spec.replies(), writes=spec.writes(),
                     enums=spec.enums(), stop_rule=rule, watch=True,
                     event=event.name if event else None)


def trace_plan(path: InitPath, spec: Spec, phase: Phase, naive: bool,
               argv: list[str], also: tuple[str, ...] = ()) -> planning.Plan:
    """The breakpoints of a trace of QEMU started with `argv` (or running
    with it: a watch), and the functions `also`."""
    command_line: QemuCommandLine | None
    try:
        command_line = QemuCommandLine.parse(argv)
    except CommandLineError:
        command_line = None         # QEMU will refuse it: plan for anything
    extra = list(phase.marks) + [f for f in also if f not in phase.marks]
    if phase.started:
        extra.append(phase.started.function)
    if naive:
        return planning.naive_plan(path, extra=spec.functions() + extra, end=phase.end)
    # A running QEMU may be given any NIC (hot-plug, by a watch or --qmp):
    # what its command line says rules nothing out, and every vhost-user
    # message is read.
    if phase.running or phase.qmp:
        command_line = None
    if phase.running or phase.qmp or spec.needed(command_line):
        extra = spec.functions() + extra
    plan = planning.make_plan(path, extra=extra, command_line=command_line, end=phase.end)
    if phase.started and command_line is not None:
        plan = plan._replace(awaited=awaited_netdevs(command_line, phase.started))
    return plan


def awaited_netdevs(command_line: QemuCommandLine, started: Started) -> tuple[str, ...]:
    """The netdevs whose NIC's start the run waits for (`started.per` is
    checked where the phase is loaded: vhost-nic)."""
    return tuple(n.id or "" for _, n in command_line.vhost_nics())


def for_question(q: Question, collect: bool, device: str | None = None) -> Recording:
    """`qinit where`: the question's stop points and reads.  Unless every
    answer is collected, QEMU stops at the first answer (no throwaway
    object, and of a question about devices, a device of the command line)
    or, with `device`, at that device's (origins.StopRule)."""
    from ..model import origins
    from ..model.throwaway import throwaway_functions
    phase = q.phase()
    rule = None if collect else StopRule(
        functions=(q.answer_stop,), within=q.within,
        throwaway=tuple(throwaway_functions()),
        command_line=origins.command_line_functions() if q.devices and device is None else (),
        device=device, names=origins.device_reads())
    if phase.started is None:
        return Recording(planning.stops_plan(q.stops, end=phase.end), reads=q.reads,
                         stop_rule=rule, final=q.final, key=q.key)
    # A phase past init: the run also waits for every vhost NIC's start
    # (with --all, to the phase's end), as a trace to that phase does.
    fn = phase.started.function
    plan = planning.stops_plan(q.stops + [fn], end=None)
    return Recording(plan, plan_for=functools.partial(question_plan, plan, phase.started),
                     reads={**q.reads, fn: {**phase.started.reads, **q.reads.get(fn, {})}},
                     stop_rule=rule, final=q.final, key=q.key, started=phase.started,
                     goal=START_GOAL)


def question_plan(plan: planning.Plan, started: Started, argv: list[str]) -> planning.Plan:
    """A question's stops, awaiting the NICs of QEMU started with `argv`."""
    try:
        command_line = QemuCommandLine.parse(argv)
    except CommandLineError:
        return plan
    return plan._replace(awaited=awaited_netdevs(command_line, started))
