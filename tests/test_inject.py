"""`make setup-panic-handler`: errutil added to existing Python repositories and wired (issue 4).

Each fixture repository (tests/fixtures/inject/<name>) is copied out, made a git repository, and
taken through the whole life: dry run, inject, its own tests (errutil's included), a real crash,
a second run that changes nothing, `--check`, and a later `copier update` of the component from a
new template version.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml
from copier import run_update

from conftest import (
    REPO,
    commit_all,
    git_init,
    path_without_uv,
    publish,
    render,
    run,
    snapshot_template,
    uv_bin,
)
from shortstack.devtools import free_port, get_when_up
from shortstack.inject.detect import InjectError, detect_layout
from shortstack.inject.plan import plan_wiring
from shortstack.inject.wire import FilePlan, Manual

FIXTURES = Path(__file__).parent / "fixtures" / "inject"
ANSWERS = ".copier-answers.errutil.yml"
ERRUTIL_INIT = Path("template/python/{{package_path}}/{{errutil_module}}/__init__.py")
MARKER = "# errutil: wired"
# What a console-script wrapper does (pip and uv write the same): it never runs `__main__` blocks.
WRAPPER = "import sys\nfrom {module} import {function}\nsys.exit({function}())\n"
# An HTTP request through the app, in a fresh interpreter (the app is imported as uvicorn would).
CLIENT = (
    "from starlette.testclient import TestClient\n"
    "{setup}\n"
    "response = TestClient(app, raise_server_exceptions=False).get({path!r})\n"
    "print(response.status_code, response.text)\n"
)
# The fixture repositories' own test runs share one environment.
FIXTURE_PACKAGES = [
    *("fastapi", "starlette", "httpx", "uvicorn", "structlog", "pytest", "hypothesis"),
]


@dataclass(frozen=True)
class Case:
    name: str
    package_path: str
    tests_dir: str
    crash: list[str]  # python arguments that crash it
    error: str  # the report's first words
    frame: str  # the innermost frame of the repository's own code, which the report shows
    wired: dict[str, list[str]]  # file -> lines it holds after the injection
    module: str = "errutil"
    http: bool = False
    manual: int = 0  # entry points reported for a human to wire
    log_prefix: str = ""
    unchanged: list[str] = field(default_factory=list)

    @property
    def pythonpath(self) -> str:
        return str(Path(self.package_path).parent)


CASES = [
    Case(
        name="src_cli",
        package_path="src/inventory",
        tests_dir="tests",
        crash=["-c", WRAPPER.format(module="inventory.cli", function="main"), "zz"],
        error="KeyError: 'zz'",
        frame="store.py:5 in fetch",
        wired={
            "src/inventory/cli.py": [
                f"from inventory import errutil  {MARKER}\nfrom inventory.core import lookup",
                f'    """Print the stock of one SKU."""\n    errutil.install()  {MARKER}\n'
                "    # Parse before touching the store",
            ]
        },
        manual=1,  # inventory-admin names a method
    ),
    Case(
        name="flat_main",
        package_path="reporter",
        tests_dir="tests",
        crash=["-m", "reporter", "--empty"],
        error="ZeroDivisionError: division by zero",
        frame="render.py:2 in average",
        wired={
            "reporter/__main__.py": [
                f"from reporter import errutil  {MARKER}\n",
                'if __name__ == "__main__":  # run as a module only\n'
                f"    errutil.install()  {MARKER}\n"
                "    run(sys.argv[1:])",
            ]
        },
    ),
    Case(
        name="fastapi_app",
        package_path="src/shop",
        tests_dir="tests",
        crash=["-c", CLIENT.format(setup="from shop.api import app", path="/orders/zz")],
        error="KeyError: 'zz'",
        frame="repo.py:5 in load_order",
        http=True,
        wired={
            "src/shop/api.py": [
                f"from shop import errutil, service  {MARKER}\n",  # joined, as isort would
                f'app = FastAPI(title="Shop")  # one app per process\n'
                f"app.add_middleware(errutil.ErrorMiddleware)  {MARKER}\n"
                f"errutil.install()  {MARKER}\n",
            ]
        },
    ),
    Case(
        name="factory",
        package_path="src/billing",
        tests_dir="tests",
        crash=[
            "-c",
            CLIENT.format(
                setup="from billing.app import create_app\napp = create_app()",
                path="/invoices/abc",
            ),
        ],
        error="ValueError: invalid literal for int()",
        frame="invoices.py:2 in parse_count",
        http=True,
        wired={
            "src/billing/app.py": [
                '    app = Starlette(routes=[Route("/invoices/{count}", invoice)])\n'
                f"    app.add_middleware(errutil.ErrorMiddleware)  {MARKER}\n"
                f"    errutil.install()  {MARKER}\n"
                "    # Routes are all declared above.\n    return app\n",
            ]
        },
    ),
    Case(
        name="own_logging",
        package_path="src/notifier",
        tests_dir="tests",
        crash=["-c", WRAPPER.format(module="notifier.main", function="main"), "nobody"],
        error="KeyError: 'nobody'",
        frame="send.py:9 in send",
        wired={"src/notifier/main.py": [f"def main() -> None:\n    errutil.install()  {MARKER}\n"]},
        log_prefix="notifier ERROR [errutil] ",
        unchanged=["src/notifier/logconfig.py"],
    ),
    Case(
        name="structlog_app",
        package_path="src/audit",
        tests_dir="tests",
        crash=["-c", WRAPPER.format(module="audit.main", function="main"), "nobody"],
        error="KeyError: 'nobody'",
        frame="roles.py:5 in role_of",
        wired={"src/audit/main.py": [f"def main() -> None:\n    errutil.install()  {MARKER}\n"]},
        log_prefix='{"event": "',  # the repository's structlog renders the report as JSON
        unchanged=["src/audit/logconfig.py"],
    ),
    Case(
        name="has_errutil",
        package_path="src/legacy",
        tests_dir="tests",
        crash=["-c", WRAPPER.format(module="legacy.cli", function="main"), "abc"],
        error="ValueError: invalid literal for int()",
        frame="cli.py:7 in parse",  # the import joined the repository's own one
        module="crash_errutil",
        wired={
            "src/legacy/cli.py": [
                f"from legacy import crash_errutil, errutil  {MARKER}\n",
                f"def main() -> int:\n    crash_errutil.install()  {MARKER}\n",
                "print(errutil.describe(",  # the repository's own errutil is still used
            ]
        },
        unchanged=["src/legacy/errutil.py"],
    ),
]


# --- Helpers -------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def template_v1(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This checkout as a template repository whose HEAD is tagged v0.1.0."""
    template = snapshot_template(tmp_path_factory.mktemp("inject-template") / "shortstack")
    run(["git", "tag", "v0.1.0"], template)
    publish(template)
    return template


