"""`copier update` brings template changes in and keeps the user's edits."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from copier import run_update

from conftest import commit_all, git_init, run, snapshot_template
from shortstack.devtools import render_template

APP = Path("template/python/src/{{package_name}}/app.py.jinja")
CONFLICT = re.compile(r"^<<<<<<< ", re.MULTILINE)
STARTUP = Path("template/python/src/{{package_name}}/startup.py")


def _tag(repo: Path, tag: str) -> None:
    run(["git", "tag", tag], repo)


def _service_from(template: Path, dst: Path, ref: str) -> Path:
    render_template(dst, src=template, vcs_ref=ref)
    git_init(dst, "service from the template")
    return dst


def _update(dst: Path) -> None:
    run_update(str(dst), defaults=True, overwrite=True, unsafe=False, quiet=True)


def test_update_keeps_user_edits_and_brings_template_changes(tmp_path: Path) -> None:
    template = snapshot_template(tmp_path / "template")
    _tag(template, "v1.0.0")
    service = _service_from(template, tmp_path / "service", "v1.0.0")

    # The user adds a route at the end of create_app() and a module of their own.
    app = service / "src/my_service/app.py"
    text = app.read_text()
    user_route = (
        '\n    @app.get("/orders")\n'
        "    def orders() -> list[str]:\n"
        "        return []\n\n"
        "    return app\n"
    )
    assert text.count("\n    return app\n") == 1  # create_app()'s end
    app.write_text(text.replace("\n    return app\n", user_route, 1))
    (service / "src/my_service/orders.py").write_text('"""Orders."""\n')
    commit_all(service, "user: orders route")

    # The template improves a different part of the same file, and adds a start-up line.
    template_app = template / APP
    template_app.write_text(
        template_app.read_text().replace(
            '"""The HTTP application:', '"""The HTTP application (template v2):'
        )
    )
    startup = template / STARTUP
    startup.write_text(startup.read_text() + "\n# template v2: start-up notes\n")
    commit_all(template, "template v2")
    _tag(template, "v2.0.0")

    _update(service)

    updated = app.read_text()
    assert '"""The HTTP application (template v2):' in updated  # the template's change
    assert '@app.get("/orders")' in updated  # the user's edit
    assert (service / "src/my_service/orders.py").is_file()
    assert "# template v2: start-up notes" in (service / "src/my_service/startup.py").read_text()
    for path in service.rglob("*"):
        if path.is_file() and ".git" not in path.parts:
            assert not CONFLICT.search(path.read_text(errors="replace")), path
    answers = yaml.safe_load((service / ".copier-answers.yml").read_text())
    assert answers["_commit"] == "v2.0.0"


def _set_port(text: str, value: str) -> str:
    """The settings' `port` line, whatever it holds, replaced by `port: int = <value>`."""
    changed = re.sub(r"^    port: int = .*$", f"    port: int = {value}", text, count=1, flags=re.M)
    assert changed != text, "config.py has no `port: int = ...` line"
    return changed


def test_a_real_conflict_is_marked_inline_not_dropped(tmp_path: Path) -> None:
    template = snapshot_template(tmp_path / "template")
    _tag(template, "v1.0.0")
    service = _service_from(template, tmp_path / "service", "v1.0.0")

    config = service / "src/my_service/config.py"
    config.write_text(_set_port(config.read_text(), "9090  # ours"))
    commit_all(service, "user: port 9090")

    template_config = template / "template/python/src/{{package_name}}/config.py"
    template_config.write_text(_set_port(template_config.read_text(), "8000  # theirs"))
    commit_all(template, "template: port 8000")
    _tag(template, "v2.0.0")

    _update(service)

    merged = config.read_text()
    assert CONFLICT.search(merged)
    assert "port: int = 9090  # ours" in merged
    assert "port: int = 8000  # theirs" in merged


@pytest.mark.slow
def test_make_template_update_runs_what_the_weekly_workflow_runs(tmp_path: Path) -> None:
    """The workflow's step is `make template-update`: nothing when current, an update when not."""
    template = snapshot_template(tmp_path / "template")
    _tag(template, "v1.0.0")
    service = _service_from(template, tmp_path / "service", "v1.0.0")
    workflow = yaml.safe_load((service / ".github/workflows/template-update.yml").read_text())
    steps = [step.get("run", "") for step in workflow["jobs"]["update"]["steps"]]
    assert "make template-update" in steps
    assert workflow["permissions"] == {"contents": "write", "pull-requests": "write"}

    current = run(["make", "--no-print-directory", "template-update"], service)
    assert "The template has no newer version" in current.stdout

    startup = template / STARTUP
    startup.write_text(startup.read_text() + "\n# template v1.1: start-up notes\n")
    commit_all(template, "template v1.1")
    _tag(template, "v1.1.0")
    updated = run(["make", "--no-print-directory", "template-update"], service)
    assert "Updated: review with git diff" in updated.stdout, updated.stdout + updated.stderr
    assert yaml.safe_load((service / ".copier-answers.yml").read_text())["_commit"] == "v1.1.0"
    assert "# template v1.1: start-up notes" in (service / "src/my_service/startup.py").read_text()


@pytest.mark.parametrize(
    ("language", "ecosystems"),
    [("python", ["uv", "github-actions", "docker"]), ("go", ["gomod", "github-actions", "docker"])],
)
def test_dependabot_watches_the_flavours_ecosystems(
    tmp_path: Path, language: str, ecosystems: list[str]
) -> None:
    dst = tmp_path / language
    render_template(dst, {"language": language})
    config = yaml.safe_load((dst / ".github/dependabot.yml").read_text())
    assert config["version"] == 2
    assert [entry["package-ecosystem"] for entry in config["updates"]] == ecosystems
    for name in ("ci.yml", "template-update.yml"):
        assert yaml.safe_load((dst / ".github/workflows" / name).read_text())["jobs"]
