"""Why QEMU hangs, as text: the diagnosis of a trace's `hang` section
(`analysis/blocking.diagnosis`) and the whole `qemuinit hang` document
(`analysis/hang.diagnose`)."""

from __future__ import annotations

from .findings import format_findings


def format_diagnosis(doc: dict | None) -> str:
    if not doc:
        return ""
    lines = ["Where QEMU is" if doc.get("hanging") is False else "Why QEMU hangs"]
    if doc.get("function"):
        lines.append(f"  blocked in {doc['function']} (innermost frame: {doc['blocked_in']})")
    else:
        lines.append(f"  blocked in {doc['blocked_in']}")
    if doc.get("kind"):
        lines.append(f"  kind: {doc['kind']}")
    lines.append(f"  stage: {doc['stage']}")
    r = doc.get("request")
    if r:
        lines.append(f"  request in flight: {r['name']} ({r['request']})"
                     + (f", step {r['step']}" if r.get("step") else "")
                     + (f" under {r['under']}" if r.get("under") else "")
                     + (f", sent by {r['sent_by']}" if r.get("sent_by") else ""))
    if doc.get("socket"):
        extra = (f", reconnect={doc['reconnect_seconds']:g}"
                 if doc.get("reconnect_seconds") else "")
        wait = "" if doc.get("wait") is None or doc.get("role") == "client" \
            else f", wait={'on' if doc.get('wait') else 'off'}"
        lines.append(f"  socket: {doc['socket']} (chardev {doc.get('chardev') or '?'}"
                     f"{wait}{extra})")
        lines.append(f"  role: {doc.get('role_means') or doc.get('role')}")
    lines.append(f"  chain: {doc['chain']}")
    lines.append(f"  monitor: {doc['monitor']}")
    if doc.get("unblock"):
        lines.append(f"  unblocks it: {doc['unblock']}")
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


def format_hang(doc: dict) -> str:
    lines = [f"QEMU PID {doc['pid']}: " + " ".join(doc["argv"][:1]) +
             (f" ({len(doc['argv']) - 1} arguments)" if doc["argv"] else "")]
    lines.append(format_diagnosis(doc["hang"]).rstrip("\n"))
    if doc.get("peer"):
        lines.append(f"Who is at {doc['peer']['path']}")
        lines += _peer_lines(doc["peer"])
    lines.append("Threads")
    for t in doc["threads"]:
        named = ", " + t["name"] if t.get("name") else ""
        lines.append(f"  thread {t['num']} (LWP {t['lwp']}{named}"
                     f"{', main' if t['main'] else ''}): "
                     + (f"in {t['sits_in']}: " if t.get("sits_in") else "") + t["chain"])
    found = format_findings(doc.get("findings", []))
    if found:
        lines.append(found.rstrip("\n"))
    if doc.get("attached"):
        lines.append("qemuinit detached: QEMU goes on as before.")
    return "\n".join(lines) + "\n"
