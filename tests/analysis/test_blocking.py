"""Where QEMU blocks: the socket a wait serves, its role, what unblocks it."""



from gdb_qemuinit.analysis import blocking
from gdb_qemuinit.qemu.cmdline import QemuCommandLine
from gdb_qemuinit.model.trace import Frame

from vhost_hits import make


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


def test_hang_diagnosis_names_socket_role_and_what_unblocks():
    frames = [Frame(f, "chardev/char-socket.c", 1) for f in
              ["tcp_chr_accept_server_sync", "tcp_chr_wait_connected",
               "qemu_chr_fe_wait_connected", "net_vhost_user_init", "main"]]
    argv = ["q", "-chardev", "socket,id=chr0,path=/run/vu.sock,server=on,wait=off"]
    t = make([], state="timeout", frames=frames, argv=argv,
             reads={"qemu_chr_fe_wait_connected": {"chardev": "chr0"}})
    doc = blocking.diagnosis(t).to_json()
    assert doc["function"] == "qemu_chr_fe_wait_connected"
    assert doc["socket"] == "/run/vu.sock" and doc["chardev"] == "chr0"
    assert doc["role"].startswith("server") and doc["wait"] is False
    assert "/run/vu.sock" in doc["unblock"] and "monitor" in doc["monitor"]
    assert blocking.diagnosis(make([], state="init-complete")) is None
