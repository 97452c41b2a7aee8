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


def outcome(text: str, raise_site: str, entry: str) -> Outcome:
    """Judge `text`: is `raise_site` (`file:line`, or a file) shown, is `entry` named?"""
    # A frame line names file and line as `repo.py:9` (ours, Go) or `repo.py", line 9`.
    file, _, line = raise_site.partition(":")
    pattern = rf"{re.escape(file)}(:|\", line ){line}\b" if line else re.escape(file)
    return Outcome(text, bool(re.search(pattern, text)), entry in text)


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

    def raise_site(self, marker: str = "RAISE-SITE") -> str:
        repo = self.root / "src" / self.package / "orders" / "repo.py"
        return f"repo.py:{line_of(repo, marker)}"


def install_scenario_code(service: Service) -> None:
    """Copy the scenario modules into the service's package, naming the package."""
    target = service.root / "src" / service.package / "orders"
    shutil.copytree(CODE / "orders", target, dirs_exist_ok=True)
    for name in ("driver.py", "test_orders_scenario.py"):
        text = (CODE / name).read_text().replace("__PACKAGE__", service.package)
        folder = service.root / ("tests" if name.startswith("test_") else "scenarios")
        folder.mkdir(exist_ok=True)
        (folder / name).write_text(text)


def capture_server_crash(cmd: list[str], cwd: Path, port: int, ready: str, crash: str) -> str:
    """Start a server, request `crash` once it answers `ready`; return what it printed for that."""
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
            get_when_up(f"http://127.0.0.1:{port}{ready}", proc)
            time.sleep(0.3)
            start = log_path.stat().st_size
            with contextlib.suppress(ConnectionError):  # Go's net/http drops the connection
                get(f"http://127.0.0.1:{port}{crash}")
            time.sleep(1.0)
            with log_path.open() as written:
                written.seek(start)
                return written.read()  # read before stopping: shutdown lines are not the crash's
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)


def run_http(service: Service, mode: str, path: str, entry: str) -> Outcome:
    """Serve the orders routes, request `path` once, and keep what the crash printed."""
    port = free_port()
    cmd = [service.python, "scenarios/driver.py", mode, "http", str(port)]
    text = capture_server_crash(cmd, service.root, port, "/orders/a1", path)
    return outcome(text, service.raise_site(), entry)


def run_process(cmd: list[str], cwd: Path) -> str:
    """Run a scenario process to its end; everything it printed."""
    result = subprocess.run(
        cmd, cwd=cwd, env=clean_env(), capture_output=True, text=True, timeout=300, check=False
    )
    return result.stdout + result.stderr


def run_script(service: Service, mode: str, scenario: str, entry: str) -> Outcome:
    """Run the driver for a thread / task / main crash; keep everything it printed."""
    text = run_process([service.python, "scenarios/driver.py", mode, scenario], service.root)
    return outcome(text, service.raise_site(), entry)


def run_pytest(service: Service, mode: str, default_args: list[str]) -> Outcome:
    """Run the failing test; keep the failure section (header to short summary)."""
    args = default_args if mode == "default" else []
    # --no-cov: the service's coverage table is not part of the failure either way.
    cmd = [service.python, "-m", "pytest", "-q", "--no-cov", *args, "tests/test_orders_scenario.py"]
    lines = run_process(cmd, service.root).splitlines()
    begin = next((i for i, line in enumerate(lines) if "test_import_order" in line), 0)
    end = next((i for i, line in enumerate(lines) if "short test summary" in line), len(lines))
    text = "\n".join(lines[begin:end])
    # Both must show: json's raise site and the service's line that called json.
    json_site = outcome(text, "decoder.py", "test_import_order")
    app_site = outcome(text, service.raise_site("APP-CALL-INTO-JSON"), "")
    return Outcome(text, json_site.raise_site and app_site.raise_site, json_site.entry)


def python_rows(service: Service, default_pytest_args: list[str]) -> list[Row]:
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
        ("failing unit test through json", lambda m: run_pytest(service, m, default_pytest_args)),
        ("crash in a thread", lambda m: run_script(service, m, "thread", "order_worker")),
        ("crash in an asyncio task", lambda m: run_script(service, m, "task", "order_task")),
        ("crash in main", lambda m: run_script(service, m, "main", "order_worker")),
    ]
    return _measure(cases)


def go_rows(root: Path) -> list[Row]:
    """The Go service's scenarios: a handler, a goroutine and main, default then ours."""
    module = str(yaml_answers(root)["go_module"])
    driver = root / "cmd" / "scenario" / "main.go"
    driver.parent.mkdir(parents=True, exist_ok=True)
    driver.write_text((CODE / "go" / "main.go").read_text().replace("__MODULE__", module))
    subprocess.run(
        ["go", "build", "-o", "bin/scenario", "./cmd/scenario"],
        cwd=root,
        env=clean_env(),
        check=True,
    )
    binary = str(root / "bin" / "scenario")
    raise_site = f"store.go:{line_of(root / 'internal' / 'store' / 'store.go', 'return names[i]')}"

    def http(mode: str) -> Outcome:
        port = free_port()
        text = capture_server_crash(
            [binary, mode, "http", str(port)], root, port, "/healthz", "/orders"
        )
        return outcome(text, raise_site, "orderHandler")

    def process(scenario: str, entry: str) -> Callable[[str], Outcome]:
        return lambda mode: outcome(run_process([binary, mode, scenario], root), raise_site, entry)

    return _measure(
        [
            ("Go: HTTP handler panic", http),
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
            f"| {mark(row.default.raise_site)} / {mark(row.ours.raise_site)} "
            f"| {mark(row.default.entry)} / {mark(row.ours.entry)} |"
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
    # The generated conftest.py turns errutil's pytest plugin on; --errutil-off is pytest's own.
    rows = python_rows(service, default_pytest_args=["--errutil-off"])
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
