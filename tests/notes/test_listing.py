from gdb_qemuinit.notes import listing as notes_listing


def test_calls_keep_their_names():
    assert notes_listing.call_name("ti->class_init(ti->class, ti->class_data)") == "ti->class_init"
    assert notes_listing.call_name("DEVICE(object_new(name))") == "object_new"
    assert notes_listing.call_name(
        "net_client_init_fun[netdev->type](netdev, netdev->id, peer, errp)") == \
        "net_client_init_fun[netdev->type]"
    assert notes_listing.call_name("问题: 这是什么") is None


def test_indentation_tabs_comments_continuations_and_repeats():
    text = ("main\n"
            "    ->qemu_init\n"
            "    \t->qemu_create_cli_devices\n"
            "    \t\t->qemu_opts_foreach(qemu_find_opts(\"device\"),  /* once per device */\n"
            "              device_init_func, NULL, &error_fatal); ->device_init_func\n"
            "device_init_func\n"
            "    ->qdev_device_add\n"
            "    \t->qdev_device_add\n"
            "    \t\t->qdev_device_add_from_qdict\n"
            "    ->other_call\n"
            "prose ends the listing\n"
            "    ->not_an_edge\n")
    listing = notes_listing.parse(text)
    edges = [(e.caller, e.callee, e.label) for e in listing.edges]
    assert edges == [
        ("main", "qemu_init", ""),
        ("qemu_init", "qemu_create_cli_devices", ""),
        ("qemu_create_cli_devices", "qemu_opts_foreach", "once per device"),
        ("qemu_opts_foreach", "device_init_func", ""),
        ("device_init_func", "qdev_device_add", ""),
        ("qdev_device_add", "qdev_device_add_from_qdict", ""),
        ("device_init_func", "other_call", ""),
    ]
    assert listing.merged == ["qdev_device_add -> qdev_device_add"]
