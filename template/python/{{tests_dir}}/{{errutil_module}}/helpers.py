"""Small helpers shared by errutil's tests."""

from __future__ import annotations

import builtins
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

import pytest

from . import appcode
from ._subject import RepeatTracker, _config, classify, emit, errutil, report
from .appcode import repo

# ExceptionGroup is Python 3.11+; errutil runs on 3.9 and 3.10 too (a repository it was added to
# may support them), where the tests that raise groups are skipped.
HAS_GROUPS = hasattr(builtins, "BaseExceptionGroup")
needs_groups = pytest.mark.skipif(not HAS_GROUPS, reason="ExceptionGroup: Python 3.11+")

# The test app's package as this run imports it ("tests.<errutil>.appcode", or "<errutil>.appcode"
# when the tests folder is no package): it depends on where pytest puts the tests on sys.path.
APP = appcode.__name__
# The folder that name is imported from, for subprocesses that import the test app too.
APP_ROOT = str(Path(appcode.__file__).parents[APP.count(".") + 1])
# PYTHONPATH for subprocesses that import the test app (and errutil, found the way it is here),
# its entries made absolute: some subprocesses run in another folder.
# The folder the service's package itself is imported from (src/, or the repository root):
# pytest may have put it on sys.path (`pythonpath` in its settings) without PYTHONPATH saying so.
PACKAGE_ROOT = str(Path(errutil.__file__).parents[errutil.__name__.count(".") + 1])
PYTHONPATH = os.pathsep.join(
    os.path.abspath(p)
    for p in (APP_ROOT, PACKAGE_ROOT, *os.environ.get("PYTHONPATH", "").split(os.pathsep))
    if p
)
# The app packages errutil's tests run with: the default one (errutil's parent) and the test app.
APP_PACKAGES = (*errutil.Config().app_packages, APP)
# The line a subprocess runs (after importing errutil) to use the same app packages.
CONFIGURE = f"errutil.configure(app_packages={list(APP_PACKAGES)!r})"


def shown(module: ModuleType) -> str:
    """How a report shows *module*'s file: relative to the folder its top package is in."""
    return module.__name__.replace(".", "/") + ".py"


def subprocess_env(**extra: str) -> dict[str, str]:
    """This environment, with the test app importable and *extra* set."""
    return {**os.environ, "PYTHONPATH": PYTHONPATH, **extra}


@contextmanager
def fresh_errutil(app_packages: tuple[str, ...] = APP_PACKAGES) -> Iterator[None]:
    """Default settings (*app_packages* aside), no hooks and no repeat history; restored after.

    Repeat suppression is off (window 0) except in the tests about it, which set a window.
    """
    saved = _config.use(errutil.Config(app_packages, repeat_window=0))
    saved_tracker = emit.use_tracker(RepeatTracker())
    classify.reset_caches()
    report.forget_stacks()
    try:
        yield
    finally:
        errutil.uninstall()
        _config.use(saved)
        emit.use_tracker(saved_tracker)
        classify.reset_caches()


def raised(func: Callable[[], object]) -> BaseException:
    """The exception *func* raises, with its traceback."""
    try:
        func()
    except BaseException as exc:
        return exc
    raise AssertionError(f"{func!r} raised nothing")


def throw(exc: BaseException) -> None:
    """Raise *exc* (a raise site inside a lambda)."""
    raise exc


def crash() -> KeyError:
    """The test app's KeyError, raised in repo.py."""
    exc = raised(lambda: repo.load_order("zz"))
    assert isinstance(exc, KeyError)
    return exc


class BadStrError(Exception):
    """An exception whose str() fails."""

    def __str__(self) -> str:
        raise RuntimeError("str is broken")
