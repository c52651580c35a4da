"""How a command that watches init from the start begins, per QEMU state."""

import pytest

from gdb_qemuinit.planning.start import (CONTINUE, RESTART, RUN, QemuState, StartRefused,
                                         how_to_start, restart_note)

LOOP = "qemu_main_loop"


@pytest.mark.parametrize("state, action", [
    (QemuState(pid=0), RUN),
    (QemuState(pid=5), CONTINUE),                          # the user's `start`
    (QemuState(pid=5, left_by_qinit=True), RESTART),       # a where answer, a trace's end
    (QemuState(pid=5, past_init=True), RESTART),
    (QemuState(pid=5, attached=True), CONTINUE),           # attached, still in init
])
def test_each_state_begins_as_a_user_expects(state, action):
    assert how_to_start(state, LOOP) == action


@pytest.mark.parametrize("state, says", [
    (QemuState(pid=7, attached=True, past_init=True), "past its init"),
    (QemuState(pid=7, attached=True, left_by_qinit=True), "part of the way through"),
])
def test_an_attached_qemu_is_never_restarted(state, says):
    with pytest.raises(StartRefused) as e:
        how_to_start(state, LOOP)
    assert says in str(e.value) and "PID 7" in str(e.value)
    assert "qinit never" in str(e.value)


def test_a_restart_is_said():
    assert "PID 9" in restart_note(QemuState(pid=9, past_init=True), LOOP)
    assert "its init over" in restart_note(QemuState(pid=9, past_init=True), LOOP)
    assert "left it" in restart_note(QemuState(pid=9, left_by_qinit=True), LOOP)
