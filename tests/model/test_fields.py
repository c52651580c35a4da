"""Pure tests of the field engine questions.toml drives: templates, rules,
field specifications and how a hit's values are looked up."""

import pytest

from gdb_qemuinit.model import fields
from gdb_qemuinit.model.fields import Field, Rule, ShowLine


def test_a_template_formats_shifts_masks_and_leaves_out_optional_parts():
    bdf = "{bus}:{devfn >> 3:02x}.{devfn & 7}"
    assert fields.fill(bdf, {"bus": "pcie.0", "devfn": 0x1a}) == "pcie.0:03.2"
    assert fields.fill(bdf, {"devfn": 0x1a}) is None            # bus not set
    assert fields.fill(bdf, {"bus": "", "devfn": 0x1a}, unknown="?") == "?:03.2"
    assert fields.fill("a[ ({b})]", {"a": 1}) == "a"
    assert fields.fill("{a}[ ({b})]", {"a": 1, "b": "x"}) == "1 (x)"
    assert fields.fill("{a} bytes", {"a": 0}) == "0 bytes"       # zero is set
    assert fields.fill("{a >> 1}", {"a": "pcie.0"}) is None      # not a number
    assert fields.template_names(bdf + "[{note}]") == ["bus", "devfn", "devfn", "note"]


def test_words_name_true_false_and_null_but_not_one():
    words = {"x": {"true": "yes", "false": "no", "null": "unknown", "1": "one"}}
    assert [fields.fill("{x}", {"x": v}, words) for v in (True, False, None, 1, 2)] == \
        ["yes", "no", "unknown", "one", "2"]


def test_the_first_rule_that_holds_gives_the_text():
    rules = [Rule("off", if_false="express"), Rule("virtio", if_on_stack="virtio_pci_dc_realize"),
             Rule("unread", if_null="size"), Rule("on", if_true="express")]
    assert fields.first_rule(rules, {"express": 0}, ["virtio_pci_dc_realize"]) == "off"
    assert fields.first_rule(rules, {"express": None}, []) == "off"     # null is false
    assert fields.first_rule(rules, {"express": 1}, ["main", "virtio_pci_dc_realize"]) == "virtio"
    assert fields.first_rule(rules, {"express": 1, "size": ""}, []) == "unread"
    assert fields.first_rule(rules, {"express": 1, "size": 4}, []) == "on"
    assert fields.first_rule(rules[:1], {"express": 1}, []) is None
    assert Rule("both", if_true="a", if_false="b").holds({"a": 1, "b": 0}, [])
    assert not Rule("both", if_true="a", if_false="b").holds({"a": 1, "b": 1}, [])


def test_a_field_is_a_read_a_format_or_rules():
    assert fields.parse_field("device") == Field(read="device")
    assert fields.parse_field({"read": "e", "as": "bool"}).value({"e": 4}, []) is True
    assert fields.parse_field({"read": "e", "as": "bool"}).value({}, []) is None
    bdf = fields.parse_field({"format": "{bus}:{devfn >> 3:02x}", "needs": ["devfn"]})
    assert bdf.value({"devfn": 8}, []) == "?:01"
    assert bdf.value({"bus": "b"}, []) is None
    rules = fields.parse_field([{"if_true": "x", "text": "X"}, {"text": "other"}])
    assert rules.value({"x": 1}, []) == "X" and rules.value({}, []) == "other"
    assert fields.parse_field({"format": "{function}", "first": True}).first


@pytest.mark.parametrize("spec, says", [
    ({"raed": "x"}, "unknown key raed"),
    ({"read": "x", "format": "{x}"}, "either read or format"),
    ({"read": "x", "as": "int"}, "as = .int.: \"bool\" or \"virtio_features\""),
    (3, "not 3"),
    ([{"if_ture": "x", "text": "t"}], "unknown key if_ture in a rule"),
    ([{"if_true": "x"}], "a rule is a table with a text"),
])
def test_a_mistyped_field_says_what_is_wrong(spec, says):
    with pytest.raises(ValueError, match=says):
        fields.parse_field(spec)


def test_fields_read_the_hit_then_the_answer_and_keep_a_first_value():
    answer = {"function": "alloc", "express": True, "note": None}
    specs = {"size": Field(read="size"),                     # a read
             "express": Field(read="express", as_bool=True),  # null read: the answer's
             "twice": Field(format="{size}{size}"),           # sees the field just set
             "who": Field(format="{function} from {caller}", first=True),
             "note": Field(rules=(Rule("never", if_null="express"),))}
    fields.add_fields(answer, specs, {"size": 4, "express": None},
                      own={"function": "cap_init", "caller": "realize (a.c:1)"})
    assert answer == {"function": "alloc", "express": True, "note": None, "size": 4,
                      "twice": "44", "who": "cap_init from realize (a.c:1)"}
    fields.add_fields(answer, specs, {"size": 8}, own={"function": "inner", "caller": "x"})
    assert answer["size"] == 8 and answer["who"] == "cap_init from realize (a.c:1)"
    assert list(answer)[-2:] == ["twice", "who"]             # the order fields are set in


def test_a_line_to_show_needs_its_fields_or_its_if_set():
    line = fields.parse_show({"text": "after: {x}[ ({why})]", "if_set": "at",
                              "words": {"x": {"null": "unknown"}}})
    assert line.names() == ["x", "why", "at"]
    assert line.line({"at": False, "x": None}) == "after: unknown"
    assert line.line({"at": True, "x": 1, "why": "w"}) == "after: 1 (w)"
    assert line.line({"x": 1}) is None
    assert ShowLine("n: {n}").line({"n": None}) is None
    with pytest.raises(ValueError, match="unknown key when"):
        fields.parse_show({"text": "x", "when": "y"})


def test_virtio_features_are_named_by_bit():
    acked = fields.parse_field({"read": "features", "as": "virtio_features"})
    assert acked.value({"features": (1 << 32) | (1 << 5)}, ()) == \
        "0x100000020 (VIRTIO_NET_F_MAC, VIRTIO_F_VERSION_1)"
    # a bit vhost-user.toml does not name, a read that came signed, none read
    assert acked.value({"features": 1 << 63 | 1 << 41}, ()) == \
        "0x8000020000000000 (bit 41, VIRTIO_NET_F_SPEED_DUPLEX)"
    assert acked.value({"features": -(1 << 63)}, ()) == \
        "0x8000000000000000 (VIRTIO_NET_F_SPEED_DUPLEX)"
    assert acked.value({}, ()) is None and acked.value({"features": 0}, ()) == "0x0"
