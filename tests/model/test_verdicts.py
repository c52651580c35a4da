"""The verdict record and its JSON form (the trace's "edges")."""

from gdb_qemuinit.model import verdicts
from gdb_qemuinit.model.verdicts import OBSERVED, Verdict


def test_the_five_names_are_distinct_and_seen_ones_among_them():
    assert len(set(verdicts.STATUSES)) == 5
    assert set(verdicts.SEEN) <= set(verdicts.STATUSES)


def test_json_keeps_the_documented_fields_in_order():
    v = Verdict("qdev_new", "object_new", "device", OBSERVED, label="l", english="e", step=2)
    v.via.append("x")
    doc = v.to_json()
    assert list(doc) == ["cluster", "status", "via", "note", "label", "english", "step",
                         "hit", "caller_at", "callee_at", "served_by", "first_hit",
                         "from", "to"]
    assert (doc["from"], doc["to"], doc["via"], doc["step"]) == ("qdev_new", "object_new",
                                                                  ["x"], 2)
    doc["via"].append("y")          # the JSON is a copy, not the record's list
    assert v.via == ["x"]
