"""The short text after a trace, and how chains are written."""

from conftest import stack_hit, trace_of
from gdb_qemuinit.analysis import summary
from gdb_qemuinit.analysis import verify
from gdb_qemuinit.model.trace import Frame


def test_chains_are_outermost_first_and_keep_both_ends_when_cut():
    stack = ["f9", "f8", "f7", "f6", "f5", "f4", "f3", "f2", "main"]      # innermost first
    assert summary.chain_text(stack) == "main -> f2 -> f3 -> f4 -> f5 -> f6 -> f7 -> f8 -> f9"
    assert summary.chain_text(stack, 6) == "main -> f2 -> ... -> f7 -> f8 -> f9"
    frames = [Frame("inner", "a.c", 3), Frame(None, None, None), Frame("main", "m.c", 1)]
    assert summary.chain(frames) == "main -> ?? -> inner"
    assert summary.format_frame(frames[0]) == "inner (a.c:3)"
    assert summary.format_frame(frames[1]) == "??"


def test_summary_counts_hits_and_names_what_is_missing():
    t = trace_of([stack_hit(1, "main", "a"), stack_hit(2, "main", "a"),
                  stack_hit(3, "main", "b")], missing=["gone_fn"])
    t.outcome.detail = "QEMU reached qemu_main_loop"
    text = summary.summarize(t)
    assert text.startswith("qemuinit: init-complete: QEMU reached qemu_main_loop")
    assert "3 hits" in text and "functions hit (in order): a x2, b" in text
    assert "1 planned functions: gone_fn" in text
    assert summary.NO_DEBUG_INFO_HINT not in text
    assert summary.NO_DEBUG_INFO_HINT in summary.summarize(trace_of([], debug_info=False))


def test_edge_counts_only_once_there_are_verdicts(path):
    t = trace_of([stack_hit(1, "main", "qemu_init")])
    assert summary.edge_counts(t) == ""
    verify.annotate(path, t)
    counts = summary.edge_counts(t)
    assert counts.startswith("  documented edges: ") and "not-exercised" in counts
