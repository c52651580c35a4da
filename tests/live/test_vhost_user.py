"""Integration: the seed's vhost-user scenario with a real backend
(dpdk-testpmd in client mode, started by qemuinit once QEMU listens), the
restart, and the hangs, on the real gdb and debug QEMU."""

import json
import os
import shutil
import time

import pytest

from conftest import (assert_each_connection_matches_its_backend,
                      assert_rounds_follow_the_command_line, run_cli, run_gdb,
                      trace_in_gdb_with_testpmd)
from gdb_qemuinit.qemu.binary import reconnect_option

pytestmark = [pytest.mark.qemu, pytest.mark.vhost, pytest.mark.usefixtures("no_leftovers")]

SEED_CLUSTERS = ("chardev_init", "vhost_user_init", "vhost_user_negotiation", "vdpa_restart")


@pytest.fixture(autouse=True)
def _testpmd():
    assert shutil.which("dpdk-testpmd"), "dpdk-testpmd missing: run scripts/setup.sh"


def trace(tmp_path, *args, timeout=180):
    out = tmp_path / "t.json"
    started = time.monotonic()
    r = run_cli("trace", "--json", str(out), *args, timeout=timeout)
    elapsed = time.monotonic() - started
    assert "Traceback" not in r.stderr, r.stderr
    return r, json.loads(out.read_text()), elapsed


def names(rnd):
    return [m["name"] for m in rnd["messages"]]


def test_default_scenario_negotiates_with_testpmd_and_decodes_it(tmp_path):
    r, doc, _ = trace(tmp_path, "--svg", str(tmp_path / "t.svg"))
    assert r.returncode == 0, r.stdout + r.stderr
    # Every seed edge is observed, a dispatch, or explained.
    for e in doc["edges"]:
        assert e["status"] in ("observed", "dispatch", "not-exercised"), e
        if e["status"] == "not-exercised":
            assert e["note"], e
        if e["cluster"] in SEED_CLUSTERS:
            assert e["status"] in ("observed", "dispatch"), e
    assert all(s["in_order"] for s in doc["steps"])
    vu = doc["vhost_user"]
    (rnd,) = vu["rounds"]
    assert rnd["result"] == "negotiated" and rnd["chardev"] == "chr0"
    assert names(rnd)[:4] == ["GET_FEATURES", "GET_PROTOCOL_FEATURES",
                              "SET_PROTOCOL_FEATURES", "GET_QUEUE_NUM"]
    assert "SET_OWNER" in names(rnd) and "SET_VRING_CALL" in names(rnd)
    steps = [m["step"] for m in rnd["messages"] if m["step"]]
    assert steps == sorted(steps) and set(steps) == {1, 2, 3, 4}
    # QEMU asked for protocol features, so the backend must have offered them.
    offered = vu["negotiated"]["backend_features"]["bits"]
    assert "VHOST_USER_F_PROTOCOL_FEATURES" in offered and "VIRTIO_F_VERSION_1" in offered
    acked = vu["negotiated"]["acked_protocol_features"]
    offered = int(vu["negotiated"]["backend_protocol_features"]["hex"], 16)
    assert int(acked["hex"], 16) & ~offered == 0
    # ... and testpmd's own log says it received exactly these, in order.
    (check,) = vu["backend_checks"]
    assert check["requests_agree"] and check["protocol_features_agree"], check
    assert check["backend_received"] == check["qemu_sent"] == len(rnd["messages"])
    assert check["chardev"] == "chr0" and rnd["netdev"] == "net0"
    (backend,) = doc["backends"]
    assert backend["started"] and backend["problem"] is None
    assert backend["chardev"] == "chr0" and backend["qemu_role"] == "server"
    # The names are the binary's own (its debug info), number for number.
    assert {m["name"] for m in rnd["messages"]} <= set(doc["enums"]["requests"].values())
    assert "round 1 (connection 1, chardev chr0" in r.stdout and "agrees" in r.stdout
    assert "<svg" in (tmp_path / "t.svg").read_text()
    # The socket lived in a private directory that is gone now.
    sock = next(a for a in doc["qemu"]["argv"] if "path=" in a).split("path=")[1].split(",")[0]
    assert not os.path.exists(os.path.dirname(sock))


