"""capture(): kept frames, hidden count, raise site, text and JSON forms, fingerprint."""

from __future__ import annotations

import json
import random
import re
import time
import uuid

import pytest

from ._subject import ErrorInfo, Frame, _config, errutil, fingerprint
from .appcode import repo, service
from .helpers import needs_groups, raised, shown


def through_json(order_id: str) -> object:
    """service.get_order called from inside json's decoder: library frames in between."""
    return json.loads('{"a": 1}', object_hook=lambda _: service.get_order(order_id))


def test_app_frames_innermost_first_library_frames_hidden_and_counted() -> None:
    report = errutil.capture(raised(lambda: through_json("zz")))
    assert report.error.type == "KeyError"
    assert report.error.message == "'zz'"
    assert [(f.file, f.function) for f in report.error.frames] == [
        (shown(repo), "load_order"),
        (shown(service), "get_order"),
    ]
    assert report.error.hidden >= 4  # the lambda, json's decoder frames, this test's frames
    assert not any(f.library for f in report.error.frames)


def test_a_raise_site_in_a_library_is_kept_and_marked() -> None:
    report = errutil.capture(raised(lambda: service.get_order_payload("broken")))
    site = report.error.frames[0]
    assert (site.file, site.function, site.library) == ("json/decoder.py", "raw_decode", True)
    assert [f.function for f in report.error.frames[1:]] == ["load_payload", "get_order_payload"]
    assert "  at json/decoder.py:" in report.text()
    assert report.text().splitlines()[1].endswith(" in raw_decode [library]")


def test_text_form_is_exactly_the_design_shape() -> None:
    report = errutil.capture(raised(lambda: through_json("zz")))
    lines = report.text().splitlines()
    assert lines[0] == f"KeyError: 'zz'  [error_id={report.error_id}]"
    assert re.fullmatch(rf"  at {re.escape(shown(repo))}:\d+ in load_order", lines[1])
    assert re.fullmatch(rf"  at {re.escape(shown(service))}:\d+ in get_order", lines[2])
    assert re.fullmatch(r"  \(\d+ library frames hidden\)", lines[3])
    assert len(lines) == 4
    assert (
        errutil.format_exception(raised(lambda: through_json("zz"))).splitlines()[1:3] == lines[1:3]
    )


def test_json_form_has_the_design_fields() -> None:
    report = errutil.capture(raised(lambda: repo.load_order("zz")), origin="http")
    data = report.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["event"] == "crash"
    assert data["level"] == "error"
    assert data["error"] == {"type": "KeyError", "message": "'zz'"}
    assert data["origin"] == "http"
    assert data["error_id"] == report.error_id
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", report.error_id
    )
    assert re.fullmatch(r"[0-9a-f]{16}", str(data["fingerprint"]))
    stack = data["stack"]
    assert isinstance(stack, list)
    assert stack[0] == {
        "file": shown(repo),
        "line": stack[0]["line"],
        "function": "load_order",
    }
    assert isinstance(data["stack_hidden"], int)
    assert "cause" not in data
    assert "http" not in data


def test_http_details_are_carried() -> None:
    http = {"method": "GET", "path": "/orders/zz", "status": 500}
    data = errutil.capture(
        raised(lambda: repo.load_order("zz")), origin="http", http=http
    ).to_dict()
    assert data["http"] == http


def test_the_fingerprint_is_stable_and_ignores_message_and_id() -> None:
    first = errutil.capture(raised(lambda: repo.load_order("zz")))
    second = errutil.capture(raised(lambda: repo.load_order("other")))
    assert first.fingerprint == second.fingerprint
    assert first.error_id != second.error_id
    elsewhere = errutil.capture(raised(lambda: service.get_order("zz")))
    assert elsewhere.fingerprint != first.fingerprint
    other_type = errutil.capture(raised(lambda: service.get_order_payload("broken")))
    assert other_type.fingerprint != elsewhere.fingerprint


def test_capture_refuses_what_is_not_an_exception() -> None:
    with pytest.raises(TypeError, match="capture\\(\\) needs an exception, got str"):
        errutil.capture("boom")  # type: ignore[arg-type]


