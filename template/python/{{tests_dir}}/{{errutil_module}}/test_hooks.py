"""install(): main thread, threads, asyncio tasks, unraisable; chaining and uninstall."""

from __future__ import annotations

import asyncio
import gc
import json
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from ._subject import ERRUTIL_MODULE, IMPORT_ERRUTIL, errutil, hooks
from .appcode import repo, service
from .conftest import LoggedReports
from .helpers import APP, CONFIGURE, shown, subprocess_env

pytestmark = pytest.mark.usefixtures("interpreter_default_hooks")


def run_python(code: str, log_format: str = "text") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        # whatever LOG_FORMAT the shell has: errutil's own variable decides
        env=subprocess_env(PYTHONWARNINGS="ignore", ERRUTIL_LOG_FORMAT=log_format),
        check=False,
    )


CRASH_MAIN = (
    f"{IMPORT_ERRUTIL}\n"
    f"from {APP} import service\n"
    f"{CONFIGURE}\n"
    "{install}\n"
    'service.get_order("zz")\n'
)


def test_main_thread_crash_is_short_and_exits_1_like_python() -> None:
    plain = run_python(CRASH_MAIN.format(install=""))
    ours = run_python(CRASH_MAIN.format(install="errutil.install()"))
    assert plain.returncode == ours.returncode == 1
    assert "Traceback" in plain.stderr
    assert "Traceback" not in ours.stderr
    lines = ours.stderr.strip().splitlines()
    assert lines[0].startswith("KeyError: 'zz'  [error_id=")
    assert lines[1].startswith(f"  at {shown(repo)}:")
    assert lines[2].startswith(f"  at {shown(service)}:")
    assert len(lines) <= 4


def test_a_program_without_logging_gets_one_json_line_when_asked() -> None:
    """No logging configured: Python's last resort prints text, unless JSON is asked for."""
    ours = run_python(CRASH_MAIN.format(install="errutil.install()"), log_format="json")
    assert ours.returncode == 1
    [line] = ours.stderr.strip().splitlines()
    event = json.loads(line)
    assert event["event"] == "crash"
    assert event["origin"] == "main"
    assert event["error"] == {"type": "KeyError", "message": "'zz'"}
    assert event["stack"][0]["file"] == shown(repo)
    configured = run_python(
        "import logging, sys\nlogging.basicConfig(stream=sys.stderr, format='%(message)s')\n"
        + CRASH_MAIN.format(install="errutil.install()"),
        log_format="json",
    )
    assert configured.stderr.startswith("KeyError: 'zz'  [error_id=")  # the program's logging


@pytest.mark.parametrize(
    ("statement", "code"),
    [("raise SystemExit(3)", 3), ("raise SystemExit('bye')", 1), ("raise KeyboardInterrupt", None)],
)
def test_keyboard_interrupt_and_system_exit_pass_through_untouched(
    statement: str, code: int | None
) -> None:
    plain = run_python(statement)
    ours = run_python(f"{IMPORT_ERRUTIL}\nerrutil.install()\n{statement}")
    assert ours.returncode == plain.returncode
    if code is not None:
        assert ours.returncode == code
    assert "error_id" not in ours.stderr
    assert ours.stderr.splitlines()[-1:] == plain.stderr.splitlines()[-1:]


def test_thread_crash_names_the_thread_and_the_process_goes_on(logged: LoggedReports) -> None:
    errutil.install()
    worker = threading.Thread(target=service.get_order, args=("zz",), name="order-worker")
    worker.start()
    worker.join()
    [report] = logged()
    assert report.origin == "thread"
    assert report.context["thread"] == "order-worker"
    assert report.error.frames[0].function == "load_order"
    assert "thread=order-worker" in report.text().splitlines()[0]


async def _fail_later() -> None:
    await asyncio.sleep(0)
    repo.load_order("zz")


async def _spawn_and_forget() -> None:
    asyncio.get_running_loop().create_task(_fail_later(), name="forgotten")
    await asyncio.sleep(0.01)


def test_a_failed_task_nobody_awaited_in_a_loop_created_after_install(
    logged: LoggedReports,
) -> None:
    errutil.install()
    asyncio.run(_spawn_and_forget())
    gc.collect()
    [report] = logged()
    assert report.origin == "task"
    assert report.context["task"] == "forgotten"
    assert report.error.frames[0].function == "load_order"


def test_a_loop_that_existed_before_install_is_covered(logged: LoggedReports) -> None:
    loop = asyncio.new_event_loop()
    try:
        errutil.install()
        loop.run_until_complete(_spawn_and_forget())
        gc.collect()
    finally:
        loop.close()
    assert [r.origin for r in logged()] == ["task"]


def test_any_exception_reaching_the_loop_handler_is_reported(logged: LoggedReports) -> None:
    errutil.install()

    def callback() -> None:
        repo.load_order("zz")

    async def main() -> None:
        asyncio.get_running_loop().call_soon(callback)
        await asyncio.sleep(0.01)

    asyncio.run(main())
    [report] = logged()
    assert report.origin == "task"


def test_uvloop_loops_are_covered_when_uvloop_is_installed(logged: LoggedReports) -> None:
    uvloop = pytest.importorskip("uvloop")
    errutil.install()
    uvloop.run(_spawn_and_forget())
    gc.collect()
    assert [r.origin for r in logged()] == ["task"]
    errutil.uninstall()
    assert "default_exception_handler" not in uvloop.Loop.__dict__


