"""Settings read from the environment, checked once at start-up."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["ConfigError", "Settings"]

LOG_FORMATS = ("json", "console")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


class ConfigError(ValueError):
    """An environment variable holds a value the service cannot use."""


@dataclass(frozen=True)
class Settings:
    """What the service reads from its environment."""

    port: int = 8080
    host: str = "0.0.0.0"  # listen on every interface: the service runs in a container
    log_format: str = "json"
    log_level: str = "INFO"
    enable_crash_routes: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Build settings from `env` (default `os.environ`); raise ConfigError on a bad value."""
        env = os.environ if env is None else env
        return cls(
            port=_port(env.get("PORT", "8080")),
            host=env.get("HOST", "0.0.0.0") or "0.0.0.0",
            log_format=_choice("LOG_FORMAT", env.get("LOG_FORMAT", "json"), LOG_FORMATS),
            log_level=_level(env.get("LOG_LEVEL", "INFO")),
            enable_crash_routes=_flag("ENABLE_CRASH_ROUTES", env.get("ENABLE_CRASH_ROUTES", "")),
        )


def _port(raw: str) -> int:
    try:
        port = int(raw)
    except ValueError:
        raise ConfigError(f"PORT must be a number from 1 to 65535, not {raw!r}") from None
    if not 0 < port < 65536:
        raise ConfigError(f"PORT must be a number from 1 to 65535, not {raw!r}")
    return port


def _choice(name: str, raw: str, choices: tuple[str, ...]) -> str:
    value = raw.strip().lower()
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, not {raw!r}")
    return value


def _level(raw: str) -> str:
    level = raw.strip().upper()
    if not isinstance(logging.getLevelName(level), int):
        names = "DEBUG, INFO, WARNING, ERROR, CRITICAL"
        raise ConfigError(f"LOG_LEVEL must be one of {names}, not {raw!r}")
    return level


def _flag(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"{name} must be 1 or 0 (true/false), not {raw!r}")
