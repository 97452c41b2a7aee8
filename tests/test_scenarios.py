"""`make scenarios`: the before/after table is measured, and ours is short and complete."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shortstack import scenarios


@pytest.mark.slow
def test_scenarios_table_shows_short_reports_that_keep_what_matters(tmp_path: Path) -> None:
    output = tmp_path / "generated" / "scenarios.md"
    assert scenarios.main(["--dest", str(tmp_path / "demo"), "--output", str(output)]) == 0

    rows = _table(output.read_text())
    assert set(rows) == {
        "HTTP handler crash (sync route)",
        "HTTP handler crash (async route)",
        "failing unit test through json",
        "crash in a thread",
        "crash in an asyncio task",
        "crash in main",
        "Go: HTTP handler panic",
        "Go: failing unit test (panic)",
        "Go: panic in a goroutine",
        "Go: panic in main",
    }
    for name, (default, ours, raise_site, entry) in rows.items():
        assert raise_site == "yes / yes", name  # the raise site is never hidden
        assert entry == "yes / yes", name  # nor the route, test, thread or task function
        assert ours < default, name
    # The budgets: 6 lines for a request (report + access line), 15 for a test.
    assert rows["HTTP handler crash (sync route)"][1] <= 6
    assert rows["HTTP handler crash (async route)"][1] <= 6
    assert rows["failing unit test through json"][1] <= 15
    for name in ("crash in a thread", "crash in an asyncio task", "crash in main"):
        assert rows[name][1] <= 6, name
    for name in ("Go: HTTP handler panic", "Go: panic in a goroutine", "Go: panic in main"):
        assert rows[name][1] <= 6, name
    # A panicking Go test: errutil.RecoverT's report alone, at most 5 lines.
    assert rows["Go: failing unit test (panic)"][1] <= 5

    report = json.loads((output.parent / "crash-report.json").read_text())
    assert report["origin"] == "http"
    assert [frame["function"] for frame in report["stack"]] == [
        "load_order",
        "get_order",
        "order_route",
    ]
    text = (output.parent / "crash-report.txt").read_text().splitlines()
    assert "KeyError: 'zz'  [error_id=" in text[0]
    assert len(text) == 5


def _table(markdown: str) -> dict[str, tuple[int, int, str, str]]:
    rows = {}
    for line in markdown.splitlines()[2:]:
        name, default, ours, raise_site, entry = (
            cell.strip() for cell in line.strip("|").split("|")
        )
        rows[name] = (int(default), int(ours), raise_site, entry)
    return rows
