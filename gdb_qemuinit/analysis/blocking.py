"""Why QEMU hangs during init: where its main thread blocks, which kind of
hang that is, which socket it waits on and in which role, the request in
flight, and what would unblock it (data/vhost-user.toml [[blocking]])."""

from __future__ import annotations

from ..qemu.cmdline import Chardev, QemuCommandLine
from .summary import chain
from ..model.trace import CUT_SHORT, Frame, Hit, Trace
from ..model.spec import Spec, load_spec

ROLES = {"server": "server: QEMU listens, the backend must connect as a client",
         "client": "client: QEMU connects, the backend must listen as a server"}


def match(spec: Spec, stack: list[str]) -> dict | None:
    """The first [[blocking]] entry whose function (and every `also`) is on
    `stack` (function names)."""
    names = set(stack)
    return next((b for b in spec.blocking if b["function"] in names
                 and all(a in names for a in b.get("also", ()))), None)


def describe_wait(spec: Spec, frames: list[Frame], reads: dict, argv: list[str]) -> dict:
    """Where a thread blocks, as the report's "hang" section: `frames`
    innermost first, `reads` {function: {name: value}} at its frames."""
    stack = [f.function or "??" for f in frames]
    entry = match(spec, stack)
    innermost = stack[0] if stack else None
    doc: dict = {"blocked_in": next((f.function for f in frames if f.file), innermost),
                 "chain": chain(frames), "monitor": spec.monitor_note}
    if entry is None:
        doc.update(kind="other", stage="not a documented wait: see the chain")
        return doc
    got = (reads or {}).get(entry["function"], {})
    chardev = got.get("chardev")
    dev = socket_of(argv, chardev)
    path = dev.path if dev else None
    reconnect = got.get("reconnect")
    if reconnect is None and dev is not None:
        reconnect = dev.reconnect_seconds
    request = None
    if got.get("request") is not None:
        request = {"request": got["request"], "name": spec.name(got["request"])}
        request.update(_step(frames))
    fill = {"socket": path or "the chardev's socket",
            "request": request["name"] if request else "the request",
            "reconnect": f"{reconnect:g}" if isinstance(reconnect, (int, float)) else "N"}
    if entry.get("monitor"):
        doc["monitor"] = entry["monitor"]
    if entry.get("hang") is False:
        doc["hanging"] = False
    doc.update(kind=entry.get("kind"), function=entry["function"],
               stage=entry["stage"].format(**fill),
               chardev=chardev or (dev.id if dev else None),
               socket=path, role=dev.role if dev else None,
               role_means=ROLES.get(dev.role) if dev else None,
               wait=dev.wait if dev else None,
               reconnect_seconds=reconnect or None, request=request,
               unblock=entry["unblock"].format(**fill) or None)
    return {k: v for k, v in doc.items() if v is not None or k in ("wait",)}


def _step(frames: list[Frame]) -> dict:
    """The documented negotiation step a blocked request belongs to."""
    from ..model import initpath
    from . import vhostuser
    path = initpath.load()
    hit = Hit(0, frames[0].function or "??", 1, frames)
    step, under = vhostuser.step_of(path, hit, load_spec().record["negotiation_starts"])
    names = [f.function for f in frames]
    reader = load_spec().record["reply"]
    i = names.index(reader) if reader in names else -1
    sent_by = names[i + 1] if 0 <= i < len(names) - 1 else None
    return {"step": step, "under": under, "sent_by": sent_by}


def diagnosis(trace: Trace, spec: Spec | None = None) -> dict | None:
    """None unless QEMU was interrupted (timeout, Ctrl-C) before its main loop."""
    o = trace.outcome
    if o.state not in CUT_SHORT or not o.frames:
        return None
    return describe_wait(spec or load_spec(), o.frames, o.reads or {},
                         trace.qemu.get("argv", []))


def socket_of(argv: list[str], chardev: str | None) -> Chardev | None:
    """The socket of `chardev` (read where QEMU blocks), or else the only
    vhost-user (or unix-socket) chardev there is."""
    cl = QemuCommandLine.of_recorded(argv)
    if cl is None:
        return None
    dev = cl.chardev(chardev)
    if dev is None and not chardev:
        socks = [c for _, c in cl.vhost_user() if c is not None] or cl.unix_sockets()
        dev = socks[0] if len(socks) == 1 else None
    return dev
