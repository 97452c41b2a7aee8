"""Write a planned change all or nothing, and only inside the repository.

Every path is checked before the first byte is written: it must resolve (symlinks followed, its
folders' too) inside the repository, must not be a symlink itself, and its folder must be
writable. Then the files are written one by one; if any write fails, every file written so far
is restored (or removed, with the folders made for it), so the tree is exactly as it was.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from pathlib import Path

from .detect import InjectError

__all__ = ["check_writes", "write_all"]


def _nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_writes(root: Path, writes: Mapping[str, bytes]) -> None:
    """Raise InjectError (nothing written) unless every path can be written inside *root*."""
    real_root = root.resolve()
    for relative in writes:
        target = root / relative
        if target.is_symlink():
            raise InjectError(
                f"{relative} is a symbolic link (to {os.readlink(target)}); it would be written "
                "through the link. Remove or replace it first. Nothing was changed."
            )
        resolved = target.resolve()
        if not resolved.is_relative_to(real_root):
            raise InjectError(
                f"{relative} resolves to {resolved}, outside the repository (a folder on the way "
                "is a symbolic link). Nothing was changed."
            )
        existing = _nearest_existing(target)
        if existing != target and not existing.is_dir():
            raise InjectError(
                f"{relative} cannot be created: {existing.relative_to(root)} is a file, not a "
                "folder. Nothing was changed."
            )
        if target.exists() and not os.access(target, os.W_OK):
            raise InjectError(f"{relative} is not writable. Nothing was changed.")
        if not target.exists() and not os.access(existing, os.W_OK | os.X_OK):
            raise InjectError(
                f"{relative} cannot be created: {existing.relative_to(real_root.parent)} is not "
                "writable. Nothing was changed."
            )


def write_all(root: Path, writes: Mapping[str, bytes]) -> None:
    """Write every file, or (on any failure) none: the tree is restored and InjectError raised."""
    check_writes(root, writes)
    saved: list[tuple[Path, bytes | None]] = []
    made_dirs: list[Path] = []
    try:
        for relative, content in writes.items():
            target = root / relative
            missing = []
            parent = target.parent
            while not parent.exists():
                missing.append(parent)
                parent = parent.parent
            for folder in reversed(missing):
                folder.mkdir()
                made_dirs.append(folder)
            saved.append((target, target.read_bytes() if target.exists() else None))
            target.write_bytes(content)
    except OSError as error:
        _restore(saved, made_dirs)
        where = _shown(root, error.filename)
        raise InjectError(
            f"writing {where} failed ({error.strerror or error}); every change was undone."
        ) from error


def _shown(root: Path, filename: object) -> str:
    if not isinstance(filename, str):
        return "a file"
    path = Path(filename)
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else filename


def _restore(saved: list[tuple[Path, bytes | None]], made_dirs: list[Path]) -> None:
    for target, before in reversed(saved):
        try:
            if before is None:
                target.unlink(missing_ok=True)
            else:
                target.write_bytes(before)
        except OSError:
            pass  # keep restoring the others; the message names the first failure
    for folder in reversed(made_dirs):
        with contextlib.suppress(OSError):  # a folder someone else filled meanwhile stays
            folder.rmdir()
