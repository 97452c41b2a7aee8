"""Injection into WSGI repositories: Flask (a factory with its own error handler and log handlers,
a module-level app without any), a Django project, and a plain WSGI callable.

Each fixture repository is injected, runs its own tests with its own runner, and is crashed
through a real server (gunicorn): one short report naming the raise site, and the client gets
the app's own error response or the error-id body. A second run changes nothing, `--check` agrees.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from conftest import REPO, commit_all, git_init, run, uv_bin
from shortstack.devtools import free_port, get_when_up

FIXTURES = Path(__file__).parent / "fixtures" / "inject"
MARKER = "# errutil: wired"
# The fixtures' own runtime, and pytest pinned to an old 7.x as a team's requirements file has it.
WEB_PACKAGES = [
    *("flask>=3", "django>=4.2", "gunicorn>=22", "pytest==7.4.4", "hypothesis"),
    *("black", "flake8", "isort"),  # the linters the fixtures configure
]
REPORT_HEADER = re.compile(r"^(\w+(?:\.\w+)*: .*)  \[error_id=([0-9a-f-]+)\]$", re.MULTILINE)


@dataclass(frozen=True)
class WebCase:
    name: str
    serve: list[str]  # gunicorn's arguments (the bind address is added)
    path: str  # the request that crashes
    error: str  # the report's header, before the error id
    raise_site: str  # the frame that must be shown
    wired: dict[str, list[str]]  # file -> snippets it holds after the injection
    own_tests: list[str]  # the repository's own test command (python arguments)
    body: dict[str, object] | None = None  # the app's own 500 body; None: the error-id body
    pythonpath: str = "."
    errutil_tests: bool = True
    env: dict[str, str] = field(default_factory=dict)
    lint: list[list[str]] = field(default_factory=list)  # the repository's own checks


CASES = [
    WebCase(
        name="flask_factory",
        serve=["--workers", "1", "wsgi:app"],
        path="/posts/missing",
        error="KeyError: 'missing'",
        raise_site="blog/store.py:5 in load_post",
        wired={
            "blog/__init__.py": [
                "    app = Flask(__name__, instance_relative_config=True)\n"
                f"    errutil.init_flask(app)  {MARKER}\n    errutil.install()  {MARKER}\n"
            ],
            "scripts/seed.py": [],
        },
        own_tests=["-m", "unittest", "-v", "tests"],
        body={"message": "the blog is having a moment"},
        errutil_tests=False,  # a unittest-only repository
        lint=[["flake8", "."]],  # setup.cfg: max-line-length = 100
    ),
    WebCase(
        name="flask_module",
        serve=["--workers", "1", "notes.app:app"],
        path="/ratio/0",
        error="ZeroDivisionError: integer division or modulo by zero",
        raise_site="notes/app.py:19 in ratio",  # two lines lower: the import and init_flask
        wired={
            "src/notes/app.py": [
                f"from notes import errutil  {MARKER}\n",
                f"app = flask.Flask(__name__)\nerrutil.init_flask(app)  {MARKER}\n",
            ]
        },
        own_tests=["-m", "pytest", "-q", "-p", "no:cacheprovider"],
        pythonpath="src",
        lint=[["ruff", "check", "."], ["ruff", "format", "--check", "."]],  # line-length = 88
    ),
    WebCase(
        name="django_site",
        serve=["--workers", "1", "mysite.wsgi"],
        path="/polls/breakfast/",
        error="KeyError: 'breakfast'",
        raise_site="polls/votes.py:5 in tally",
        wired={
            "mysite/settings.py": [f'    "mysite.errutil.DjangoMiddleware",  {MARKER}\n'],
            "mysite/wsgi.py": [
                f"application = errutil.WSGIMiddleware(application)  {MARKER}\n",
            ],
            "mysite/asgi.py": [
                f"application = get_asgi_application()\nerrutil.install()  {MARKER}\n"
            ],
            "manage.py": [f'if __name__ == "__main__":\n    errutil.install()  {MARKER}\n'],
        },
        own_tests=["manage.py", "test", "polls", "-v", "2"],
        body={"detail": "polls are down"},
        errutil_tests=False,  # Django's runner is unittest's
        lint=[["black", "--check", "."], ["isort", "--check-only", "."]],  # profile black
    ),
    WebCase(
        name="wsgi_plain",
        serve=["-c", "gunicorn.conf.py", "--workers", "1"],
        path="/nobody",
        error="KeyError: 'nobody'",
        raise_site="hello/greetings.py:5 in greeting_for",
        wired={
            "hello/wsgi.py": [
                f"application = errutil.WSGIMiddleware(application)  {MARKER}\n"
                f"errutil.install()  {MARKER}\n"
            ]
        },
        own_tests=["-m", "pytest", "-q", "-p", "no:cacheprovider"],
        lint=[["flake8", "."]],  # tox.ini: max-line-length = 100
    ),
]


@pytest.fixture(scope="session")
def web_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One environment for the WSGI fixtures: Flask, Django, gunicorn and an old pytest."""
    venv = tmp_path_factory.mktemp("web-venv") / "venv"
    uv = uv_bin()
    env = {"UV_PYTHON_DOWNLOADS": "never"}
    run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], venv.parent, env=env)
    python = venv / "bin" / "python"
    run([uv, "pip", "install", "--quiet", "--python", str(python), *WEB_PACKAGES], venv.parent)
    return python


