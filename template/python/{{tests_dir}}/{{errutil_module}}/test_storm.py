"""Fingerprints and repeat suppression: a crash in a loop is logged once, then counted."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import tracemalloc

import pytest

from ._subject import BRIEF, ERRUTIL, FULL, IMPORT_ERRUTIL, REPEAT, RepeatTracker, emit, errutil
from .appcode import repo
from .conftest import LoggedReports
from .helpers import APP, CONFIGURE, PYTHONPATH, shown, subprocess_env
from .helpers import crash as crash_exc


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env=subprocess_env(PYTHONWARNINGS="ignore"),
        check=False,
    )


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def crash() -> errutil.CrashReport:
    return errutil.capture(crash_exc())


def test_first_full_then_counted_and_summarised_when_the_window_ends() -> None:
    clock = FakeClock()
    tracker = RepeatTracker(clock)
    first = tracker.decide("fp", 60, "KeyError")
    assert (first.kind, first.summaries) == (FULL, [])
    for _ in range(1500):
        clock.now += 0.01
        decision = tracker.decide("fp", 60, "KeyError")
        assert (decision.kind, decision.summaries) == (REPEAT, [])
    clock.now += 50  # the window (60 s) has ended: the next crash of any kind closes it
    closing = tracker.decide("other", 60, "ValueError")
    assert closing.kind == FULL
    [(fingerprint, label, count, seconds)] = closing.summaries
    assert (fingerprint, label, count) == ("fp", "KeyError", 1500)
    assert seconds == pytest.approx(65.0)
    assert tracker.decide("fp", 60).kind == FULL  # a new window starts with a full report


def test_drain_summarises_open_windows_once() -> None:
    clock = FakeClock()
    tracker = RepeatTracker(clock)
    tracker.decide("fp", 60, "KeyError")
    for _ in range(3):
        tracker.decide("fp", 60, "KeyError")
    tracker.decide("quiet", 60, "ValueError")
    clock.now += 5
    assert tracker.drain() == [("fp", "KeyError", 3, 5.0)]
    assert tracker.drain() == []


def test_a_new_fingerprint_is_never_suppressed_and_tracking_is_capped() -> None:
    tracker = RepeatTracker(FakeClock(), max_fingerprints=5)
    assert all(tracker.decide(f"fp{n}", 60).full for n in range(50))
    assert len(tracker) == 5
    assert tracker.decide("fp49", 60).kind == REPEAT
    assert tracker.decide("fp0", 60).full  # forgotten when the table was full: full again


def test_evicting_a_fingerprint_keeps_its_count() -> None:
    tracker = RepeatTracker(FakeClock(), max_fingerprints=2)
    tracker.decide("a", 60, "A")
    tracker.decide("a", 60, "A")
    tracker.decide("b", 60, "B")
    assert tracker.decide("c", 60, "C").summaries == [("a", "A", 1, 0.0)]


def test_window_zero_logs_everything() -> None:
    tracker = RepeatTracker(FakeClock())
    assert all(tracker.decide("fp", 0).full for _ in range(20))
    assert len(tracker) == 0


def test_the_budget_caps_full_reports_per_window_across_fingerprints() -> None:
    clock = FakeClock()
    tracker = RepeatTracker(clock)
    kinds = [tracker.decide(f"fp{n}", 60, budget=3, budget_window=10).kind for n in range(5)]
    assert kinds == [FULL, FULL, FULL, BRIEF, BRIEF]
    assert tracker.decide("fp4", 60, budget=3, budget_window=10).kind == REPEAT
    assert tracker.decide("late", 60, budget=3, budget_window=10, force=True).kind == FULL
    clock.now += 10
    assert tracker.decide("fp9", 60, budget=3, budget_window=10).kind == FULL


def test_the_crash_that_ends_the_process_is_full_even_as_a_repeat() -> None:
    tracker = RepeatTracker(FakeClock())
    tracker.decide("fp", 60)
    assert tracker.decide("fp", 60).kind == REPEAT
    assert tracker.decide("fp", 60, force=True).kind == FULL


def test_reset_forgets_history_and_replaces_a_held_lock() -> None:
    tracker = RepeatTracker(FakeClock())
    tracker.decide("fp", 60)
    tracker._lock.acquire()  # as if a thread held it when the process forked
    tracker.reset()
    assert tracker.decide("fp", 60).full


def test_repeats_reach_listeners_but_not_the_log(
    logged: LoggedReports, caplog: pytest.LogCaptureFixture
) -> None:
    errutil.configure(repeat_window=60)
    seen: list[str] = []
    errutil.add_listener(lambda report: seen.append(report.error_id))
    try:
        for _ in range(25):
            errutil.log_report(crash())
    finally:
        emit._listeners.clear()
    assert len(seen) == 25
    assert len(logged()) == 1
    assert not [r for r in caplog.records if hasattr(r, "crash_fields")]
    emit.flush_repeats()
    summaries = [r for r in caplog.records if hasattr(r, "crash_fields")]
    assert [r.crash_fields["repeats"] for r in summaries] == [24]
    assert summaries[0].crash_fields["event"] == "crash_repeated"
    assert summaries[0].getMessage().startswith("KeyError repeated 24 more times in ")
    assert summaries[0].levelno == logging.ERROR


def test_a_repeat_in_a_request_gets_one_line_with_its_error_id(
    logged: LoggedReports, caplog: pytest.LogCaptureFixture
) -> None:
    errutil.configure(repeat_window=60)
    http = {"method": "GET", "path": "/orders/zz", "status": 500}
    reports = [errutil.capture(crash_exc(), origin="http", http=http) for _ in range(3)]
    for report in reports:
        errutil.log_report(report)
    assert len(logged()) == 1
    repeats = [r for r in caplog.records if hasattr(r, "crash_fields")]
    assert [r.crash_fields["error_id"] for r in repeats] == [r.error_id for r in reports[1:]]
    assert repeats[0].crash_fields["event"] == "crash_repeat"
    assert repeats[0].crash_fields["http"] == http
    assert "\n" not in repeats[0].getMessage()
    assert repeats[0].getMessage().endswith(f"repeat of fingerprint={reports[0].fingerprint}")


def test_a_different_crash_is_logged_in_full_during_a_storm(logged: LoggedReports) -> None:
    errutil.configure(repeat_window=60)
    for _ in range(5):
        errutil.log_report(crash())
    try:
        repo.load_payload("broken")
    except ValueError as exc:
        errutil.log_report(errutil.capture(exc))
    assert [r.error.type for r in logged()] == ["KeyError", "json.decoder.JSONDecodeError"]


def test_a_broken_listener_does_not_cost_the_report(logged: LoggedReports) -> None:
    def broken(report: errutil.CrashReport) -> None:
        raise RuntimeError("listener bug")

    errutil.add_listener(broken)
    try:
        errutil.log_report(crash())
    finally:
        errutil.remove_listener(broken)
    assert len(logged()) == 1


FINGERPRINT = (
    f"{IMPORT_ERRUTIL}\n"
    f"from {APP} import repo\n"
    f"{CONFIGURE}\n"
    "try:\n"
    "    repo.load_order({order!r})\n"
    "except KeyError as exc:\n"
    "    print(errutil.capture(exc).fingerprint)\n"
)


def test_the_fingerprint_survives_restarts_and_ignores_the_message() -> None:
    prints = {
        subprocess.run(
            [sys.executable, "-c", FINGERPRINT.format(order=order)],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": seed, "PATH": "", "PYTHONPATH": PYTHONPATH},
        ).stdout.strip()
        for order, seed in (("zz", "1"), ("other", "2"))
    }
    assert prints == {crash().fingerprint}


class KeepIds(logging.Handler):
    """Keeps only what the storm test checks: which error_ids reached the log, and how."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.full: set[str] = set()
        self.brief: set[str] = set()

    def emit(self, record: logging.LogRecord) -> None:
        report = getattr(record, "crash_report", None)
        fields = getattr(record, "crash_fields", None)
        if isinstance(report, errutil.CrashReport):
            self.full.add(report.error_id)
        elif isinstance(fields, dict) and fields["event"] == "crash_over_budget":
            self.brief.add(str(fields["error_id"]) + " " + str(fields["fingerprint"]))


