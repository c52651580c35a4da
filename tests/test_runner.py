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



def _wait_for_a_child(code: str, exited_first: bool):
    """_wait_for_gdb on a child running `code` in gdb's place, given the
    write end of the done pipe as WRITE_END; with `exited_first`, only once
    it has exited (left unreaped: both the pipe and its exit are ready)."""
    import os
    import subprocess
    import sys
    from gdb_qemuinit.runner import Run, _wait_for_gdb
    read_end, write_end = os.pipe()
    child = subprocess.Popen([sys.executable, "-c", code.replace("WRITE_END", str(write_end))],
                             pass_fds=(write_end,))
    os.close(write_end)
    try:
        if exited_first:
            os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)
        return _wait_for_gdb(child, Run(["q"]), 10, read_end)
    finally:
        child.wait()
        os.close(read_end)


def test_a_gdb_that_said_done_and_exited_before_the_wait_looked_said_done():
    """Both ready at once (done written, then the exit): the pipe is read
    first, so the run knows gdb said it is done, whatever the order."""
    assert _wait_for_a_child("import os; os.write(WRITE_END, b'done')", True) is None


def test_a_gdb_that_exited_without_saying_done_gives_its_exit_code():
    assert _wait_for_a_child("raise SystemExit(3)", False) == 3
