"""What a recorder is asked to do, decided from the data and QEMU's command line."""

import pytest

from conftest import stack_hit
from gdb_qemuinit.model import initpath, phases
from gdb_qemuinit.planning import recording
from gdb_qemuinit.model import questions
from gdb_qemuinit.model.spec import load_spec


@pytest.fixture(scope="module")
def path():
    return initpath.load()


@pytest.fixture(scope="module")
def spec():
    return load_spec()


USER = ["qemu-system-x86_64", "-machine", "q35", "-netdev", "user,id=n0", "-device",
        "virtio-net-pci,netdev=n0"]
VHOST = ["qemu-system-x86_64", "-chardev", "socket,id=c,path=/tmp/s,server=on", "-netdev",
         "vhost-user,id=n0,chardev=c", "-device", "virtio-net-pci,netdev=n0"]


def test_vhost_user_messages_are_read_only_when_the_command_line_can_send_them(path, spec):
    vhost = recording.for_trace(path, spec, phases.load())
    # The plan is made at main, from the argv QEMU received.
    user_plan, vhost_plan = vhost.plan_for(USER), vhost.plan_for(VHOST)
    sent, reply = spec.record["sent"], spec.record["reply"]
    assert sent not in user_plan.functions and reply not in user_plan.functions
    assert {sent, reply} <= set(vhost_plan.functions)
    assert vhost.replies[reply]["pointer"] and sent in vhost.reads
    # a trace never stops early and looks up every documented function
    assert vhost.stop_rule is None and set(vhost.documented) == set(path.functions())
    assert set(vhost.blocking_reads) == {b["function"] for b in spec.blocking}


def test_naive_plants_every_documented_function_and_the_messages(path, spec):
    naive = recording.for_trace(path, spec, phases.load(), naive=True).plan_for(USER)
    planned = recording.for_trace(path, spec, phases.load()).plan_for(USER)
    assert set(path.hot) & set(naive.functions)
    assert not set(path.hot) & set(planned.functions)
    assert spec.record["sent"] in naive.functions


def test_a_device_start_trace_ends_once_every_vhost_nic_started_not_at_the_main_loop(spec):
    phase = phases.load("device-start")
    path = phase.path()
    todo = recording.for_trace(path, spec, phase)
    assert todo.plan.end is None and todo.started.function == "vhost_net_start"
    two = VHOST + ["-chardev", "socket,id=c1,path=/tmp/t", "-netdev",
                   "vhost-user,id=n1,chardev=c1", "-device", "virtio-net-pci,netdev=n1",
                   "-netdev", "user,id=u0", "-device", "e1000,netdev=u0"]
    plan = todo.plan_for(two)
    # the user netdev's NIC has no vhost backend: nobody waits for its start
    assert plan.awaited == ("n0", "n1") and plan.end is None
    assert {"qemu_main_loop", "vhost_net_start"} <= set(plan.functions)
    assert todo.reads["vhost_net_start"]["netdev"]
    # the memory table and a ring's addresses are read for those requests only
    by = {c["name"]: c for c in todo.reads_by[spec.record["sent"]]}
    assert by["regions"]["value"] == spec.number("SET_MEM_TABLE") and by["regions"]["count"]
    assert by["addr"]["value"] == spec.number("SET_VRING_ADDR")
    # init's own trace still ends at the main loop, which has no recording breakpoint
    init = recording.for_trace(initpath.load(), spec, phases.load()).plan_for(two)
    assert init.end == "qemu_main_loop" and "qemu_main_loop" not in init.functions
    assert init.awaited == ()


def test_a_question_past_init_waits_for_the_nics_start_as_its_phase_does():
    q = questions.resolve("memory-table")
    todo = recording.for_question(q, collect=True)
    started = phases.load("device-start").started
    assert todo.plan.end is None and todo.started == started
    assert todo.goal == recording.START_GOAL
    assert set(todo.plan.functions) == {"vhost_user_set_mem_table", "vhost_net_start"}
    # the start's reads (which NIC) beside the question's own
    assert todo.reads["vhost_net_start"] == started.reads
    assert todo.reads["vhost_user_set_mem_table"]["regions"] == "mem->nregions"
    assert todo.plan_for(VHOST).awaited == ("n0",)
    assert todo.plan_for(["qemu", "-netdev", "bogus-no-id"]) == todo.plan
    # a question about init still ends at the main loop
    init = recording.for_question(questions.resolve("board-init"), collect=True)
    assert init.plan.end == "qemu_main_loop" and init.started is None


