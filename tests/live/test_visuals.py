"""Integration: the timeline, the sequence diagrams and the HTML report of
real runs (the seed's scenario with dpdk-testpmd, the restart, a hang), on
the real gdb and debug QEMU; the HTML opened in headless chromium."""

import json
import re
import xml.etree.ElementTree as ET

import pytest

import chromium
from conftest import run_cli, run_gdb
from gdb_qemuinit.analysis import timeline
from render.test_html import external_references, visible_rows
from render.test_timeline import check_chrome_trace

pytestmark = [pytest.mark.qemu, pytest.mark.vhost, pytest.mark.usefixtures("no_leftovers")]

SVG = "{http://www.w3.org/2000/svg}"
WAIT = "chardev wait: QEMU waits for the backend to connect"


def trace(tmp_path, *args, expect=0):
    files = {k: tmp_path / f"t.{k}" for k in ("json", "timeline", "html")}
    r = run_cli("trace", "--json", str(files["json"]), "--timeline", str(files["timeline"]),
                "--html", str(files["html"]), *args)
    assert "Traceback" not in r.stderr, r.stderr
    assert r.returncode == expect, r.stdout + r.stderr
    return (json.loads(files["json"].read_text()), json.loads(files["timeline"].read_text()),
            files["html"])


def us(t):
    return round(t * 1e6)


def check_against_hits(doc, tl):
    """The timeline's instants are the hits, in order; each stage span
    starts at its first hit and ends at the hit that ended it (or at the
    end of the run)."""
    hits = {h["seq"]: h for h in doc["hits"]}
    assert doc["clock"]["name"] == "CLOCK_MONOTONIC"
    assert doc["clock"]["stops"] == doc["qemu"]["breakpoint_stops"]
    times = [h["t"] for h in doc["hits"]]
    assert times == sorted(times) and doc["outcome"]["t"] >= times[-1]
    tracks = check_chrome_trace(tl)
    instants = [e for (pid, _), evs in sorted(tracks.items()) if pid == 2 for e in evs]
    assert sorted((e["args"]["seq"], e["ts"]) for e in instants) == \
        [(h["seq"], us(h["t"])) for h in doc["hits"]]
    spans = [e for e in tl["traceEvents"] if e["ph"] == "X" and e["cat"] == "stages"]
    assert spans
    for s in spans:
        start = hits[s["args"]["from_hit"]]
        assert s["ts"] == us(start["t"]) and s["args"]["from"] == start["function"]
        if "to_hit" in s["args"]:
            end = hits[s["args"]["to_hit"]]
            assert end["seq"] >= start["seq"] and s["ts"] + s["dur"] == us(end["t"])
        else:
            assert s["ts"] + s["dur"] == us(doc["outcome"]["t"])
    return spans


def first_hit_under(doc, function, after=0):
    return next(h for h in doc["hits"] if h["seq"] > after
                and any(f["function"] == function for f in h["frames"]))


def sequence(tmp_path, doc_path):
    out = tmp_path / "seq.svg"
    r = run_cli("report", str(doc_path), "--format", "sequence", "-o", str(out))
    assert r.returncode == 0, r.stderr
    root = ET.fromstring(out.read_bytes())
    return [s for s in root.iter(f"{SVG}svg") if s.get("class") == "sequence"]


def arrows(svg, kind):
    return [g for g in svg.iter(f"{SVG}g") if g.get("class") == f"arrow {kind}"]


def open_in_chromium(html, tmp_path, edges):
    assert external_references(html.read_text()) == []
    dom, console = chromium.dump_dom(html.as_uri(), str(tmp_path / "profile"))
    assert console == []
    assert len(visible_rows(dom)) == len(edges) > 0
    assert re.search(r'<div class="figure" id="graph"><svg', dom)
    return dom


def test_seed_scenario(tmp_path):
    doc, tl, html = trace(tmp_path)
    spans = check_against_hits(doc, tl)
    # The seed's run passes every stage data/timeline.toml names.
    assert {s["name"] for s in spans} == {st.name for st in timeline.load_stages()}
    # The chardev wait: from QEMU's first hit inside the accept to the
    # connection, which came after the backend started.
    (wait,) = [s for s in spans if s["name"] == WAIT]
    started = first_hit_under(doc, "tcp_chr_accept_server_sync")
    connected = first_hit_under(doc, "tcp_chr_connect")
    assert wait["ts"] == us(started["t"]) and wait["ts"] + wait["dur"] == us(connected["t"])
    backend = doc["backends"][0]["times"]
    assert backend["listening"] <= backend["started"] < connected["t"] < backend["stopped"]
    # The round runs from its first message to its last.
    (rnd,) = doc["vhost_user"]["rounds"]
    (span,) = [e for e in tl["traceEvents"] if e["ph"] == "X" and e["cat"] == rnd["netdev"]]
    hits = {h["seq"]: h for h in doc["hits"]}
    assert span["ts"] == us(hits[rnd["messages"][0]["seq"]]["t"])
    assert span["ts"] + span["dur"] >= us(hits[rnd["messages"][-1]["seq"]]["t"])
    # One diagram, one arrow per request and per reply.
    (diagram,) = sequence(tmp_path, tmp_path / "t.json")
    assert len(arrows(diagram, "request")) == len(rnd["messages"])
    assert len(arrows(diagram, "reply")) == sum("reply" in m for m in rnd["messages"]) > 0
    dom = open_in_chromium(html, tmp_path, doc["edges"])
    assert dom.count('class="sequence"') == 1


