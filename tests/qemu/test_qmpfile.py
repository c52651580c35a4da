"""trace --qmp FILE: QMP commands as libvirt sends them, one a line."""

import pytest

from gdb_qemuinit.datafile import data_file
from gdb_qemuinit.qemu import qmpfile
from gdb_qemuinit.qemu.cmdline import QemuCommandLine
from gdb_qemuinit.runner import qmp_options


def test_the_shipped_hot_plug_is_libvirts_attach_interface():
    with open(data_file("qmp/attach-vhost-user.jsonl")) as f:
        commands = qmpfile.with_dir(qmpfile.parse(f.read()), "/run/d")
    assert [c["execute"] for c in commands] == ["chardev-add", "netdev_add", "device_add"]
    assert qmpfile.socket_chardevs(commands) == [("charnet1", "/run/d/charnet1.sock", True)]
    # its backend is planned as for a -chardev/-netdev pair: QEMU the server
    cl = QemuCommandLine.parse(["qemu"] + qmp_options(commands))
    [(netdev, chardev)] = cl.vhost_user()
    assert (netdev.id, chardev.id, chardev.server) == ("hostnet1", "charnet1", True)


def test_comments_blank_lines_and_capabilities_are_skipped_and_server_defaults_to_true():
    text = ('# libvirt\n\n{"execute": "qmp_capabilities"}\n'
            '{"execute": "chardev-add", "arguments": {"id": "c", "backend": {"type": "socket",'
            ' "data": {"addr": {"type": "unix", "data": {"path": "/s"}}}}}}\n'
            '{"execute": "netdev_add", "arguments": {"type": "vhost-user", "id": "n",'
            ' "chardev": "c", "queues": 4}}\n')
    commands = qmpfile.parse(text)
    assert [c["execute"] for c in commands] == ["chardev-add", "netdev_add"]
    assert qmpfile.socket_chardevs(commands) == [("c", "/s", True)]     # QAPI's default
    assert qmp_options(commands)[-1] == "vhost-user,id=n,chardev=c,queues=4"


@pytest.mark.parametrize("text, says", [
    ("{nope", ":1: not JSON"),
    ('["execute"]', ":1: not a QMP command"),
    ('{"execute": "x", "arguments": 3}', '"arguments" must be an object'),
    ('{"execute": "x", "argument": {}}', "unknown key 'argument'"),
    ('{"execute": "qmp_capabilities"}', "no QMP command in it"),
])
def test_a_line_that_is_no_qmp_command_is_refused_naming_it(text, says):
    with pytest.raises(qmpfile.QmpFileError, match=says):
        qmpfile.parse(text, "f.jsonl")
