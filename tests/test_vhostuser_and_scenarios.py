"""Pure tests: vhost-user decoding and rounds, scenarios, socket parsing, the
hang diagnosis, and the backend process runner (with a harmless command)."""

import os
import socket
import subprocess
import sys

import pytest

from gdb_qemuinit import analysis, blocking, initpath, scenario, vhostuser
from gdb_qemuinit.backend import Backend, listening
from gdb_qemuinit.qemu_cmdline import QemuCommandLine
from gdb_qemuinit.trace import Frame, Hit, Outcome, Trace

SPEC = vhostuser.load_spec()
PATH = initpath.load()
WAIT = ["qemu_chr_fe_wait_connected", "net_vhost_user_init", "qemu_init", "main"]
INIT = ["vhost_dev_init", "vhost_net_init", "vhost_user_start", "net_vhost_user_event",
        "chr_be_event", "qemu_chr_be_event", "qemu_chr_fe_set_handlers_full",
        "net_vhost_user_init", "qemu_init", "main"]


def hit(seq, stack, reads=None, t=None):
    return Hit(seq=seq, function=stack[0], thread=1, reads=reads, t=t if t is not None else seq,
               frames=[Frame(function=f, file="x.c", line=1) for f in stack])


def sent(seq, request, under, u64=0):
    return hit(seq, ["vhost_user_write", "vhost_user_get_u64", under] + INIT,
               {"request": request, "u64": u64})


def reply(seq, request, u64, ret=0):
    return hit(seq, ["vhost_user_read", "vhost_user_get_u64", "vhost_user_backend_init"] + INIT,
               {"request": request, "u64": u64, "ret": ret})


def negotiation(start, first_reply_ret=0):
    """GET_FEATURES (step 1) ... SET_VRING_CALL (step 4), hits numbered from start."""
    return [hit(start, INIT),
            sent(start + 1, 1, "vhost_user_backend_init"),
            reply(start + 2, 1, (1 << 30) | (1 << 32) | 1, ret=first_reply_ret),
            sent(start + 3, 16, "vhost_user_backend_init", u64=0b1001),
            sent(start + 4, 3, "vhost_user_set_owner"),
            sent(start + 5, 13, "vhost_virtqueue_init", u64=0x100)]


def make(hits, state="init-complete", stderr=None, frames=None, reads=None, argv=()):
    t = Trace(qemu={"binary": "q", "version": "7.2.22", "argv": list(argv)},
              outcome=Outcome(state=state, frames=frames, reads=reads), hits=hits)
    if stderr:
        t.extra["qemu_stderr"] = stderr
    return t


def test_bits_and_payloads_are_decoded_by_name():
    assert vhostuser.bits(0b101, SPEC.protocol_bits) == ["MQ", "RARP"]
    assert vhostuser.bits(1 << 30, SPEC.virtio_bits) == ["VHOST_USER_F_PROTOCOL_FEATURES"]
    assert vhostuser.bits(1 << 31, SPEC.virtio_bits) == ["bit 31"]
    assert vhostuser.decode(SPEC, "SET_VRING_CALL", 0x101) == {"vring": 1, "fd": False}
    assert vhostuser.decode(SPEC, "GET_QUEUE_NUM", 8) == {"value": 8}
    assert SPEC.name(15) == "GET_PROTOCOL_FEATURES" and SPEC.name(99) == "REQUEST_99"


def test_one_negotiation_in_order_with_steps_and_replies():
    doc = vhostuser.section(PATH, make([hit(1, WAIT, {"chardev": "chr0"})] + negotiation(2)))
    (rnd,) = doc["rounds"]
    assert rnd["result"] == "negotiated" and rnd["chardev"] == "chr0"
    assert rnd["trigger"] == "qemu_chr_fe_set_handlers_full"
    assert [(m["name"], m["step"]) for m in rnd["messages"]] == [
        ("GET_FEATURES", 1), ("SET_PROTOCOL_FEATURES", 1), ("SET_OWNER", 2),
        ("SET_VRING_CALL", 4)]
    got = rnd["messages"][0]["reply"]["payload"]
    assert got["bits"] == ["VIRTIO_NET_F_CSUM", "VHOST_USER_F_PROTOCOL_FEATURES",
                           "VIRTIO_F_VERSION_1"]
    assert doc["negotiated"]["acked_protocol_features"]["bits"] == ["MQ", "REPLY_ACK"]
    assert "after init" in doc["negotiated"]["acked_features_note"]


