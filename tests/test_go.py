"""The Go flavour: render `language=go` with each logger, run the output's own make targets,
crash the built service (HTTP, goroutine, main) in both log formats, and wire errutil into an
existing Go repository is tests/test_gowire.py."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import REPO, git_init, render, run, show_in_ci
from shortstack.devtools import free_port, get, get_when_up

pytestmark = [pytest.mark.go, pytest.mark.slow]

if shutil.which("go") is None:
    pytest.skip("the Go toolchain is not installed", allow_module_level=True)

LOGGERS = ["slog", "zap", "logrus"]
SLUG = "orders-service"
# One render uses a module path that is not the default, so no path is hard-wired.
MODULES = {
    "slog": "example.com/orders-service",
    "zap": "git.example.org/team/orders",
    "logrus": "example.com/orders-service",
}
LOGGER_DEPENDENCY = {
    "zap": "go.uber.org/zap",
    "logrus": "github.com/sirupsen/logrus",
}
GOLANGCI_LINT_VERSION = "v2.15.0"
CRASH_HEADER = (
    "runtime.boundsError: runtime error: index out of range [5] with length 3  [error_id="
)
ERROR_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def _golangci_lint_v2_on_path() -> bool:
    found = shutil.which("golangci-lint")
    if found is None:
        return False
    out = subprocess.run([found, "version"], capture_output=True, text=True, check=False)
    return re.search(r"version v?2\.", out.stdout + out.stderr) is not None


@pytest.fixture(scope="session")
def go_tools(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """golangci-lint v2, built once for the session (every render's `make setup` reuses it)."""
    bin_dir = tmp_path_factory.mktemp("go-tools")
    if not _golangci_lint_v2_on_path():
        run(
            [
                "go",
                "install",
                f"github.com/golangci/golangci-lint/v2/cmd/golangci-lint@{GOLANGCI_LINT_VERSION}",
            ],
            REPO,
            env={"GOBIN": str(bin_dir)},
            timeout=1500,
        )
    saved = os.environ["PATH"]
    os.environ["PATH"] = f"{bin_dir}{os.pathsep}{saved}"
    yield bin_dir
    os.environ["PATH"] = saved


@pytest.fixture(scope="session", params=LOGGERS)
def go_service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, go_tools: Path
) -> Path:
    """The Go template rendered with one logger, committed, set up and built."""
    logger: str = request.param
    dst = render(
        tmp_path_factory.mktemp(f"go-{logger}", numbered=False) / SLUG,
        project_name="Orders Service",
        language="go",
        go_logger=logger,
        go_module=MODULES[logger],
    )
    git_init(dst)
    run(["make", "setup"], dst)
    run(["go", "build", "-o", "bin/service", f"./cmd/{SLUG}"], dst)
    return dst


def _logger(service: Path) -> str:
    return service.parent.name.split("-")[1]


def test_only_the_chosen_logger_is_rendered(go_service: Path) -> None:
    logger = _logger(go_service)
    errutil = go_service / "pkg" / "errutil"
    go_mod = (go_service / "go.mod").read_text()
    # go 1.22.0, not 1.22: OpenTelemetry's modules require it
    assert go_mod.startswith(f"module {MODULES[logger]}\n\ngo 1.22.0\n")
    for other, dependency in LOGGER_DEPENDENCY.items():
        assert (dependency in go_mod) == (other == logger), go_mod
    for other in LOGGERS:
        assert (errutil / f"{other}.go").exists() == (other == logger)
        assert (errutil / f"{other}_test.go").exists() == (other == logger)
    leftovers = [p for p in go_service.rglob("*") if ".jinja" in p.name or "{{" in p.name]
    assert leftovers == []


def test_lint_and_test_pass(go_service: Path) -> None:
    run(["make", "lint"], go_service)
    tests = run(["make", "test"], go_service)
    assert "go test -race -cover" in tests.stdout  # the race detector, and coverage printed
    assert "pkg/errutil" in tests.stdout and "coverage:" in tests.stdout