def test_restart_shows_two_connections_and_why_the_first_failed(tmp_path):
    r, doc, _ = trace(tmp_path, "--scenario", "vhost-user-restart")
    assert r.returncode == 0, r.stdout + r.stderr
    rounds = doc["vhost_user"]["rounds"]
    first = rounds[0]
    assert first["connection"] == 1 and first["result"] == "failed"
    assert first["failed_at"] == "GET_FEATURES"
    assert any("vhost" in line for line in first["errors"]), first
    assert all(line.startswith("qemu-system-x86_64: ") for line in first["errors"])
    later = [x for x in rounds if x["connection"] == 2]
    assert later and later[-1]["result"] == "negotiated"
    restart = {(e["from"], e["to"]): e for e in doc["edges"] if e["cluster"] == "vdpa_restart"}
    wait = restart[("net_vhost_user_init", "qemu_chr_fe_wait_connected")]
    assert wait["status"] == "observed" and "waited for the backend" in wait["note"]
    assert restart[("qemu_chr_fe_wait_connected", "vhost_dev_init")]["status"] == "observed"
    assert doc["vhost_user"]["backend_checks"][0]["requests_agree"]
    assert "failed at GET_FEATURES" in r.stdout


@pytest.mark.parametrize("name, function, wait", [
    ("vhost-user-hang", "tcp_chr_accept_server_sync", True),
    ("vhost-user-hang-netdev", "qemu_chr_fe_wait_connected", False)])
def test_hang_is_diagnosed_within_the_timeout(tmp_path, name, function, wait):
    r, doc, elapsed = trace(tmp_path, "--scenario", name, "--timeout", "3")
    assert r.returncode == 1
    assert elapsed < 3 + 10, elapsed
    assert doc["outcome"]["state"] == "timeout"
    hang = doc["hang"]
    assert hang["function"] == function and hang["chardev"] == "chr0"
    assert hang["socket"].endswith("/vhost-user.sock") and hang["wait"] is wait
    assert hang["role"].startswith("server") and "monitor" in hang["monitor"]
    assert hang["socket"] in hang["unblock"] and "client=1" in hang["unblock"]
    assert "Why QEMU hangs" in r.stdout and hang["socket"] in r.stdout
    # the watchdog's SIGINT ended the run as the timeout, not as a signal QEMU got
    assert "signal" not in doc["outcome"]
    assert function in [f["function"] for f in doc["outcome"]["frames"]]


def test_own_command_line_with_own_backend_command(tmp_path, qemu_binary):
    sock_dir = tmp_path / "s"
    sock_dir.mkdir(mode=0o700)
    sock = sock_dir / "vu.sock"
    backend = ("dpdk-testpmd --no-huge -m 256 --no-pci --file-prefix={prefix} "
               "--log-level=lib.vhost.config:debug "
               "--vdev net_vhost0,iface={socket},client=1 -- --no-mlockall "
               "--total-num-mbufs=2048")
    qemu = [qemu_binary, "-machine", "q35,memory-backend=mem0", "-m", "256",
            "-object", "memory-backend-memfd,id=mem0,size=256M,share=on",
            "-nodefaults", "-display", "none", "-S",
            "-chardev", f"socket,id=c0,path={sock},server=on,wait=off",
            "-netdev", "vhost-user,id=n0,chardev=c0", "-device", "virtio-net-pci,netdev=n0"]
    r, doc, _ = trace(tmp_path, "--backend", backend, "--", *qemu)
    assert r.returncode == 0, r.stdout + r.stderr
    (backend,) = doc["backends"]
    assert backend["argv"][0] == "dpdk-testpmd" and backend["chardev"] == "c0"
    assert f"iface={sock},client=1" in " ".join(backend["argv"])
    assert doc["vhost_user"]["rounds"][-1]["result"] == "negotiated"
    assert doc["vhost_user"]["backend_checks"][0]["requests_agree"]


