from pathlib import Path

from gdb_qemuinit.model import initpath
from gdb_qemuinit.planning import plan
from gdb_qemuinit.qemu.cmdline import QemuCommandLine


def test_plan_skips_hot_functions_and_dispatch_points():
    path = initpath.load()
    p = plan.make_plan(path)
    fns = set(p.functions)
    assert not fns & path.hot
    assert not fns & set(path.dispatch)
    assert {"virtio_net_pci_instance_init", "qemu_init_board", "visit_type_Netdev",
            "vhost_user_get_features", "virtio_net_pci_realize"} <= fns
    assert p.end == "qemu_main_loop" and "qemu_main_loop" not in fns


def test_naive_plan_covers_every_documented_function():
    path = initpath.load()
    naive = set(plan.naive_plan(path).functions)
    assert set(path.functions()) <= naive
    assert len(naive) > len(plan.make_plan(path).functions)


def test_question_stop_points_are_planted_once_and_alone():
    p = plan.stops_plan(["pci_config_alloc", "qemu_init", "qemu_init"])
    assert p.functions.count("qemu_init") == 1
    assert "pci_config_alloc" in p.functions
    assert len(p.functions) == 2


def _cl(text: str) -> QemuCommandLine:
    return QemuCommandLine.parse(["qemu"] + text.split())


USER = _cl("-machine q35 -nodefaults -display none -S -netdev user,id=n0 "
           "-device virtio-net-pci,netdev=n0")
VHOST = _cl("-machine q35 -nodefaults -S -chardev socket,id=c0,path=/s,server=on "
            "-netdev vhost-user,id=n0,chardev=c0 -device virtio-net-pci,netdev=n0")


def test_callers_of_an_always_called_watched_callee_get_no_breakpoint():
    path = initpath.load()
    p = plan.make_plan(path, extra=["vhost_dev_init"])
    fns = set(p.functions)
    assert not fns & {"main", "qemu_init", "qdev_device_add", "net_client_init",
                      "device_init_func", "vhost_user_backend_init"}
    # ...because each always calls a planted callee, which shows it
    assert {"qdev_get_device_class", "visit_type_Netdev", "qemu_create_early_backends",
            "vhost_user_get_features"} <= fns
    assert "vhost_dev_init" in fns                  # extra: read at its own hits
    # if a callee has no symbol, its callers get their breakpoints back
    assert p.fallback["qdev_get_device_class"] == ("qdev_device_add_from_qdict",)
    assert p.fallback["qemu_init"] == ("main",)


def test_a_loop_of_always_edges_keeps_its_members_planted():
    text = Path(initpath.DEFAULT_PATH_FILE).read_text(encoding="utf-8").replace(
        '"qmp_x_exit_preconfig -> qemu_init_board",',
        '"qmp_x_exit_preconfig -> qemu_init_board -> qmp_x_exit_preconfig",')
    path = initpath.parse(text)
    assert path.always["qemu_init_board"] == ("qmp_x_exit_preconfig",)
    p = plan.make_plan(path)
    # the loop is cut at one member, which keeps its breakpoint and shows the other
    assert len({"qemu_init_board", "qmp_x_exit_preconfig"} & set(p.functions)) == 1


def test_the_command_line_decides_which_paths_get_breakpoints():
    path = initpath.load()
    user = plan.make_plan(path, command_line=USER)
    assert "net_init_slirp" in user.functions and "virtio_net_pci_realize" in user.functions
    assert not {"vhost_dev_init", "net_vhost_user_init", "net_init_tap",
                "tcp_chr_accept_server_sync"} & set(user.functions)
    assert {"vhost_dev_init", "tcp_chr_accept_server_sync"} <= set(user.skipped)
    assert "qemu_init" not in user.skipped and "qemu_create_early_backends" in user.functions
    vhost = plan.make_plan(path, command_line=VHOST)
    assert {"qemu_chr_fe_wait_connected", "net_vhost_user_event", "vhost_user_get_features",
            "qmp_chardev_open_socket_server", "g_main_loop_run"} <= set(vhost.functions)
    assert not {"vhost_dev_init", "net_vhost_user_init"} & set(vhost.skipped)
    assert not {"net_init_tap", "vhost_kernel_init", "net_init_slirp"} & set(vhost.functions)


def test_defaults_and_config_files_widen_the_plan():
    path = initpath.load()
    # Without -nodefaults QEMU adds a user-networking NIC itself.
    assert "net_init_slirp" in plan.make_plan(path, command_line=_cl("-machine q35")).functions
    everything = plan.make_plan(path, command_line=QemuCommandLine.parse(
        USER.argv + ["-readconfig", "x.cfg"]))
    assert set(everything.functions) == set(plan.make_plan(path).functions)
    assert not everything.skipped


def test_bad_needs_entry_is_a_clear_error():
    import pytest
    with pytest.raises(initpath.InitPathError,
                       match=r"needs.chardev_init: expected a list, found .-chardev."):
        initpath.parse('[needs]\nchardev_init = "-chardev"\n')


def test_json_options_plan_like_keyval_ones():
    """A JSON -netdev user is found as a user netdev (a pattern over the
    joined argv looked for "-netdev user," and missed it)."""
    path = initpath.load()
    json_user = plan.make_plan(path, command_line=QemuCommandLine.parse(
        ["qemu", "-nodefaults", "-netdev", '{"type":"user","id":"n0"}',
         "-device", '{"driver":"virtio-net-pci","netdev":"n0"}']))
    assert {"net_init_slirp", "virtio_net_pci_realize"} <= set(json_user.functions)
    assert "net_init_vhost_user" in json_user.skipped
    # "user" inside another word is not a user netdev
    vhost = plan.make_plan(path, command_line=QemuCommandLine.parse(
        ["qemu", "-nodefaults", "-chardev", "socket,id=c,path=/s,server=on",
         "--netdev", '{"type":"vhost-user","chardev":"c","id":"n0"}']))
    assert "net_init_vhost_user" not in vhost.skipped and "net_init_slirp" not in vhost.functions