def test_step_through_a_wrapper_and_an_ack_asked_for_by_the_request():
    # QEMU 10.2: step 3 reaches vhost_user_get_features through
    # vhost_dev_get_features, and SET_VRING_CALL asks for an ack (need_reply).
    step3 = ["vhost_user_write", "vhost_user_get_u64", "vhost_user_get_features",
             "vhost_dev_get_features"] + INIT
    call = ["vhost_set_vring_file", "vhost_user_set_vring_call", "vhost_virtqueue_init"] + INIT
    flags = 0x1 | SPEC.record["need_reply_flag"]
    doc = vhostuser.section(PATH, make([
        hit(1, WAIT, {"chardev": "chr0"}), hit(2, INIT),
        hit(3, step3, {"request": 1, "u64": 0}),
        hit(4, ["vhost_user_write"] + call, {"request": 13, "u64": 0, "flags": flags}),
        hit(5, ["vhost_user_read"] + call, {"request": 13, "u64": 0, "ret": 0})]))
    msgs = doc["rounds"][0]["messages"]
    assert [(m["name"], m["step"], m["under"]) for m in msgs] == [
        ("GET_FEATURES", 3, "vhost_user_get_features"),
        ("SET_VRING_CALL", 4, "vhost_virtqueue_init")]
    assert msgs[1]["need_reply"] and msgs[1]["payload"] == {"vring": 0, "fd": True}
    assert msgs[1]["reply"]["ack"] == 0 and msgs[1]["reply"]["payload"] is None
    # without need_reply the same reply is the request's payload kind
    doc = vhostuser.section(PATH, make([
        hit(1, WAIT, {"chardev": "chr0"}), hit(2, INIT),
        hit(4, ["vhost_user_write"] + call, {"request": 13, "u64": 0, "flags": 0x1}),
        hit(5, ["vhost_user_read"] + call, {"request": 13, "u64": 0x101, "ret": 0})]))
    (msg,) = doc["rounds"][0]["messages"]
    assert "need_reply" not in msg and msg["reply"]["payload"] == {"vring": 1, "fd": False}


def test_a_dropped_connection_makes_a_failed_round_then_a_second_one():
    err = "qemu-system-x86_64: -netdev vhost-user,id=n0: Failed to write msg."
    hits = ([hit(1, WAIT, t=0.1), hit(2, INIT, t=0.2),
             sent(3, 1, "vhost_user_backend_init")] + [])
    for h in hits:
        h.t = h.seq / 10
    second = negotiation(10)
    for h in second:
        h.t = 1 + h.seq / 100
    t = make(hits + [hit(9, WAIT, t=0.9)] + second,
             stderr=[{"t": 0.35, "line": err}, {"t": 1.5, "line": "later"}])
    doc = vhostuser.section(PATH, t)
    r1, r2 = doc["rounds"]
    assert (r1["connection"], r1["result"], r1["failed_at"]) == (1, "failed", "GET_FEATURES")
    assert r1["errors"] == [err]
    assert (r2["connection"], r2["result"]) == (2, "negotiated")
    annotated = analysis.annotate(PATH, t)
    restart = next(e for e in annotated.extra["edges"]
                   if (e["from"], e["to"]) == ("net_vhost_user_init", "qemu_chr_fe_wait_connected"))
    assert restart["status"] == "observed" and "2 times" in restart["note"]


def test_a_failed_reply_and_a_second_negotiation_on_one_connection():
    hits = [hit(1, WAIT)] + negotiation(2, first_reply_ret=-5) + negotiation(20)
    doc = vhostuser.section(PATH, make(hits))
    r1, r2 = doc["rounds"]
    assert r1["result"] == "failed" and "returned -5" in r1["why"]
    assert r1["connection"] == r2["connection"] == 1
    assert r2["result"] == "negotiated"
    assert doc["notes"] and "2 times on connection 1" in doc["notes"][0]