def test_gdb_prompt_reports_the_hang_too(tmp_path, qemu_binary):
    sock_dir = tmp_path / "s"
    sock_dir.mkdir(mode=0o700)
    sock = sock_dir / "vu.sock"
    qemu = [qemu_binary, "-machine", "q35", "-nodefaults", "-display", "none", "-S",
            "-chardev", f"socket,id=c0,path={sock},server=on,wait=off",
            "-netdev", "vhost-user,id=n0,chardev=c0", "-device", "virtio-net-pci,netdev=n0"]
    r = run_gdb(qemu, f"qinit trace --timeout 3 --json {tmp_path}/t.json")
    out = r.stdout + r.stderr
    assert "Traceback" not in out and "qemuinit: timeout" in out
    assert "Why QEMU hangs" in out and str(sock) in out
    doc = json.loads((tmp_path / "t.json").read_text())
    assert doc["hang"]["function"] == "qemu_chr_fe_wait_connected"


def test_qemu_as_client_connects_to_testpmd_listening_first(tmp_path):
    r, doc, _ = trace(tmp_path, "--scenario", "vhost-user-client")
    assert r.returncode == 0, r.stdout + r.stderr
    assert doc["outcome"]["state"] == "init-complete"
    (backend,) = doc["backends"]
    assert backend["qemu_role"] == "client" and "client=0" in " ".join(backend["argv"])
    assert_rounds_follow_the_command_line(doc)
    assert_each_connection_matches_its_backend(doc)


def test_two_nics_one_per_role_each_with_its_own_backend(tmp_path):
    r, doc, _ = trace(tmp_path, "--scenario", "vhost-user-two-roles")
    assert r.returncode == 0, r.stdout + r.stderr
    assert doc["outcome"]["state"] == "init-complete"
    roles = {b["chardev"]: b["qemu_role"] for b in doc["backends"]}
    assert roles == {"chr0": "server", "chr1": "client"}
    assert len({b["pid"] for b in doc["backends"]}) == 2
    prefixes = [a for b in doc["backends"] for a in b["argv"] if a.startswith("--file-prefix")]
    assert len(set(prefixes)) == 2
    assert_rounds_follow_the_command_line(doc)
    assert_each_connection_matches_its_backend(doc)
    # chr0's rings are enabled when its device is realized, after chr1's
    # negotiation: they are still chr0's.
    chr0 = [m for rnd in doc["vhost_user"]["rounds"] if rnd["chardev"] == "chr0"
            for m in rnd["messages"]]
    chr1_first = min(m["seq"] for rnd in doc["vhost_user"]["rounds"]
                     if rnd["chardev"] == "chr1" for m in rnd["messages"])
    assert any(m["seq"] > chr1_first for m in chr0)


def test_four_queue_pairs_negotiate_once_each_and_skip_per_device_requests(tmp_path):
    r, doc, _ = trace(tmp_path, "--scenario", "vhost-user-multiqueue")
    assert r.returncode == 0, r.stdout + r.stderr
    assert doc["outcome"]["state"] == "init-complete"
    rounds = doc["vhost_user"]["rounds"]
    assert sorted(r["vq_index"] for r in rounds) == [0, 2, 4, 6]
    assert len({r["connection"] for r in rounds}) == 1 and not doc["vhost_user"]["notes"]
    first = next(r for r in rounds if r["vq_index"] == 0)
    assert all(m.get("sent", True) for m in first["messages"])
    for rnd in rounds:
        if rnd["vq_index"]:
            skipped = [m for m in rnd["messages"] if m.get("sent") is False]
            assert skipped and all(m["vq_index"] == rnd["vq_index"] for m in skipped)
    assert_rounds_follow_the_command_line(doc)
    assert_each_connection_matches_its_backend(doc)
    # One stop a message, written or not: every stop of the run is a hit,
    # but for main's (recorded, stopped at by the run itself) and the end's.
    assert doc["writes_watched"] == ["vhost_user_write"]
    assert doc["clock"]["stops"] == len(doc["hits"]) + 1


