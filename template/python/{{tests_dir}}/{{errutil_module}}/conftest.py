"""Fixtures for errutil's tests: settings restored, reports collected from the log."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator

import pytest

from ._subject import errutil, hooks
from .helpers import fresh_errutil

LoggedReports = Callable[[], list[errutil.CrashReport]]


@pytest.fixture(autouse=True)
def _fresh_errutil() -> Iterator[None]:
    """Every test starts with default settings, no hooks and no repeat history.

    The test app (``appcode``) counts as the app's code next to the package errutil is in.
    """
    with fresh_errutil():
        yield


@pytest.fixture
def interpreter_default_hooks(monkeypatch: pytest.MonkeyPatch) -> None:
    """pytest wraps the thread and unraisable hooks per test; start from Python's defaults."""
    monkeypatch.setattr(sys, "excepthook", sys.__excepthook__)
    # threading.__excepthook__ is Python 3.10+; errutil's own copy serves 3.9 too.
    monkeypatch.setattr(threading, "excepthook", hooks._THREADING_DEFAULT)
    monkeypatch.setattr(sys, "unraisablehook", sys.__unraisablehook__)


@pytest.fixture
def logged(caplog: pytest.LogCaptureFixture) -> LoggedReports:
    """Call it to get the CrashReports logged so far, in order."""
    caplog.set_level("ERROR", logger="errutil")

    def reports() -> list[errutil.CrashReport]:
        return [r.crash_report for r in caplog.records if hasattr(r, "crash_report")]

    return reports
