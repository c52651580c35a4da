"""The package's rooms import in one direction only, read from the modules'
own import statements (every one, also those inside functions)."""

import ast
from pathlib import Path

import gdb_qemuinit

PACKAGE = Path(gdb_qemuinit.__file__).parent
LOWEST = {"gdb_qemuinit.errors", "gdb_qemuinit.datafile", "gdb_qemuinit.files"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _nodes(tree: ast.AST, runtime_only: bool):
    """Every node; with `runtime_only`, not those under `if TYPE_CHECKING:`."""
    todo = [tree]
    while todo:
        node = todo.pop()
        yield node
        if (runtime_only and isinstance(node, ast.If)
                and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"):
            todo.extend(node.orelse)
            continue
        todo.extend(ast.iter_child_nodes(node))


def imports_of(path: Path, runtime_only: bool = False) -> set[str]:
    """The absolute names of the modules `path` imports (at run time only:
    not those for type annotations)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in _nodes(ast.parse(path.read_text(encoding="utf-8")), runtime_only):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            parts = package.split(".")
            base = ".".join(parts[:len(parts) - node.level + 1]) if node.level else ""
            if node.module:
                found.add(f"{base}.{node.module}" if base else node.module)
            else:                               # `from . import x`: x is a module
                found.update(f"{base}.{a.name}" for a in node.names)
    return found


def modules(runtime_only: bool = False) -> dict[str, set[str]]:
    return {module_name(p): imports_of(p, runtime_only) for p in sorted(PACKAGE.rglob("*.py"))}


def inside(name: str, *rooms: str) -> bool:
    return any(name == f"gdb_qemuinit.{r}" or name.startswith(f"gdb_qemuinit.{r}.")
               for r in rooms)


def test_the_imports_are_read_as_absolute_module_names():
    mods = modules()
    assert "gdb_qemuinit.analysis.verify" in mods["gdb_qemuinit.analysis.annotate"]
    assert "gdb_qemuinit.model.trace" in mods["gdb_qemuinit.analysis.annotate"]
    assert "gdb" in mods["gdb_qemuinit.gdbext.recorder"]
    assert "gdb_qemuinit.render.hang" in mods["gdb_qemuinit.subcommands"]     # inside a function


def test_model_imports_nothing_of_the_rooms_after_it():
    for name, imported in modules().items():
        if inside(name, "model"):
            ours = {m for m in imported if m.startswith("gdb_qemuinit")}
            later = {m for m in ours if not inside(m, "model") and m not in LOWEST}
            assert not later, f"{name} imports {sorted(later)}"


def test_analysis_never_imports_the_renderers():
    for name, imported in modules().items():
        if inside(name, "analysis"):
            assert not [m for m in imported if inside(m, "render")], name


def test_only_the_gdb_adapter_imports_gdb():
    for name, imported in modules().items():
        if not inside(name, "gdbext"):
            assert not [m for m in imported if m == "gdb" or m.startswith("gdb.")], name


def test_the_plan_and_the_recorder_run_without_the_analysis():
    """Data flows one way: what to plant and its execution need no analysis
    or renderer (type annotations aside)."""
    mods = modules(runtime_only=True)
    recording = ["gdb_qemuinit.gdbext.recorder", "gdb_qemuinit.gdbext.qemurun",
                 "gdb_qemuinit.gdbext.notes_facts"]
    for name in [n for n in mods if inside(n, "planning")] + recording:
        assert not [m for m in mods[name] if inside(m, "analysis", "render")], name
    # and the annotations are told apart from run-time imports
    assert "gdb_qemuinit.model.spec" in modules()["gdb_qemuinit.planning.recording"]
    assert "gdb_qemuinit.model.spec" not in modules(runtime_only=True)[
        "gdb_qemuinit.planning.recording"]


def test_planning_imports_nothing_of_the_analysis_even_for_annotations():
    """Its inputs (the vhost-user spec, the questions) are model/'s."""
    for name, imported in modules().items():
        if inside(name, "planning"):
            assert not [m for m in imported if inside(m, "analysis", "render")], name