def test_inside_gdb_two_netdevs_get_their_own_rounds(tmp_path, qemu_binary):
    """Inside gdb qemuinit starts no backend: the test starts one per chardev
    in its role, the listening one before QEMU."""
    from gdb_qemuinit.qemu import scenario
    sc = scenario.load("vhost-user-two-roles")
    d = tmp_path / "s"
    d.mkdir(mode=0o700)
    qemu = [qemu_binary] + sc.qemu_args(str(d / "vhost-user.sock"), str(d))
    _, doc, backends = trace_in_gdb_with_testpmd(
        qemu, [("chr0", "server", str(d / "server.sock"), 1),
               ("chr1", "client", str(d / "client.sock"), 1)], tmp_path)
    assert doc["outcome"]["state"] == "init-complete"
    assert_rounds_follow_the_command_line(doc)
    assert all(b.problem is None for b in backends)


def test_own_command_line_reconnecting_client_with_testpmd(tmp_path, qemu_binary):
    """--testpmd on your own line: QEMU the client of one chardev (with
    reconnect=), the server of another (wait=off), a backend each."""
    d = tmp_path / "s"
    d.mkdir(mode=0o700)
    qemu = [qemu_binary, "-machine", "q35,memory-backend=mem0", "-m", "256M",
            "-object", "memory-backend-memfd,id=mem0,size=256M,share=on",
            "-nodefaults", "-display", "none", "-S",
            "-chardev", f"socket,id=a,path={d}/a.sock,{reconnect_option(qemu_binary, 1)}",
            "-netdev", "vhost-user,id=na,chardev=a", "-device", "virtio-net-pci,netdev=na",
            "-chardev", f"socket,id=b,path={d}/b.sock,server=on,wait=off",
            "-netdev", "vhost-user,id=nb,chardev=b,queues=2",
            "-device", "virtio-net-pci,netdev=nb,mq=on,vectors=6"]
    r, doc, _ = trace(tmp_path, "--testpmd", "--", *qemu)
    assert r.returncode == 0, r.stdout + r.stderr
    assert {b["chardev"]: b["qemu_role"] for b in doc["backends"]} == {"a": "client",
                                                                       "b": "server"}
    assert_rounds_follow_the_command_line(doc)
    assert_each_connection_matches_its_backend(doc)
    assert sorted(r["vq_index"] for r in doc["vhost_user"]["rounds"] if r["chardev"] == "b") \
        == [0, 2]


def test_a_backend_that_exits_at_start_ends_the_run_at_once_with_its_own_line(tmp_path):
    out = tmp_path / "t.json"
    started = time.monotonic()
    r = run_cli("trace", "--timeout", "60", "--json", str(out),
                "--backend", "dpdk-testpmd --bogus-flag")
    assert time.monotonic() - started < 20          # not the 60 s timeout
    assert r.returncode == 1 and "Traceback" not in r.stderr
    first = r.stdout.splitlines()[0]
    assert first.startswith("qemuinit: interrupted: the backend of chardev chr0 "
                            "(dpdk-testpmd) exited with code")
    assert "--bogus-flag" in first                  # testpmd's own words, quoted
    doc = json.loads(out.read_text())
    assert doc["outcome"]["state"] == "interrupted" and doc["outcome"]["frames"]
    assert doc["backends"][0]["problem"] == doc["outcome"]["detail"]
    # QEMU as the client: the backend must listen first; it cannot, so QEMU
    # never starts and the backend's line is the error
    r = run_cli("trace", "--scenario", "vhost-user-client",
                "--backend", "dpdk-testpmd --bogus-flag")
    assert r.returncode == 2
    assert r.stderr.strip().splitlines()[-1].startswith(
        "qemuinit: chardev chr0: the backend did not listen on")
