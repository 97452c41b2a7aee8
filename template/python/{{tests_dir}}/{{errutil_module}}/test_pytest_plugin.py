"""The pytest plugin: a failure through library frames is short, --full-trace shows it all."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ._subject import ERRUTIL, IMPORT_ERRUTIL
from .appcode import repo, service
from .helpers import APP, CONFIGURE, shown, subprocess_env

# The test app is imported by the name it has here, so its frames are shown the same way.
FAILING_TESTS = f"""
import pytest

from {APP} import service


def test_payload():
    service.get_order_payload("broken")


def test_assert():
    total = 3
    assert service.get_order("a1")["total"] == total, "totals differ"


def test_fail_is_left_to_pytest():
    pytest.fail("explicit failure")
"""


class PytestRuns:
    """Runs pytest on the failing tests once per set of options (subprocesses are slow)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        (folder / "test_failing.py").write_text(FAILING_TESTS)
        (folder / "conftest.py").write_text(f"{IMPORT_ERRUTIL}\n{CONFIGURE}\n")
        self.outputs: dict[tuple[str, ...], str] = {}

    def __call__(self, *options: str) -> str:
        if options not in self.outputs:
            command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *options]
            result = subprocess.run(
                [*command, str(self.folder)],
                capture_output=True,
                text=True,
                cwd=self.folder,
                timeout=120,
                env=subprocess_env(),
                check=False,
            )
            assert result.returncode == 1, result.stdout + result.stderr
            self.outputs[options] = result.stdout
        return self.outputs[options]


@pytest.fixture(scope="module")
def run_pytest(tmp_path_factory: pytest.TempPathFactory) -> PytestRuns:
    return PytestRuns(tmp_path_factory.mktemp("plugin"))


def failure_section(output: str, test: str) -> list[str]:
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip("_ ") == test)
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith(("____", "====")))
    return lines[start + 1 : end]


PLUGIN = ("-p", f"{ERRUTIL}.pytest_plugin")


def test_a_failure_through_library_frames_is_short_and_keeps_what_matters(
    run_pytest: PytestRuns,
) -> None:
    default = failure_section(run_pytest(), "test_payload")
    ours = failure_section(run_pytest(*PLUGIN), "test_payload")
    assert len(default) > 30
    assert len(ours) <= 15, "\n".join(ours)
    text = "\n".join(ours)
    assert ours[0].startswith("json.decoder.JSONDecodeError: Expecting property name")
    assert "  at json/decoder.py:" in text  # the raise site, kept and marked
    assert " in raw_decode [library]" in text
    assert f"  at {shown(repo)}:" in text
    assert f"  at {shown(service)}:" in text
    assert 'at test_failing.py:8 in test_payload  | service.get_order_payload("broken")' in text
    assert "library frames hidden)" in text
    assert "json/__init__.py" not in text


def test_assertion_messages_are_kept_whole(run_pytest: PytestRuns) -> None:
    ours = failure_section(run_pytest(*PLUGIN), "test_assert")
    assert ours[0] == "AssertionError: totals differ"
    assert ours[1] == "assert 12 == 3"
    assert "at test_failing.py:13 in test_assert" in ours[2]


def test_pytest_fail_and_the_summary_line(run_pytest: PytestRuns) -> None:
    output = run_pytest(*PLUGIN)
    assert "Failed: explicit failure" in "\n".join(
        failure_section(output, "test_fail_is_left_to_pytest")
    )
    assert "FAILED test_failing.py::test_payload - json.decoder.JSONDecodeError" in output


@pytest.mark.parametrize("option", ["--full-trace", "--errutil-off", "--tb=native"])
def test_pytests_own_output_on_request(run_pytest: PytestRuns, option: str) -> None:
    section = failure_section(run_pytest(*PLUGIN, option), "test_payload")
    assert len(section) > 20
    assert any("json/__init__.py" in line for line in section)
