from pathlib import Path

import pytest

from gdb_qemuinit.model import initpath

SEED_NODES = """net_init_netdev net_client_init visit_type_Netdev chardev_init_func
qemu_chr_new_from_opts qemu_chardev_new chardev_new qemu_char_open qmp_chardev_open_socket
qmp_chardev_open_socket_server tcp_chr_accept_server_sync qio_net_listener_wait_client
g_main_loop_run virtio_net_pci_instance_init net_init_vhost_user net_vhost_user_init
qemu_chr_fe_set_handlers qemu_chr_fe_set_handlers_full qemu_chr_be_event chr_be_event
net_vhost_user_event vhost_user_start vhost_net_init vhost_dev_init vhost_set_backend_type
qemu_chr_fe_init vhost_backend_init vhost_user_get_features vhost_user_set_protocol_features
vhost_set_owner vhost_get_features vhost_virtqueue_init vhost_user_set_vring_call
qemu_chr_fe_wait_connected qemu_init qemu_create_early_backends qemu_opts_foreach
qemu_create_late_backends net_init_clients net_client_init1 qmp_x_exit_preconfig
qemu_create_cli_devices device_init_func qdev_device_add qdev_device_add_from_qdict qdev_new
object_new qemu_init_board""".split()

LISTING_NODES = """qdev_get_device_class module_object_class_by_name type_initialize
type_initialize_interface ti->class_init object_new_with_type object_initialize_with_type
object_init_with_type ti->instance_init qdev_realize object_property_set_bool
object_property_set_qobject object_property_set prop->set""".split()


@pytest.fixture(scope="module")
def path():
    return initpath.load()


def test_every_seed_and_listing_node_is_documented(path):
    nodes = set(path.nodes())
    assert set(SEED_NODES) <= nodes
    assert set(LISTING_NODES) <= nodes


def test_clusters_of_the_seed_and_the_listing(path):
    assert path.cluster_ids() == ["qemu_init", "netdev_init", "chardev_init",
                                  "virtio_net_init", "vhost_user_init",
                                  "vhost_user_negotiation", "vdpa_restart", "device_add"]
    assert sum(c.boxed for c in path.clusters) == 7


def test_labels_and_numbered_steps_are_kept(path):
    by_key = {e.key: e for e in path.edges}
    assert by_key[("qemu_init", "qemu_create_early_backends")].label == "创建chardev 并等待连接"
    assert by_key[("qmp_x_exit_preconfig", "qemu_init_board")].english == \
        "initialize CPUs and memory"
    steps = {e.callee: e.step for e in path.edges if e.step}
    assert steps == {"vhost_backend_init": 1, "vhost_set_owner": 2,
                     "vhost_get_features": 3, "vhost_virtqueue_init": 4}


def test_function_pointers_are_dispatch_points_not_functions(path):
    for name in ("net_client_init_fun[netdev->type]", "ti->class_init", "ti->instance_init",
                 "prop->set", "vhost_backend_init", "vhost_set_owner", "vhost_get_features"):
        assert path.is_dispatch(name)
        assert name not in path.functions()
    assert path.dispatch["vhost_backend_init"].served_by("vhost_user_backend_init")
    assert not path.dispatch["vhost_backend_init"].served_by("vhost_dev_init")


def test_sequence_edge_is_not_a_call(path):
    e = {e.key: e for e in path.edges}[("qemu_chr_fe_wait_connected", "vhost_dev_init")]
    assert e.sequence
    assert "vhost_dev_init" not in path.callees_of("qemu_chr_fe_wait_connected")


def test_names_with_arrows_survive_chain_parsing():
    p = initpath.parse('[[cluster]]\nid = "x"\nchains = ["a -> ti->class_init"]\n'
                       '[dispatch."ti->class_init"]\nimplementations = ["*_class_init"]\n')
    assert [e.key for e in p.edges] == [("a", "ti->class_init")]


@pytest.mark.parametrize("text,msg", [
    ('[[cluster]]\nid = "x"\nchains = ["a"]\n', "bad chain"),
    ("[[cluster]", "not valid TOML"),
    ('[dispatch.x]\nmember = "m"\n', "no implementations"),
])
def test_malformed_files_are_reported(text, msg):
    with pytest.raises(initpath.InitPathError, match=msg):
        initpath.parse(text)


def test_the_hot_plug_path_is_a_documented_path():
    """data/hotplug-path.toml (what can happen after init: hot-plug, unplug,
    a backend's restart) is read as any documented path is."""
    hotplug = initpath.load(Path(initpath.__file__).parent.parent / "data" / "hotplug-path.toml")
    names = {c.id for c in hotplug.clusters}
    assert len(hotplug.edges) > 50 and len(names) >= 10
    callers = {e.caller for e in hotplug.edges}
    assert {"qmp_chardev_add", "qmp_netdev_add", "qmp_device_add"} <= callers


def test_the_device_start_path_is_a_documented_path():
    """data/start-path.toml (a guest starting a vhost-user NIC: its status
    write to the vhost-user start messages, and the stop) is read as any
    documented path is."""
    start = initpath.load(Path(initpath.__file__).parent.parent / "data" / "start-path.toml")
    assert len(start.edges) > 50
    assert {"virtio_set_status", "vhost_net_start", "vhost_dev_start"} <= {
        e.caller for e in start.edges}


def test_only_keeps_the_clusters_asked_for_with_what_their_nodes_need():
    init = initpath.load()
    part = init.only(["vhost-user-negotiation"])        # - and _ alike
    assert part.cluster_ids() == ["vhost_user_negotiation"]
    assert {e.cluster for e in part.edges} == {"vhost_user_negotiation"}
    nodes = set(part.nodes())
    assert set(part.dispatch) == {d for d in init.dispatch if d in nodes} and part.dispatch
    assert part.hot <= nodes and set(part.always) <= nodes
    with pytest.raises(initpath.InitPathError, match="no cluster 'nope'"):
        init.only(["nope"])
