"""Find where errutil goes in an existing repository: its package, tests folder and entry points."""

from __future__ import annotations

import ast
import configparser
import keyword
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "ConsoleScript",
    "InjectError",
    "RepoLayout",
    "detect_layout",
    "is_test_file",
    "oldest_python",
]

# Folders at the repository root that never hold the application package.
_NOT_PACKAGES = frozenset(
    {"tests", "test", "docs", "doc", "examples", "scripts", "benchmarks", "build", "dist", "site"}
)
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Root-level modules that are tooling, not the application.
_TOOLING_FILES = frozenset(
    {
        *("setup.py", "noxfile.py", "fabfile.py", "tasks.py", "conftest.py"),
        *("gunicorn.conf.py", "gunicorn_config.py", "docs_conf.py"),
    }
)
_TEST_DIRS = frozenset({"tests", "test", "testing"})


def is_test_file(relative: str) -> bool:
    """A test module (`test_*.py`, `*_test.py`, `tests.py`, `conftest.py`) or one in a tests folder.

    Test files are never entry points: a `__main__` block there runs a test runner, not the app.
    """
    parts = relative.split("/")
    name = parts[-1]
    return (
        name.startswith("test_")
        or name.endswith("_test.py")
        or name in ("tests.py", "conftest.py")
        or any(part in _TEST_DIRS for part in parts[:-1])
    )


class InjectError(Exception):
    """A refusal with a message for the user; nothing has been written when it is raised."""


@dataclass(frozen=True)
class ConsoleScript:
    """One declared entry point (`name = "module:function"`) and where it was declared."""

    name: str
    module: str
    function: str
    source: str = "pyproject.toml [project.scripts]"

    @property
    def target(self) -> str:
        return f"{self.module}:{self.function}"


@dataclass(frozen=True)
class RepoLayout:
    """Where things are in the target repository (paths relative to its root, '/'-separated)."""

    root: Path
    package_name: str
    package_path: str
    tests_dir: str
    scripts: tuple[ConsoleScript, ...]
    # Every top-level package and root module of the repository (paths): the app's own code.
    app_paths: tuple[str, ...] = ()
    # Where the repository shows that its tests run under pytest ("" when nowhere).
    pytest_evidence: str = ""
    # The shortest line length its formatters and linters allow (88, black's, when none says).
    line_length: int = 88

    @property
    def app_packages(self) -> tuple[str, ...]:
        """The module names whose frames are the app's: every package and root module."""
        names = [
            Path(path).stem if path.endswith(".py") else Path(path).name for path in self.app_paths
        ]
        return tuple(dict.fromkeys(n for n in [self.package_name, *names] if _IDENTIFIER.match(n)))

    @property
    def package_dir(self) -> Path:
        return self.root / self.package_path

    def module_file(self, module: str) -> Path | None:
        """The file that defines `module` (dotted): next to the package, under src/ or at the
        root; None when the repository has no such file."""
        parts = module.split(".")
        for base in dict.fromkeys([self.package_dir.parent, self.root / "src", self.root]):
            for candidate in (
                base.joinpath(*parts).with_suffix(".py"),
                base.joinpath(*parts, "__init__.py"),
            ):
                if candidate.is_file():
                    return candidate
        return None


def _read_pyproject(root: Path) -> dict[str, object]:
    path = root / "pyproject.toml"
    if not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise InjectError(f"{path} is not valid TOML: {error}") from error


def _table(data: object, *keys: str) -> dict[str, object]:
    for key in keys:
        if not isinstance(data, dict):
            return {}
        data = data.get(key, {})
    return data if isinstance(data, dict) else {}


def _script(name: str, value: object, source: str) -> ConsoleScript:
    """One entry point from its declared value: `module:function [extras]`, else kept as is."""
    if isinstance(value, dict):  # poetry's table form: {callable = "module:function", ...}
        value = value.get("callable", value.get("reference", value))
    if isinstance(value, str) and ":" in value:
        module, _, function = value.partition(":")
        function = function.split("[", 1)[0]  # `module:function [extra1, extra2]`
        return ConsoleScript(name.strip(), module.strip(), function.strip(), source)
    # Not a "module:function" string (a poetry file script, ...): kept so it is reported.
    return ConsoleScript(name.strip(), str(value), "", source)


