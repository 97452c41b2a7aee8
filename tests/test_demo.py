"""README command 1: `make demo` renders a service, sets it up, and shows it answering."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from shortstack import demo


@pytest.mark.slow
def test_demo_renders_sets_up_and_shows_the_service(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert demo.main([str(tmp_path / "demo")]) == 0
    out = capsys.readouterr().out
    assert "GET /healthz -> 200" in out
    assert "GET /readyz -> 200" in out
    assert 'GET /crash/sync -> 500 {"error":"internal","error_id":"' in out
    assert "KeyError: 'zz'  [error_id=" in out  # the short report, in the service's log
    # One report a crash route, those that crash after answering (task, thread) included.
    crash_routes = re.findall(r"^GET /crash/\S+ -> ", out, re.MULTILINE)
    assert len(crash_routes) > 1 and out.count("[error_id=") == len(crash_routes)
    assert "Traceback (most recent call last)" not in out


def test_demo_refuses_to_replace_a_folder_it_did_not_render(tmp_path: Path) -> None:
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("mine")
    with pytest.raises(SystemExit, match="is not a rendered service"):
        demo.main([str(precious)])
    assert (precious / "notes.txt").read_text() == "mine"
