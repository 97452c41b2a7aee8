"""errutil's modules depend on each other one way: no import cycle, each importable first."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from ._subject import errutil
from .helpers import subprocess_env

PACKAGE = Path(errutil.__file__).parent
MODULES = sorted(path.stem for path in PACKAGE.glob("*.py") if path.stem != "__init__")


def _is_type_checking(test: ast.expr) -> bool:
    return isinstance(test, ast.Name) and test.id == "TYPE_CHECKING"


def _module_level(body: list[ast.stmt]) -> list[ast.ImportFrom]:
    """Relative imports run when the module is imported: not those in functions, classes or
    ``if TYPE_CHECKING:`` blocks (which mypy reads and Python skips)."""
    found: list[ast.ImportFrom] = []
    for node in body:
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            found.append(node)
        elif isinstance(node, ast.If) and not _is_type_checking(node.test):
            found += _module_level(node.body) + _module_level(node.orelse)
        elif isinstance(node, ast.Try):
            found += _module_level(node.body)
            for handler in node.handlers:
                found += _module_level(handler.body)
    return found


def import_graph() -> dict[str, set[str]]:
    """errutil module -> the errutil modules it imports when it is imported."""
    graph: dict[str, set[str]] = {}
    for name in MODULES:
        tree = ast.parse((PACKAGE / f"{name}.py").read_text(encoding="utf-8"))
        targets: set[str] = set()
        for node in _module_level(tree.body):
            if node.module:  # from .x import y
                targets.add(node.module.partition(".")[0])
            else:  # from . import x
                targets.update(alias.name for alias in node.names)
        graph[name] = targets & set(MODULES)
    return graph


def cycle_in(graph: dict[str, set[str]]) -> list[str]:
    """One cycle of *graph* (its modules in order, the first repeated last), or []."""
    state: dict[str, str] = {}  # "open" while on the path, "done" after

    def visit(node: str, path: list[str]) -> list[str]:
        state[node] = "open"
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                return [*path[path.index(target) :], target]
            if target not in state:
                found = visit(target, [*path, target])
                if found:
                    return found
        state[node] = "done"
        return []

    for start in sorted(graph):
        if start not in state:
            found = visit(start, [start])
            if found:
                return found
    return []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycle_in({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle_in({"a": {"b"}, "b": set(), "c": {"a", "b"}}) == []


def test_errutil_has_no_import_cycle() -> None:
    graph = import_graph()
    assert graph["report"] >= {"_types", "classify"}  # the graph is really read
    assert cycle_in(graph) == []


def test_the_records_are_at_the_bottom_and_classification_needs_no_settings() -> None:
    graph = import_graph()
    assert graph["render"] == set()  # pure functions over the records
    assert graph["_types"] == {"render"}
    assert graph["classify"] == set()  # app packages are passed in, not read from _config
    assert "classify" not in graph["_config"]


IMPORT_EACH = """
import importlib, sys
package = sys.argv[1]
failed = []
for name in sys.argv[2:]:
    for loaded in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
        del sys.modules[loaded]
    try:
        importlib.import_module(package + "." + name)
    except Exception as error:
        failed.append(f"{name}: {type(error).__name__}: {error}")
print("\\n".join(failed))
"""


def test_each_module_imports_on_its_own_in_a_fresh_interpreter() -> None:
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_EACH, errutil.__name__, *MODULES],
        capture_output=True,
        text=True,
        env=subprocess_env(),
        check=True,
        timeout=60,
    )
    assert done.stdout.strip() == "", done.stdout
    assert len(MODULES) >= 15
