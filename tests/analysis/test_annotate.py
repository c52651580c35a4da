"""All the sections computed again from a trace, and the restart note."""

from gdb_qemuinit.analysis import annotate as analysis
from gdb_qemuinit.model.negotiation import NEGOTIATED, Round
from gdb_qemuinit.model.trace import dumps
from gdb_qemuinit.model.verdicts import OBSERVED, Verdict

from conftest import trace_of
from vhost_hits import PATH, WAIT, hit, make, negotiation

SECTIONS = ("vhost_user", "hang", "throwaway", "first_error", "findings")


def test_sections_with_nothing_to_say_are_removed_when_computed_again():
    t = make([hit(1, ["qemu_init", "main"])], state="init-complete")
    t.extra.update({key: {"stale": True} for key in SECTIONS})
    analysis.annotate(PATH, t)
    assert not [key for key in SECTIONS if key in t.extra]
    assert t.extra["edges"]


def test_annotating_again_gives_the_same_trace():
    t = make([hit(1, WAIT)] + negotiation(2, first_reply_ret=-1), state="exited")
    once = dumps(analysis.annotate(PATH, t))
    assert "vhost_user" in t.extra and "first_error" in t.extra
    assert dumps(analysis.annotate(PATH, t)) == once


# ---------------------------------------------------------------- the restart note
ROUND_STARTS = "qemu_chr_fe_wait_connected"


def noted(rounds):
    t = trace_of([])
    t.extra["edges"] = [Verdict("net_vhost_user_init", ROUND_STARTS, "vhost", OBSERVED).to_json(),
                        Verdict("main", "qemu_init", "main", OBSERVED).to_json()]
    analysis._note_restart(t, ROUND_STARTS, rounds)
    return [e["note"] for e in t.extra["edges"]]


def rnd(n, chardev, connection, result=NEGOTIATED, **more):
    return Round(round=n, connection=connection, hit=n, t=None, chardev=chardev,
                 result=result, **more)


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
