"""Integration: --cut-after REQUEST with real dpdk-testpmd.  The relay cuts
the backend's first connection right after REQUEST; QEMU's round fails,
QEMU waits again (the seed's restart edge), testpmd reconnects and init
finishes."""

import json

import pytest

from conftest import run_cli

pytestmark = [pytest.mark.qemu, pytest.mark.vhost, pytest.mark.usefixtures("no_leftovers")]


@pytest.mark.parametrize("request_name, failed_at, step", [
    ("SET_OWNER", "GET_FEATURES", 3), ("GET_FEATURES", "GET_FEATURES", 1)])
def test_cutting_after_a_request_shows_the_restart(tmp_path, request_name, failed_at, step):
    out = tmp_path / "t.json"
    r = run_cli("trace", "--cut-after", request_name, "--json", str(out), "--timeout", "60")
    assert r.returncode == 0, r.stdout + r.stderr
    doc = json.loads(out.read_text())
    assert doc["fault"]["cut"]["after"] == request_name and doc["fault"]["connections"] >= 2
    rounds = doc["vhost_user"]["rounds"]
    first = rounds[0]
    assert (first["connection"], first["result"], first["failed_at"]) == (1, "failed", failed_at)
    names = [m["name"] for m in first["messages"]]
    cut_at = names.index(request_name)
    # Nothing QEMU sent after the cut reached testpmd; the request itself did.
    assert all(m.get("delivered") is False for m in first["messages"][cut_at + 1:])
    assert "delivered" not in first["messages"][cut_at]
    assert rounds[-1]["result"] == "negotiated" and rounds[-1]["connection"] == 2
    assert doc["vhost_user"]["backend_checks"][0]["requests_agree"]
    # The restart edge: QEMU waited again, and says why.
    waits = [e for e in doc["edges"] if e["to"] == "qemu_chr_fe_wait_connected"
             and e["status"] == "observed"]
    assert waits and any("failed at " + failed_at in (e.get("note") or "") for e in waits)
    fe = doc["first_error"]
    assert fe["round"] == 1 and fe["request"]["name"] == failed_at
    assert fe["request"]["step"] == step and fe["frames"]
    assert fe["first_line"] == first["errors"][0] and fe["consequences"] == first["errors"][1:]
    assert request_name in fe["injected"]
    assert "First error" in r.stdout and "fault injected" in r.stdout


def test_an_unknown_request_is_a_usage_error():
    r = run_cli("trace", "--cut-after", "NO_SUCH_REQUEST")
    assert r.returncode == 2 and "NO_SUCH_REQUEST" in r.stderr


def test_cut_after_without_a_backend_is_a_usage_error():
    r = run_cli("trace", "--cut-after", "SET_OWNER", "--no-backend")
    assert r.returncode == 2 and "--cut-after" in r.stderr
