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
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from shortstack.demo import clean_env, free_port, render_service

CODE = Path(__file__).with_name("scenario_code")
DEFAULT_OUTPUT = Path(__file__).resolve().parents[1] / "docs" / "generated" / "scenarios.md"


@dataclass(frozen=True)
class Outcome:
    """What one run printed for the crash."""

    text: str
    raise_site: bool
    entry: bool

    @property
    def lines(self) -> int:
        return len([line for line in self.text.splitlines() if line.strip()])


@dataclass(frozen=True)
class Row:
    scenario: str
    default: Outcome
    ours: Outcome


@dataclass(frozen=True)
class Service:
    """A rendered demo service with the scenario code installed in its package."""

    root: Path
    package: str

    @property
    def python(self) -> str:
        return str(self.root / ".venv" / "bin" / "python")

    def raise_line(self, marker: str) -> int:
        source = (self.root / "src" / self.package / "orders" / "repo.py").read_text()
        for number, line in enumerate(source.splitlines(), start=1):
            if marker in line:
                return number
        raise LookupError(marker)

    def outcome(self, text: str, raise_site: str, entry: str) -> Outcome:
        # A frame line names the file and line either as `repo.py:9` or `repo.py", line 9`.
        file, _, line = raise_site.partition(":")
        pattern = rf"{re.escape(file)}(:|\", line ){line}\b" if line else re.escape(file)
        return Outcome(text, bool(re.search(pattern, text)), entry in text)


def install_scenario_code(service: Service) -> None:
    """Copy the scenario modules into the service's package, naming the package."""
    target = service.root / "src" / service.package / "orders"
    shutil.copytree(CODE / "orders", target, dirs_exist_ok=True)
    for name in ("driver.py", "test_orders_scenario.py"):
        text = (CODE / name).read_text().replace("__PACKAGE__", service.package)
        folder = service.root / ("tests" if name.startswith("test_") else "scenarios")
        folder.mkdir(exist_ok=True)
        (folder / name).write_text(text)


def run_http(service: Service, mode: str, path: str, entry: str) -> Outcome:
    """Serve the orders routes, request `path` once, and keep what the crash printed."""
    port = free_port()
    log_path = service.root / f"scenario-http-{mode}.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [service.python, "scenarios/driver.py", mode, "http", str(port)],
            cwd=service.root,
            env=clean_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            _wait_for(port, "/orders/a1")
            time.sleep(0.3)
            start = log_path.stat().st_size
            _request(port, path)
            time.sleep(1.0)
            with log_path.open() as written:
                written.seek(start)
                text = written.read()  # read before stopping: shutdown lines are not the crash's
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
    return service.outcome(text, f"repo.py:{service.raise_line('RAISE-SITE')}", entry)


def run_script(service: Service, mode: str, scenario: str, entry: str) -> Outcome:
    """Run the driver for a thread / task / main crash; keep everything it printed."""
    result = subprocess.run(
        [service.python, "scenarios/driver.py", mode, scenario],
        cwd=service.root,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return service.outcome(
        result.stdout + result.stderr, f"repo.py:{service.raise_line('RAISE-SITE')}", entry
    )


def run_pytest(service: Service, mode: str, default_args: list[str]) -> Outcome:
    """Run the failing test; keep the failure section (header to short summary)."""
    args = default_args if mode == "default" else []
    result = subprocess.run(
        [service.python, "-m", "pytest", "-q", *args, "tests/test_orders_scenario.py"],
        cwd=service.root,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    lines = result.stdout.splitlines()
    begin = next((i for i, line in enumerate(lines) if "test_import_order" in line), 0)
    end = next((i for i, line in enumerate(lines) if "short test summary" in line), len(lines))
    text = "\n".join(lines[begin:end])
    outcome = service.outcome(text, "decoder.py", "test_import_order")
    app_line = f"repo.py:{service.raise_line('APP-CALL-INTO-JSON')}"
    return Outcome(
        outcome.text,
        outcome.raise_site and service.outcome(text, app_line, "").raise_site,
        outcome.entry,
    )


def scenarios(service: Service, default_pytest_args: list[str]) -> list[Row]:
    """Every scenario, default then ours."""
    cases: list[tuple[str, Callable[[str], Outcome]]] = [
        (
            "HTTP handler crash (sync route)",
            lambda m: run_http(service, m, "/orders/zz", "order_route"),
        ),
        (
            "HTTP handler crash (async route)",
            lambda m: run_http(service, m, "/async/orders/zz", "order_route_async"),
        ),
        ("failing unit test through json", lambda m: run_pytest(service, m, default_pytest_args)),
        ("crash in a thread", lambda m: run_script(service, m, "thread", "order_worker")),
        ("crash in an asyncio task", lambda m: run_script(service, m, "task", "order_task")),
        ("crash in main", lambda m: run_script(service, m, "main", "order_worker")),
    ]
    rows = []
    for name, run in cases:
        print(f"  {name}", file=sys.stderr, flush=True)
        rows.append(Row(name, run("default"), run("ours")))
    return rows


def write_examples(service: Service, folder: Path) -> None:
    """Capture the crash report of the sync route in both formats, for the documentation."""
    text = run_http(service, "ours", "/orders/zz", "order_route").text
    (folder / "crash-report.txt").write_text(_without_access_line(text) + "\n")
    lines = run_http(service, "ours-json", "/orders/zz", "order_route").text.splitlines()
    report = next(json.loads(line) for line in lines if '"error_id"' in line)
    (folder / "crash-report.json").write_text(json.dumps(report, indent=2) + "\n")


def _without_access_line(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if '"GET ' not in line)


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
            f"| {mark(row.default.raise_site)} / {mark(row.ours.raise_site)} "
            f"| {mark(row.default.entry)} / {mark(row.ours.entry)} |"
        )
    return "\n".join(out) + "\n"


def _request(port: int, path: str) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def _wait_for(port: int, path: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            _request(port, path)
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"the scenario server did not answer on port {port}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="make scenarios", description=__doc__.split("\n")[0])
    parser.add_argument("--dest", type=Path, default=Path("demo-scenarios"))
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    answers = render_service(args.dest.resolve())
    service = Service(args.dest.resolve(), answers["package_name"])
    install_scenario_code(service)
    # The generated conftest.py turns errutil's pytest plugin on; --errutil-off is pytest's own.
    rows = scenarios(service, default_pytest_args=["--errutil-off"])
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
