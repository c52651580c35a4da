"""Integration: `where` questions on the real debug QEMU."""

import json

import pytest

from conftest import (BREAKPOINTS, SELECTED_FRAME, _state_line, breakpoints_left, run_cli,
                      run_gdb, selected_frame, trace_in_gdb_with_testpmd)
from gdb_qemuinit.qemu import scenario

pytestmark = [pytest.mark.qemu, pytest.mark.usefixtures("no_leftovers")]

BASE = ["-nodefaults", "-display", "none", "-S", "-netdev", "user,id=n0"]


def where(qemu_binary, tmp_path, machine, *devices, question="pci-config", options=("--all",)):
    out = tmp_path / "w.json"
    r = run_cli("where", question, *options, "--json", str(out), "--", qemu_binary,
                "-machine", machine, *BASE, *devices)
    assert r.returncode == 0, r.stdout + r.stderr
    doc = json.loads(out.read_text())
    assert doc["schema"] == "qemuinit.where/1"
    return doc, r.stdout


def nic(doc, ident):
    return next(a for a in doc["answers"] if a["id"] == ident)


def test_q35_root_bus_nic_is_allocated_as_pcie_but_ends_conventional(qemu_binary, tmp_path):
    doc, out = where(qemu_binary, tmp_path, "q35",
                     "-device", "virtio-net-pci,netdev=n0,id=nic0")
    a = nic(doc, "nic0")
    assert a["device"] == "virtio-net-pci" and a["bdf"].startswith("pcie.0:")
    assert a["config_size"] == 4096 and a["express_at_alloc"] is True
    assert a["express"] is False and "virtio_pci_realize cleared" in a["express_note"]
    # an express bus, but the root one: no PCIe port above the NIC
    assert a["bus_is_express"] is True and a["bus_is_root"] is True
    assert "pcie_cap_added" not in a
    chain = [f["function"] for f in a["chain"]]
    assert chain[0] == "main" and chain[-1] == "pci_config_alloc"
    assert "qemu_create_cli_devices" in chain and "virtio_pci_dc_realize" in chain
    assert all(f["line"] for f in a["chain"] if f["file"])
    # the board's own devices are answers too, with their own sizes
    mch = next(a for a in doc["answers"] if a["device"] == "mch")
    assert mch["config_size"] == 256 and mch["express"] is False
    assert "pci-config" in out and "conventional PCI" in out


def test_q35_nic_behind_a_root_port_stays_pcie(qemu_binary, tmp_path):
    doc, _ = where(qemu_binary, tmp_path, "q35",
                   "-device", "pcie-root-port,id=rp1,bus=pcie.0,chassis=1",
                   "-device", "virtio-net-pci,netdev=n0,bus=rp1,id=nic1")
    a = nic(doc, "nic1")
    assert a["bdf"] == "rp1:00.0" and a["config_size"] == 4096
    assert a["express"] is True
    assert a["bus_is_express"] is True and a["bus_is_root"] is False
    assert a["pcie_cap_added"].startswith("pcie_endpoint_cap_init from virtio_pci_realize")
    rp = nic(doc, "rp1")
    assert rp["express"] is True and "rp_realize" in rp["pcie_cap_added"]


def test_i440fx_nic(qemu_binary, tmp_path):
    doc, _ = where(qemu_binary, tmp_path, "pc", "-device", "virtio-net-pci,netdev=n0,id=nic0")
    a = nic(doc, "nic0")
    assert a["bdf"].startswith("pci.0:") and a["express"] is False
    assert a["bus_is_express"] is False and a["bus_is_root"] is True


def test_question_with_no_answer_says_so(qemu_binary, tmp_path):
    out = tmp_path / "w.json"
    r = run_cli("where", "chardev-wait", "--json", str(out), "--", qemu_binary,
                "-machine", "q35", *BASE)
    assert r.returncode == 1
    assert "the chardev is not a socket server" in r.stdout
    assert json.loads(out.read_text())["answers"] == []


