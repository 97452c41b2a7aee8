"""Find where errutil goes in an existing repository: its package, tests folder and entry points."""

from __future__ import annotations

import keyword
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ConsoleScript", "InjectError", "RepoLayout", "detect_layout"]

# Folders at the repository root that never hold the application package.
_NOT_PACKAGES = frozenset(
    {"tests", "test", "docs", "doc", "examples", "scripts", "benchmarks", "build", "dist", "site"}
)
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class InjectError(Exception):
    """A refusal with a message for the user; nothing has been written when it is raised."""


@dataclass(frozen=True)
class ConsoleScript:
    """One `[project.scripts]` entry: `name = "module:function"`."""

    name: str
    module: str
    function: str

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

    @property
    def package_dir(self) -> Path:
        return self.root / self.package_path

    def module_file(self, module: str) -> Path | None:
        """The file that defines `module` (dotted), looked up next to the package, or None."""
        base = self.package_dir.parent
        parts = module.split(".")
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


def _console_scripts(pyproject: dict[str, object]) -> tuple[ConsoleScript, ...]:
    entries = dict(_table(pyproject, "tool", "poetry", "scripts"))
    entries.update(_table(pyproject, "project", "scripts"))
    scripts = []
    for name, value in entries.items():
        if isinstance(value, str) and ":" in value:
            module, _, function = value.partition(":")
            scripts.append(ConsoleScript(name, module.strip(), function.strip()))
        else:
            # Not a "module:function" string (e.g. a poetry table): kept so it is reported.
            scripts.append(ConsoleScript(name, str(value), ""))
    return tuple(scripts)


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
    # Several packages: the project's name or its console scripts decide.
    project_name = str(_table(pyproject, "project").get("name", ""))
    hints = [re.sub(r"[-.]+", "_", project_name).lower()]
    hints += [script.module.split(".")[0] for script in _console_scripts(pyproject)]
    for hint in hints:
        if hint in names:
            return names[hint]
    raise InjectError(
        f"Several packages in {root}: {', '.join(sorted(names))}. Say which one errutil goes "
        "into with PACKAGE=name."
    )


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
        scripts=_console_scripts(pyproject),
    )
