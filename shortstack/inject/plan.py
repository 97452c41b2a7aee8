"""Planning the repository: which files to read, and one FilePlan per file (nothing written)."""

from __future__ import annotations

import io
import tokenize
from collections.abc import Sequence
from pathlib import Path

import libcst as cst

from .detect import ConsoleScript, RepoLayout, is_test_file
from .recognise import calls, errutil_installs, find_installers, is_install_call
from .wire import FilePlan, Manual, WireContext, plan_file

__all__ = ["plan_wiring"]

_SKIP_DIRS = frozenset({".git", ".venv", "venv", "node_modules", "__pycache__", "build", "dist"})


def _python_files(layout: RepoLayout, skip: Sequence[Path]) -> list[Path]:
    """The app's files: every top-level package and root module, and the scripts' modules.

    Test files are never read as entry points (see `is_test_file`).
    """

    def wanted(path: Path) -> bool:
        relative = path.relative_to(layout.root).as_posix()
        return (
            not (_SKIP_DIRS & set(path.parts))
            and not any(path.is_relative_to(s) for s in skip)
            and not is_test_file(relative)
        )

    files: list[Path] = []
    for app_path in dict.fromkeys([layout.package_path, *layout.app_paths]):
        target = layout.root / app_path
        candidates = sorted(target.rglob("*.py")) if target.is_dir() else [target]
        files += [path for path in candidates if path not in files and wanted(path)]
    for script in layout.scripts:
        path = layout.module_file(script.module) if script.function else None
        if path is not None and path not in files:
            files.append(path)
    return files


def _module_parts(layout: RepoLayout, path: Path) -> list[str]:
    """`src/pkg/sub/mod.py` -> ["pkg", "sub", "mod"]; a root module `main.py` -> ["main"]."""
    for base in (layout.package_dir.parent, layout.root / "src", layout.root):
        if path.is_relative_to(base):
            return list(path.relative_to(base).with_suffix("").parts)
    return [path.stem]


def plan_wiring(layout: RepoLayout, errutil_module: str) -> tuple[list[FilePlan], list[Manual]]:
    """Plan every edit (nothing is written): per-file plans, and scripts that cannot be found."""
    skip = [
        layout.package_dir / errutil_module,
        layout.package_dir / f"{errutil_module}.py",
        layout.root / layout.tests_dir,
    ]
    sources: dict[Path, str] = {}
    encodings: dict[Path, str] = {}
    modules: dict[Path, cst.Module] = {}
    unparsable: list[Manual] = []
    for path in _python_files(layout, skip):
        try:
            # Bytes, not text mode: CRLF line endings are kept as they are; the PEP 263
            # encoding (or a BOM) is read and kept for writing back.
            data = path.read_bytes()
            encodings[path] = tokenize.detect_encoding(io.BytesIO(data).readline)[0]
            sources[path] = data.decode(encodings[path])
            modules[path] = cst.parse_module(sources[path])
        except (UnicodeDecodeError, SyntaxError, LookupError, cst.ParserSyntaxError) as error:
            rel = path.relative_to(layout.root).as_posix()
            first = str(error).splitlines()[0] if str(error) else type(error).__name__
            unparsable.append(Manual(rel, 1, rel, f"it could not be parsed ({first})", ""))
            sources.pop(path, None)

    aliases = errutil_installs(modules.values(), errutil_module)
    installers = find_installers(modules.values(), aliases)
    repo_installs = installers != aliases or any(
        is_install_call(call, aliases) for module in modules.values() for call in calls(module)
    )
    by_file: dict[Path, dict[str, ConsoleScript]] = {}
    problems: list[Manual] = []
    imp = f"from {layout.package_name} import {errutil_module}"
    for script in layout.scripts:
        found = layout.module_file(script.module) if script.function else None
        if found is None or found not in sources:
            problems.append(
                Manual(
                    script.source.split()[0],
                    1,
                    f"console script `{script.name}` ({script.module})",
                    "its module was not found in the repository"
                    if script.function
                    else "it is not a `module:function` reference",
                    f"{imp}; {errutil_module}.install()  # at the start of the entry function",
                )
            )
            continue
        if "." in script.function:
            problems.append(
                Manual(
                    found.relative_to(layout.root).as_posix(),
                    1,
                    f"console script `{script.name}` ({script.target})",
                    "it names an attribute, not a module-level function",
                    f"{imp}; {errutil_module}.install()  # at the start of {script.function}()",
                )
            )
            continue
        by_file.setdefault(found, {})[script.function] = script
        installers.add(script.function)

    plans = []
    for path in sources:
        ctx = WireContext(
            package=layout.package_name,
            errutil_module=errutil_module,
            installers=installers,
            script_functions=by_file.get(path, {}),
            module_parts=_module_parts(layout, path),
            repo_installs=repo_installs,
        )
        rel = path.relative_to(layout.root).as_posix()
        plans.append(plan_file(rel, sources[path], ctx, encodings[path]))
    return plans, unparsable + problems
