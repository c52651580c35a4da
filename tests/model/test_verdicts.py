"""The verdict record and its JSON form (the trace's "edges")."""

from gdb_qemuinit.model import verdicts
from gdb_qemuinit.model.trace import Outcome, Trace
from gdb_qemuinit.model.verdicts import OBSERVED, Verdict


def test_the_six_names_are_distinct_and_seen_ones_among_them():
    assert len(set(verdicts.STATUSES)) == 6
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


def _full() -> Verdict:
    v = Verdict("vhost_user_init", "qemu_chr_fe_wait_connected", "vhost", OBSERVED,
                label="l", english="e", step=3)
    v.via += ["a", "b"]
    v.note = "n"
    v.hit, v.first_hit, v.served_by = 7, 5, "s"
    v.caller_at, v.callee_at = "net/vhost-user.c:1", "chardev/char-fe.c:2"
    return v


def test_from_json_is_the_inverse_of_to_json():
    for v in (_full(), Verdict("main", "qemu_init", "main", verdicts.NOT_EXERCISED)):
        doc = v.to_json()
        back = Verdict.from_json(doc)
        assert all(getattr(back, k) == getattr(v, k) for k in Verdict.__slots__)
        assert back.to_json() == doc and list(back.to_json()) == list(doc)
        doc["via"].append("z")      # the record's list is its own
        assert "z" not in back.via


def test_from_json_ignores_keys_it_does_not_know():
    doc = dict(_full().to_json(), something_new=1)
    assert Verdict.from_json(doc).to_json() == _full().to_json()


def test_edges_of_gives_the_traces_edges_as_verdicts():
    t = Trace(qemu={}, outcome=Outcome(state="init-complete"),
              extra={"edges": [_full().to_json()]})
    (e,) = verdicts.edges_of(t)
    assert isinstance(e, Verdict)
    assert (e.caller, e.callee, e.status, e.via) == ("vhost_user_init",
                                                     "qemu_chr_fe_wait_connected",
                                                     OBSERVED, ["a", "b"])
    t.extra.pop("edges")
    assert verdicts.edges_of(t) == []