def _pyproject_scripts(pyproject: dict[str, object]) -> list[ConsoleScript]:
    found: list[ConsoleScript] = []
    tables = (
        (("tool", "poetry", "scripts"), "[tool.poetry.scripts]"),
        (("project", "scripts"), "[project.scripts]"),
        (("project", "gui-scripts"), "[project.gui-scripts]"),
        (("project", "entry-points", "console_scripts"), "[project.entry-points.console_scripts]"),
        (("project", "entry-points", "gui_scripts"), "[project.entry-points.gui_scripts]"),
    )
    for keys, source in tables:
        for name, value in _table(pyproject, *keys).items():
            found.append(_script(name, value, f"pyproject.toml {source}"))
    return found


def _setup_cfg_scripts(root: Path) -> list[ConsoleScript]:
    path = root / "setup.cfg"
    if not path.is_file():
        return []
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(path.read_text(encoding="utf-8"))
    except (configparser.Error, UnicodeDecodeError) as error:
        raise InjectError(f"{path} could not be read: {error}") from error
    if not parser.has_section("options.entry_points"):
        return []
    found = []
    for group in ("console_scripts", "gui_scripts"):
        for line in parser.get("options.entry_points", group, fallback="").splitlines():
            name, sep, value = line.partition("=")
            if sep and name.strip():
                found.append(
                    _script(name, value.strip(), f"setup.cfg [options.entry_points] {group}")
                )
    return found


def _setup_py_scripts(root: Path) -> list[ConsoleScript]:
    """`setup(entry_points={"console_scripts": ["name = module:function"]})`, read, never run."""
    path = root / "setup.py"
    if not path.is_file():
        return []
    try:
        tree = ast.parse(path.read_bytes())
    except (SyntaxError, ValueError):
        return []
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        for keyword_arg in node.keywords:
            if keyword_arg.arg != "entry_points" or not isinstance(keyword_arg.value, ast.Dict):
                continue
            for key, value in zip(keyword_arg.value.keys, keyword_arg.value.values, strict=True):
                if not (
                    isinstance(key, ast.Constant)
                    and key.value in ("console_scripts", "gui_scripts")
                ):
                    continue
                items = value.elts if isinstance(value, ast.List | ast.Tuple) else [value]
                for item in items:
                    if isinstance(item, ast.Constant) and isinstance(item.value, str):
                        name, sep, target = item.value.partition("=")
                        if sep:
                            found.append(_script(name, target.strip(), f"setup.py {key.value}"))
    return found


def _console_scripts(root: Path, pyproject: dict[str, object]) -> tuple[ConsoleScript, ...]:
    """Every declared entry point, in every packaging format, each name once."""
    found: dict[str, ConsoleScript] = {}
    for script in (
        _pyproject_scripts(pyproject) + _setup_cfg_scripts(root) + _setup_py_scripts(root)
    ):
        found.setdefault(f"{script.name}={script.target}", script)
    return tuple(found.values())


def _package_dirs(root: Path) -> list[str]:
    """Top-level packages of the repository: `src/<name>/` first, then `<name>/` at the root."""
    found = []
    for base in (root / "src", root):
        if not base.is_dir():
            continue
        for child in sorted(base.iterdir()):
            if (
                child.is_dir()
                and (child / "__init__.py").is_file()
                and _IDENTIFIER.match(child.name)
                and child.name not in _NOT_PACKAGES
            ):
                found.append(child.relative_to(root).as_posix())
        if found:
            return found
    return found