def test_an_exception_never_raised_has_no_frames() -> None:
    report = errutil.capture(ValueError("made, not raised"))
    assert report.error.frames == ()
    assert report.text() == f"ValueError: made, not raised  [error_id={report.error_id}]"


def test_user_exception_types_are_qualified_builtins_are_not() -> None:
    class LocalError(Exception):
        pass

    assert errutil.capture(LocalError()).error.type == f"{__name__}.{LocalError.__qualname__}"
    assert errutil.capture(KeyError()).error.type == "KeyError"


def test_error_ids_are_uuid7_unique_and_sorted_by_time() -> None:
    exc = raised(lambda: repo.load_order("zz"))
    ids = [errutil.capture(exc).error_id for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    parsed = [uuid.UUID(error_id) for error_id in ids]
    assert {(u.version, u.variant) for u in parsed} == {(7, uuid.RFC_4122)}
    millis = [u.int >> 80 for u in parsed]
    assert millis == sorted(millis)
    assert abs(millis[-1] - time.time() * 1000) < 60_000
    assert [str(u) for u in parsed] == ids


def _leaves() -> list[Exception]:
    """Four failures as a TaskGroup collects them: two bugs, each raised twice."""
    found = [
        raised(lambda: repo.load_order("zz")),
        raised(lambda: repo.load_payload("broken")),
        raised(lambda: service.get_order("zz")),
        raised(lambda: repo.load_payload("broken")),
    ]
    return [leaf for leaf in found if isinstance(leaf, Exception)]


def _group(leaves: list[Exception]) -> BaseException:
    def fail() -> None:
        raise ExceptionGroup("unhandled errors in a TaskGroup", leaves)

    return raised(fail)


@needs_groups
def test_exception_group_leaf_order_never_changes_the_fingerprint() -> None:
    leaves = _leaves()
    assert len(leaves) == 4
    fingerprints = set()
    orders = set()
    rng = random.Random(12)
    for _ in range(200):
        rng.shuffle(leaves)
        orders.add(tuple(type(leaf).__name__ for leaf in leaves))
        fingerprints.add(errutil.capture(_group(list(leaves))).fingerprint)
    assert len(orders) > 1
    assert len(fingerprints) == 1
    # the leaves do count: a group with other leaves is another bug
    assert errutil.capture(_group(leaves[:1])).fingerprint not in fingerprints


def test_the_fingerprint_leaves_out_line_numbers() -> None:
    first = errutil.capture(raised(lambda: repo.load_order("zz")))
    moved = [Frame(f.file, f.line + 100, f.function) for f in first.error.frames]
    info = ErrorInfo(first.error.type, first.error.message, tuple(moved), first.error.hidden)
    assert fingerprint(info) == first.fingerprint


def repeat_crash() -> BaseException:
    """The test app's KeyError, raised from one line here: every call has the same stack."""
    return raised(lambda: service.get_order("zz"))


def test_a_stack_seen_before_reuses_its_frames() -> None:
    first, second = errutil.capture(repeat_crash()), errutil.capture(repeat_crash())
    assert second.error.frames is first.error.frames  # built once, shared (read-only records)
    assert second.error_id != first.error_id
    assert second.to_dict() == {**first.to_dict(), "error_id": second.error_id}


def test_the_same_stack_under_other_app_packages_is_walked_again() -> None:
    exc = repeat_crash()
    ours = errutil.capture(exc)
    assert [f.function for f in ours.error.frames] == ["load_order", "get_order"]
    errutil.configure(app_packages=["no_such_package"])
    theirs = errutil.capture(exc)
    assert [(f.function, f.library) for f in theirs.error.frames] == [("load_order", True)]
    assert theirs.fingerprint != ours.fingerprint


def test_capture_takes_its_settings_without_changing_the_global_ones() -> None:
    exc = repeat_crash()
    before = _config.current()
    other = errutil.Config(["no_such_package"], max_message=2)
    report = errutil.capture(exc, config=other)
    assert [(f.function, f.library) for f in report.error.frames] == [("load_order", True)]
    assert report.error.message == "'z... [message cut: 4 chars]"
    assert _config.current() is before
    assert [f.function for f in errutil.capture(exc).error.frames] == ["load_order", "get_order"]
