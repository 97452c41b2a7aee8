"""Injection into repositories shaped as real ones are: every entry-point format, test files,
several packages and root modules, aliases, own hooks, encodings, and faults that must leave the
tree exactly as it was (and nothing written outside it)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, commit_all, git_init, run
from shortstack.inject import apply as apply_module
from shortstack.inject import component
from shortstack.inject.cli import main as inject_main
from shortstack.inject.detect import InjectError, detect_layout
from shortstack.inject.imports import MARKER
from shortstack.inject.plan import plan_wiring
from shortstack.inject.servers import find_server_targets
from shortstack.inject.wire import FilePlan, Manual


def _repo(root: Path, files: dict[str, str | bytes]) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return root


def _plan(repo: Path) -> tuple[dict[str, FilePlan], list[Manual]]:
    plans, problems = plan_wiring(detect_layout(repo), "errutil")
    return {plan.path: plan for plan in plans}, problems + [m for p in plans for m in p.manual]


def _tree(root: Path) -> dict[str, bytes | str]:
    """Every entry under *root* (links as their target), to compare before and after."""
    found: dict[str, bytes | str] = {}
    for path in sorted(root.rglob("*")):
        if ".git" in path.relative_to(root).parts:
            continue
        key = path.relative_to(root).as_posix()
        if path.is_symlink():
            found[key] = "-> " + os.readlink(path)
        elif path.is_file():
            found[key] = path.read_bytes()
        else:
            found[key] = "dir"
    return found


def _inject(repo: Path, *flags: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = inject_main(["--dest", str(repo), *flags])
    out, err = capsys.readouterr()
    return code, out, err


MAIN = "def main():\n    return 0\n"


# --- Entry points in every packaging format ------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("pyproject.toml", '[project]\nname = "svc"\n[project.scripts]\nsvc = "svc.cli:main"\n'),
        (
            "pyproject.toml",
            '[project]\nname = "svc"\n[project.gui-scripts]\nsvc = "svc.cli:main"\n',
        ),
        (
            "pyproject.toml",
            '[project]\nname = "svc"\n[project.entry-points.console_scripts]\n'
            'svc = "svc.cli:main"\n',
        ),
        (
            "pyproject.toml",
            '[tool.poetry]\nname = "svc"\n[tool.poetry.scripts]\nsvc = "svc.cli:main"\n',
        ),
        (
            "pyproject.toml",
            '[tool.poetry]\nname = "svc"\n[tool.poetry.scripts]\n'
            'svc = { callable = "svc.cli:main" }\n',
        ),
        (
            "setup.cfg",
            "[metadata]\nname = svc\n\n[options.entry_points]\nconsole_scripts =\n"
            "    svc = svc.cli:main [extra]\n",
        ),
        (
            "setup.py",
            "from setuptools import setup\n\nsetup(\n    name='svc',\n"
            "    entry_points={'console_scripts': ['svc=svc.cli:main']},\n)\n",
        ),
    ],
    ids=[
        "scripts",
        "gui-scripts",
        "entry-points",
        "poetry",
        "poetry-table",
        "setup.cfg",
        "setup.py",
    ],
)
def test_a_console_script_in_any_format_is_wired(tmp_path: Path, name: str, content: str) -> None:
    repo = _repo(tmp_path, {"svc/__init__.py": "", "svc/cli.py": MAIN, name: content})
    plans, manual = _plan(repo)
    assert not manual
    assert plans["svc/cli.py"].changes == [
        "import errutil",
        "install() at the start of main() (console script `svc`)",
    ]


def test_a_script_whose_module_is_missing_names_the_file_that_declares_it(tmp_path: Path) -> None:
    setup_cfg = "[options.entry_points]\nconsole_scripts =\n    svc = svc.gone:main\n"
    repo = _repo(tmp_path, {"svc/__init__.py": "", "setup.cfg": setup_cfg})
    _, manual = _plan(repo)
    assert [(m.path, m.reason) for m in manual] == [
        ("setup.cfg", "its module was not found in the repository")
    ]


# --- Test files are never entry points ------------------------------------------------------------


def test_test_files_are_never_wired(tmp_path: Path) -> None:
    guard = 'import unittest\n\nif __name__ == "__main__":\n    unittest.main()\n'
    repo = _repo(
        tmp_path,
        {
            "svc/__init__.py": "",
            "svc/tests/helpers.py": guard,
            "svc/check_test.py": guard,
            "tests.py": guard,
            "test_app.py": guard,
            "conftest.py": guard,
            "testing/run.py": guard,
            "run.py": guard,  # a root script: an entry point
        },
    )
    plans, _ = _plan(repo)
    assert [path for path, plan in plans.items() if plan.changed] == ["run.py"]


# --- The app is the whole repository --------------------------------------------------------------


def test_every_package_and_root_module_is_the_apps(tmp_path: Path) -> None:
    app = "from fastapi import FastAPI\n\nfrom lib import store\n\napp = FastAPI()\n"
    repo = _repo(
        tmp_path,
        {
            "main.py": app,
            "lib/__init__.py": "",
            "lib/store.py": "",
            "jobs/__init__.py": "",
            "jobs/nightly.py": 'if __name__ == "__main__":\n    print(1)\n',
            "setup.py": "",
            "test_main.py": "",
            "pyproject.toml": '[project]\nname = "lib"\n',
        },
    )
    layout = detect_layout(repo)
    assert layout.package_path == "lib"
    assert layout.app_packages == ("lib", "jobs", "main")
    plans, _ = _plan(repo)
    assert plans["main.py"].changed and plans["jobs/nightly.py"].changed
    assert f"from lib import errutil, store  {MARKER}\n" in plans["main.py"].new


# --- What counts as wired already ----------------------------------------------------------------


def test_an_aliased_errutil_counts_as_installed(tmp_path: Path) -> None:
    source = (
        "from svc import errutil as eu\n\n\ndef main():\n    eu.install()\n\n\n"
        'if __name__ == "__main__":\n    eu.install()\n    main()\n'
    )
    repo = _repo(tmp_path, {"svc/__init__.py": "", "svc/__main__.py": source})
    plans, manual = _plan(repo)
    assert not plans["svc/__main__.py"].changed and not manual


def test_an_own_excepthook_is_listed_and_check_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = (
        "import sys\n\n\ndef my_hook(*args):\n    pass\n\n\nsys.excepthook = my_hook\n\n"
        'if __name__ == "__main__":\n    print(1)\n'
    )
    repo = _repo(tmp_path, {"svc/__init__.py": "", "svc/__main__.py": source})
    git_init(repo)
    _, manual = _plan(repo)
    assert [(m.line, m.what) for m in manual] == [(8, "`sys.excepthook = ...`")]
    code, _, _ = _inject(repo, capsys=capsys)
    assert code == 0
    run(["git", "add", "-A"], repo)
    run(["git", "commit", "-qm", "errutil"], repo)
    code, out, _ = _inject(repo, "--check", capsys=capsys)
    assert code == 1 and "svc/__main__.py:10: `sys.excepthook = ...`" in out  # below the import


# --- Encodings ------------------------------------------------------------------------------------


def test_a_latin1_file_is_wired_and_stays_latin1(tmp_path: Path) -> None:
    source = (
        '# -*- coding: latin-1 -*-\nGREETING = "grüße"\n\n'
        'if __name__ == "__main__":\n    print(GREETING)\n'
    )
    repo = _repo(tmp_path, {"svc/__init__.py": "", "svc/__main__.py": source.encode("latin-1")})
    plans, manual = _plan(repo)
    plan = plans["svc/__main__.py"]
    assert not manual and plan.changed and plan.encoding == "iso-8859-1"
    assert plan.new.encode(plan.encoding).count("grüße".encode("latin-1")) == 1


# --- All or nothing, only inside DEST -------------------------------------------------------------


def _committed_repo(root: Path) -> Path:
    main = 'if __name__ == "__main__":\n    pass\n'
    # pytest.ini: its tests run under pytest, so errutil's tests are added too.
    _repo(root, {"svc/__init__.py": "", "svc/__main__.py": main, "pytest.ini": "[pytest]\n"})
    git_init(root)
    return root


def test_a_failed_write_restores_every_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = _committed_repo(tmp_path / "repo")
    before = _tree(repo)
    real = Path.write_bytes
    written: list[Path] = []

    def failing(self: Path, data: bytes) -> int:
        if self.name == "__main__.py" and self.parent.name == "svc":  # the last write
            raise PermissionError(13, "Permission denied", str(self))
        written.append(self)
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", failing)
    code, out, err = _inject(repo, capsys=capsys)
    assert code == 2 and len(written) > 5
    assert err.strip().splitlines()[-1] == (
        "setup-panic-handler: writing svc/__main__.py failed (Permission denied); every change "
        "was undone."
    )
    assert "Traceback" not in out + err
    assert _tree(repo) == before
    assert run(["git", "status", "--porcelain"], repo).stdout == ""


def test_write_all_removes_the_folders_it_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = Path.write_bytes

    def failing(self: Path, data: bytes) -> int:
        if self.name == "b.txt":
            raise OSError(28, "No space left on device", str(self))
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", failing)
    with pytest.raises(InjectError, match=r"writing new/b\.txt failed"):
        apply_module.write_all(tmp_path, {"new/deep/a.txt": b"a", "new/b.txt": b"b"})
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("where", ["tests", "svc", "errutil.mk"])
def test_a_symlink_out_of_the_repo_is_refused_and_nothing_is_written(
    tmp_path: Path, where: str, capsys: pytest.CaptureFixture[str]
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    repo = tmp_path / "repo"
    if where == "svc":  # the package itself lives outside
        _repo(outside, {"__init__.py": "", "__main__.py": 'if __name__ == "__main__":\n    pass\n'})
        repo.mkdir()
        (repo / "svc").symlink_to(outside, target_is_directory=True)
        git_init(repo)
    else:
        _committed_repo(repo)
        (repo / where).symlink_to(outside / "missing")  # dangling, committed
        run(["git", "add", "-A"], repo)
        run(["git", "commit", "-qm", "link"], repo)
    before, outside_before = _tree(repo), _tree(outside)
    code, out, err = _inject(repo, capsys=capsys)
    assert code == 2, out + err
    assert "Nothing was changed." in err and "Traceback" not in err
    assert _tree(repo) == before and _tree(outside) == outside_before


# --- Messages and the Makefile --------------------------------------------------------------------


def test_without_a_makefile_the_rerun_hint_says_how(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = _committed_repo(tmp_path / "repo")
    code, out, _ = _inject(repo, capsys=capsys)
    assert code == 0
    assert "make -f errutil.mk setup-panic-handler" in out and "your Makefile" not in out


@pytest.mark.slow
def test_make_passes_dest_without_shell_evaluation(tmp_path: Path) -> None:
    repo = _committed_repo(tmp_path / 'odd $HOME "name" `touch pwned`')
    result = subprocess.run(
        ["make", "--no-print-directory", "setup-panic-handler", f"DEST={repo}", "DRY_RUN=1"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("diff --git ")
    assert "+++ b/svc/__main__.py" in result.stdout
    assert not (REPO / "pwned").exists() and not (tmp_path / "pwned").exists()


def test_a_crash_in_a_root_module_shows_its_frames_as_the_apps(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`main.py` beside a `lib/` package: errutil goes into lib, main.py's frames are the app's."""
    repo = _repo(
        tmp_path / "repo",
        {
            "lib/__init__.py": "",
            "lib/store.py": "def load(key):\n    return {}[key]\n",
            "main.py": (
                "from lib.store import load\n\n\ndef handle():\n    return load('zz')\n\n\n"
                'if __name__ == "__main__":\n    handle()\n'
            ),
        },
    )
    git_init(repo)
    code, _, _ = _inject(repo, capsys=capsys)
    assert code == 0
    crash = subprocess.run(
        [sys.executable, "main.py"], cwd=repo, capture_output=True, text=True, check=False
    )
    lines = crash.stderr.strip().splitlines()
    assert crash.returncode == 1 and lines[0].startswith("KeyError: 'zz'  [error_id="), lines
    assert lines[1:4] == [
        "  at lib/store.py:2 in load",
        "  at main.py:6 in handle",  # one line below: the import errutil added
        "  at main.py:11 in <module>",
    ], crash.stderr


