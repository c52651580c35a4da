"""The report's vhost-user part, from a section made of hand-made hits."""

from gdb_qemuinit.render.vhostuser import format_section

from vhost_hits import WAIT, decoded, hit, make, negotiation, on


def test_rounds_messages_and_negotiated_bits_are_written_in_order():
    pair0 = [on("chr0", 0, h) for h in [hit(1, WAIT)] + negotiation(2)]
    pair1 = [on("chr0", 2, h) for h in negotiation(10)]
    doc = decoded(make(pair0 + pair1))
    lines = format_section(doc).splitlines()
    heads = [ln for ln in lines if ln.startswith("  round ")]
    assert [h.split(":")[-1].strip() for h in heads] == [r["result"] for r in doc["rounds"]]
    assert "vq_index 2" in heads[1] and "vq_index" not in heads[0]
    owners = [ln for ln in lines if "SET_OWNER" in ln]
    assert len(owners) == 2 and "not sent" in owners[1] and "not sent" not in owners[0]
    acked = doc["negotiated"]["acked_protocol_features"]
    i = lines.index(f"  QEMU acked protocol features: {acked['hex']}")
    assert lines[i + 1] == "    " + ", ".join(acked["bits"])


def test_a_backend_log_that_disagrees_says_where():
    doc = {"rounds": [], "backend_checks": [
        {"chardev": "chr1", "requests_agree": False, "backend_received": 2, "qemu_sent": 3,
         "first_difference": "#2: QEMU sent SET_OWNER (3), backend logged X",
         "protocol_features_agree": False}]}
    (line,) = format_section(doc).splitlines()[1:]
    assert line.startswith("  backend of chardev chr1 log DISAGREES: it received 2")
    assert line.endswith("; #2: QEMU sent SET_OWNER (3), backend logged X")


def test_no_section_no_text():
    assert format_section(None) == "" and format_section({}) == ""
