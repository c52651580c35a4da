"""What went wrong, as text: the findings (`analysis/findings`) and the
first error of a cascade (`analysis/firsterror`)."""

from __future__ import annotations


def format_findings(found: list[dict]) -> str:
    if not found:
        return ""
    lines = ["Findings"]
    for f in found:
        lines.append(f"  {f['id']}: {f['seen']}")
        lines.append(f"    change: {f['change']}")
    return "\n".join(lines) + "\n"


def format_first_error(doc: dict | None) -> str:
    if not doc:
        return ""
    lines = ["First error"]
    if doc.get("injected"):
        lines.append(f"  fault injected: {doc['injected']}")
    if doc.get("request"):
        r = doc["request"]
        lines.append(f"  round {doc['round']} (connection {doc['connection']}), request in "
                     f"flight: {r['name']} ({r['request']})"
                     + (f", step {r['step']}" if r.get("step") else "")
                     + (f", sent by {r['sent_by']}" if r.get("sent_by") else ""))
        lines.append(f"  failed: {doc['call']}")
    elif doc.get("stage"):
        lines.append(f"  last documented stage: {doc['stage']}")
    if doc.get("first_line"):
        lines.append(f"  QEMU said first: {doc['first_line']}")
    for ln in doc.get("consequences", []):
        lines.append(f"    consequence: {ln}")
    if doc.get("chain"):
        lines.append(f"  sent from: {doc['chain']}")
    if doc.get("then"):
        lines.append(f"  {doc['then']}")
    return "\n".join(lines) + "\n"
