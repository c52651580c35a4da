"""Bad input by the thousand (hypothesis): every reader of what a user
hands qemuinit either reads it or says what is wrong as the project's own
user error (QemuinitError, one line); no other exception, no traceback, no
half-written output.  The readers: QEMU's command line (keyval and JSON
options, odd bytes), notes (DOT, call listings, markdown around them), a
saved trace (what `report` and `diff` read, analysed and rendered), the
documented-path file and the questions.  How many inputs each reader got
is printed at the end of the run."""

from __future__ import annotations

import json
import os
import string
import subprocess
import sys
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gdb_qemuinit.errors import QemuinitError

ROOT = Path(__file__).resolve().parent.parent
SEED_TRACE = ROOT / "tests" / "data" / "traces" / "cut-after-set-owner.json"

# reader -> inputs tried (printed by conftest's terminal summary)
INPUTS: Counter = Counter()

# No example database: a run leaves no files behind, and CI starts afresh.
MANY = settings(max_examples=2000, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SOME = settings(max_examples=1000, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def read_or_user_error(reader: str, call, *args):
    """Run a reader: fine if it reads, fine if it raises a user error whose
    message is one line; anything else fails the test (hypothesis shrinks it)."""
    INPUTS[reader] += 1
    try:
        return call(*args)
    except QemuinitError as exc:
        assert str(exc).strip(), f"{reader}: a user error with no message"
        return None


# ---------------------------------------------------------------- QEMU's command line
# Text with what trips readers: separators, escapes, quotes, non-ASCII, and
# bytes that are no UTF-8 (argv as Python sees it: surrogate escapes).
odd_bytes = st.binary(max_size=12).map(os.fsdecode)
odd_text = st.one_of(
    st.text(alphabet=string.printable + "é中\x00\udcff,=\\\"'{}[]:", max_size=20),
    odd_bytes)
KEYS = ["type", "id", "chardev", "path", "server", "wait", "reconnect", "reconnect-ms",
        "queues", "netdev", "driver", "bus", "mq", "vectors", "share", "size", "memdev",
        "qom-type", "memory-backend", "model", "addr", "vhost", "x"]
key = st.one_of(st.sampled_from(KEYS), odd_text)
value = st.one_of(st.sampled_from(["on", "off", "true", "false", "yes", "no", "0", "4",
                                   "-1", "1e400", "vhost-user", "socket", "user",
                                   "virtio-net-pci", "chr0", "net0", ""]), odd_text)
keyval = st.lists(st.one_of(st.builds(lambda k, v: f"{k}={v}", key, value), value),
                  max_size=8).map(",".join)
json_scalar = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                        value)
json_value = st.recursive(json_scalar, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(key, inner, max_size=5)), max_leaves=12)
json_option = st.one_of(st.dictionaries(key, json_value, max_size=8).map(json.dumps),
                        st.builds(lambda s: "{" + s, odd_text))     # broken JSON
OPTIONS = ["-netdev", "-chardev", "-device", "-object", "-nic", "-net", "-machine", "-m",
           "-numa", "-S", "-nodefaults", "-display", "--", "-", "-qmp"]
argument = st.one_of(st.sampled_from(OPTIONS), keyval, json_option, odd_text)


@MANY
@given(st.lists(argument, max_size=14))
def test_the_command_line_model_reads_any_argv_or_says_why(args):
    from gdb_qemuinit.qemu.cmdline import QemuCommandLine
    cl = read_or_user_error("QEMU command line", QemuCommandLine.parse,
                            ["qemu-system-x86_64", *args])
    if cl is not None:      # what the plan, findings and hang ask of it
        cl.vhost_user()
        cl.facts()
        cl.satisfies(["netdev:vhost-user"])
        from gdb_qemuinit.analysis import findings
        findings.from_command_line(cl)


