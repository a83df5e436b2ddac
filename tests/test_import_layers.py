"""Module-level imports under pipeline/ and actors/ form no cycle; pipeline/ never imports ray."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("pipeline", "actors")


def _modules() -> dict[str, Path]:
    found = {}
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imports(path: Path, lazy: bool = True) -> list[str]:
    """Every absolute import in the file, lazy ones (inside functions) included unless `lazy`
    is False (then only the module's own top-level statements)."""
    names: list[str] = []
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree) if lazy else tree.body:
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names += [f"{node.module}.{a.name}" for a in node.names] + [node.module]
    return names


def _graph(lazy: bool = True) -> dict[str, set[str]]:
    mods = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in mods.items():
        edges: set[str] = set()
        for imp in _imports(path, lazy):
            # `from pkg import sub` depends on pkg.sub; a module's own ancestors are not edges.
            if imp in mods and not name.startswith(imp + ".") and imp != name:
                edges.add(imp)
        graph[name] = {e for e in edges if not any(o.startswith(e + ".") for o in edges)}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while (w := stack.pop()) != v:
                comp.append(w)
            if comp:
                found.append(sorted([v, *comp]))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_no_module_imports_in_a_cycle() -> None:
    assert _cycles(_graph()) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_pipeline_never_imports_ray() -> None:
    for name, path in _modules().items():
        if name.startswith("pipeline"):
            bad = [i for i in _imports(path) if i == "ray" or i.startswith("ray.")]
            assert not bad, f"{name} imports {bad}"


def test_pipeline_reaches_actors_only_from_the_cli() -> None:
    for name, path in _modules().items():
        if name.startswith("pipeline") and any(i.startswith("actors") for i in _imports(path)):
            assert name == "pipeline.cli", f"{name} imports actors/"


# The README's layers, lowest first; a module in none of them (metrics, report/, view/ ...) is
# not placed by the README and not checked here.
LAYERS = (
    ("pipeline.types", "pipeline.config", "pipeline.prices", "pipeline.errors", "pipeline.runlog"),
    ("pipeline.envs", "pipeline.agent", "pipeline.llm", "pipeline.prompts", "pipeline.memory",
     "pipeline.sim"),
    ("pipeline.orchestrate",),
    ("actors",),
    ("pipeline.cli", "pipeline.memory.cli"),
)  # fmt: skip


def _layer(module: str) -> int | None:
    found = None
    for i, prefixes in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            found = i  # the last match: pipeline.memory.cli is CLI, not memory
    return found


def test_module_level_imports_follow_the_readme_layers() -> None:
    # Lazy imports may reach up (the README names them); module-level ones never do, and the
    # core imports nothing outside the core.
    up = []
    for name, deps in _graph(lazy=False).items():
        here = _layer(name)
        for dep in deps:
            there = _layer(dep)
            if (here == 0 and there != 0) or (None not in (here, there) and there > here):
                up.append(f"{name} -> {dep}")
    assert up == []
