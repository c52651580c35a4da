"""What analysis adds to a recorded trace: here, the restart note."""

from conftest import trace_of
from gdb_qemuinit.analysis import annotate as analysis

WAIT = "qemu_chr_fe_wait_connected"


def noted(rounds):
    t = trace_of([])
    t.extra["edges"] = [{"from": "net_vhost_user_init", "to": WAIT, "status": "observed",
                         "note": ""},
                        {"from": "main", "to": "qemu_init", "status": "observed", "note": ""}]
    analysis._note_restart(t, WAIT, rounds)
    return [e["note"] for e in t.extra["edges"]]


def rnd(n, chardev, connection, result="negotiated", **more):
    return {"round": n, "chardev": chardev, "connection": connection, "result": result,
            **more}


def test_a_new_connection_on_one_chardev_is_a_restart_with_its_reason():
    wait, other = noted([rnd(1, "chr0", 1, "failed", failed_at="GET_FEATURES"),
                         rnd(2, "chr0", 2)])
    assert wait == ("QEMU waited for the backend of chr0 2 times: "
                    "round 1 failed at GET_FEATURES; round 2: negotiated")
    assert other == ""


def test_several_nics_and_queue_pairs_are_no_restart():
    # libvirt's multiqueue line: four chardevs, the last with four queue
    # pairs on one connection; QEMU waited once per chardev.
    rounds = [rnd(1, "charnet0", 1), rnd(2, "charnet1", 2), rnd(3, "charnet3", 3)]
    rounds += [rnd(4 + i, "charnet4", 4, vq_index=2 * i) for i in range(4)]
    assert noted(rounds) == ["", ""]


def test_only_the_restarted_chardev_is_named():
    wait, _ = noted([rnd(1, "a", 1), rnd(2, "b", 2, "failed", failed_at="GET_FEATURES"),
                     rnd(3, "b", 3)])
    assert wait == ("QEMU waited for the backend of b 2 times: "
                    "round 2 failed at GET_FEATURES; round 3: negotiated")
