"""The crash-report contract shared with the Go service: the same golden cases, both languages.

``crash_contract.json`` is rendered from the template's ``shared/crash-contract.json``; the Go
service's tests read the same file. Each case gives an already classified exception (frames
innermost first) and the text, JSON fields and fingerprint every language must produce for it;
each redaction pair, what the redactor must turn a message into.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ._subject import CrashReport, ErrorInfo, Frame, _config, fingerprint, redact

CONTRACT = json.loads(Path(__file__).with_name("crash_contract.json").read_text("utf-8"))
CASES = [case for case in CONTRACT["cases"] if case["language"] in ("both", "python")]
ID = "<ID>"


def info_from(node: dict[str, Any]) -> ErrorInfo:
    """An ErrorInfo as capture() builds it: messages go through the configured redactor."""
    frames = tuple(
        Frame(f["file"], f["line"], f["function"], library=f["library"]) for f in node["frames"]
    )
    cause = node.get("cause")
    return ErrorInfo(
        node["type"],
        _config.current().redactor(node["message"]),
        frames,
        node["hidden"],
        cause=info_from(cause) if cause else None,
        leaves=tuple(info_from(leaf) for leaf in node.get("leaves") or ()),
    )


def report_from(case: dict[str, Any]) -> CrashReport:
    info = info_from(case["input"])
    http = case["input"]["http"]
    return CrashReport(info, ID, fingerprint(info), case["input"]["origin"], http=http)


def test_the_contract_has_cases_for_python() -> None:
    assert CONTRACT["version"] == 1
    assert {case["language"] for case in CASES} == {"both", "python"}
    assert len(CONTRACT["redaction"]) >= 10


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_text_form(case: dict[str, Any]) -> None:
    assert report_from(case).text() == case["expect"]["text"]


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_json_form(case: dict[str, Any]) -> None:
    data = report_from(case).to_dict()
    assert data.pop("error_id") == ID
    # OpenTelemetry's exception.* fields: the stacktrace is in each runtime's own format
    # (tested in tests/test_exception_fields.py), the type and message are the contract's.
    assert data.pop("exception.type") == case["expect"]["json"]["error"]["type"]
    assert data.pop("exception.message") == case["expect"]["json"]["error"]["message"]
    assert str(data.pop("exception.stacktrace")).startswith("Traceback (most recent call last):")
    assert data == case["expect"]["json"]


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_fingerprint(case: dict[str, Any]) -> None:
    assert fingerprint(info_from(case["input"])) == case["expect"]["fingerprint"]


@pytest.mark.parametrize(
    "pair", CONTRACT["redaction"], ids=[str(n) for n in range(len(CONTRACT["redaction"]))]
)
def test_redaction(pair: dict[str, str]) -> None:
    assert redact(pair["in"]) == pair["out"]
    assert redact(pair["out"]) == pair["out"]  # redacting twice changes nothing
