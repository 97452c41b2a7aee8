"""Hostile exceptions: the report never crashes, never hangs, never loses the original."""

from __future__ import annotations

import json
import os
import sys
import types
from collections.abc import Callable
from pathlib import Path

import pytest

from ._subject import display_file, errutil, hooks
from ._subject import report as report_module
from .appcode import repo
from .helpers import APP_PACKAGES, BadStrError, needs_groups, raised, shown, throw


@pytest.fixture(autouse=True)
def _tests_are_the_app() -> None:
    """Frames of this module count as the app's, so raise sites here are shown plainly."""
    errutil.configure(app_packages=[*APP_PACKAGES, __name__])


def test_explicit_cause_is_shown_compactly() -> None:
    def convert() -> None:
        try:
            repo.load_order("zz")
        except KeyError as exc:
            raise ValueError("no such order") from exc

    report = errutil.capture(raised(convert))
    cause = report.error.cause
    assert cause is not None
    assert (cause.type, cause.implicit) == ("KeyError", False)
    assert report.error.implicit is False
    last = report.text().splitlines()[-1]
    assert last.startswith(f"  caused by KeyError: 'zz'  at {shown(repo)}:")
    data = report.to_dict()
    assert data["cause"]["error"] == {"type": "KeyError", "message": "'zz'"}  # type: ignore[index]
    assert "implicit" not in data["cause"]  # type: ignore[operator]


def test_implicit_context_and_suppressed_context() -> None:
    def during_handling() -> None:
        try:
            repo.load_order("zz")
        except KeyError:
            raise ValueError("while handling")  # noqa: B904 - the implicit context is the point

    def suppressed() -> None:
        try:
            repo.load_order("zz")
        except KeyError:
            raise ValueError("clean") from None

    implicit = errutil.capture(raised(during_handling))
    assert implicit.error.cause is not None
    assert implicit.to_dict()["cause"]["implicit"] is True  # type: ignore[index]
    assert "  while handling KeyError: 'zz'" in implicit.text()
    assert errutil.capture(raised(suppressed)).error.cause is None


def test_a_cycle_in_the_context_chain_ends() -> None:
    first, second = ValueError("a"), KeyError("b")
    first.__context__ = second
    second.__context__ = first
    report = errutil.capture(first)
    assert report.error.cause is not None
    assert report.error.cause.cause is None
    json.dumps(report.to_dict())


def test_a_very_long_chain_is_capped_without_recursion() -> None:
    exc: BaseException = ValueError("0")
    for number in range(1, 50_000):
        outer = ValueError(str(number))
        outer.__cause__ = exc
        exc = outer
    report = errutil.capture(exc)
    depth, link = 0, report.error
    while link.cause is not None:
        depth, link = depth + 1, link.cause
    assert depth == errutil.Config().max_chain
    assert report.fallback is None


def _leaf(message: str) -> BaseException:
    return raised(lambda: (_ for _ in ()).throw(ValueError(message)))


@needs_groups
def test_exception_group_leaves_each_keep_their_raise_site() -> None:
    def fail_group() -> None:
        inner = BaseExceptionGroup("inner", [raised(lambda: repo.load_order("zz")), TypeError("t")])
        raise BaseExceptionGroup("outer", [_leaf("v"), inner])

    report = errutil.capture(raised(fail_group))
    assert [leaf.type for leaf in report.error.leaves] == ["ValueError", "ExceptionGroup"]
    nested = report.error.leaves[1].leaves
    assert nested[0].frames[0].function == "load_order"
    text = report.text()
    assert "  [1] ValueError: v  at " in text
    assert f"    [2.1] KeyError: 'zz'  at {shown(repo)}:" in text
    assert "    [2.2] TypeError: t" in text
    data = report.to_dict()
    assert len(data["exceptions"]) == 2  # type: ignore[arg-type]


