"""Why QEMU hangs, as text: the diagnosis of a trace's `hang` section
(`analysis/blocking.diagnosis`) and the whole `qemuinit hang` document
(`analysis/hang.diagnose`)."""

from __future__ import annotations

from .findings import format_findings
from ..model.problems import Hang, HangReport


def format_diagnosis(section: Hang | dict | None) -> str:
    """The trace's "hang" section (its JSON too) as text."""
    if not section:
        return ""
    doc = Hang.of(section)
    lines = ["Where QEMU is" if doc.hanging is False else "Why QEMU hangs"]
    if doc.function:
        lines.append(f"  blocked in {doc.function} (innermost frame: {doc.blocked_in})")
    else:
        lines.append(f"  blocked in {doc.blocked_in}")
    if doc.kind:
        lines.append(f"  kind: {doc.kind}")
    lines.append(f"  stage: {doc.stage}")
    r = doc.request
    if r:
        lines.append(f"  request in flight: {r.name} ({r.request})"
                     + (f", step {r.step}" if r.step else "")
                     + (f" under {r.under}" if r.under else "")
                     + (f", sent by {r.sent_by}" if r.sent_by else ""))
    if doc.socket:
        # in seconds (read from QEMU, else from the command line): not in an
        # option's spelling, which is by release
        extra = (f", retries every {doc.reconnect_seconds:g} s" if doc.reconnect_seconds
                 else "")
        wait = "" if not isinstance(doc.wait, bool) or doc.role == "client" \
            else f", wait={'on' if doc.wait else 'off'}"
        lines.append(f"  socket: {doc.socket} (chardev {doc.chardev or '?'}"
                     f"{wait}{extra})")
        lines.append(f"  role: {doc.role_means or doc.role or None}")
    lines.append(f"  chain: {doc.chain}")
    lines.append(f"  monitor: {doc.monitor}")
    if doc.unblock:
        lines.append(f"  unblocks it: {doc.unblock}")
    return "\n".join(lines) + "\n"


def describe_process(p: dict) -> str:
    """'PID 123 (dpdk-testpmd --no-huge ...)' for a report."""
    cmd = " ".join(p.get("cmdline") or []) or "command line not readable"
    if len(cmd) > 160:
        cmd = cmd[:157] + "..."
    return f"PID {p['pid']} ({cmd})"


def _peer_lines(peer: dict | None) -> list[str]:
    if peer is None:
        return []
    lines = []
    listening = peer["listening"]
    lines.append("  listening: " + ("; ".join(
        ("QEMU itself, " if p["qemu"] else "") + describe_process(p) for p in listening)
        if listening else "nothing listens on it"))
    conns = peer["connections"]
    if not conns:
        lines.append("  connected: nothing is connected through it")
    for i, c in enumerate(conns, 1):
        ends = []
        for side in ("server", "client"):
            procs = c[side]
            ends.append(f"{side} side " + (", ".join(
                ("QEMU " if p["qemu"] else "") + describe_process(p) for p in procs)
                if procs else "(process not visible)"))
        lines.append(f"  connection {i}: " + "; ".join(ends))
    return lines


def format_hang(doc: HangReport | dict) -> str:
    """`qemuinit hang`'s document (as JSON too: the CLI reads gdb's)."""
    rep = HangReport.of(doc)
    lines = [f"QEMU PID {rep.pid}: " + " ".join(rep.argv[:1]) +
             (f" ({len(rep.argv) - 1} arguments)" if rep.argv else "")]
    lines.append(format_diagnosis(rep.hang).rstrip("\n"))
    if rep.peer:
        lines.append(f"Who is at {rep.peer['path']}")
        lines += _peer_lines(rep.peer)
    lines.append("Threads")
    for t in rep.threads:
        named = ", " + t.name if t.name else ""
        lines.append(f"  thread {t.num} (LWP {t.lwp}{named}"
                     f"{', main' if t.main else ''}): "
                     + (f"in {t.sits_in}: " if t.sits_in else "") + t.chain)
    found = format_findings(rep.findings)
    if found:
        lines.append(found.rstrip("\n"))
    if rep.attached:
        lines.append("qemuinit detached: QEMU goes on as before.")
    return "\n".join(lines) + "\n"
