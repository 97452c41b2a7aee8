"""Shared helpers: render the template from this checkout and run the output's commands.

What the tooling shares with the tests (rendering, ports, GET a local server) is in
shortstack/devtools.py; `REPO` and `free_port` are re-exported here for the tests.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import plumbum
import pytest

from shortstack.devtools import REPO, render_template


def uv_bin() -> str:
    """The uv that `make test` resolved (exported as SHORTSTACK_UV), else the one on PATH.

    The Makefile installs uv into .tools/ when PATH has none, so the tests never assume a
    bare `uv` on PATH: that is what a new machine lacks.
    """
    found = os.environ.get("SHORTSTACK_UV") or shutil.which("uv")
    if not found or not os.access(found, os.X_OK):
        pytest.fail(
            "no uv: run the tests with `make test` (it installs uv into .tools/ when PATH has "
            "none), or set SHORTSTACK_UV to a uv binary",
            pytrace=False,
        )
    return found


def pytest_configure(config: pytest.Config) -> None:
    """Put the resolved uv (and nothing else) on PATH for the commands the tests run.

    Rendered services' `make setup` then share this uv and its cache instead of each
    installing its own; the test that checks that bootstrap gives its command a PATH without it.
    """
    found = os.environ.get("SHORTSTACK_UV")
    if not found or shutil.which("uv") or not os.access(found, os.X_OK):
        return
    bin_dir = Path(tempfile.mkdtemp(prefix="shortstack-uv-"))
    (bin_dir / "uv").symlink_to(found)
    os.environ["PATH"] = f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"
    config.add_cleanup(lambda: shutil.rmtree(bin_dir, ignore_errors=True))


# Tests that share a session-scoped render run in one xdist worker (`--dist loadgroup`), so
# each render is set up once per run; every other test is scheduled on its own.
SHARED_RENDERS = ("python_service", "go_service")


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups from the markers
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        for name in SHARED_RENDERS:
            if name in getattr(item, "fixturenames", ()):
                callspec = getattr(item, "callspec", None)
                param = callspec.params.get(name) if callspec is not None else None
                group = name if param is None else f"{name}-{param}"
                item.add_marker(pytest.mark.xdist_group(group))
                break


def show_in_ci(request: pytest.FixtureRequest, title: str, text: str) -> None:
    """Print *text* in the run's summary (also from an xdist worker): a measurement for CI's log."""
    request.node.user_properties.append(("shown", f"{title}\n{text}"))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for report in terminalreporter.stats.get("passed", []):
        for key, value in getattr(report, "user_properties", ()):
            if key == "shown" and report.when == "call":
                title, _, text = str(value).partition("\n")
                terminalreporter.write_sep("-", title)
                terminalreporter.write_line(text.rstrip())


def path_without_uv(tmp_path: Path, tools: tuple[str, ...] = ("python3", "git", "make")) -> str:
    """A PATH that reaches *tools* (and /usr/bin, /bin) but no uv, as on a new machine."""
    bin_dir = tmp_path / "no-uv-bin"
    bin_dir.mkdir(exist_ok=True)
    for tool in tools:
        found = shutil.which(tool)
        assert found, f"{tool} is needed on PATH"
        link = bin_dir / tool
        if not link.exists():
            link.symlink_to(os.path.realpath(found))
    path = f"{bin_dir}:/usr/bin:/bin"
    assert not shutil.which("uv", path=path), f"uv is reachable on {path}: remove it for this test"
    return path


def render(dst: Path, **data: Any) -> Path:
    """Render this checkout (HEAD plus uncommitted changes) into `dst` with `data`."""
    render_template(dst, data)
    return dst


def run(
    cmd: list[str],
    cwd: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = 900,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run `cmd`; on failure, fail the test with the command's whole output."""
    full_env = {**os.environ, **(env or {})}
    # A render's own `uv run` must use the render's .venv, never this suite's.
    full_env.pop("VIRTUAL_ENV", None)
    result = subprocess.run(
        cmd, cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and result.returncode != 0:
        pytest.fail(
            f"{' '.join(cmd)} in {cwd} exited {result.returncode}\n"
            f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}",
            pytrace=False,
        )
    return result


def git_init(path: Path, message: str = "initial") -> None:
    """Make `path` a git repository with everything committed."""
    run(["git", "init", "-q", "-b", "main"], path)
    commit_all(path, message)


def commit_all(path: Path, message: str) -> None:
    run(["git", "add", "-A"], path)
    run(["git", "commit", "-q", "--no-verify", "-m", message], path)


def publish(template: Path) -> str:
    """Give a template repository a public-looking `origin` URL that git maps back to it.

    Injection records the template's public URL (never a local path); `copier update` then
    clones that URL, which git (through `url.<path>.insteadOf`, set in this process's
    environment so every git it starts sees it) rewrites to the local repository.
    """
    url = f"https://shortstack.invalid/{abs(hash(str(template))):x}/shortstack.git"
    run(["git", "remote", "remove", "origin"], template, check=False)
    run(["git", "remote", "add", "origin", url], template)
    count = int(os.environ.get("GIT_CONFIG_COUNT", "0"))
    settings = {
        f"GIT_CONFIG_KEY_{count}": f"url.{template}.insteadOf",
        f"GIT_CONFIG_VALUE_{count}": url,
        "GIT_CONFIG_COUNT": str(count + 1),
    }
    os.environ.update(settings)
    # copier runs git through plumbum, whose environment is a copy taken at import.
    for key, value in settings.items():
        plumbum.local.env[key] = value
    return url


def snapshot_template(dst: Path) -> Path:
    """Copy this checkout (tracked and untracked, not ignored files) into a fresh git repo."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if not source.exists():
            continue  # deleted in the work tree but not yet in git
        target = dst / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)  # the repository holds no links (tests/test_repository.py)
    git_init(dst, "template snapshot")
    return dst


@pytest.fixture(scope="session")
def python_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The template rendered with defaults, committed to git, and set up (`make setup`)."""
    dst = render(tmp_path_factory.mktemp("render") / "my-service")
    git_init(dst)
    run(["make", "setup"], dst)
    yield dst
