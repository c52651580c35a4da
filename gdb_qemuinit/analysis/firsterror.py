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
from ..model.trace import EXITED, Trace
from ..qemu.cmdline import QemuCommandLine

QUIET = (": info: ", ": warning: ")


def _errors(trace: Trace) -> list[str]:
    return [ln["line"] for ln in trace.extra.get("qemu_stderr", [])
            if not any(q in ln["line"] for q in QUIET)]


def _failed_call(msg: dict) -> str:
    reply = msg.get("reply") or {}
    ret = reply.get("ret")
    if isinstance(ret, int) and ret < 0:
        return (f"reading the reply to {msg['name']}: vhost_user_read returned {ret}"
                + (f" ({errno.errorcode[-ret]}: {os.strerror(-ret)})"
                   if -ret in errno.errorcode else ""))
    if "reply" not in msg:
        return (f"sending {msg['name']} or reading its reply: no reply was read "
                f"(the connection was gone)")
    return f"after {msg['name']}"


def _cut_of(trace: Trace, chardev: str | None) -> dict | None:
    """The relay's cut (--cut-after), if it sat in front of `chardev`'s
    socket (a trace that does not say which socket: any)."""
    fault = trace.extra.get("fault") or {}
    cut = fault.get("cut")
    if not cut or not fault.get("socket") or chardev is None:
        return cut
    cl = QemuCommandLine.of_recorded(trace.qemu.get("argv"))
    ch = cl.chardev(chardev) if cl else None
    return cut if ch is None or ch.path == fault["socket"] else None


def first_error(trace: Trace) -> dict | None:
    """{"round", "request", "call", "chain", "first_line", "consequences"} for
    the first failed vhost-user round; for an init that exited without one,
    QEMU's first error line and the last documented stage."""
    rounds = (trace.extra.get("vhost_user") or {}).get("rounds", [])
    failed = next((r for r in rounds if r["result"] == "failed"), None)
    if failed is not None:
        name = failed.get("failed_at")
        msg = next((m for m in reversed(failed["messages"]) if m["name"] == name),
                   failed["messages"][-1])
        hit = next((h for h in trace.hits if h.seq == msg["seq"]), None)
        lines = failed.get("errors", [])
        cut = _cut_of(trace, failed.get("chardev"))
        # what QEMU did next on that chardev (others' rounds are theirs)
        mine = [r for r in rounds if r.get("chardev") == failed.get("chardev")]
        return {"injected": f"the backend's connection {cut['connection']} was cut right "
                            f"after {cut['after']} (--cut-after)" if cut else None,
                "round": failed["round"], "connection": failed["connection"],
                "request": {k: msg.get(k) for k in ("name", "request", "step", "sent_by",
                                                    "under")},
                "call": _failed_call(msg),
                "chain": chain(hit.frames) if hit else None,
                "frames": [f._asdict() for f in hit.frames] if hit else [],
                "first_line": lines[0] if lines else None,
                "consequences": lines[1:],
                "then": f"QEMU went on: round {mine[-1]['round']} "
                        f"{mine[-1]['result']}" if mine[-1] is not failed else None}
    o = trace.outcome
    errors = _errors(trace)
    if o.state == EXITED and errors:
        return {"round": None, "request": None, "call": None, "chain": None,
                "frames": [], "stage": o.last_stage,
                "first_line": errors[0], "consequences": errors[1:]}
    return None
