"""Why QEMU hangs, as text: a trace's diagnosis and `qemuinit hang`'s document."""

from gdb_qemuinit.analysis import blocking
from gdb_qemuinit.model import initpath
from gdb_qemuinit.model.spec import load_spec
from gdb_qemuinit.model.trace import Frame
from gdb_qemuinit.qemu.cmdline import QemuCommandLine
from gdb_qemuinit.render.hang import format_diagnosis, format_hang

from vhost_hits import make

WAIT_IN_NETDEV = ["tcp_chr_accept_server_sync", "tcp_chr_wait_connected",
                  "qemu_chr_fe_wait_connected", "net_vhost_user_init", "main"]


def wait_in_netdev() -> dict:
    frames = [Frame(f, "chardev/char-socket.c", 1) for f in WAIT_IN_NETDEV]
    argv = ["q", "-chardev", "socket,id=chr0,path=/run/vu.sock,server=on,wait=off"]
    trace = make([], state="timeout", frames=frames, argv=argv,
                 reads={"qemu_chr_fe_wait_connected": {"chardev": "chr0"}})
    doc = blocking.diagnosis(trace, load_spec(), initpath.load(), QemuCommandLine.parse(argv))
    assert doc is not None
    return doc.to_json()


def test_the_diagnosis_names_function_socket_role_and_what_unblocks():
    doc = wait_in_netdev()
    lines = format_diagnosis(doc).splitlines()
    assert lines[0] == "Why QEMU hangs"
    assert lines[1] == (f"  blocked in {doc['function']} "
                        f"(innermost frame: {doc['blocked_in']})")
    assert "  socket: /run/vu.sock (chardev chr0, wait=off)" in lines
    assert f"  chain: {doc['chain']}" in lines and "net_vhost_user_init" in doc["chain"]
    assert lines[-1] == f"  unblocks it: {doc['unblock']}"
    assert format_diagnosis(None) == ""


def test_a_client_retry_is_said_in_seconds_not_in_an_options_spelling():
    """The interval is read from QEMU (seconds); reconnect= is 7.2's
    spelling only, 10.2 has reconnect-ms=."""
    doc = dict(wait_in_netdev(), role="client", reconnect_seconds=2.5)
    assert "  socket: /run/vu.sock (chardev chr0, retries every 2.5 s)" in \
        format_diagnosis(doc).splitlines()


def test_a_qemu_past_init_is_where_it_is_not_why_it_hangs():
    doc = dict(wait_in_netdev(), hanging=False)
    assert format_diagnosis(doc).splitlines()[0] == "Where QEMU is"


def test_the_hang_document_has_peers_threads_findings_and_says_it_detached():
    qemu = {"pid": 7, "qemu": True, "comm": "qemu-system-x86", "exe": "/q"}
    doc = {"pid": 7, "argv": ["/q", "-a", "-b"], "attached": True, "hang": wait_in_netdev(),
           "peer": {"path": "/run/vu.sock", "listening": [qemu], "connections": []},
           "threads": [{"num": 1, "lwp": 7, "name": "qemu", "main": True,
                        "sits_in": "poll", "chain": "main -> poll"},
                       {"num": 2, "lwp": 8, "name": None, "main": False,
                        "sits_in": None, "chain": "start_thread"}],
           "findings": [{"id": "server-without-wait", "seen": "s", "change": "c"}]}
    lines = format_hang(doc).splitlines()
    assert lines[0] == "QEMU PID 7: /q (2 arguments)"
    assert lines[1] == "Why QEMU hangs"
    i = lines.index("Who is at /run/vu.sock")
    assert lines[i + 1].startswith("  listening: QEMU itself, ")
    assert lines[i + 2] == "  connected: nothing is connected through it"
    i = lines.index("Threads")
    assert lines[i + 1:i + 3] == ["  thread 1 (LWP 7, qemu, main): in poll: main -> poll",
                                  "  thread 2 (LWP 8): start_thread"]
    assert lines[i + 3:i + 6] == ["Findings", "  server-without-wait: s", "    change: c"]
    assert lines[-1] == "qemuinit detached: QEMU goes on as before."
    assert "detached" not in format_hang(dict(doc, attached=False))
