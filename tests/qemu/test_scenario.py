"""Built-in scenarios: inheritance, expansion, what the new ones promise."""

import os

import pytest

from gdb_qemuinit.qemu import scenario
from gdb_qemuinit.qemu.cmdline import QemuCommandLine



def test_scenarios_inherit_and_expand():
    assert scenario.default_name() in scenario.names()
    base = scenario.load("vhost-user")
    assert "{socket}" in " ".join(base.qemu) and base.backend == "dpdk-testpmd"
    restart = scenario.load("vhost-user-restart")
    assert restart.drop_first and restart.qemu == base.qemu
    assert scenario.load("vhost-user-hang").backend == ""
    args = base.qemu_args("/d/s.sock")
    assert "socket,id=chr0,path=/d/s.sock,server=on,wait=on" in args
    two = scenario.load("vhost-user-two-roles").qemu_args("/d/s.sock", "/d")
    assert all("{" not in a for a in two)
    connect = scenario.builtin_backend("dpdk-testpmd", "server")
    listen = scenario.builtin_backend("dpdk-testpmd", "client")
    assert connect != listen
    assert "--file-prefix=p1" in scenario.expand(connect, "/d/s.sock", "p1", 4)
    with pytest.raises(scenario.ScenarioError, match="scenarios: vhost-user"):
        scenario.load("nope")
    with pytest.raises(scenario.ScenarioError, match="backends: dpdk-testpmd"):
        scenario.builtin_backend("nope", "server")


def test_the_new_scenarios_have_what_they_promise():
    roles = {}
    for name in ("vhost-user-client", "vhost-user-two-roles", "vhost-user-multiqueue"):
        cl = QemuCommandLine.parse(["q"] + scenario.load(name).qemu_args("/d/s.sock", "/d"))
        roles[name] = [(c.role, n.queues) for n, c in cl.vhost_user()]
    assert roles["vhost-user-client"] == [("client", 1)]
    assert roles["vhost-user-two-roles"] == [("server", 1), ("client", 1)]
    assert roles["vhost-user-multiqueue"] == [("server", 4)]


def test_private_dir_is_only_for_its_owner():
    d = scenario.private_dir()
    try:
        assert scenario.is_private(d)
        os.chmod(d, 0o755)
        assert not scenario.is_private(d)
    finally:
        os.rmdir(d)
