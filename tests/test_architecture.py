"""The shape of the package: imports only go downward (import-linter, pyproject.toml), no import cycles, no
private names used across modules, each heavy dependency behind one door, no module too long without a reason."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import require_module

PACKAGE = Path(__file__).resolve().parents[1] / "musicforensics"
ROOT = PACKAGE.parent
#: Longest module (lines) that needs no word on why it stays one module.
MAX_LINES = 400
#: Marker a longer module's docstring carries, followed by the reason.
LONG_MARKER = "Why one module:"
#: Third-party packages that only the named modules may import (each heavy or optional dependency has one door).
DOORS = {
    "numba": ("musicforensics/spectral/kernels/",),
    "matplotlib": ("musicforensics/evidence/plot.py", "musicforensics/evidence/plot_eval.py"),
    "soundfile": ("musicforensics/io/audio.py",),
    "distributed": ("musicforensics/pipeline/dask_engine.py",),
    "typer": ("musicforensics/cli/",),
}


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        yield path, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _absolute(path: Path, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = _module_name(path).split(".")
    if path.name != "__init__.py":
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def test_layers_contract_of_pyproject_holds():
    require_module("importlinter")
    from importlinter.cli import lint_imports

    assert lint_imports(config_filename=str(ROOT / "pyproject.toml")) == 0


def test_no_import_cycles():
    graph: dict[str, set[str]] = {}
    names = {_module_name(p) for p, _ in _modules()}
    for path, tree in _modules():
        me = _module_name(path)
        deps = graph.setdefault(me, set())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                target = _absolute(path, node)
                for alias in node.names:
                    sub = f"{target}.{alias.name}"
                    deps.add(sub if sub in names else target)
            elif isinstance(node, ast.Import):
                deps.update(a.name for a in node.names)
        deps &= names
        deps.discard(me)
        # a package's own __init__ importing its submodules is how packages work, not a cycle
        graph[me] = {d for d in deps if not (me == d.rsplit(".", 1)[0] and path.name == "__init__.py")}
    # strongly connected components (Tarjan): any component of more than one module is a cycle
    index, low, on_stack, stack, cycles = {}, {}, set(), [], []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    assert not cycles, f"import cycles: {cycles}"


def test_no_private_names_across_modules():
    offences = []
    for path, tree in _modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                target = _absolute(path, node)
                if not target.startswith("musicforensics"):
                    continue
                for alias in node.names:
                    if alias.name.startswith("_") and not alias.name.startswith("__"):
                        offences.append(f"{path.relative_to(ROOT)}: from {target} import {alias.name}")
    assert not offences, "\n".join(offences)


def test_heavy_dependencies_have_one_door():
    offences = []
    for path, tree in _modules():
        rel = path.relative_to(ROOT).as_posix()
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else []
            for name in names:
                top = name.split(".")[0]
                if top in DOORS and not rel.startswith(DOORS[top]):
                    offences.append(f"{rel} imports {name}")
    assert not offences, "\n".join(offences)


def test_long_modules_say_why():
    offences = []
    for path, tree in _modules():
        lines = path.read_text(encoding="utf-8").count("\n")
        doc = ast.get_docstring(tree) or ""
        if lines > MAX_LINES and LONG_MARKER not in doc:
            offences.append(f"{path.relative_to(ROOT)}: {lines} lines and no '{LONG_MARKER}' in its docstring")
    assert not offences, "\n".join(offences)
