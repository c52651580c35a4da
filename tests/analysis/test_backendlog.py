"""What a backend logged receiving, compared connection by connection with
what QEMU sent (testpmd's log lines, as [backend_log] reads them)."""

from gdb_qemuinit.analysis import backendlog
from gdb_qemuinit.qemu import scenario
from vhost_hits import WAIT, decoded, hit, make, negotiation


def test_backend_log_is_parsed_and_compared():
    log = ("VHOST_CONFIG: (s) read message VHOST_USER_GET_FEATURES\n"
           "VHOST_CONFIG: (s) read message VHOST_USER_SET_PROTOCOL_FEATURES\n"
           "VHOST_CONFIG: (s) negotiated Vhost-user protocol features: 0x9\n"
           "VHOST_CONFIG: (s) read message VHOST_USER_SET_OWNER\n"
           "VHOST_CONFIG: (s) read message VHOST_USER_SET_VRING_CALL\n")
    parsed = backendlog.parse_backend_log(log, scenario.backend_log_patterns())
    requests = ["GET_FEATURES", "SET_PROTOCOL_FEATURES", "SET_OWNER", "SET_VRING_CALL"]
    assert parsed == {"requests": requests, "protocol_features": [9],
                      "connections": [{"requests": requests, "protocol_features": [9],
                                       "values": [{}, {}, {}, {}]}]}
    t = make([hit(1, WAIT)] + negotiation(2))
    t.extra["backends"] = [{"chardev": None, "log": parsed}]
    (check,) = decoded(t)["backend_checks"]
    assert check["requests_agree"] and check["protocol_features_agree"]
    parsed["connections"][0]["requests"][1] = "GET_QUEUE_NUM"
    (check,) = decoded(t)["backend_checks"]
    assert not check["requests_agree"] and "#2" in check["first_difference"]


TESTPMD_CONNECTION = "VHOST_CONFIG: (s) new device, handle is 0\n"


def logged(*names, features=()):
    return (TESTPMD_CONNECTION
            + "".join(f"VHOST_CONFIG: (s) read message VHOST_USER_{n}\n" for n in names)
            + "".join(f"VHOST_CONFIG: (s) negotiated Vhost-user protocol features: {f:#x}\n"
                      for f in features))


def check_of(t, log_text):
    t.extra["backends"] = [{"chardev": None, "log": backendlog.parse_backend_log(
        log_text, scenario.backend_log_patterns())}]
    (check,) = decoded(t)["backend_checks"]
    return check


NEGOTIATED = ["GET_FEATURES", "SET_PROTOCOL_FEATURES", "SET_OWNER", "SET_VRING_CALL"]


def test_a_decoded_request_the_backend_never_received_makes_it_disagree():
    t = make([hit(1, WAIT)] + negotiation(2))
    assert check_of(t, logged(*NEGOTIATED))["requests_agree"]
    # the backend never received the first request QEMU is said to have sent:
    # comparing the tail would agree, the whole connection does not
    check = check_of(t, logged(*NEGOTIATED[1:]))
    assert not check["requests_agree"]
    assert check["first_difference"] == ("connection 1, #1: QEMU sent GET_FEATURES (1), "
                                         "backend logged SET_PROTOCOL_FEATURES (16)")
    check = check_of(t, logged(*NEGOTIATED[:-1]))
    assert check["first_difference"].endswith(
        "#4: QEMU sent SET_VRING_CALL (13), the backend logged nothing more")


def test_each_connection_is_compared_with_the_backends_own():
    """A restart: QEMU's first connection went to a client that left, the
    backend made the second; with two backend connections both are compared."""
    hits = [hit(1, WAIT)] + negotiation(2) + [hit(10, WAIT)] + negotiation(11)
    t = make(hits)
    check = check_of(t, logged(*NEGOTIATED))
    assert check["requests_agree"] and [c["connection"] for c in check["connections"]] == [2]
    assert "connection 1 went to another peer" in check["compared"]
    check = check_of(t, logged(*NEGOTIATED) + logged(*NEGOTIATED))
    assert check["requests_agree"] and [c["connection"] for c in check["connections"]] == [1, 2]
    # the second connection lost a request: named, with its connection
    check = check_of(t, logged(*NEGOTIATED) + logged(*NEGOTIATED[:2], NEGOTIATED[3]))
    assert not check["requests_agree"]
    assert check["first_difference"].startswith("connection 2, #3: QEMU sent SET_OWNER")
    check = check_of(t, logged("GET_FEATURES") * 3)
    assert not check["requests_agree"]
    assert check["first_difference"] == "the backend logged 3 connections, QEMU made 2"


