"""qinit path, qinit path import, qinit path export: the documented path
as a call tree, made from a developer's notes, and written back from a trace."""

from __future__ import annotations

import gdb

from ...gdbargs import complete_options, last_word
from .. import settings
from .base import QinitCommand, parse, show, user_errors, write_or_show
from .lasttrace import last


class QinitPath(QinitCommand):
    """Print the documented init path as a call tree: what 'qinit trace' checks.

{options}

Also 'qinit path import NOTES ...' and 'qinit path export ...': see their help.

CLUSTER is one of the seed's clusters (netdev_init, chardev_init, ...); Tab
completes them.  The questions named after a cluster have its name
(qinit where vhost_user_negotiation); - and _ are alike in both."""

    NAME = "qinit path"
    OPTIONS = ("cluster",)
    PREFIX = True

    def complete(self, text, word):
        from ...model import initpath
        return [c for c in initpath.load().cluster_ids() if c.startswith(word or "")]

    @user_errors
    def invoke(self, arg, from_tty):
        from ...model import initpath
        from ...render import text as render_text
        cluster = parse(self.parser, arg).cluster
        path = initpath.load()
        gdb.write(render_text.path_tree(path, path.check_cluster(cluster)))


class QinitPathImport(QinitCommand):
    """Turn a developer's call-graph notes into a documented-path file, checked
against the program gdb was given.

{options}

The path file (init-path.toml's format) goes to FILE, or is printed.

Unless --no-run, QEMU runs once to qemu_main_loop with counting breakpoints:
names it has no function for are listed; function pointers (ti->class_init,
net_client_init_fun[...], ops->x, a member the caller calls through a
pointer) become dispatch points, served by what the run saw called there or
marked 'fill_in'; functions called N times or more (--hot, default 10) are
hot.  --json writes what gdb found."""

    NAME = "qinit path import"
    OPTIONS = ("notes", "path-output", "hot", "facts-json", "timeout", "kill", "quiet",
               "no-run")

    def __init__(self):
        from ...notes import HOT_THRESHOLD
        self.EXTRAS = {"hot": {"note": f"default {HOT_THRESHOLD}"}}
        super().__init__()

    def complete(self, text, word):
        if last_word(text).startswith("-"):
            return complete_options(self.parser, text, word)
        return gdb.COMPLETE_FILENAME

    @user_errors
    def invoke(self, arg, from_tty):
        from ...notes import importer as path_import
        from ...notes import reader as notes_reader
        from ...files import check_writable, to_stdout
        from ...model.trace import save
        opts = parse(self.parser, arg)
        hot = opts.hot or path_import.HOT_THRESHOLD
        notes = notes_reader.read(opts.notes)
        to_stdout((opts.output, opts.json))        # at most one '-'
        for out in (opts.output, opts.json):
            if out:
                check_writable(out)
        facts = None
        if not opts.no_run:
            from ..notes_facts import collect
            from ..starting import qemu_under_gdb
            facts = collect(qemu_under_gdb(), path_import.gdb_request(notes), keep=hot,
                            timeout=opts.timeout or settings.timeout(), kill=opts.kill)
            if opts.json:
                save(facts, opts.json)
        result = path_import.build(notes, facts, hot)
        write_or_show(opts.output, result.toml, opts.quiet)
        if opts.output:
            show(path_import.summary(result, opts.output) + "\n", opts.output, opts.json,
                 quiet=opts.quiet)


class QinitPathExport(QinitCommand):
    """Write the last trace's documented graph back in the notes' style,
corrected by what QEMU did.

{options}

Same clusters and labels as the documented path; an edge seen through
frames the notes skip is drawn through them, a dispatch point names what
served it, an edge QEMU took from elsewhere is drawn from there, edges the
run did not exercise are kept and marked; the QEMU version and command line
are in the title."""

    NAME = "qinit path export"
    OPTIONS = ("notes-format", "output")
    EXTRAS = {"notes_format": {"choices": ("dot", "md"), "default": "dot"}}

    @user_errors
    def invoke(self, arg, from_tty):
        from ...notes import exporter as path_export
        opts = parse(self.parser, arg)
        path, trace = last()
        write_or_show(opts.output, path_export.export(path, trace, opts.format))
