"""Integration: libvirt's own generated command lines (tests/data/libvirt),
adapted to run here (tests/libvirt_args.py), traced with a real dpdk-testpmd
per vhost-user chardev, from the shell and inside gdb; and a -nic line."""

import json
import re
import shutil

import pytest

import libvirt_args
from conftest import (assert_each_connection_matches_its_backend,
                      assert_rounds_follow_the_command_line, run_cli, trace_in_gdb_with_testpmd)

pytestmark = [pytest.mark.qemu, pytest.mark.vhost, pytest.mark.usefixtures("no_leftovers")]

LINES = [p.name for p in libvirt_args.lines()]


@pytest.fixture(autouse=True)
def _testpmd():
    assert shutil.which("dpdk-testpmd"), "dpdk-testpmd missing: run scripts/setup.sh"


@pytest.fixture
def libvirt_line(tmp_path, qemu_binary, monkeypatch):
    """name -> (the .args file as libvirt wrote it, QEMU's argv adapted to
    run here); libvirt's environment is set for what runs next."""
    def make(name):
        line = libvirt_args.read(libvirt_args.DATA / name)
        here = libvirt_args.Here(qemu_binary, tmp_path / "lv")
        argv = libvirt_args.adapt(line, here)
        for k, v in libvirt_args.adapt_env(line.env, here).items():
            monkeypatch.setenv(k, v)
        return line, argv
    return make


def trace(tmp_path, *args):
    out = tmp_path / "t.json"
    r = run_cli("trace", "--json", str(out), *args)
    assert "Traceback" not in r.stderr, r.stderr
    return r, json.loads(out.read_text())


# ---------------------------------------------------------------- the line's own facts
def chardev_values(argv):
    """chardev id -> its -chardev value."""
    return {re.search(r"id=([^,]+)", v).group(1): v
            for o, v in zip(argv, argv[1:]) if o == "-chardev"}


def vhost_user_chardevs(argv):
    """chardev id -> 'server' or 'client' (QEMU's role), from the line's
    vhost-user netdevs (JSON, as libvirt writes them, or -nic keyval)."""
    chardevs = {c: "server" if ",server=on" in v else "client"
                for c, v in chardev_values(argv).items()}
    used = []
    for opt, value in zip(argv, argv[1:]):
        if opt == "-netdev" and value.startswith("{"):
            nd = json.loads(value)
            if nd["type"] == "vhost-user":
                used.append(nd["chardev"])
        elif opt in ("-netdev", "-nic") and value.startswith("vhost-user,"):
            used.append(re.search(r"chardev=([^,]+)", value).group(1))
    return {c: chardevs[c] for c in used}


def queue_pairs(argv):
    """netdev id -> queues, for the vhost-user netdevs with queues > 1."""
    out = {}
    for opt, value in zip(argv, argv[1:]):
        if opt == "-netdev" and value.startswith("{"):
            nd = json.loads(value)
            if nd["type"] == "vhost-user" and nd.get("queues", 1) > 1:
                out[nd["id"]] = nd["queues"]
    return out


def edges(doc):
    return {(e["from"], e["to"]): e for e in doc["edges"]}


def assert_verdicts_fit_the_line(doc, argv):
    """Every documented edge observed, a dispatch, or explained; no note says
    an option is missing that the line has; no restart is claimed."""
    options = {a for a in argv[1:] if a.startswith("-")}
    for e in doc["edges"]:
        assert e["status"] in ("observed", "dispatch", "not-exercised"), e
        if e["status"] == "not-exercised":
            assert e["note"], e
        for missing in re.findall(r"\bno (-[a-z-]+) option", e["note"] or ""):
            assert missing not in options, e
        assert "waited for the backend" not in (e["note"] or ""), e
    ev = edges(doc)
    # QEMU waits at a vhost-user server chardev only without wait=off.
    values = chardev_values(argv)
    waits = any(role == "server" and "wait=off" not in values[c]
                for c, role in vhost_user_chardevs(argv).items())
    assert (ev[("qmp_chardev_open_socket_server", "tcp_chr_accept_server_sync")]["status"]
            == "observed") is waits
    assert ev[("net_init_vhost_user", "net_vhost_user_init")]["status"] == "observed"


