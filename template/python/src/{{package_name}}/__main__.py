"""`python -m <package>` and the console script: start up, then serve with uvicorn."""

from __future__ import annotations

import sys

import uvicorn

from .app import create_app
from .config import ConfigError
from .startup import start


def main() -> None:
    """Run the start-up hook, then serve `create_app()` on $HOST:$PORT."""
    try:
        settings = start()
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        sys.exit(2)
    # log_config=None keeps the logging that start() configured: uvicorn's own lines go
    # through it too (one JSON object per line in json mode).
    uvicorn.run(create_app(), host=settings.host, port=settings.port, log_config=None)


if __name__ == "__main__":
    main()