# ---------------------------------------------------------------- notes
DOT_WORDS = ["digraph", "graph", "subgraph", "cluster_a", "{", "}", "->", "--", "[", "]",
             "label", "=", ";", ",", '"x -> y"', '"a', "node", "edge", "rankdir=LR",
             "//", "/*", "*/", "\n", "a", "b::c", "ops->x", "1", "中文", "<b>", "#"]
dot_text = st.lists(st.one_of(st.sampled_from(DOT_WORDS), odd_text), max_size=40).map(" ".join)
LISTING_WORDS = ["->", "  ", "    ", "\t", "\n", "main", "qemu_init()", "(", ")", "//",
                 "1.", "ti->class_init", "net_client_init_fun[", "]", "中文", ":"]
listing_text = st.lists(st.one_of(st.sampled_from(LISTING_WORDS), odd_text),
                        max_size=40).map("".join)


@MANY
@given(dot_text)
def test_dot_notes_are_read_or_refused(text):
    from gdb_qemuinit.notes import dot
    read_or_user_error("DOT notes", dot.parse, text)


@MANY
@given(listing_text)
def test_call_listings_are_read_or_refused(text):
    from gdb_qemuinit.notes import listing
    read_or_user_error("call listings", listing.parse, text)


@SOME
@given(st.lists(st.one_of(st.just("```dot\n"), st.just("```graphviz\n"), st.just("```\n"),
                          dot_text, listing_text, st.just("\n")), max_size=10).map("".join))
def test_markdown_notes_are_imported_or_refused(text):
    from gdb_qemuinit.notes import importer, reader

    def import_and_build(t):
        notes = reader.parse(t, "notes.md")
        return importer.build(notes, None)
    read_or_user_error("markdown notes (import)", import_and_build, text)


# ---------------------------------------------------------------- saved traces
SEED = SEED_TRACE.read_text(encoding="utf-8")


class Damaged(dict):
    """A damaged copy of the seed trace, shown by what was done to it."""

    def __init__(self, doc: dict, done: list[str]):
        super().__init__(doc)
        self.done = done

    def __repr__(self):
        return f"<seed trace, {'; '.join(self.done) or 'unchanged'}>"


@st.composite
def mutated_trace(draw) -> Damaged:
    """The seed trace with a few values replaced, keys removed or lists cut,
    anywhere in it."""
    doc = json.loads(SEED)
    done = []
    for _ in range(draw(st.integers(1, 4))):
        parent, k, where = None, None, []
        node = doc
        for _ in range(draw(st.integers(0, 6))):
            if isinstance(node, dict) and node:
                k2 = draw(st.sampled_from(sorted(node)))
            elif isinstance(node, list) and node:
                k2 = draw(st.integers(0, len(node) - 1))
            else:
                break
            parent, k, node = node, k2, node[k2]
            where.append(str(k2))
        if parent is None:
            continue
        what = draw(st.sampled_from(["replace", "remove", "cut"]))
        at = ".".join(where)
        if what == "remove":
            del parent[k]
            done.append(f"removed {at}")
        elif what == "cut" and isinstance(node, list):
            n = draw(st.integers(0, len(node)))
            parent[k] = node[:n]
            done.append(f"cut {at} to {n}")
        else:
            parent[k] = draw(json_value)
            done.append(f"{at} = {parent[k]!r}"[:200])
    return Damaged(doc, done)


def _analyse_and_render(path, text_a: str, text_b: str, tmp: Path):
    from gdb_qemuinit.analysis import annotate
    from gdb_qemuinit.analysis import diff as tracediff
    from gdb_qemuinit.model.trace import load
    from gdb_qemuinit.render import outputs
    from gdb_qemuinit.render.diff import format_diff
    a_file, b_file = tmp / "a.json", tmp / "b.json"
    a_file.write_text(text_a)
    b_file.write_text(text_b)
    a = annotate.annotate(path, load(a_file))
    b = annotate.annotate(path, load(b_file))
    for fmt in ("text", "json", "timeline", "sequence"):
        outputs.render(path, a, fmt)
    format_diff(tracediff.diff(a, b))


