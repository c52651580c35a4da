"""Notes in, documented-path file out; on the seed, the same verdicts as the
shipped init-path.toml on real traces."""

import json
from pathlib import Path

import pytest

from conftest import run_cli, seed_file
from gdb_qemuinit.model import initpath
from gdb_qemuinit.notes import importer as path_import
from gdb_qemuinit.notes import reader as notes_reader

DATA = Path(__file__).parent.parent / "data"


def imported(path, facts=None):
    result = path_import.build(notes_reader.read(str(path)), facts)
    return result, initpath.parse(result.toml)


def test_the_seed_gives_the_shipped_files_edges_labels_and_steps():
    result, p = imported(seed_file())
    shipped = initpath.load()
    assert {e.key for e in p.edges} == {e.key for e in shipped.edges}
    mine = {e.key: e for e in p.edges}
    for e in shipped.edges:
        if e.origin == "graph" and e.label:
            assert mine[e.key].label == e.label, e.key
        assert mine[e.key].step == e.step
    assert {e.key for e in p.edges if e.origin == "listing"} >= {
        ("object_property_set", "prop->set"), ("net_client_init", "net_client_init1")}
    assert [c.label for c in p.clusters if c.boxed][:6] == [
        c.label for c in shipped.clusters if c.boxed][:6]
    assert "qdev_device_add -> qdev_device_add" in result.remarks[0]


def test_without_a_binary_pointers_are_marked_for_the_user():
    result, p = imported(seed_file())
    assert set(p.dispatch) == {"net_client_init_fun[netdev->type]", "ti->class_init",
                               "ti->instance_init", "prop->set"}
    assert p.dispatch["ti->class_init"].implementations == ("*_class_init",)
    assert set(result.fill_in) == set(p.dispatch)
    assert result.toml.count("# FILL IN") == 4
    assert not p.hot and 'english = ""' in result.toml


def test_own_dot_notes_clusters_labels_steps_node_labels():
    result, p = imported(DATA / "netdev-notes.dot")
    assert [(c.id, c.label, c.boxed) for c in p.clusters] == [
        ("graph", "netdev notes", False), ("netdev", "网络后端 netdev", True),
        ("device", "网卡 -device", True)]
    edges = {e.key: e for e in p.edges}
    assert edges[("qemu_create_late_backends", "net_init_clients")].cluster == "graph"
    assert edges[("net_init_clients", "net_init_netdev")].cluster == "netdev"
    assert {e.callee: e.step for e in p.edges if e.step} == {
        "net_client_init1": 1, "net_client_init_fun[type]": 2}
    assert edges[("qdev_device_add_from_qdict", "virtio_net_pci_setup")].label == "设置"
    assert set(p.dispatch) == {"net_client_init_fun[type]", "ti->instance_init"}


def test_own_markdown_notes_with_a_dot_block_and_a_listing():
    result, p = imported(DATA / "chardev-notes.md")
    assert [c.id for c in p.clusters] == ["open", "wait", "listing"]
    listing = {e.key: e for e in p.edges if e.origin == "listing"}
    assert listing[("qemu_init", "qemu_create_early_backends")].label == \
        "chardevs before netdevs"
    assert ("qemu_opts_foreach", "chardev_init_func") in listing
    assert listing[("qio_net_listener_wait_client", "g_main_loop_run")].label == \
        "blocks until a client connects"
    assert {e.callee: e.step for e in p.edges if e.step} == {
        "qmp_chardev_open_socket_server": 1, "tcp_chr_accept_server_sync": 2}
    assert "cc->open" in p.dispatch


def test_import_prints_the_file_when_no_output_is_given():
    r = run_cli("path", "import", str(DATA / "netdev-notes.dot"))
    assert r.returncode == 0
    assert initpath.parse(r.stdout).cluster_ids() == ["graph", "netdev", "device"]