def test_list_unknown_and_function_names(qemu_binary, tmp_path):
    r = run_cli("where", "--list")
    for q in ("pci-config", "netdev_init", "chardev-wait", "vhost_user_negotiation",
              "virtio-net-instance", "device-realize", "board-init", "vdpa_restart"):
        assert q in r.stdout
    r = run_cli("where", "pci-confg")
    assert r.returncode == 2 and "did you mean pci-config" in r.stderr
    doc, _ = where(qemu_binary, tmp_path, "q35", "-device", "virtio-net-pci,netdev=n0",
                   question="qemu_init_board")
    assert doc["answers"][0]["chain"][-1]["function"] == "qemu_init_board"


def test_prompt_stops_at_the_first_answer_and_completes_names(qemu_argv):
    r = run_gdb(qemu_argv, "qinit where virtio-net-instance", SELECTED_FRAME,
                BREAKPOINTS, "complete qinit where pci", "kill")
    out = r.stdout + r.stderr
    assert "Traceback" not in out and "answered" in out
    assert selected_frame(out) == "virtio_net_pci_instance_init"
    assert breakpoints_left(out) == []
    assert "qinit where pci-config" in out


def test_the_first_answer_is_the_users_nic_and_throwaway_ones_are_marked(qemu_binary, tmp_path):
    """QEMU 9.0+ instantiates each NIC model while the board is built; the
    answer QEMU stops at is the -device's, with or without them."""
    for extra in ((), ("--all",)):
        out = tmp_path / "w.json"
        r = run_cli("where", "virtio-net-instance", *extra, "--json", str(out), "--",
                    qemu_binary, "-machine", "q35", *BASE,
                    "-device", "virtio-net-pci,netdev=n0,id=nic0")
        assert r.returncode == 0, r.stdout + r.stderr
        doc = json.loads(out.read_text())
        assert doc["outcome"]["state"] == ("init-complete" if extra else "answered")
        first = doc["answers"][0]
        assert first["throwaway"] is None
        assert "qemu_create_cli_devices" in [f["function"] for f in first["chain"]]
        for a in doc["answers"]:
            board = "qemu_get_nic_models" in [f["function"] for f in a["chain"]]
            assert (a["throwaway"] is not None) == board, a


ROOT_PORT = ("-device", "pcie-root-port,id=rp1,bus=pcie.0,chassis=1",
             "-device", "virtio-net-pci,netdev=n0,bus=rp1,id=nic1")


def test_without_all_the_answer_is_the_command_lines_device_not_the_host_bridge(
        qemu_binary, tmp_path):
    for machine, bus in (("q35", "pcie.0:"), ("pc", "pci.0:")):
        doc, out = where(qemu_binary, tmp_path, machine,
                         "-device", "virtio-net-pci,netdev=n0,id=nic0", options=())
        assert doc["outcome"]["state"] == "answered"
        first = doc["answers"][0]
        assert (first["device"], first["id"], first["origin"]) == (
            "virtio-net-pci", "nic0", "command line")
        assert first["bdf"].startswith(bus)
        # the board's devices QEMU made before it come after it, marked
        rest = doc["answers"][1:]
        assert rest and all(a["origin"] == "board" for a in rest)
        assert out.index("device=virtio-net-pci") < out.index("from: the board")