def test_shipped_go_sum_is_what_tidy_writes(go_service: Path) -> None:
    run(["go", "mod", "tidy", "-diff"], go_service)
    assert run(["gofmt", "-l", "."], go_service).stdout == ""


def test_setup_panic_handler_checks_every_main(go_service: Path, tmp_path: Path) -> None:
    run(["make", "setup-panic-handler"], go_service)
    copy = tmp_path / "copy"
    shutil.copytree(go_service, copy, ignore=shutil.ignore_patterns("bin", ".git"))
    main_go = copy / "cmd" / SLUG / "main.go"
    main_go.write_text(main_go.read_text().replace("\tdefer errutil.Recover()", "\t// removed"))
    failed = run(["make", "setup-panic-handler"], copy, check=False)
    assert failed.returncode != 0
    assert "does not start with `defer errutil.Recover()`" in failed.stdout


def test_container_and_deploy_manifests(go_service: Path) -> None:
    dockerfile = (go_service / "Dockerfile").read_text()
    assert "FROM scratch" in dockerfile and "USER 65532:65532" in dockerfile
    assert "go build -trimpath" in dockerfile and f"./cmd/{SLUG}" in dockerfile
    deployment = yaml.safe_load((go_service / "deploy" / "deployment.yaml").read_text())
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    container = pod["containers"][0]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    # The same stop as the Python flavour: drain, then requests in flight, within the grace.
    env = {item["name"]: item["value"] for item in container["env"]}
    assert (env["SHUTDOWN_DRAIN_SECONDS"], env["GRACEFUL_TIMEOUT_SECONDS"]) == ("5", "20")
    assert pod["terminationGracePeriodSeconds"] == 30
    for name in ("kustomization.yaml", "service.yaml"):
        assert yaml.safe_load((go_service / "deploy" / name).read_text())
    workflow = yaml.safe_load((go_service / ".github" / "workflows" / "ci.yml").read_text())
    steps = [step.get("run") for step in workflow["jobs"]["check"]["steps"]]
    assert [s for s in steps if s] == ["make setup", "make lint", "make test"]
    hooks = yaml.safe_load((go_service / ".pre-commit-config.yaml").read_text())
    assert {h["id"] for h in hooks["repos"][0]["hooks"]} >= {"gofmt", "go-vet", "golangci-lint"}


# --- The running service ---------------------------------------------------------------


class Service:
    """The built binary, started with CRASH_DEMO=routes on a free port."""

    def __init__(self, service: Path, log_format: str, tmp_path: Path) -> None:
        self.port = free_port()
        self.stderr_path = tmp_path / f"stderr-{log_format}.log"
        self._stderr = self.stderr_path.open("w")
        env = {**os.environ, "PORT": str(self.port), "LOG_FORMAT": log_format}
        env["CRASH_DEMO"] = "routes"
        env["SHUTDOWN_DRAIN_SECONDS"] = "0"  # the tests stop it at once
        self.proc = subprocess.Popen(
            [str(service / "bin" / "service")],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
        )
        self._wait_until_healthy()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def _wait_until_healthy(self) -> None:
        try:
            status, _ = get_when_up(self.url("/healthz"), self.proc, seconds=30)
        except RuntimeError as error:
            pytest.fail(f"{error}: {self.stderr()}")
        assert status == 200, self.stderr()

    def wait_for_metric(self, line: str) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if line in get(self.url("/metrics"))[1].splitlines():
                return
            time.sleep(0.1)
        pytest.fail(f"/metrics never showed {line!r}")

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=30)
        self._stderr.close()
        return code

    def stderr(self) -> str:
        if not self._stderr.closed:
            self._stderr.flush()
        return self.stderr_path.read_text()


