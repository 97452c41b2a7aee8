"""`make scenarios`: the before/after table, measured on a freshly rendered service.

For each way a service loses an exception, run the same crash twice in one rendered demo:
once as a service without errutil would (uvicorn's, pytest's, Python's own output), once with
the service's start-up hook (errutil installed, console logging). Count the lines each prints
for that one crash, and check whether the raise site and the entry point (the route, test,
thread or task function) are visible. The table goes to stdout and to a Markdown file that
the documentation includes.

Usage: python -m shortstack.scenarios [--dest DIR] [--output FILE]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from shortstack.demo import render_service
from shortstack.devtools import clean_env, free_port, get, get_when_up

CODE = Path(__file__).with_name("scenario_code")
DEFAULT_OUTPUT = Path(__file__).resolve().parents[1] / "docs" / "generated" / "scenarios.md"


@dataclass(frozen=True)
class Outcome:
    """What one run printed for the crash, and whether it shows the two places that matter."""

    text: str
    shows_raise_site: bool
    shows_entry: bool

    @property
    def lines(self) -> int:
        return len([line for line in self.text.splitlines() if line.strip()])


@dataclass(frozen=True)
class Row:
    scenario: str
    default: Outcome
    ours: Outcome


def judge(text: str, raise_site: str, entry: str) -> Outcome:
    """Judge `text`: is `raise_site` (`file:line`, or a file) shown, is `entry` named?"""
    return Outcome(text, shows_site(text, raise_site), entry in text)


def shows_site(text: str, site: str) -> bool:
    """Whether `text` names `site` (`file:line`, or a file) in a frame."""
    # A frame line names file and line as `repo.py:9` (ours, Go) or `repo.py", line 9`.
    file, _, line = site.partition(":")
    pattern = rf"{re.escape(file)}(:|\", line ){line}\b" if line else re.escape(file)
    return bool(re.search(pattern, text))


def line_of(path: Path, marker: str) -> int:
    """The number of the first line of `path` that holds `marker`."""
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if marker in line:
            return number
    raise LookupError(f"{marker!r} is not in {path}")


@dataclass(frozen=True)
class Service:
    """A rendered Python demo service with the scenario code installed in its package."""

    root: Path
    package: str

    @property
    def python(self) -> str:
        return str(self.root / ".venv" / "bin" / "python")

    @property
    def orders(self) -> Path:
        """Where the scenario code is installed: the `orders` package inside the service's."""
        return self.root / "src" / self.package / "orders"

    def driver(self, mode: str, scenario: str, *rest: str) -> list[str]:
        """The command that runs one scenario."""
        return [self.python, "-m", f"{self.package}.orders.driver", mode, scenario, *rest]

    def site(self, marker: str = "RAISE-SITE") -> str:
        """`repo.py:N`, N the line of `repo.py` that carries `marker`."""
        return f"repo.py:{line_of(self.orders / 'repo.py', marker)}"


def install_scenario_code(service: Service) -> None:
    """Copy the `orders` package into the service's package (its imports are relative)."""
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(CODE / "orders", service.orders, ignore=ignore, dirs_exist_ok=True)


@dataclass(frozen=True)
class Requests:
    """What to GET from a scenario server, and the lines that say the server logged each."""

    ready: str  # a path that answers while nothing has crashed
    crash: str  # the path that crashes
    ready_logged: str | None  # in the log once `ready` was served (None: it logs nothing)
    crash_logged: tuple[str, ...]  # all in the log once the crash's output is complete


def capture_server_crash(cmd: list[str], cwd: Path, port: int, requests: Requests) -> str:
    """Start a server, request the crash once it answers; return what it printed for that."""
    log_path = cwd / f"scenario-server-{port}.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            cmd,
            cwd=cwd,
            env=clean_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            get_when_up(f"http://127.0.0.1:{port}{requests.ready}", proc)
            if requests.ready_logged is not None:
                wait_for_log(log_path, 0, (requests.ready_logged,), proc)
            start = log_path.stat().st_size
            with contextlib.suppress(ConnectionError):  # Go's net/http drops the connection
                get(f"http://127.0.0.1:{port}{requests.crash}")
            # read before stopping: shutdown lines are not the crash's
            return wait_for_log(log_path, start, requests.crash_logged, proc)
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)


