"""`make setup-panic-handler DEST=...`: add errutil to an existing repository and wire it.

A DEST with a go.mod is handed to gowire (the Go flavour's tool) unchanged.

    python -m shortstack.inject --dest ../their-repo [--dry-run] [--force] [--package NAME]
    python -m shortstack.inject --dest . --check

Exit status: 0 done (or nothing to do), 1 `--check` found something unwired, 2 refused.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from .apply import check_writes, write_all
from .component import (
    ANSWERS_FILE,
    Component,
    choose_module_name,
    read_answers,
    render_component,
    template_root,
)
from .detect import InjectError, RepoLayout, detect_layout, oldest_python
from .gitstate import check_clean
from .plan import plan_wiring
from .wire import FilePlan, Manual

__all__ = ["main"]


_LOGGERS = ("slog", "zap", "logrus")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="make setup-panic-handler",
        description="Add errutil (short crash reports) to an existing repository and wire it.",
    )
    # From the environment too: the Makefile passes DEST, PACKAGE and LOGGER there, never through
    # a shell.
    dest = os.environ.get("SHORTSTACK_DEST") or None
    parser.add_argument(
        "--dest",
        required=dest is None,
        default=dest,
        type=Path,
        help="the repository to change (default: $SHORTSTACK_DEST)",
    )
    parser.add_argument("--dry-run", action="store_true", help="print the diff, change nothing")
    parser.add_argument("--force", action="store_true", help="go on in a dirty or non-git tree")
    parser.add_argument(
        "--package",
        default=os.environ.get("SHORTSTACK_PACKAGE") or None,
        help="the package errutil goes into (default: $SHORTSTACK_PACKAGE, else detected)",
    )
    parser.add_argument(
        "--check", action="store_true", help="only say whether errutil is present and wired"
    )
    parser.add_argument(
        "--logger",
        choices=_LOGGERS,
        default=os.environ.get("SHORTSTACK_LOGGER") or None,
        help="Go only: errutil's logger adapter "
        "(default: $SHORTSTACK_LOGGER, else the one go.mod requires, else slog)",
    )
    return parser


def _existing(root: Path, package: str | None) -> tuple[RepoLayout, str] | None:
    """Layout and module name of an errutil added earlier (or rendered with the service)."""
    answers = read_answers(root)
    if answers is not None:
        layout = detect_layout(root, answers.get("package_name"))
        layout = dataclasses.replace(
            layout,
            package_path=answers.get("package_path", layout.package_path),
            tests_dir=answers.get("tests_dir", layout.tests_dir),
        )
        return layout, answers.get("errutil_module", "errutil")
    layout = detect_layout(root, package)
    if (layout.package_dir / "errutil" / "__init__.py").is_file() and (
        root / ".copier-answers.yml"
    ).is_file():
        return layout, "errutil"  # a service rendered from the template: errutil came with it
    return None


def _diff(path: str, old: str, new: str, added: bool = False) -> str:
    """A git-style diff of one file, which `git apply` accepts (empty new files included)."""
    header = f"diff --git a/{path} b/{path}\n" + ("new file mode 100644\n" if added else "")
    lines = difflib.unified_diff(
        old.splitlines(keepends=True),
        new.splitlines(keepends=True),
        fromfile="/dev/null" if added else f"a/{path}",
        tofile=f"b/{path}",
    )
    body = "".join(
        line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines
    )
    return header + body


def _print_manual(manual: Sequence[Manual], out: TextIO | None = None) -> None:
    if not manual:
        return
    print("\nNot wired (add the line by hand):", file=out)
    for item in manual:
        print(f"  {item.path}:{item.line}: {item.what}: {item.reason}.", file=out)
        if item.instruction:
            print(f"      {item.instruction}", file=out)


def _check(root: Path, package: str | None) -> int:
    found = _existing(root, package)
    if found is None:
        print(
            f"errutil is not in {root}: run `make setup-panic-handler DEST={root}` from a "
            "shortstack checkout."
        )
        return 1
    layout, module = found
    plans, problems = plan_wiring(layout, module)
    manual = problems + [item for plan in plans for item in plan.manual]
    todo = [(plan.path, change) for plan in plans for change in plan.changes]
    for plan in plans:
        for item in plan.already:
            print(f"wired     {plan.path}: {item}")
    for path, change in todo:
        print(f"NOT WIRED {path}: {change} is missing")
    _print_manual(manual)
    if todo:
        print(f"\nRun `make setup-panic-handler` to wire {len(todo)} place(s).")
    if todo or manual:
        return 1
    print(f"errutil ({layout.package_name}.{module}) is wired into every entry point found.")
    return 0


def _plan_component(root: Path, package: str | None) -> tuple[RepoLayout, str, Component | None]:
    found = _existing(root, package)
    if found is not None:
        layout, module = found
        if not (layout.package_dir / module / "__init__.py").is_file():
            raise InjectError(
                f"{ANSWERS_FILE} says errutil is in {layout.package_path}/{module}/, but it is "
                f"not there. Restore it (`copier recopy -a {ANSWERS_FILE}`) or remove "
                f"{ANSWERS_FILE} to add errutil again. Nothing was changed."
            )
        return layout, module, None
    layout = detect_layout(root, package)
    module, taken = choose_module_name(layout)
    if taken:
        print(
            f"{', '.join(taken)} already exist(s): errutil goes into `{module}` instead.",
            file=sys.stderr,
        )
    component = render_component(layout, module)
    oldest = oldest_python(root)
    if oldest is not None and oldest < (3, 9):
        print(
            f"note: this repository supports Python {oldest[0]}.{oldest[1]}; errutil works from "
            "3.9 on. On older Pythons importing it works and it does nothing (the usual "
            "tracebacks stay).",
            file=sys.stderr,
        )
    if not layout.pytest_evidence:
        print(
            "errutil's own tests are left out: they are pytest tests, and nothing in this "
            "repository runs pytest (no pytest configuration, dependency or conftest.py), so "
            "they would never be collected. To add them later, set `errutil_tests: true` in "
            f"{ANSWERS_FILE} and run `copier update -a {ANSWERS_FILE}`.",
            file=sys.stderr,
        )
    clashes = [path for path in component.files if (root / path).exists()]
    if clashes:
        raise InjectError(
            "These files already exist and would be overwritten: "
            + ", ".join(clashes)
            + ". Nothing was changed."
        )
    return layout, module, component


def _apply(root: Path, component: Component | None, plans: Sequence[FilePlan]) -> None:
    """Write everything or nothing (see apply.py), then say what changed."""
    writes: dict[str, bytes] = dict(component.files) if component is not None else {}
    for plan in plans:
        if plan.changed:
            writes[plan.path] = plan.new.encode(plan.encoding)
    write_all(root, writes)
    for path in component.files if component is not None else ():
        print(f"added     {path}")
    for plan in plans:
        if plan.changed:
            for change in plan.changes:
                print(f"wired     {plan.path}: {change}")


def _rerun_hint(root: Path) -> str:
    """How to re-run the wiring later, in the words that fit the repository."""
    makefile = next(
        (name for name in ("GNUmakefile", "makefile", "Makefile") if (root / name).is_file()), None
    )
    if makefile is not None:
        return (
            f"Add `include errutil.mk` to your {makefile} to re-run this with "
            "`make setup-panic-handler` (and check it with `make errutil-check`)."
        )
    return (
        "To re-run this later: `make -f errutil.mk setup-panic-handler` (check with "
        "`make -f errutil.mk errutil-check`)."
    )


def _delegate_go(root: Path, args: argparse.Namespace) -> int:
    # gowire is a module of its own, built into .tools/ and run there: `go run` would turn every
    # failing exit status into 1. Same flags, same exit codes; PACKAGE= is errutil's folder in
    # the module (pkg/errutil), and copier is this interpreter's.
    binary = template_root() / ".tools" / "gowire"
    command = [str(binary), "-dest", str(root), "-copier", f"{sys.executable} -m copier"]
    command += ["-check"] if args.check else ["-dry-run"] if args.dry_run else []
    command += ["-force"] if args.force else []
    command += ["-errutil-dir", args.package] if args.package else []
    command += ["-logger", args.logger] if args.logger else []
    try:
        built = subprocess.run(
            ["go", "-C", "gowire", "build", "-o", str(binary), "."],
            cwd=template_root(),
            check=False,
        )
    except FileNotFoundError:
        print(
            "setup-panic-handler: Go is not installed (needed for a go.mod repository).",
            file=sys.stderr,
        )
        return 2
    if built.returncode != 0:
        return 2
    print(f"{root} is a Go module: gowire {' '.join(command[1:])}", file=sys.stderr, flush=True)
    return subprocess.run(command, cwd=template_root(), check=False).returncode


def run(args: argparse.Namespace) -> int:
    root = args.dest.expanduser().resolve()
    if not root.is_dir():
        raise InjectError(f"DEST={args.dest} is not a directory.")
    if (root / "go.mod").is_file():
        return _delegate_go(root, args)
    if args.check:
        return _check(root, args.package)
    if not args.force and not args.dry_run:
        check_clean(root)
    layout, module, component = _plan_component(root, args.package)
    plans, problems = plan_wiring(layout, module)
    manual = problems + [item for plan in plans for item in plan.manual]
    changed = [plan for plan in plans if plan.changed]

    writes = dict(component.files) if component is not None else {}
    check_writes(root, writes | {plan.path: b"" for plan in changed})
    if args.dry_run:
        for path, content in (component.files if component else {}).items():
            print(_diff(path, "", content.decode("utf-8", "replace"), added=True), end="")
        for plan in changed:
            print(_diff(plan.path, plan.old, plan.new), end="")
        _print_manual(manual, out=sys.stderr)  # stdout is the diff alone (for `git apply`)
        return 0

    if component is None and not changed:
        left = f" ({len(manual)} to add by hand, below)" if manual else ""
        print(
            f"Nothing to change: errutil ({layout.package_name}.{module}) is present and every "
            f"entry point it can wire is wired{left}."
        )
        _print_manual(manual)
        return 0
    _apply(root, component, changed)
    _print_manual(manual)
    if component is not None:
        print(
            f"\nerrutil's answers are in {ANSWERS_FILE}: `copier update -a {ANSWERS_FILE}` pulls "
            f"its improvements. {_rerun_hint(root)}"
        )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.logger is not None and args.logger not in _LOGGERS:  # a default is not checked
        parser.error(f"LOGGER={args.logger}: choose one of {', '.join(_LOGGERS)}")
    try:
        return run(args)
    except InjectError as error:
        print(f"setup-panic-handler: {error}", file=sys.stderr)
        return 2
