"""The vhost-user section: decoding, rounds per chardev and queue pair, replies, the backend log."""


from gdb_qemuinit.analysis import annotate as analysis
from gdb_qemuinit.analysis import vhostuser

from gdb_qemuinit.model.negotiation import Payload
from vhost_hits import (SPEC, PATH, WAIT, INIT, backend_log, decoded, hit, sent, negotiation,
                        make, on)


def test_bits_and_payloads_are_decoded_by_name():
    assert vhostuser.bits(0b101, SPEC.protocol_bits) == ["MQ", "RARP"]
    assert vhostuser.bits(1 << 30, SPEC.virtio_bits) == ["VHOST_USER_F_PROTOCOL_FEATURES"]
    assert vhostuser.bits(1 << 31, SPEC.virtio_bits) == ["bit 31"]
    assert vhostuser.decode(SPEC, "SET_VRING_CALL", 0x101) == Payload(vring=1, fd=False)
    assert vhostuser.decode(SPEC, "GET_QUEUE_NUM", 8) == Payload(value=8)
    # struct vhost_vring_state: index in the low 32 bits, num in the high ones
    enable = vhostuser.decode(SPEC, "SET_VRING_ENABLE", 1 << 32 | 3)
    assert enable == Payload(vring=3, num=1) and enable.vring_text() == "vring 3 num 1"
    assert vhostuser.decode(SPEC, "SET_VRING_NUM", 256 << 32).vring_text() == "vring 0 num 256"
    assert SPEC.name(15) == "GET_PROTOCOL_FEATURES" and SPEC.name(99) == "REQUEST_99"


def test_one_negotiation_in_order_with_steps_and_replies():
    doc = decoded(make([hit(1, WAIT, {"chardev": "chr0"})] + negotiation(2)))
    (rnd,) = doc["rounds"]
    assert rnd["result"] == "negotiated" and rnd["chardev"] == "chr0"
    assert rnd["trigger"] == "qemu_chr_fe_set_handlers_full"
    assert [(m["name"], m["step"]) for m in rnd["messages"]] == [
        ("GET_FEATURES", 1), ("SET_PROTOCOL_FEATURES", 1), ("SET_OWNER", 2),
        ("SET_VRING_CALL", 4)]
    got = rnd["messages"][0]["reply"]["payload"]
    assert got["bits"] == ["VIRTIO_NET_F_CSUM", "VHOST_USER_F_PROTOCOL_FEATURES",
                           "VIRTIO_F_VERSION_1"]
    assert doc["negotiated"]["acked_protocol_features"]["bits"] == ["MQ", "REPLY_ACK"]
    assert "after init" in doc["negotiated"]["acked_features_note"]


def test_step_through_a_wrapper_and_an_ack_asked_for_by_the_request():
    # QEMU 10.2: step 3 reaches vhost_user_get_features through
    # vhost_dev_get_features, and SET_VRING_CALL asks for an ack (need_reply).
    step3 = ["vhost_user_write", "vhost_user_get_u64", "vhost_user_get_features",
             "vhost_dev_get_features"] + INIT
    call = ["vhost_set_vring_file", "vhost_user_set_vring_call", "vhost_virtqueue_init"] + INIT
    flags = 0x1 | SPEC.record["need_reply_flag"]
    doc = decoded(make([
        hit(1, WAIT, {"chardev": "chr0"}), hit(2, INIT),
        hit(3, step3, {"request": 1, "u64": 0}),
        hit(4, ["vhost_user_write"] + call, {"request": 13, "u64": 0, "flags": flags}),
        hit(5, ["vhost_user_read"] + call, {"request": 13, "u64": 0, "ret": 0})]))
    msgs = doc["rounds"][0]["messages"]
    assert [(m["name"], m["step"], m["under"]) for m in msgs] == [
        ("GET_FEATURES", 3, "vhost_user_get_features"),
        ("SET_VRING_CALL", 4, "vhost_virtqueue_init")]
    assert msgs[1]["need_reply"] and msgs[1]["payload"] == {"vring": 0, "fd": True}
    assert msgs[1]["reply"]["ack"] == 0 and msgs[1]["reply"]["payload"] is None
    # without need_reply the same reply is the request's payload kind
    doc = decoded(make([
        hit(1, WAIT, {"chardev": "chr0"}), hit(2, INIT),
        hit(4, ["vhost_user_write"] + call, {"request": 13, "u64": 0, "flags": 0x1}),
        hit(5, ["vhost_user_read"] + call, {"request": 13, "u64": 0x101, "ret": 0})]))
    (msg,) = doc["rounds"][0]["messages"]
    assert "need_reply" not in msg and msg["reply"]["payload"] == {"vring": 1, "fd": False}


