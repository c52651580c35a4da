"""All the sections computed again from a trace."""

from gdb_qemuinit.analysis import annotate as analysis
from gdb_qemuinit.model.trace import dumps

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
