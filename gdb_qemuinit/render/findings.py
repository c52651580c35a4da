"""What went wrong, as text: the findings (`analysis/findings`) and the
first error of a cascade (`analysis/firsterror`)."""

from __future__ import annotations

from ..model.problems import Finding, FirstError


def format_findings(found: list[Finding] | list[dict]) -> str:
    if not found:
        return ""
    lines = ["Findings"]
    for f in map(Finding.of, found):
        lines.append(f"  {f.ident}: {f.seen}")
        lines.append(f"    change: {f.change}")
    return "\n".join(lines) + "\n"


def format_first_error(section: FirstError | dict | None) -> str:
    """The trace's "first_error" section (its JSON too) as text."""
    if not section:
        return ""
    doc = FirstError.of(section)
    lines = ["First error"]
    if doc.injected:
        lines.append(f"  fault injected: {doc.injected}")
    if doc.request:
        r = doc.request
        lines.append(f"  round {doc.round} (connection {doc.connection}), request in "
                     f"flight: {r.name} ({r.request})"
                     + (f", step {r.step}" if r.step else "")
                     + (f", sent by {r.sent_by}" if r.sent_by else ""))
        lines.append(f"  failed: {doc.call}")
    elif doc.call:
        lines.append(f"  failed: {doc.call}"
                     + (f", in {doc.stage}" if doc.stage else ""))
    elif doc.stage:
        lines.append(f"  last documented stage: {doc.stage}")
    if doc.first_line:
        lines.append(f"  QEMU said first: {doc.first_line}")
    for ln in doc.consequences:
        lines.append(f"    consequence: {ln}")
    if doc.chain:
        lines.append(f"  {'sent from' if doc.request else 'chain'}: {doc.chain}")
    if doc.then:
        lines.append(f"  {doc.then}")
    return "\n".join(lines) + "\n"