@needs_groups
def test_exception_groups_are_capped_in_width_and_depth() -> None:
    wide = ExceptionGroup("wide", [ValueError(str(n)) for n in range(500)])
    report = errutil.capture(wide)
    assert len(report.error.leaves) == 10
    assert report.error.leaves_hidden == 490
    assert "(+490 more sub-exceptions)" in report.text()

    deep: BaseException = ValueError("bottom")
    for _ in range(1000):
        deep = BaseExceptionGroup("level", [deep])
    report = errutil.capture(deep)
    assert report.fallback is None
    assert len(report.text().splitlines()) < 10


def _recurse(depth: int) -> int:
    return _recurse(depth + 1) + 1


def _ping(depth: int) -> int:
    return _pong(depth + 1)


def _pong(depth: int) -> int:
    return _ping(depth + 1)


def test_recursion_error_collapses_repeated_frames() -> None:
    report = errutil.capture(raised(lambda: _recurse(0)))
    assert report.error.type == "RecursionError"
    lines = report.text().splitlines()
    assert len(lines) <= 5, lines
    assert "in _recurse  (repeated " in lines[1]
    assert report.error.frames[0].repeated > 100


def test_mutual_recursion_collapses_the_cycle() -> None:
    report = errutil.capture(raised(lambda: _ping(0)))
    functions = [(f.function, f.repeated > 100) for f in report.error.frames[:2]]
    assert sorted(functions) == [("_ping", True), ("_pong", True)]
    assert len(report.text().splitlines()) <= 6


def test_recursion_error_formats_only_the_frames_it_shows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """~1000 recursive frames: the work per frame shown stays bounded (no per-frame formatting)."""
    exc = raised(lambda: _recurse(0))
    real = display_file
    formatted: list[str] = []

    def counting(filename: str, module: str) -> str:
        formatted.append(filename)
        return real(filename, module)

    monkeypatch.setattr(report_module, "display_file", counting)
    report = errutil.capture(exc)
    assert report.error.frames[0].repeated > 100
    assert 1 <= len(formatted) <= len(report.error.frames) <= 5


class _BadReprError(Exception):
    def __repr__(self) -> str:
        raise RuntimeError("repr is broken")


class _NotAStringError(Exception):
    def __str__(self) -> str:
        return 42  # type: ignore[return-value]  # noqa: PLE0307


@pytest.mark.parametrize("exc_type", [BadStrError, _NotAStringError])
def test_a_str_that_fails_is_contained(exc_type: type[Exception]) -> None:
    report = errutil.capture(raised(lambda: (_ for _ in ()).throw(exc_type())))
    assert report.error.message.startswith("<exception str() failed: ")
    assert report.fallback is None


@pytest.mark.usefixtures("interpreter_default_hooks")
def test_a_repr_that_fails_does_not_matter(
    logged: Callable[[], list[errutil.CrashReport]], monkeypatch: pytest.MonkeyPatch
) -> None:
    class Holder:
        def __repr__(self) -> str:
            raise RuntimeError("repr is broken")

    # No hook before errutil's to chain to: pytest 7's own (set around each test) would repr
    # the object again when the test ends, and fail the test for errutil's sake.
    monkeypatch.setattr(sys, "unraisablehook", sys.__unraisablehook__)
    errutil.install()
    exc = raised(lambda: throw(_BadReprError("in del")))
    hooks._unraisablehook(
        types.SimpleNamespace(
            exc_type=_BadReprError,
            exc_value=exc,
            exc_traceback=exc.__traceback__,
            err_msg=None,
            object=Holder(),
        )
    )
    [report] = logged()
    assert report.context["ignored_in"] == "Exception ignored in: <Holder object (repr failed)>"


def test_a_huge_message_is_capped_and_the_cap_shown() -> None:
    report = errutil.capture(ValueError("x" * 5_000_000))
    assert report.error.message.endswith("... [message cut: 5000000 chars]")
    assert len(report.text()) < 3000
    data = report.to_dict()
    assert data["exception.message"] == report.error.message
    # the capped message appears three times: error.message, exception.message and the last
    # line of exception.stacktrace (OpenTelemetry's fields repeat errutil's own)
    assert len(json.dumps(data)) < 3 * 3000