def wait_for_log(
    log_path: Path, start: int, lines: tuple[str, ...], server: subprocess.Popen[bytes]
) -> str:
    """What the log holds past `start` once it holds every one of `lines` (or after 30 s, or
    once the server has exited: the judge then says what is missing)."""
    deadline = time.monotonic() + 30
    while True:
        with log_path.open() as written:
            written.seek(start)
            text = written.read()
        done = all(line in text for line in lines) and text.endswith("\n")
        if done or server.poll() is not None or time.monotonic() > deadline:
            return text
        time.sleep(0.05)


def run_http(service: Service, mode: str, path: str, entry: str) -> Outcome:
    """Serve the orders routes, request `path` once, and keep what the crash printed."""
    port = free_port()
    text = capture_server_crash(
        service.driver(mode, "http", str(port)), service.root, port, http_requests(mode, path)
    )
    return judge(text, service.site(), entry)


def http_requests(mode: str, path: str) -> Requests:
    """What to GET, and the access lines that say each request's output is complete.

    Without errutil, uvicorn's text access line comes first, then the traceback, whose last
    line names the KeyError; with it, the report (its first line names it) precedes the
    service's own access line (`status=500`, or `"status": 500` in JSON). Each is one log
    record: with both in the log, the crash's output is complete.
    """
    if mode == "default":
        return Requests("/orders/a1", path, '"GET /orders/a1 ', (f'"GET {path} ', "KeyError"))
    status = '"status": ' if mode == "ours-json" else "status="
    return Requests("/orders/a1", path, f"{status}200", (f"{status}500", "KeyError"))


def run_process(cmd: list[str], cwd: Path) -> str:
    """Run a scenario process to its end; everything it printed."""
    result = subprocess.run(
        cmd, cwd=cwd, env=clean_env(), capture_output=True, text=True, timeout=300, check=False
    )
    return result.stdout + result.stderr


def run_script(service: Service, mode: str, scenario: str, entry: str) -> Outcome:
    """Run the driver for a thread / task / main crash; keep everything it printed."""
    text = run_process(service.driver(mode, scenario), service.root)
    return judge(text, service.site(), entry)


def run_pytest(service: Service, mode: str) -> Outcome:
    """Run the failing test; keep the failure section (header to short summary)."""
    # The test sits in the service's package, under no conftest.py: errutil's pytest plugin is
    # named here as the service's tests/conftest.py names it; --errutil-off is pytest's own
    # output. --no-cov: the service's coverage table is not part of the failure either way.
    plugin = ["-p", f"{service.package}.errutil.pytest_plugin"]
    off = ["--errutil-off"] if mode == "default" else []
    test = str(service.orders / "test_orders_scenario.py")
    cmd = [service.python, "-m", "pytest", "-q", "--no-cov", *plugin, *off, test]
    lines = run_process(cmd, service.root).splitlines()
    begin = next((i for i, line in enumerate(lines) if "test_import_order" in line), 0)
    end = next((i for i, line in enumerate(lines) if "short test summary" in line), len(lines))
    text = "\n".join(lines[begin:end])
    # Both must show: json's raise site and the service's line that called json.
    both = shows_site(text, "decoder.py") and shows_site(text, service.site("APP-CALL-INTO-JSON"))
    return Outcome(text, both, "test_import_order" in text)


def python_rows(service: Service) -> list[Row]:
    """Every Python scenario, default then ours."""
    cases: list[tuple[str, Callable[[str], Outcome]]] = [
        (
            "HTTP handler crash (sync route)",
            lambda m: run_http(service, m, "/orders/zz", "order_route"),
        ),
        (
            "HTTP handler crash (async route)",
            lambda m: run_http(service, m, "/async/orders/zz", "order_route_async"),
        ),
        ("failing unit test through json", lambda m: run_pytest(service, m)),
        ("crash in a thread", lambda m: run_script(service, m, "thread", "order_worker")),
        ("crash in an asyncio task", lambda m: run_script(service, m, "task", "order_task")),
        ("crash in main", lambda m: run_script(service, m, "main", "order_worker")),
    ]
    return _measure(cases)


def install_go_scenario(root: Path) -> str:
    """Write the Go scenario command and its test into cmd/scenario, build it; the binary."""
    module = str(yaml_answers(root)["go_module"])
    folder = root / "cmd" / "scenario"
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("main.go", "main_test.go"):
        text = (CODE / "go" / name).read_text().replace("__MODULE__", module)
        (folder / name).write_text(text)
    build = ["go", "build", "-o", "bin/scenario", "./cmd/scenario"]
    subprocess.run(build, cwd=root, env=clean_env(), check=True)
    return str(root / "bin" / "scenario")


# go test's own lines around a failure, the same with errutil or without: not the crash's.
GO_TEST_FRAMING = re.compile(r"^(--- FAIL: |=== RUN |FAIL$|FAIL\t|ok\s|exit status )")