def test_a_question_stops_at_its_first_answer_unless_collecting():
    q = questions.resolve("pci-config")
    first = recording.for_question(q, collect=False)
    every = recording.for_question(q, collect=True)
    assert first.stop_rule.functions == (q.stops[0],) and every.stop_rule is None
    assert first.plan.functions == tuple(q.stops)
    assert first.key == q.key and first.final == q.final and first.reads == q.reads
    assert first.documented == () and first.plan_for is None
    assert "qemu_get_nic_models" in first.stop_rule.throwaway


BOARD_ALLOC = ("main", "qemu_init", "qemu_init_board", "pc_q35_init", "pci_new",
               "pci_qdev_realize", "do_pci_register_device", "pci_config_alloc")
USER_ALLOC = ("main", "qemu_init", "qemu_create_cli_devices", "qdev_device_add_from_qdict",
              "qdev_realize", "pci_qdev_realize", "do_pci_register_device", "pci_config_alloc")


def alloc(seq, stack, device, ident=None):
    h = stack_hit(seq, *stack)
    h.reads = {"device": device, "id": ident, "pci_dev": seq}
    return h


def test_a_device_question_stops_at_the_command_lines_device_or_the_one_named():
    q = questions.resolve("pci-config")
    mch = alloc(1, BOARD_ALLOC, "mch")
    port = alloc(2, USER_ALLOC, "pcie-root-port", "rp1")
    nic = alloc(3, USER_ALLOC, "virtio-net-pci", "nic0")
    rule = recording.for_question(q, collect=False).stop_rule
    assert [rule.chooses(h) for h in (mch, port, nic)] == [False, True, True]
    for device, chosen in (("virtio-net-pci", nic), ("nic0", nic), ("mch", mch),
                           ("rp1", port)):
        rule = recording.for_question(q, collect=False, device=device).stop_rule
        assert [h for h in (mch, port, nic) if rule.chooses(h)] == [chosen], device
    # a question not about devices stops at its first hit, board or not
    board = recording.for_question(questions.resolve("board-init"), collect=False).stop_rule
    assert board.command_line == () and board.chooses(stack_hit(1, "main", "qemu_init_board"))


def test_within_is_part_of_the_stop_rule():
    """device-realize keeps -device realizes: the board's earlier ones are
    no answer, so QEMU must not stop at them."""
    q = questions.resolve("device-realize")
    rule = recording.for_question(q, collect=False).stop_rule
    board = stack_hit(1, "main", "qemu_init_board", "qdev_realize")
    user = stack_hit(2, "main", "qemu_create_cli_devices", "qdev_device_add_from_qdict",
                     "qdev_realize")
    assert not rule.chooses(board) and rule.chooses(user)


def test_within_may_name_several_functions():
    """guest-features keeps the guest's writes (under virtio_set_features,
    or _ex in 10.2), not a device reset's."""
    rule = recording.for_question(questions.resolve("guest-features"), collect=False).stop_rule
    write = stack_hit(1, "virtio_pci_common_write", "virtio_set_features_ex",
                      "virtio_set_features_nocheck", "virtio_net_set_features")
    reset = stack_hit(2, "virtio_pci_common_write", "virtio_pci_reset", "virtio_reset",
                      "virtio_set_features_nocheck", "virtio_net_set_features")
    assert rule.chooses(write) and not rule.chooses(reset)


def test_device_goes_only_with_a_question_about_devices():
    with pytest.raises(questions.QuestionError, match="--device works with .*pci-config"):
        questions.check_device(questions.resolve("board-init"), "mch")
    questions.check_device(questions.resolve("pci-config"), "mch")


def test_a_watch_reads_every_vhost_user_message_and_stops_only_at_its_event(spec):
    """A running QEMU may be given any NIC (hot-plug): the messages are read
    whatever its command line; the event's functions are planted and chosen
    by their caller; without an event nothing stops the watch early."""
    phase = phases.load("watch")
    path = phase.path()
    plain = recording.for_watch(path, spec, phase, None)
    assert plain.watch and plain.event is None and plain.stop_rule is None
    assert plain.plan.end is None and plain.started is None
    plan = plain.plan_for(USER)
    assert {spec.record["sent"], spec.record["reply"]} <= set(plan.functions)
    assert "qmp_chardev_open_socket_server" in plan.functions
    down = recording.for_watch(path, spec, phase, phase.event("disconnected"))
    assert down.event == "disconnected"
    assert set(phase.event("disconnected").functions) <= set(down.plan_for(USER).functions)
    rule = down.stop_rule
    closed = stack_hit(1, "main", "chr_closed_bh", "qmp_set_link")
    opened = stack_hit(2, "main", "net_vhost_user_event", "qmp_set_link")
    assert rule.chooses(closed) and not rule.chooses(opened)