@SOME
@given(mutated_trace())
def test_a_damaged_trace_is_reported_and_diffed_or_refused(tmp_path_factory, doc):
    from gdb_qemuinit.model import initpath
    tmp = tmp_path_factory.mktemp("t")
    read_or_user_error("saved traces (report, diff)", _analyse_and_render, initpath.load(),
                       json.dumps(doc), SEED, tmp)


@SOME
@given(st.one_of(st.binary(max_size=200), st.builds(lambda n: SEED[:n].encode(),
                                                      st.integers(0, len(SEED)))))
def test_a_trace_file_that_is_no_json_is_refused(tmp_path_factory, raw):
    from gdb_qemuinit.model.trace import load
    f = tmp_path_factory.mktemp("t") / "t.json"
    f.write_bytes(raw)
    read_or_user_error("trace files (bytes)", load, f)


def test_report_of_a_damaged_trace_writes_no_partial_output(tmp_path):
    """From the shell: a trace cut short is refused in one line, and the
    output file it was to be rendered into is left as it was."""
    bad = tmp_path / "bad.json"
    bad.write_text(SEED[: len(SEED) // 2])
    out = tmp_path / "out.txt"
    out.write_text("before")
    r = subprocess.run([sys.executable, "-m", "gdb_qemuinit.cli", "report", str(bad),
                        "-o", str(out)], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert out.read_text() == "before" and sorted(os.listdir(tmp_path)) == ["bad.json",
                                                                             "out.txt"]


# ---------------------------------------------------------------- data files
PATH_TEXT = (ROOT / "gdb_qemuinit" / "data" / "init-path.toml").read_text(encoding="utf-8")


class Edited(str):
    """A data file's text, shown by the edits made to it."""
    edits: list[str] = []

    def __repr__(self):
        return f"<data file, {'; '.join(self.edits)}>"


@st.composite
def damaged_toml(draw, text: str) -> str:
    """A data file with a few of its lines replaced, dropped or doubled."""
    lines = text.splitlines()
    edits = []
    for _ in range(draw(st.integers(1, 5))):
        i = draw(st.integers(0, len(lines) - 1))
        what = draw(st.sampled_from(["replace", "drop", "double", "edit"]))
        edits.append(f"{what} line {i + 1}")
        if what == "replace":
            lines[i] = draw(st.one_of(odd_text, st.builds(
                lambda k, v: f"{k} = {v}", st.sampled_from(
                    ["from", "to", "label", "step", "cluster", "id", "served_by", "through",
                     "needs", "hot", "chain", "stops", "key", "answer", "fields"]),
                st.one_of(st.just('"x"'), st.just("[1, 2]"), st.just("{a = 1}"),
                          st.just("3"), st.just("true"), st.just('["a -> b"]')))))
        elif what == "drop":
            del lines[i]
        elif what == "double":
            lines.insert(i, lines[i])
        else:
            cut = draw(st.integers(0, len(lines[i])))
            lines[i] = lines[i][:cut] + draw(odd_text) + lines[i][cut:]
        if what != "drop" and i < len(lines):
            edits[-1] += f": {lines[i][:80]!r}"
        if not lines:
            break
    out = Edited("\n".join(lines))
    out.edits = edits
    return out


@SOME
@given(damaged_toml(PATH_TEXT))
def test_a_damaged_documented_path_file_is_read_or_refused(text):
    from gdb_qemuinit.model import initpath

    def load_and_use(t):
        p = initpath.parse(t)
        p.functions()
        return p
    read_or_user_error("documented-path files", load_and_use, text)


field_spec = st.one_of(st.sampled_from(["device", "id", "x"]), json_value,
                       st.dictionaries(st.sampled_from(["read", "as", "format", "needs",
                                                        "first", "if_true", "text"]),
                                       st.one_of(json_value, st.just("virtio_features")),
                                       max_size=4))
question_table = st.fixed_dictionaries({}, optional={
    "stops": st.one_of(st.lists(st.sampled_from(["f", "g", "pci_config_alloc"]), max_size=3),
                       json_value),
    "summary": json_value, "key": json_value, "answer": st.sampled_from(["f", "g", "h"]),
    "within": json_value, "none": json_value, "devices": json_value,
    "until": st.one_of(st.sampled_from(["device-start", "main-loop", "boot"]), json_value),
    "read": st.dictionaries(st.sampled_from(["f", "g"]), st.dictionaries(
        st.sampled_from(["device", "id", "pci_dev"]), json_value, max_size=3), max_size=2),
    "fields": st.dictionaries(st.sampled_from(["f", "g", "h"]), st.dictionaries(
        st.sampled_from(["device", "id", "bdf"]), field_spec, max_size=3), max_size=2),
    "final_fields": st.dictionaries(st.sampled_from(["express", "y"]), field_spec, max_size=2),
    "show": st.lists(st.one_of(json_value, st.dictionaries(
        st.sampled_from(["text", "if_set", "words"]),
        st.one_of(json_value, st.just("x: {device} [({id})]"), st.just("{bdf >> 3}"),
                  st.just("{a:02x"), st.just("{}")), max_size=3)), max_size=3),
    "hide": json_value})


@MANY
@given(st.one_of(question_table, json_value))
def test_a_mistyped_question_is_read_or_refused(table):
    from gdb_qemuinit.analysis import where
    from gdb_qemuinit.model import questions
    from gdb_qemuinit.render import where as render_where

    def load_and_answer(t):
        q = questions.question_from("q", t)
        res = where.result(q, _HAND_TRACE)
        return render_where.format_result(res, None, q)
    read_or_user_error("questions", load_and_answer, table)


def _hand_trace():
    from conftest import DEVICE, stack_hit, trace_of
    h = stack_hit(1, *DEVICE[:-1], "f")
    h.reads = {"device": "virtio-net-pci", "id": "nic0", "pci_dev": 7}
    return trace_of([h])


_HAND_TRACE = _hand_trace()


# ---------------------------------------------------------------- QMP command files
qmp_command = st.fixed_dictionaries(
    {"execute": st.one_of(st.sampled_from(["chardev-add", "netdev_add", "device_add",
                                           "qmp_capabilities", "device_del"]), json_value)},
    optional={"arguments": st.one_of(
        st.fixed_dictionaries({}, optional={
            "id": value, "type": value, "chardev": value, "queues": json_value,
            "backend": st.fixed_dictionaries({}, optional={
                "type": st.one_of(st.just("socket"), value),
                "data": st.fixed_dictionaries({}, optional={
                    "server": json_value, "addr": st.fixed_dictionaries({}, optional={
                        "type": st.one_of(st.just("unix"), value),
                        "data": st.dictionaries(st.just("path"), json_value)})})})}),
        json_value), "x": json_value})
qmp_line = st.one_of(qmp_command.map(json.dumps), json_value.map(json.dumps), odd_text,
                     st.just(""), st.just("# a comment"))


@MANY
@given(st.lists(qmp_line, max_size=6).map("\n".join))
def test_a_qmp_command_file_is_read_or_refused(text):
    """trace --qmp FILE: the commands, the backends they need planned from
    them, or a one-line user error."""
    from gdb_qemuinit.qemu import qmpfile
    from gdb_qemuinit.qemu.cmdline import QemuCommandLine
    from gdb_qemuinit.runner import qmp_options

    def read(t):
        commands = qmpfile.with_dir(qmpfile.parse(t), "/tmp/d")
        return QemuCommandLine.parse(["qemu"] + qmp_options(commands))
    read_or_user_error("QMP command files", read, text)
