"""One trace's before and after, shared by `qinit trace` and `qemuinit trace`."""

import json

import pytest

from gdb_qemuinit import errors, session
from gdb_qemuinit.model import initpath, phases
from gdb_qemuinit.render import outputs
from gdb_qemuinit.model.trace import Frame, Hit, Outcome, Trace


def a_trace():
    stack = ["main", "qemu_init", "qemu_create_late_backends", "net_init_clients"]
    frames = [Frame(fn, "f.c", 1) for fn in reversed(stack)]
    return Trace(qemu={"binary": "q", "version": "7.2.0", "argv": ["q"]},
                 outcome=Outcome(state="init-complete", detail="QEMU reached qemu_main_loop"),
                 hits=[Hit(1, "net_init_clients", 1, frames)])


def test_prepare_fails_before_qemu_runs(tmp_path):
    with pytest.raises(errors.OutputError):
        session.prepare(None, outputs.Outputs(json=str(tmp_path / "no" / "t.json")), phases.load())
    with pytest.raises(initpath.InitPathError):
        session.prepare(str(tmp_path / "none.toml"), outputs.Outputs(), phases.load())


def test_finish_annotates_writes_and_returns_the_summary_or_the_report(tmp_path):
    outs = outputs.Outputs(json=str(tmp_path / "t.json"), report=str(tmp_path / "r.txt"))
    path = session.prepare(None, outs, phases.load())
    t = a_trace()
    brief = session.finish(path, t, outs)
    assert brief.startswith("qemuinit: init-complete") and brief.endswith("\n")
    doc = json.loads((tmp_path / "t.json").read_text())
    assert len(doc["edges"]) == len(path.edges) and "steps" in doc
    full = session.finish(path, t, outs, full=True)
    assert full == (tmp_path / "r.txt").read_text() and len(full) > len(brief)


def test_a_phase_that_waits_for_nic_starts_refuses_a_line_without_such_a_nic():
    """device-start on a line whose NICs have no vhost backend would wait
    out its time limit: refused before QEMU runs, naming what asked."""
    phase = phases.load("device-start")
    user_nic = ["qemu", "-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0"]
    with pytest.raises(phases.PhaseError, match="no virtio-net NIC with a vhost backend") as e:
        session.refuse(phase, user_nic, "where memory-table")
    assert str(e.value).startswith("where memory-table (runs --until device-start)")
    vhost_nic = ["qemu", "-chardev", "socket,id=c0,path=/tmp/s", "-netdev",
                 "vhost-user,id=n0,chardev=c0", "-device", "virtio-net-pci,netdev=n0"]
    session.refuse(phase, vhost_nic)
    session.refuse(phase, user_nic[:3] + ["-device", "virtio-net-pci,netdev=n0,bootindex=1",
                                          "-netdev", "tap,id=t0,vhost=on",
                                          "-device", "virtio-net-pci,netdev=t0"])
    # what cannot be told from the line is not refused: -readconfig, no line
    session.refuse(phase, user_nic + ["-readconfig", "vm.cfg"])
    session.refuse(phase, [])
    # init ends at the main loop whatever the NICs
    session.refuse(phases.load("main-loop"), user_nic)
