"""The trace format: its JSON, bad trace files, atomic writes."""

import json

import pytest

from conftest import DEVICE, stack_hit as hit, trace_of as make
from gdb_qemuinit.model import trace
from gdb_qemuinit.analysis import verify


def test_json_round_trip_keeps_everything(tmp_path, path):
    t = verify.add_verdicts(path, make([hit(1, *DEVICE)]))
    f = tmp_path / "t.json"
    trace.save(t, f)
    doc = json.loads(f.read_text())
    assert doc["schema"] == "qemuinit.trace/1"
    assert {"from", "to", "cluster", "status", "via", "note"} <= set(doc["edges"][0])
    back = trace.load(f)
    # what the run recorded comes back; what the analysis made is made again
    assert back.to_json() == {k: v for k, v in t.to_json().items() if k not in trace.ANALYSED}
    assert verify.add_verdicts(path, back).to_json() == t.to_json()
    assert back.hits[0].frames[-1].function == "main"


@pytest.mark.parametrize("content,msg", [
    ("not json", "not valid JSON"),
    ('{"schema": "qemuinit.trace/1", "hits": [', "truncated"),
    ('{"schema": "qemuinit.trace/1", "hits": [{"function": "qemu_in', "truncated"),
    ('{"schema": "qemuinit.trace/1", "hits": [{"function": "a\nb"}]}', "not valid JSON"),
    ('{"schema": "qemuinit.trace/2"}', "not supported"),
    ('{"schema": "other"}', "not a qemuinit trace"),
    ("[1, 2]", "not a qemuinit trace"),
    ('{"schema": "qemuinit.trace/1", "qemu": {}}', "malformed"),
])
def test_bad_trace_files_are_named(tmp_path, content, msg):
    f = tmp_path / "bad.json"
    f.write_text(content)
    with pytest.raises(trace.TraceError, match=msg):
        trace.load(f)


def test_a_trace_file_that_is_not_text_or_missing_is_named(tmp_path):
    f = tmp_path / "bad.json"
    f.write_bytes(b"\xff{}")
    with pytest.raises(trace.TraceError, match=r"bad.json is not a qemuinit trace \(not UTF-8"):
        trace.load(f)
    with pytest.raises(trace.TraceError, match="^cannot read .*none.json"):
        trace.load(tmp_path / "none.json")


@pytest.mark.parametrize("change, says", [
    (lambda d: d["hits"][0].update(seq="1"), "trace.hits[0].seq: expected a whole number"),
    (lambda d: d["hits"][0]["frames"].append(7),
     "trace.hits[0].frames[15]: expected an object, found 7"),
    (lambda d: d["hits"][0].update(reads={"request": "GET_FEATURES"}),
     "trace.hits[0].reads.request: expected a whole number, found 'GET_FEATURES'"),
    (lambda d: d.update(backends=[{"argv": [None]}]), "trace.backends[0].argv[0]"),
    (lambda d: d["qemu"].update(argv="qemu -m 1G"), "trace.qemu.argv: expected a list"),
    (lambda d: d["outcome"].pop("state"), "trace.outcome: 'state' is missing"),
    # found by hypothesis: a logged connection without its requests
    (lambda d: d.update(backends=[{"log": {"connections": [{}]}}]),
     "trace.backends[0].log.connections[0]: 'requests' is missing"),
    # found by hypothesis: a feature bit's name under a key that is no number
    (lambda d: d.update(enums={"protocol_features": {"type": "MQ"}}),
     "enums.protocol_features has the key 'type', which is no number"),
    (lambda d: d["qemu"].update(phase=["device-start"]), "trace.qemu.phase: expected a string"),
])
def test_a_trace_of_the_wrong_shape_is_refused_naming_the_place(tmp_path, change, says):
    doc = make([hit(1, *DEVICE)]).to_json()
    doc = json.loads(json.dumps(doc))
    change(doc)
    f = tmp_path / "t.json"
    f.write_text(json.dumps(doc))
    with pytest.raises(trace.TraceError) as e:
        trace.load(f)
    assert says in str(e.value) and "\n" not in str(e.value)


def test_an_older_traces_one_backend_and_its_log_are_read_as_today(tmp_path):
    """Before a backend per chardev a trace had one "backend" and a separate
    "backend_log", whose connections were not told apart: the load step
    makes them today's "backends", so nothing after it copes with them."""
    doc = make([]).to_json()
    doc["backend"] = {"argv": ["testpmd"], "pid": 7, "times": {"started": 0.1}}
    doc["backend_log"] = {"requests": ["GET_FEATURES"], "protocol_features": [9]}
    t = trace.Trace.from_json(doc)
    assert "backend" not in t.extra and "backend_log" not in t.extra
    (b,) = t.extra["backends"]
    assert b["argv"] == ["testpmd"] and b["log"]["connections"] == [
        {"requests": ["GET_FEATURES"], "protocol_features": [9]}]
    only_log = make([]).to_json()
    only_log["backend_log"] = {"requests": ["SET_OWNER"]}
    (b,) = trace.Trace.from_json(only_log).extra["backends"]
    assert b["log"]["connections"] == [{"requests": ["SET_OWNER"], "protocol_features": []}]
    today = make([]).to_json()
    today["backends"] = [{"chardev": "c", "log": {"requests": [], "connections": []}}]
    assert trace.Trace.from_json(today).extra["backends"] == today["backends"]
