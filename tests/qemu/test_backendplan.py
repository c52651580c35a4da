"""Which backend serves which vhost-user chardev, in which role."""

import sys

import pytest

from gdb_qemuinit.qemu import scenario
from gdb_qemuinit.qemu.cmdline import QemuCommandLine


def test_backends_map_to_chardevs_by_id_or_in_order():
    from gdb_qemuinit.errors import CliError
    from gdb_qemuinit.qemu.backendplan import assign_backends
    assert assign_backends(["a", "b"], ["c0", "c1"]) == {"c0": "a", "c1": "b"}
    assert assign_backends(["c1=x {socket}", "y"], ["c0", "c1"]) == {"c1": "x {socket}",
                                                                     "c0": "y"}
    assert assign_backends(["K=V cmd"], ["c0"]) == {"c0": "K=V cmd"}    # not a chardev id
    with pytest.raises(CliError, match="3 --backend for 2"):
        assign_backends(["a", "b", "c"], ["c0", "c1"])
    with pytest.raises(CliError, match="two --backend for chardev c0"):
        assign_backends(["c0=a", "c0=b"], ["c0", "c1"])


def test_one_backend_per_vhost_user_chardev_in_its_role(tmp_path):
    from gdb_qemuinit.qemu.backendplan import plan_backends
    argv = ["q"] + scenario.load("vhost-user-two-roles").qemu_args(
        str(tmp_path / "s.sock"), str(tmp_path))
    argv += ["-chardev", "socket,id=mon,path=/m.sock,server=on,wait=off"]   # not vhost-user
    cl = QemuCommandLine.parse(argv)
    backends = plan_backends(cl, [f"chr1={sys.executable} -c pass {{socket}} {{queues}}"],
                             "dpdk-testpmd", str(tmp_path), drop_first=True)
    assert [(b.chardev, b.qemu_role, b.listens_first) for b in backends] == [
        ("chr0", "server", False), ("chr1", "client", True)]
    assert backends[0].argv[0] == "dpdk-testpmd" and "client=1" in " ".join(backends[0].argv)
    assert backends[1].argv == [sys.executable, "-c", "pass", str(tmp_path / "client.sock"), "1"]
    assert backends[0].drop_first and not backends[1].drop_first
    assert len({b.dpdk_prefix for b in backends}) == 2
    assert len({b.log_path for b in backends}) == 2
    assert plan_backends(cl, [], "", str(tmp_path)) == []
