"""The records of what went wrong: a hang, the first error, the findings
and `qemuinit hang`'s document go through them unchanged, key for key."""

import json
from pathlib import Path

from gdb_qemuinit.analysis import annotate, blocking, findings, hang
from gdb_qemuinit.model.problems import (OTHER, FirstError, Hang, HangReport, findings_of,
                                         first_error_of, hang_of)
from gdb_qemuinit.model import initpath
from gdb_qemuinit.model.records import ABSENT
from gdb_qemuinit.model.spec import load_spec
from gdb_qemuinit.model.trace import Frame, load
from gdb_qemuinit.qemu.cmdline import QemuCommandLine

from vhost_hits import make

TRACES = Path(__file__).parent.parent / "data" / "traces"
WAIT = ["tcp_chr_accept_server_sync", "tcp_chr_wait_connected", "qemu_chr_fe_wait_connected",
        "net_vhost_user_init", "main"]
ARGV = ["q", "-chardev", "socket,id=chr0,path=/run/vu.sock,server=on,wait=off",
        "-netdev", "vhost-user,id=n0,chardev=chr0", "-m", "1G"]


def same(a: dict, b: dict) -> bool:
    return json.dumps(a) == json.dumps(b)


def hung():
    frames = [Frame(f, "chardev/char-socket.c", 1) for f in WAIT]
    return make([], state="timeout", frames=frames, argv=ARGV,
                reads={"qemu_chr_fe_wait_connected": {"chardev": "chr0"}})


def test_a_hang_round_trips_and_leaves_out_what_it_cannot_say(path):
    t = annotate.annotate(path, hung())
    doc = t.extra["hang"]
    assert same(Hang.from_json(doc).to_json(), doc)
    h = hang_of(t)
    assert h.socket == "/run/vu.sock" and h.wait is False and h.hanging is ABSENT
    assert "hanging" not in doc and "request" not in doc
    other = blocking.describe_wait(load_spec(), initpath.load(), [Frame("poll", None, None)], {},
                                   None)
    assert other.kind == OTHER and list(other.to_json()) == [
        "blocked_in", "chain", "monitor", "kind", "stage"]


def test_the_first_error_of_a_cut_connection_round_trips(path):
    t = annotate.annotate(path, load(TRACES / "cut-after-set-owner.json"))
    doc = t.extra["first_error"]
    assert same(FirstError.from_json(doc).to_json(), doc)
    fe = first_error_of(t)
    assert fe.request.name and fe.frames and isinstance(fe.frames[0], Frame)
    assert "stage" not in doc and fe.stage is ABSENT


def test_an_exit_without_a_round_has_a_stage_and_no_connection():
    fe = FirstError(stage="net_init_clients", first_line="x")
    assert list(fe.to_json()) == ["round", "request", "call", "chain", "frames", "stage",
                                  "first_line", "consequences"]


def test_findings_round_trip_with_their_id(path):
    t = annotate.annotate(path, make([], argv=ARGV))
    doc = t.extra["findings"]
    assert [f.to_json() for f in findings_of(t)] == doc
    assert findings_of(t)[0].ident == doc[0]["id"] == "memory-not-shared"
    cl = QemuCommandLine.parse(ARGV)
    assert list(findings.from_command_line(cl)[0].to_json()) == ["id", "seen", "change",
                                                                 "evidence"]


def test_the_hang_document_round_trips():
    frames = [Frame(f, "chardev/char-socket.c", 1) for f in WAIT]
    threads = [{"num": 1, "lwp": 7, "name": "qemu", "frames": frames,
                "reads": {"qemu_chr_fe_wait_connected": {"chardev": "nope"}}}]
    doc = hang.diagnose(7, ["q"], threads, attached=True)
    assert list(doc) == ["schema", "pid", "argv", "attached", "hang", "threads", "peer",
                         "findings"]
    assert same(HangReport.from_json(doc).to_json(), doc)
    doc["enums"] = {"requests": {"1": "GET_FEATURES"}}      # as the gdb command adds them
    assert same(HangReport.from_json(doc).to_json(), doc)
