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


def _exited_unreaped(proc) -> None:
    """Until `proc` has exited, left for its Popen to reap."""
    import os
    os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)


def test_a_gdb_that_said_done_and_exited_before_the_wait_looked_said_done():
    """Both ready at once (done written, then the exit): the pipe is read
    first, so the run knows gdb said it is done, whatever the order."""
    import os
    import subprocess
    import sys
    from gdb_qemuinit.runner import Run, _wait_for_gdb
    read_end, write_end = os.pipe()
    child = subprocess.Popen([sys.executable, "-c", f"import os; os.write({write_end}, b'done')"],
                             pass_fds=(write_end,))
    os.close(write_end)
    try:
        _exited_unreaped(child)
        assert _wait_for_gdb(child, Run(["q"]), 10, read_end) is None
    finally:
        child.wait()
        os.close(read_end)


def test_a_gdb_that_exited_without_saying_done_gives_its_exit_code():
    import os
    import subprocess
    import sys
    from gdb_qemuinit.runner import Run, _wait_for_gdb
    read_end, write_end = os.pipe()
    child = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"],
                             pass_fds=(write_end,))
    os.close(write_end)
    try:
        assert _wait_for_gdb(child, Run(["q"]), 10, read_end) == 3
    finally:
        child.wait()
        os.close(read_end)
