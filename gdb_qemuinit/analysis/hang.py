"""`qinit hang` / `qemuinit hang PID`: why a running QEMU hangs, read at
once from the live process: its command line (/proc/PID/cmdline), every
thread's chain and what it sits in, the documented wait of the main thread
(kind, stage, chardev, socket, role, request in flight), who is at the
other end of the socket, and the findings.  Pure: the gdb side hands in
the threads.

    {"schema": "qemuinit.hang/1", "pid", "argv", "attached",
     "hang": {"kind", "stage", "chardev", "socket", "role", "wait", "request",
              "reconnect_seconds", "chain", "unblock", ...},
     "peer": {"path", "listening": [proc], "connections": [{"server", "client"}]},
     "threads": [{"num", "lwp", "name", "main", "chain", "sits_in"}],
     "findings": [{"id", "seen", "change", "evidence"}]}
"""

from __future__ import annotations

from . import blocking
from . import findings
from ..qemu import peers
from ..qemu.cmdline import QemuCommandLine
from .summary import chain
from ..model.problems import HANG_SCHEMA, OTHER, Hang, HangReport, ThreadState
from ..model import initpath
from ..model.trace import Frame
from ..model.spec import Spec, load_spec

SCHEMA = HANG_SCHEMA


def sits_in(spec: Spec, frames: list[Frame], reads: dict) -> str | None:
    """What a thread waits in: the innermost frame named in [waits]."""
    for f in frames:
        w = spec.waits.get(f.function or "")
        if w:
            arg = (reads or {}).get(f.function, {}).get("arg")
            return w["what"].format(arg=f"{arg:#x}" if isinstance(arg, int) else "?") \
                + f" ({f.function})"
    return None


def wait_reads(spec: Spec) -> dict[str, dict[str, str]]:
    """The gdb expressions to read in each thread's frames: the blocking
    points' and the waits' (the address of the lock or condition)."""
    out = spec.blocking_reads()
    for fn, w in spec.waits.items():
        if w.get("read"):
            out.setdefault(fn, {})["arg"] = f"(unsigned long) {w['read']}"
    return out


def diagnose(pid: int, argv: list[str], threads: list[dict], attached: bool,
             spec: Spec | None = None) -> dict:
    """`threads`: [{"num", "lwp", "name", "frames": [Frame], "reads"}].  The
    document as JSON (a HangReport's)."""
    spec = spec or load_spec()
    cl = QemuCommandLine.of_recorded(argv)
    main = next((t for t in threads if t["lwp"] == pid), threads[0] if threads else None)
    hang = (blocking.describe_wait(spec, initpath.load(), main["frames"], main["reads"], cl)
            if main and main["frames"] else Hang(kind=OTHER, stage="no thread to read"))
    peer = peers.at_path(hang.socket, pid) if hang.socket else None
    found = findings.from_command_line(cl) if cl else []
    found += findings.from_peers(hang.role or None, hang.socket or None, peer)
    return HangReport(
        schema=SCHEMA, pid=pid, argv=argv, attached=attached, hang=hang,
        threads=[ThreadState(num=t["num"], lwp=t["lwp"], name=t.get("name"), main=t is main,
                             chain=chain(t["frames"]),
                             sits_in=sits_in(spec, t["frames"], t["reads"]),
                             frames=list(t["frames"])) for t in threads],
        peer=peer, findings=found).to_json()
