"""Integration: the real gdb on the project's debug QEMU."""

import json
import os
import re
import stat

import pytest

from conftest import BREAKPOINTS, _state_line, breakpoints_left, run_cli, run_gdb
from gdb_qemuinit.analysis import verify

pytestmark = [pytest.mark.qemu, pytest.mark.usefixtures("no_leftovers")]


def chain_of(hit):
    return [f["function"] for f in reversed(hit["frames"])]


@pytest.fixture(scope="module")
def user_trace(tmp_path_factory, qemu_argv):
    out = tmp_path_factory.mktemp("t") / "t.json"
    r = run_cli("trace", "--json", str(out), "--", *qemu_argv)
    assert r.returncode == 0, r.stdout + r.stderr
    return json.loads(out.read_text()), r


def test_cli_trace_reaches_main_loop_with_the_documented_chains(user_trace):
    doc, r = user_trace
    assert "init-complete" in r.stdout
    assert doc["schema"] == "qemuinit.trace/1"
    assert doc["outcome"]["state"] == "init-complete"
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", doc["qemu"]["version"])
    hits = {h["function"]: h for h in doc["hits"]}
    nic = chain_of(hits["virtio_net_pci_instance_init"])
    assert nic[0] == "main" and nic[-1] == "virtio_net_pci_instance_init"
    assert "qdev_device_add" in nic and "object_new" in nic
    assert nic.index("qdev_device_add") < nic.index("object_new")
    assert "qemu_init_board" in hits
    netdev = chain_of(hits["visit_type_Netdev"])
    assert netdev[:3] == ["main", "qemu_init", "qemu_create_late_backends"]
    assert {"net_init_clients", "net_init_netdev", "net_client_init"} <= set(netdev)
    for h in doc["hits"]:
        assert h["frames"][-1]["function"] == "main"
        assert h["frames"][0]["function"] == h["function"]
        assert all(f["line"] for f in h["frames"] if f["file"])
    assert len(doc["hits"]) < 100


def test_every_edge_gets_a_verdict_and_none_that_exists_is_absent(user_trace):
    doc, _ = user_trace
    statuses = {(e["from"], e["to"]): e["status"] for e in doc["edges"]}
    assert len(statuses) == 67
    assert set(statuses.values()) <= set(verify.STATUSES)
    assert "absent" not in statuses.values()
    assert statuses[("object_new", "virtio_net_pci_instance_init")] == "observed"
    assert statuses[("net_client_init1", "net_client_init_fun[netdev->type]")] == "dispatch"
    assert statuses[("object_property_set", "prop->set")] == "dispatch"
    assert statuses[("chardev_init_func", "qemu_chr_new_from_opts")] == "not-exercised"


def test_gdb_prompt_trace_leaves_qemu_at_main_loop_without_qinit_breakpoints(qemu_argv):
    r = run_gdb(qemu_argv, "break qemu_init_board", "qinit trace", BREAKPOINTS,
                "frame 0", "kill")
    out = r.stdout + r.stderr
    assert "Traceback" not in out
    assert "init-complete" in out
    assert "qemu_main_loop" in out.split("init-complete")[1]
    # the user's own breakpoint is still the only one
    assert breakpoints_left(out) == [(1, "qemu_init_board")]


def test_sourcing_twice_and_tracing_twice_work(qemu_argv, tmp_path):
    r = run_gdb(qemu_argv, f"qinit trace --kill --json {tmp_path}/1.json",
                f"qinit trace --kill --json {tmp_path}/2.json", BREAKPOINTS,
                source_twice=True)
    out = r.stdout + r.stderr
    assert "Traceback" not in out and out.count("init-complete") == 2
    assert breakpoints_left(out) == []
    one, two = (json.loads((tmp_path / f"{i}.json").read_text()) for i in (1, 2))
    assert [h["function"] for h in one["hits"]] == [h["function"] for h in two["hits"]]


