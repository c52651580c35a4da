"""Verdicts of the documented edges, on hand-made stacks."""

from conftest import DEVICE, stack_hit as hit, trace_of as make
from gdb_qemuinit.analysis import verify
from gdb_qemuinit.model.trace import Outcome


def verdicts(path, t):
    return {(v.caller, v.callee): v for v in verify.verify(path, t)[0]}


def test_observed_with_frames_between_listed_as_via(path):
    v = verdicts(path, make([hit(1, *DEVICE)]))
    e = v[("object_new", "virtio_net_pci_instance_init")]
    assert e.status == "observed"
    assert e.via == ["object_new_with_type", "object_initialize_with_type",
                     "object_init_with_type", "object_init_with_type"]
    assert v[("qdev_new", "object_new")].status == "observed"
    assert v[("qdev_new", "object_new")].via == []
    assert v[("object_init_with_type", "ti->instance_init")].status == "dispatch"
    assert v[("object_init_with_type", "ti->instance_init")].served_by == \
        "virtio_net_pci_instance_init"


def test_a_hit_proves_an_edge_only_through_its_stack(path):
    # instance_init reached while probing NIC models: object_new is not on it.
    probe = hit(1, "main", "qemu_init", "qemu_create_machine", "pci_nic_init_nofail",
                "object_new_with_type", "object_initialize_with_type",
                "object_init_with_type", "virtio_net_pci_instance_init")
    v = verdicts(path, make([probe]))
    assert v[("object_new", "virtio_net_pci_instance_init")].status == "not-exercised"
    v = verdicts(path, make([probe, hit(2, *DEVICE)]))
    e = v[("object_new", "virtio_net_pci_instance_init")]
    assert e.status == "observed" and e.hit == 2
    assert e.note.endswith("also reached from pci_nic_init_nofail")


def test_another_caller_is_named_past_the_frames_of_the_documented_way(path):
    # QEMU 9.0+: qemu_get_nic_models makes and frees one object per NIC
    # model; QOM's object_init_with_type is on both ways, so it is not the
    # other caller.
    probe = hit(1, "main", "qemu_init", "pc_nic_init", "qemu_get_nic_models",
                "object_new_with_class", "object_new_with_type", "object_initialize_with_type",
                "object_init_with_type", "object_init_with_type", "virtio_net_pci_instance_init")
    e = verdicts(path, make([probe, hit(2, *DEVICE)]))[("object_new",
                                                          "virtio_net_pci_instance_init")]
    assert e.status == "observed"
    assert e.note == "virtio_net_pci_instance_init was also reached from object_new_with_class"


def test_dispatch_names_the_function_that_served_it(path):
    neg = ("main", "vhost_net_init", "vhost_dev_init", "vhost_user_backend_init",
           "vhost_user_get_features")
    v = verdicts(path, make([hit(1, *neg)]))
    assert v[("vhost_dev_init", "vhost_backend_init")].status == "dispatch"
    assert "vhost_user_backend_init" in v[("vhost_dev_init", "vhost_backend_init")].note
    assert v[("vhost_backend_init", "vhost_user_get_features")].status == "observed"
    # The unrelated real vhost_get_features() proves nothing about step 3.
    real = hit(2, "main", "virtio_net_get_features", "vhost_net_get_features",
               "vhost_get_features")
    v = verdicts(path, make([real]))
    assert v[("vhost_dev_init", "vhost_get_features")].status == "not-exercised"


def test_a_dispatch_serving_several_netdev_types_names_them_all(path):
    # libvirt's vhost-user lines: vhost-user netdevs beside a socket netdev
    init = ("main", "qemu_init", "qemu_create_late_backends", "net_init_clients",
            "netdev_init_modern", "net_client_init1")
    v = verdicts(path, make([hit(1, *init, "net_init_vhost_user"),
                             hit(2, *init, "net_init_socket"),
                             hit(3, *init, "net_init_vhost_user")]))
    e = v[("net_client_init1", "net_client_init_fun[netdev->type]")]
    assert e.status == "dispatch" and e.served_by == "net_init_vhost_user"
    assert e.note.endswith("here it was net_init_vhost_user(), also net_init_socket()")
    v = verdicts(path, make([hit(1, *init, "net_init_vhost_user")]))
    assert "also" not in v[("net_client_init1", "net_client_init_fun[netdev->type]")].note


def test_dispatch_through_a_wrapper_the_data_names(path):
    # QEMU 10.2: vhost_dev_init -> vhost_dev_get_features -> VhostOps.vhost_get_features
    wrapped = hit(1, "main", "vhost_net_init", "vhost_dev_init", "vhost_dev_get_features",
                  "vhost_user_get_features")
    e = verdicts(path, make([wrapped]))[("vhost_dev_init", "vhost_get_features")]
    assert e.status == "dispatch" and e.served_by == "vhost_user_get_features"
    assert e.via == ["vhost_dev_get_features"]
    # any other function in between is not the pointer call
    other = hit(1, "main", "vhost_net_init", "vhost_dev_init", "vhost_user_backend_init",
                "vhost_user_get_features")
    e = verdicts(path, make([other]))[("vhost_dev_init", "vhost_get_features")]
    assert e.status == "not-exercised"


