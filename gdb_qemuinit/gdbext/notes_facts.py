"""What a QEMU binary says about the names in a developer's notes, from one
short counting run under gdb (qinit path import):

- each name: a function (in QEMU or which shared library), a table of
  function pointers (its entries, read from the binary), or neither;
- how many times each function ran before qemu_main_loop, the order they
  first ran in, and the functions above their first hits;
- what each documented caller called through a pointer: at its indirect
  call instructions whose source line names the callee's member
  (`hdev->vhost_ops->vhost_backend_init(...)`), the target is read from the
  register or memory operand and named.

Breakpoints only count and read (no stepping, no calls into QEMU).
"""

from __future__ import annotations

import re

import gdb

from ..model.trace import Outcome
from ..notes.importer import on_path
from ..planning.plan import MAIN_LOOP
from ..qemu.sources import SourceRoots
from .breakpoints import function_instructions
from .frames import function_names
from .qemurun import QemuRun
from .quiet import NoStderr, PendingOn, Quiet


class _Counts:
    seq = 0         # hits of every counting breakpoint so far, for first-hit order


class CountingBreakpoint(gdb.Breakpoint):
    """Counts; for the first `keep` hits notes the functions above."""

    def __init__(self, function: str, keep: int):
        super().__init__(function, type=gdb.BP_BREAKPOINT, internal=True)
        self.silent = True
        self.function = function
        self.count = 0
        self.first = 0
        self.keep = keep
        self.above: set[str] = set()

    def stop(self):
        self.count += 1
        _Counts.seq += 1
        if self.count == 1:
            self.first = _Counts.seq
        if self.count <= self.keep:
            self.above.update(n for n in function_names()[1:] if n)
        return False


class IndirectCallBreakpoint(gdb.Breakpoint):
    """At a `call *OPERAND` instruction: which function it calls."""

    def __init__(self, address: int, caller: str, callee: str, operand: str,
                 at: str, text: str, documented: frozenset[str] = frozenset(),
                 edges: frozenset[tuple[str, str]] = frozenset()):
        super().__init__(f"*{address:#x}", type=gdb.BP_BREAKPOINT, internal=True)
        self.silent = True
        self.function = caller
        self.callee = callee
        self.operand = operand
        self.at = at
        self.text = text
        self.targets: dict[str, int] = {}
        # For each target, how far up the notes' edges its callers went
        # (notes/importer.on_path): which target serves the dispatch on the
        # documented path, not elsewhere.
        self.depth: dict[str, int] = {}
        self.documented = documented
        self.edges = edges

    def stop(self):
        try:
            target = int(gdb.parse_and_eval(self.operand)) & (2 ** 64 - 1)
            name = function_at(target)
        except (gdb.error, ValueError, OverflowError):
            name = None
        if name:
            self.targets[name] = self.targets.get(name, 0) + 1
            depth = on_path(self.edges, self._documented_above())
            if depth > self.depth.get(name, -1):
                self.depth[name] = depth
        return False

    def _documented_above(self) -> list[str]:
        return [n for n in function_names() if n in self.documented]


def function_at(address: int) -> str | None:
    try:
        block = gdb.block_for_pc(address)
    except RuntimeError:
        block = None
    while block is not None and block.function is None:
        block = block.superblock
    if block is not None:
        return block.function.name
    # No debug info there (a library): the ELF symbol, if the address is its start.
    text = gdb.execute(f"info symbol {address:#x}", to_string=True)
    m = re.match(r"(\S+) in section ", text)
    return m.group(1) if m else None


# AT&T operands of an indirect call: *%reg, *disp(%base), *disp(%base,%index,scale)
_REG = re.compile(r"^\*%(\w+)$")
_MEM = re.compile(r"^\*(-?0x[0-9a-f]+|-?\d+)?\((%\w+)?(?:,(%\w+)(?:,(\d))?)?\)$")


def operand_expression(operand: str) -> str | None:
    """A gdb expression for the address an indirect call jumps to."""
    operand = operand.split("#")[0].strip()
    m = _REG.match(operand)
    if m:
        return f"${m.group(1)}"
    m = _MEM.match(operand)
    if m and m.group(2) != "%rip":
        disp, base, index, scale = m.groups()
        parts = [f"${base[1:]}"] if base else []
        if index:
            parts.append(f"${index[1:]} * {scale or 1}")
        if disp:
            parts.append(disp)
        return f"*(unsigned long *)({' + '.join(parts) or '0'})"
    return None


_SOURCE: dict[str, list[str]] = {}
_ROOTS = SourceRoots()


def source_line(path: str, line: int) -> str:
    if path not in _SOURCE:
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                _SOURCE[path] = f.read().split("\n")
        except OSError:
            _SOURCE[path] = []
    lines = _SOURCE[path]
    if not 0 < line <= len(lines):
        return ""
    text = " ".join(s.strip() for s in lines[line - 1:line + 2])
    return text[:text.index(";") + 1] if ";" in text else text