def distinct_crash(number: int) -> BaseException:
    """A crash of a type of its own: a fingerprint no other crash has."""
    kind: type[LookupError] = type(f"Storm{number}Error", (LookupError,), {})
    try:
        repo.load_order("zz")
    except KeyError as exc:
        return kind(f"lookup {number} failed").with_traceback(exc.__traceback__)
    raise AssertionError("load_order('zz') did not fail")


def test_a_storm_of_3000_distinct_crashes_is_bounded() -> None:
    pytest.importorskip("prometheus_client")
    from prometheus_client import CollectorRegistry

    from ._subject import prometheus_counter

    clock = FakeClock()  # the whole storm inside one budget window, whatever the machine's speed
    emit.use_tracker(RepeatTracker(clock))
    errutil.configure(repeat_window=60)  # the defaults: 100 full reports a minute
    registry = CollectorRegistry()
    prometheus_counter(registry)
    keep = KeepIds()
    logger = logging.getLogger("errutil")
    logger.addHandler(keep)
    logger.propagate = False  # pytest's log capture would keep every record
    crashes = [distinct_crash(n) for n in range(3000)]
    given: list[str] = []  # what each client was told, with the fingerprint: "<id> <fp>"
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        for exc in crashes:
            report = errutil.log_exception(exc, origin="http", http=HTTP)
            given.append(f"{report.error_id} {report.fingerprint}")
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
        logger.removeHandler(keep)
        logger.propagate = True
        emit._listeners.pop()
    growth = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    assert len({line.split()[1] for line in given}) == 3000
    assert len(keep.full) == 100  # the budget: 100 full reports a minute
    assert keep.full == {line.split()[0] for line in given[:100]}
    assert keep.brief == set(given[100:])  # the others: one line with id and fingerprint
    assert len(emit.repeat_tracker()) == 1000  # tracking is capped
    [metric] = [m for m in registry.collect() if m.name == "crashes"]
    assert [(s.labels, s.value) for s in metric.samples if s.name == "crashes_total"] == [
        ({"origin": "http"}, 3000.0)
    ]
    # what stays: the tracker (1,000 fingerprints), the ids this test keeps, the log's sets
    print(f"memory kept after 3,000 distinct crashes: {growth / 1024:.0f} KiB")
    assert growth < 2 * 1024 * 1024


