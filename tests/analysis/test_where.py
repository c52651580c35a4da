"""Pure tests of where answers: throwaway objects (qemu_get_nic_models'
NIC models on QEMU 9.0+) are marked and listed after the user's."""

from conftest import trace_of as hand_trace
from gdb_qemuinit.analysis import annotate as analysis
from gdb_qemuinit.model import initpath
from gdb_qemuinit.render import text as render_text
from gdb_qemuinit.analysis import where
from gdb_qemuinit.model import questions
from gdb_qemuinit.render import where as render_where
from gdb_qemuinit.model.trace import Frame, Hit, Outcome, Trace

BOARD = ("main", "qemu_init", "qmp_x_exit_preconfig", "qemu_init_board", "pc_q35_init",
         "pc_nic_init", "pci_init_nic_devices", "qemu_create_nic_bus_devices",
         "qemu_get_nic_models", "object_new_with_class", "object_new_with_type",
         "virtio_net_pci_instance_init")
CLI = ("main", "qemu_init", "qmp_x_exit_preconfig", "qemu_create_cli_devices",
       "qdev_device_add_from_qdict", "qdev_new", "object_new", "object_new_with_type",
       "virtio_net_pci_instance_init")


def hit(seq, stack, device):
    frames = [Frame(fn, "f.c", 10) for fn in reversed(stack)]
    return Hit(seq=seq, function=stack[-1], thread=1, frames=frames,
               reads={"device": device})


def trace_of(*hits):
    return Trace(qemu={"binary": "q", "version": "10.0.0", "argv": ["q"]},
                 outcome=Outcome(state="init-complete"), hits=list(hits))


def test_throwaway_nic_models_are_marked_and_listed_after_the_users_nic():
    t = trace_of(hit(1, BOARD, "virtio-net-pci"), hit(2, BOARD, "virtio-net-pci-transitional"),
                 hit(3, CLI, "virtio-net-pci"))
    res = where.result(questions.resolve("virtio-net-instance"), t)
    first, *rest = res["answers"]
    assert first["throwaway"] is None and "qemu_create_cli_devices" in [
        f["function"] for f in first["chain"]]
    assert [a["device"] for a in rest] == ["virtio-net-pci", "virtio-net-pci-transitional"]
    assert all("qemu_get_nic_models" in a["throwaway"] for a in rest)
    text = render_where.format_result(res)
    assert text.index("[1]") < text.index("throwaway:")


def test_the_trace_lists_its_throwaway_hits():
    t = analysis.annotate(initpath.load(), trace_of(hit(1, BOARD, "virtio-net-pci"),
                                                    hit(2, CLI, "virtio-net-pci")))
    assert [(x["hit"], x["under"]) for x in t.extra["throwaway"]] == [(1, "qemu_get_nic_models")]
    assert "hit #1 virtio_net_pci_instance_init" in render_text.render(initpath.load(), t)
    assert "throwaway" not in analysis.annotate(initpath.load(), trace_of(
        hit(1, CLI, "virtio-net-pci"))).extra


# QEMU before 9.0, one -nic: pci_nic_init_nofail makes one object per PCI
# NIC model, then the real NIC through pci_new.
NIC_PROBE = ("main", "qemu_init", "qmp_x_exit_preconfig", "qemu_init_board", "pc_init1",
             "pc_nic_init", "pci_nic_init_nofail", "object_new_with_class",
             "object_new_with_type", "virtio_net_pci_instance_init")
NIC_REAL = ("main", "qemu_init", "qmp_x_exit_preconfig", "qemu_init_board", "pc_init1",
            "pc_nic_init", "pci_nic_init_nofail", "pci_new", "qdev_new", "object_new",
            "object_new_with_type", "virtio_net_pci_instance_init")


def test_a_caller_calling_directly_marks_throwaway_but_not_its_other_calls():
    t = analysis.annotate(initpath.load(), trace_of(hit(1, NIC_PROBE, "virtio-net-pci"),
                                                    hit(2, NIC_REAL, "virtio-net-pci")))
    assert [(x["hit"], x["under"]) for x in t.extra["throwaway"]] == [(1, "pci_nic_init_nofail")]
    res = where.result(questions.resolve("virtio-net-instance"), t)
    first, second = res["answers"]
    assert first["throwaway"] is None and "pci_new" in [f["function"] for f in first["chain"]]
    assert "pci_nic_init_nofail" in second["throwaway"]


REALIZE = ["main", "qemu_init", "qdev_device_add", "device_set_realized",
           "pci_qdev_realize", "do_pci_register_device"]


def hit_at(seq, outermost_first, reads):
    frames = [Frame(fn, "hw/pci/pci.c", 100 + i) for i, fn in
              enumerate(reversed(outermost_first))]
    return Hit(seq=seq, function=outermost_first[-1], thread=1, frames=frames, reads=reads)