def test_a_loop_with_its_own_handler_keeps_it(logged: LoggedReports) -> None:
    errutil.install()
    seen: list[dict[str, Any]] = []

    async def main() -> None:
        asyncio.get_running_loop().set_exception_handler(lambda _, ctx: seen.append(ctx))
        await _spawn_and_forget()
        gc.collect()

    asyncio.run(main())
    assert len(seen) == 1
    assert logged() == []


def test_loop_messages_without_an_exception_go_to_asyncio(
    logged: LoggedReports, caplog: pytest.LogCaptureFixture
) -> None:
    errutil.install()

    async def main() -> None:
        asyncio.get_running_loop().call_exception_handler({"message": "just a message"})

    asyncio.run(main())
    assert logged() == []
    assert "just a message" in caplog.text


class _FailsOnDelete:
    def __del__(self) -> None:
        repo.load_order("zz")


def test_an_exception_in_del_is_reported_as_unraisable(logged: LoggedReports) -> None:
    errutil.install()
    obj = _FailsOnDelete()
    del obj
    gc.collect()
    [report] = logged()
    assert report.origin == "unraisable"
    assert "_FailsOnDelete.__del__" in report.context["ignored_in"]
    assert report.error.frames[0].function == "load_order"


@pytest.fixture
def recorded_hooks() -> Iterator[Callable[[], list[str]]]:
    """Put non-default hooks in place (when called), recording that they were called.

    Called from the test body, not set up here: pytest 7 sets its own thread and unraisable
    hooks around each test's call, after fixtures, and they would replace these.
    """
    calls: list[str] = []
    saved = (sys.excepthook, threading.excepthook, sys.unraisablehook)

    def install_recorders() -> list[str]:
        sys.excepthook = lambda *a: calls.append("excepthook")
        threading.excepthook = lambda a: calls.append("threading")
        sys.unraisablehook = lambda u: calls.append("unraisable")
        return calls

    yield install_recorders
    errutil.uninstall()
    sys.excepthook, threading.excepthook, sys.unraisablehook = saved


def test_install_chains_to_the_hooks_that_were_there(
    recorded_hooks: Callable[[], list[str]], logged: LoggedReports
) -> None:
    calls = recorded_hooks()
    before = (sys.excepthook, threading.excepthook, sys.unraisablehook)
    errutil.install()
    errutil.install()  # idempotent: the previous hooks are still the recorded ones
    try:
        repo.load_order("zz")
    except KeyError as exc:
        sys.excepthook(KeyError, exc, exc.__traceback__)
    worker = threading.Thread(target=repo.load_order, args=("zz",))
    worker.start()
    worker.join()
    obj = _FailsOnDelete()
    del obj
    assert calls == ["excepthook", "threading", "unraisable"]
    assert [r.origin for r in logged()] == ["main", "thread", "unraisable"]
    errutil.uninstall()
    assert (sys.excepthook, threading.excepthook, sys.unraisablehook) == before
    assert asyncio.BaseEventLoop.__dict__["default_exception_handler"] is not (
        hooks._loop_exception_handler
    )


def test_uninstall_leaves_hooks_installed_over_ours(logged: LoggedReports) -> None:
    saved = sys.excepthook
    errutil.install()
    assert errutil.installed()

    def later_hook(*args: object) -> None:
        pass

    sys.excepthook = later_hook
    try:
        errutil.uninstall()
        assert sys.excepthook is later_hook
        assert not errutil.installed()
    finally:
        sys.excepthook = saved


def test_a_failing_report_falls_back_to_the_interpreters_output(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    errutil.install()

    def broken_log(*args: object, **kwargs: object) -> None:
        raise RuntimeError("logging is broken")

    monkeypatch.setattr(hooks, "log_exception", broken_log)
    try:
        repo.load_order("zz")
    except KeyError as exc:
        sys.excepthook(KeyError, exc, exc.__traceback__)
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert "KeyError: 'zz'" in err


def test_the_last_resort_output_is_redacted_too(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    errutil.install()

    def broken_log(*args: object, **kwargs: object) -> None:
        raise RuntimeError("logging is broken")

    monkeypatch.setattr(hooks, "log_exception", broken_log)
    try:
        raise PermissionError("login failed password=hunter2")
    except PermissionError as exc:
        sys.excepthook(PermissionError, exc, exc.__traceback__)
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert "PermissionError: login failed password=[REDACTED]" in err
    assert "hunter2" not in err


CLOSED_STDOUT = (
    "import logging, os, sys\n"
    f"{IMPORT_ERRUTIL}\n"
    f"from {APP} import repo\n"
    f"{CONFIGURE}\n"
    "read_end, write_end = os.pipe()\n"
    "os.close(read_end)\n"
    "os.dup2(write_end, 1)  # stdout: a pipe nobody reads any more\n"
    "logging.basicConfig(stream=sys.stdout)\n"
    "errutil.install()\n"
    "with errutil.guard():\n"
    "    repo.load_order('zz')\n"
    "sys.stderr.write('still running\\n')\n"
)


def test_a_closed_stdout_gets_the_report_once_on_stderr_without_errutils_frames() -> None:
    done = run_python(CLOSED_STDOUT)
    assert "still running" in done.stderr
    assert done.stderr.count("KeyError: 'zz'  [error_id=") == 1, done.stderr
    assert done.stderr.count(f"  at {shown(repo)}:") == 1
    assert "--- Logging error ---" not in done.stderr
    assert f"{ERRUTIL_MODULE}/emit.py" not in done.stderr
    assert "Traceback" not in done.stderr.partition("still running")[0]
