"""Export: the documented graph in the notes' style, corrected by a real run,
rendered by graphviz's dot."""

import json
import re
import subprocess
from pathlib import Path

import pytest

from conftest import run_cli, run_gdb
from gdb_qemuinit.model import initpath
from gdb_qemuinit.notes import exporter as path_export
from gdb_qemuinit.model.trace import load

pytestmark = [pytest.mark.qemu, pytest.mark.usefixtures("no_leftovers")]

DATA = Path(__file__).parent.parent / "data"


@pytest.fixture
def user_trace(tmp_path, qemu_argv):
    out = tmp_path / "t.json"
    r = run_cli("trace", "--json", str(out), "--", *qemu_argv)
    assert r.returncode == 0, r.stderr
    return out


def dot_renders(text: str) -> str:
    r = subprocess.run(["dot", "-Tsvg"], input=text, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0 and "<svg" in r.stdout, r.stderr
    return r.stdout


def test_dot_export_keeps_clusters_labels_and_corrects_the_notes(user_trace, tmp_path,
                                                                  qemu_argv):
    out = tmp_path / "notes.dot"
    r = run_cli("path", "export", str(user_trace), "--format", "dot", "-o", str(out))
    assert r.returncode == 0, r.stderr
    text = out.read_text()
    svg = dot_renders(text)
    doc = json.loads(user_trace.read_text())
    title = text.split("\n")[1]
    assert doc["qemu"]["version"] in title and "-netdev user,id=n0" in title
    for c in initpath.load().clusters:
        if c.boxed:
            assert f'subgraph "cluster_{c.id}"' in text
            assert f"label={json.dumps(c.label, ensure_ascii=False)};" in text
    assert "创建chardev 并等待连接" in svg
    # a dispatch point names what served it
    assert re.search(r'"net_client_init1" -> "net_client_init_fun\[netdev->type\]" \[.*'
                     r'label="= net_init_slirp\(\)"', text)
    # frames the notes skip are drawn: net_client_init between net_init_netdev and net_client_init1
    assert re.search(r'"net_init_netdev" -> "via\d+:net_client_init" -> "net_client_init1"', text)
    # an edge not exercised is kept and marked
    assert re.search(r'"chardev_init_func" -> "qemu_chr_new_from_opts" \[.*not exercised', text)
    # ti->class_init is served while QEMU chooses the machine: drawn from there
    moved = [ln for ln in text.splitlines() if "moved: QEMU calls it from" in ln]
    assert moved and all("not type_initialize_interface" in ln for ln in moved)
    assert any("select_machine" in ln or "-> type_initialize" in ln for ln in moved)


def test_markdown_export_is_notes_with_a_graphviz_block_and_a_checked_listing(user_trace,
                                                                              tmp_path):
    out = tmp_path / "notes.md"
    r = run_cli("path", "export", str(user_trace), "--format", "md", "-o", str(out))
    assert r.returncode == 0, r.stderr
    text = out.read_text()
    assert text.startswith("# QEMU ") and "Command line: `" in text
    block = text.split("```graphviz\n", 1)[1].split("\n```", 1)[0]
    dot_renders(block)
    listing = text.split("Call listing (checked):", 1)[1]
    served = "->ti->instance_init\t/* = virtio_net_pci_instance_init() */"
    assert "\n                " + served in listing
    assert re.search(r"->module_object_class_by_name\t/\* .*not exercised \*/", listing)


def test_export_of_imported_notes_in_their_own_clusters(user_trace, tmp_path):
    toml = tmp_path / "own.toml"
    r = run_cli("path", "import", str(DATA / "netdev-notes.dot"), "-o", str(toml))
    assert r.returncode == 0, r.stderr
    path = initpath.load(toml)
    from gdb_qemuinit.analysis import annotate as analysis
    trace = analysis.annotate(path, load(user_trace))
    text = path_export.export(path, trace, "dot")
    dot_renders(text)
    assert 'subgraph "cluster_netdev" {' in text and 'label="网络后端 netdev";' in text
    # the notes put ti->instance_init under object_new; QEMU calls it from
    # object_init_with_type
    assert re.search(r'"object_init_with_type" -> "virtio_net_pci_instance_init" \[.*moved', text)


def test_export_goes_to_stdout_without_a_file_and_a_failed_write_is_one_line(
        user_trace, tmp_path):
    out = tmp_path / "notes.md"
    assert run_cli("path", "export", str(user_trace), "--format", "md",
                   "-o", str(out)).returncode == 0
    r = run_cli("path", "export", str(user_trace), "--format", "md")
    assert r.returncode == 0 and r.stdout == out.read_text(encoding="utf-8")
    into_a_file = tmp_path / "notes.md" / "x.md"
    r = run_cli("path", "export", str(user_trace), "-o", str(into_a_file))
    assert r.returncode == 2 and r.stderr.startswith(f"qemuinit: cannot write {into_a_file}")
    assert r.stderr.count("\n") == 1


def test_at_the_gdb_prompt_export_after_a_trace(qemu_argv, tmp_path):
    out = tmp_path / "n.dot"
    r = run_gdb(qemu_argv, "qinit path export", "qinit trace --kill --quiet",
                f"qinit path export --format dot -o {out}", "help qinit path export")
    assert "no trace yet" in r.stderr
    assert "Traceback" not in r.stdout + r.stderr
    dot_renders(out.read_text())
    assert "in the notes' style" in r.stdout
