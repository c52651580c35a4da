"""Shapes of JSON documents: each kind of shape, and the place named."""

import pytest

from gdb_qemuinit.model.shapes import ANY, Map, OneOf, Opt, Record, ShapeError, check

DOC = Record({"name": str, "items": [Record({"n": int}, {"why": Opt(str)})]},
             {"tags": Map(OneOf((str, [str]))), "extra": ANY, "ok": bool, "x": float})


def test_a_document_of_its_shape_passes():
    check({"name": "a", "items": [{"n": 1}, {"n": 2, "why": None}], "tags": {"a": "b",
          "c": ["d"]}, "extra": {"anything": [1]}, "ok": False, "x": 3, "more": 1}, DOC)


@pytest.mark.parametrize("doc, says", [
    ([], "doc: expected an object, found []"),
    ({"items": []}, "doc: 'name' is missing"),
    ({"name": 1, "items": []}, "doc.name: expected a string, found 1"),
    ({"name": "a", "items": [{"n": True}]}, "doc.items[0].n: expected a whole number, found True"),
    ({"name": "a", "items": [{"n": 1, "why": 2}]}, "doc.items[0].why: expected a string, found 2"),
    ({"name": "a", "items": [], "tags": {"t": 3}},
     "doc.tags.t: expected a string or a list, found 3"),
    ({"name": "a", "items": [], "ok": 1}, "doc.ok: expected true or false, found 1"),
    ({"name": "a", "items": [], "x": "1.5"}, "doc.x: expected a number, found '1.5'"),
])
def test_the_first_place_a_document_departs_is_named(doc, says):
    with pytest.raises(ShapeError) as e:
        check(doc, DOC, "doc")
    assert str(e.value) == says
