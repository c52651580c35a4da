"""Pure tests of the timeline's Chrome trace-event JSON and its chart
(check_chrome_trace is used on real runs too, in tests/live/test_visuals.py)."""

import json

import pytest

from gdb_qemuinit.render import timeline as rt
from gdb_qemuinit.analysis import timeline as tl
from analysis.test_timeline import vhost_trace

def check_chrome_trace(doc: dict) -> dict:
    """Chrome trace-event JSON as viewers read it: ts in integer
    microseconds, every track named, each track in time order, the spans
    of a track disjoint or nested.  Returns the events by track."""
    assert isinstance(doc["traceEvents"], list) and doc["traceEvents"]
    tracks: dict = {}
    named_threads, named_processes = set(), set()
    for e in doc["traceEvents"]:
        assert isinstance(e["name"], str) and isinstance(e["pid"], int)
        assert isinstance(e["tid"], int)
        assert e["ph"] in ("X", "i", "M", "B", "E"), e
        if e["ph"] == "M":
            if e["name"] == "thread_name":
                named_threads.add((e["pid"], e["tid"]))
            if e["name"] == "process_name":
                named_processes.add(e["pid"])
            continue
        assert isinstance(e["ts"], int) and e["ts"] >= 0, e
        if e["ph"] == "X":
            assert isinstance(e["dur"], int) and e["dur"] >= 0, e
        if e["ph"] == "i":
            assert e["s"] in ("t", "p", "g"), e
        tracks.setdefault((e["pid"], e["tid"]), []).append(e)
    for key, evs in tracks.items():
        assert key in named_threads and key[0] in named_processes, key
        ts = [e["ts"] for e in evs]
        assert ts == sorted(ts), f"track {key} is not in time order"
        spans = [(e["ts"], e["ts"] + e["dur"]) for e in evs if e["ph"] == "X"]
        for i, (s1, e1) in enumerate(spans):
            for s2, e2 in spans[i + 1:]:
                assert e1 <= s2 or e2 <= s1 or (s1 <= s2 and e2 <= e1) \
                    or (s2 <= s1 and e1 <= e2), f"spans overlap on {key}: {s1, e1} {s2, e2}"
    return tracks


def test_the_events_are_chrome_trace_json():
    t = vhost_trace()
    doc = json.loads(rt.render(t))
    tracks = check_chrome_trace(doc)
    hits = tracks[(rt.PID_HITS, 1)]
    assert [e["args"]["seq"] for e in hits] == [h.seq for h in t.hits]
    assert [e["ts"] for e in hits] == [round(h.t * 1e6) for h in t.hits]
    assert hits[1]["args"]["chain"].startswith("main -> qemu_init -> ")
    backend = [e["name"] for e in tracks[(rt.PID_BACKEND, 1)]]
    assert backend == ["QEMU's socket seen listening", "backend started",
                       "backend stopped by qemuinit"]
    (stderr,) = tracks[(rt.PID_STDERR, 1)]
    assert stderr["ts"] == 500000 and stderr["args"]["line"] == "q: waiting"


def test_the_checker_catches_overlapping_spans():
    doc = {"traceEvents": [
        {"name": "thread_name", "ph": "M", "pid": 1, "tid": 1, "args": {"name": "a"}},
        {"name": "process_name", "ph": "M", "pid": 1, "tid": 0, "args": {"name": "p"}},
        {"name": "a", "ph": "X", "ts": 0, "dur": 10, "pid": 1, "tid": 1},
        {"name": "b", "ph": "X", "ts": 5, "dur": 10, "pid": 1, "tid": 1}]}
    with pytest.raises(AssertionError, match="overlap"):
        check_chrome_trace(doc)


def test_the_chart_draws_a_bar_per_span():
    t = vhost_trace()
    svg = rt.chart_svg(t)
    assert svg.count('<g class="span">') == len(tl.stage_spans(t)) + 1   # + the round
    assert svg.count('<g class="tick">') == 1 + 3      # stderr line, backend events


def test_a_time_no_run_takes_is_a_damaged_trace_said_in_one_line():
    """Found by the bad-input test: a saved trace whose outcome.t is 1.8e302 s."""
    from gdb_qemuinit.model.trace import TraceError
    t = vhost_trace()
    t.outcome.t = 1.797693134862316e+302
    with pytest.raises(TraceError, match="a time of 1.79769e[+]302 s, which no run takes"):
        rt.render(t)