def run_go_test(root: Path, mode: str, raise_site: str) -> Outcome:
    """`go test` the panicking test; keep its failure output without go test's framing."""
    env = clean_env(SCENARIO_MODE=mode)
    cmd = ["go", "test", "-count=1", "-run", "^TestOrderLookup$", "./cmd/scenario"]
    result = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, check=False)
    lines = (result.stdout + result.stderr).splitlines()
    text = "\n".join(line for line in lines if not GO_TEST_FRAMING.match(line))
    return judge(text, raise_site, "TestOrderLookup")


def go_rows(root: Path) -> list[Row]:
    """The Go service's scenarios: a handler, a test, a goroutine and main, default then ours."""
    binary = install_go_scenario(root)
    raise_site = f"store.go:{line_of(root / 'internal' / 'store' / 'store.go', 'return names[i]')}"

    def http(mode: str) -> Outcome:
        port = free_port()
        # Nothing is logged for /healthz; the crash's output is one write naming both places.
        requests = Requests("/healthz", "/orders", None, (raise_site, "orderHandler"))
        text = capture_server_crash([binary, mode, "http", str(port)], root, port, requests)
        return judge(text, raise_site, "orderHandler")

    def process(scenario: str, entry: str) -> Callable[[str], Outcome]:
        return lambda mode: judge(run_process([binary, mode, scenario], root), raise_site, entry)

    return _measure(
        [
            ("Go: HTTP handler panic", http),
            ("Go: failing unit test (panic)", lambda mode: run_go_test(root, mode, raise_site)),
            ("Go: panic in a goroutine", process("goroutine", "orderWorker")),
            ("Go: panic in main", process("main", "runOrders")),
        ]
    )


def _measure(cases: list[tuple[str, Callable[[str], Outcome]]]) -> list[Row]:
    rows = []
    for name, run in cases:
        print(f"  {name}", file=sys.stderr, flush=True)
        rows.append(Row(name, run("default"), run("ours")))
    return rows


def yaml_answers(root: Path) -> dict[str, object]:
    loaded = yaml.safe_load((root / ".copier-answers.yml").read_text())
    return loaded if isinstance(loaded, dict) else {}


def write_examples(service: Service, folder: Path) -> None:
    """Capture the crash report of the sync route in both formats, for the documentation."""
    text = run_http(service, "ours", "/orders/zz", "order_route").text
    (folder / "crash-report.txt").write_text(_without_access_line(text) + "\n")
    lines = run_http(service, "ours-json", "/orders/zz", "order_route").text.splitlines()
    report = next(json.loads(line) for line in lines if '"error_id"' in line)
    (folder / "crash-report.json").write_text(json.dumps(report, indent=2) + "\n")


def _without_access_line(text: str) -> str:
    """Drop uvicorn's access line ("GET ...") and the service's own (route=... / "route": ...)."""
    return "\n".join(
        line
        for line in text.splitlines()
        if '"GET ' not in line and "route=" not in line and '"route": ' not in line
    )


def markdown(rows: list[Row]) -> str:
    def mark(flag: bool) -> str:
        return "yes" if flag else "**no**"

    out = [
        "| scenario | default lines | shortstack lines | raise site shown (default / ours) "
        "| entry shown (default / ours) |",
        "|---|---:|---:|---|---|",
    ]
    for row in rows:
        out.append(
            f"| {row.scenario} | {row.default.lines} | {row.ours.lines} "
            f"| {mark(row.default.shows_raise_site)} / {mark(row.ours.shows_raise_site)} "
            f"| {mark(row.default.shows_entry)} / {mark(row.ours.shows_entry)} |"
        )
    return "\n".join(out) + "\n"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="make scenarios", description=__doc__.split("\n")[0])
    parser.add_argument("--dest", type=Path, default=Path("demo-scenarios"))
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument(
        "--no-go", dest="go", action="store_false", help="leave out the Go flavour's rows"
    )
    args = parser.parse_args(argv)
    answers = render_service(args.dest.resolve())
    service = Service(args.dest.resolve(), answers["package_name"])
    install_scenario_code(service)
    rows = python_rows(service)
    if args.go:
        go_root = args.dest.resolve().with_name(args.dest.name + "-go")
        render_service(go_root, setup=False, language="go")
        rows += go_rows(go_root)
    table = markdown(rows)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(table)
    write_examples(service, args.output.parent)
    print(table)
    for row in rows:
        print(f"--- {row.scenario}: ours\n{row.ours.text}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