# --- What the answers file records ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("origin", "recorded"),
    [
        (
            "https://git.example.com/team/shortstack.git",
            "https://git.example.com/team/shortstack.git",
        ),
        (
            "https://bob:s3cret@git.example.com/shortstack.git",
            "https://git.example.com/shortstack.git",
        ),
        ("git@git.example.com:team/shortstack.git", "git@git.example.com:team/shortstack.git"),
        ("/home/bob/src/shortstack", None),
        ("../shortstack", None),
        ("file:///home/bob/shortstack", None),
        (None, None),
    ],
)
def test_the_template_source_is_its_public_url_or_nothing(
    tmp_path: Path, origin: str | None, recorded: str | None
) -> None:
    git_init(_repo(tmp_path, {"copier.yml": ""}))
    if origin is not None:
        run(["git", "remote", "add", "origin", origin], tmp_path)
    assert component.public_source(tmp_path) == recorded
    answers = b"# header\n_commit: v1.0.0\n_src_path: /home/bob/src/shortstack\npackage_name: svc\n"
    written = component._record_source(answers, recorded).decode()
    assert "/home/bob" not in written
    assert ("_src_path: " in written) == (recorded is not None)
    assert written.startswith("# header\n_commit: v1.0.0\n") and written.endswith(
        "package_name: svc\n"
    )