# ---------------------------------------------------------------- real runs
@pytest.mark.qemu
@pytest.mark.vhost
@pytest.mark.usefixtures("no_leftovers")
def test_the_seed_imported_gives_every_seed_edge_the_shipped_verdict(tmp_path):
    """The seed imported against the default scenario (dpdk-testpmd
    negotiates), then both seed scenarios traced with each path file."""
    toml = tmp_path / "imported.toml"
    r = run_cli("path", "import", str(seed_file()), "-o", str(toml), "--scenario", "vhost-user")
    assert r.returncode == 0, r.stderr
    p, shipped = initpath.load(toml), initpath.load()
    assert p.hot == shipped.hot
    assert p.library == {"g_main_loop_run"} and p.library_symbols == ("libglib-2.0.so",)
    assert {e.key for e in p.edges if e.sequence} == {
        ("qemu_chr_fe_wait_connected", "vhost_dev_init")}
    # VhostOps members, seen at vhost_dev_init's indirect calls
    assert p.dispatch["vhost_backend_init"].implementations == ("vhost_user_backend_init",)
    assert p.dispatch["vhost_set_owner"].implementations == ("vhost_user_set_owner",)
    table = p.dispatch["net_client_init_fun[netdev->type]"]
    assert {"net_init_slirp", "net_init_vhost_user", "net_init_tap"} <= set(table.probes)
    assert "property_set_bool" in p.dispatch["prop->set"].probes
    assert "chr_be_event" not in p.dispatch          # a function here, as in the seed
    assert "ti->class_init (FILL IN)" in r.stdout

    wrapped = set()
    for scenario in ("vhost-user", "user-netdev"):
        verdicts = {}
        for name, path in (("shipped", initpath.DEFAULT_PATH_FILE), ("imported", toml)):
            out = tmp_path / f"{scenario}-{name}.json"
            r = run_cli("trace", "--scenario", scenario, "--path", str(path),
                        "--json", str(out))
            assert r.returncode == 0, r.stderr
            verdicts[name] = {(e["from"], e["to"]): e
                              for e in json.loads(out.read_text())["edges"]}
        mine, theirs = verdicts["imported"], verdicts["shipped"]
        assert set(mine) == set(theirs)
        differ = {k for k in theirs if theirs[k]["status"] != mine[k]["status"]}
        # What the notes cannot carry: a wrapper a release puts between the
        # caller and the call through the pointer (QEMU 10.2's
        # vhost_dev_get_features), named by the shipped file's `through`.
        through = {k for k, e in theirs.items() if e["status"] == "dispatch"
                   and set(e.get("via") or ()) & set(shipped.dispatch[k[1]].through)}
        assert differ == through, scenario
        wrapped |= through
        assert {"observed", "dispatch", "not-exercised"} <= {e["status"] for e in mine.values()}
        if scenario == "vhost-user":
            assert mine[("vhost_dev_init", "vhost_backend_init")]["served_by"] == \
                "vhost_user_backend_init"
            assert mine[("qemu_chr_fe_wait_connected", "vhost_dev_init")]["status"] == "observed"
    if ("vhost_dev_init", "vhost_get_features") in wrapped:
        assert "vhost_get_features" not in p.dispatch      # no indirect call names it
    else:
        # called through the pointer by vhost_dev_init itself (7.2 to 10.1),
        # and also a function of its own
        assert p.dispatch["vhost_get_features"].implementations == ("vhost_user_get_features",)
        assert p.dispatch["vhost_get_features"].also_function
    # the last pair is user-netdev's; the vhost-user ones were checked above
    assert mine[("net_client_init1", "net_client_init_fun[netdev->type]")]["served_by"] == \
        "net_init_slirp"


