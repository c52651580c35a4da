"""The diff's records: two saved runs' diff goes through them unchanged."""

import json
from pathlib import Path

from gdb_qemuinit.analysis import annotate, diff
from gdb_qemuinit.model.trace import load
from gdb_qemuinit.model.tracediff import TraceDiff

TRACES = Path(__file__).parent.parent / "data" / "traces"


def test_the_diff_of_two_saved_runs_round_trips(path):
    a = annotate.annotate(path, load(TRACES / "seed-qemu-7.2.json"))
    b = annotate.annotate(path, load(TRACES / "seed-qemu-10.2.json"))
    doc = diff.diff(a, b)
    assert json.dumps(TraceDiff.from_json(doc).to_json()) == json.dumps(doc)
    d = TraceDiff.of(doc)
    assert d.negotiation and d.negotiation[0].differs()
    assert d.edges and list(doc["edges"][0])[:2] == ["from", "to"]
    assert (d.edges[0].caller, d.edges[0].callee) == (doc["edges"][0]["from"],
                                                      doc["edges"][0]["to"])