def test_multi_line_messages_stay_one_line_in_the_text_form() -> None:
    report = errutil.capture(ValueError("first\nsecond"))
    assert report.text().splitlines()[0].startswith("ValueError: first\\nsecond")
    assert report.to_dict()["error"] == {"type": "ValueError", "message": "first\nsecond"}


def test_missing_and_undecodable_source_files(tmp_path: Path) -> None:
    broken = tmp_path / "latin.py"
    broken.write_bytes(b"# caf\xe9\ndef boom():\n    raise ValueError('latin')\n")
    namespace: dict[str, object] = {"__name__": __name__}
    exec(compile(broken.read_bytes(), str(broken), "exec"), namespace)
    missing = str(tmp_path / "gone.py")
    exec(compile("def gone():\n    raise KeyError('gone')\n", missing, "exec"), namespace)
    for name in ("boom", "gone"):
        func = namespace[name]
        assert callable(func)
        report = errutil.capture(raised(func))
        assert report.fallback is None
        assert report.error.frames[0].function == name
        assert report.text(source=True)


def test_string_and_frozen_frames() -> None:
    namespace: dict[str, object] = {"__name__": __name__}
    exec("def from_string():\n    raise ValueError('s')\n", namespace)
    func = namespace["from_string"]
    assert callable(func)
    assert errutil.capture(raised(func)).error.frames[0].file == "<string>"

    report = errutil.capture(raised(lambda: os.environ["NO_SUCH_VARIABLE_ANYWHERE"]))
    site = report.error.frames[0]
    assert site.library
    assert site.function == "__getitem__"
    assert site.file == display_file(os._Environ.__getitem__.__code__.co_filename, "os")


def _hidden_helper() -> None:
    __tracebackhide__ = True
    repo.load_order("zz")


def test_tracebackhide_in_locals_hides_the_frame() -> None:
    report = errutil.capture(raised(_hidden_helper))
    assert "_hidden_helper" not in [f.function for f in report.error.frames]
    assert report.error.frames[0].function == "load_order"


def test_an_internal_failure_falls_back_to_the_standard_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*args: object) -> None:
        raise RuntimeError("errutil bug")

    monkeypatch.setattr(report_module, "_build", broken)
    report = errutil.capture(raised(lambda: repo.load_order("zz")))
    assert report.fallback is not None
    assert report.text().startswith("Traceback (most recent call last):")
    assert "KeyError: 'zz'" in report.text()
    assert "errutil could not shorten this report: RuntimeError" in report.text()
    data = report.to_dict()
    assert data["error"] == {"type": "KeyError", "message": "'zz'"}
    assert "Traceback" in str(data["traceback"])


class HostileCauseError(Exception):
    """An exception whose ``__cause__`` property raises."""

    @property
    def __cause__(self) -> BaseException | None:
        raise RuntimeError("cause is broken")

    @__cause__.setter
    def __cause__(self, value: BaseException | None) -> None:
        pass


def test_a_hostile_cause_keeps_the_stack_and_drops_only_the_chain() -> None:
    def fail() -> None:
        try:
            repo.load_order("zz")
        except KeyError:
            raise HostileCauseError("boom")  # noqa: B904 - the chain is what is hostile

    report = errutil.capture(raised(fail))
    assert report.fallback is None
    assert report.error.type.endswith("HostileCauseError")
    assert report.error.frames[0].function == "fail"
    assert report.error.cause is None
    assert "traceback unavailable" not in report.text()


def _maybe_hidden(hide: bool) -> None:
    __tracebackhide__ = hide
    repo.load_order("zz")


def _crash_maybe_hidden(hide: bool) -> BaseException:
    return raised(lambda: _maybe_hidden(hide))


def test_tracebackhide_is_read_at_every_crash_not_remembered() -> None:
    # the same code at the same lines both times: only the local's value differs
    hidden = errutil.capture(_crash_maybe_hidden(True))
    shown_ = errutil.capture(_crash_maybe_hidden(False))
    assert "_maybe_hidden" not in [f.function for f in hidden.error.frames]
    assert "_maybe_hidden" in [f.function for f in shown_.error.frames]
