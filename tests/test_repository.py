"""The template repository itself: what every checkout of it holds, on every platform."""

from __future__ import annotations

import subprocess

from conftest import REPO


def test_the_repository_holds_no_symlinks() -> None:
    """With `core.symlinks=false` (Windows' default) git checks a link out as a text file that
    holds the link's target, and copier would render that path as the file's content: shared
    files are Jinja includes, and a component is rendered from template/<language> itself."""
    listed = subprocess.run(
        ["git", "ls-files", "--stage", "-z"], cwd=REPO, capture_output=True, check=True
    ).stdout.decode()
    links = [
        entry.partition("\t")[2] for entry in listed.split("\0") if entry.startswith("120000 ")
    ]
    assert links == []
