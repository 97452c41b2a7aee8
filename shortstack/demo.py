"""`make demo`: render a demo service, set it up, and show it answering and crashing.

Usage: python -m shortstack.demo [DEST]   (default: demo)
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from copier import run_copy

REPO = Path(__file__).resolve().parents[1]


def render_service(dest: Path, setup: bool = True, **data: str) -> dict[str, str]:
    """Render this checkout into `dest` (replacing an earlier render), `make setup` it.

    Returns the answers used. Refuses to replace a folder that is not a render.
    """
    if dest.exists():
        if not (dest / ".copier-answers.yml").is_file():
            raise SystemExit(f"{dest} exists and is not a rendered service: not replacing it")
        shutil.rmtree(dest)
    _step(f"copier copy -> {dest}")
    worker = run_copy(
        str(REPO), str(dest), data=data, defaults=True, unsafe=False, vcs_ref="HEAD", quiet=True
    )
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=dest, check=True)
    if setup:
        _step("make setup")
        subprocess.run(["make", "setup"], cwd=dest, env=clean_env(), check=True)
    return {k: str(v) for k, v in worker.answers.combined.items() if not k.startswith("_")}


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without our own virtualenv, so a render's `uv run` uses its own."""
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    env.update(extra)
    return env


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
            _wait_until_up(port)
            for path in ("/healthz", "/readyz"):
                status, body = _get(port, path)
                print(f"GET {path} -> {status} {body}")
            paths = json.loads(_get(port, "/openapi.json")[1]).get("paths", {})
            for path in sorted(p for p in paths if "crash" in p):
                try:
                    status, body = _get(port, path)
                except (http.client.HTTPException, ConnectionError) as error:
                    # A crash after the response started: the server can only cut it short.
                    print(f"GET {path} -> response cut short ({type(error).__name__})")
                    continue
                print(f"GET {path} -> {status} {body}")
            time.sleep(0.5)
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
    _step("what the service logged")
    print(log_path.read_text())
    print(f"The demo service is in {dest}: `cd {dest} && make test` runs its tests.")
    return 0


def _step(text: str) -> None:
    print(f"\n== {text}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
            return int(response.status), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def _wait_until_up(port: int, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            _get(port, "/healthz")
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"the demo service did not answer on port {port} within {seconds:.0f}s")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