def test_backend_log_is_parsed_and_compared():
    log = ("VHOST_CONFIG: (s) read message VHOST_USER_GET_FEATURES\n"
           "VHOST_CONFIG: (s) read message VHOST_USER_SET_PROTOCOL_FEATURES\n"
           "VHOST_CONFIG: (s) negotiated Vhost-user protocol features: 0x9\n"
           "VHOST_CONFIG: (s) read message VHOST_USER_SET_OWNER\n"
           "VHOST_CONFIG: (s) read message VHOST_USER_SET_VRING_CALL\n")
    parsed = vhostuser.parse_backend_log(log, scenario.backend_log_patterns())
    assert parsed == {"requests": ["GET_FEATURES", "SET_PROTOCOL_FEATURES", "SET_OWNER",
                                   "SET_VRING_CALL"], "protocol_features": [9]}
    t = make([hit(1, WAIT)] + negotiation(2))
    t.extra["backends"] = [{"chardev": None, "log": parsed}]
    (check,) = vhostuser.section(PATH, t)["backend_checks"]
    assert check["requests_agree"] and check["protocol_features_agree"]
    parsed["requests"][1] = "GET_QUEUE_NUM"
    (check,) = vhostuser.section(PATH, t)["backend_checks"]
    assert not check["requests_agree"] and "#2" in check["first_difference"]


def on(chardev, vq_index, h, netdev=None):
    """A hit read on the vhost_dev of `chardev`'s queue pair `vq_index`."""
    h.reads = dict(h.reads or {}, chardev=chardev, vq_index=vq_index,
                   **({"netdev": netdev} if netdev else {}))
    return h


def test_messages_of_two_netdevs_go_to_their_own_chardev_whatever_the_order():
    # chr0 negotiates, chr1 negotiates, then QEMU enables chr0's rings (the
    # device is realized after every netdev): those belong to chr0's round.
    first = [on("chr0", 0, h, "net0") for h in [hit(1, WAIT)] + negotiation(2)]
    second = [on("chr1", 0, h, "net1") for h in [hit(10, WAIT)] + negotiation(11)]
    enable = [on("chr0", 0, sent(20, 18, "vhost_user_set_vring_enable")),
              on("chr0", 0, sent(21, 18, "vhost_user_set_vring_enable"))]
    doc = vhostuser.section(PATH, make(first + second + enable))
    r0, r1 = doc["rounds"]
    assert (r0["chardev"], r0["netdev"], r1["chardev"], r1["netdev"]) == \
        ("chr0", "net0", "chr1", "net1")
    assert [m["seq"] for m in r0["messages"]][-2:] == [20, 21]
    assert all(m["chardev"] == "chr1" for m in r1["messages"]) and len(r1["messages"]) == 4
    assert r0["connection"] != r1["connection"]
    assert [c["chardev"] for c in doc["chardevs"]] == ["chr0", "chr1"]


def test_per_device_requests_of_later_queue_pairs_are_not_sent():
    pair0 = [on("chr0", 0, h) for h in [hit(1, WAIT)] + negotiation(2)]
    pair1 = [on("chr0", 2, h) for h in negotiation(10)]
    t = make(pair0 + pair1)
    t.extra["backends"] = [{"chardev": "chr0", "log": {"requests": [
        SPEC.name(h.reads["request"]) for h in pair0 + pair1
        if h.function == "vhost_user_write" and not (
            h.reads["vq_index"] and h.reads["request"] == 3)],
        "protocol_features": [0b1001, 0b1001]}}]
    doc = vhostuser.section(PATH, t)
    r0, r1 = doc["rounds"]
    assert (r0["vq_index"], r1["vq_index"]) == (0, 2)
    assert r0["connection"] == r1["connection"] and not doc["notes"]
    owner = [m for m in r1["messages"] if m["name"] == "SET_OWNER"]
    assert owner and owner[0]["sent"] is False
    assert all(m.get("sent", True) for m in r0["messages"])
    assert r1["result"] == "negotiated"
    (check,) = doc["backend_checks"]
    assert check["requests_agree"] and check["qemu_sent"] == 7, check
    assert "not sent" in vhostuser.format_section(doc)


