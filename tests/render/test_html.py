"""The HTML report: self-contained (no external reference), and, in Debian's
headless chromium, rendered with no console message, its table filtered by
its own script, its graph and table on screen."""

import json
import re

import pytest

import chromium
from gdb_qemuinit.analysis import diff
from gdb_qemuinit.model import initpath
from gdb_qemuinit.render import html as render_html
from render.test_sequence import restart_trace
from analysis.test_timeline import seed_like

STATUSES = ("observed", "dispatch", "not-exercised", "absent")


@pytest.fixture(scope="module")
def path():
    return initpath.load()


def made_trace(path):
    """A trace with every documented edge, its statuses in turn, a
    negotiation, a hang and findings."""
    t = seed_like()
    t.extra.update(restart_trace().extra)
    t.extra["edges"] = [{"from": e.caller, "to": e.callee, "cluster": e.cluster,
                         "status": STATUSES[i % len(STATUSES)], "label": e.label,
                         "english": e.english, "via": [], "note": f"note <{i}> & more"}
                        for i, e in enumerate(path.edges)]
    t.extra["hang"] = {"function": "tcp_chr_accept_server_sync", "blocked_in": "poll",
                       "stage": "creating the chardev", "chain": "main -> qemu_init"}
    t.extra["findings"] = [{"severity": "warning", "text": "a finding's <text>"}]
    return t


EXTERNAL = [r"""\b(?:src|href|xlink:href|action|poster|data)\s*=\s*["']?\s*(?:https?:)?//""",
            r"@import", r"url\(\s*['\"]?(?!#)", r"<link\b", r"<iframe\b", r"<object\b",
            r"<script\b[^>]*\bsrc\s*="]


def external_references(html: str) -> list[str]:
    return [m.group(0) for pattern in EXTERNAL
            for m in re.finditer(pattern, html, re.IGNORECASE)]


def test_the_checker_finds_external_references():
    page = ('<link rel="stylesheet" href="https://x/y.css"><script src="//cdn/x.js">'
            '</script><style>@import "a.css"; b{background:url(x.png)}</style>'
            '<img src="http://x/y.png">')
    assert len(external_references(page)) >= 5


def test_the_report_is_self_contained(path):
    html = render_html.render(path, made_trace(path)).decode()
    assert external_references(html) == []
    assert "<!DOCTYPE" not in html[20:]           # graphviz's doctype (a DTD URL) is gone
    assert html.count("<tr data-cluster=") == len(path.edges)
    for section in ("graph", "table", "negotiation", "timeline", "hang", "findings", "run"):
        assert f'<section id="{section}">' in html, section
    assert "note &lt;3&gt; &amp; more" in html and "<3>" not in html     # escaped
    assert "a finding&#x27;s &lt;text&gt;" in html


def test_a_diff_page_highlights_the_changed_edges(path):
    a = made_trace(path)
    b = made_trace(path)
    changed = b.extra["edges"][0]
    changed["status"] = "absent"
    d = diff.diff(a, b)
    assert len(d["edges"]) == 1
    html = render_html.render_diff(path, a, b, d).decode()
    assert external_references(html) == []
    assert html.count("<tr><td>") == 1
    assert "changed: observed → absent" in html      # on the graph's edge


# ---------------------------------------------------------------- in chromium
@pytest.fixture(scope="module")
def browser():
    if chromium.binary() is None:
        pytest.fail("chromium missing: run scripts/setup.sh")


def test_console_lines_are_caught(tmp_path, browser):
    page = tmp_path / "broken.html"
    page.write_text("<!DOCTYPE html><p>x</p><script>undefinedFunction();</script>")
    _, console = chromium.dump_dom(page.as_uri(), str(tmp_path / "profile"))
    assert console, "a page with a script error logged nothing"


def write_report(path, tmp_path, extra_script=""):
    html = render_html.render(path, made_trace(path)).decode()
    if extra_script:
        html = html.replace("</body>", f"<script>{extra_script}</script></body>")
    page = tmp_path / "report.html"
    page.write_text(html, encoding="utf-8")
    return page