def test_restart_scenario(tmp_path):
    doc, tl, html = trace(tmp_path, "--scenario", "vhost-user-restart")
    check_against_hits(doc, tl)
    rounds = doc["vhost_user"]["rounds"]
    first = rounds[0]
    assert first["result"] == "failed" and first["errors"]
    # QEMU's error lines sit after the failed request on the stderr track.
    failed_at = first["messages"][-1]["seq"]
    lines = [e for e in tl["traceEvents"] if e.get("cat") == "stderr"
             and e["args"]["line"] in first["errors"]]
    assert len(lines) == len(first["errors"])
    assert all(e["args"]["written_after_hit"] >= failed_at for e in lines)
    assert all(e["ts"] >= us(doc["hits"][failed_at - 1]["t"]) for e in lines)
    times = doc["backends"][0]["times"]
    assert times["dropped"] <= times["started"]
    # A diagram per connection; one arrow per message.
    diagrams = sequence(tmp_path, tmp_path / "t.json")
    assert len(diagrams) == len({r["connection"] for r in rounds}) == 2
    for d in diagrams:
        mine = [r for r in rounds if f"connection {r['connection']}," in
                "".join(d.find(f"{SVG}text").itertext())]
        messages = [m for r in mine for m in r["messages"]]
        assert len(arrows(d, "request")) == len(messages)
        assert len(arrows(d, "reply")) == sum("reply" in m for m in messages)
    failures = [g for g in diagrams[0].iter(f"{SVG}g") if g.get("class") == "failure"]
    errors = [g for g in diagrams[0].iter(f"{SVG}g") if g.get("class") == "qemu-error"]
    assert len(failures) == 1 and len(errors) == len(first["errors"])
    open_in_chromium(html, tmp_path, doc["edges"])


def test_a_hang_and_a_diff_drawn(tmp_path):
    doc, tl, html = trace(tmp_path, "--scenario", "vhost-user-hang", "--timeout", "3",
                          expect=1)
    assert doc["outcome"]["state"] == "timeout"
    spans = check_against_hits(doc, tl)
    (wait,) = [s for s in spans if s["name"] == WAIT]
    assert wait["ts"] + wait["dur"] == us(doc["outcome"]["t"])      # never connected
    assert "to_hit" not in wait["args"]
    dom = open_in_chromium(html, tmp_path, doc["edges"])
    assert '<section id="hang">' in dom and doc["hang"]["function"] in dom
    # The same command line with its backend: the diff's pictures.
    other = tmp_path / "other"
    other.mkdir()
    good, _, _ = trace(other)
    svg, page = tmp_path / "diff.svg", tmp_path / "diff.html"
    r = run_cli("diff", str(tmp_path / "t.json"), str(other / "t.json"), "--json",
                "--svg", str(svg), "--html", str(page))
    assert r.returncode == 0, r.stderr
    changed = json.loads(r.stdout)["edges"]
    keys = {(e["from"], e["to"]) for e in good["edges"]}
    drawn = [e for e in changed if (e["from"], e["to"]) in keys]
    assert drawn
    root = ET.fromstring(svg.read_bytes())
    highlighted = [g for g in root.iter(f"{SVG}g") if g.get("class") == "edge"
                   and "changed: " in "".join(g.itertext())]
    assert len(highlighted) == len(drawn)
    assert external_references(page.read_text()) == []
    _, console = chromium.dump_dom(page.as_uri(), str(tmp_path / "p2"))
    assert console == []


def test_inside_gdb(tmp_path, qemu_argv):
    tl, html = tmp_path / "t.timeline", tmp_path / "t.html"
    r = run_gdb(qemu_argv, f"qinit trace --kill --quiet --timeline {tl} --html {html}")
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    doc = json.loads(tl.read_text())
    tracks = check_chrome_trace(doc)
    assert any(pid == 1 for pid, _ in tracks) and any(pid == 2 for pid, _ in tracks)
    assert all(pid not in (4, 5) for pid, _ in tracks)    # no stderr or backend inside gdb
    assert external_references(html.read_text()) == []
