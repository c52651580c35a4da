"""Pure tests of where the time went: stage spans, rounds and stderr lines
placed from hand-made timed hits."""

from gdb_qemuinit.analysis import timeline as tl
from gdb_qemuinit.model.trace import Frame, Hit, Outcome, Trace

CHARDEV = ("main", "qemu_init", "qemu_create_early_backends", "qemu_opts_foreach",
           "chardev_init_func", "qemu_chr_new_from_opts", "qemu_chardev_new", "chardev_new",
           "qemu_char_open")
ACCEPT = CHARDEV + ("qmp_chardev_open_socket", "qmp_chardev_open_socket_server",
                    "tcp_chr_accept_server_sync")
DEVICE = ("main", "qemu_init", "qmp_x_exit_preconfig", "qemu_create_cli_devices",
          "qemu_opts_foreach", "device_init_func", "qdev_device_add",
          "qdev_device_add_from_qdict", "qdev_get_device_class")


def hit(seq, t, *stack, reads=None, err=None):
    frames = [Frame(fn, "f.c", 10 + i) for i, fn in enumerate(reversed(stack))]
    return Hit(seq=seq, function=stack[-1], thread=1, frames=frames, t=t, reads=reads, err=err)


def seed_like() -> Trace:
    hits = [hit(1, 0.10, "main"),
            hit(2, 0.20, *CHARDEV, err=0),
            hit(3, 0.21, *ACCEPT, "qio_net_listener_wait_client", "g_main_loop_run", err=0),
            hit(4, 0.50, *ACCEPT, "tcp_chr_new_client", "tcp_chr_connect", "qemu_chr_be_event",
                "chr_be_event", err=120),
            hit(5, 0.60, "main", "qemu_init", "qmp_x_exit_preconfig", "qemu_init_board",
                err=120),
            hit(6, 0.70, *DEVICE, err=120),
            hit(7, 0.75, *DEVICE, err=120)]
    return Trace(qemu={"binary": "q", "version": "7.2.0", "argv": ["q"]},
                 outcome=Outcome(state="init-complete", detail="QEMU reached qemu_main_loop",
                                 t=0.9),
                 hits=hits,
                 extra={"qemu_stderr": [{"t": 0.55, "line": "q: waiting", "at": 0}],
                        "backends": [{"argv": ["testpmd"], "pid": 7,
                                      "times": {"listening": 0.3, "started": 0.31,
                                                "stopped": 0.95}}]})


def spans_by_name(trace):
    out = {}
    for s in tl.stage_spans(trace):
        out.setdefault(s.name, []).append(s)
    return out


def test_stages_are_the_functions_time_on_the_stack():
    spans = spans_by_name(seed_like())
    (init,) = spans["qemu_init"]
    assert (init.start, init.end) == (0.20, 0.9)      # to the end of the run
    (chardev,) = spans["chardev creation"]
    assert (chardev.start, chardev.end) == (0.20, 0.60)
    assert chardev.args["from_hit"] == 2 and chardev.args["to_hit"] == 5
    (board,) = spans["board init (CPUs, memory)"]
    assert (board.start, board.end) == (0.60, 0.70)


def test_the_chardev_wait_ends_when_the_backend_connects():
    (wait,) = spans_by_name(seed_like())[
        "chardev wait: QEMU waits for the backend to connect"]
    assert (wait.start, wait.end) == (0.21, 0.50)
    assert wait.args["to_hit"] == 4 and "tcp_chr_connect" in wait.args["ended"]


def test_an_entry_hit_starts_a_new_activation():
    devices = spans_by_name(seed_like())["device creation (-device)"]
    assert [(s.start, s.end) for s in devices] == [(0.70, 0.75), (0.75, 0.9)]


def test_a_wait_that_never_ends_lasts_to_the_end_of_the_run():
    t = seed_like()
    t.hits = t.hits[:3]
    t.outcome = Outcome(state="timeout", t=5.0)
    (wait,) = spans_by_name(t)["chardev wait: QEMU waits for the backend to connect"]
    assert (wait.start, wait.end) == (0.21, 5.0)
    assert "ended" in wait.args["ended"]


def test_stderr_lines_are_placed_no_later_than_the_hit_after_them():
    (line,) = tl.stderr_instants(seed_like())
    # read at 0.55, but hit 4 (t=0.50) already saw its bytes on stderr
    assert line["t"] == 0.50
    assert line["args"]["written_after_hit"] == 3 and line["args"]["written_before_hit"] == 4


def vhost_trace() -> Trace:
    t = seed_like()
    w = ("main", "vhost_dev_init", "vhost_user_get_u64")
    t.hits += [hit(8, 0.80, *w, "vhost_user_write", reads={"request": 1, "u64": 0}),
               hit(9, 0.81, *w, "vhost_user_read", reads={"ret": 0, "request": 1, "u64": 3}),
               hit(10, 0.85, *w, "vhost_user_write", reads={"request": 3, "u64": 3})]
    t.extra["vhost_user"] = {"rounds": [{
        "round": 1, "connection": 1, "chardev": "chr0", "hit": 8, "result": "negotiated",
        "messages": [{"seq": 8, "name": "GET_FEATURES", "step": 1,
                      "reply": {"ret": 0, "payload": {"hex": "0x3", "bits": ["A", "B"]}}},
                     {"seq": 10, "name": "SET_FEATURES", "step": 3,
                      "payload": {"hex": "0x3", "bits": ["A", "B"]}}]}]}
    return t


def test_a_round_runs_from_its_first_to_its_last_message():
    spans, instants = tl.vhost_spans(vhost_trace())
    (rnd,) = spans
    assert (rnd.start, rnd.end) == (0.80, 0.85) and rnd.group == "chr0"
    assert [(i["name"], i["t"]) for i in instants] == [
        ("GET_FEATURES ->", 0.80), ("<- GET_FEATURES reply", 0.81), ("SET_FEATURES ->", 0.85)]


def test_lanes_keep_spans_nested_or_apart():
    spans = [tl.Span("a", 0, 10, "g", {}), tl.Span("b", 5, 15, "g", {}),
             tl.Span("c", 6, 8, "g", {})]
    lanes = {s.name: lane for s, lane in tl.pack_lanes(spans)}
    assert lanes["a"] != lanes["b"] and lanes["c"] == lanes["a"]