def assert_json_options_took_the_json_way(doc):
    ev = edges(doc)
    # -device JSON: qdev_device_add_from_qdict directly, no QemuOpts
    assert ev[("device_init_func", "qdev_device_add")]["status"] == "not-exercised"
    assert ev[("qdev_device_add_from_qdict", "qdev_new")]["status"] == "observed"
    # -netdev JSON: netdev_init_modern -> net_client_init1, no net_init_netdev
    assert ev[("qemu_opts_foreach", "net_init_netdev")]["status"] == "not-exercised"
    dispatch = ev[("net_client_init1", "net_client_init_fun[netdev->type]")]
    assert dispatch["status"] == "dispatch" and dispatch["served_by"] == "net_init_vhost_user"


def assert_multiqueue_rounds(doc, argv):
    """A round per queue pair on one connection; the later pairs leave out
    the per-device requests, and only those: decided by what QEMU did (a
    breakpoint on vhost_user_write's call of qemu_chr_fe_write_all)."""
    assert doc["writes_watched"] == ["vhost_user_write"]
    for netdev, queues in queue_pairs(argv).items():
        rounds = [r for r in doc["vhost_user"]["rounds"] if r["netdev"] == netdev]
        assert sorted(r["vq_index"] or 0 for r in rounds) == list(range(0, 2 * queues, 2))
        assert len({r["connection"] for r in rounds}) == 1
        for rnd in rounds:
            skipped = [m for m in rnd["messages"] if m.get("sent") is False]
            if rnd["vq_index"]:
                assert skipped and all(m["vq_index"] == rnd["vq_index"] for m in skipped)
            else:
                assert not skipped


def assert_one_instance_per_virtio_nic(doc, argv):
    """The virtio-net-pci instances that are not throwaway NIC models are
    the line's own virtio-net NICs, one each."""
    throwaway = {t["hit"] for t in doc.get("throwaway", [])}
    own = [h for h in doc["hits"] if h["function"] == "virtio_net_pci_instance_init"
           and h["seq"] not in throwaway]
    nics = sum(1 for o, v in zip(argv, argv[1:])
               if o in ("-device", "-nic") and "virtio-net-pci" in v)
    assert len(own) == nics


def assert_shared_memory_finding_fits(doc, argv):
    """A memory-not-shared finding exactly when the guest RAM object is not
    shared (libvirt's multiqueue line uses memory-backend-ram)."""
    ram = [json.loads(v) for o, v in zip(argv, argv[1:])
           if o == "-object" and v.startswith("{") and '"pc.ram"' in v]
    unshared = any(not r.get("share", False) for r in ram)
    found = [f["id"] for f in doc.get("findings", [])]
    assert ("memory-not-shared" in found) is unshared


# ---------------------------------------------------------------- libvirt's lines
@pytest.mark.parametrize("name", LINES)
def test_libvirt_line_from_the_shell(tmp_path, libvirt_line, name):
    line, argv = libvirt_line(name)
    r, doc = trace(tmp_path, "--testpmd", "--", *argv)
    assert r.returncode == 0, r.stdout + r.stderr
    assert doc["outcome"]["state"] == "init-complete"
    assert doc["qemu"]["argv"] == argv
    roles = vhost_user_chardevs(argv)
    assert roles and {b["chardev"]: b["qemu_role"] for b in doc["backends"]} == roles
    assert_rounds_follow_the_command_line(doc)
    assert_each_connection_matches_its_backend(doc)
    assert_multiqueue_rounds(doc, argv)
    assert_verdicts_fit_the_line(doc, argv)
    assert_json_options_took_the_json_way(doc)
    socket_netdev = any(o == "-netdev" and '"type":"socket"' in v for o, v in zip(argv, argv[1:]))
    assert ("net_init_socket" in edges(doc)[("net_client_init1",
                                             "net_client_init_fun[netdev->type]")]["note"]
            ) is socket_netdev
    assert_one_instance_per_virtio_nic(doc, argv)
    assert_shared_memory_finding_fits(doc, argv)