def indirect_calls(bp: gdb.Breakpoint):
    """(address, operand, "file:line", source text) of each indirect call in
    the function `bp` is on."""
    try:
        for insn in function_instructions(bp):
            words = insn["asm"].split(None, 1)
            if len(words) == 2 and words[0] in ("call", "callq") and words[1].startswith("*"):
                sal = gdb.find_pc_line(insn["addr"])
                if sal.symtab is None:
                    continue
                full = sal.symtab.fullname()
                yield (insn["addr"], words[1], f"{_ROOTS.relative(full)}:{sal.line}",
                       source_line(full, sal.line))
    except (gdb.error, AttributeError, IndexError, RuntimeError):
        return


def _table(name: str) -> list[str] | None:
    """The functions a table of function pointers holds, from the binary."""
    base = name.split("[")[0]
    if not re.fullmatch(r"\w+", base):
        return None
    try:
        sym = gdb.lookup_global_symbol(base) or gdb.lookup_static_symbol(base)
    except gdb.error:
        return None
    if sym is None or sym.addr_class == gdb.SYMBOL_LOC_BLOCK:
        return None
    t = sym.type.strip_typedefs()
    if t.code != gdb.TYPE_CODE_ARRAY:
        return None
    elem = t.target().strip_typedefs()
    if elem.code != gdb.TYPE_CODE_PTR or elem.target().strip_typedefs().code != gdb.TYPE_CODE_FUNC:
        return None
    value = sym.value()
    low, high = t.range()
    out = []
    for i in range(low, high + 1):
        address = int(value[i])
        if address:
            fn = function_at(address)
            if fn:
                out.append(fn)
    return out


def _member_called(text: str, member: str) -> bool:
    m = re.escape(member)
    return bool(re.search(rf"(->|\.)\s*{m}\s*\(|\b{m}\s*\[|\(\s*\*\s*{m}\s*\)", text))


class CountingRecorder:
    """The recorder of a counting run (qemurun.RunRecorder): its breakpoints
    count and note callers instead of taking backtraces."""

    def __init__(self, names: list[str], edges: list[list[str]], keep: int):
        self.names = names
        self.edges = edges
        self.keep = keep
        self.breakpoints: list[gdb.Breakpoint] = []
        self.counting: dict[str, CountingBreakpoint] = {}
        self.sites: list[IndirectCallBreakpoint] = []
        self.libraries: dict[str, str] = {}
        self.tables: dict[str, list[str]] = {}
        _Counts.seq = 0

    def at_main(self) -> None:
        pass

    def before_resume(self) -> None:
        pass

    def on_stop(self, breakpoints: list) -> Outcome | None:
        return None     # counting breakpoints never stop QEMU

    def plant(self, qemu: dict) -> None:
        with PendingOn(), Quiet(), NoStderr():
            for name in self.names:
                if not re.fullmatch(r"[A-Za-z_]\w*", name):
                    continue        # ti->class_init: not a function name
                bp = CountingBreakpoint(name, self.keep)
                if bp.pending:
                    bp.delete()
                    continue
                self.counting[name] = bp
                self.breakpoints.append(bp)
                lib = gdb.solib_name(bp.locations[0].address) if bp.locations else None
                if lib:
                    self.libraries[name] = lib
            for name in self.names:
                if name not in self.counting:
                    table = _table(name)
                    if table:
                        self.tables[name] = table
            documented = frozenset(self.names)
            edges = frozenset((a, b) for a, b, _ in self.edges)
            for caller, callee, member in self.edges:
                bp = self.counting.get(caller)
                if bp is None or self.libraries.get(caller):
                    continue
                for address, operand, at, text in indirect_calls(bp):
                    expr = operand_expression(operand)
                    if expr and _member_called(text, member):
                        site = IndirectCallBreakpoint(address, caller, callee, expr, at,
                                                      text, documented, edges)
                        self.sites.append(site)
                        self.breakpoints.append(site)

    def facts(self, qemu: dict, outcome: Outcome) -> dict:
        functions = {}
        for name in self.names:
            bp = self.counting.get(name)
            if bp is not None:
                functions[name] = {"count": bp.count, "first": bp.first,
                                   "above": sorted(bp.above),
                                   "library": self.libraries.get(name)}
        missing = [n for n in self.names
                   if n not in self.counting and n not in self.tables]
        return {"schema": "qemuinit.notes-facts/1", "qemu": qemu,
                "outcome": outcome.to_json(), "functions": functions,
                "missing": missing, "tables": self.tables,
                "sites": [{"caller": s.function, "callee": s.callee, "at": s.at,
                           "text": s.text, "targets": s.targets, "depth": s.depth}
                          for s in self.sites]}


def collect(qemu: dict, request: dict, keep: int, timeout: float | None,
            kill: bool) -> dict:
    """Run the program gdb was given (or continue it) to qemu_main_loop with
    counting breakpoints on the names of `request` (path_import.gdb_request);
    the run ends as every qinit run does (qemurun.QemuRun.finish)."""
    run = QemuRun(MAIN_LOOP, timeout, lazy_libraries=False)
    counter = CountingRecorder(request["names"], request["edges"], keep)
    return run.carry_out(qemu, counter, kill,
                         lambda outcome: counter.facts(run.qemu_with_run(qemu), outcome))
