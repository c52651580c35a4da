"""How far a trace goes: the phases of data/phases.toml."""

import pytest

from gdb_qemuinit.model import initpath, phases


def test_init_ends_at_the_main_loop_with_the_init_path_alone():
    p = phases.load()
    assert p.name == "main-loop" == phases.default_name()
    assert p.end == "qemu_main_loop" and p.started is None
    assert p.path() == initpath.load()
    assert p.refusal(["qemu", "-S"]) is None


def test_device_start_adds_the_start_path_to_init_and_ends_at_each_nics_start():
    p = phases.load("device-start")
    assert p.end is None and p.started.function == "vhost_net_start"
    path, init, start = p.path(), initpath.load(), initpath.load(
        initpath.DEFAULT_PATH_FILE.replace("init-path", "start-path"))
    assert set(path.cluster_ids()) == set(init.cluster_ids()) | set(start.cluster_ids())
    assert {e.key for e in path.edges} == {e.key for e in init.edges} | {e.key for e in start.edges}
    assert set(path.dispatch) == set(init.dispatch) | set(start.dispatch)
    assert path.hot == init.hot | start.hot
    # what [always] says of a caller, in either file, holds in the joined path
    for caller, callees in start.always.items():
        assert set(callees) <= set(path.always[caller])
    assert p.started.function in path.functions()


def test_a_phase_refuses_a_command_line_that_can_never_finish_it():
    p = phases.load("device-start")
    assert "-S" in p.refusal(["qemu-system-x86_64", "-m", "256M", "-S"])
    assert p.refusal(["qemu-system-x86_64", "-m", "256M"]) is None
    # the binary's own name is no option
    assert p.refusal(["-S"]) is None


def test_a_trace_names_its_phase_and_one_from_before_phases_is_init():
    assert phases.of_trace({}).name == "main-loop"
    assert phases.of_trace({"phase": "device-start"}).name == "device-start"
    with pytest.raises(phases.PhaseError, match="no phase 'boot'.*device-start"):
        phases.load("boot")


def test_path_replaces_the_first_file_of_the_phase(tmp_path):
    mine = tmp_path / "mine.toml"
    mine.write_text('[[cluster]]\nid = "a"\nlabel = "a"\nchains = ["main -> qemu_init"]\n')
    path = phases.load("device-start").path(str(mine))
    assert "a" in path.cluster_ids() and "netdev_init" not in path.cluster_ids()
    assert "vhost_dev_start" in path.cluster_ids()


def test_watch_is_a_phase_of_a_running_qemu_with_its_events_and_no_trace_runs_to_it():
    p = phases.load("watch")
    assert p.running and p.end is None and p.started is None
    assert "watch" not in phases.trace_names() and "device-start" in phases.trace_names()
    assert set(p.events) == {"nic-added", "negotiated", "disconnected"}
    up, down = p.event("negotiated"), p.event("disconnected")
    # the same functions (the link set up or down), told apart by the caller
    assert up.functions == down.functions and up.within != down.within
    assert all(fn in p.path().functions() for e in p.events.values()
               for fn in e.functions + e.within)
    with pytest.raises(phases.PhaseError, match="no event 'nic-gone'.*nic-added"):
        p.event("nic-gone")


def test_a_phase_may_take_one_cluster_of_another_file():
    """watch's negotiation steps are init-path.toml's (FILE#CLUSTER): the
    numbered edges of vhost_dev_init come with their numbers, and nothing
    else of init."""
    path = phases.load("watch").path()
    init = initpath.load()
    steps = {e.key: e.step for e in path.edges if e.step}
    assert steps == {e.key: e.step for e in init.edges
                     if e.cluster == "vhost_user_negotiation" and e.step}
    assert sorted(steps.values()) == [1, 2, 3, 4]
    assert "qemu_init" not in path.nodes() and "qmp_netdev_add" in path.nodes()