def _text_report(stderr: str, part: str) -> list[str]:
    """The text report (a header and its indented lines) that contains `part`."""
    blocks: list[list[str]] = []
    for line in stderr.splitlines():
        if line.startswith("  ") and blocks:
            blocks[-1].append(line)
        else:
            blocks.append([line])
    found = [block for block in blocks if any(part in line for line in block)]
    if len(found) != 1:
        pytest.fail(f"{len(found)} reports with {part!r} in:\n{stderr}")
    return found[0]


def _json_lines(stderr: str) -> list[dict[str, Any]]:
    records = []
    for line in stderr.splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            pytest.fail(f"not one JSON object per line: {line!r}\n{stderr}")
    return records


def _check_frames(stack: list[dict[str, Any]], outer: str) -> None:
    assert [f["function"] for f in stack] == ["store.Load", "orders.Lookup", outer]
    assert [f["file"] for f in stack[:2]] == [
        "internal/store/store.go",
        "internal/orders/orders.go",
    ]
    assert all(isinstance(f["line"], int) and f["line"] > 0 for f in stack)


@pytest.mark.parametrize("log_format", ["console", "json"])
def test_crash_over_http_and_in_a_goroutine(
    go_service: Path, log_format: str, tmp_path: Path
) -> None:
    service = Service(go_service, log_format, tmp_path)
    try:
        status, body = get(service.url("/debug/crash"))
        assert status == 500
        client = json.loads(body)
        assert set(client) == {"error", "error_id"} and client["error"] == "internal"
        assert ERROR_ID.match(client["error_id"])
        for leak in ("runtime", "index", ".go", "store"):
            assert leak not in body

        status, _ = get(service.url("/debug/crash/goroutine"))
        assert status == 202
        service.wait_for_metric('crashes_total{origin="goroutine"} 1')
        service.wait_for_metric('crashes_total{origin="http"} 1')
        assert get(service.url("/healthz"))[0] == 200  # the process went on
    finally:
        code = service.stop()
    stderr = service.stderr()
    assert code == 0, stderr  # graceful shutdown on SIGTERM
    # no Go stack dump (a JSON report's exception.stacktrace holds one, escaped, inside its line)
    assert not re.search(r"^goroutine \d+ \[", stderr, re.MULTILINE)

    if log_format == "console":
        _check_console_reports(stderr, client["error_id"])
    else:
        _check_json_reports(stderr, client["error_id"])


def _check_console_reports(stderr: str, error_id: str) -> None:
    """The HTTP and goroutine crashes as text reports: short, the raise site and entry kept."""
    http_report = _text_report(stderr, f"[error_id={error_id}]")
    assert http_report[0] == f"{CRASH_HEADER}{error_id}]"
    assert len(http_report) <= 6, http_report
    assert "in store.Load" in http_report[1] and "in server.(*Server).crash" in http_report[3]
    assert re.fullmatch(r"  \(\d+ library frames? hidden\)", http_report[-1])
    goroutine_report = _text_report(stderr, "goroutine started at")
    assert goroutine_report[0].startswith(CRASH_HEADER)
    assert len(goroutine_report) <= 6, goroutine_report
    assert "in server.(*Server).crashGoroutine)" in goroutine_report[-1]