def visible_rows(dom: str) -> list[str]:
    rows = re.findall(r"<tr data-cluster=\"[^\"]*\" data-status=\"([^\"]*)\"( hidden=\"\")?", dom)
    return [status for status, hidden in rows if not hidden]


def test_it_renders_with_no_console_message_and_its_script_runs(path, tmp_path, browser):
    page = write_report(path, tmp_path)
    dom, console = chromium.dump_dom(page.as_uri(), str(tmp_path / "profile"))
    assert console == []
    assert len(visible_rows(dom)) == len(path.edges)
    assert f"{len(path.edges)} of {len(path.edges)} edges shown" in dom   # written by the script
    assert re.search(r'<div class="figure" id="graph"><svg', dom)
    assert dom.count('class="sequence"') == 2 and 'class="timeline"' in dom


def test_the_filter_follows_the_address(path, tmp_path, browser):
    page = write_report(path, tmp_path)
    dom, console = chromium.dump_dom(page.as_uri() + "#status=absent", str(tmp_path / "p"))
    assert console == []
    shown = visible_rows(dom)
    assert shown and set(shown) == {"absent"}
    assert len(shown) == sum(1 for i in range(len(path.edges)) if i % 4 == 3)


def test_the_filter_follows_the_selects(path, tmp_path, browser):
    cluster = path.edges[0].cluster
    drive = ("var c=document.getElementById('filter-cluster');c.value=%s;"
             "c.dispatchEvent(new Event('change'));"
             "var s=document.getElementById('filter-status');s.value='observed';"
             "s.dispatchEvent(new Event('change'));" % json.dumps(cluster))
    page = write_report(path, tmp_path, drive)
    dom, console = chromium.dump_dom(page.as_uri(), str(tmp_path / "profile"))
    assert console == []
    wanted = [i for i, e in enumerate(path.edges) if e.cluster == cluster and i % 4 == 0]
    assert len(visible_rows(dom)) == len(wanted) > 0


def test_the_screenshot_shows_the_graph_and_the_table(path, tmp_path, browser):
    # Where the graph and the table are laid out, as the page itself says.
    measure = ("function box(e){var r=e.getBoundingClientRect();"
               "return [Math.round(r.left),Math.round(r.top),Math.round(r.width),"
               "Math.round(r.height)];}"
               "document.body.setAttribute('data-layout',JSON.stringify({"
               "graph:box(document.querySelector('#graph svg')),"
               "table:box(document.getElementById('verdicts'))}));")
    page = write_report(path, tmp_path, measure)
    size = ("--window-size=1280,2600",)
    dom, console = chromium.run(page.as_uri(), str(tmp_path / "p1"), "--dump-dom",
                                "--hide-scrollbars", *size)
    assert console == []
    layout = json.loads(re.search(r"data-layout=\"([^\"]*)\"", dom).group(1)
                        .replace("&quot;", '"'))
    png = tmp_path / "shot.png"
    assert chromium.screenshot(page.as_uri(), str(tmp_path / "p2"), str(png), 1280, 2600) == []
    width, height, rows = chromium.read_png(str(png))
    assert (width, height) == (1280, 2600)
    graph, table = layout["graph"], layout["table"]
    assert graph[2] > 600 and graph[3] > 300, layout
    assert table[1] < height, "the table is not on the screenshot"
    # The graph: observed edges in green, and the not-exercised ones in grey.
    assert chromium.pixels_like(rows, graph, (0x1a, 0x7f, 0x37)) > 500
    assert chromium.pixels_like(rows, graph, (0x8c, 0x95, 0x9f)) > 200
    # The table: its cell borders, and status words in their colours.
    visible_table = (table[0], table[1], table[2], height - table[1])
    assert chromium.pixels_like(rows, visible_table, (0xd0, 0xd7, 0xde), 12) > 5000
    assert chromium.pixels_like(rows, visible_table, (0xcf, 0x22, 0x2e)) > 50   # absent
