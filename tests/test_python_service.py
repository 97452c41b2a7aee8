"""The Python service as a user gets it: rendered, set up, linted, tested and run."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import git_init, path_without_uv, render, run, show_in_ci, uv_bin
from shortstack.devtools import free_port, get_when_up


def test_render_leaves_no_template_syntax(tmp_path: Path) -> None:
    dst = render(tmp_path / "orders-service", project_name="Orders Service")
    files = [p for p in dst.rglob("*") if p.is_file()]
    assert not [p for p in files if p.suffix == ".jinja" or "{{" in str(p)]
    for path in files:
        text = path.read_text(errors="replace")
        assert "{{" not in text.replace("${{", ""), path  # GitHub Actions' ${{ }} is not ours
        assert "{%" not in text, path
    for expected in [
        "pyproject.toml",
        "Makefile",
        "README.md",
        "Dockerfile",
        ".pre-commit-config.yaml",
        ".github/workflows/ci.yml",
        "deploy/deployment.yaml",
        "deploy/service.yaml",
        "src/orders_service/app.py",
        "src/orders_service/__main__.py",
        "src/orders_service/startup.py",
        "src/orders_service/config.py",
        "src/orders_service/errutil/__init__.py",
    ]:
        assert (dst / expected).is_file(), expected


@pytest.mark.slow
def test_defaults_pass_their_own_lint_and_tests(python_service: Path) -> None:
    run(["make", "lint"], python_service)
    tests = run(["make", "test"], python_service)
    assert "Required test coverage of 90.0% reached" in tests.stdout


@pytest.mark.slow
def test_the_coverage_gate_fails_a_run_that_covers_too_little(python_service: Path) -> None:
    partial = run(
        [uv_bin(), "run", "--no-sync", "pytest", "tests/test_app.py", "-q"],
        python_service,
        check=False,
    )
    assert partial.returncode != 0
    assert "Required test coverage of 90.0% not reached" in partial.stdout


@pytest.mark.slow
def test_the_service_installs_exactly_its_lock(python_service: Path) -> None:
    """The rendered uv.lock matches pyproject.toml; setup, CI and the image install it --locked."""
    run([uv_bin(), "lock", "--check", "--offline"], python_service)
    assert "$(UV) sync --locked" in (python_service / "Makefile").read_text()
    assert "uv sync --locked --no-dev" in (python_service / "Dockerfile").read_text()
    workflow = (python_service / ".github/workflows/ci.yml").read_text()
    assert "astral-sh/setup-uv" in workflow and "contents: read" in workflow
    assert "pip install uv" not in workflow


@pytest.mark.parametrize("version", ["3.12", "3.13"])
def test_every_python_version_gets_a_lock_that_matches(tmp_path: Path, version: str) -> None:
    dst = render(tmp_path / "svc", project_name="Orders Service", python_version=version)
    assert f'requires-python = ">={version}"' in (dst / "uv.lock").read_text()
    run([uv_bin(), "lock", "--check", "--offline"], dst, env={"UV_PYTHON_DOWNLOADS": "never"})


@pytest.mark.slow
def test_a_second_answer_set_passes_too_on_a_machine_without_uv(tmp_path: Path) -> None:
    """Unusual answers, and a PATH with python3, git and make but no uv: `make setup` installs
    uv into .tools/, and lint and tests pass with it (one render checks both, to save a setup)."""
    path = path_without_uv(tmp_path)
    dst = render(
        tmp_path / "billing",
        project_name="Billing API v2",
        project_slug="billing-api",
        package_name="billing",
        description='Bills "customers" \\ quickly',
        author_name="Zoë O'Neil",
        author_email="billing@example.org",
    )
    git_init(dst)
    run(["make", "setup"], dst, env={"PATH": path})
    assert (dst / ".tools" / "bin" / "uv").is_file()
    run(["make", "lint"], dst, env={"PATH": path})
    run(["make", "test"], dst, env={"PATH": path})
    assert (dst / ".git" / "hooks" / "pre-commit").is_file()


@pytest.mark.slow
def test_make_run_serves_the_probes(python_service: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        ["make", "run", f"PORT={port}"],
        cwd=python_service,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # make, uv and python: stop them all together
    )
    try:
        statuses = {path: _get(port, path) for path in ("/healthz", "/readyz")}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        output, _ = proc.communicate(timeout=30)
    assert statuses == {"/healthz": 200, "/readyz": 200}, output
    lines = [line for line in output.splitlines() if line.strip().startswith("{")]
    assert lines, output
    for line in lines:
        json.loads(line)  # json is the default LOG_FORMAT: each line one object


@pytest.mark.slow
def test_setup_panic_handler_says_errutil_is_wired(python_service: Path) -> None:
    result = run(["make", "setup-panic-handler"], python_service)
    assert "errutil is wired" in result.stdout


def test_deploy_probes_point_at_the_service_endpoints(tmp_path: Path) -> None:
    dst = render(tmp_path / "svc")
    deployment = yaml.safe_load((dst / "deploy" / "deployment.yaml").read_text())
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert deployment["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True
    dockerfile = (dst / "Dockerfile").read_text()
    assert dockerfile.count("\nFROM ") + dockerfile.startswith("FROM ") >= 2  # multi-stage
    assert "\nUSER 10001" in dockerfile
    assert 'CMD ["python", "-m", "my_service"]' in dockerfile
    # A stop drains, then finishes requests in flight: Kubernetes waits for both.
    pod = deployment["spec"]["template"]["spec"]
    env = {
        item["name"]: float(item["value"]) for item in container["env"] if "SECONDS" in item["name"]
    }
    drain, graceful = env["SHUTDOWN_DRAIN_SECONDS"], env["GRACEFUL_TIMEOUT_SECONDS"]
    assert pod["terminationGracePeriodSeconds"] >= drain + graceful + 3


def _get(port: int, path: str, deadline: float = 60) -> int:
    """GET `path` once the service listens; return the status."""
    return get_when_up(f"http://127.0.0.1:{port}{path}", seconds=deadline)[0]


@pytest.mark.slow
def test_benchmark_reports_its_ratios(python_service: Path, request: pytest.FixtureRequest) -> None:
    # A measurement, not a check: the ratios are printed into the CI log, never asserted,
    # because these machines are shared and noisy. Only the report's shape is checked.
    result = run(["make", "bench"], python_service)
    show_in_ci(request, "make bench (Python service)", result.stdout)
    assert "format_exception vs traceback.format_exception" in result.stdout
    assert "capture().to_dict() vs structlog" in result.stdout
    assert "ErrorMiddleware on a trivial FastAPI request" in result.stdout


@pytest.mark.parametrize("language", ["python", "go"])
def test_the_manifests_build_with_kustomize(tmp_path: Path, language: str) -> None:
    """`kubectl apply -k deploy/` would get what kustomize builds: both flavours build."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl (with its kustomize) is not installed")
    data = {"language": language, "project_name": "Orders Service"}
    dst = render(tmp_path / language, **data)
    built = run([kubectl, "kustomize", "deploy"], dst)
    documents = [doc for doc in yaml.safe_load_all(built.stdout) if doc]
    assert sorted(doc["kind"] for doc in documents) == ["Deployment", "Service"]
    for doc in documents:
        assert doc["metadata"]["name"] == "orders-service"
        assert len(doc["metadata"]["name"]) <= 63
    deployment = next(doc for doc in documents if doc["kind"] == "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] == 30


def test_the_two_flavours_manifests_differ_only_where_the_languages_do(tmp_path: Path) -> None:
    """Resources and the image's user id are the language's; everything else is the same."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl (with its kustomize) is not installed")
    built = {}
    for language in ("python", "go"):
        dst = render(tmp_path / language, language=language, project_name="Orders Service")
        docs = list(yaml.safe_load_all(run([kubectl, "kustomize", "deploy"], dst).stdout))
        for doc in docs:
            if doc["kind"] == "Deployment":
                pod = doc["spec"]["template"]["spec"]
                pod.pop("securityContext")  # the image's own non-root user (10001, 65532)
                pod["containers"][0].pop("resources")  # what each runtime needs
        built[language] = docs
    assert built["python"] == built["go"]