@pytest.fixture(scope="session")
def fixture_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One environment (uv, shared cache) for every fixture repository's tests and crashes."""
    venv = tmp_path_factory.mktemp("inject-venv") / "venv"
    env = {"UV_PYTHON_DOWNLOADS": "never"}
    uv = uv_bin()
    run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], venv.parent, env=env)
    python = venv / "bin" / "python"
    run([uv, "pip", "install", "--quiet", "--python", str(python), *FIXTURE_PACKAGES], venv.parent)
    return python


def clone(template: Path, dst: Path) -> Path:
    """A template repository of its own (tags included), so a test can add versions to it."""
    run(["git", "clone", "--quiet", str(template), str(dst)], template.parent)
    publish(dst)
    return dst


def copy_fixture(name: str, dst: Path, git: bool = True) -> Path:
    shutil.copytree(FIXTURES / name, dst)
    if git:
        git_init(dst, "the team's repository")
    return dst


def inject(template: Path, repo: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    """`make setup-panic-handler DEST=repo` as the template's Makefile runs it."""
    return run(
        [sys.executable, "-m", "shortstack.inject", "--dest", str(repo), *flags],
        template,
        env={"PYTHONPATH": str(template)},
        check=False,
    )


def tree(repo: Path) -> dict[str, bytes]:
    return {
        path.relative_to(repo).as_posix(): path.read_bytes()
        for path in sorted(repo.rglob("*"))
        if path.is_file() and ".git" not in path.parts and "__pycache__" not in path.parts
    }


def git_status(repo: Path) -> str:
    return run(["git", "status", "--porcelain", "--untracked-files=all"], repo).stdout


def check_report(case: Case, result: subprocess.CompletedProcess[str]) -> None:
    """One short report, through the repository's logging; the client sees only an error id."""
    assert "Traceback (most recent call last)" not in result.stderr, result.stderr
    assert "Exception in ASGI application" not in result.stderr, result.stderr
    first = re.search(
        rf"^{re.escape(case.log_prefix + case.error)}.*\[error_id=([0-9a-f-]{{36}})\]",
        result.stderr,
        re.MULTILINE,
    )
    assert first, result.stderr
    assert case.frame in result.stderr, result.stderr
    if case.http:
        status, _, body = result.stdout.strip().partition(" ")
        assert status == "500", result.stdout
        assert json.loads(body) == {"error": "internal", "error_id": json.loads(body)["error_id"]}
        assert json.loads(body)["error_id"] == first.group(1)
    else:
        assert result.returncode != 0


# --- The whole life of an injection, per repository shape ---------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_inject_then_crash_then_rerun_then_update(
    case: Case, template_v1: Path, fixture_python: Path, tmp_path: Path
) -> None:
    template = clone(template_v1, tmp_path / "shortstack")
    repo = copy_fixture(case.name, tmp_path / case.name)
    before = tree(repo)
    dry_run_writes_nothing(case, template, repo, before, tmp_path / "dry-run.diff")
    injection_wires_each_entry_point(case, template, repo, before)
    check_tests_pass_and_a_crash_is_short(case, repo, fixture_python)
    a_second_run_changes_nothing(case, template, repo)
    copier_update_pulls_a_newer_errutil(case, template, repo, before)