def test_a_client_backends_reconnections_after_qemu_is_gone_are_not_compared():
    t = make([hit(1, WAIT)] + negotiation(2))
    check = check_of(t, logged(*NEGOTIATED) + TESTPMD_CONNECTION * 5)
    assert check["requests_agree"] and len(check["connections"]) == 1
    # but an empty connection before one that carried requests is compared
    check = check_of(t, TESTPMD_CONNECTION + logged(*NEGOTIATED))
    assert not check["requests_agree"]
    assert check["first_difference"] == "the backend logged 2 connections, QEMU made 1"


START_LOG = """VHOST_CONFIG: (s) new device, handle is 0
VHOST_CONFIG: (s) read message VHOST_USER_SET_FEATURES
VHOST_CONFIG: (s) negotiated Virtio features: 0x140000000
VHOST_CONFIG: (s) read message VHOST_USER_SET_STATUS
VHOST_CONFIG: (s) new device status(0x0000000f):
VHOST_CONFIG: (s) read message VHOST_USER_SET_MEM_TABLE
VHOST_CONFIG: (s) guest memory region size: 0x10000000
VHOST_CONFIG: (s) \t guest physical addr: 0x0
VHOST_CONFIG: (s) \t guest virtual  addr: 0x7fec97fff000
VHOST_CONFIG: (s) \t mmap off  : 0x0
VHOST_CONFIG: (s) read message VHOST_USER_SET_VRING_BASE
VHOST_CONFIG: (s) vring base idx:1 last_used_idx:0 last_avail_idx:7.
VHOST_CONFIG: (s) read message VHOST_USER_SET_VRING_KICK
VHOST_CONFIG: (s) vring kick idx:1 file:28
"""


def test_the_values_a_backend_logs_belong_to_the_request_before_them():
    parsed = backendlog.parse_backend_log(START_LOG, scenario.backend_log_patterns())
    (conn,) = parsed["connections"]
    assert conn["values"] == [
        {"features": [0x140000000]}, {"status": [0xf]},
        {"memory_size": [0x10000000], "guest_phys_addr": [0], "userspace_addr": [0x7fec97fff000],
         "mmap_offset": [0]},
        {"vring": [1], "num": [7]}, {"vring": [1]}]


def test_every_start_value_testpmd_logged_is_what_qemu_sent_and_a_changed_one_is_named():
    """A device start recorded on QEMU 7.2 with dpdk-testpmd: its log, as
    parsed then, agrees value by value; one value changed in the log is
    the first difference, by request and name."""
    from gdb_qemuinit.analysis import vhostuser
    from gdb_qemuinit.model import phases
    from gdb_qemuinit.model.spec import load_spec
    from gdb_qemuinit.model.trace import load
    from conftest import ROOT
    t = load(str(ROOT / "tests/data/traces/device-start-qemu-7.2.json"))
    path = phases.load("device-start").path()
    (check,) = vhostuser.section(path, t, load_spec()).backend_checks
    assert check.requests_agree and check.values_agree and check.values_compared >= 30
    log = t.extra["backends"][0]["log"]
    mem = next(v for v in log["connections"][-1]["values"] if "memory_size" in v)
    mem["memory_size"] = [mem["memory_size"][0] // 2]
    (check,) = vhostuser.section(path, t, load_spec()).backend_checks
    assert check.requests_agree and not check.values_agree
    assert "SET_MEM_TABLE: QEMU sent memory_size 0x10000000" in check.first_value_difference


def test_a_watch_compares_its_connections_with_the_logs_last_ones():
    """A watch began while the backend was connected: the log's earlier
    connections were never seen by gdb, and are not held against it."""
    t = make([hit(1, WAIT)] + negotiation(2), state="watched")
    earlier_and_now = logged(*NEGOTIATED) + logged(*NEGOTIATED)
    assert not check_of(t, earlier_and_now)["requests_agree"]      # a trace: all of it
    t.qemu["phase"] = "watch"
    check = check_of(t, earlier_and_now)
    assert check["requests_agree"] and check["backend_received"] == len(NEGOTIATED)
    check = check_of(t, logged(*NEGOTIATED) + logged(*NEGOTIATED[:2]))
    assert not check["requests_agree"] and "#3: QEMU sent SET_OWNER" in check["first_difference"]
    # QEMU went on once the watch ended: what the log has past it is left out
    check = check_of(t, logged(*NEGOTIATED, "SET_VRING_ENABLE", "SET_VRING_ENABLE"))
    assert check["requests_agree"]
    assert check["compared"].endswith(
        "; the backend logged 2 more requests after the watch ended, not compared")
    wrong = check_of(t, logged(*NEGOTIATED[:3], "SET_VRING_ENABLE", "SET_VRING_CALL"))
    assert not wrong["requests_agree"]
