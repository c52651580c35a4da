"""The report's vhost-user part: the decoded rounds, what was negotiated
per chardev, and whether each backend's log agrees (the section
`analysis/vhostuser.section` makes)."""

from __future__ import annotations


def format_section(doc: dict | None) -> str:
    """The report's vhost-user part."""
    if not doc:
        return ""
    lines = ["vhost-user negotiation (decoded from QEMU's messages)"]
    for rnd in doc["rounds"]:
        head = f"  round {rnd['round']} (connection {rnd['connection']}"
        if rnd.get("chardev"):
            head += f", chardev {rnd['chardev']}"
        if rnd.get("netdev"):
            head += f", netdev {rnd['netdev']}"
        if rnd.get("vq_index"):
            head += f", vq_index {rnd['vq_index']}"
        if rnd.get("trigger"):
            head += f", OPENED event from {rnd['trigger']}"
        head += ")"
        head += f": {rnd['result']}"
        if rnd.get("why"):
            head += f" ({rnd['why']})"
        lines.append(head)
        for m in rnd["messages"]:
            step = f"step {m['step']}" if m.get("step") else "      "
            text = f"    {step}  {m['name']:<22} from {m.get('sent_by') or '?'}"
            if not m.get("step") and m.get("under"):
                text += f" (in {m['under']})"
            if not m.get("sent", True):
                lines.append(text + f"  not sent: {m.get('not_sent_why') or 'per-device request'}")
                continue
            if m.get("payload"):
                text += "  " + _payload_text(m["payload"])
            r = m.get("reply")
            if r is not None:
                text += ("  -> " + _payload_text(r["payload"]) if r.get("payload")
                         else f"  -> reply failed ({r.get('ret')})" if (r.get("ret") or 0) < 0
                         else f"  -> ack {r['ack']}" if r.get("ack") is not None
                         else "  -> replied")
            lines.append(text)
        for e in rnd.get("errors", []):
            lines.append(f"    QEMU: {e}")
    for note in doc.get("notes", []):
        lines.append(f"  note: {note}")
    per_chardev = (doc.get("chardevs")
                   or [{"chardev": None, "negotiated": doc.get("negotiated", {})}])
    for c in per_chardev:
        indent = "  "
        if len(per_chardev) > 1:
            lines.append(f"  chardev {c['chardev']}"
                         + (f" (netdev {c['netdev']})" if c.get("netdev") else "")
                         + (f", {c['queue_pairs']} queue pairs" if c.get("queue_pairs", 1) > 1
                            else ""))
            indent = "    "
        n = c.get("negotiated", {})
        for key, title in (("backend_features", "backend offered virtio features"),
                           ("backend_protocol_features", "backend offered protocol features"),
                           ("acked_protocol_features", "QEMU acked protocol features"),
                           ("acked_features", "QEMU acked virtio features")):
            if key in n:
                lines.append(f"{indent}{title}: {n[key]['hex']}")
                lines.append(f"{indent}  " + ", ".join(n[key]["bits"]))
        if "backend_queues" in n:
            lines.append(f"{indent}backend queue pairs: {n['backend_queues']}")
    note = (doc.get("negotiated") or {}).get("acked_features_note")
    if note:
        lines.append(f"  virtio features: {note}")
    for c in doc.get("backend_checks", []):
        verdict = "agrees" if c["requests_agree"] else "DISAGREES"
        who = f"backend of chardev {c['chardev']}" if c.get("chardev") else "backend"
        lines.append(f"  {who} log {verdict}: it received {c['backend_received']} "
                     f"requests, QEMU sent {c['qemu_sent']}"
                     + (f"; compared {c['compared']}" if c.get("compared") else "")
                     + (f"; {c['first_difference']}" if c.get("first_difference") else "")
                     + ("; protocol features agree" if c["protocol_features_agree"] else ""))
    return "\n".join(lines) + "\n"


def _payload_text(p: dict) -> str:
    if "hex" in p:
        return f"{p['hex']} ({len(p['bits'])} bits)"
    if "vring" in p:
        return f"vring {p['vring']}" + ("" if p["fd"] else " (no fd)")
    return str(p.get("value"))