def _app_paths(root: Path) -> tuple[str, ...]:
    """Top-level packages under src/ and at the root, and the root's own modules (not tests)."""
    found = []
    for base in (root / "src", root):
        if not base.is_dir():
            continue
        for child in sorted(base.iterdir()):
            relative = child.relative_to(root).as_posix()
            if child.is_dir() and (child / "__init__.py").is_file():
                if _IDENTIFIER.match(child.name) and child.name not in _NOT_PACKAGES:
                    found.append(relative)
            elif (
                child.suffix == ".py"
                and child.is_file()
                and child.name not in _TOOLING_FILES
                and not is_test_file(relative)
            ):
                found.append(relative)
    return tuple(found)


def _choose_package(root: Path, pyproject: dict[str, object], package: str | None) -> str:
    candidates = _package_dirs(root)
    names = {Path(path).name: path for path in candidates}
    if package is not None:
        if not _IDENTIFIER.match(package) or keyword.iskeyword(package):
            raise InjectError(f"PACKAGE={package!r} is not a Python package name.")
        for path in (f"src/{package}", package):
            if (root / path / "__init__.py").is_file():
                return path
        raise InjectError(
            f"PACKAGE={package}: neither src/{package}/__init__.py nor {package}/__init__.py "
            f"exists in {root}."
        )
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise InjectError(
            f"No Python package found in {root} (looked for src/<name>/__init__.py and "
            "<name>/__init__.py). errutil lives inside your package: create one or pass "
            "PACKAGE=name."
        )
    # Several packages: the project's name, its console scripts, or (Django) the package that
    # holds the settings and the WSGI entry point decide.
    project_name = str(_table(pyproject, "project").get("name", ""))
    hints = [re.sub(r"[-.]+", "_", project_name).lower()]
    hints += [script.module.split(".")[0] for script in _console_scripts(root, pyproject)]
    hints += [
        Path(path).name
        for path in candidates
        if ((root / path / "settings.py").is_file() or (root / path / "settings").is_dir())
        and ((root / path / "wsgi.py").is_file() or (root / path / "asgi.py").is_file())
    ]
    for hint in hints:
        if hint in names:
            return names[hint]
    raise InjectError(
        f"Several packages in {root}: {', '.join(sorted(names))}. Say which one errutil goes "
        "into with PACKAGE=name."
    )


_PYTEST_REQUIREMENT = re.compile(r"^\s*pytest\b", re.IGNORECASE | re.MULTILINE)