# --- WSGI, Flask and Django ----------------------------------------------------------------------


def _wire_twice(repo: Path) -> tuple[dict[str, FilePlan], list[Manual]]:
    """Plan, write the plan, plan again: the second plan must change nothing."""
    plans, manual = _plan(repo)
    for path, plan in plans.items():
        if plan.changed:
            (repo / path).write_bytes(plan.new.encode(plan.encoding))
    again, _ = _plan(repo)
    assert not [path for path, plan in again.items() if plan.changed]
    return plans, manual


def test_a_flask_app_and_a_flask_factory_are_handed_to_init_flask(tmp_path: Path) -> None:
    factory = (
        "from flask import Flask\n\n\ndef create_app():\n    app = Flask(__name__)\n"
        "    app.config.from_mapping(DEBUG=False)\n    return app\n"
    )
    module_level = (
        "import flask\n\napp = flask.Flask(__name__)\n\n\n"
        "@app.get('/')\ndef index():\n    return 'ok'\n"
    )
    repo = _repo(
        tmp_path,
        {
            "svc/__init__.py": factory,
            "svc/site.py": module_level,
            "pyproject.toml": '[project]\nname = "svc"\n',
        },
    )
    plans, manual = _wire_twice(repo)
    assert not manual
    assert plans["svc/__init__.py"].new == (
        f"from flask import Flask\n\nfrom svc import errutil  {MARKER}\n\n\ndef create_app():\n"
        f"    app = Flask(__name__)\n    errutil.init_flask(app)  {MARKER}\n"
        f"    errutil.install()  {MARKER}\n"
        "    app.config.from_mapping(DEBUG=False)\n    return app\n"
    )
    site = plans["svc/site.py"].new
    assert f"app = flask.Flask(__name__)\nerrutil.init_flask(app)  {MARKER}\n" in site


