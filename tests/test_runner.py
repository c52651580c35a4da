"""The shell's run: what it says before QEMU starts."""

def test_a_vhost_user_chardev_without_backend_is_said_before_qemu_starts(tmp_path, capsys):
    from gdb_qemuinit.qemu.cmdline import QemuCommandLine
    from gdb_qemuinit.qemu.backendplan import plan_backends
    from gdb_qemuinit.runner import _say_chardevs_without_backend
    cl = QemuCommandLine.parse(["qemu", "-chardev", f"socket,id=chr0,path={tmp_path}/a,server=on",
                                "-netdev", "vhost-user,id=net0,chardev=chr0",
                                "-chardev", f"socket,id=chr1,path={tmp_path}/b",
                                "-netdev", "vhost-user,id=net1,chardev=chr1"])
    _say_chardevs_without_backend(cl, [])
    err = capsys.readouterr().err.splitlines()
    assert [line.split(" (")[0] for line in err] == [
        "qemuinit: nothing is started for vhost-user chardev chr0",
        "qemuinit: nothing is started for vhost-user chardev chr1"]
    assert all("--testpmd" in line for line in err)
    served = plan_backends(cl, ["chr1=dpdk-testpmd"], "", str(tmp_path))
    _say_chardevs_without_backend(cl, served)
    assert [line.split(" (")[0] for line in capsys.readouterr().err.splitlines()] == [
        "qemuinit: nothing is started for vhost-user chardev chr0"]
