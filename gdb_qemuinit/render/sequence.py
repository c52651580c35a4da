"""Who said what to whom: the decoded vhost-user negotiation as a sequence
diagram (SVG, written directly), one diagram per connection.

QEMU and the backend are lifelines; each request is a solid arrow to the
backend and each reply a dashed arrow back, labelled with the documented
step, the request's name and its payload in short (a feature set by count,
its names in the arrow's <title>, which viewers show as a tooltip).  A round
that failed is marked where it failed, with QEMU's own error lines.
"""

from __future__ import annotations

from html import escape

from ..analysis.timeline import backends_of
from ..model.negotiation import FAILED, Message, Payload, Reply, Round, rounds_of
from ..model.records import ABSENT, Absent
from ..model.trace import Trace

WIDTH = 780
QEMU_X, BACKEND_X = 190, 600
ROW = 30
TOP = 64
FONT = "font-family:DejaVu Sans,Helvetica,Arial,sans-serif"


def payload_text(p: Payload | None | Absent) -> tuple[str, list[str]]:
    """A payload in short, and the names behind it (feature bits)."""
    if not p:
        return "", []
    if p.hex:
        bits = [str(b) for b in p.bits or []]
        return f"{p.hex} ({len(bits)} features)", bits
    if p.vring is not ABSENT:
        return p.vring_text(), []
    if p.value is not ABSENT:
        return str(p.value), []
    return "", []


def reply_text(r: Reply) -> tuple[str, list[str]]:
    if r.payload:
        return payload_text(r.payload)
    if isinstance(r.ret, int) and r.ret < 0:
        return f"reply failed ({r.ret})", []
    if r.ack is not None and r.ack is not ABSENT:
        return f"ack {r.ack}", []
    return "replied", []


def connections(trace: Trace) -> dict[str, list[Round]]:
    """The rounds of each connection, in order (keyed as the diagram's title)."""
    out: dict[str, list[Round]] = {}
    for rnd in rounds_of(trace):
        key = f"connection {rnd.connection}"
        for name, value in (("netdev", rnd.netdev), ("chardev", rnd.chardev)):
            if value:
                key += f", {name} {value}"
        out.setdefault(key, []).append(rnd)
    return out


def _text(x: float, y: float, s: str, anchor: str = "middle", size: int = 12,
          fill: str = "#1f2328", weight: str = "normal", cls: str = "") -> str:
    c = f' class="{cls}"' if cls else ""
    return (f'<text{c} x="{x:.0f}" y="{y:.0f}" text-anchor="{anchor}" font-size="{size}" '
            f'fill="{fill}" font-weight="{weight}" style="{FONT}">{escape(s)}</text>')


def _arrow(y: float, reply: bool, label: str, names: list[str], title: str,
           color: str) -> str:
    x1, x2 = (BACKEND_X, QEMU_X) if reply else (QEMU_X, BACKEND_X)
    tip = x2 + (8 if reply else -8)
    dash = ' stroke-dasharray="6,4"' if reply else ""
    tooltip = title + ("\n" + "\n".join(names) if names else "")
    return (f'<g class="arrow {"reply" if reply else "request"}">'
            f"<title>{escape(tooltip)}</title>"
            f'<line x1="{x1}" y1="{y:.0f}" x2="{tip}" y2="{y:.0f}" stroke="{color}" '
            f'stroke-width="1.4"{dash}/>'
            f'<polygon points="{x2},{y:.0f} {tip},{y - 4:.0f} {tip},{y + 4:.0f}" '
            f'fill="{color}"/>'
            + _text((QEMU_X + BACKEND_X) / 2, y - 5, label, size=11, fill=color)
            + "</g>")


def diagram(title: str, rounds: list[Round], hits_t: dict[int, float],
            backend: str = "backend") -> str:
    """One connection's diagram, as an <svg> element."""
    body: list[str] = []
    y = TOP
    for rnd in rounds:
        y = _round_rows(body, rnd, hits_t, y)
    height = y + 10
    heads = "".join(
        f'<rect x="{x - 70}" y="28" width="140" height="22" rx="4" fill="#ddf4ff" '
        f'stroke="#0969da"/>' + _text(x, 44, name, weight="bold")
        + f'<line x1="{x}" y1="50" x2="{x}" y2="{height - 6}" stroke="#8c959f" '
        f'stroke-dasharray="2,3"/>'
        for x, name in ((QEMU_X, "QEMU"), (BACKEND_X, backend)))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="sequence" width="{WIDTH}" '
            f'height="{height}" viewBox="0 0 {WIDTH} {height}">'
            f'<rect width="100%" height="100%" fill="white"/>'
            + _text(10, 16, f"vhost-user negotiation, {title}", anchor="start",
                    weight="bold", size=13)
            + heads + "".join(body) + "</svg>")


