"""The package's import graph: no cycle, and the answer to the programming questions (`pixelcnn`, `realnvp`,
`flows`) reads alone: it imports only shared infrastructure, never what goes beyond the assignment."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "asgn2"
ANSWER = {"pixelcnn", "realnvp", "flows"}
INFRASTRUCTURE = {"data", "randomness", "units", "intervals", "training", "runs", "checkpoints", "runtime"}


def imports(module: str) -> set[str]:
    """The package modules that `module` imports (relative imports, anywhere in the file)."""
    found = set()
    for node in ast.walk(ast.parse((PACKAGE / f"{module}.py").read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.add(node.module.split(".")[0])
            else:
                found.update(alias.name for alias in node.names)
    return found


def graph() -> dict[str, set[str]]:
    return {path.stem: imports(path.stem) for path in PACKAGE.glob("*.py")}


def reachable(edges: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for nxt in edges[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def test_the_import_graph_has_no_cycle():
    edges = graph()
    cycles = sorted(m for m in edges if m in reachable(edges, m))
    assert cycles == [], f"modules on an import cycle: {cycles}"


def test_the_answer_imports_nothing_that_goes_beyond_it():
    edges = graph()
    assert ANSWER | INFRASTRUCTURE <= set(edges)
    for module in sorted(ANSWER):
        beyond = reachable(edges, module) - ANSWER - INFRASTRUCTURE
        assert not beyond, f"{module} imports (directly or through others) {sorted(beyond)}"
    for module in sorted(INFRASTRUCTURE):
        assert reachable(edges, module) <= INFRASTRUCTURE, f"{module}: {sorted(reachable(edges, module))}"


def test_the_graph_is_read_as_python_reads_it():
    """The parser finds the imports it must (a check of the check)."""
    assert {"data", "runs", "training"} <= imports("pixelcnn")
    assert {"pixelcnn", "recogniser", "holes", "runs"} <= imports("conditional")
    assert "conditional" in imports("sampler")


def test_the_package_docstring_names_every_module():
    import asgn2

    modules = {path.stem for path in PACKAGE.glob("*.py")} - {"__init__", "__main__"}
    assert sorted(m for m in modules if f"`{m}`" not in asgn2.__doc__) == []
