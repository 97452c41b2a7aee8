"""Secrets never reach the log: messages, causes and group leaves are redacted in the report."""

from __future__ import annotations

import json
import logging

import pytest

from ._subject import Redactor, errutil
from .conftest import LoggedReports
from .helpers import HAS_GROUPS, raised, throw

SECRETS = {
    "key=value": ("login failed for bob password=hunter2", "hunter2"),
    "json": ('bad body {"user": "bob", "api_key": "k-98765"}', "k-98765"),
    "bearer": ("upstream rejected Bearer abcdefgh12345678", "abcdefgh12345678"),
    "basic": ("Authorization: Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA=="),
    "url": ("connect postgres://app:s3cret@db:5432/orders refused", "s3cret"),
    "jwt": ("token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl expired", "eyJzdWIiOiIxIn0"),
    "aws": ("key AKIAIOSFODNN7EXAMPLE rejected", "AKIAIOSFODNN7EXAMPLE"),
    "pem": ("key -----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\n-----END PRIVATE KEY-----", "MIIEvQ"),
}


def chained(message: str) -> BaseException:
    def fail() -> None:
        try:
            raise ConnectionError(message)
        except ConnectionError as exc:
            raise RuntimeError(f"retry gave up: {message}") from exc

    return raised(fail)


def grouped(message: str) -> BaseException:
    def fail() -> None:
        raise ExceptionGroup("two failed", [ValueError(message), KeyError("zz")])

    return raised(fail)


@pytest.mark.parametrize("shape", list(SECRETS))
def test_each_secret_shape_is_redacted_in_message_cause_and_group_leaf(
    shape: str, logged: LoggedReports, caplog: pytest.LogCaptureFixture
) -> None:
    message, secret = SECRETS[shape]
    failures = [raised(lambda: throw(ValueError(message))), chained(message)]
    if HAS_GROUPS:
        failures.append(grouped(message))
    for exc in failures:
        errutil.log_exception(exc, origin="main")
    reports = logged()
    assert len(reports) == len(failures)
    for report in reports:
        assert "[REDACTED]" in report.text()
        assert secret not in report.text()
        assert secret not in json.dumps(report.to_dict())
    assert reports[1].error.cause is not None
    assert "[REDACTED]" in reports[1].error.cause.message
    if len(reports) == 3:
        assert "[REDACTED]" in reports[2].error.leaves[0].message
    assert all(secret not in record.getMessage() for record in caplog.records)


def test_a_repeat_line_carries_the_redacted_message(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="errutil")
    errutil.configure(repeat_window=60)
    http = {"method": "POST", "path": "/login", "status": 500}
    for _ in range(2):
        exc = raised(lambda: throw(PermissionError("password=hunter2")))
        errutil.log_exception(exc, origin="http", http=http)
    repeat = [r for r in caplog.records if hasattr(r, "crash_fields")]
    assert repeat[0].crash_fields["error"]["message"] == "password=[REDACTED]"
    assert all("hunter2" not in r.getMessage() for r in caplog.records)


def test_extra_keys_and_patterns_are_configurable() -> None:
    errutil.configure(redact_keys=["pin"], redact_patterns=[r"\bacct-[0-9]{6}\b"])
    exc = raised(lambda: throw(ValueError("pin=1234 for acct-123456 failed")))
    assert errutil.capture(exc).error.message == "pin=[REDACTED] for [REDACTED] failed"


def test_bad_redaction_settings_are_refused_before_anything_changes() -> None:
    before = errutil.configure()
    with pytest.raises(ValueError, match="not a regular expression"):
        errutil.configure(redact_patterns=["(unclosed"])
    with pytest.raises(TypeError):
        errutil.configure(redact_keys="pin")
    assert errutil.configure() is not None
    assert errutil.configure().redact_patterns == before.redact_patterns


def test_text_without_secrets_is_returned_unchanged() -> None:
    text = "KeyError: 'zz' at https://example.com/orders?page=2 (session expired)"
    assert Redactor()(text) == text