def test_a_django_project_gets_the_middleware_and_its_entry_points(tmp_path: Path) -> None:
    settings = (
        'SECRET_KEY = "x"\nMIDDLEWARE = [\n    "django.middleware.security.SecurityMiddleware",\n'
        '    "django.middleware.common.CommonMiddleware",\n]\nROOT_URLCONF = "mysite.urls"\n'
    )
    wsgi = (
        "import os\n\nfrom django.core.wsgi import get_wsgi_application\n\n"
        'os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")\n\n'
        "application = get_wsgi_application()\n"
    )
    asgi = wsgi.replace("wsgi", "asgi")
    manage = (
        "import sys\n\n\ndef main():\n"
        "    from django.core.management import execute_from_command_line\n\n"
        '    execute_from_command_line(sys.argv)\n\n\nif __name__ == "__main__":\n    main()\n'
    )
    repo = _repo(
        tmp_path,
        {
            "mysite/__init__.py": "",
            "mysite/settings.py": settings,
            "mysite/wsgi.py": wsgi,
            "mysite/asgi.py": asgi,
            "manage.py": manage,
        },
    )
    plans, manual = _wire_twice(repo)
    assert not manual
    assert plans["mysite/settings.py"].new == settings.replace(
        "MIDDLEWARE = [\n",
        f'MIDDLEWARE = [\n    "mysite.errutil.DjangoMiddleware",  {MARKER}\n',
    )
    assert (
        "application = get_wsgi_application()\n"
        f"application = errutil.WSGIMiddleware(application)  {MARKER}\n"
        f"errutil.install()  {MARKER}\n"
    ) in plans["mysite/wsgi.py"].new
    assert (  # ASGI Django: DjangoMiddleware (in the settings) reports; install() is all
        f"application = get_asgi_application()\nerrutil.install()  {MARKER}\n"
        in plans["mysite/asgi.py"].new
    )
    assert (
        f'if __name__ == "__main__":\n    errutil.install()  {MARKER}\n' in plans["manage.py"].new
    )


