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
from .summary import chain
from ..model.trace import Frame
from .vhostuser import Spec, load_spec

SCHEMA = "qemuinit.hang/1"


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
    """`threads`: [{"num", "lwp", "name", "frames": [Frame], "reads"}]."""
    spec = spec or load_spec()
    main = next((t for t in threads if t["lwp"] == pid), threads[0] if threads else None)
    doc: dict = {"schema": SCHEMA, "pid": pid, "argv": argv, "attached": attached}
    hang = (blocking.describe_wait(spec, main["frames"], main["reads"], argv)
            if main and main["frames"] else {"kind": "other", "stage": "no thread to read"})
    doc["hang"] = hang
    doc["threads"] = [{"num": t["num"], "lwp": t["lwp"], "name": t.get("name"),
                       "main": t is main, "chain": chain(t["frames"]),
                       "sits_in": sits_in(spec, t["frames"], t["reads"]),
                       "frames": [f._asdict() for f in t["frames"]]} for t in threads]
    peer = peers.at_path(hang["socket"], pid) if hang.get("socket") else None
    doc["peer"] = peer
    cl = blocking.command_line(argv)
    found = findings.from_command_line(cl) if cl else []
    found += findings.from_peers(hang.get("role"), hang.get("socket"), peer)
    doc["findings"] = found
    return doc


def _peer_lines(peer: dict | None) -> list[str]:
    if peer is None:
        return []
    lines = []
    listening = peer["listening"]
    lines.append("  listening: " + ("; ".join(
        ("QEMU itself, " if p["qemu"] else "") + peers.describe(p) for p in listening)
        if listening else "nothing listens on it"))
    conns = peer["connections"]
    if not conns:
        lines.append("  connected: nothing is connected through it")
    for i, c in enumerate(conns, 1):
        ends = []
        for side in ("server", "client"):
            procs = c[side]
            ends.append(f"{side} side " + (", ".join(
                ("QEMU " if p["qemu"] else "") + peers.describe(p) for p in procs)
                if procs else "(process not visible)"))
        lines.append(f"  connection {i}: " + "; ".join(ends))
    return lines


def format_hang(doc: dict) -> str:
    lines = [f"QEMU PID {doc['pid']}: " + " ".join(doc["argv"][:1]) +
             (f" ({len(doc['argv']) - 1} arguments)" if doc["argv"] else "")]
    lines.append(blocking.format_diagnosis(doc["hang"]).rstrip("\n"))
    if doc.get("peer"):
        lines.append(f"Who is at {doc['peer']['path']}")
        lines += _peer_lines(doc["peer"])
    lines.append("Threads")
    for t in doc["threads"]:
        named = ", " + t["name"] if t.get("name") else ""
        lines.append(f"  thread {t['num']} (LWP {t['lwp']}{named}"
                     f"{', main' if t['main'] else ''}): "
                     + (f"in {t['sits_in']}: " if t.get("sits_in") else "") + t["chain"])
    found = findings.format_findings(doc.get("findings", []))
    if found:
        lines.append(found.rstrip("\n"))
    if doc.get("attached"):
        lines.append("qemuinit detached: QEMU goes on as before.")
    return "\n".join(lines) + "\n"