HTTP = {"method": "GET", "path": "/orders/zz", "status": 500}

FATAL_AFTER_REPEAT = (
    f"{IMPORT_ERRUTIL}\n"
    f"from {APP} import repo\n"
    f"{CONFIGURE}\n"
    "errutil.configure(repeat_window=60)\n"
    "errutil.install()\n"
    "with errutil.guard():\n"
    "    repo.load_order('zz')\n"
    "repo.load_order('zz')\n"
)


def test_the_crash_that_ends_the_process_is_logged_in_full_after_a_repeat() -> None:
    done = run_python(FATAL_AFTER_REPEAT)
    assert done.returncode == 1
    titles = [line for line in done.stderr.splitlines() if line.startswith("KeyError: 'zz'")]
    assert len(titles) == 2  # the guarded crash, then the fatal one: both in full
    assert done.stderr.count(f"  at {shown(repo)}:") == 2
    assert "repeated" not in done.stderr


SIGTERM_REPEATS = (
    "import sys, time\n"
    f"{IMPORT_ERRUTIL}\n"
    f"from {APP} import repo\n"
    f"{CONFIGURE}\n"
    "errutil.configure(repeat_window=60)\n"
    "errutil.install()\n"
    "for _ in range(4):\n"
    "    with errutil.guard():\n"
    "        repo.load_order('zz')\n"
    "print('ready', flush=True)\n"
    "time.sleep(30)\n"
)


def test_repeats_are_flushed_on_sigterm_and_the_process_still_ends_by_it() -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", SIGTERM_REPEATS],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=subprocess_env(),
    )
    assert process.stdout is not None
    assert process.stdout.readline() == "ready\n"
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == -signal.SIGTERM
    assert "KeyError repeated 3 more times in " in stderr


FORK_WHILE_LOCKED = (
    "import os, sys\n"
    f"{IMPORT_ERRUTIL}\n"
    f"from {ERRUTIL} import emit\n"
    f"from {APP} import repo\n"
    f"{CONFIGURE}\n"
    "errutil.configure(repeat_window=60)\n"
    "with errutil.guard():\n"
    "    repo.load_order('zz')\n"
    "emit.repeat_tracker()._lock.acquire()  # a thread is in the tracker when the process forks\n"
    "pid = os.fork()\n"
    "if pid == 0:\n"
    "    with errutil.guard():\n"
    "        repo.load_order('zz')\n"
    "    sys.stderr.flush()\n"
    "    os._exit(0)\n"
    "_, status = os.waitpid(pid, 0)\n"
    "print(os.waitstatus_to_exitcode(status))\n"
)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX")
def test_a_forked_child_has_its_own_tracker() -> None:
    done = run_python(FORK_WHILE_LOCKED)
    assert done.stdout.strip() == "0", done.stderr
    titles = [line for line in done.stderr.splitlines() if line.startswith("KeyError: 'zz'")]
    assert len(titles) == 2  # the parent's, and the child's first crash: not a repeat
