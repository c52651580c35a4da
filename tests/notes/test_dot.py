import pytest

from conftest import seed_file
from gdb_qemuinit.notes import dot as dotnotes



def seed_block():
    text = seed_file().read_text(encoding="utf-8")
    return text.split("```graphviz", 1)[1].split("```", 1)[0]


def test_the_seed_graph_its_clusters_labels_and_chains():
    notes = dotnotes.parse(seed_block())
    assert [(c.id, c.label) for c in notes.clusters][:2] == [
        ("netdev_init", "netdev 初始化"), ("chardev_init", "chardev 初始化")]
    assert all(c.boxed for c in notes.clusters) and len(notes.clusters) == 6
    by_names = {c.names: c for c in notes.chains}
    # [weight=500] ends a chain, the next statement starts at the same node
    assert by_names[("vhost_dev_init", "vhost_set_backend_type")].label == \
        "根据backend_type设置vhost_ops为user_ops"
    assert by_names[("vhost_dev_init", "vhost_backend_init")].label == "1"
    assert by_names[("qemu_init", "qemu_create_early_backends")].cluster == ""
    assert notes.members == {"virtio_net_pci_instance_init": "virtio_net_init"}


def test_quoted_ids_ports_node_labels_and_unboxed_subgraphs():
    notes = dotnotes.parse('''strict digraph g {
        subgraph cluster_a { label="甲 a"; "ti->class_init" -> "x y":p1:n }
        subgraph { rank=same; b; c }
        subgraph s { b -> c [label="no box"] }
        n9 [label="qemu_init"]
        n9 -> b
    }''')
    assert [c.id for c in notes.clusters] == ["a"]
    assert notes.chains[0].names == ("ti->class_init", "x y")
    assert notes.chains[1].cluster == "" and notes.chains[1].label == "no box"
    assert notes.chains[2].names == ("qemu_init", "b")


@pytest.mark.parametrize("text,where", [
    ("digraph { a -> b ", "line 1: this"),
    ("digraph {\n a -> b [label=\"x\" \n}", "line 3"),
    ("flowchart { a -> b }", "starts with 'digraph'"),
    ("digraph { a; b }", "no edges"),
    ("digraph { a -> { b c } }", "subgraph as an edge end"),
    ("digraph { a -> b } c", "after the graph"),
    ("digraph {\n\n a -> @ }", "line 3"),
])
def test_malformed_dot_is_one_line_with_where(text, where):
    with pytest.raises(dotnotes.NotesError) as err:
        dotnotes.parse(text)
    assert where in str(err.value) and "\n" not in str(err.value)