def test_names_come_from_the_binary_and_the_backend_log_is_compared_by_number():
    hits = [hit(1, WAIT)] + negotiation(2) + [sent(8, 21, "vhost_setup_slave_channel")]
    t = make(hits)
    t.extra["enums"] = {"requests": {"21": "SET_BACKEND_REQ_FD", "3": "SET_OWNER"},
                        "protocol_features": {"0": "MQ", "3": "REPLY_ACK", "5": "BACKEND_REQ"}}
    # the backend spells request 21 its own way, and another one by the data's name
    logged = ["GET_FEATURES", "SET_PROTOCOL_FEATURES", "SET_OWNER", "SET_VRING_CALL",
              SPEC.data_requests[21]]
    t.extra["backends"] = [{"chardev": None, "log": {"requests": logged,
                                                     "protocol_features": [9]}}]
    doc = vhostuser.section(PATH, t)
    (rnd,) = doc["rounds"]
    assert rnd["messages"][-1]["name"] == "SET_BACKEND_REQ_FD"
    assert doc["backend_checks"][0]["requests_agree"]
    spec = SPEC.for_trace(t)
    assert spec.number("SET_BACKEND_REQ_FD") == spec.number(SPEC.data_requests[21]) == 21
    assert spec.protocol_bits[5] == "BACKEND_REQ" and spec.protocol_bits[1] == "LOG_SHMFD"
    logged[-1] = "GET_QUEUE_NUM"
    assert not vhostuser.section(PATH, t)["backend_checks"][0]["requests_agree"]


def test_no_vhost_user_activity_means_no_section():
    assert vhostuser.section(PATH, make([hit(1, ["qemu_init_board", "main"])])) is None


def test_scenarios_inherit_and_expand():
    assert scenario.default_name() in scenario.names()
    base = scenario.load("vhost-user")
    assert "{socket}" in " ".join(base.qemu) and base.backend == "dpdk-testpmd"
    restart = scenario.load("vhost-user-restart")
    assert restart.drop_first and restart.qemu == base.qemu
    assert scenario.load("vhost-user-hang").backend == ""
    args = base.qemu_args("/d/s.sock")
    assert "socket,id=chr0,path=/d/s.sock,server=on,wait=on" in args
    two = scenario.load("vhost-user-two-roles").qemu_args("/d/s.sock", "/d")
    assert all("{" not in a for a in two)
    connect = scenario.builtin_backend("dpdk-testpmd", "server")
    listen = scenario.builtin_backend("dpdk-testpmd", "client")
    assert connect != listen
    assert "--file-prefix=p1" in scenario.expand(connect, "/d/s.sock", "p1", 4)
    with pytest.raises(scenario.ScenarioError, match="scenarios: vhost-user"):
        scenario.load("nope")
    with pytest.raises(scenario.ScenarioError, match="backends: dpdk-testpmd"):
        scenario.builtin_backend("nope", "server")


def test_the_new_scenarios_have_what_they_promise():
    from gdb_qemuinit.qemu_cmdline import QemuCommandLine
    roles = {}
    for name in ("vhost-user-client", "vhost-user-two-roles", "vhost-user-multiqueue"):
        cl = QemuCommandLine.parse(["q"] + scenario.load(name).qemu_args("/d/s.sock", "/d"))
        roles[name] = [(c.role, n.queues) for n, c in cl.vhost_user()]
    assert roles["vhost-user-client"] == [("client", 1)]
    assert roles["vhost-user-two-roles"] == [("server", 1), ("client", 1)]
    assert roles["vhost-user-multiqueue"] == [("server", 4)]


