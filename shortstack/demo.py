"""`make demo`: render a demo service, set it up, and show it answering and crashing.

Usage: python -m shortstack.demo [DEST]   (default: demo)
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from shortstack.devtools import clean_env, free_port, get, get_when_up, render_template


def render_service(dest: Path, setup: bool = True, **data: str) -> dict[str, str]:
    """Render this checkout into `dest` (replacing an earlier render), `make setup` it.

    Returns the answers used. Refuses to replace a folder that is not a render.
    """
    if dest.exists():
        if not (dest / ".copier-answers.yml").is_file():
            raise SystemExit(f"{dest} exists and is not a rendered service: not replacing it")
        shutil.rmtree(dest)
    _step(f"copier copy -> {dest}")
    worker = render_template(dest, data)
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=dest, check=True)
    if setup:
        _step("make setup")
        subprocess.run(["make", "setup"], cwd=dest, env=clean_env(), check=True)
    return {k: str(v) for k, v in worker.answers.combined.items() if not k.startswith("_")}


def main(argv: list[str]) -> int:
    dest = Path(argv[0] if argv else "demo").resolve()
    package = render_service(dest)["package_name"]
    env = clean_env()

    port = free_port()
    # What `make run` runs, started directly so that stopping it stops the service alone.
    _step(f"python -m {package}  (PORT={port}, LOG_FORMAT=console, ENABLE_CRASH_ROUTES=1)")
    log_path = dest / "demo-run.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [str(dest / ".venv" / "bin" / "python"), "-m", package],
            cwd=dest,
            env={
                **env,
                "PORT": str(port),
                "LOG_FORMAT": "console",
                "ENABLE_CRASH_ROUTES": "1",
                "SHUTDOWN_DRAIN_SECONDS": "0",  # the demo stops it at once: no drain
            },
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            get_when_up(f"{base}/healthz", proc)
            for path in ("/healthz", "/readyz"):
                status, body = get(base + path)
                print(f"GET {path} -> {status} {body}")
            paths = json.loads(get(f"{base}/openapi.json")[1]).get("paths", {})
            crashes = sorted(p for p in paths if "crash" in p)
            for path in crashes:
                try:
                    status, body = get(base + path)
                except (http.client.HTTPException, ConnectionError) as error:
                    # A crash after the response started: the server can only cut it short.
                    print(f"GET {path} -> response cut short ({type(error).__name__})")
                    continue
                print(f"GET {path} -> {status} {body}")
            # The task and thread routes crash after they answer: wait for every report.
            _wait_for_reports(log_path, len(crashes), proc)
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
    _step("what the service logged")
    print(log_path.read_text())
    print(f"The demo service is in {dest}: `cd {dest} && make test` runs its tests.")
    return 0


def _wait_for_reports(
    log_path: Path, count: int, server: subprocess.Popen[bytes], seconds: float = 30
) -> None:
    """Return once the log holds `count` crash reports (or the server exited, or time ran out:
    the log printed then shows what is missing)."""
    deadline = time.monotonic() + seconds
    while log_path.read_text().count("[error_id=") < count:
        if server.poll() is not None or time.monotonic() > deadline:
            return
        time.sleep(0.05)


def _step(text: str) -> None:
    print(f"\n== {text}", flush=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
