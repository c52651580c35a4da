"""Pure tests of the negotiation's sequence diagrams, on a hand-made
vhost-user section: a failed connection and a negotiated one."""

import xml.etree.ElementTree as ET

from gdb_qemuinit.render import sequence as rs
from gdb_qemuinit.model.trace import Outcome, Trace

SVG = "{http://www.w3.org/2000/svg}"
FEATURES = {"hex": "0x100000003", "bits": ["VIRTIO_NET_F_CSUM", "VIRTIO_NET_F_GUEST_CSUM",
                                           "VIRTIO_F_VERSION_1"]}
ERRORS = ["qemu-system-x86_64: -netdev vhost-user,id=net0,chardev=chr0: Failed to write msg.",
          "qemu-system-x86_64: -netdev vhost-user,id=net0,chardev=chr0: vhost_backend_init failed"]


def restart_trace() -> Trace:
    rounds = [
        {"round": 1, "connection": 1, "chardev": "chr0", "result": "failed",
         "failed_at": "GET_FEATURES", "why": "no reply", "errors": ERRORS,
         "messages": [{"seq": 5, "name": "GET_FEATURES", "step": 1}]},
        {"round": 2, "connection": 2, "chardev": "chr0", "result": "negotiated",
         "netdev": "net0",      # a key a newer decoder may add
         "messages": [
             {"seq": 8, "name": "GET_FEATURES", "step": 1,
              "reply": {"ret": 0, "payload": FEATURES}},
             {"seq": 10, "name": "SET_SLAVE_REQ_FD", "step": 1, "reply": {"ret": 0, "ack": 0}},
             {"seq": 12, "name": "SET_OWNER", "step": 2},
             {"seq": 13, "name": "SET_VRING_CALL", "step": 4,
              "payload": {"vring": 0, "fd": True}}]}]
    return Trace(qemu={"binary": "q", "version": "7.2.0", "argv": ["q"]},
                 outcome=Outcome(state="init-complete"),
                 extra={"vhost_user": {"rounds": rounds}})


def arrows(svg: ET.Element, kind: str) -> list[ET.Element]:
    return [g for g in svg.iter(f"{SVG}g") if g.get("class") == f"arrow {kind}"]


def test_one_diagram_per_connection():
    doc = ET.fromstring(rs.render(restart_trace()))      # well-formed XML
    diagrams = [s for s in doc.iter(f"{SVG}svg") if s.get("class") == "sequence"]
    assert len(diagrams) == 2
    titles = ["".join(d.find(f"{SVG}text").itertext()) for d in diagrams]
    assert "connection 1" in titles[0] and "connection 2" in titles[1]
    assert "net0" in titles[1]


def test_one_arrow_per_request_and_per_reply():
    t = restart_trace()
    doc = ET.fromstring(rs.render(t))
    rounds = t.extra["vhost_user"]["rounds"]
    messages = [m for r in rounds for m in r["messages"]]
    assert len(arrows(doc, "request")) == len(messages) == 5
    assert len(arrows(doc, "reply")) == sum("reply" in m for m in messages) == 2


def test_feature_sets_are_counted_and_named_in_the_title():
    doc = ET.fromstring(rs.render(restart_trace()))
    (reply,) = [g for g in arrows(doc, "reply")
                if "GET_FEATURES" in "".join(g.find(f"{SVG}text").itertext())]
    assert "0x100000003 (3 features)" in "".join(reply.find(f"{SVG}text").itertext())
    title = reply.find(f"{SVG}title").text
    assert all(bit in title for bit in FEATURES["bits"])


def test_a_failure_is_drawn_where_it_happened_with_qemus_lines():
    first, _ = rs.diagrams(restart_trace())
    doc = ET.fromstring(first)
    failures = [g for g in doc.iter(f"{SVG}g") if g.get("class") == "failure"]
    assert len(failures) == 1
    errors = [g for g in doc.iter(f"{SVG}g") if g.get("class") == "qemu-error"]
    texts = ["".join(g.itertext()) for g in errors]
    assert texts == ["QEMU: Failed to write msg.", "QEMU: vhost_backend_init failed"]
    # below the failed request, in drawing order
    ys = [float(e.get("y")) for e in doc.iter(f"{SVG}rect") if e in
          [r for g in errors for r in g.iter(f"{SVG}rect")]]
    request_y = float(arrows(doc, "request")[0].find(f"{SVG}line").get("y1"))
    assert all(y > request_y for y in ys)


def test_no_negotiation_still_makes_an_svg():
    t = Trace(qemu={"argv": ["q"]}, outcome=Outcome(state="timeout"))
    assert rs.diagrams(t) == []
    ET.fromstring(rs.render(t))