def test_backends_map_to_chardevs_by_id_or_in_order():
    from gdb_qemuinit.runner import CliError, assign_backends
    assert assign_backends(["a", "b"], ["c0", "c1"]) == {"c0": "a", "c1": "b"}
    assert assign_backends(["c1=x {socket}", "y"], ["c0", "c1"]) == {"c1": "x {socket}",
                                                                     "c0": "y"}
    assert assign_backends(["K=V cmd"], ["c0"]) == {"c0": "K=V cmd"}    # not a chardev id
    with pytest.raises(CliError, match="3 --backend for 2"):
        assign_backends(["a", "b", "c"], ["c0", "c1"])
    with pytest.raises(CliError, match="two --backend for chardev c0"):
        assign_backends(["c0=a", "c0=b"], ["c0", "c1"])


def test_one_backend_per_vhost_user_chardev_in_its_role(tmp_path):
    from gdb_qemuinit.runner import plan_backends
    argv = ["q"] + scenario.load("vhost-user-two-roles").qemu_args(
        str(tmp_path / "s.sock"), str(tmp_path))
    argv += ["-chardev", "socket,id=mon,path=/m.sock,server=on,wait=off"]   # not vhost-user
    backends = plan_backends(argv, [f"chr1={sys.executable} -c pass {{socket}} {{queues}}"],
                             "dpdk-testpmd", str(tmp_path), drop_first=True)
    assert [(b.chardev, b.qemu_role, b.listens_first) for b in backends] == [
        ("chr0", "server", False), ("chr1", "client", True)]
    assert backends[0].argv[0] == "dpdk-testpmd" and "client=1" in " ".join(backends[0].argv)
    assert backends[1].argv == [sys.executable, "-c", "pass", str(tmp_path / "client.sock"), "1"]
    assert backends[0].drop_first and not backends[1].drop_first
    assert len({b.dpdk_prefix for b in backends}) == 2
    assert len({b.log_path for b in backends}) == 2
    assert plan_backends(argv, [], "", str(tmp_path)) == []


def test_the_hang_report_finds_the_served_socket_in_either_syntax():
    argv = ["q", "-chardev", "socket,id=a,path=/x,,y.sock,server=on,wait=off",
            "-chardev", "socket,id=b,path=/b.sock,server,nowait",
            "-chardev", "socket,id=c,path=/c.sock",          # a client: not served
            "-chardev", "file,id=d,path=/f"]
    assert [(c.id, c.path, c.wait) for c in QemuCommandLine.parse(argv).server_sockets()] == [
        ("a", "/x,y.sock", False), ("b", "/b.sock", False)]
    assert blocking.socket_of(argv, "b").path == "/b.sock"
    assert blocking.socket_of(argv, None) is None        # two: ambiguous
    json_netdev = ["q", "--chardev", "socket,id=c0,path=/j.sock,server=on",
                   "-netdev", '{"type":"vhost-user","id":"n0","chardev":"c0"}']
    assert blocking.socket_of(json_netdev, None).path == "/j.sock"


def test_private_dir_is_only_for_its_owner():
    d = scenario.private_dir()
    try:
        assert scenario.is_private(d)
        os.chmod(d, 0o755)
        assert not scenario.is_private(d)
    finally:
        os.rmdir(d)


def test_hang_diagnosis_names_socket_role_and_what_unblocks():
    frames = [Frame(f, "chardev/char-socket.c", 1) for f in
              ["tcp_chr_accept_server_sync", "tcp_chr_wait_connected",
               "qemu_chr_fe_wait_connected", "net_vhost_user_init", "main"]]
    argv = ["q", "-chardev", "socket,id=chr0,path=/run/vu.sock,server=on,wait=off"]
    t = make([], state="timeout", frames=frames, argv=argv,
             reads={"qemu_chr_fe_wait_connected": {"chardev": "chr0"}})
    doc = blocking.diagnosis(t)
    assert doc["function"] == "qemu_chr_fe_wait_connected"
    assert doc["socket"] == "/run/vu.sock" and doc["chardev"] == "chr0"
    assert doc["role"].startswith("server") and doc["wait"] is False
    assert "/run/vu.sock" in doc["unblock"] and "monitor" in doc["monitor"]
    text = blocking.format_diagnosis(doc)
    assert "net_vhost_user_init" in text and "client" in text
    assert blocking.diagnosis(make([], state="init-complete")) is None


