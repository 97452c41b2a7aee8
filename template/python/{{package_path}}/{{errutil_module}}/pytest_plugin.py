"""pytest plugin: a failing test shows the test line, the app's frames and the raise site.

Library frames (stdlib, site-packages, pytest itself) are hidden and counted, each kept
frame shows its source line, and the assertion message pytest's rewriting built is kept
whole. ``--full-trace``, an explicit ``--tb`` other than auto/long/short, or
``--errutil-off`` give pytest's own output. ``pytest.fail()`` / ``skip`` outcomes are left
to pytest. Register it with ``pytest_plugins = ["<package>.errutil.pytest_plugin"]`` in the
top-level conftest.py, or ``-p <package>.errutil.pytest_plugin``.
"""

from __future__ import annotations

from collections.abc import Generator
from types import TracebackType

import pytest
from _pytest._code.code import TerminalRepr
from _pytest._io import TerminalWriter

from . import _config
from .report import capture

__all__ = ["ShortFailure", "pytest_addoption", "pytest_runtest_makereport"]

_SHORT_STYLES = ("auto", "long", "short")


class _Crash:
    """What pytest's summary line and junitxml read from a failure: where, and the message."""

    def __init__(self, path: str, lineno: int, message: str) -> None:
        self.path = path
        self.lineno = lineno
        self.message = message


class ShortFailure(TerminalRepr):
    """A failure's ``longrepr``: errutil's short text, the exception's title in red."""

    def __init__(self, text: str, crash: _Crash) -> None:
        self.text = text
        self.reprcrash = crash

    def toterminal(self, tw: TerminalWriter) -> None:
        title, _, frames = self.text.partition("\n  at ")
        tw.line(title, red=True, bold=True)
        if frames:
            for line in ("  at " + frames).splitlines():
                tw.line(line)

    def __str__(self) -> str:
        return self.text


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("errutil")
    group.addoption(
        "--errutil-off",
        action="store_true",
        default=False,
        help="show pytest's own tracebacks instead of errutil's short ones",
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    excinfo = call.excinfo
    if report.failed and excinfo is not None and _enabled(item.config):
        exc = excinfo.value
        if isinstance(exc, Exception):  # pytest's own outcomes (fail, skip, exit) are not
            short = _shorten(item, exc)
            if short is not None:
                report.longrepr = short
    return report


def _enabled(config: pytest.Config) -> bool:
    return not (
        config.getoption("fulltrace", False)
        or config.getoption("errutil_off", False)
        or config.getoption("tbstyle", "auto") not in _SHORT_STYLES
    )


def _test_packages(item: pytest.Item) -> tuple[str, ...]:
    """The app's packages, the test module's top-level package, and conftest modules."""
    module = getattr(getattr(item, "module", None), "__name__", "")
    names = [*_config.current().app_packages, "conftest"]
    if module:
        names.append(module.partition(".")[0])
    return tuple(dict.fromkeys(names))


def _from_test_module(item: pytest.Item, tb: TracebackType | None) -> TracebackType | None:
    """The traceback from the test module's first frame on: pytest's runner frames are noise."""
    module = getattr(getattr(item, "module", None), "__name__", None)
    entry = tb
    while module and entry is not None:
        if entry.tb_frame.f_globals.get("__name__") == module:
            return entry
        entry = entry.tb_next
    return tb


def _shorten(item: pytest.Item, exc: Exception) -> ShortFailure | None:
    full_tb = exc.__traceback__
    try:
        # the settings in force, with the test's packages: passed, the global ones untouched
        config = _config.current().replace(app_packages=_test_packages(item))
        exc.__traceback__ = _from_test_module(item, full_tb)
        report = capture(exc, origin="test", config=config)
        if report.fallback is not None:
            return None
        text = report.text(show_id=False, source=True)
        site = report.error.raise_site
        crash = _Crash(
            site.path if site else str(item.path),
            site.line if site else 0,
            text.partition("\n  at ")[0],
        )
        return ShortFailure(text, crash)
    except Exception:  # never lose a failure: pytest's own report stays
        return None
    finally:
        exc.__traceback__ = full_tb
