from gdb_qemuinit import initpath, plan


def test_plan_skips_hot_functions_and_dispatch_points():
    path = initpath.load()
    p = plan.make_plan(path)
    fns = set(p.functions)
    assert not fns & path.hot
    assert not fns & set(path.dispatch)
    assert {"virtio_net_pci_instance_init", "qemu_init_board", "visit_type_Netdev",
            "vhost_user_backend_init", "virtio_net_pci_realize"} <= fns
    assert p.end == "qemu_main_loop" and "qemu_main_loop" not in fns


def test_naive_plan_covers_every_documented_function():
    path = initpath.load()
    naive = set(plan.naive_plan(path).functions)
    assert set(path.functions()) <= naive
    assert len(naive) > len(plan.make_plan(path).functions)


def test_question_stop_points_are_planted_once_and_alone():
    p = plan.stops_plan(initpath.load(), ["pci_config_alloc", "qemu_init", "qemu_init"])
    assert p.functions.count("qemu_init") == 1
    assert "pci_config_alloc" in p.functions
    assert len(p.functions) == 2
