"""Generated chains and groups of exceptions: every one gives a bounded, serialisable report."""

from __future__ import annotations

import builtins
import json
from typing import Any

import pytest

pytest.importorskip("hypothesis")

from hypothesis import given, settings
from hypothesis import strategies as st

from ._subject import errutil
from .helpers import APP_PACKAGES, HAS_GROUPS, BadStrError, raised, throw


@pytest.fixture(autouse=True)
def _tests_are_the_app() -> None:
    """Frames of this module count as the app's, as in test_hostile."""
    errutil.configure(app_packages=[*APP_PACKAGES, __name__])


_TYPES = (ValueError, KeyError, TypeError, RuntimeError, BadStrError, OSError)

_leaf_spec = st.tuples(st.just("leaf"), st.integers(0, len(_TYPES) - 1), st.text(max_size=50))
_spec = st.recursive(
    _leaf_spec,
    lambda children: st.one_of(
        st.tuples(st.just("cause"), children, children),
        st.tuples(st.just("context"), children, children),
        st.tuples(st.just("suppress"), children, children),
        # ExceptionGroup from Python 3.11 (errutil also runs on 3.9 and 3.10)
        st.tuples(st.just("group"), st.lists(children, min_size=1, max_size=14))
        if HAS_GROUPS
        else st.nothing(),
    ),
    max_leaves=40,
)


def _build(spec: Any) -> BaseException:
    kind = spec[0]
    if kind == "leaf":
        exc_type = _TYPES[spec[1]]
        return raised(lambda: throw(exc_type(spec[2])))
    if kind == "group":
        members = [_build(child) for child in spec[1]]
        group: Any = getattr(builtins, "BaseExceptionGroup")  # noqa: B009 - 3.11+ only
        return raised(lambda: throw(group("generated", members)))
    outer, inner = _build(spec[1]), _build(spec[2])
    if kind == "cause":
        outer.__cause__ = inner
    elif kind == "context":
        outer.__context__ = inner
    else:
        outer.__context__ = inner
        outer.__suppress_context__ = True
    return outer


@settings(max_examples=150, deadline=None)
@given(spec=_spec, cycle=st.booleans())
def test_any_chain_or_group_gives_a_bounded_serialisable_report(spec: Any, cycle: bool) -> None:
    exc = _build(spec)
    if cycle:
        tail = exc
        while tail.__context__ is not None and tail.__context__ is not exc:
            tail = tail.__context__
        tail.__context__ = exc
    report = errutil.capture(exc)
    assert report.fallback is None
    data = report.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert len(report.fingerprint) == 16
    text = report.text()
    assert len(text.splitlines()) < 200
    for leaf in report.error.leaves:
        assert leaf.type == "ExceptionGroup" or leaf.frames[0].function == "throw"
