"""A repository that supports Python 3.8 to 3.13 (requires-python, classifiers, tox): after the
injection, its console script gives short reports on 3.9 and the newest Python here, its tests
(errutil's included) pass on both, and on 3.8 importing errutil changes nothing at all."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, commit_all, git_init, run, uv_bin

FIXTURE = Path(__file__).parent / "fixtures" / "inject" / "legacy_cli"
PYENV = Path.home() / ".pyenv" / "versions"
HEADER = re.compile(r"^FileNotFoundError: .*'missing\.txt'  \[error_id=[0-9a-f-]{36}\]$")


def _interpreter(minor: str) -> Path | None:
    """A CPython of version *minor* (pyenv's, else one on PATH), or None."""
    found = sorted(PYENV.glob(f"{minor}.*/bin/python{minor}"))
    if found:
        return found[-1]
    on_path = shutil.which(f"python{minor}")
    return Path(on_path) if on_path else None


NEWEST = next((m for m in ("3.14", "3.13", "3.12") if _interpreter(m) is not None), "3.13")


@pytest.fixture(scope="module")
def legacy_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = shutil.copytree(FIXTURE, tmp_path_factory.mktemp("versions") / "legacy_cli")
    git_init(repo, "the team's repository")
    injected = run(
        [sys.executable, "-m", "shortstack.inject", "--dest", str(repo)],
        REPO,
        env={"PYTHONPATH": str(REPO)},
    )
    assert "wired     src/tally/cli.py: install() at the start of main()" in injected.stdout
    assert "this repository supports Python 3.8; errutil works from 3.9 on" in injected.stderr
    commit_all(repo, "errutil")
    again = run(
        [sys.executable, "-m", "shortstack.inject", "--dest", str(repo)],
        REPO,
        env={"PYTHONPATH": str(REPO)},
    )
    assert "Nothing to change" in again.stdout
    check = run(
        [sys.executable, "-m", "shortstack.inject", "--dest", str(repo), "--check"],
        REPO,
        env={"PYTHONPATH": str(REPO)},
    )
    assert "is wired into every entry point found" in check.stdout
    return repo


def _venv(minor: str, repo: Path, tmp_path: Path, *packages: str) -> Path:
    interpreter = _interpreter(minor)
    if interpreter is None:
        pytest.skip(f"no Python {minor} on this machine")
    venv = tmp_path / f"venv{minor}"
    uv = uv_bin()
    run([uv, "venv", "--quiet", "--python", str(interpreter), str(venv)], tmp_path)
    python = venv / "bin" / "python"
    run(
        [uv, "pip", "install", "--quiet", "--python", str(python), *packages, "-e", str(repo)],
        tmp_path,
    )
    return venv


@pytest.mark.slow
@pytest.mark.parametrize("minor", ["3.9", NEWEST])
def test_supported_pythons_get_short_reports_and_green_tests(
    legacy_repo: Path, tmp_path: Path, minor: str
) -> None:
    venv = _venv(minor, legacy_repo, tmp_path, "pytest", "hypothesis", "flake8")
    # Its own linter, as tox.ini configures it (max-line-length = 100), passes after the change.
    run([str(venv / "bin/flake8"), "src", "tests"], legacy_repo)
    tests = run(
        [str(venv / "bin/python"), "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        legacy_repo,
        check=False,
    )
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "passed" in tests.stdout

    crash = subprocess.run(
        [str(venv / "bin/tally"), "missing.txt"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    lines = crash.stderr.strip().splitlines()
    assert crash.returncode == 1
    assert lines and HEADER.match(lines[0]), crash.stderr
    assert len(lines) <= 6, crash.stderr
    assert "  at tally/counting.py:7 in count_words" in lines, crash.stderr


@pytest.mark.slow
def test_python_38_imports_errutil_and_keeps_its_own_traceback(
    legacy_repo: Path, tmp_path: Path
) -> None:
    venv = _venv("3.8", legacy_repo, tmp_path)
    crash = subprocess.run(
        [str(venv / "bin/tally"), "missing.txt"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert crash.returncode == 1
    assert crash.stderr.startswith("Traceback (most recent call last):"), crash.stderr
    assert "FileNotFoundError" in crash.stderr and "error_id" not in crash.stderr