@pytest.mark.qemu
@pytest.mark.usefixtures("no_leftovers")
def test_own_notes_checked_against_the_binary_and_traced(qemu_argv, tmp_path):
    toml = tmp_path / "netdev.toml"
    r = run_cli("path", "import", str(DATA / "netdev-notes.dot"), "-o", str(toml),
                "--", *qemu_argv)
    assert r.returncode == 0, r.stderr
    assert "not in this QEMU: virtio_net_pci_setup" in r.stdout
    text = toml.read_text()
    assert "# Not in this QEMU binary: virtio_net_pci_setup" in text
    p = initpath.load(toml)
    # [type] is not in the binary's table name, net_client_init_fun is: a table
    assert "net_init_slirp" in p.dispatch["net_client_init_fun[type]"].probes
    # object_new calls it through object_init_with_type: no indirect call in
    # object_new names instance_init, so the name's guess, for the user to check
    assert p.dispatch["ti->instance_init"].implementations == ("*_instance_init",)
    assert {"qemu_opts_foreach", "object_new", "qdev_new"} <= p.hot
    out = tmp_path / "t.json"
    r = run_cli("trace", "--path", str(toml), "--json", str(out), "--", *qemu_argv)
    assert r.returncode == 0, r.stderr
    edges = {(e["from"], e["to"]): e for e in json.loads(out.read_text())["edges"]}
    assert edges[("qdev_device_add_from_qdict", "virtio_net_pci_setup")]["status"] == "absent"
    assert edges[("net_client_init1", "net_client_init_fun[type]")]["served_by"] == \
        "net_init_slirp"
    # the notes skip object_init_with_type, which makes the call: not from object_new
    assert edges[("object_new", "ti->instance_init")]["status"] == "not-exercised"
    assert edges[("ti->instance_init", "virtio_net_pci_instance_init")]["status"] == "observed"
    assert edges[("net_init_netdev", "net_client_init")]["status"] == "observed"
    assert edges[("qemu_init", "qemu_create_late_backends")]["status"] == "observed"


@pytest.mark.qemu
@pytest.mark.usefixtures("no_leftovers")
def test_counting_run_that_fails_writes_nothing(qemu_argv, tmp_path):
    out = tmp_path / "x.toml"
    r = run_cli("path", "import", str(DATA / "netdev-notes.dot"), "-o", str(out),
                "--", *qemu_argv, "-device", "no-such-device")
    assert r.returncode == 2 and "did not reach qemu_main_loop" in r.stderr
    assert not out.exists()


@pytest.mark.qemu
@pytest.mark.usefixtures("no_leftovers")
def test_at_the_gdb_prompt_import_checks_the_program_gdb_was_given(qemu_argv, tmp_path):
    from conftest import BREAKPOINTS, breakpoints_left, run_gdb
    out, facts = tmp_path / "n.toml", tmp_path / "facts.json"
    r = run_gdb(qemu_argv, f"qinit path import {DATA / 'netdev-notes.dot'} -o {out} "
                f"--json {facts} --kill", BREAKPOINTS, "qinit path netdev_init",
                "help qinit path import")
    assert "Traceback" not in r.stdout + r.stderr
    assert "not in this QEMU: virtio_net_pci_setup" in r.stdout
    assert breakpoints_left(r.stdout) == []
    assert "[netdev_init] netdev 初始化" in r.stdout        # qinit path CLUSTER still works
    assert "--hot, default 10" in r.stdout
    doc = json.loads(facts.read_text())
    assert doc["outcome"]["state"] == "init-complete"
    assert doc["functions"]["net_init_netdev"]["count"] == 1
    assert doc["functions"]["object_new"]["count"] > 50
    assert "virtio_net_pci_setup" in doc["missing"]
    assert initpath.load(out).hot >= {"qemu_opts_foreach", "object_new"}


