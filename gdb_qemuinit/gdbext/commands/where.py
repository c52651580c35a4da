"""qinit where: a question about init, answered from a live QEMU."""

from __future__ import annotations

import gdb

from ... import options
from ...errors import QemuinitError
from ...gdbargs import complete_options, last_word
from .. import settings
from .base import GDB_TIMEOUT, QinitCommand, parse, show, user_errors


class QinitWhere(QinitCommand):
    """Answer a question about init from a live QEMU: where it happens, the chain
from main that led there, and the facts a developer wants.

{options}

  pci-config   where PCI config space is allocated and set up, per device:
               size and why, PCIe or not after realize, where the PCIe
               capability is added
  guest-features, memory-table, vring-kick
               past init: the guest (iPXE, bootindex=1) starting the NIC
  ...          'qinit where --list' shows every question

{devices}

At the prompt QEMU stays stopped at that answer so you can look around;
with --all every answer is collected and QEMU stops at the end of init;
--kill kills it there.  An object QEMU makes and frees again (QEMU 9.0+
builds one of each NIC model while the board is built) is marked throwaway,
listed after the others, and never the answer QEMU stops at.  Any function name
works as a question (qinit where vhost_dev_init)."""

    NAME = "qinit where"
    OPTIONS = ("question", "list", "all", "device", "where-json", "timeout", "kill", "quiet")
    EXTRAS = {"timeout": GDB_TIMEOUT}

    def help_source(self) -> str:
        return super().help_source().replace("{devices}", options.WHERE_DEVICES)

    def complete(self, text, word):
        from ...model import questions
        if last_word(text).startswith("-"):
            return complete_options(self.parser, text, word)
        return [n for n in questions.load_questions() if n.startswith(word or "")]

    @user_errors
    def invoke(self, arg, from_tty):
        from ...planning import recording
        from ...render import summary
        from ...analysis import where
        from ...model import questions
        from ...render import where as render_where
        from ...files import check_writable
        from ... import session
        from ...model.trace import save
        from ..recorder import record
        from ..starting import qemu_under_gdb
        opts = parse(self.parser, arg)
        if opts.list:
            gdb.write(questions.listing() + "\n")
            return
        if not opts.question:
            raise QemuinitError("usage: qinit where QUESTION|FUNCTION [--all] ... "
                               "('qinit where --list' shows the questions)")
        q = questions.resolve(opts.question)
        questions.check_device(q, opts.device)
        if opts.json:
            check_writable(opts.json)
        todo = recording.for_question(q, collect=opts.all, device=opts.device)
        phase = q.phase()
        qemu = qemu_under_gdb()
        session.refuse(phase, qemu.get("argv") or [], f"where {q.name}")
        trace = record(qemu, todo, opts.timeout or settings.phase_timeout(phase), opts.kill,
                       settings.lazy_libraries())
        missing = [fn for fn in q.stops if fn in trace.missing_symbols]
        if missing == q.stops:
            from ..symbols import names_near
            near = sorted({n for fn in missing for n in names_near(fn)})
            raise QemuinitError(f"no function {', '.join(missing)} in this QEMU"
                                + (f"; did you mean {', '.join(near)}?" if near else "")
                                + ("" if trace.debug_info else
                                   "\n" + summary.NO_DEBUG_INFO_HINT))
        res = where.result(q, trace)
        if opts.json:
            save(res, opts.json)
        show(render_where.format_result(res, opts.device, q) + "\n", opts.json,
             quiet=opts.quiet)
