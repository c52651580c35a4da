"""What a recorder is asked to do, decided from the data and QEMU's command line."""

import pytest

from gdb_qemuinit.model import initpath
from gdb_qemuinit.planning import recording
from gdb_qemuinit.analysis import vhostuser
from gdb_qemuinit.analysis import where


@pytest.fixture(scope="module")
def path():
    return initpath.load()


@pytest.fixture(scope="module")
def spec():
    return vhostuser.load_spec()


USER = ["qemu-system-x86_64", "-machine", "q35", "-netdev", "user,id=n0", "-device",
        "virtio-net-pci,netdev=n0"]
VHOST = ["qemu-system-x86_64", "-chardev", "socket,id=c,path=/tmp/s,server=on", "-netdev",
         "vhost-user,id=n0,chardev=c", "-device", "virtio-net-pci,netdev=n0"]


def test_vhost_user_messages_are_read_only_when_the_command_line_can_send_them(path, spec):
    vhost = recording.for_trace(path, spec)
    # The plan is made at main, from the argv QEMU received.
    user_plan, vhost_plan = vhost.plan_for(USER), vhost.plan_for(VHOST)
    sent, reply = spec.record["sent"], spec.record["reply"]
    assert sent not in user_plan.functions and reply not in user_plan.functions
    assert {sent, reply} <= set(vhost_plan.functions)
    assert vhost.replies[reply]["pointer"] and sent in vhost.reads
    # a trace never stops early and looks up every documented function
    assert vhost.stop_at == () and set(vhost.documented) == set(path.functions())
    assert set(vhost.blocking_reads) == {b["function"] for b in spec.blocking}


def test_naive_plants_every_documented_function_and_the_messages(path, spec):
    naive = recording.for_trace(path, spec, naive=True).plan_for(USER)
    planned = recording.for_trace(path, spec).plan_for(USER)
    assert set(path.hot) & set(naive.functions)
    assert not set(path.hot) & set(planned.functions)
    assert spec.record["sent"] in naive.functions


def test_a_question_stops_at_its_first_answer_unless_collecting():
    q = where.resolve("pci-config")
    first = recording.for_question(q, collect=False)
    every = recording.for_question(q, collect=True)
    assert first.stop_at == (q.stops[0],) and every.stop_at == ()
    assert first.plan.functions == tuple(q.stops)
    assert first.key == q.key and first.final == q.final and first.reads == q.reads
    assert first.documented == () and first.plan_for is None
    assert "qemu_get_nic_models" in first.throwaway
