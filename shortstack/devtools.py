"""Helpers this repository's tooling and tests share: render the template, talk to a server.

One place for what the demo, the scenarios, `make locks` and the tests all do: render this
checkout with copier, pick a free port, and GET a local server once it answers.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["REPO", "clean_env", "free_port", "get", "get_when_up", "render_template"]

REPO = Path(__file__).resolve().parents[1]


def render_template(
    dst: Path, data: Mapping[str, Any] | None = None, src: Path = REPO, vcs_ref: str = "HEAD"
) -> Any:
    """Render the template at *src* (HEAD plus uncommitted changes) into *dst*; copier's worker."""
    from copier import run_copy

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a checkout with local edits is rendered as it is
        return run_copy(
            str(src),
            str(dst),
            data=dict(data or {}),
            defaults=True,
            unsafe=False,
            vcs_ref=vcs_ref,
            quiet=True,
        )


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without our own virtualenv, so a render's `uv run` uses its own."""
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    env.update(extra)
    return env


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get(url: str, timeout: float = 10) -> tuple[int, str]:
    """GET *url*: the status and the body, an HTTP error status included (never raised)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def get_when_up(
    url: str, server: subprocess.Popen[Any] | None = None, seconds: float = 60
) -> tuple[int, str]:
    """GET *url* as soon as the server listens; RuntimeError if *server* exits or time runs out."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return get(url)
        except OSError:
            if server is not None and server.poll() is not None:
                raise RuntimeError(
                    f"the server exited ({server.returncode}) before answering {url}"
                ) from None
            if time.monotonic() > deadline:
                raise RuntimeError(f"nothing answered {url} within {seconds:.0f} s") from None
            time.sleep(0.2)
