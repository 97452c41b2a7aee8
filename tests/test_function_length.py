"""No function longer than 60 lines in the tooling, the tests or the template (no render needed).

A longer function is split where a name explains a part: the next maintainer reads names.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ROOTS = ("shortstack", "gowire", "tests", "template")
LIMIT = 60


def sources(suffix: str) -> Iterator[tuple[Path, str]]:
    """Each `suffix` file (or `suffix.jinja`) under ROOTS, but the injection fixtures."""
    for root in ROOTS:
        for path in sorted((REPO / root).rglob("*")):
            name = path.name.removesuffix(".jinja")
            if not name.endswith(suffix) or not path.is_file() or "fixtures" in path.parts:
                continue
            yield path.relative_to(REPO), path.read_text()


def without_jinja(text: str) -> str:
    """Jinja expressions as a name, statements gone (one line each): parseable Python."""
    return re.sub(r"\{%.*?%\}", "", re.sub(r"\{\{.*?\}\}", "x", text))


def long_python_functions(path: Path, text: str) -> Iterator[str]:
    code = without_jinja(text) if path.suffix == ".jinja" else text
    tree = ast.parse(code, filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            assert node.end_lineno is not None
            length = node.end_lineno - node.lineno + 1
            if length > LIMIT:
                yield f"{path}:{node.lineno} {node.name} ({length} lines)"


def long_go_functions(path: Path, text: str) -> Iterator[str]:
    """gofmt puts a top-level func's opening line and its closing brace at column 0."""
    start: tuple[int, str] | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith("func ") and line.endswith("{"):
            start = (number, line.removesuffix("{").strip())
        elif line == "}" and start is not None:
            length = number - start[0] + 1
            if length > LIMIT:
                yield f"{path}:{start[0]} {start[1]} ({length} lines)"
            start = None


def test_the_checks_see_a_long_function() -> None:
    def python(lines: int) -> str:  # a function of `lines` lines, its def included
        return "def f():\n" + "".join(f"    x = {n}\n" for n in range(lines - 1))

    def go(lines: int) -> str:
        return "func f() {\n" + "".join(f"\tx = {n}\n" for n in range(lines - 2)) + "}\n"

    assert list(long_python_functions(Path("a.py"), python(LIMIT + 1)))
    assert not list(long_python_functions(Path("a.py"), python(LIMIT)))
    assert list(long_go_functions(Path("a.go"), go(LIMIT + 1)))
    assert not list(long_go_functions(Path("a.go"), go(LIMIT)))


def test_no_python_function_is_longer_than_60_lines() -> None:
    found = [hit for path, text in sources(".py") for hit in long_python_functions(path, text)]
    assert not found, "split these where a name explains a part:\n" + "\n".join(found)


def test_no_go_function_is_longer_than_60_lines() -> None:
    found = [hit for path, text in sources(".go") for hit in long_go_functions(path, text)]
    assert not found, "split these where a name explains a part:\n" + "\n".join(found)