def test_device_chooses_where_qemu_stops_by_type_or_id(qemu_binary, tmp_path):
    for chosen, expect in (("virtio-net-pci", "nic1"), ("nic1", "nic1"), ("rp1", "rp1")):
        doc, out = where(qemu_binary, tmp_path, "q35", *ROOT_PORT,
                         options=("--device", chosen))
        assert doc["outcome"]["state"] == "answered", chosen
        # QEMU stopped at the chosen device's allocation: the last one made
        alloc = {a["id"] or a["device"]: min(s["hit"] for s in a["steps"]
                                             if s["function"] == "pci_config_alloc")
                 for a in doc["answers"]}
        assert max(alloc, key=alloc.get) == expect, alloc
        assert f"id={expect}" in out and out.count("\n[") == 1      # only it is shown
    # a board device by type, and one that is not there
    doc, out = where(qemu_binary, tmp_path, "q35", *ROOT_PORT, options=("--device", "mch"))
    assert "device=mch" in out and "from: the board" in out
    out_file = tmp_path / "none.json"
    r = run_cli("where", "pci-config", "--device", "e1000", "--json", str(out_file), "--",
                qemu_binary, "-machine", "q35", *BASE, *ROOT_PORT)
    assert r.returncode == 1 and "no device 'e1000'" in r.stdout
    assert json.loads(out_file.read_text())["outcome"]["state"] == "init-complete"
    r = run_cli("where", "board-init", "--device", "mch", "--", qemu_binary)
    assert r.returncode == 2 and "--device works with" in r.stderr


def test_device_realize_answers_the_first_device_without_all(qemu_binary, tmp_path):
    doc, out = where(qemu_binary, tmp_path, "q35", *ROOT_PORT, question="device-realize",
                     options=())
    assert doc["outcome"]["state"] == "answered"
    assert [(a["device"], a["id"]) for a in doc["answers"]] == [("pcie-root-port", "rp1")]


def test_prompt_device_stops_qemu_at_that_devices_allocation(qemu_binary):
    argv = [qemu_binary, "-machine", "q35", *BASE, *ROOT_PORT]
    device_id = ('python import json; print("QINIT-TEST-ID", json.dumps(gdb.parse_and_eval('
                 '"((DeviceState *) pci_dev)->id").string()))')
    r = run_gdb(argv, "qinit where pci-config --device nic1", SELECTED_FRAME, device_id,
                BREAKPOINTS, "kill")
    out = r.stdout + r.stderr
    assert "Traceback" not in out
    assert selected_frame(out) == "pci_config_alloc"
    assert _state_line(out, "QINIT-TEST-ID") == "nic1"
    assert breakpoints_left(out) == []


def test_a_mistyped_function_is_one_line_with_the_names_near_it(qemu_argv):
    r = run_cli("where", "vhost_dev_inti", "--", *qemu_argv)
    assert r.returncode == 2
    (line,) = [ln for ln in r.stderr.splitlines() if ln.startswith("qemuinit:")]
    assert line == ("qemuinit: no function vhost_dev_inti in this QEMU; did you mean "
                    + line.split("did you mean ")[1])
    assert "vhost_dev_init" in line.split("did you mean ")[1]
    assert "where.json" not in r.stderr and "Errno" not in r.stderr
    # at the gdb prompt: the same words as a gdb error, no traceback
    r = run_gdb(qemu_argv, "qinit where vhost_dev_inti --kill")
    assert "did you mean" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.vhost
def test_every_question_answers_on_two_vhost_user_nics_without_all(tmp_path):
    """The seed's two-role line (two NICs, a testpmd each): no question says
    'none', and an answer names what it is about."""
    from gdb_qemuinit.model import questions as where_questions
    for name, q in where_questions.load_questions().items():
        if q.until:         # past init: test_every_start_question_...
            continue
        out = tmp_path / f"{name}.json"
        r = run_cli("where", name, "--scenario", "vhost-user-two-roles", "--json", str(out))
        assert r.returncode == 0, (name, r.stdout, r.stderr)
        first = json.loads(out.read_text())["answers"][0]
        named = {k for k in ("device", "id", "netdev", "chardev") if first.get(k)}
        assert named, (name, first)
        if name == "vhost_user_negotiation":
            assert {"netdev", "chardev"} <= named
        if q.devices:
            assert first["origin"] == "command line", (name, first)


