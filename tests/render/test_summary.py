"""The short text after a trace."""

from conftest import stack_hit, trace_of
from gdb_qemuinit.analysis import verify
from gdb_qemuinit.render import summary


def test_summary_counts_hits_and_names_what_is_missing():
    t = trace_of([stack_hit(1, "main", "a"), stack_hit(2, "main", "a"),
                  stack_hit(3, "main", "b")], missing=["gone_fn"])
    t.outcome.detail = "QEMU reached qemu_main_loop"
    text = summary.summarize(t)
    assert text.startswith("qemuinit: init-complete: QEMU reached qemu_main_loop")
    assert "3 hits" in text and "functions hit (in the order of their first hit): a x2, b" in text
    assert "1 planned functions: gone_fn" in text
    assert summary.NO_DEBUG_INFO_HINT not in text
    assert summary.NO_DEBUG_INFO_HINT in summary.summarize(trace_of([], debug_info=False))


def test_edge_counts_only_once_there_are_verdicts(path):
    t = trace_of([stack_hit(1, "main", "qemu_init")])
    assert summary.edge_counts(t) == ""
    verify.add_verdicts(path, t)
    counts = summary.edge_counts(t)
    assert counts.startswith("  documented edges: ") and "not-exercised" in counts


def test_a_watch_says_how_long_it_held_qemu():
    t = trace_of([stack_hit(1, "main", "a")], state="watched",
                 extra={"clock": {"stops": 40, "recording_seconds": 0.0123,
                                  "stopped_outside_run_seconds": 0.2}})
    t.qemu.update(breakpoint_stops=40, phase="watch")
    text = summary.summarize(t)
    total = 200 + 12.3 + 40 * summary.GDB_STOP_MS
    assert (f"QEMU was held about {total:.0f} ms: 200 ms stopped while the watch planted, "
            f"read and took its breakpoints out, and 40 breakpoint stops (all its threads "
            f"each time: 12.3 ms of recording, measured, plus gdb's own "
            f"~{summary.GDB_STOP_MS} ms a stop)") in text
    assert "held" not in summary.summarize(trace_of([stack_hit(1, "main", "a")]))
    # a trace that went on past init (--qmp) held a QEMU it started: not said
    t.qemu["phase"] = "hot-plug"
    assert "held" not in summary.summarize(t)