def test_steps_out_of_order_are_reported(path):
    base = ("main", "vhost_dev_init")
    hits = [hit(1, *base, "vhost_user_backend_init", "vhost_user_get_features"),
            hit(2, *base, "vhost_user_get_features"),       # step 3 before step 2
            hit(3, *base, "vhost_user_set_owner"),
            hit(4, *base, "vhost_virtqueue_init", "vhost_user_set_vring_call")]
    vs, steps = verify.verify(path, make(hits))
    assert steps[0]["observed"] == ["vhost_backend_init", "vhost_get_features",
                                    "vhost_set_owner", "vhost_virtqueue_init"]
    assert steps[0]["in_order"] is False
    ok = [hit(1, *base, "vhost_user_backend_init"), hit(2, *base, "vhost_user_set_owner"),
          hit(3, *base, "vhost_user_get_features"), hit(4, *base, "vhost_virtqueue_init")]
    assert verify.verify(path, make(ok))[1][0]["in_order"] is True


def test_absent_only_with_debug_info_and_with_a_suggestion(path):
    t = make([hit(1, "main", "qemu_init")], missing=["qemu_init_board"],
             extra={"symbols_near": {"qemu_init_board": ["qemu_init_boards"]}})
    e = verdicts(path, t)[("qmp_x_exit_preconfig", "qemu_init_board")]
    assert e.status == "absent" and "qemu_init_boards" in e.note
    t = make([hit(1, "main", "qemu_init")], missing=["qemu_init_board"], debug_info=False)
    assert verdicts(path, t)[("qmp_x_exit_preconfig", "qemu_init_board")].status == "unknown"


def test_sequence_edge_needs_order_not_nesting(path):
    hits = [hit(1, "main", "net_vhost_user_init", "qemu_chr_fe_wait_connected"),
            hit(2, "main", "net_vhost_user_init", "qemu_chr_fe_set_handlers",
                "vhost_net_init", "vhost_dev_init")]
    e = verdicts(path, make(hits))[("qemu_chr_fe_wait_connected", "vhost_dev_init")]
    assert e.status == "observed" and "sequence" in e.note
    e = verdicts(path, make(hits[1:]))[("qemu_chr_fe_wait_connected", "vhost_dev_init")]
    assert e.status == "not-exercised"


def test_not_exercised_says_what_would_take_it(path):
    e = verdicts(path, make([hit(1, "main", "qemu_init")]))[
        ("chardev_init_func", "qemu_chr_new_from_opts")]
    assert e.status == "not-exercised" and "-chardev socket" in e.note


JSON_DEVICE = ("main", "qemu_init", "qmp_x_exit_preconfig", "qemu_create_cli_devices",
               "qdev_device_add_from_qdict", "qdev_new", "object_new", "object_new_with_type",
               "object_initialize_with_type", "object_init_with_type",
               "virtio_net_pci_instance_init")


def with_argv(t, *args):
    t.qemu["argv"] = ["q", "-nodefaults", *args]
    return t


def test_notes_name_only_options_the_command_line_lacks(path):
    json_dev = '{"driver":"virtio-net-pci","id":"nic0"}'
    notes = {}
    for name, args in {"json": ("-device", json_dev), "keyval": ("-device", "virtio-net-pci"),
                       "none": (), "nic": ("-nic", "user,model=virtio")}.items():
        v = verdicts(path, with_argv(make([hit(1, *JSON_DEVICE)]), *args))
        notes[name] = v[("qemu_opts_foreach", "device_init_func")].note
        for e in v.values():
            assert "any command line" not in e.note, (name, e)
            if args:        # the option it has is never said to be missing
                assert f"no {args[0]} option" not in e.note, (name, e)
    assert "JSON" in notes["json"] and "qdev_device_add_from_qdict" in notes["json"]
    assert "no -device option" in notes["none"]
    assert "-nic" in notes["nic"] and "board" in notes["nic"]
    assert notes["keyval"] and "JSON" not in notes["keyval"]


def test_json_netdev_reason_and_a_class_initialized_while_choosing_the_machine(path):
    early = hit(1, "main", "qemu_init", "select_machine", "object_class_get_list",
                "type_initialize", "virtio_net_pci_class_init")
    netdev = hit(2, "main", "qemu_init", "qemu_create_late_backends", "net_init_clients",
                 "netdev_init_modern", "net_client_init1", "net_init_slirp")
    device = hit(3, "main", "qemu_init", "qmp_x_exit_preconfig", "qemu_create_cli_devices",
                 "qemu_opts_foreach", "device_init_func", "qdev_device_add",
                 "qdev_device_add_from_qdict", "qdev_get_device_class")
    args = ("-netdev", '{"type":"user","id":"n0"}', "-device", "virtio-net-pci,netdev=n0")
    v = verdicts(path, with_argv(make([early, netdev, device]), *args))
    assert "netdev_init_modern" in v[("net_init_netdev", "net_client_init")].note
    note = v[("module_object_class_by_name", "type_initialize")].note
    assert "select_machine" in note and "virtio_net_pci_class_init, hit #1" in note
    # A run that ended before the devices were created claims no reason for them.
    t = with_argv(make([early, netdev]), *args)
    t.outcome = Outcome(state="timeout")
    v = verdicts(path, t)
    note = v[("module_object_class_by_name", "type_initialize")].note
    assert "select_machine" not in note and "timeout" in note


def test_a_config_file_may_add_anything_so_no_note_says_an_option_is_missing(path):
    t = with_argv(make([hit(1, "main", "qemu_init")]), "-readconfig", "vm.cfg")
    for e in verdicts(path, t).values():
        assert "has no" not in e.note, e
