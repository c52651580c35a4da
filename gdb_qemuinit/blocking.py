"""Why QEMU hangs during init: where its main thread blocks, which socket it
waits on and in which role, and what would unblock it (data/vhost-user.toml
[[blocking]])."""

from __future__ import annotations

from . import scenario
from .summary import chain
from .trace import Trace
from .vhostuser import Spec, load_spec


def diagnosis(trace: Trace, spec: Spec | None = None) -> dict | None:
    """None unless QEMU was interrupted (timeout, Ctrl-C) before its main loop."""
    o = trace.outcome
    if o.state not in ("timeout", "interrupted") or not o.frames:
        return None
    spec = spec or load_spec()
    stack = [f.function for f in o.frames]
    entry = next((b for b in spec.blocking if b["function"] in stack), None)
    doc = {"blocked_in": next((f.function for f in o.frames if f.file), stack[0]),
           "chain": chain(o.frames), "monitor": spec.monitor_note}
    if entry is None:
        doc["stage"] = "not a documented wait: see the chain"
        return doc
    reads = (o.reads or {}).get(entry["function"], {})
    chardev = reads.get("chardev")
    sock = scenario.socket_of(trace.qemu.get("argv", []), chardev)
    path = sock["path"] if sock else "the chardev's socket"
    doc.update(function=entry["function"], stage=entry["stage"],
               chardev=chardev or (sock or {}).get("id"),
               socket=sock["path"] if sock else None,
               role="server: QEMU listens, the backend must connect as a client"
                    if sock else None,
               wait=sock["wait"] if sock else None,
               unblock=entry["unblock"].replace("{socket}", path))
    return doc


def format_diagnosis(doc: dict | None) -> str:
    if not doc:
        return ""
    lines = ["Why QEMU hangs"]
    if doc.get("function"):
        lines.append(f"  blocked in {doc['function']} (innermost frame: {doc['blocked_in']})")
    else:
        lines.append(f"  blocked in {doc['blocked_in']}")
    lines.append(f"  stage: {doc['stage']}")
    if doc.get("socket"):
        lines.append(f"  socket: {doc['socket']} (chardev {doc.get('chardev') or '?'}, "
                     f"wait={'on' if doc.get('wait') else 'off'})")
        lines.append(f"  role: {doc['role']}")
    lines.append(f"  chain: {doc['chain']}")
    lines.append(f"  monitor: {doc['monitor']}")
    if doc.get("unblock"):
        lines.append(f"  unblocks it: {doc['unblock']}")
    return "\n".join(lines) + "\n"