def test_help_completion_and_bad_arguments(qemu_argv):
    r = run_gdb(qemu_argv, "help qinit", "help qinit trace", "complete qinit trace --j",
                "complete qinit path chardev", "qinit trace --bogus", "qinit path nosuch",
                "qinit report")
    out = r.stdout + r.stderr
    assert "Traceback" not in out
    assert "qinit trace" in out and "--timeout SECONDS" in out
    assert "qinit trace --json" in out
    assert "qinit path chardev_init" in out
    assert "unrecognized arguments: --bogus" in out and "usage: qinit trace" in out
    assert "no cluster 'nosuch'" in out
    assert "no trace yet" in out


def test_diff_shows_the_chardev_edges_a_server_socket_adds(user_trace, qemu_argv, tmp_path):
    doc, _ = user_trace
    a = tmp_path / "a.json"
    a.write_text(json.dumps(doc))
    sock_dir = tmp_path / "s"
    sock_dir.mkdir(mode=0o700)
    b = tmp_path / "b.json"
    r = run_cli("trace", "--json", str(b), "--svg", str(tmp_path / "b.svg"), "--",
                *qemu_argv, "-chardev",
                f"socket,id=c0,path={sock_dir}/c.sock,server=on,wait=off")
    assert r.returncode == 0, r.stderr
    r = run_cli("diff", str(a), str(b))
    assert r.returncode == 0
    assert "chardev_init_func -> qemu_chr_new_from_opts: not-exercised -> observed" in r.stdout
    assert ("qmp_chardev_open_socket -> qmp_chardev_open_socket_server: "
            "not-exercised -> observed") in r.stdout
    svg = (tmp_path / "b.svg").read_text()
    assert "<svg" in svg and "cluster_chardev_init" in svg


def test_hang_ends_in_timeout_with_the_blocking_point(qemu_argv, tmp_path):
    sock_dir = tmp_path / "s"
    sock_dir.mkdir(mode=0o700)
    out = tmp_path / "t.json"
    r = run_cli("trace", "--timeout", "3", "--json", str(out), "--", *qemu_argv,
                "-chardev", f"socket,id=c0,path={sock_dir}/c.sock,server=on,wait=on")
    assert r.returncode == 1
    doc = json.loads(out.read_text())
    assert doc["outcome"]["state"] == "timeout"
    stopped = [f["function"] for f in doc["outcome"]["frames"]]
    assert "tcp_chr_accept_server_sync" in stopped


def test_qemu_exiting_during_init_is_reported(qemu_argv, tmp_path):
    out = tmp_path / "t.json"
    r = run_cli("trace", "--json", str(out), "--", *qemu_argv, "-device", "no-such-device")
    assert r.returncode == 1
    doc = json.loads(out.read_text())
    assert doc["outcome"]["state"] == "exited" and doc["outcome"]["exit_code"] == 1
    assert doc["outcome"]["last_stage"]
    # what gdb says of the exit and a repeated QEMU line stay out of the summary
    assert "[Inferior" not in r.stdout
    assert r.stdout.count(doc["outcome"]["error_line"]) == 1
    # a bad -device before the NIC's: the NIC's edges are not reached, not
    # 'not exercised' (this command line takes them)
    r = run_cli("trace", "--json", str(out), "--", qemu_argv[0], "-machine", "q35",
                "-nodefaults", "-display", "none", "-S", "-device", "no-such-device",
                "-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0")
    status = {(e["from"], e["to"]): e for e in json.loads(out.read_text())["edges"]}
    nic = status[("object_new", "virtio_net_pci_instance_init")]
    assert nic["status"] == "not-reached" and "the run ended (exited)" in nic["note"]
    assert "not-reached" in r.stdout


def test_not_qemu_and_unwritable_outputs_fail_before_running(tmp_path):
    r = run_cli("trace", "--", "/bin/true")
    assert r.returncode == 2 and "is not QEMU" in r.stderr and "Traceback" not in r.stderr
    r = run_cli("trace", "--", str(tmp_path / "nope"))
    assert r.returncode == 2 and "does not exist" in r.stderr
    ro = tmp_path / "ro"
    ro.mkdir()
    os.chmod(ro, stat.S_IRUSR | stat.S_IXUSR)
    r = run_cli("trace", "--json", str(tmp_path / "missing" / "t.json"))
    assert r.returncode == 2 and "does not exist" in r.stderr


