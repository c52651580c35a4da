"""The first error of a cascade.  When init fails, QEMU prints a line per
layer it unwinds (`Failed to write msg...`, `vhost_backend_init failed...`,
`failed to init vhost_net for queue 0`); what matters is the first failing
step: the request in flight, the call that failed, its backtrace and QEMU's
first line.  The lines after it are its consequences.  Pure: from the
decoded vhost-user rounds, the hits and QEMU's stderr."""

from __future__ import annotations

import errno
import os

from .summary import chain
from ..model.negotiation import FAILED, Message, Round, rounds_of
from ..model.problems import FirstError, SentRequest
from ..model import devicestart
from ..model.trace import EXITED, Trace
from ..qemu.cmdline import QemuCommandLine

QUIET = (": info: ", ": warning: ")


def _errors(trace: Trace) -> list[str]:
    return [ln["line"] for ln in trace.extra.get("qemu_stderr", [])
            if not any(q in ln["line"] for q in QUIET)]


def _failed_call(msg: Message) -> str:
    ret = msg.reply.ret if msg.reply else None
    if isinstance(ret, int) and ret < 0:
        return (f"reading the reply to {msg.name}: vhost_user_read returned {ret}"
                + (f" ({errno.errorcode[-ret]}: {os.strerror(-ret)})"
                   if -ret in errno.errorcode else ""))
    if not msg.reply:
        return (f"sending {msg.name} or reading its reply: no reply was read "
                f"(the connection was gone)")
    return f"after {msg.name}"


def _cut_of(trace: Trace, cl: QemuCommandLine | None, chardev: str | None) -> dict | None:
    """The relay's cut (--cut-after), if it sat in front of `chardev`'s
    socket (a trace that does not say which socket: any)."""
    fault = trace.extra.get("fault") or {}
    cut = fault.get("cut")
    if not cut or not fault.get("socket") or chardev is None:
        return cut
    ch = cl.chardev(chardev) if cl else None
    return cut if ch is None or ch.path == fault["socket"] else None


def first_error(trace: Trace, cl: QemuCommandLine | None) -> FirstError | None:
    """For the first failed vhost-user round: its request, the call that
    failed, where it was sent from and QEMU's lines; for an init that exited
    without one, QEMU's first error line and the last documented stage."""
    rounds = rounds_of(trace)
    failed = next((r for r in rounds if r.result == FAILED), None)
    if failed is not None:
        return _failed_round(trace, cl, rounds, failed)
    o = trace.outcome
    start = next((n for n in devicestart.starts_of(trace) if n.result == devicestart.FAILED),
                 None)
    if start is not None:
        # the guest's start of a NIC failed: where, and QEMU's lines since
        last = next((h for h in trace.hits if h.function == start.failed_in
                     and start.hit is not None and h.seq > start.hit), None)
        return FirstError(round=None, request=None,
                          call=f"the start of {start.netdev}: vhost_net_start returned "
                               f"{start.ret}" + (f" ({start.error})" if start.error else ""),
                          chain=chain(last.frames) if last else None,
                          frames=list(last.frames) if last else [],
                          stage=start.failed_in or None,
                          first_line=start.qemu_said[0] if start.qemu_said else None,
                          consequences=start.qemu_said[1:])
    errors = _errors(trace)
    if o.state == EXITED and errors:
        return FirstError(round=None, request=None, call=None, chain=None, frames=[],
                          stage=o.last_stage, first_line=errors[0], consequences=errors[1:])
    return None


def _failed_round(trace: Trace, cl: QemuCommandLine | None, rounds: list[Round],
                  failed: Round) -> FirstError:
    msg = next((m for m in reversed(failed.messages) if m.name == failed.failed_at),
               failed.messages[-1])
    hit = next((h for h in trace.hits if h.seq == msg.seq), None)
    lines = failed.errors
    cut = _cut_of(trace, cl, failed.chardev)
    # what QEMU did next on that chardev (others' rounds are theirs)
    mine = [r for r in rounds if r.chardev == failed.chardev]
    return FirstError(
        injected=(f"the backend's connection {cut['connection']} was cut right "
                  f"after {cut['after']} (--cut-after)" if cut else None),
        round=failed.round, connection=failed.connection,
        request=SentRequest(msg.name, msg.request, msg.step, msg.sent_by, msg.under),
        call=_failed_call(msg),
        chain=chain(hit.frames) if hit else None,
        frames=list(hit.frames) if hit else [],
        first_line=lines[0] if lines else None,
        consequences=lines[1:],
        then=(f"QEMU went on: round {mine[-1].round} {mine[-1].result}"
              if mine[-1] is not failed else None))
