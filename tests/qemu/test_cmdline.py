"""The command-line model: key=value and JSON options, as libvirt writes them."""

import pytest

from gdb_qemuinit.qemu.cmdline import CommandLineError, QemuCommandLine, split_keyvals

# Shaped like libvirt's output for vhost-user interfaces (JSON -netdev,
# -device and -object; key=value -chardev), with QEMU in both socket roles.
LIBVIRT_LIKE = [
    "/usr/bin/qemu-system-x86_64", "-name", "guest=g1,debug-threads=on", "-S",
    "-object", '{"qom-type":"memory-backend-memfd","id":"pc.ram","share":true,"size":268435456}',
    "-machine", "q35,usb=off,memory-backend=pc.ram", "-accel", "tcg", "-m", "size=262144k",
    "-display", "none", "-no-user-config", "-nodefaults",
    "-chardev", "socket,id=charmonitor,fd=29,server=on,wait=off",
    "-mon", "chardev=charmonitor,id=monitor,mode=control",
    "-chardev", "socket,id=charnet0,path=/tmp/vu0.sock,server=on",
    "-netdev", '{"type":"vhost-user","chardev":"charnet0","id":"hostnet0"}',
    "-device", '{"driver":"virtio-net-pci","netdev":"hostnet0","id":"net0","bus":"pcie.0"}',
    "-chardev", "socket,id=charnet1,path=/tmp/vu1.sock,reconnect=10",
    "-netdev", '{"type":"vhost-user","chardev":"charnet1","queues":4,"id":"hostnet1"}',
    "-device", '{"driver":"virtio-net-pci","mq":true,"vectors":10,"netdev":"hostnet1","id":"net1"}',
    "-netdev", '{"type":"socket","listen":":2015","id":"hostnet2"}',
    "-device", '{"driver":"rtl8139","netdev":"hostnet2","id":"net2"}',
    "-msg", "timestamp=on",
]


def test_libvirt_json_netdevs_devices_and_keyval_chardevs():
    cl = QemuCommandLine.parse(LIBVIRT_LIKE)
    assert [(n.id, n.type, n.json) for n in cl.netdevs] == [
        ("hostnet0", "vhost-user", True), ("hostnet1", "vhost-user", True),
        ("hostnet2", "socket", True)]
    assert cl.netdev("hostnet1").queues == 4 and cl.netdev("hostnet0").queues == 1
    assert [d.driver for d in cl.devices] == ["virtio-net-pci", "virtio-net-pci", "rtl8139"]
    assert cl.device_of("hostnet1").multiqueue and not cl.device_of("hostnet0").multiqueue
    (s0, c0), (s1, c1) = cl.vhost_user()
    assert (c0.id, c0.path, c0.role, c0.wait) == ("charnet0", "/tmp/vu0.sock", "server", True)
    assert (c1.id, c1.role, c1.wait, c1.reconnect_seconds) == ("charnet1", "client", False, 10)
    # The monitor's socket is a passed fd, not a path.
    assert [c.id for c in cl.unix_sockets()] == ["charnet0", "charnet1"]
    assert [c.id for c in cl.server_sockets()] == ["charnet0"]
    assert [c.id for c in cl.client_sockets()] == ["charnet1"]
    facts = cl.facts()
    assert {"netdev:vhost-user", "netdev:socket", "netdev-json", "device-json",
            "chardev:socket:server", "chardev:socket:client",
            "object:memory-backend-memfd", "device:rtl8139"} <= facts
    assert "netdev:user" not in facts and "netdev-keyval" not in facts
    assert not cl.default_nic and cl.nodefaults