def test_report_rerenders_a_saved_trace_without_gdb(user_trace, tmp_path):
    doc, _ = user_trace
    f = tmp_path / "t.json"
    f.write_text(json.dumps(doc))
    r = run_cli("report", str(f))
    assert r.returncode == 0 and "[netdev_init] netdev 初始化" in r.stdout
    assert "\x1b[" not in r.stdout
    r = run_cli("report", str(f), "--format", "png", "-o", str(tmp_path / "t.png"))
    assert r.returncode == 0
    assert (tmp_path / "t.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc)[:300])
    r = run_cli("report", str(bad))
    assert r.returncode == 2 and "truncated" in r.stderr


def _frames_of(path):
    return [[(f["function"], f["file"], f["line"]) for f in h["frames"]]
            for h in json.loads(path.read_text())["hits"]]


def test_libraries_read_only_when_needed_give_the_same_backtraces(tmp_path, qemu_argv):
    # Three ways to the same stacks: GLib read at main (the path's [library]
    # symbols), GLib read when the class_init backtrace runs into it (a path
    # naming no library), and every library read as QEMU loads it.
    from gdb_qemuinit.model.initpath import DEFAULT_PATH_FILE
    text = open(DEFAULT_PATH_FILE, encoding="utf-8").read()
    assert 'symbols = ["libglib-2.0.so"]' in text
    no_names = tmp_path / "no-library-names.toml"
    no_names.write_text(text.replace('symbols = ["libglib-2.0.so"]', "symbols = []"))
    runs = {"named": [], "on-demand": ["--path", str(no_names)], "all": []}
    for name, extra in runs.items():
        out = tmp_path / f"{name}.json"
        pre = ["set qinit lazy-libraries off"] if name == "all" else []
        r = run_gdb(qemu_argv, *pre, f"qinit trace --kill --quiet --json {out} {' '.join(extra)}")
        assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
        runs[name] = _frames_of(out)
    assert runs["named"] == runs["all"] == runs["on-demand"]
    through_glib = [fs for fs in runs["on-demand"] if ("g_hash_table_foreach", None, None) in fs]
    assert through_glib and all(fs[-1][0] == "main" for fs in through_glib)


def test_at_the_prompt_every_library_is_read_after_the_trace(qemu_argv):
    # gdb's setting, and the shared libraries QEMU has mapped against those
    # gdb has read symbols of (an objfile each), asked through gdb's Python API
    libraries = ('python import gdb, json, os; pid = gdb.selected_inferior().pid; '
                 'mapped = {os.path.realpath(l.split()[-1]) for l in open(f"/proc/{pid}/maps") '
                 'if ".so" in l.split()[-1]}; '
                 'read = {os.path.realpath(o.filename) for o in gdb.objfiles()}; '
                 'print("QINIT-TEST-LIBS", json.dumps([gdb.parameter("auto-solib-add"), '
                 'sorted(mapped), sorted(mapped - read)]))')
    r = run_gdb(qemu_argv, "qinit trace --quiet", libraries, "kill")
    assert "Traceback" not in r.stdout + r.stderr, r.stdout + r.stderr
    auto, mapped, unread = _state_line(r.stdout, "QINIT-TEST-LIBS")
    assert auto is True and len(mapped) > 10 and unread == [], unread


def test_the_timeout_setting_is_the_time_limit_of_a_trace_of_init(tmp_path, qemu_argv):
    """`set qinit timeout 2`: a trace of init gives up after 2 s (the
    device-start phase's longer limit must not stretch it): QEMU waits for
    a backend that never comes."""
    out = tmp_path / "t.json"
    waiting = [*qemu_argv, "-chardev", f"socket,id=c0,path={tmp_path}/s.sock,server=on,wait=on"]
    r = run_gdb(waiting, "set qinit timeout 2", f"qinit trace --kill --json {out}")
    doc = json.loads(out.read_text())
    assert doc["outcome"]["state"] == "timeout", r.stdout + r.stderr
    assert "within 2 s" in doc["outcome"]["detail"]