def test_a_nic_instance_names_its_id_before_qemu_sets_it(qemu_binary, tmp_path):
    """At instance_init QEMU has not set the device's id yet: the answer
    reads it from the options the -device is made from (keyval or JSON),
    and --device chooses by that id; an object not made from a -device
    (a board's throwaway NIC model) has none."""
    devices = ("-netdev", "user,id=n1", "-device", "virtio-net-pci,netdev=n0,id=nic0",
               "-device", '{"driver":"virtio-net-pci","netdev":"n1","id":"nic1"}')
    doc, _ = where(qemu_binary, tmp_path, "q35", *devices, question="virtio-net-instance")
    mine = [a for a in doc["answers"] if a["throwaway"] is None]
    assert [a["id"] for a in mine] == ["nic0", "nic1"]
    assert all(a["id"] is None for a in doc["answers"] if a["throwaway"] is not None)
    doc, text = where(qemu_binary, tmp_path, "q35", *devices, question="virtio-net-instance",
                      options=("--device", "nic1"))
    assert doc["outcome"]["state"] == "answered"
    # QEMU stopped there (throwaway objects are listed after the others)
    assert [a["id"] for a in doc["answers"] if a["throwaway"] is None][-1] == "nic1"
    assert "id=nic1" in text and "id=nic0" not in text


@pytest.mark.vhost
def test_every_start_question_answers_when_ipxe_starts_the_nic(tmp_path):
    """The questions past init run until the guest (iPXE, booting from the
    NIC) started it: the guest's feature writes (not QEMU's resets), the
    memory table once per start, a kick per ring of the pair it drives."""
    def answers(question):
        out = tmp_path / f"{question}.json"
        r = run_cli("where", question, "--all", "--scenario", "device-start-multiqueue",
                    "--json", str(out), timeout=240)
        assert r.returncode == 0, (question, r.stdout, r.stderr)
        doc = json.loads(out.read_text())
        assert doc["outcome"]["state"] == "devices-started", doc["outcome"]
        return doc["answers"], r.stdout

    features, text = answers("guest-features")
    for a in features:
        chain = [f["function"] for f in a["chain"]]
        assert "virtio_pci_common_write" in chain and "virtio_reset" not in chain, chain
        assert a["netdev"] == "net0" and a["device"] == "virtio-net-pci"
    # the guest writes the low word, then the high one: the last holds both
    assert features[-1]["acked"].startswith("0x1") and "VIRTIO_F_VERSION_1" in \
        features[-1]["acked"], features
    assert "VIRTIO_NET_F_MQ" not in features[-1]["acked"]       # iPXE drives one pair
    assert "acked: 0x" in text

    (table,) = answers("memory-table")[0]          # one start, queue pair 0 only
    assert (table["netdev"], table["chardev"], table["vq_index"]) == ("net0", "chr0", 0)
    assert table["regions"] >= 1
    assert table["chain"][-1]["function"] == "vhost_user_set_mem_table"

    kicks, text = answers("vring-kick")
    assert [(a["vring"], a["vq_index"]) for a in kicks] == [(0, 0), (1, 0)]
    assert all(isinstance(a["fd"], int) and a["fd"] >= 0 for a in kicks)
    assert "vring 1: kick eventfd" in text


@pytest.mark.vhost
def test_prompt_stops_at_the_first_ring_kicked_by_the_guest(tmp_path, qemu_binary):
    """`qinit where vring-kick` at the prompt: QEMU is left in
    vhost_user_set_vring_kick of ring 0, as gdb's API says."""
    sock = str(tmp_path / "vhost-user.sock")
    argv = [qemu_binary] + scenario.load("device-start").qemu_args(sock)
    r, doc, _ = trace_in_gdb_with_testpmd(
        tuple(argv), (("chr0", "server", sock, 1),), tmp_path, command="where vring-kick",
        then=("python print('QINIT-FRAME', gdb.selected_frame().name(), "
              "int(gdb.parse_and_eval('file->index')))",))
    assert doc["outcome"]["state"] == "answered"
    assert [a["vring"] for a in doc["answers"]] == [0]
    assert "QINIT-FRAME vhost_user_set_vring_kick 0" in r.stdout, r.stdout + r.stderr
