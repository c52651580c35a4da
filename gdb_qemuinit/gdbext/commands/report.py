"""qinit report: the whole report of this session's last trace."""

from __future__ import annotations

import gdb

from .. import settings
from .base import QinitCommand, parse, user_errors
from .lasttrace import heading, last


class QinitReport(QinitCommand):
    """Show the report of the last 'qinit trace': every documented edge with
its verdict and evidence, grouped by the seed's clusters.

{options}

Coloured on a terminal unless 'set qinit color off' or --no-color."""

    NAME = "qinit report"
    OPTIONS = ("no-color",)

    @user_errors
    def invoke(self, arg, from_tty):
        from ...render import text as render_text
        opts = parse(self.parser, arg)
        path, trace = last()
        color = settings.color_wanted() and not opts.no_color
        gdb.write(f"qinit report: {heading()}\n")
        gdb.write(render_text.render(path, trace, color=color))
