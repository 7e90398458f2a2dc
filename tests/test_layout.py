"""The package's layout: no module imports, directly or through others, a module that imports it,
counting imports inside functions (a circle there still ties the modules' meanings together)."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "drawart"


def imports_of(path: Path) -> set[str]:
    """The drawart modules that `path` imports anywhere in its code."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "drawart":
            if node.module == "drawart":
                found |= {alias.name for alias in node.names if (PACKAGE / f"{alias.name}.py").exists()}
            else:
                found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found |= {alias.name.split(".")[1] for alias in node.names if alias.name.startswith("drawart.")}
    return found - {path.stem}


def import_graph() -> dict[str, set[str]]:
    return {path.stem: imports_of(path) for path in PACKAGE.glob("*.py")}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each module that can reach itself, with the path back to it."""
    found = []
    for start in sorted(graph):
        paths = [[start]]
        seen = set()
        while paths:
            path = paths.pop()
            for nxt in sorted(graph.get(path[-1], ())):
                if nxt == start:
                    found.append(path + [start])
                elif nxt not in seen:
                    seen.add(nxt)
                    paths.append(path + [nxt])
    return found


def test_the_circle_finder_finds_a_circle():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [
        ["a", "b", "c", "a"],
        ["b", "c", "a", "b"],
        ["c", "a", "b", "c"],
    ]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_no_module_of_drawart_imports_itself_through_others():
    graph = import_graph()
    assert graph["api"] >= {"train", "export"}  # the graph sees imports inside functions
    assert circles(graph) == []
