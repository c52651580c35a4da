"""Two traces compared (`analysis/diff.diff`), as text."""

from __future__ import annotations

from ..model.tracediff import ChardevDiff, RunFacts, TraceDiff


def _run(side: str, run: RunFacts) -> str:
    return f"{side}: QEMU {run.version} ({run.state}): " + " ".join((run.argv or [])[1:])


def format_diff(doc: TraceDiff | dict) -> str:
    d = TraceDiff.of(doc)
    lines = [_run("A", d.a), _run("B", d.b)]
    lines.append(f"\nedges whose status changed: {len(d.edges)}")
    for e in d.edges:
        via = ""
        if e.via_a != e.via_b:
            via = (f"  (via A: {' -> '.join(e.via_a) or '-'}; "
                   f"B: {' -> '.join(e.via_b) or '-'})")
        what = (f"{e.a} -> {e.b}" if e.a != e.b else
                f"{e.a} in both, through other frames")
        lines.append(f"  [{e.cluster}] {e.caller} -> {e.callee}: {what}{via}")
    lines.append(f"\nchains that changed: {len(d.chains)}")
    for c in d.chains:
        lines.append(f"  {c.function}:\n    A: {' -> '.join(c.a)}\n"
                     f"    B: {' -> '.join(c.b)}")
    lines.append(f"\nfunctions only A hit: {', '.join(d.only_a) or 'none'}")
    lines.append(f"functions only B hit: {', '.join(d.only_b) or 'none'}")
    t = d.throwaway
    if t.a or t.b:
        lines.append("throwaway objects (made and freed by QEMU, not the user's; kept "
                     f"apart above): A in {', '.join(t.a) or 'none'}; "
                     f"B in {', '.join(t.b) or 'none'}")
    if d.negotiation is not None:
        lines.extend(negotiation_lines(d.negotiation))
    return "\n".join(lines)


def negotiation_lines(chardevs: list[ChardevDiff]) -> list[str]:
    lines = [f"\nvhost-user negotiation: {len(chardevs)} chardevs differ"
             if chardevs else "\nvhost-user negotiation: the same on every chardev"]
    for c in chardevs:
        name = c.chardev_a if c.chardev_a == c.chardev_b else \
            f"{c.chardev_a} / {c.chardev_b}"
        lines.append(f"  chardev {name}:")
        for items, title in ((c.renamed, "renamed"), (c.added, "only B sent"),
                             (c.removed, "only A sent"), (c.replies, "replies differ"),
                             (c.features, "features")):
            for item in items:
                lines.append(f"    {title}: {item}")
    return lines