def _round_rows(body: list[str], rnd: Round, hits_t: dict[int, float], y: int) -> int:
    """A round's head, its messages and QEMU's lines, from `y` down; the
    next row's y."""
    failed = rnd.result == FAILED
    head = f"round {rnd.round}: {rnd.result}"
    if rnd.trigger:
        head += f" (OPENED event from {rnd.trigger})"
    color = "#cf222e" if failed else "#57606a"
    body.append(f'<g class="round"><rect x="10" y="{y - 14}" width="{WIDTH - 20}" '
                f'height="20" fill="#f6f8fa" stroke="#d0d7de"/>'
                + _text(20, y, head, anchor="start", weight="bold", fill=color)
                + "</g>")
    y += ROW
    for m in rnd.on_wire():     # one QEMU decided not to write is not on the wire
        y = _message_rows(body, rnd, m, hits_t.get(m.seq), y)
    for line in rnd.errors:
        body.append(f'<g class="qemu-error"><rect x="{QEMU_X - 176}" y="{y - 14}" '
                    f'width="{WIDTH - QEMU_X + 160}" height="20" fill="#ffebe9" '
                    f'stroke="#cf222e"/>'
                    + _text(QEMU_X - 170, y, "QEMU: " + _short(line), anchor="start",
                            size=11, fill="#cf222e") + "</g>")
        y += 24
    if rnd.why and failed:
        body.append(_text(20, y, rnd.why, anchor="start", size=11, fill="#cf222e"))
        y += 22
    return y + 8


def _message_rows(body: list[str], rnd: Round, m: Message, t: float | None,
                  y: int) -> int:
    """A request's arrow, and its reply's (or where the round failed)."""
    if t is not None:
        body.append(_text(12, y + 4, f"{t * 1000:.2f} ms", anchor="start",
                          size=10, fill="#6e7781"))
    step = f"step {m.step}  " if m.step else ""
    text, names = payload_text(m.payload)
    label = f"{step}{m.name}" + (f"  {text}" if text else "")
    where = f"sent by {m.sent_by or '?'}" + (f" in {m.under}" if m.under else "")
    body.append(_arrow(y, False, label, names, f"{m.name}: {where}", "#0550ae"))
    y += ROW
    if m.reply:
        text, names = reply_text(m.reply)
        bad = isinstance(m.reply.ret, int) and m.reply.ret < 0
        body.append(_arrow(y, True, f"{m.name} reply: {text}", names,
                           f"reply to {m.name}", "#cf222e" if bad else "#1a7f37"))
        y += ROW
    elif rnd.result == FAILED and m.name == rnd.failed_at:
        body.append(f'<g class="failure"><title>{escape(rnd.why or "")}</title>'
                    f'<path d="M{BACKEND_X - 6},{y - 6} l12,12 m0,-12 l-12,12" '
                    f'stroke="#cf222e" stroke-width="2.5"/>'
                    + _text(BACKEND_X - 14, y + 4, f"no reply to {m.name}",
                            anchor="end", size=11, fill="#cf222e") + "</g>")
        y += ROW
    return y


def _short(line: str, limit: int = 110) -> str:
    """QEMU's line without the program name and option it repeats."""
    parts = line.split(": ", 2)
    text = parts[-1] if len(parts) == 3 and parts[1].startswith("-") else line
    return text if len(text) <= limit else text[:limit - 1] + "…"


def diagrams(trace: Trace) -> list[str]:
    """One <svg> per connection (none when there was no negotiation)."""
    hits_t = {h.seq: h.t for h in trace.hits if h.t is not None}
    backends = backends_of(trace)

    def backend_name(rounds: list[Round]) -> str:
        chardev = rounds[0].chardev if rounds else None
        b = next((b for b in backends if b.get("chardev") in (chardev, None)), {})
        argv = b.get("argv") or []
        return argv[0].rsplit("/", 1)[-1] if argv else "backend"

    return [diagram(title, rounds, hits_t, backend_name(rounds))
            for title, rounds in connections(trace).items()]


def render(trace: Trace) -> bytes:
    """One SVG document: the connections' diagrams one under the other."""
    parts = diagrams(trace)
    if not parts:
        parts = ['<svg xmlns="http://www.w3.org/2000/svg" width="420" height="30">'
                 + _text(10, 20, "no vhost-user negotiation in this trace", anchor="start")
                 + "</svg>"]
    y, placed = 0, []
    for p in parts:
        h = int(p.split('height="', 1)[1].split('"', 1)[0])
        placed.append(p.replace("<svg ", f'<svg y="{y}" ', 1))
        y += h + 10
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{y}" '
            f'viewBox="0 0 {WIDTH} {y}">' + "".join(placed) + "</svg>\n").encode()