def _mentions_pytest(value: object) -> bool:
    """A dependency list, table or string that names pytest (`pytest>=7`, `pytest = "^8"`)."""
    if isinstance(value, str):
        return _PYTEST_REQUIREMENT.search(value) is not None
    if isinstance(value, dict):
        return any(_mentions_pytest(key) or _mentions_pytest(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_mentions_pytest(item) for item in value)
    return False


def _pytest_evidence(root: Path, pyproject: dict[str, object]) -> str:
    """Where the repository says its tests run under pytest; "" when it says so nowhere.

    errutil's own tests are pytest tests: in a repository that runs unittest (or nothing) they
    would sit uncollected, so they are added only where pytest runs.
    """
    if _table(pyproject, "tool", "pytest"):
        return "pyproject.toml [tool.pytest]"
    for keys in (
        ("project", "dependencies"),
        ("project", "optional-dependencies"),
        ("dependency-groups",),
        ("tool", "poetry", "dev-dependencies"),
        ("tool", "poetry", "group"),
    ):
        data: object = pyproject
        for key in keys:
            data = data.get(key, {}) if isinstance(data, dict) else {}
        if _mentions_pytest(data):
            return f"pyproject.toml [{'.'.join(keys)}]"
    for name in ("pytest.ini", "conftest.py", "tests/conftest.py", "test/conftest.py"):
        if (root / name).is_file():
            return name
    checks = {
        "setup.cfg": "[tool:pytest]",
        "tox.ini": "pytest",
        "Makefile": "pytest",
        "noxfile.py": "pytest",
    }
    for name, needle in checks.items():
        path = root / name
        if path.is_file() and needle in path.read_text(errors="replace"):
            return name
    candidates = [*root.glob("requirements*.txt"), *root.glob("requirements/*.txt")]
    candidates += [*root.glob(".github/workflows/*.yml"), *root.glob(".github/workflows/*.yaml")]
    for path in sorted(candidates):
        text = path.read_text(errors="replace")
        if _PYTEST_REQUIREMENT.search(text) or ("pytest" in text and "workflows" in path.parts):
            return path.relative_to(root).as_posix()
    return _pytest_style_tests(root)


_PYTEST_STYLE = re.compile(r"^(?:import pytest|from pytest|def test_\w*\()", re.MULTILINE)


def _pytest_style_tests(root: Path) -> str:
    """A test module written for pytest: it imports pytest or has top-level `def test_...():`
    functions (unittest only collects methods of TestCase classes)."""
    for folder in ("tests", "test"):
        for path in sorted((root / folder).rglob("*.py"))[:200]:
            if path.name.startswith("test") and _PYTEST_STYLE.search(
                path.read_text(errors="replace")
            ):
                return f"{path.relative_to(root).as_posix()} is written for pytest"
    return ""


def _line_length(root: Path, pyproject: dict[str, object]) -> int:
    """The strictest line length the repository configures: ruff, black, isort, flake8."""
    found: list[object] = [
        _table(pyproject, "tool", "ruff").get("line-length"),
        _table(pyproject, "tool", "black").get("line-length"),
        _table(pyproject, "tool", "isort").get("line_length"),
        _table(pyproject, "tool", "flake8").get("max-line-length"),
    ]
    for name in ("setup.cfg", "tox.ini", ".flake8"):
        path = root / name
        if not path.is_file():
            continue
        parser = configparser.ConfigParser(interpolation=None, strict=False)
        try:
            parser.read_string(path.read_text(errors="replace"))
        except configparser.Error:
            continue
        for section, key in (("flake8", "max-line-length"), ("isort", "line_length")):
            found.append(parser.get(section, key, fallback=None))
    lengths = [int(v) for v in found if isinstance(v, int | str) and str(v).strip().isdigit()]
    return min(lengths, default=88)


def oldest_python(root: Path) -> tuple[int, int] | None:
    """The oldest Python 3 the repository says it supports: `requires-python` (pyproject or
    setup.cfg `python_requires`) and `Programming Language :: Python :: 3.N` classifiers."""
    texts = []
    for name in ("pyproject.toml", "setup.cfg", "setup.py"):
        path = root / name
        if path.is_file():
            texts.append(path.read_text(errors="replace"))
    versions = []
    for text in texts:
        for pattern in (
            r"(?:requires-python|python_requires)\s*=\s*[\"']?\s*(?:>=|~=|==)\s*3\.(\d+)",
            r"Programming Language :: Python :: 3\.(\d+)",
        ):
            versions += [int(minor) for minor in re.findall(pattern, text)]
    return (3, min(versions)) if versions else None


def _choose_tests_dir(root: Path, pyproject: dict[str, object]) -> str:
    testpaths = _table(pyproject, "tool", "pytest", "ini_options").get("testpaths")
    if isinstance(testpaths, list) and testpaths and isinstance(testpaths[0], str):
        return testpaths[0].strip("/") or "tests"
    for name in ("tests", "test"):
        if (root / name).is_dir():
            return name
    return "tests"


def detect_layout(root: Path, package: str | None = None) -> RepoLayout:
    """Inspect `root` (not modified) and say where errutil and its tests go."""
    if not root.is_dir():
        raise InjectError(f"DEST={root} is not a directory.")
    pyproject = _read_pyproject(root)
    package_path = _choose_package(root, pyproject, package)
    return RepoLayout(
        root=root,
        package_name=Path(package_path).name,
        package_path=package_path,
        tests_dir=_choose_tests_dir(root, pyproject),
        scripts=_console_scripts(root, pyproject),
        app_paths=_app_paths(root),
        pytest_evidence=_pytest_evidence(root, pyproject),
        line_length=_line_length(root, pyproject),
    )