def test_a_one_line_middleware_setting_is_listed(tmp_path: Path) -> None:
    settings = 'MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]\n'
    repo = _repo(tmp_path, {"mysite/__init__.py": "", "mysite/settings.py": settings})
    plans, manual = _plan(repo)
    assert not plans["mysite/settings.py"].changed
    assert [(m.path, m.what) for m in manual] == [("mysite/settings.py", "`MIDDLEWARE`")]
    assert manual[0].instruction.endswith(
        'MIDDLEWARE = ["mysite.errutil.DjangoMiddleware", ...]  # first, so it sees every crash'
    )


def test_servers_name_what_must_be_wired(tmp_path: Path) -> None:
    plain = (
        "def application(environ, start_response):\n"
        '    start_response("200 OK", [])\n    return [b"ok"]\n'
    )
    unknown = "from svc.build import make\n\nwsgi = make()\n"
    repo = _repo(
        tmp_path,
        {
            "svc/__init__.py": "",
            "svc/plain.py": plain,
            "svc/other.py": unknown,
            "Procfile": "release: ./migrate\nweb: gunicorn --workers 2 svc.other:wsgi\n",
            "Dockerfile": (
                'FROM python\nCMD ["gunicorn", "-b", "0.0.0.0:8000", "svc.plain:application"]\n'
            ),
            "gunicorn.conf.py": 'wsgi_app = "svc.gone:app"\nworkers = 2\n',
        },
    )
    plans, manual = _wire_twice(repo)
    assert plans["svc/plain.py"].new == (
        f"from svc import errutil  {MARKER}\n\n\n{plain}\n\n"
        f"application = errutil.WSGIMiddleware(application)  {MARKER}\n"
        f"errutil.install()  {MARKER}\n"
    )
    assert [(m.path, m.line, m.what) for m in manual] == [
        ("gunicorn.conf.py", 1, "`gunicorn svc.gone:app`"),
        ("Procfile", 2, "`gunicorn svc.other:wsgi`"),
    ]
    assert manual[1].instruction == (
        "from svc import errutil; wsgi = errutil.WSGIMiddleware(wsgi); errutil.install()"
        "  # in svc/other.py, after `wsgi` is built"
    )