def _check_json_reports(stderr: str, error_id: str) -> None:
    """The HTTP and goroutine crashes as JSON lines: fields, frames and exception.* fields."""
    records = _json_lines(stderr)
    crashes = [r for r in records if r.get("event") == "crash"]
    by_origin = {r["origin"]: r for r in crashes}
    assert sorted(by_origin) == ["goroutine", "http"], crashes
    http_crash = by_origin["http"]
    assert http_crash["level"] == "error"
    assert http_crash["error_id"] == error_id
    assert http_crash["error"] == {
        "type": "runtime.boundsError",
        "message": "runtime error: index out of range [5] with length 3",
    }
    assert http_crash["http"] == {"method": "GET", "path": "/debug/crash", "status": 500}
    assert http_crash["stack_hidden"] > 0 and re.fullmatch(
        r"[0-9a-f]{16}", http_crash["fingerprint"]
    )
    _check_frames(http_crash["stack"], "server.(*Server).crash")
    goroutine_crash = by_origin["goroutine"]
    _check_frames(goroutine_crash["stack"], "server.(*Server).crashGoroutine.func1")
    assert goroutine_crash["started_at"]["function"] == "server.(*Server).crashGoroutine"
    assert "http" not in goroutine_crash
    assert all("stacktrace" not in r for r in crashes)  # no logger-added stack
    # OpenTelemetry's exception.* fields: the short stack in Go's panic format.
    stacktrace = http_crash["exception.stacktrace"]
    assert stacktrace.startswith(f"panic: {http_crash['error']['message']}\n\ngoroutine ")
    assert "\nstore.Load(...)\n\tinternal/store/store.go:" in stacktrace, stacktrace


@pytest.mark.parametrize("log_format", ["console", "json"])
def test_crash_in_main_exits_2_with_a_short_report(go_service: Path, log_format: str) -> None:
    env = {"LOG_FORMAT": log_format, "CRASH_DEMO": "main", "PORT": str(free_port())}
    result = run([str(go_service / "bin" / "service")], go_service, env=env, check=False)
    assert result.returncode == 2, result.stderr
    assert not re.search(r"^goroutine ", result.stderr, re.MULTILINE)  # no Go stack dump
    if log_format == "console":
        report = result.stderr.strip().splitlines()
        assert report[0].startswith(CRASH_HEADER)
        assert len(report) <= 6, report
        assert "in main.main" in result.stderr
        return
    crashes = [r for r in _json_lines(result.stderr) if r.get("event") == "crash"]
    assert len(crashes) == 1 and crashes[0]["origin"] == "main"
    assert [f["function"] for f in crashes[0]["stack"]][:2] == ["store.Load", "orders.Lookup"]
    assert crashes[0]["stack"][-1]["file"] == f"cmd/{SLUG}/main.go"


FATAL_DEMO = """package main

import "os"

// crashFatally ends the process with "fatal error: concurrent map writes",
// which no recover() sees, when FATAL_DEMO=1.
func crashFatally() {
	if os.Getenv("FATAL_DEMO") != "1" {
		return
	}
	m := map[int]int{}
	for i := 0; i < 4; i++ {
		go writeForever(m)
	}
	select {}
}

func writeForever(m map[int]int) {
	for i := 0; ; i++ {
		m[i%64] = i
	}
}
"""


def test_crash_monitor_reports_a_fatal_error(go_service: Path, tmp_path: Path) -> None:
    """CRASH_MONITOR=1: a fatal runtime error is also logged as one short report."""
    copy = tmp_path / "copy"
    shutil.copytree(go_service, copy, ignore=shutil.ignore_patterns("bin", ".git"))
    main_go = copy / "cmd" / SLUG / "main.go"
    source = main_go.read_text()
    demo = "\tif cfg.CrashDemo == config.CrashDemoMain {"
    assert demo in source
    main_go.write_text(source.replace(demo, "\tcrashFatally()\n" + demo, 1))
    (copy / "cmd" / SLUG / "fatal_demo.go").write_text(FATAL_DEMO)
    run(["go", "build", "-o", "bin/service", f"./cmd/{SLUG}"], copy)
    for log_format in ("json", "console"):
        env = {"LOG_FORMAT": log_format, "FATAL_DEMO": "1", "PORT": str(free_port())}
        quiet = run([str(copy / "bin" / "service")], copy, env=env, check=False)
        assert quiet.returncode == 2 and "fatal error: concurrent map writes" in quiet.stderr
        assert "concurrent map access" not in quiet.stderr  # opt-in: no monitor, no report
        env["CRASH_MONITOR"] = "1"
        result = run([str(copy / "bin" / "service")], copy, env=env, check=False)
        assert result.returncode == 2, result.stderr
        # the runtime's dump first, then the monitor's report
        assert result.stderr.startswith("fatal error: concurrent map writes"), result.stderr
        if log_format == "console":
            _, header, report = result.stderr.partition("\nfatal error: concurrent map access")
            lines = (header + report).strip().splitlines()
            assert lines and "[error_id=" in lines[0], result.stderr
            assert lines[1].startswith(f"  at cmd/{SLUG}/fatal_demo.go:"), lines
            assert "in main.writeForever" in lines[1] and "goroutine started at" in lines[-1]
            assert len(lines) <= 4, lines
            continue
        records = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
        crashes = [r for r in records if r.get("event") == "crash"]
        assert len(crashes) == 1, result.stderr
        crash = crashes[0]
        assert crash["error"]["type"] == "fatal error" and crash["origin"] == "goroutine"
        assert crash["stack"][0]["file"] == f"cmd/{SLUG}/fatal_demo.go"
        assert crash["stack"][0]["function"] == "main.writeForever"


