"""A `where` result as text: per answer a head line (the function and the
[answers] head fields), the lines questions.toml shows ([answers] show, then
the question's show), every other field as "field: value", and the chain
from main."""

from __future__ import annotations

from ..model import questions
from ..model import origins

# Fields every answer has that the text shows in its own way.
_OWN_LINES = ("function", "chain", "steps")


def format_result(res: dict, device: str | None = None,
                  question: questions.Question | None = None) -> str:
    """The result as text; `device` keeps the answers about that type or id.
    The question's lines come from `question`, else from its name."""
    q = question or _question(res["question"])
    layout = questions.answer_layout()
    show = layout.show + (q.show if q else [])
    listed = set(_OWN_LINES) | set(layout.head) | set(q.hide if q else ())
    listed.update(name for line in show for name in line.names())
    ans = answers_for(res, device)
    lines = [f"qinit where {res['question']}: {res['summary']}",
             f"  QEMU {res['qemu'].get('version', '?')}: {res['outcome']['state']}"]
    if not ans:
        lines.append(f"  no answer: {res['none'] or f'no device {device!r}'}")
    elif q and q.devices and not device and ans[0].get("origin") == origins.BOARD:
        lines.append("  no device of the command line has an answer; the board's follow")
    for i, a in enumerate(ans, 1):
        head = [a["function"]] + [f"{k}={a[k]}" for k in layout.head if a.get(k)]
        lines.append(f"\n[{i}] " + "  ".join(head))
        lines.extend(f"    {text}" for text in (line.line(a) for line in show) if text)
        lines.extend(f"    {k}: {v}" for k, v in a.items()
                     if k not in listed and v is not None)
        if a.get("chain"):
            lines.append("    chain:")
            for f in a["chain"]:
                at = f" ({f['file']}:{f['line']})" if f.get("file") else ""
                lines.append(f"      {f['function'] or '??'}{at}")
    return "\n".join(lines)


def answers_for(res: dict, device: str | None) -> list[dict]:
    """The result's answers about `device` (a type or an id), or all."""
    if not device:
        return res["answers"]
    return [a for a in res["answers"] if device in (a.get("device"), a.get("id"))]


def _question(name: str) -> questions.Question | None:
    """The question a result answers; None for one this qemuinit does not know."""
    try:
        return questions.resolve(name)
    except questions.QuestionError:
        return None