def test_libvirt_multiqueue_line_inside_gdb(tmp_path, libvirt_line, qemu_binary):
    """Inside gdb qemuinit starts no backend: the test starts one per
    chardev in its role (the listening ones before QEMU) and compares what
    each logged with the requests gdb decoded for its chardev."""
    from gdb_qemuinit.analysis.backendlog import parse_backend_log
    from gdb_qemuinit.model.spec import load_spec
    from gdb_qemuinit.model.trace import Trace
    from gdb_qemuinit.qemu import scenario
    line, argv = libvirt_line("net-vhostuser-multiq.x86_64-latest.args")
    queues = {nd["chardev"]: nd.get("queues", 1)
              for nd in (json.loads(v) for o, v in zip(argv, argv[1:])
                         if o == "-netdev" and v.startswith("{"))
              if nd["type"] == "vhost-user"}
    assert sorted(queues.values()) == [1, 1, 1, 4]
    sockets = {c: re.search(r"path=([^,]+)", v).group(1)
               for c, v in chardev_values(argv).items() if c in queues}
    _, doc, backends = trace_in_gdb_with_testpmd(
        argv, [(chardev, role, sockets[chardev], queues[chardev])
               for chardev, role in vhost_user_chardevs(argv).items()], tmp_path)
    assert doc["outcome"]["state"] == "init-complete"
    assert_rounds_follow_the_command_line(doc)
    assert_multiqueue_rounds(doc, argv)
    assert_verdicts_fit_the_line(doc, argv)
    assert_json_options_took_the_json_way(doc)
    spec = load_spec().for_trace(Trace.from_json(doc))
    patterns = scenario.backend_log_patterns()
    for b in backends:
        assert b.problem is None, b.problem
        logged = parse_backend_log(b.log_text(), patterns)["requests"]
        sent = sorted((m for rnd in doc["vhost_user"]["rounds"] if rnd["chardev"] == b.chardev
                       for m in rnd["messages"] if m.get("sent", True)), key=lambda m: m["seq"])
        assert logged and [m["request"] for m in sent] == [spec.number(n) for n in logged]


# ---------------------------------------------------------------- -nic
def nic_line(qemu_binary, d):
    """-nic for each NIC (libvirt writes -netdev/-device; users and scripts
    write -nic): QEMU the server of one vhost-user NIC, the client of a
    two-queue one, and a user-mode rtl8139 beside them."""
    return [qemu_binary, "-machine", "pc,memory-backend=mem0", "-m", "256M",
            "-object", "memory-backend-memfd,id=mem0,size=256M,share=on",
            "-nodefaults", "-display", "none", "-S",
            "-chardev", f"socket,id=c0,path={d}/server.sock,server=on",
            "-nic", "vhost-user,id=n0,chardev=c0,model=virtio-net-pci,mac=52:54:00:12:34:56",
            "-chardev", f"socket,id=c1,path={d}/client.sock",
            "-nic", "vhost-user,id=n1,chardev=c1,queues=2,model=virtio-net-pci",
            "-nic", "user,id=n2,model=rtl8139"]


def test_nic_options_from_the_shell(tmp_path, qemu_binary):
    d = tmp_path / "s"
    d.mkdir(mode=0o700)
    argv = nic_line(qemu_binary, d)
    r, doc = trace(tmp_path, "--testpmd", "--", *argv)
    assert r.returncode == 0, r.stdout + r.stderr
    assert doc["outcome"]["state"] == "init-complete"
    assert {b["chardev"]: b["qemu_role"] for b in doc["backends"]} == {"c0": "server",
                                                                       "c1": "client"}
    assert_rounds_follow_the_command_line(doc)
    assert_each_connection_matches_its_backend(doc)
    assert sorted(r["vq_index"] or 0 for r in doc["vhost_user"]["rounds"]
                  if r["netdev"] == "n1") == [0, 2]
    assert_verdicts_fit_the_line(doc, argv)
    ev = edges(doc)
    # No -device and no -netdev: the board makes the NICs, net_param_nic the netdevs.
    assert ev[("device_init_func", "qdev_device_add")]["status"] == "not-exercised"
    assert ev[("qemu_opts_foreach", "net_init_netdev")]["status"] == "not-exercised"
    assert "net_init_slirp" in ev[("net_client_init1",
                                   "net_client_init_fun[netdev->type]")]["note"]
    assert ev[("object_new", "virtio_net_pci_instance_init")]["status"] == "observed"
    assert_one_instance_per_virtio_nic(doc, argv)


def test_nic_options_where_answers_with_the_nic_not_a_model_probe(tmp_path, qemu_binary):
    """The board lists the NIC models by making one of each (in
    pci_nic_init_nofail before 9.0, qemu_get_nic_models from 9.0): the first
    answer is the -nic's own NIC, made through qdev_new."""
    d = tmp_path / "s"
    d.mkdir(mode=0o700)
    r = run_cli("where", "virtio-net-instance", "--testpmd", "--json", str(tmp_path / "w.json"),
                "--", *nic_line(qemu_binary, d))
    assert r.returncode == 0, r.stdout + r.stderr
    first = json.loads((tmp_path / "w.json").read_text())["answers"][0]
    assert first["throwaway"] is None
    assert "qdev_new" in [f["function"] for f in first["chain"]]
