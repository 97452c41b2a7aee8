"""Every answer is checked before anything is written; derived answers follow the name."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from conftest import REPO, render
from shortstack import locks


def answers(dst: Path) -> dict[str, object]:
    loaded = yaml.safe_load((dst / ".copier-answers.yml").read_text())
    assert isinstance(loaded, dict)
    return loaded


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"project_name": "   "}, "The project name must not be empty"),
        ({"project_slug": "Orders"}, "must start with a lowercase letter"),
        ({"project_slug": "9orders"}, "must start with a lowercase letter"),
        ({"project_slug": "orders_service"}, "must start with a lowercase letter"),
        ({"package_name": "orders-service"}, "is not a valid Python identifier"),
        ({"package_name": "2fast"}, "is not a valid Python identifier"),
        ({"package_name": "class"}, "is a Python keyword"),
        ({"package_name": "match"}, "is a Python keyword"),
        ({"package_name": "json"}, "would shadow the standard-library module"),
        ({"package_name": "logging"}, "would shadow the standard-library module"),
        ({"package_name": "fastapi"}, "would shadow a dependency of the service"),
        # Names from the locked dependency set (not only the direct ones), both spellings.
        ({"package_name": "click"}, "would shadow a dependency of the service"),
        ({"package_name": "h11"}, "would shadow a dependency of the service"),
        ({"package_name": "pytest"}, "would shadow a dependency of the service"),
        ({"package_name": "pydantic_core"}, "would shadow a dependency of the service"),
        ({"package_name": "mypy"}, "would shadow a dependency of the service"),
        ({"package_name": "annotated_types"}, "would shadow a dependency of the service"),
        ({"project_name": "idna"}, "would shadow the service's dependency 'idna'"),
        ({"project_name": "Click"}, "would shadow the service's dependency 'click'"),
        ({"project_name": "x" * 300}, "300 characters long: at most 80"),
        ({"project_slug": "a" * 51}, "51 characters long: at most 50"),
        ({"project_name": "\U0001f680\U0001f680"}, "has no letters or digits to make a slug"),
        ({"language": "rust"}, r"'rust' is not in \['python', 'go'\]"),
        ({"author_email": "nobody"}, "is not an e-mail address"),
        ({"language": "go", "go_module": "Not A Module"}, "The Go module path"),
        # Answers for errutil alone: a service's errutil has one place (its code imports it there).
        ({"errutil_module": "crash_errutil"}, "A service's errutil module is 'errutil'"),
        ({"package_path": "lib/my_service"}, "A service's package folder is src/my_service"),
        ({"tests_dir": "test"}, "A service's tests folder is 'tests'"),
        ({"language": "go", "errutil_dir": "internal/x"}, "A service's errutil folder is pkg/"),
    ],
)
def test_a_bad_answer_is_refused_and_nothing_is_written(
    tmp_path: Path, data: dict[str, str], message: str
) -> None:
    dst = tmp_path / "out"
    with pytest.raises(ValueError, match=message):
        render(dst, **data)
    assert not dst.exists() or not any(dst.iterdir())


def test_slug_and_package_derive_from_the_name(tmp_path: Path) -> None:
    dst = render(tmp_path / "out", project_name="Orders Service (EU) 2")
    got = answers(dst)
    assert got["project_slug"] == "orders-service-eu-2"
    assert got["package_name"] == "orders_service_eu_2"
    assert (dst / "src" / "orders_service_eu_2" / "app.py").is_file()


def test_answers_file_records_what_update_needs(tmp_path: Path) -> None:
    got = answers(render(tmp_path / "out"))
    assert {"_src_path", "_commit", "project_name", "package_name", "language"} <= set(got)
    assert got["language"] == "python"
    # The lists the validators read are not answers.
    assert not {"python_keywords", "python_stdlib_modules", "python_taken_names"} & set(got)


def test_the_dependency_names_are_the_locks() -> None:
    """copier.yml's list of names a project may not take is the locks' packages, all of them."""
    locked: set[str] = set()
    for version in locks.python_versions():
        locked |= set(locks.lock_names(locks.lock_path(version).read_text()))
    listed = locks.names_in_copier_yml((REPO / "copier.yml").read_text())
    assert listed == sorted(locked), "run `make locks`"
    assert {"click", "h11", "pytest", "idna", "mypy"} <= locked


def test_copier_yml_needs_no_trust() -> None:
    config = yaml.safe_load((REPO / "copier.yml").read_text())
    assert not {"_tasks", "_jinja_extensions", "_migrations"} & set(config)
    assert config["_min_copier_version"]