def dry_run_writes_nothing(
    case: Case, template: Path, repo: Path, before: dict[str, bytes], diff: Path
) -> None:
    """DRY_RUN=1: the diff, and nothing written."""
    dry = inject(template, repo, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert f"+++ b/{ANSWERS}" in dry.stdout
    for path in case.wired:
        assert f"+++ b/{path}" in dry.stdout
    assert tree(repo) == before and not git_status(repo)
    diff.write_text(dry.stdout)
    run(["git", "apply", "--check", str(diff)], repo)  # the diff alone


def injection_wires_each_entry_point(
    case: Case, template: Path, repo: Path, before: dict[str, bytes]
) -> None:
    """The injection: component added, entry points wired, file by file."""
    first = inject(template, repo)
    assert first.returncode == 0, first.stderr
    for path, snippets in case.wired.items():
        assert f"wired     {path}: " in first.stdout
        text = (repo / path).read_text()
        for snippet in snippets:
            assert snippet in text, f"{snippet!r} not in {path}:\n{text}"
    assert f"added     {case.package_path}/{case.module}/__init__.py" in first.stdout
    # The component is errutil's folders and its two files: nothing else of the template.
    errutil_dirs = (f"{case.package_path}/{case.module}/", f"{case.tests_dir}/{case.module}/")
    added = {line[3:] for line in git_status(repo).splitlines() if line.startswith("??")}
    assert {path for path in added if not path.startswith(errutil_dirs)} == {ANSWERS, "errutil.mk"}
    assert ("Not wired (add the line by hand)" in first.stdout) == bool(case.manual)
    assert first.stdout.count("\n      from ") == case.manual
    for path, content in before.items():  # nothing the repository had is lost
        if path not in case.wired:
            assert (repo / path).read_bytes() == content, path
    answers = yaml.safe_load((repo / ANSWERS).read_text())
    assert answers["errutil_module"] == case.module
    assert answers["package_path"] == case.package_path
    assert answers["_commit"] == "v0.1.0"
    # The template's public URL is recorded, never a path of this machine.
    origin = run(["git", "config", "--get", "remote.origin.url"], template).stdout.strip()
    assert answers["_src_path"] == origin
    for line in git_status(repo).splitlines():
        path = line[3:]
        content = (repo / path).read_bytes() if (repo / path).is_file() else b""
        assert str(template).encode() not in content and str(REPO).encode() not in content, path


def check_tests_pass_and_a_crash_is_short(case: Case, repo: Path, fixture_python: Path) -> None:
    """The repository's own tests still pass, errutil's run with them; a crash is one report."""
    tests = run(
        [str(fixture_python), "-m", "pytest", "-v", "-p", "no:cacheprovider"],
        repo,
        env={"PYTHONPATH": case.pythonpath},
    )
    assert f"{case.tests_dir}/{case.module}/" in tests.stdout
    assert " passed" in tests.stdout and " failed" not in tests.stdout
    crash = run(
        [str(fixture_python), *case.crash], repo, env={"PYTHONPATH": case.pythonpath}, check=False
    )
    check_report(case, crash)


def a_second_run_changes_nothing(case: Case, template: Path, repo: Path) -> None:
    """A second run changes nothing and says so; --check agrees."""
    commit_all(repo, "errutil")
    again = inject(template, repo)
    assert again.returncode == 0, again.stderr
    assert "Nothing to change" in again.stdout
    assert not git_status(repo)
    check = inject(template, repo, "--check")
    assert check.returncode == (1 if case.manual else 0), check.stdout
    assert "NOT WIRED" not in check.stdout


def copier_update_pulls_a_newer_errutil(
    case: Case, template: Path, repo: Path, before: dict[str, bytes]
) -> None:
    """Later, the template improves errutil: `copier update -a .copier-answers.errutil.yml`."""
    improved = template / ERRUTIL_INIT
    improved.write_text(improved.read_text() + "\n# errutil v0.2.0\n")
    commit_all(template, "errutil v0.2.0")
    run(["git", "tag", "v0.2.0"], template)
    run_update(
        str(repo), answers_file=ANSWERS, defaults=True, overwrite=True, unsafe=False, quiet=True
    )
    assert (
        "# errutil v0.2.0" in (repo / case.package_path / case.module / "__init__.py").read_text()
    )
    assert yaml.safe_load((repo / ANSWERS).read_text())["_commit"] == "v0.2.0"
    changed = {line[3:] for line in git_status(repo).splitlines()}
    assert changed == {ANSWERS, f"{case.package_path}/{case.module}/__init__.py"}, changed
    for path in case.unchanged:
        assert (repo / path).read_bytes() == before[path]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_a_dirty_tree_is_refused_and_left_alone(case: Case, tmp_path: Path) -> None:
    repo = copy_fixture(case.name, tmp_path / case.name)
    (repo / "notes.txt").write_text("work in progress\n")
    before = tree(repo)
    result = inject(Path(__file__).parents[1], repo)
    assert result.returncode == 2
    assert "uncommitted changes" in result.stderr and "notes.txt" in result.stderr
    assert "FORCE=1" in result.stderr
    assert tree(repo) == before


def test_a_directory_outside_git_is_refused_unless_forced(
    tmp_path: Path, template_v1: Path
) -> None:
    repo = copy_fixture("src_cli", tmp_path / "src_cli", git=False)
    before = tree(repo)
    refused = inject(template_v1, repo)
    assert refused.returncode == 2 and "not a git repository" in refused.stderr
    assert tree(repo) == before
    forced = inject(template_v1, repo, "--force")
    assert forced.returncode == 0, forced.stderr
    assert "wired     src/inventory/cli.py" in forced.stdout


@pytest.mark.slow
def test_uvicorn_serves_the_wired_app_with_short_reports(
    template_v1: Path, fixture_python: Path, tmp_path: Path
) -> None:
    repo = copy_fixture("fastapi_app", tmp_path / "fastapi_app")
    assert inject(template_v1, repo).returncode == 0
    port = free_port()
    log = tmp_path / "uvicorn.log"
    with log.open("w") as sink:
        server = subprocess.Popen(
            [str(fixture_python), "-m", "uvicorn", "shop.api:app", "--port", str(port)],
            cwd=repo,
            env={**os.environ, "PYTHONPATH": "src"},
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
        try:
            status, text = get_when_up(f"http://127.0.0.1:{port}/orders/zz", server)
            assert status == 500, text
            body = json.loads(text)
        finally:
            server.terminate()
            server.wait(timeout=30)
    output = log.read_text()
    assert set(body) == {"error", "error_id"} and body["error"] == "internal"
    assert f"[error_id={body['error_id']}]" in output, output
    assert "repo.py:5 in load_order" in output
    assert "Traceback" not in output and "Exception in ASGI application" not in output


# --- Wiring shapes, without copier ---------------------------------------------------------------


def _repo(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def _plan(repo: Path, module: str = "errutil") -> tuple[dict[str, FilePlan], list[Manual]]:
    plans, problems = plan_wiring(detect_layout(repo), module)
    return {plan.path: plan for plan in plans}, problems + [m for p in plans for m in p.manual]


def test_an_app_built_inside_a_block_is_reported_not_edited(tmp_path: Path) -> None:
    source = (
        "import os\n\nfrom fastapi import FastAPI\n\n"
        'if os.environ.get("DEBUG"):\n    app = FastAPI(debug=True)\nelse:\n    app = FastAPI()\n'
    )
    repo = _repo(tmp_path, {"src/svc/__init__.py": "", "src/svc/api.py": source})
    plans, manual = _plan(repo)
    assert not plans["src/svc/api.py"].changed
    assert [(m.line, m.what) for m in manual] == [(6, "`app = ...`"), (8, "`app = ...`")]
    assert manual[0].instruction == (
        "from svc import errutil; app.add_middleware(errutil.ErrorMiddleware); errutil.install()"
    )


def test_a_factory_that_returns_the_app_unnamed_is_reported(tmp_path: Path) -> None:
    source = "from fastapi import FastAPI\n\n\ndef create_app():\n    return FastAPI()\n"
    repo = _repo(tmp_path, {"svc/__init__.py": "", "svc/app.py": source})
    plans, manual = _plan(repo)
    assert not plans["svc/app.py"].changed
    assert len(manual) == 1 and "returns the app without naming it" in manual[0].reason


def test_a_one_line_main_block_becomes_a_block(tmp_path: Path) -> None:
    source = 'from svc.jobs import run\n\nif __name__ == "__main__": run()  # go\n'
    repo = _repo(tmp_path, {"svc/__init__.py": "", "svc/__main__.py": source})
    plans, manual = _plan(repo)
    assert plans["svc/__main__.py"].new == (
        f"from svc import errutil  {MARKER}\nfrom svc.jobs import run\n\n"
        f'if __name__ == "__main__":\n    errutil.install()  {MARKER}\n    run()  # go\n'
    )
    assert not manual


def test_crlf_line_endings_are_kept(tmp_path: Path) -> None:
    source = "from fastapi import FastAPI\r\n\r\napp = FastAPI()\r\n"
    repo = tmp_path
    (repo / "svc").mkdir()
    (repo / "svc/__init__.py").write_bytes(b"")
    (repo / "svc/api.py").write_bytes(source.encode())
    plans, _ = _plan(repo)
    new = plans["svc/api.py"].new
    assert new.count("\r\n") == new.count("\n") == 7, new


def test_a_name_already_bound_gets_an_alias(tmp_path: Path) -> None:
    source = (
        "from fastapi import FastAPI\n\nimport errutil\n\n"
        "app = FastAPI()\napp.state.helper = errutil.helper\n"
    )
    repo = _repo(tmp_path, {"svc/__init__.py": "", "svc/api.py": source, "errutil.py": ""})
    plans, _ = _plan(repo)
    new = plans["svc/api.py"].new
    assert f"from svc import errutil as svc_errutil  {MARKER}\n" in new
    assert f"app.add_middleware(svc_errutil.ErrorMiddleware)  {MARKER}\n" in new
    assert "app.state.helper = errutil.helper\n" in new


def test_relative_imports_and_installs_at_start_up_count_as_wired(tmp_path: Path) -> None:
    """The shape of a service rendered from the template: nothing to add."""
    files = {
        "src/svc/__init__.py": "",
        "src/svc/startup.py": "from . import errutil\n\n\ndef start():\n    errutil.install()\n",
        "src/svc/app.py": (
            "from fastapi import FastAPI\n\nfrom . import errutil\n\n\n"
            "def create_app():\n    app = FastAPI()\n"
            "    app.add_middleware(errutil.ErrorMiddleware)\n    return app\n"
        ),
        "src/svc/__main__.py": (
            "from .startup import start\n\n\ndef main():\n    start()\n\n\n"
            'if __name__ == "__main__":\n    main()\n'
        ),
        "pyproject.toml": '[project]\nname = "svc"\n[project.scripts]\nsvc = "svc.__main__:main"\n',
    }
    plans, manual = _plan(_repo(tmp_path, files))
    assert not any(plan.changed for plan in plans.values())
    assert not manual
    assert plans["src/svc/app.py"].already == ["`app` (factory create_app())"]


def test_a_one_line_console_script_body_is_reported(tmp_path: Path) -> None:
    files = {
        "svc/__init__.py": "",
        "svc/cli.py": "def main(): return 0\n",
        "pyproject.toml": '[project]\nname = "svc"\n[project.scripts]\nsvc = "svc.cli:main"\n',
    }
    plans, manual = _plan(_repo(tmp_path, files))
    assert not plans["svc/cli.py"].changed
    assert (
        len(manual) == 1 and manual[0].instruction == "from svc import errutil; errutil.install()"
    )


def test_the_package_is_detected_or_asked_for(tmp_path: Path) -> None:
    with pytest.raises(InjectError, match="No Python package found"):
        detect_layout(_repo(tmp_path / "none", {"script.py": ""}))
    several = _repo(tmp_path / "several", {"a/__init__.py": "", "b/__init__.py": ""})
    with pytest.raises(InjectError, match=r"Several packages in .*: a, b\..*PACKAGE=name"):
        detect_layout(several)
    assert detect_layout(several, "b").package_path == "b"
    with pytest.raises(InjectError, match=r"PACKAGE=c: neither src/c/__init__\.py nor"):
        detect_layout(several, "c")
    named = _repo(
        tmp_path / "named",
        {
            "src/a/__init__.py": "",
            "src/b_c/__init__.py": "",
            "pyproject.toml": 'project.name = "b-c"\n',
        },
    )
    assert detect_layout(named).package_path == "src/b_c"


def test_wired_imports_pass_isort(tmp_path: Path) -> None:
    """The import goes where ruff's isort expects it, so a repository's lint stays green."""
    repo = copy_fixture("src_cli", tmp_path / "src_cli", git=False)
    plans, _ = _plan(repo)
    wired = repo / "src/inventory/cli.py"
    wired.write_text(plans["src/inventory/cli.py"].new)
    lint = run(
        [sys.executable, "-m", "ruff", "check", "--isolated", "--select", "I", str(wired)],
        repo,
        check=False,
    )
    assert lint.returncode == 0, lint.stdout


MAIN_BODY = (
    '\n\ndef main() -> None:\n    print(core, Thing)\n\n\nif __name__ == "__main__":\n    main()\n'
)


@pytest.mark.parametrize(
    ("imports", "merged"),
    [
        pytest.param(
            "from svc import Thing, core\n",
            f"from svc import Thing, core, errutil  {MARKER}\n",
            id="one-line",
        ),
        pytest.param(
            "from svc import Thing, core, long_module_name_number_one, long_module_name_two\n",
            "from svc import (\n    Thing,\n    core,\n"
            f"    errutil,  {MARKER}\n"
            "    long_module_name_number_one,\n    long_module_name_two,\n)\n",
            id="too-long-is-wrapped",
        ),
        pytest.param(
            "from svc import (\n    Thing,\n    core,  # theirs\n)\n",
            f"from svc import (\n    Thing,\n    core,  # theirs\n    errutil,  {MARKER}\n)\n",
            id="wrapped-last",
        ),
        pytest.param(
            "from svc import (\n    Thing,  # theirs\n    core,\n    zeta,\n)\n",
            "from svc import (\n    Thing,  # theirs\n    core,\n"
            f"    errutil,  {MARKER}\n    zeta,\n)\n",
            id="wrapped-middle",
        ),
        pytest.param(
            "from svc import Thing, core  # theirs\n",
            f"from svc import Thing, core  # theirs\nfrom svc import errutil  {MARKER}\n",
            id="their-comment-keeps-its-line",
        ),
    ],
)
def test_the_import_joins_an_existing_one_from_the_package(
    imports: str, merged: str, tmp_path: Path
) -> None:
    """isort merges `from svc import ...` lines, so errutil's name goes into the existing one."""
    source = "import sys\n\n" + imports + MAIN_BODY.replace("print(", "print(sys, ")
    files = {"svc/__init__.py": "", "svc/__main__.py": source, "svc/zeta.py": ""}
    repo = _repo(tmp_path, {**files, "svc/long_module_name_number_one.py": ""})
    plans, _ = _plan(repo)
    wired = plans["svc/__main__.py"].new
    assert wired.startswith("import sys\n\n" + merged), wired
    assert "errutil.install()" in wired
    (repo / "svc/__main__.py").write_text(wired)
    lint = run(
        [sys.executable, "-m", "ruff", "check", "--isolated", "--select", "I", str(repo)],
        repo,
        check=False,
    )
    # a trailing comment of theirs: the two lines are left for their formatter to join
    assert (lint.returncode == 0) == ("theirs\nfrom" not in merged), lint.stdout
    again, _ = _plan(repo)
    assert not again["svc/__main__.py"].changed  # recognised on a second run


# --- Entry points: make, the make fragment, a rendered service ------------------------------------


def test_make_target_needs_dest() -> None:
    result = run(["make", "--no-print-directory", "setup-panic-handler"], REPO, check=False)
    assert result.returncode != 0
    assert "usage: make setup-panic-handler DEST=../their-repo" in result.stderr


@pytest.mark.slow
def test_make_dry_run_then_the_fragment_inside_the_repo(template_v1: Path, tmp_path: Path) -> None:
    repo = copy_fixture("flat_main", tmp_path / "flat_main")
    # As on a new machine: no uv on PATH, none installed in the template checkout yet. The
    # Makefile installs it first, and stdout still carries the diff and nothing else.
    assert not (template_v1 / ".tools").exists()
    dry = run(
        ["make", "--no-print-directory", "setup-panic-handler", f"DEST={repo}", "DRY_RUN=1"],
        template_v1,
        env={"PATH": path_without_uv(tmp_path)},
    )
    assert dry.stdout.startswith("diff --git ")  # the diff and nothing else
    (tmp_path / "make-dry-run.diff").write_text(dry.stdout)
    run(["git", "apply", "--check", str(tmp_path / "make-dry-run.diff")], repo)
    assert "+++ b/reporter/__main__.py" in dry.stdout
    assert not git_status(repo)
    run(["make", "--no-print-directory", "setup-panic-handler", f"DEST={repo}"], template_v1)
    commit_all(repo, "errutil")

    # Later, from inside the repository: a new entry point, then the fragment wires it.
    (repo / "reporter/weekly.py").write_text(
        'from reporter.jobs import run\n\nif __name__ == "__main__":\n    run([])\n'
    )
    commit_all(repo, "weekly report")
    fragment = ["make", "--no-print-directory", "-f", "errutil.mk"]
    # errutil.mk records no path of this machine: without SHORTSTACK it says how to get one.
    bare = run([*fragment, "errutil-check"], repo, check=False)
    origin = run(["git", "config", "--get", "remote.origin.url"], template_v1).stdout.strip()
    assert bare.returncode == 2 and f"git clone {origin} and pass SHORTSTACK=" in bare.stderr
    shortstack = f"SHORTSTACK={template_v1}"
    check = run([*fragment, "errutil-check", shortstack], repo, check=False)
    assert check.returncode != 0 and "NOT WIRED reporter/weekly.py" in check.stdout
    wire = run([*fragment, "setup-panic-handler", shortstack], repo)
    assert "wired     reporter/weekly.py: install() at the start of" in wire.stdout
    assert f"    errutil.install()  {MARKER}\n" in (repo / "reporter/weekly.py").read_text()


@pytest.mark.go
@pytest.mark.skipif(shutil.which("go") is None, reason="needs the Go toolchain")
def test_a_go_module_is_handed_to_gowire(tmp_path: Path) -> None:
    repo = tmp_path / "tool"
    repo.mkdir()
    (repo / "go.mod").write_text("module example.com/tool\n\ngo 1.22\n")
    (repo / "main.go").write_text(
        'package main\n\nimport "fmt"\n\nfunc main() {\n\tfmt.Println(1)\n}\n'
    )
    git_init(repo)
    before = tree(repo)
    result = inject(REPO, repo, "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "is a Go module: gowire -dest" in result.stderr
    assert "defer errutil.Recover()" in result.stdout
    assert tree(repo) == before


def test_a_rendered_service_is_already_wired(tmp_path: Path) -> None:
    service = render(tmp_path / "svc")
    result = inject(REPO, service, "--check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is wired into every entry point found" in result.stdout
