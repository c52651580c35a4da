"""Why QEMU hangs during init: where its main thread blocks, which kind of
hang that is, which socket it waits on and in which role, the request in
flight, and what would unblock it (data/vhost-user.toml [[blocking]])."""

from __future__ import annotations

from typing import TypeVar

from ..qemu.cmdline import Chardev, QemuCommandLine
from .summary import chain
from ..model.problems import OTHER, BlockedRequest, Hang
from ..model.records import ABSENT, Absent
from ..model.trace import CUT_SHORT, Frame, Hit, Trace
from ..model.initpath import InitPath
from ..model.spec import Spec

T = TypeVar("T")

ROLES = {"server": "server: QEMU listens, the backend must connect as a client",
         "client": "client: QEMU connects, the backend must listen as a server"}


def match(spec: Spec, stack: list[str]) -> dict | None:
    """The first [[blocking]] entry whose function (and every `also`) is on
    `stack` (function names)."""
    names = set(stack)
    return next((b for b in spec.blocking if b["function"] in names
                 and all(a in names for a in b.get("also", ()))), None)


def describe_wait(spec: Spec, path: InitPath, frames: list[Frame], reads: dict,
                  cl: QemuCommandLine | None) -> Hang:
    """Where a thread blocks, as the report's "hang" section: `frames`
    innermost first, `reads` {function: {name: value}} at its frames, `cl`
    QEMU's command line (None: unknown), `path` the documented path its
    negotiation steps come from."""
    stack = [f.function or "??" for f in frames]
    entry = match(spec, stack)
    innermost = stack[0] if stack else None
    blocked_in = next((f.function for f in frames if f.file), innermost)
    if entry is None:
        return Hang(blocked_in=blocked_in, chain=chain(frames), monitor=spec.monitor_note,
                    kind=OTHER, stage="not a documented wait: see the chain")
    got = (reads or {}).get(entry["function"], {})
    chardev = got.get("chardev")
    dev = socket_of(cl, chardev)
    reconnect = got.get("reconnect")
    if reconnect is None and dev is not None:
        reconnect = dev.reconnect_seconds
    request = None
    if got.get("request") is not None:
        request = BlockedRequest(got["request"], spec.name(got["request"]),
                                 *_step(spec, path, frames))
    fill = {"socket": dev.path if dev and dev.path else "the chardev's socket",
            "request": request.name if request else "the request",
            "reconnect": f"{reconnect:g}" if isinstance(reconnect, (int, float)) else "N"}
    return Hang(blocked_in=_given(blocked_in), chain=chain(frames),
                monitor=entry.get("monitor") or spec.monitor_note,
                hanging=False if entry.get("hang") is False else ABSENT,
                kind=_given(entry.get("kind")), function=entry["function"],
                stage=entry["stage"].format(**fill),
                chardev=_given(chardev or (dev.id if dev else None)),
                socket=_given(dev.path if dev else None),
                role=_given(dev.role if dev else None),
                role_means=_given(ROLES.get(dev.role) if dev else None),
                wait=dev.wait if dev else None,
                reconnect_seconds=_given(reconnect or None), request=_given(request),
                unblock=_given(entry["unblock"].format(**fill) or None))


def _given(value: T | None) -> T | Absent:
    """A key of the section is left out when it has nothing to say."""
    return ABSENT if value is None else value


def _step(spec: Spec, path: InitPath,
          frames: list[Frame]) -> tuple[int | None, str | None, str | None]:
    """The documented negotiation step a blocked request belongs to."""
    from . import vhostuser
    hit = Hit(0, frames[0].function or "??", 1, frames)
    step, under = vhostuser.step_of(path, hit, spec.record["negotiation_starts"])
    names = [f.function for f in frames]
    reader = spec.record["reply"]
    i = names.index(reader) if reader in names else -1
    sent_by = names[i + 1] if 0 <= i < len(names) - 1 else None
    return step, under, sent_by


def diagnosis(trace: Trace, spec: Spec, path: InitPath,
              cl: QemuCommandLine | None) -> Hang | None:
    """None unless QEMU was interrupted (timeout, Ctrl-C) before its main loop."""
    o = trace.outcome
    if o.state not in CUT_SHORT or not o.frames:
        return None
    return describe_wait(spec, path, o.frames, o.reads or {}, cl)


def socket_of(cl: QemuCommandLine | None, chardev: str | None) -> Chardev | None:
    """The socket of `chardev` (read where QEMU blocks), or else the only
    vhost-user (or unix-socket) chardev there is."""
    if cl is None:
        return None
    dev = cl.chardev(chardev)
    if dev is None and not chardev:
        socks = [c for _, c in cl.vhost_user() if c is not None] or cl.unix_sockets()
        dev = socks[0] if len(socks) == 1 else None
    return dev
