"""Where QEMU blocks: the socket a wait serves, its role, what unblocks it."""

from pathlib import Path



from gdb_qemuinit.analysis import blocking
from gdb_qemuinit.model import initpath
from gdb_qemuinit.model.spec import load_spec
from gdb_qemuinit.qemu.cmdline import QemuCommandLine
from gdb_qemuinit.model.trace import Frame

from vhost_hits import make


def diagnosis(trace):
    """The trace's hang section, as annotate makes it."""
    return blocking.diagnosis(trace, load_spec(), initpath.load(),
                              QemuCommandLine.of_recorded(trace.qemu.get("argv")))


def test_the_hang_report_finds_the_served_socket_in_either_syntax():
    argv = ["q", "-chardev", "socket,id=a,path=/x,,y.sock,server=on,wait=off",
            "-chardev", "socket,id=b,path=/b.sock,server,nowait",
            "-chardev", "socket,id=c,path=/c.sock",          # a client: not served
            "-chardev", "file,id=d,path=/f"]
    assert [(c.id, c.path, c.wait) for c in QemuCommandLine.parse(argv).server_sockets()] == [
        ("a", "/x,y.sock", False), ("b", "/b.sock", False)]
    cl = QemuCommandLine.parse(argv)
    assert blocking.socket_of(cl, "b").path == "/b.sock"
    assert blocking.socket_of(cl, None) is None        # two: ambiguous
    json_netdev = ["q", "--chardev", "socket,id=c0,path=/j.sock,server=on",
                   "-netdev", '{"type":"vhost-user","id":"n0","chardev":"c0"}']
    assert blocking.socket_of(QemuCommandLine.parse(json_netdev), None).path == "/j.sock"


def test_hang_diagnosis_names_socket_role_and_what_unblocks():
    frames = [Frame(f, "chardev/char-socket.c", 1) for f in
              ["tcp_chr_accept_server_sync", "tcp_chr_wait_connected",
               "qemu_chr_fe_wait_connected", "net_vhost_user_init", "main"]]
    argv = ["q", "-chardev", "socket,id=chr0,path=/run/vu.sock,server=on,wait=off"]
    t = make([], state="timeout", frames=frames, argv=argv,
             reads={"qemu_chr_fe_wait_connected": {"chardev": "chr0"}})
    doc = diagnosis(t).to_json()
    assert doc["function"] == "qemu_chr_fe_wait_connected"
    assert doc["socket"] == "/run/vu.sock" and doc["chardev"] == "chr0"
    assert doc["role"].startswith("server") and doc["wait"] is False
    assert "/run/vu.sock" in doc["unblock"] and "monitor" in doc["monitor"]
    assert diagnosis(make([], state="init-complete")) is None


def test_a_blocked_requests_step_comes_from_the_documented_path_of_the_run(tmp_path):
    """The step of a request QEMU waits a reply to is looked up in the path
    the trace is analysed with (--path), not in the shipped one."""
    frames = [Frame(f, "hw/virtio/vhost-user.c", 1) for f in
              ["vhost_user_read", "vhost_user_get_u64", "vhost_user_get_features",
               "vhost_dev_init", "vhost_net_init", "net_vhost_user_init", "main"]]
    argv = ["q", "-chardev", "socket,id=chr0,path=/run/vu.sock,server=on,wait=off"]
    t = make([], state="timeout", frames=frames, argv=argv,
             reads={"vhost_user_read": {"request": 1, "chardev": "chr0"}})
    cl = QemuCommandLine.parse(argv)
    shipped = blocking.diagnosis(t, load_spec(), initpath.load(), cl).to_json()
    assert shipped["request"]["name"] == "GET_FEATURES" and shipped["request"]["step"] == 3
    # a documented path without the negotiation's numbered steps
    other = initpath.load(Path(initpath.__file__).parent.parent / "data" / "pcie-root-port.toml")
    elsewhere = blocking.diagnosis(t, load_spec(), other, cl).to_json()
    assert elsewhere["request"]["step"] is None
