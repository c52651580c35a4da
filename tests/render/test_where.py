"""The text of a `where` result: the head line, the lines questions.toml
shows and in which order, the other fields, the chain."""

from gdb_qemuinit.analysis import where
from gdb_qemuinit.model import questions
from gdb_qemuinit.render import where as render_where

CHAIN = [{"function": "main", "file": "softmmu/main.c", "line": 47},
         {"function": "pci_config_alloc", "file": None, "line": None}]


def result(question, *answers):
    return {"schema": where.SCHEMA, "question": question, "summary": "what it asks",
            "qemu": {"version": "7.2.22"}, "outcome": {"state": "init-complete"},
            "none": None if answers else "nothing ran", "answers": list(answers)}


def pci_answer(**fields):
    a = dict.fromkeys(questions.answer_layout().keys)
    a.update(function="pci_config_alloc", device="virtio-net-pci", bdf="rp:00.0",
             config_size=4096, chain=CHAIN, steps=[{"function": "x", "at": "y", "hit": 1}],
             express_at_alloc=True, config_reason="why", bus_is_express=False)
    a.update(fields)
    return a


def test_pci_config_lines_in_the_order_questions_toml_gives():
    text = render_where.format_result(result("pci-config", pci_answer(
        express=True, pcie_cap_added="pcie_cap_init from rp_realize (a.c:9)",
        throwaway="a model")))
    assert text.splitlines() == [
        "qinit where pci-config: what it asks", "  QEMU 7.2.22: init-complete", "",
        "[1] pci_config_alloc  device=virtio-net-pci  bdf=rp:00.0",
        "    throwaway: a model",
        "    config space: 4096 bytes: why",
        "    after realize: PCI Express",
        "    PCIe capability added by pcie_cap_init from rp_realize (a.c:9)",
        "    chain:", "      main (softmmu/main.c:47)", "      pci_config_alloc"]


def test_after_realize_names_the_final_state_and_its_note():
    unknown = pci_answer(express=None, express_note="not finished")
    cleared = pci_answer(express=False)
    text = render_where.format_result(result("pci-config", unknown, cleared))
    assert "after realize: not read (not finished)" in text
    assert "after realize: conventional PCI\n" in text
    never = pci_answer(express_at_alloc=None, express=False)
    assert "after realize" not in render_where.format_result(result("pci-config", never))


def test_other_fields_are_listed_unless_hidden_and_a_device_filters():
    a = pci_answer(express=False, extra=3, empty=None)
    text = render_where.format_result(result("pci-config", a))
    assert "    extra: 3" in text and "empty" not in text
    assert "bus_is_express" not in text and "steps" not in text
    netdev = dict.fromkeys(questions.answer_layout().keys)
    netdev.update(function="net_client_init1", id="n0", type="USER", chain=[])
    text = render_where.format_result(result("netdev_init", netdev))
    assert "[1] net_client_init1  id=n0\n    type: USER" in text and "chain" not in text
    assert "no answer: no device 'n1'" in render_where.format_result(
        result("netdev_init", netdev), device="n1")
    assert "[1]" in render_where.format_result(result("netdev_init", netdev), device="n0")


def test_a_question_s_own_lines_and_an_unknown_question():
    q = questions.question_from("q", {"stops": ["f"], "show": [{"text": "kind: {kind}"}],
                                  "hide": ["secret"]})
    a = {"function": "f", "kind": "k", "secret": 1, "chain": []}
    assert render_where.format_result(result("q", a), question=q).endswith(
        "[1] f\n    kind: k")
    # a result of a question this qemuinit does not know: its fields, listed
    text = render_where.format_result(result("no-such-question!", a))
    assert "kind: k" in text and "secret: 1" in text
    assert "no answer: nothing ran" in render_where.format_result(result("q"))
