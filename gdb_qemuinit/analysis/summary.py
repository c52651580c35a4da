"""Frames and call chains as the one-line names the sections carry
('main -> qemu_init -> ... -> fn')."""

from __future__ import annotations

from ..model.trace import Frame


def format_frame(f: Frame) -> str:
    where = f"{f.file}:{f.line}" if f.file and f.line else (f.file or "")
    return f"{f.function or '??'}" + (f" ({where})" if where else "")


def chain_text(stack: list[str], limit: int = 0) -> str:
    """Innermost-first names as 'outer -> ... -> inner', keeping both ends."""
    names = stack[::-1]
    if limit and len(names) > limit:
        names = names[:2] + ["..."] + names[-(limit - 3):]
    return " -> ".join(names)


def chain(frames: list[Frame], limit: int = 0) -> str:
    """'main -> qemu_init -> ... -> fn', outermost first."""
    return chain_text([f.function or "??" for f in frames], limit)
