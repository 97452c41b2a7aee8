"""Planning the repository: which files to read, and one FilePlan per file (nothing written)."""

from __future__ import annotations

import io
import tokenize
from collections.abc import Mapping, Sequence
from pathlib import Path

import libcst as cst

from .detect import ConsoleScript, RepoLayout, is_test_file
from .recognise import (
    calls,
    dotted,
    errutil_installs,
    find_installers,
    is_django_settings,
    is_install_call,
)
from .servers import ServerTarget, find_server_targets
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


def _read(
    paths: Sequence[Path], root: Path
) -> tuple[dict[Path, str], dict[Path, str], dict[Path, cst.Module], list[Manual]]:
    """Each file's text, encoding and syntax tree; a file that cannot be parsed is listed."""
    sources: dict[Path, str] = {}
    encodings: dict[Path, str] = {}
    modules: dict[Path, cst.Module] = {}
    unparsable: list[Manual] = []
    for path in paths:
        try:
            # Bytes, not text mode: CRLF line endings are kept as they are; the PEP 263
            # encoding (or a BOM) is read and kept for writing back.
            data = path.read_bytes()
            encodings[path] = tokenize.detect_encoding(io.BytesIO(data).readline)[0]
            sources[path] = data.decode(encodings[path])
            modules[path] = cst.parse_module(sources[path])
        except (UnicodeDecodeError, SyntaxError, LookupError, cst.ParserSyntaxError) as error:
            rel = path.relative_to(root).as_posix()
            first = str(error).splitlines()[0] if str(error) else type(error).__name__
            unparsable.append(Manual(rel, 1, rel, f"it could not be parsed ({first})", ""))
            sources.pop(path, None)
    return sources, encodings, modules, unparsable


def _scripts_by_file(
    layout: RepoLayout, errutil_module: str, sources: Mapping[Path, str]
) -> tuple[dict[Path, dict[str, ConsoleScript]], list[Manual]]:
    """The console scripts each file defines, and the scripts that cannot be wired."""
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
        elif "." in script.function:
            problems.append(
                Manual(
                    found.relative_to(layout.root).as_posix(),
                    1,
                    f"console script `{script.name}` ({script.target})",
                    "it names an attribute, not a module-level function",
                    f"{imp}; {errutil_module}.install()  # at the start of {script.function}()",
                )
            )
        else:
            by_file.setdefault(found, {})[script.function] = script
    return by_file, problems


def _built_by(module: cst.Module | None, name: str, factories: set[str]) -> bool:
    """`name = create_app()` at module level, where create_app is a factory errutil wired."""
    for stmt in module.body if module is not None else ():
        small = stmt.body[0] if isinstance(stmt, cst.SimpleStatementLine) else None
        if (
            isinstance(small, cst.Assign)
            and any(dotted(target.target) == name for target in small.targets)
            and isinstance(small.value, cst.Call)
            and dotted(small.value.func).rpartition(".")[2] in factories
        ):
            return True
    return False


def _unserved(
    layout: RepoLayout,
    errutil_module: str,
    targets: Mapping[ServerTarget, Path | None],
    plans: Mapping[Path, FilePlan],
    modules: Mapping[Path, cst.Module],
) -> list[Manual]:
    """Server targets whose object was not recognised as an app (so nothing wired it)."""
    problems = []
    imp = f"from {layout.package_name} import {errutil_module}"
    factories = {name for plan in plans.values() for name in plan.factories}
    for target, path in targets.items():
        plan = plans.get(path) if path is not None else None
        if plan is not None and (
            target.obj in plan.apps
            or (target.factory and target.obj in factories)
            or (path is not None and _built_by(modules.get(path), target.obj, factories))
        ):
            continue
        middleware = "ErrorMiddleware" if target.asgi else "WSGIMiddleware"
        where = (
            f"in {plan.path}, after `{target.obj}` is built"
            if plan is not None
            else f"where `{target.module}:{target.obj}` is built"
        )
        problems.append(
            Manual(
                target.source,
                target.line,
                f"`{target.describe()}`",
                "its module was not found in the repository"
                if path is None
                else f"`{target.obj}` is not an app errutil recognises",
                f"{imp}; {target.obj} = {errutil_module}.{middleware}({target.obj}); "
                f"{errutil_module}.install()  # {where}",
            )
        )
    return problems


def plan_wiring(layout: RepoLayout, errutil_module: str) -> tuple[list[FilePlan], list[Manual]]:
    """Plan every edit (nothing is written): per-file plans, and what cannot be wired."""
    skip = [
        layout.package_dir / errutil_module,
        layout.package_dir / f"{errutil_module}.py",
        layout.root / layout.tests_dir,
    ]
    # Each server target with the file that defines its module (looked up once).
    targets = {t: layout.module_file(t.module) for t in find_server_targets(layout.root)}
    paths = _python_files(layout, skip)
    served: dict[Path, set[str]] = {}
    for target, path in targets.items():
        if path is not None:
            served.setdefault(path, set()).add(target.obj)
            if path not in paths:
                paths.append(path)
    sources, encodings, modules, unparsable = _read(paths, layout.root)

    aliases = errutil_installs(modules.values(), errutil_module)
    installers = find_installers(modules.values(), aliases)
    repo_installs = installers != aliases or any(
        is_install_call(call, aliases) for module in modules.values() for call in calls(module)
    )
    by_file, problems = _scripts_by_file(layout, errutil_module, sources)
    for scripts in by_file.values():
        installers |= set(scripts)

    plans: dict[Path, FilePlan] = {}
    for path in sources:
        ctx = WireContext(
            package=layout.package_name,
            errutil_module=errutil_module,
            installers=installers,
            script_functions=by_file.get(path, {}),
            module_parts=_module_parts(layout, path),
            repo_installs=repo_installs,
            wsgi_names=frozenset({"application", "app", *served.get(path, ())}),
            django=is_django_settings(modules[path]),
            line_length=layout.line_length,
        )
        rel = path.relative_to(layout.root).as_posix()
        plans[path] = plan_file(rel, sources[path], ctx, encodings[path])
    problems += _unserved(layout, errutil_module, targets, plans, modules)
    return list(plans.values()), unparsable + problems