@pytest.mark.qemu
@pytest.mark.vhost
@pytest.mark.usefixtures("no_leftovers")
def test_own_markdown_notes_imported_and_traced_on_the_seed_scenario(tmp_path):
    toml = tmp_path / "chardev.toml"
    r = run_cli("path", "import", str(DATA / "chardev-notes.md"), "-o", str(toml),
                "--scenario", "vhost-user")
    assert r.returncode == 0, r.stderr
    p = initpath.load(toml)
    # cc->open: qemu_char_open calls it through ChardevClass; a socket here
    assert p.dispatch["cc->open"].implementations == ("qmp_chardev_open_socket",)
    assert p.library == {"g_main_loop_run"}
    out = tmp_path / "t.json"
    r = run_cli("trace", "--path", str(toml), "--json", str(out))
    assert r.returncode == 0, r.stderr
    doc = json.loads(out.read_text())
    edges = {(e["from"], e["to"]): e for e in doc["edges"]}
    assert edges[("qemu_char_open", "cc->open")]["served_by"] == "qmp_chardev_open_socket"
    assert {e["status"] for e in edges.values()} == {"observed", "dispatch"}, edges
    assert edges[("qio_net_listener_wait_client", "g_main_loop_run")]["label"] == \
        "blocks until a client connects"
    assert all(s["in_order"] for s in doc["steps"])


def test_facts_of_a_counting_run_decide_dispatch_hot_library_then_and_missing():
    notes = notes_reader.parse(
        'digraph { a -> b -> "ops->x" -> impl\n a -> tab\n a -> hook\n b -> later\n'
        ' a -> hot_fn\n a -> g_main_loop_run\n a -> gone }', "n.dot")

    def fn(count, first, *above, library=None):
        return {"count": count, "first": first, "above": list(above), "library": library}
    facts = {
        "qemu": {"version": "7.2.0", "argv": ["qemu-system-x86_64", "-S"]},
        "outcome": {"state": "init-complete"},
        "functions": {"a": fn(1, 1), "b": fn(1, 2, "a"), "impl": fn(3, 4, "a", "b"),
                      "hook": fn(1, 5, "a"), "later": fn(1, 9, "a"), "hot_fn": fn(50, 3, "a"),
                      "g_main_loop_run": fn(20, 6, "a", library="/lib/libglib-2.0.so.0.7400")},
        "missing": ["gone"],
        "tables": {"tab": ["t1", "t2"]},
        "sites": [
            {"callee": "ops->x", "at": "f.c:1", "text": "s->ops->x(s);",
             "targets": {"impl": 3}, "depth": {"impl": 2}},
            {"callee": "b", "at": "f.c:2", "text": "k->b(s);", "targets": {"other_b": 1}},
            # a hook whose default is the function of that name: a plain function
            {"callee": "hook", "at": "f.c:3", "text": "k->hook();", "targets": {"hook": 1}}]}
    result = path_import.build(notes, facts)
    assert list(result.dispatch) == ["b", "ops->x", "tab"]
    assert result.dispatch["b"] == {
        "member": "called through a pointer at f.c:2: k->b(s);",
        "implementations": ["other_b"], "probes": ["other_b"], "observed": True,
        "also_function": True}
    assert result.dispatch["ops->x"]["implementations"] == ["impl"]
    assert result.dispatch["tab"] == {
        "member": "tab[], a table of function pointers in this QEMU",
        "implementations": ["t1", "t2"], "probes": ["t1", "t2"]}
    assert (result.hot, result.library, result.missing, result.sequence, result.fill_in) == (
        ["hot_fn"], ["g_main_loop_run"], ["gone"], ["b -> later"], [])
    assert "# Checked against QEMU 7.2.0: qemu-system-x86_64 -S" in result.toml
    assert "# Not in this QEMU binary: gone" in result.toml
    p = initpath.parse(result.toml)
    assert p.hot == {"hot_fn"} and p.library_symbols == ("libglib-2.0.so",)
    assert {e.key for e in p.edges if e.sequence} == {("b", "later")}
    assert p.dispatch["b"].also_function and p.dispatch["tab"].probes == ("t1", "t2")