def test_listening_reads_proc_net_unix(tmp_path):
    path = str(tmp_path / "l.sock")
    assert not listening(path)
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(path)
        assert not listening(path)         # bound, not listening
        s.listen(1)
        assert listening(path)


def test_backend_starts_once_listening_and_is_stopped_by_pid(tmp_path):
    path = str(tmp_path / "l.sock")
    log = str(tmp_path / "b.log")
    b = Backend([sys.executable, "-c", "import time; print('up', flush=True); time.sleep(60)"],
                path, log, drop_first=True)
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(path)
        s.listen(1)
        b.start(wait_seconds=10)
        conn, _ = s.accept()               # the dropped connection comes first
        assert conn.recv(1) == b""         # closed at once
        conn.close()
        for _ in range(200):
            if b.proc is not None:
                break
            subprocess.run(["sleep", "0.02"])
        pid = b.proc.pid
        b.stop()
    assert b.dropped and b.proc.returncode is not None
    assert not os.path.exists(f"/proc/{pid}") or \
        open(f"/proc/{pid}/stat").read().split()[2] == "Z"
    assert b.summary()["started"] and b.problem is None


def test_brief_names_a_backend_that_died():
    from gdb_qemuinit import render_text
    t = make([hit(1, WAIT)], state="timeout")
    t.extra["backends"] = [{"chardev": "chr0", "argv": ["dpdk-testpmd", "--no-huge"], "problem":
                            "the backend exited by itself with code 1 before the trace ended"}]
    assert "backend dpdk-testpmd (chardev chr0): the backend exited by itself with code 1" in \
        render_text.brief(analysis.annotate(PATH, t))


def test_a_backend_for_a_qemu_client_listens_before_start_returns(tmp_path):
    path = str(tmp_path / "l.sock")
    server = ("import socket, sys, time; s = socket.socket(socket.AF_UNIX); "
              "time.sleep(0.3); s.bind(sys.argv[1]); s.listen(1); time.sleep(60)")
    b = Backend([sys.executable, "-c", server, path], path, str(tmp_path / "b.log"),
                qemu_role="client")
    try:
        b.start(wait_seconds=20)
        assert listening(path) and b.problem is None
        pid = b.proc.pid
    finally:
        b.stop()
    assert b.proc.returncode is not None
    assert not os.path.exists(f"/proc/{pid}") or \
        open(f"/proc/{pid}/stat").read().split()[2] == "Z"


def test_a_backend_that_never_listens_says_so(tmp_path):
    path = str(tmp_path / "l.sock")
    b = Backend([sys.executable, "-c", "print('cannot bind: error', flush=True)"], path,
                str(tmp_path / "b.log"), qemu_role="client")
    try:
        b.start(wait_seconds=20)
    finally:
        b.stop()
    assert "did not listen" in b.problem and "cannot bind" in b.problem


def test_a_backend_that_dies_says_why(tmp_path):
    path = str(tmp_path / "l.sock")
    b = Backend([sys.executable, "-c", "import sys; print('starting'); "
                 "print('error: no such device', flush=True); sys.exit(3)"],
                path, str(tmp_path / "b.log"))
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(path)
        s.listen(1)
        b.start(wait_seconds=10)
        for _ in range(200):
            if b.proc is not None and b.proc.poll() is not None:
                break
            subprocess.run(["sleep", "0.02"])
        b.stop()
    assert "code 3" in b.problem and "error: no such device" in b.problem


def test_a_wait_whose_chardev_could_not_be_read_joins_the_next_negotiation():
    hits = [hit(1, WAIT, {"chardev": None})] + [on("chr0", 0, h, "net0") for h in negotiation(2)]
    (rnd,) = vhostuser.section(PATH, make(hits))["rounds"]
    assert (rnd["chardev"], rnd["connection"], rnd["result"]) == ("chr0", 1, "negotiated")
