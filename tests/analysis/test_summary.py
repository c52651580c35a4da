"""How frames and chains are written."""

from gdb_qemuinit.analysis import summary
from gdb_qemuinit.model.trace import Frame


def test_chains_are_outermost_first_and_keep_both_ends_when_cut():
    stack = ["f9", "f8", "f7", "f6", "f5", "f4", "f3", "f2", "main"]      # innermost first
    assert summary.chain_text(stack) == "main -> f2 -> f3 -> f4 -> f5 -> f6 -> f7 -> f8 -> f9"
    assert summary.chain_text(stack, 6) == "main -> f2 -> ... -> f7 -> f8 -> f9"
    frames = [Frame("inner", "a.c", 3), Frame(None, None, None), Frame("main", "m.c", 1)]
    assert summary.chain(frames) == "main -> ?? -> inner"
    assert summary.format_frame(frames[0]) == "inner (a.c:3)"
    assert summary.format_frame(frames[1]) == "??"
