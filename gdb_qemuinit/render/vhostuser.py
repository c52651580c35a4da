"""The report's vhost-user part: the decoded rounds, what was negotiated
per chardev, and whether each backend's log agrees (the section
`analysis/vhostuser.section` makes)."""

from __future__ import annotations

from ..model.negotiation import (BackendCheck, ChardevSummary, Message, Negotiated, Payload,
                                 Round, VhostUser)
from ..model.records import ABSENT

FEATURE_TITLES = (("backend_features", "backend offered virtio features"),
                  ("backend_protocol_features", "backend offered protocol features"),
                  ("acked_protocol_features", "QEMU acked protocol features"),
                  ("acked_features", "QEMU acked virtio features"))


def format_section(section: VhostUser | dict | None) -> str:
    """The report's vhost-user part (of the section's JSON too)."""
    if not section:
        return ""
    doc = VhostUser.of(section)
    lines = ["vhost-user negotiation (decoded from QEMU's messages)"]
    for rnd in doc.rounds:
        lines += round_lines(rnd)
    lines += [f"  note: {note}" for note in doc.notes]
    per_chardev = doc.chardevs or [ChardevSummary(None, None, 1, doc.negotiated)]
    for c in per_chardev:
        lines += _negotiated_lines(c, several=len(per_chardev) > 1)
    if doc.negotiated.acked_features_note:
        lines.append(f"  virtio features: {doc.negotiated.acked_features_note}")
    lines += [check_line(c) for c in doc.backend_checks or []]
    return "\n".join(lines) + "\n"


def round_lines(rnd: Round) -> list[str]:
    """A round's head, a line per message, QEMU's lines meanwhile."""
    head = f"  round {rnd.round} (connection {rnd.connection}"
    if rnd.chardev:
        head += f", chardev {rnd.chardev}"
    if rnd.netdev:
        head += f", netdev {rnd.netdev}"
    if rnd.vq_index:
        head += f", vq_index {rnd.vq_index}"
    if rnd.trigger:
        head += f", OPENED event from {rnd.trigger}"
    head += f"): {rnd.result}"
    if rnd.why:
        head += f" ({rnd.why})"
    return [head] + [_message_line(m) for m in rnd.messages] + [
        f"    QEMU: {e}" for e in rnd.errors]


def _message_line(m: Message) -> str:
    step = f"step {m.step}" if m.step else "      "
    text = f"    {step}  {m.name:<22} from {m.sent_by or '?'}"
    if not m.step and m.under:
        text += f" (in {m.under})"
    if not m.sent:
        return text + f"  not sent: {m.not_sent_why or 'per-device request'}"
    if m.payload:
        text += "  " + _payload_text(m.payload)
    r = m.reply
    if r:
        text += ("  -> " + _payload_text(r.payload) if r.payload
                 else f"  -> reply failed ({r.ret})" if r.failed
                 else f"  -> ack {r.ack}" if r.ack is not None and r.ack is not ABSENT
                 else "  -> replied")
    return text


def _negotiated_lines(c: ChardevSummary, several: bool) -> list[str]:
    """What was negotiated on a chardev (headed by it when there are several)."""
    lines, indent = [], "  "
    if several:
        lines.append(f"  chardev {c.chardev}"
                     + (f" (netdev {c.netdev})" if c.netdev else "")
                     + (f", {c.queue_pairs} queue pairs" if c.queue_pairs > 1 else ""))
        indent = "    "
    n: Negotiated = c.negotiated
    for key, title in FEATURE_TITLES:
        p = n.feature_set(key)
        if p is not None:
            lines.append(f"{indent}{title}: {p.hex}")
            lines.append(f"{indent}  " + ", ".join(p.bits or []))
    if "backend_queues" in n.order:
        lines.append(f"{indent}backend queue pairs: {n.backend_queues}")
    return lines


def check_line(c: BackendCheck) -> str:
    verdict = "agrees" if c.requests_agree else "DISAGREES"
    who = f"backend of chardev {c.chardev}" if c.chardev else "backend"
    return (f"  {who} log {verdict}: it received {c.backend_received} "
            f"requests, QEMU sent {c.qemu_sent}"
            + (f"; compared {c.compared}" if c.compared else "")
            + (f"; {c.first_difference}" if c.first_difference else "")
            + ("; protocol features agree" if c.protocol_features_agree else "")
            + values_text(c))


def values_text(c: BackendCheck) -> str:
    """What the payload values the backend logged say, if it logged any."""
    if not c.values_compared:
        return ""
    if c.values_agree:
        return f"; the {c.values_compared} payload values it logged agree"
    return (f"; payload values DISAGREE ({c.values_compared} compared): "
            f"{c.first_value_difference}")


def _payload_text(p: Payload) -> str:
    if isinstance(p.regions, list):
        return regions_text(p.regions)
    if p.hex and isinstance(p.bits, list) and len(p.bits) <= 4:
        return f"{p.hex} ({', '.join(p.bits) or 'none'})"
    if p.hex:
        return f"{p.hex} ({len(p.bits or [])} bits)"
    if p.vring is not ABSENT:
        return p.vring_text()
    return str(p.value if p.value is not ABSENT else None)


def regions_text(regions: list[dict]) -> str:
    """A memory table in words: each region's guest address and size, where
    QEMU maps it, and the fd that goes with it."""
    if not regions:
        return "no region"
    return "; ".join(
        f"guest {r.get('guest_phys_addr') or 0:#x} size {_size(r.get('memory_size'))} "
        f"at QEMU {r.get('userspace_addr') or 0:#x} offset {r.get('mmap_offset') or 0:#x} "
        + (f"fd {r['fd']}" if isinstance(r.get("fd"), int) and r["fd"] >= 0 else "no fd")
        for r in regions)


def _size(n: int | None) -> str:
    n = n or 0
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n and n % (1 << shift) == 0:
            return f"{n >> shift} {unit}"
    return f"{n:#x}"
