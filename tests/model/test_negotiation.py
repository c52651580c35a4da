"""The "vhost_user" section's records: a saved run's section goes through
them unchanged, key for key and in order."""

import json
from pathlib import Path

from gdb_qemuinit.analysis import annotate
from gdb_qemuinit.model.negotiation import (FAILED, NEGOTIATED, Negotiated, Payload, Reply,
                                            VhostUser, rounds_of, vhost_user_of)
from gdb_qemuinit.model.records import ABSENT
from gdb_qemuinit.model.trace import load

TRACES = Path(__file__).parent.parent / "data" / "traces"


def test_a_saved_runs_section_round_trips_exactly(path):
    for name in ("cut-after-set-owner.json", "seed-qemu-7.2.json", "seed-qemu-10.2.json"):
        doc = annotate.annotate(path, load(TRACES / name)).extra["vhost_user"]
        again = VhostUser.from_json(doc).to_json()
        assert json.dumps(again) == json.dumps(doc), name


def test_the_records_read_what_the_analysis_wrote(path):
    t = annotate.annotate(path, load(TRACES / "cut-after-set-owner.json"))
    vu = vhost_user_of(t)
    assert vu is not None and vu.rounds == rounds_of(t)
    assert [r.result for r in vu.rounds][:2] == [FAILED, NEGOTIATED]
    first = vu.rounds[0].messages[0]
    assert first.name == "GET_FEATURES" and isinstance(first.reply, Reply)
    assert vu.backend_checks and vu.backend_checks[0].connections
    assert vu.rounds[1].on_wire() == [m for m in vu.rounds[1].messages if m.sent]


def test_what_was_negotiated_keeps_the_order_the_messages_set_it_in():
    n = Negotiated()
    n.put("backend_queues", 2)
    n.put("backend_features", Payload(hex="0x3", bits=["A", "B"]))
    assert list(n.to_json()) == ["backend_queues", "backend_features"]
    assert Negotiated.from_json(n.to_json()).order == ["backend_queues", "backend_features"]
    assert n.feature_set("backend_features").number() == 3
    assert n.feature_set("acked_features") is None and n.acked_features is ABSENT


def test_a_message_writes_sent_and_delivered_only_when_false():
    from gdb_qemuinit.model.negotiation import Message
    m = Message(seq=1, request=3, name="SET_OWNER")
    assert "sent" not in m.to_json() and "delivered" not in m.to_json()
    m.sent, m.not_sent_why = False, "per-device"
    assert list(m.to_json())[-2:] == ["sent", "not_sent_why"]
    assert Message.from_json(m.to_json()) == m
    r = Reply(ret=0, payload=None, ack=0)
    assert r.to_json() == {"ret": 0, "payload": None, "ack": 0}
    assert Reply.from_json(r.to_json()) == r and not Reply(ret=-1).to_json().get("payload")