def test_a_unittest_only_repository_gets_no_uncollected_pytest_tests(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = _repo(
        tmp_path / "repo",
        {
            "svc/__init__.py": "def add(a, b):\n    return a + b\n",
            "svc/__main__.py": 'if __name__ == "__main__":\n    print(1)\n',
            "tests.py": (
                "import unittest\n\nfrom svc import add\n\n\nclass AddTest(unittest.TestCase):\n"
                "    def test_add(self):\n        self.assertEqual(add(1, 2), 3)\n\n\n"
                'if __name__ == "__main__":\n    unittest.main()\n'
            ),
        },
    )
    git_init(repo)
    code, out, err = _inject(repo, capsys=capsys)
    assert code == 0, err
    assert "errutil's own tests are left out" in err and "never be collected" in err
    assert not (repo / "tests").exists() and "tests/errutil" not in out
    assert "tests.py" not in out  # a test file is never wired
    answers = (repo / ".copier-answers.errutil.yml").read_text()
    assert "errutil_tests: false" in answers
    suite = subprocess.run(
        [sys.executable, "-m", "unittest", "-v"], cwd=repo, capture_output=True, text=True
    )
    assert suite.returncode == 0 and "Ran 1 test" in suite.stderr, suite.stderr


def test_a_factory_that_returns_a_flask_app_unnamed_gets_it_wrapped(tmp_path: Path) -> None:
    source = "from flask import Flask\n\n\ndef create_app():\n    return Flask(__name__)\n"
    repo = _repo(
        tmp_path,
        {
            "svc/__init__.py": "",
            "svc/web.py": source,
            "Procfile": "web: gunicorn 'svc.web:create_app()'\n",
        },
    )
    plans, manual = _wire_twice(repo)
    assert not manual
    assert plans["svc/web.py"].new == (
        f"from flask import Flask\n\nfrom svc import errutil  {MARKER}\n\n\ndef create_app():\n"
        f"    errutil.install()  {MARKER}\n"
        f"    return errutil.init_flask(Flask(__name__))  {MARKER}\n"
    )


@pytest.mark.parametrize(
    ("config", "length"),
    [
        ({}, 88),
        ({"pyproject.toml": "[tool.black]\nline-length = 100\n"}, 100),
        (
            {
                "pyproject.toml": "[tool.ruff]\nline-length = 120\n",
                "setup.cfg": "[flake8]\nmax-line-length = 79\n",
            },
            79,
        ),
        ({"tox.ini": "[flake8]\nmax-line-length = 99\n"}, 99),
    ],
)
def test_a_merged_import_is_wrapped_at_the_repositorys_line_length(
    tmp_path: Path, config: dict[str, str], length: int
) -> None:
    source = (
        "from svc import billing_helpers, inventory_helpers, shipping\n\n"
        'if __name__ == "__main__":\n    shipping.run()\n'
    )
    repo = _repo(tmp_path, {"svc/__init__.py": "", "svc/__main__.py": source, **config})
    assert detect_layout(repo).line_length == length
    plans, _ = _plan(repo)
    first = plans["svc/__main__.py"].new.splitlines()[0]
    joined = f"from svc import billing_helpers, errutil, inventory_helpers, shipping  {MARKER}"
    assert first == (joined if len(joined) <= length else "from svc import (")


# --- A messy repository, and faults that must leave it exactly as it was ---------------------


def _messy_repo(root: Path) -> Path:
    """The 3.8-3.13 CLI fixture made messier: a second package, a root script, a symlink."""
    repo = Path(shutil.copytree(Path(__file__).parent / "fixtures/inject/legacy_cli", root))
    _repo(
        repo,
        {
            "tools/__init__.py": "",
            "tools/report.py": 'if __name__ == "__main__":\n    print("report")\n',
            "bench.py": 'import sys\n\nif __name__ == "__main__":\n    sys.exit(0)\n',
        },
    )
    (repo / "docs").mkdir()
    (repo / "docs/README.md").symlink_to("../README.md")  # a committed link that stays
    git_init(repo)
    return repo


def test_a_messy_repository_with_an_entry_point_linked_from_outside_is_left_as_it_was(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "nightly.py").write_text('if __name__ == "__main__":\n    print("nightly")\n')
    repo = _messy_repo(tmp_path / "repo")
    (repo / "src/tally/nightly.py").symlink_to(outside / "nightly.py")  # would be wired
    commit_all(repo, "a link")
    before, outside_before = _tree(repo), _tree(outside)
    code, out, err = _inject(repo, capsys=capsys)
    assert code == 2, out + err
    assert "src/tally/nightly.py is a symbolic link" in err and "Nothing was changed." in err
    assert "Traceback" not in out + err
    assert _tree(repo) == before and _tree(outside) == outside_before
    assert not run(["git", "status", "--porcelain"], repo).stdout


def test_a_messy_repository_with_an_unwritable_entry_point_is_restored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file even root cannot write (immutable) is found before anything is written.

    (A write that fails halfway anyway is undone: test_a_failed_write_restores_every_file.)"""
    repo = _messy_repo(tmp_path / "repo")
    target = repo / "src/tally/cli.py"
    if subprocess.run(["chattr", "+i", str(target)], capture_output=True, check=False).returncode:
        pytest.skip("chattr +i is not available here")
    try:
        before = _tree(repo)
        code, out, err = _inject(repo, capsys=capsys)
        assert code == 2, out + err
        assert err.strip().splitlines()[-1] == (
            "setup-panic-handler: src/tally/cli.py is not writable. Nothing was changed."
        )
        assert "Traceback" not in out + err
        assert _tree(repo) == before
        assert not run(["git", "status", "--porcelain"], repo).stdout
    finally:
        subprocess.run(["chattr", "-i", str(target)], check=False)


def test_server_targets_are_read_from_every_server_config(tmp_path: Path) -> None:
    _repo(
        tmp_path,
        {
            "uwsgi.ini": "[uwsgi]\nmaster = true\nmodule = svc.wsgi\n",
            "Procfile": "web: uvicorn svc.api:app --port $PORT\n",
            "Dockerfile": "FROM python\nCMD gunicorn 'svc.web:create_app()'\n",
            "gunicorn.conf.py": "bind = '0.0.0.0:8000'\nwsgi_app = 'svc.conf:app'\n",
        },
    )
    found = {(t.source, t.line, t.describe(), t.asgi) for t in find_server_targets(tmp_path)}
    assert found == {
        ("uwsgi.ini", 3, "uwsgi svc.wsgi:application", False),
        ("Procfile", 1, "uvicorn svc.api:app", True),
        ("Dockerfile", 2, "gunicorn svc.web:create_app()", False),
        ("gunicorn.conf.py", 2, "gunicorn svc.conf:app", False),
    }