def test_trimpath_build_reports_module_relative_files(go_service: Path, tmp_path: Path) -> None:
    """The Dockerfile builds with -trimpath: file names are then import paths, not disk paths."""
    binary = tmp_path / "trimmed"
    run(["go", "build", "-trimpath", "-o", str(binary), f"./cmd/{SLUG}"], go_service)
    env = {"LOG_FORMAT": "console", "CRASH_DEMO": "main"}
    result = run([str(binary)], go_service, env=env, check=False)
    assert result.returncode == 2
    frames = result.stderr.strip().splitlines()[1:5]
    assert frames[0].startswith("  at internal/store/store.go:"), frames
    assert frames[1].startswith("  at internal/orders/orders.go:"), frames
    assert all(line.startswith(f"  at cmd/{SLUG}/main.go:") for line in frames[2:]), frames


def test_bad_setting_is_refused_clearly(go_service: Path) -> None:
    result = run(
        [str(go_service / "bin" / "service")], go_service, env={"LOG_FORMAT": "xml"}, check=False
    )
    assert result.returncode == 1
    assert 'LOG_FORMAT="xml": want one of json, console' in result.stderr


def test_bench_prints_the_ratio(go_service: Path, request: pytest.FixtureRequest) -> None:
    if _logger(go_service) != "slog":
        pytest.skip("errutil's core is the same for every logger: benchmarked once")
    out = run(["make", "bench"], go_service).stdout
    show_in_ci(request, "make bench (Go service)", out)
    assert "BenchmarkCaptureAndFormat" in out and "BenchmarkDebugStack" in out
    assert re.search(r"errutil is \d+\.\dx faster", out), out
    assert re.search(r"first crash at a stack, which resolves every frame, is \d+\.\dx", out)
    assert "BenchmarkServe/tracing=off" in out and "BenchmarkServe/tracing=on" in out


def test_setup_builds_golangci_lint_when_none_is_on_path(go_service: Path, tmp_path: Path) -> None:
    if _logger(go_service) != "slog":
        pytest.skip("one logger is enough: the lint tool does not depend on it")
    copy = tmp_path / "fresh"
    shutil.copytree(go_service, copy, ignore=shutil.ignore_patterns("bin", ".git"))
    go_dir = str(Path(shutil.which("go") or "go").parent)
    path = os.pathsep.join(
        [go_dir, *(p for p in os.environ["PATH"].split(os.pathsep) if not _has_golangci(p))]
    )
    result = run(["make", "setup"], copy, env={"PATH": path}, timeout=1500)
    assert "building v2." in result.stdout
    assert (copy / "bin" / "golangci-lint").is_file()
    version = run([str(copy / "bin" / "golangci-lint"), "version"], copy)
    assert "version 2." in version.stdout + version.stderr


def _has_golangci(directory: str) -> bool:
    return (Path(directory) / "golangci-lint").exists()