def test_pci_config_answers_per_device_with_the_final_state():
    q = questions.resolve("pci-config")
    alloc = hit_at(1, REALIZE + ["virtio_pci_dc_realize", "pci_config_alloc"],
                   {"pci_dev": 7, "device": "virtio-net-pci", "id": "n0", "bus": "pcie.0",
                    "devfn": 0x18, "express": True, "config_size": 4096})
    realize = hit_at(2, REALIZE + ["virtio_pci_realize"], {"pci_dev": 7,
                                                            "bus_is_express": False})
    t = hand_trace([alloc, realize], extra={"final_reads": {"7": {"express": 0}}})
    (ans,) = where.answers(q, t)
    assert (ans["device"], ans["id"], ans["bdf"], ans["config_size"]) == \
        ("virtio-net-pci", "n0", "pcie.0:03.0", 4096)
    assert ans["express_at_alloc"] and ans["express"] is False
    assert "virtio_pci_realize cleared" in ans["express_note"]
    assert "virtio_pci_dc_realize" in ans["config_reason"]
    assert [s["function"] for s in ans["steps"]] == ["pci_config_alloc", "virtio_pci_realize"]
    assert ans["chain"][0]["function"] == "main"        # outermost first
    text = render_where.format_result(where.result(q, t))
    assert "config space: 4096 bytes" in text and "after realize: conventional PCI" in text
    assert "no device 'other'" in render_where.format_result(where.result(q, t), device="other")


def test_no_stop_point_ran_means_the_question_says_why():
    q = questions.resolve("pci-config")
    res = where.result(q, hand_trace([]))
    assert res["answers"] == [] and res["none"] == q.none
    assert res["schema"] == where.SCHEMA


def test_a_function_question_answers_every_hit_with_its_reads():
    q = questions.resolve("pci_qdev_realize")
    t = hand_trace([hit_at(1, REALIZE[:5], {"x": 1}), hit_at(2, REALIZE[:5], None)])
    answers = where.answers(q, t)
    assert [a["function"] for a in answers] == ["pci_qdev_realize"] * 2
    assert answers[0]["x"] == 1 and answers[1]["device"] is None


def test_pci_config_reasons_and_the_outermost_capability_call():
    q = questions.resolve("pci-config")
    conventional = hit_at(1, REALIZE + ["pci_config_alloc"],
                          {"pci_dev": 1, "device": "mch", "devfn": 0, "express": False,
                           "config_size": 256})
    port = hit_at(2, REALIZE + ["rp_realize", "pci_config_alloc"],
                  {"pci_dev": 2, "device": "pcie-root-port", "bus": None, "devfn": 0x10,
                   "express": True, "config_size": 4096})
    outer = hit_at(3, REALIZE + ["rp_realize", "pcie_endpoint_cap_init"], {"pci_dev": 2})
    inner = hit_at(4, REALIZE + ["rp_realize", "pcie_endpoint_cap_init", "pcie_cap_init"],
                   {"pci_dev": 2})
    mch, rp = where.answers(q, hand_trace([conventional, port, outer, inner]))
    assert mch["config_reason"].startswith("conventional PCI (QEMU_PCI_CAP_EXPRESS not set)")
    assert "INTERFACE_PCIE_DEVICE" in rp["config_reason"]
    assert rp["bdf"] == "?:02.0" and mch["bdf"] == "?:00.0"
    assert rp["pcie_cap_added"] == "pcie_endpoint_cap_init from rp_realize (hw/pci/pci.c:101)"
    # no final reads (QEMU stopped at the first answer): the final state is unknown
    assert rp["express"] is None and "before the end of init" in rp["express_note"]
    assert list(rp)[:9] == ["function", "device", "id", "origin", "bdf", "config_size",
                            "express", "chain", "throwaway"]


def test_a_question_made_of_data_answers_with_its_fields_in_order():
    q = questions.question_from("netdev-order", {
        "summary": "s", "stops": ["net_client_init1"],
        "fields": {"net_client_init1": {
            "type": "type", "id": "id",
            "kind": [{"if_on_stack": "net_init_vhost_user", "text": "vhost-user"},
                     {"text": "other"}]}},
        "show": [{"text": "backend: {kind} ({type})"}]})
    stack = ["main", "qemu_init", "net_client_init1"]
    answers = where.answers(q, hand_trace([hit_at(1, stack, {"id": "n0", "type": "USER",
                                                             "unused": 5})]))
    (a,) = answers
    assert [k for k in a if a[k] is not None] == ["function", "id", "chain", "type", "kind"]
    assert a["kind"] == "other" and "unused" not in a
    text = render_where.format_result(where.result(q, hand_trace([])), question=q)
    assert "no answer" in text


def test_device_answers_say_their_origin_and_the_command_lines_come_first():
    board_alloc = ("main", "qemu_init", "qemu_init_board", "pc_q35_init", "pci_new",
                   "pci_config_alloc")
    user_alloc = ("main", "qemu_init", "qemu_create_cli_devices", "qmp_device_add",
                  "qdev_device_add_from_qdict", "pci_config_alloc")
    mch = hit(1, board_alloc, "mch")
    mch.reads["pci_dev"] = 1
    nic = hit(2, user_alloc, "virtio-net-pci")
    nic.reads["pci_dev"] = 2
    res = where.result(questions.resolve("pci-config"), trace_of(mch, nic))
    assert [(a["device"], a["origin"]) for a in res["answers"]] == [
        ("virtio-net-pci", "command line"), ("mch", "board")]
    text = render_where.format_result(res)
    assert "from: the command line" in text and "from: the board" in text
    assert "no device of the command line" not in text
    only_board = where.result(questions.resolve("pci-config"), trace_of(mch))
    assert "no device of the command line has an answer" in render_where.format_result(
        only_board)
    # a question not about devices has no origin
    assert where.result(questions.resolve("board-init"), trace_of(
        hit(1, ("main", "qemu_init_board"), "pc-q35")))["answers"][0]["origin"] is None
