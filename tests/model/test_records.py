"""The records' JSON: keys in field order, a part not there left out (not
null), a default left out where asked, a key no Python name can spell."""

from dataclasses import dataclass, field

from gdb_qemuinit.model.records import ABSENT, Absent, JsonRecord, json_field, records_of


@dataclass
class Inner(JsonRecord):
    n: int


@dataclass
class Outer(JsonRecord):
    caller: str = json_field(key="from")
    maybe: int | None | Absent = ABSENT
    on: bool = json_field(default=True, omit_default=True)
    inner: Inner | None = json_field(default=None, read=Inner.from_json)
    items: list[Inner] = json_field(default_factory=list, read=records_of(Inner))
    tags: list[str] = field(default_factory=list)


def test_absent_is_left_out_and_null_is_written():
    assert Outer("f").to_json() == {"from": "f", "inner": None, "items": [], "tags": []}
    assert list(Outer("f", maybe=None).to_json()) == ["from", "maybe", "inner", "items", "tags"]
    assert not ABSENT and Absent() is ABSENT and repr(ABSENT) == "ABSENT"


def test_a_default_asked_to_be_left_out_is_written_only_when_it_differs():
    assert "on" not in Outer("f").to_json()
    assert Outer("f", on=False).to_json()["on"] is False


def test_nested_records_go_and_come_back():
    rec = Outer("f", maybe=3, on=False, inner=Inner(1), items=[Inner(2), Inner(3)], tags=["t"])
    doc = rec.to_json()
    assert doc["inner"] == {"n": 1} and doc["items"] == [{"n": 2}, {"n": 3}]
    assert Outer.from_json(doc) == rec
    assert Outer.of(doc) == rec and Outer.of(rec) is rec
    # a key it does not know is ignored; one left out gets the default
    assert Outer.from_json({"from": "g", "new": 1}) == Outer("g")
