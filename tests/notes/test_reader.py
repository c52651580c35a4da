"""A developer's notes read: markdown with DOT blocks and a listing, a .dot
file, a listing alone; merged into clusters, edges and chains."""

from pathlib import Path

import pytest

from conftest import run_cli
from gdb_qemuinit.notes import reader as notes_reader
from gdb_qemuinit.notes.dot import NotesError

DATA = Path(__file__).parent.parent / "data"


def test_markdown_a_dot_block_and_the_listing_under_it():
    notes = notes_reader.read(str(DATA / "chardev-notes.md"))
    assert notes.source == "chardev-notes.md"
    assert [(c.id, c.label, c.boxed, c.origin) for c in notes.clusters] == [
        ("open", "打开 chardev", True, "graph"), ("wait", "等待连接", True, "graph"),
        ("listing", "call listing", True, "listing")]
    edges = {(e.caller, e.callee): e for e in notes.edges}
    assert edges[("qemu_char_open", "cc->open")].label == "socket backend"
    assert edges[("qemu_char_open", "cc->open")].step is None
    assert {e.callee: e.step for e in notes.edges if e.step} == {
        "qmp_chardev_open_socket_server": 1, "tcp_chr_accept_server_sync": 2}
    listing = [e for e in notes.edges if e.origin == "listing"]
    assert {e.cluster for e in listing} == {"listing"}
    assert edges[("qemu_init", "qemu_create_early_backends")].label == \
        "chardevs before netdevs"
    assert notes.chains[0] == ("open", ("chardev_init_func", "qemu_chr_new_from_opts",
                                        "qemu_chardev_new"))
    assert notes.remarks == []


def test_a_dot_file_edges_outside_the_clusters_and_a_box_that_only_declares_a_node():
    notes = notes_reader.read(str(DATA / "netdev-notes.dot"))
    assert [(c.id, c.label, c.boxed) for c in notes.clusters] == [
        ("graph", "netdev notes", False), ("netdev", "网络后端 netdev", True),
        ("device", "网卡 -device", True)]
    edges = {(e.caller, e.callee): e for e in notes.edges}
    assert edges[("qemu_create_late_backends", "net_init_clients")].cluster == "graph"
    assert edges[("net_init_clients", "net_init_netdev")].cluster == "netdev"
    assert notes.names()[:3] == ["net_init_clients", "net_init_netdev", "net_client_init"]


def test_the_listing_spells_a_graph_node_fully_and_repeats_are_read_once():
    text = ("```dot\ndigraph { a -> fun -> c }\n```\n\n"
            "a\n    ->b\n    \t->b\n    \t\t->fun[x->type](y)\n")
    notes = notes_reader.parse(text, "n.md")
    assert notes.chains == [("graph", ("a", "fun[x->type]", "c"))]
    assert [c.id for c in notes.clusters] == ["graph", "listing"]
    assert notes.clusters[0].label == "outside the clusters"
    assert [(e.caller, e.callee, e.cluster) for e in notes.edges] == [
        ("a", "fun[x->type]", "graph"), ("fun[x->type]", "c", "graph"),
        ("a", "b", "listing"), ("b", "fun[x->type]", "listing")]
    assert notes.remarks == [
        "b -> b: the same name twice in a row in the listing, read once",
        "fun: named as in the listing (fun[x->type])"]


def test_a_listing_alone_and_an_edge_only_once():
    notes = notes_reader.parse("main\n    ->qemu_init\n    ->qemu_init\n")
    assert [(e.caller, e.callee) for e in notes.edges] == [("main", "qemu_init")]
    assert [c.id for c in notes.clusters] == ["listing"]
    with pytest.raises(NotesError, match="nothing to import"):
        notes_reader.parse("```c\nmain\n    ->qemu_init\n```\n")


@pytest.mark.parametrize("name,text,says", [
    ("unclosed.dot", "\ndigraph {\n a -> b\n", "line 2: this '{' is never closed"),
    ("nodot.md", "# notes\n\nno graph here, no listing\n", "nothing to import"),
    ("fence.md", "```graphviz\ndigraph { a -> b }\n", "never closed"),
    ("bad.md", "text\n\n```dot\ndigraph {\n  a -> ; \n}\n```\n", "line 5"),
    ("binary.dot", b"\xff\xfe\x00digraph", "not UTF-8"),
])
def test_malformed_notes_one_clear_line_nothing_written(tmp_path, name, text, says):
    notes = tmp_path / name
    if isinstance(text, bytes):
        notes.write_bytes(text)
    else:
        notes.write_text(text)
    out = tmp_path / "out.toml"
    r = run_cli("path", "import", str(notes), "-o", str(out))
    assert r.returncode == 2
    assert r.stdout == "" and len(r.stderr.strip().splitlines()) == 1
    assert says in r.stderr and str(notes) in r.stderr
    assert not out.exists() and [p.name for p in tmp_path.iterdir()] == [name]
