"""The package's shape, checked: layers import only downward, no module imports another in a
function (which hides a cycle), no import cycles, and the engines stay free of pandas.

The same layer rule is an import-linter contract in pyproject.toml (`lint-imports`, run by
.ci/run); this test needs nothing beyond the standard library, so it runs everywhere.
"""

from __future__ import annotations

import ast
import graphlib
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "sim"

#: top to bottom; a module may import its own layer or any layer below it
LAYERS = (
    ("sim.cli",),
    ("sim.serve",),
    ("sim.api",),
    ("sim.outputs",),
    ("sim.studies",),
    ("sim.engine",),
    ("sim.model",),
    ("sim.files",),
    ("sim.errors", "sim.version"),
)


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> int | None:
    for i, names in enumerate(LAYERS):
        if any(module == n or module.startswith(n + ".") for n in names):
            return i
    return None  # the package root (sim/__init__.py)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def project_imports(path: Path) -> tuple[set[str], list[tuple[int, str]]]:
    """(modules of sim imported at the top level, (line, module) imported in a function)."""
    top: set[str] = set()
    inner: list[tuple[int, str]] = []
    known = {module_name(p) for p in PACKAGE.rglob("*.py")}

    def resolve(node: ast.ImportFrom | ast.Import) -> list[str]:
        if isinstance(node, ast.Import):
            return [a.name for a in node.names if a.name.split(".")[0] == "sim"]
        base = node.module or ""
        if node.level or not base.startswith("sim"):
            return []
        # `from sim.x import y` imports sim.x, or the submodule sim.x.y when there is one
        return [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base
                for a in node.names]

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                continue  # annotations only: no import at run time
            nested = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if isinstance(child, ast.Import | ast.ImportFrom):
                for name in resolve(child):
                    if nested:
                        inner.append((child.lineno, name))
                    else:
                        top.add(name)
            visit(child, nested)

    visit(ast.parse(path.read_text(encoding="utf-8")), False)
    return top, inner


#: modules that import inside a function on purpose, so that `ccsim --help`, `validate` and
#: a refused file start in about a second rather than four: their deferred imports count as
#: edges below, so the cycle and layer checks still see them (nothing is hidden)
DEFERRED = {"sim/cli.py", "sim/engine/engines/__init__.py", "sim/serve/server.py"}


def graph() -> dict[str, set[str]]:
    edges = {}
    for p in sorted(PACKAGE.rglob("*.py")):
        top, inner = project_imports(p)
        deferred = p.relative_to(ROOT).as_posix() in DEFERRED
        edges[module_name(p)] = top | {name for _, name in inner} if deferred else top
    return edges


def test_every_module_is_in_a_layer() -> None:
    loose = [m for m in graph() if m != "sim" and layer_of(m) is None]
    assert not loose, f"modules outside every layer (add them to a layer folder): {loose}"


def test_layers_import_only_downward() -> None:
    upward = []
    for module, imports in graph().items():
        here = layer_of(module)
        for name in imports:
            there = layer_of(name)
            if here is not None and there is not None and there < here:
                upward.append(f"{module} imports {name}")
    assert not upward, "a lower layer imports an upper one:\n" + "\n".join(upward)


def test_no_module_imports_the_project_inside_a_function() -> None:
    hidden = [f"{p.relative_to(ROOT)}:{line} imports {name}"
              for p in sorted(PACKAGE.rglob("*.py")) for line, name in project_imports(p)[1]
              if p.relative_to(ROOT).as_posix() not in DEFERRED]
    assert not hidden, "imports inside functions hide cycles:\n" + "\n".join(hidden)


def test_there_are_no_import_cycles() -> None:
    edges = graph()
    # a package's __init__ is imported before its modules: an edge only where it imports one
    sorter = graphlib.TopologicalSorter({m: deps - {m} for m, deps in edges.items()})
    try:
        order = list(sorter.static_order())
    except graphlib.CycleError as exc:
        pytest.fail(f"import cycle: {' -> '.join(exc.args[1])}")
    assert set(order) >= set(edges)


def heavy_modules_loaded(module: str, heavy: tuple[str, ...]) -> str:
    """Which of `heavy` a fresh interpreter has loaded after importing `module` (a list as
    Python prints it): a fresh process, as a worker or the command line starts."""
    code = f"import sys, {module}; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True, timeout=60)
    return out.stdout.strip()


@pytest.mark.parametrize("module", ["sim.engine.run", "sim.engine.engines", "sim"])
def test_engine_imports_load_no_pandas(module: str) -> None:
    """Worker processes import the engine layer: it loads no pandas, matplotlib or SciPy's
    statistics and optimisers (numba itself imports SciPy's small core, for its low-level
    callbacks: about 8 ms)."""
    loaded = heavy_modules_loaded(module, ("pandas", "matplotlib", "scipy.stats",
                                           "scipy.optimize"))
    assert loaded == "[]", f"importing {module} loads {loaded}"


def test_the_command_line_starts_without_the_engine() -> None:
    """`ccsim --help`, `ccsim validate` and a refused file answer in about a second: the
    command line loads numba, pandas, SciPy and Matplotlib only in the command that needs
    them (about 3 s of imports before; measured with `time ccsim validate`)."""
    loaded = heavy_modules_loaded("sim.cli", ("numba", "pandas", "matplotlib", "scipy",
                                              "openpyxl", "simpy"))
    assert loaded == "[]", f"importing sim.cli loads {loaded}"


def test_the_public_api_is_what_the_readme_names() -> None:
    import sim

    for name in ("load_scenario", "run", "compare", "sweep", "goal_seek", "calibrate",
                 "brief"):
        assert name in sim.__all__ and callable(getattr(sim, name)), name