def test_a_dropped_connection_makes_a_failed_round_then_a_second_one():
    err = "qemu-system-x86_64: -netdev vhost-user,id=n0: Failed to write msg."
    hits = ([hit(1, WAIT, t=0.1), hit(2, INIT, t=0.2),
             sent(3, 1, "vhost_user_backend_init")] + [])
    for h in hits:
        h.t = h.seq / 10
    second = negotiation(10)
    for h in second:
        h.t = 1 + h.seq / 100
    t = make(hits + [hit(9, WAIT, t=0.9)] + second,
             stderr=[{"t": 0.35, "line": err}, {"t": 1.5, "line": "later"}])
    doc = decoded(t)
    r1, r2 = doc["rounds"]
    assert (r1["connection"], r1["result"], r1["failed_at"]) == (1, "failed", "GET_FEATURES")
    assert r1["errors"] == [err]
    assert (r2["connection"], r2["result"]) == (2, "negotiated")
    annotated = analysis.annotate(PATH, t)
    restart = next(e for e in annotated.extra["edges"]
                   if (e["from"], e["to"]) == ("net_vhost_user_init", "qemu_chr_fe_wait_connected"))
    assert restart["status"] == "observed" and "2 times" in restart["note"]


def test_a_failed_reply_and_a_second_negotiation_on_one_connection():
    hits = [hit(1, WAIT)] + negotiation(2, first_reply_ret=-5) + negotiation(20)
    doc = decoded(make(hits))
    r1, r2 = doc["rounds"]
    assert r1["result"] == "failed" and "returned -5" in r1["why"]
    assert r1["connection"] == r2["connection"] == 1
    assert r2["result"] == "negotiated"
    assert doc["notes"] and "2 times on connection 1" in doc["notes"][0]


def test_messages_of_two_netdevs_go_to_their_own_chardev_whatever_the_order():
    # chr0 negotiates, chr1 negotiates, then QEMU enables chr0's rings (the
    # device is realized after every netdev): those belong to chr0's round.
    first = [on("chr0", 0, h, "net0") for h in [hit(1, WAIT)] + negotiation(2)]
    second = [on("chr1", 0, h, "net1") for h in [hit(10, WAIT)] + negotiation(11)]
    enable = [on("chr0", 0, sent(20, 18, "vhost_user_set_vring_enable")),
              on("chr0", 0, sent(21, 18, "vhost_user_set_vring_enable"))]
    doc = decoded(make(first + second + enable))
    r0, r1 = doc["rounds"]
    assert (r0["chardev"], r0["netdev"], r1["chardev"], r1["netdev"]) == \
        ("chr0", "net0", "chr1", "net1")
    assert [m["seq"] for m in r0["messages"]][-2:] == [20, 21]
    assert all(m["chardev"] == "chr1" for m in r1["messages"]) and len(r1["messages"]) == 4
    assert r0["connection"] != r1["connection"]
    assert [c["chardev"] for c in doc["chardevs"]] == ["chr0", "chr1"]


def test_per_device_requests_of_later_queue_pairs_are_not_sent():
    pair0 = [on("chr0", 0, h) for h in [hit(1, WAIT)] + negotiation(2)]
    pair1 = [on("chr0", 2, h) for h in negotiation(10)]
    t = make(pair0 + pair1)
    t.extra["backends"] = [{"chardev": "chr0", "log": backend_log([
        SPEC.name(h.reads["request"]) for h in pair0 + pair1
        if h.function == "vhost_user_write" and not (
            h.reads["vq_index"] and h.reads["request"] == 3)], [0b1001, 0b1001])}]
    doc = decoded(t)
    r0, r1 = doc["rounds"]
    assert (r0["vq_index"], r1["vq_index"]) == (0, 2)
    assert r0["connection"] == r1["connection"] and not doc["notes"]
    owner = [m for m in r1["messages"] if m["name"] == "SET_OWNER"]
    assert owner and owner[0]["sent"] is False
    assert all(m.get("sent", True) for m in r0["messages"])
    assert r1["result"] == "negotiated"
    (check,) = doc["backend_checks"]
    assert check["requests_agree"] and check["qemu_sent"] == 7, check