def test_keyval_options_implied_keys_escaped_commas_and_negations():
    cl = QemuCommandLine.parse(["qemu", "--netdev", "user,id=n0,hostfwd=tcp::22-:22",
                                "-chardev", "socket,id=c,,x,path=/a,,b,server,nowait",
                                "-device", "virtio-net-pci,netdev=n0"])
    assert cl.netdevs[0].type == "user" and cl.netdevs[0].props["hostfwd"] == "tcp::22-:22"
    c = cl.chardevs[0]
    assert (c.id, c.path, c.server, c.wait) == ("c,x", "/a,b", True, False)
    assert cl.devices[0].netdev == "n0" and "device-keyval" in cl.facts()
    assert split_keyvals("a,,b,c") == ["a,b", "c"]


def test_reconnect_ms_wins_and_wait_defaults_on_for_servers():
    cl = QemuCommandLine.parse(["qemu", "-chardev", "socket,id=a,path=/s,reconnect-ms=500",
                                "-chardev", "socket,id=b,path=/t,server=on"])
    assert cl.chardev("a").reconnect_seconds == 0.5 and cl.chardev("a").role == "client"
    assert cl.chardev("b").wait and cl.chardev("b").reconnect_seconds is None


def test_nic_option_makes_a_netdev_and_a_board_created_device():
    cl = QemuCommandLine.parse(["qemu", "-nic", "user,model=virtio-net-pci,id=u0"])
    (n,) = cl.netdevs
    (d,) = cl.devices
    assert (n.type, n.option) == ("user", "nic")
    assert (d.driver, d.option, d.netdev) == ("virtio-net-pci", "nic", "u0")
    assert "nic-option" in cl.facts() and "device-keyval" not in cl.facts()


def test_default_nic_only_without_network_options_and_nodefaults():
    assert QemuCommandLine.parse(["qemu", "-S"]).default_nic
    assert "netdev:user" in QemuCommandLine.parse(["qemu"]).facts()
    assert not QemuCommandLine.parse(["qemu", "-nodefaults"]).default_nic
    assert not QemuCommandLine.parse(["qemu", "-net", "none"]).default_nic


def test_legacy_net_nic_half_is_not_a_netdev():
    cl = QemuCommandLine.parse(["qemu", "-net", "nic,model=e1000", "-net", "user"])
    assert [n.type for n in cl.netdevs] == ["user"]


def test_tap_with_vhost_is_its_own_fact():
    cl = QemuCommandLine.parse(["qemu", "-netdev", '{"type":"tap","id":"t","vhost":true}'])
    assert "netdev:tap+vhost" in cl.facts()
    assert "netdev:tap+vhost" not in QemuCommandLine.parse(
        ["qemu", "-netdev", "tap,id=t,vhost=off"]).facts()


def test_readconfig_satisfies_everything_and_flags_do_not_eat_arguments():
    cl = QemuCommandLine.parse(["qemu", "-S", "-readconfig", "vm.cfg", "-nodefaults"])
    assert cl.readconfig and cl.satisfies(["netdev:vhost-user"])
    assert {"S", "nodefaults"} <= cl.flags
    plain = QemuCommandLine.parse(["qemu", "-nodefaults", "-netdev", "user,id=n"])
    assert plain.satisfies(["netdev:user", "netdev:tap"]) and not plain.satisfies("chardev")


def test_bad_json_is_a_clear_error():
    with pytest.raises(CommandLineError, match="-netdev: not valid JSON"):
        QemuCommandLine.parse(["qemu", "-netdev", '{"type":'])


def test_summary_is_plain_data():
    import json
    doc = QemuCommandLine.parse(LIBVIRT_LIKE).summary()
    assert json.loads(json.dumps(doc)) == doc
    assert [c["role"] for c in doc["chardevs"]] == ["server", "server", "client"]