def _lint(case: WebCase, repo: Path, python: Path) -> None:
    """The repository's own formatters and linters, as configured there, pass."""
    for command in case.lint:
        tool = (
            Path(sys.executable).parent / "ruff"
            if command[0] == "ruff"
            else python.parent / command[0]
        )
        result = subprocess.run(
            [str(tool), *command[1:]], cwd=repo, capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, f"{' '.join(command)}:\n{result.stdout}{result.stderr}"


def _inject(repo: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    return run(
        [sys.executable, "-m", "shortstack.inject", "--dest", str(repo), *flags],
        REPO,
        env={"PYTHONPATH": str(REPO)},
        check=False,
    )


def _serve(case: WebCase, repo: Path, python: Path) -> tuple[int, dict[str, object], str]:
    """Start gunicorn as the repository does, send the crashing request, stop it: the answer."""
    port = free_port()
    gunicorn = python.parent / "gunicorn"
    env = {**os.environ, "PYTHONPATH": str(repo / case.pythonpath), **case.env}
    env.pop("VIRTUAL_ENV", None)
    server = subprocess.Popen(
        [str(gunicorn), *case.serve, "--bind", f"127.0.0.1:{port}"],
        cwd=repo,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        try:
            status, text = get_when_up(f"http://127.0.0.1:{port}{case.path}", server)
        except RuntimeError as error:
            pytest.fail(f"{error}: {server.stderr.read() if server.stderr else ''}")
        body = json.loads(text)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        _, stderr = server.communicate(timeout=30)
    return status, body, stderr


def _report(stderr: str) -> tuple[list[str], str]:
    """The one crash report in *stderr*: its lines, and its error id."""
    headers = list(REPORT_HEADER.finditer(stderr))
    assert len(headers) == 1, f"expected one report, got {len(headers)}:\n{stderr}"
    lines = stderr[headers[0].start() :].splitlines()
    report = [lines[0]] + [line for line in _indented(lines[1:])]
    return report, headers[0].group(2)


def _indented(lines: list[str]) -> list[str]:
    kept = []
    for line in lines:
        if not line.startswith("  "):
            break
        kept.append(line)
    return kept


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_wsgi_repositories_inject_serve_and_crash_short(
    case: WebCase, web_python: Path, tmp_path: Path
) -> None:
    repo = shutil.copytree(FIXTURES / case.name, tmp_path / case.name)
    git_init(repo, "the team's repository")
    _lint(case, repo, web_python)  # green before, as a real repository's checks are

    first = _inject(repo)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "Not wired" not in first.stdout, first.stdout
    for path, snippets in case.wired.items():
        text = (repo / path).read_text()
        if not snippets:  # a file that must be left alone (a folder of scripts, a test file)
            assert MARKER not in text, path
        for snippet in snippets:
            assert snippet in text, f"{snippet!r} not in {path}:\n{text}"
    added_tests = (repo / "tests" / "errutil").is_dir()
    assert added_tests == case.errutil_tests
    if not case.errutil_tests:
        assert "errutil's own tests are left out" in first.stderr
    _lint(case, repo, web_python)  # and after: added and edited files pass them too
    commit_all(repo, "errutil")

    # The repository's own tests, with its own runner (errutil's with them where pytest runs),
    # as a developer runs them: from the root, nothing installed, no PYTHONPATH.
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    tests = subprocess.run(
        [str(web_python), *case.own_tests], cwd=repo, env=env, capture_output=True, text=True
    )
    assert tests.returncode == 0, tests.stdout + tests.stderr
    if case.errutil_tests:
        assert "passed" in tests.stdout and "failed" not in tests.stdout, tests.stdout

    # A crash through the real server: one short report; the client gets the right answer.
    status, body, stderr = _serve(case, repo, web_python)
    report, error_id = _report(stderr)
    assert status == 500
    assert report[0].startswith(f"{case.error}  [error_id="), report
    assert len(report) <= 6 and f"  at {case.raise_site}" in report, "\n".join(report)
    assert "Traceback (most recent call last)" not in stderr, stderr
    assert "Exception on " not in stderr and "Internal Server Error: " not in stderr, stderr
    if case.body is None:
        assert body == {"error": "internal", "error_id": error_id}
    else:
        assert body == case.body

    # A second run changes nothing; --check says every entry point is wired.
    again = _inject(repo)
    assert again.returncode == 0 and "Nothing to change" in again.stdout, again.stdout
    check = _inject(repo, "--check")
    assert check.returncode == 0, check.stdout + check.stderr
    assert not run(["git", "status", "--porcelain"], repo).stdout
