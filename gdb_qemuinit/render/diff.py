"""Two traces compared (`analysis/diff.diff`), as text."""

from __future__ import annotations


def format_diff(d: dict) -> str:
    lines = [f"A: QEMU {d['a']['version']} ({d['a']['state']}): "
             + " ".join((d['a']['argv'] or [])[1:]),
             f"B: QEMU {d['b']['version']} ({d['b']['state']}): "
             + " ".join((d['b']['argv'] or [])[1:])]
    lines.append(f"\nedges whose status changed: {len(d['edges'])}")
    for e in d["edges"]:
        via = ""
        if e["via_a"] != e["via_b"]:
            via = (f"  (via A: {' -> '.join(e['via_a']) or '-'}; "
                   f"B: {' -> '.join(e['via_b']) or '-'})")
        lines.append(f"  [{e['cluster']}] {e['from']} -> {e['to']}: {e['a']} -> {e['b']}{via}")
    lines.append(f"\nchains that changed: {len(d['chains'])}")
    for c in d["chains"]:
        lines.append(f"  {c['function']}:\n    A: {' -> '.join(c['a'])}\n"
                     f"    B: {' -> '.join(c['b'])}")
    lines.append(f"\nfunctions only A hit: {', '.join(d['only_a']) or 'none'}")
    lines.append(f"functions only B hit: {', '.join(d['only_b']) or 'none'}")
    return "\n".join(lines)
