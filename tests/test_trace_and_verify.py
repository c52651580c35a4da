"""Pure tests of the trace format and of the verdicts, on hand-made stacks."""

import json

import pytest

from gdb_qemuinit import diff, initpath, render_graph, render_text, trace, verify
from gdb_qemuinit.trace import Frame, Hit, Outcome, Trace


def hit(seq, *stack):
    """stack given outermost first, as a developer reads it."""
    frames = [Frame(fn, "f.c", 10 + i) for i, fn in enumerate(reversed(stack))]
    return Hit(seq=seq, function=stack[-1], thread=1, frames=frames)


def make(hits, missing=(), debug_info=True, extra=None):
    t = Trace(qemu={"binary": "q", "version": "7.2.0", "argv": ["q"]},
              outcome=Outcome(state="init-complete"), hits=list(hits),
              missing_symbols=list(missing), debug_info=debug_info)
    t.extra.update(extra or {})
    return t


@pytest.fixture(scope="module")
def path():
    return initpath.load()


def verdicts(path, t):
    return {(v.caller, v.callee): v for v in verify.verify(path, t)[0]}


DEVICE = ("main", "qemu_init", "qmp_x_exit_preconfig", "qemu_create_cli_devices",
          "qemu_opts_foreach", "device_init_func", "qdev_device_add",
          "qdev_device_add_from_qdict", "qdev_new", "object_new", "object_new_with_type",
          "object_initialize_with_type", "object_init_with_type", "object_init_with_type",
          "virtio_net_pci_instance_init")


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
    assert "object_init_with_type" in e.note


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


def test_json_round_trip_keeps_everything(tmp_path, path):
    t = verify.annotate(path, make([hit(1, *DEVICE)]))
    f = tmp_path / "t.json"
    trace.save(t, f)
    doc = json.loads(f.read_text())
    assert doc["schema"] == "qemuinit.trace/1"
    assert {"from", "to", "cluster", "status", "via", "note"} <= set(doc["edges"][0])
    back = trace.load(f)
    assert back.to_json() == t.to_json()
    assert back.hits[0].frames[-1].function == "main"


@pytest.mark.parametrize("content,msg", [
    ("not json", "not valid JSON"),
    ('{"schema": "qemuinit.trace/1", "hits": [', "truncated"),
    ('{"schema": "qemuinit.trace/1", "hits": [{"function": "qemu_in', "truncated"),
    ('{"schema": "qemuinit.trace/1", "hits": [{"function": "a\nb"}]}', "not valid JSON"),
    ('{"schema": "qemuinit.trace/2"}', "not supported"),
    ('{"schema": "other"}', "not a qemuinit trace"),
    ("[1, 2]", "not a qemuinit trace"),
    ('{"schema": "qemuinit.trace/1", "qemu": {}}', "malformed"),
])
def test_bad_trace_files_are_named(tmp_path, content, msg):
    f = tmp_path / "bad.json"
    f.write_text(content)
    with pytest.raises(trace.TraceError, match=msg):
        trace.load(f)


def test_atomic_write_leaves_no_partial_file(tmp_path):
    target = tmp_path / "out.json"
    target.write_text("old")

    class Boom:          # fails while being written, like a full disk
        def __str__(self):
            raise RuntimeError("disk full")
    with pytest.raises(TypeError):
        trace.write_atomic(target, Boom())
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]
    with pytest.raises(OSError):
        trace.check_writable(tmp_path / "missing" / "x.json")


def test_text_report_groups_by_cluster_and_colours_only_when_asked(path):
    t = verify.annotate(path, make([hit(1, *DEVICE)]))
    plain = render_text.render(path, t, color=False)
    assert "[vhost_user_negotiation] vhost_user 协商" in plain
    assert "\x1b[" not in plain
    assert "observed      object_new -> virtio_net_pci_instance_init" in plain
    coloured = render_text.render(path, t, color=True)
    assert "\x1b[" in coloured


def test_graph_has_seven_boxes_and_styles_by_status(path):
    t = verify.annotate(path, make([hit(1, *DEVICE)]))
    src = render_graph.render(path, t.extra["edges"], "dot").decode()
    boxes = [c.id for c in path.clusters if f"subgraph cluster_{c.id} " in src]
    assert len(boxes) == 7 and "qemu_init" not in boxes
    assert render_graph.STYLE["observed"]["color"] in src
    assert "初始化cpu内存" in src and "initialize CPUs and memory" in src
    svg = render_graph.render(path, t.extra["edges"], "svg")     # Debian's dot
    assert svg.lstrip().startswith(b"<?xml") and b"<svg" in svg


def test_diff_lists_changed_edges_and_functions(path):
    a = verify.annotate(path, make([hit(1, *DEVICE)]))
    b = verify.annotate(path, make([hit(1, *DEVICE), hit(2, "main", "qemu_init",
                                    "qemu_create_early_backends", "qemu_opts_foreach",
                                    "chardev_init_func")]))
    d = diff.diff(a, b)
    changed = {(e["from"], e["to"]) for e in d["edges"]}
    assert ("qemu_opts_foreach", "chardev_init_func") in changed
    assert d["only_b"] == ["chardev_init_func"] and d["only_a"] == []


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
