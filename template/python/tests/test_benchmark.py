"""The benchmark script runs and reports its ratios (a smoke run: no timing is asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).parents[1] / "benchmarks" / "bench_errutil.py"


def test_benchmark_prints_every_ratio() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    out = result.stdout
    assert "distinct exceptions through FastAPI" in out
    for line in (
        "format_exception vs traceback.format_exception",
        "capture().to_dict() vs structlog",
        "import errutil (logging loaded)",
        "ErrorMiddleware on a trivial FastAPI request",
    ):
        assert line in out
    assert out.count("goal ") == 4
    assert "Traceback" not in result.stderr


def test_storm_benchmark_prints_its_ratios() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT.with_name("bench_storm.py")), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    out = result.stdout
    for line in (
        "crashing vs healthy rate (service)",
        "crashing rate: service vs plain app",
        "healthy p99 in a storm: service / plain",
    ):
        assert line in out
    assert out.count("goal ") == 3
    assert "Traceback" not in result.stderr
