"""Refuse to edit a repository whose changes could not be told apart from ours."""

from __future__ import annotations

import subprocess
from pathlib import Path

from .detect import InjectError

__all__ = ["check_clean"]


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-C", str(root), *args], capture_output=True, text=True, check=False
    )


def check_clean(root: Path) -> None:
    """Raise InjectError unless `root` is inside a git work tree with nothing uncommitted there."""
    try:
        inside = _git(root, "rev-parse", "--is-inside-work-tree")
    except FileNotFoundError as error:
        raise InjectError("git is not installed; pass FORCE=1 to go on without it.") from error
    if inside.returncode != 0 or inside.stdout.strip() != "true":
        raise InjectError(
            f"{root} is not a git repository, so the changes could not be reviewed or undone. "
            "Run `git init` and commit first, or pass FORCE=1. Nothing was changed."
        )
    status = _git(root, "status", "--porcelain", "--untracked-files=all", "--", ".")
    if status.returncode != 0:
        raise InjectError(f"`git status` failed in {root}: {status.stderr.strip()}")
    if status.stdout.strip():
        dirty = status.stdout.splitlines()
        shown = "\n".join(f"    {line}" for line in dirty[:10])
        more = f"\n    ... and {len(dirty) - 10} more" if len(dirty) > 10 else ""
        raise InjectError(
            f"{root} has uncommitted changes:\n{shown}{more}\n"
            "Commit or stash them first (so this change can be reviewed on its own), or pass "
            "FORCE=1. Nothing was changed."
        )