def test_names_come_from_the_binary_and_the_backend_log_is_compared_by_number():
    hits = [hit(1, WAIT)] + negotiation(2) + [sent(8, 21, "vhost_setup_slave_channel")]
    t = make(hits)
    t.extra["enums"] = {"requests": {"21": "SET_BACKEND_REQ_FD", "3": "SET_OWNER"},
                        "protocol_features": {"0": "MQ", "3": "REPLY_ACK", "5": "BACKEND_REQ"}}
    # the backend spells request 21 its own way, and another one by the data's name
    logged = ["GET_FEATURES", "SET_PROTOCOL_FEATURES", "SET_OWNER", "SET_VRING_CALL",
              SPEC.data_requests[21]]
    t.extra["backends"] = [{"chardev": None, "log": backend_log(logged, [9])}]
    doc = decoded(t)
    (rnd,) = doc["rounds"]
    assert rnd["messages"][-1]["name"] == "SET_BACKEND_REQ_FD"
    assert doc["backend_checks"][0]["requests_agree"]
    spec = SPEC.for_trace(t)
    assert spec.number("SET_BACKEND_REQ_FD") == spec.number(SPEC.data_requests[21]) == 21
    assert spec.protocol_bits[5] == "BACKEND_REQ" and spec.protocol_bits[1] == "LOG_SHMFD"
    logged[-1] = "GET_QUEUE_NUM"
    assert not decoded(t)["backend_checks"][0]["requests_agree"]


def test_no_vhost_user_activity_means_no_section():
    assert decoded(make([hit(1, ["qemu_init_board", "main"])])) is None


def test_a_wait_whose_chardev_could_not_be_read_joins_the_next_negotiation():
    hits = [hit(1, WAIT, {"chardev": None})] + [on("chr0", 0, h, "net0") for h in negotiation(2)]
    (rnd,) = decoded(make(hits))["rounds"]
    assert (rnd["chardev"], rnd["connection"], rnd["result"]) == ("chr0", 1, "negotiated")


def test_not_sent_is_what_qemu_did_at_the_call_when_the_write_was_watched():
    pair0 = [on("chr0", 0, h) for h in [hit(1, WAIT)] + negotiation(2)]
    pair1 = [on("chr0", 2, h) for h in negotiation(10)]
    for h in pair0 + pair1:
        if h.function == "vhost_user_write":
            # written unless QEMU skipped it: here SET_OWNER (3) of the second
            # pair, and, against the releases' list, GET_FEATURES (1) too
            skipped = h.reads["vq_index"] and h.reads["request"] in (1, 3)
            if not skipped:
                h.reads["written"] = True
    t = make(pair0 + pair1)
    t.extra["writes_watched"] = ["vhost_user_write"]
    doc = decoded(t)
    r1 = doc["rounds"][1]
    not_sent = {m["name"]: m["not_sent_why"] for m in r1["messages"] if m.get("sent") is False}
    assert set(not_sent) == {"GET_FEATURES", "SET_OWNER"}
    assert "per-device" in not_sent["SET_OWNER"]
    assert not_sent["GET_FEATURES"] == ("vhost_user_write returned without calling "
                                        "qemu_chr_fe_write_all")
    assert all(m.get("sent", True) for m in doc["rounds"][0]["messages"])


def test_a_message_not_written_expects_no_reply_whatever_its_flags():
    """Read at the entry, a skipped request still has its need-reply flag;
    read where QEMU leaves, it is cleared.  Either way: no reply expected."""
    need_reply = SPEC.record["need_reply_flag"]
    pair1 = [on("chr0", 2, h) for h in negotiation(10)]
    for h in pair1:
        if h.function == "vhost_user_write":
            h.reads["flags"] = 0x1 | need_reply
            if h.reads["request"] != 3:         # SET_OWNER skipped
                h.reads["written"] = True
    t = make([on("chr0", 0, h) for h in [hit(1, WAIT)] + negotiation(2)] + pair1)
    t.extra["writes_watched"] = ["vhost_user_write"]
    messages = decoded(t)["rounds"][1]["messages"]
    skipped = [m for m in messages if m.get("sent") is False]
    assert [m["name"] for m in skipped] == ["SET_OWNER"] and "need_reply" not in skipped[0]
    written = [m for m in messages if m.get("sent", True)]
    assert written and all(m.get("need_reply") for m in written)
