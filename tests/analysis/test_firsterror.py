"""Integration: the first error of a cascade leads the report, on real
failures: a backend that drops its first connection (the restart
scenario), and QEMU as a client with nothing listening (it exits)."""

import json
import re

import pytest

from conftest import chardev_parameters, run_cli

pytestmark = [pytest.mark.qemu, pytest.mark.usefixtures("no_leftovers")]


@pytest.mark.vhost
def test_a_dropped_connection_leads_with_its_request_and_first_line(tmp_path):
    out = tmp_path / "t.json"
    r = run_cli("trace", "--scenario", "vhost-user-restart", "--json", str(out))
    assert r.returncode == 0, r.stdout + r.stderr
    doc = json.loads(out.read_text())
    first = doc["vhost_user"]["rounds"][0]
    fe = doc["first_error"]
    assert first["result"] == "failed" and len(first["errors"]) >= 2
    assert (fe["round"], fe["request"]["name"]) == (1, first["failed_at"])
    assert fe["first_line"] == first["errors"][0]
    assert fe["consequences"] == first["errors"][1:]
    assert fe["frames"][0]["function"] == "vhost_user_write"
    assert fe["then"] and fe["injected"] is None
    # In the printed summary the first line comes before its consequences.
    text = r.stdout
    assert text.index(fe["first_line"]) < text.index(fe["consequences"][0])
    assert text.index("First error") < text.index("documented edges")


def test_qemu_as_a_client_with_nothing_listening_exits_first_line_and_finding(
        tmp_path, qemu_binary):
    out, sock = tmp_path / "t.json", str(tmp_path / "nobody.sock")
    r = run_cli("trace", "--json", str(out), "--no-backend", "--", qemu_binary,
                "-machine", "q35", "-m", "256M", "-nodefaults", "-display", "none", "-S",
                "-chardev", f"socket,id=chr0,path={sock}",
                "-netdev", "vhost-user,id=net0,chardev=chr0",
                "-device", "virtio-net-pci,netdev=net0")
    assert r.returncode == 1
    doc = json.loads(out.read_text())
    assert doc["outcome"]["state"] == "exited"
    fe = doc["first_error"]
    lines = [ln["line"] for ln in doc["qemu_stderr"]]
    assert fe["first_line"] == lines[0] and fe["request"] is None
    ids = [f["id"] for f in doc["findings"]]
    assert "nothing-listening" in ids and "memory-not-shared" in ids
    nothing = next(f for f in doc["findings"] if f["id"] == "nothing-listening")
    assert nothing["evidence"]["socket"] == sock
    assert nothing["evidence"]["qemu_line"] == fe["first_line"]
    # the retry it advises is one this QEMU takes
    advised = re.search(r"add (reconnect(?:-ms)?)=", nothing["change"])
    assert advised and advised.group(1) in chardev_parameters(qemu_binary), nothing["change"]


def test_a_retry_option_this_qemu_does_not_take_is_named_as_such(tmp_path, qemu_binary):
    """QEMU refuses the -chardev (QEMU 9.2 renamed reconnect=): its line
    names the socket, but it is not a client that found nobody."""
    takes = chardev_parameters(qemu_binary)
    refused = next((o for o in ("reconnect", "reconnect-ms") if o not in takes), None)
    if refused is None:
        pytest.skip("this QEMU takes both reconnect= and reconnect-ms=")
    out, sock = tmp_path / "t.json", str(tmp_path / "nobody.sock")
    r = run_cli("trace", "--json", str(out), "--no-backend", "--", qemu_binary,
                "-machine", "q35", "-nodefaults", "-display", "none", "-S",
                "-chardev", f"socket,id=chr0,path={sock},{refused}=10",
                "-netdev", "vhost-user,id=net0,chardev=chr0",
                "-device", "virtio-net-pci,netdev=net0")
    assert r.returncode == 1
    found = {f["id"]: f for f in json.loads(out.read_text())["findings"]}
    assert "nothing-listening" not in found, found
    renamed = found["reconnect-renamed"]
    assert renamed["evidence"]["file"] == refused
    other = ({"reconnect", "reconnect-ms"} - {refused}).pop()
    assert other in takes and f"write {other}=" in renamed["change"]


@pytest.mark.vhost
def test_the_html_report_shows_the_first_error(tmp_path):
    html = tmp_path / "r.html"
    r = run_cli("trace", "--cut-after", "GET_FEATURES", "--html", str(html),
                "--timeout", "60")
    assert r.returncode == 0, r.stdout + r.stderr
    text = html.read_text()
    assert '<section id="first-error">' in text and "fault injected" in text


def _round(n, chardev, result, connection):
    return {"round": n, "chardev": chardev, "result": result, "connection": connection,
            "failed_at": "GET_FEATURES" if result == "failed" else None, "errors": [],
            "messages": [{"seq": n, "name": "GET_FEATURES", "request": 1}]}


@pytest.mark.parametrize("fault_socket, injected", [("/a.sock", True), ("/b.sock", False)])
def test_with_several_chardevs_what_follows_and_the_cut_are_the_failed_ones(
        fault_socket, injected):
    """Pure: chardev a fails, b negotiates after it; 'then' is a's next round,
    and the relay's cut belongs to the failure only if it sat on a's socket."""
    from gdb_qemuinit.analysis.firsterror import first_error
    from gdb_qemuinit.model.trace import Outcome, Trace
    from gdb_qemuinit.qemu.cmdline import QemuCommandLine
    t = Trace(qemu={"argv": ["qemu", "-chardev", "socket,id=a,path=/a.sock,server=on",
                             "-chardev", "socket,id=b,path=/b.sock"]},
              outcome=Outcome(state="init-complete"), hits=[])
    t.extra["vhost_user"] = {"rounds": [_round(1, "a", "failed", 1),
                                        _round(2, "a", "negotiated", 2),
                                        _round(3, "b", "no messages", 3)]}
    t.extra["fault"] = {"socket": fault_socket,
                        "cut": {"connection": 1, "after": "GET_FEATURES"}}
    fe = first_error(t, QemuCommandLine.of_recorded(t.qemu.get("argv"))).to_json()
    assert fe["then"] == "QEMU went on: round 2 negotiated"
    assert (fe["injected"] is not None) is injected