def test_nic_models_legacy_net_and_the_facts_that_tell_them_apart():
    cl = QemuCommandLine.parse(["qemu", "-nodefaults", "-nic", "user,model=virtio",
                                "-net", "nic,model=e1000", "-net", "user",
                                "-chardev", "socket,id=w,path=/w,server=on",
                                "-chardev", "socket,id=nw,path=/nw,server=on,wait=off"])
    assert [(d.driver, d.option) for d in cl.devices] == [("virtio-net-pci", "nic"),
                                                          ("e1000", "net")]
    facts = cl.facts()
    assert {"nic-option", "net-option", "device:virtio-net-pci", "device:e1000",
            "chardev:socket:wait"} <= facts
    # no -device and no -netdev: the facts the notes test for them are absent
    assert not {"device-option", "device-keyval", "device-json", "netdev-keyval",
                "netdev-json"} & facts
    assert "chardev:socket:wait" not in QemuCommandLine.parse(
        ["qemu", "-chardev", "socket,id=nw,path=/nw,server=on,wait=off"]).facts()


# libvirt's own lines (tests/data/libvirt), as libvirt wrote them: per
# vhost-user chardev, QEMU's role, whether it waits, reconnect seconds,
# and the queue pairs of its netdev.
LIBVIRT_VHOST_USER = {
    "net-vhostuser.x86_64-latest.args": {
        "charnet0": ("server", True, None, 1), "charnet1": ("client", False, None, 1)},
    "net-vhostuser-multiq.x86_64-latest.args": {
        "charnet0": ("server", True, None, 1), "charnet1": ("client", False, None, 1),
        "charnet3": ("client", False, 10, 1), "charnet4": ("client", False, None, 4)},
    "net-vhostuser-passt.x86_64-latest.args": {
        f"charnet{i}": ("client", False, None, 1) for i in range(3)},
}


@pytest.mark.parametrize("name", sorted(LIBVIRT_VHOST_USER))
def test_libvirts_own_lines(name):
    import libvirt_args
    cl = QemuCommandLine.parse(libvirt_args.read(libvirt_args.DATA / name).argv)
    got = {c.id: (c.role, c.wait, c.reconnect_seconds, n.queues) for n, c in cl.vhost_user()}
    assert got == LIBVIRT_VHOST_USER[name]
    for n, _ in cl.vhost_user():
        device = cl.device_of(n.id)
        assert device.driver == "virtio-net-pci" and device.multiqueue is (n.queues > 1)
    # the monitor is a passed fd: no socket path of QEMU's
    assert {c.id for c in cl.unix_sockets()} == set(LIBVIRT_VHOST_USER[name])
    assert {"netdev-json", "device-json", "netdev:vhost-user"} <= cl.facts()
    assert "netdev-keyval" not in cl.facts() and not cl.default_nic


def test_every_vendored_libvirt_line_is_in_the_table():
    import libvirt_args
    assert sorted(LIBVIRT_VHOST_USER) == [p.name for p in libvirt_args.lines()]


def test_a_nic_without_a_type_is_user_and_none_means_no_network():
    # QEMU's net_param_nic makes a type-less -nic a user (slirp) one
    cl = QemuCommandLine.parse(["qemu", "-nic", "model=virtio-net-pci"])
    assert [(n.type, n.option) for n in cl.netdevs] == [("user", "nic")]
    assert {"netdev:user", "device:virtio-net-pci"} <= cl.facts()
    for none in (["-nic", "none"], ["-net", "none"]):
        cl = QemuCommandLine.parse(["qemu", *none])
        assert not cl.netdevs and not cl.default_nic
        assert not {"netdev", "netdev:none"} & cl.facts()


def test_needs_match_facts_by_name_or_glob_as_in_the_path_file():
    cl = QemuCommandLine.parse(["qemu", "-device", "virtio-net-pci"])
    assert cl.satisfies("device:virtio-net*") and cl.satisfies(["netdev", "device"])
    assert not cl.satisfies("device:e1000*")


def test_a_recorded_argv_that_qemu_refused_or_none_has_no_model():
    assert QemuCommandLine.of_recorded(None) is None
    assert QemuCommandLine.of_recorded([]) is None
    assert QemuCommandLine.of_recorded(["qemu", "-netdev", "{bad"]) is None
    cl = QemuCommandLine.of_recorded(["qemu", "-netdev", "user,id=n0"])
    assert cl is not None and "netdev:user" in cl.facts()
