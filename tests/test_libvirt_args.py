"""The reader of libvirt's .args files and its named adaptations (pure but
for asking the QEMU under test which options it has)."""

import json
import os

import libvirt_args
from conftest import chardev_parameters, command_line_options

MULTIQ = libvirt_args.DATA / "net-vhostuser-multiq.x86_64-latest.args"


def test_the_environment_comes_first_then_argv_split_like_a_shell():
    line = libvirt_args.read(MULTIQ)
    assert line.env["LC_ALL"] == "C" and line.env["PATH"] == "/bin"
    assert line.argv[0] == "/usr/bin/qemu-system-x86_64"
    assert line.argv[1:3] == ["-name", "guest=QEMUGuest1,debug-threads=on"]
    netdevs = [json.loads(v) for o, v in line.options() if o == "-netdev"]
    assert netdevs[-1] == {"type": "vhost-user", "chardev": "charnet4", "queues": 4,
                           "id": "hostnet4"}
    assert ("-S", None) in line.options()


def test_each_adaptation_is_named_and_the_rest_is_libvirts(tmp_path, qemu_binary):
    line = libvirt_args.read(MULTIQ)
    here = libvirt_args.Here(qemu_binary, tmp_path)
    argv = libvirt_args.adapt(line, here)
    assert argv[0] == qemu_binary
    # options no rule touched reach QEMU as libvirt wrote them, JSON included
    for option in ('{"type":"vhost-user","chardev":"charnet4","queues":4,"id":"hostnet4"}',
                   '{"driver":"virtio-net-pci","mq":true,"vectors":10,"netdev":"hostnet4",'
                   '"id":"net4","mac":"52:54:00:ee:96:6e","bus":"pci.0","addr":"0x6"}',
                   "pc,usb=off,dump-guest-core=off,memory-backend=pc.ram,acpi=off"):
        assert option in argv
    joined = " ".join(argv)
    assert "/var/lib/libvirt" not in joined and "/tmp/vhost" not in joined
    assert "fd=1729" not in joined and "host_device" not in joined
    assert ('"listen":":2015"' in joined) is False
    key = next(json.loads(v)["file"] for v in argv if '"secret"' in v)
    assert os.path.getsize(key) == 32
    assert set(here.sockets) == {"charnet0", "charnet1", "charnet3", "charnet4"}
    assert all(p.startswith(str(tmp_path)) for p in here.sockets.values())
    reconnect = next(v for v in argv if "id=charnet3" in v)
    assert ("reconnect-ms=10000" in reconnect) is ("reconnect-ms" in
                                                   chardev_parameters(qemu_binary))
    assert ("-sandbox" in argv) is ("sandbox" in command_line_options(qemu_binary))
    assert {"sockets private", "monitor fd -> path", "master key created",
            "reconnect spelling", "host_device -> null-co", "free TCP port"} <= here.applied
    env = libvirt_args.adapt_env(line.env, here)
    assert "PATH" not in env and env["HOME"].startswith(str(tmp_path))
    assert env["LC_ALL"] == "C"
