"""Settings read from the environment (pydantic-settings), checked once at start-up.

Each variable is the field's name in capitals (`PORT`, `LOG_FORMAT`, ...). A bad value stops the
start with one line that names the variable and says what it must be (`ConfigError`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["ConfigError", "Settings"]


class ConfigError(ValueError):
    """An environment variable holds a value the service cannot use."""


class Settings(BaseSettings):
    """What the service reads from its environment."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore")

    port: int = Field(default=8080, ge=1, le=65535, description="a number from 1 to 65535")
    # Every interface: the service runs in a container.
    host: str = Field(default="0.0.0.0", min_length=1, description="a host name or address")
    log_format: Literal["json", "console"] = Field(
        default="json", description="one of json, console"
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = Field(
        default="INFO", description="one of DEBUG, INFO, WARNING, ERROR, CRITICAL"
    )
    enable_crash_routes: bool = Field(default=False, description="1 or 0 (true/false)")
    # On SIGTERM: report not-ready and keep serving this long (so the load balancer stops
    # sending new requests), then let in-flight requests finish within the graceful timeout.
    # The Deployment's terminationGracePeriodSeconds covers both.
    shutdown_drain_seconds: float = Field(
        default=5.0, ge=0, le=60, description="seconds from 0 to 60"
    )
    graceful_timeout_seconds: float = Field(
        default=20.0, gt=0, le=300, description="seconds from 0 to 300"
    )

    @field_validator("log_format", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("enable_crash_routes", mode="before")
    @classmethod
    def _empty_is_off(cls, value: object) -> object:
        return False if isinstance(value, str) and not value.strip() else value

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Settings from *env* (default: the process environment); ConfigError on a bad value."""
        try:
            if env is None:
                return cls()
            names = {name.upper(): name for name in cls.model_fields}
            data = {names[key.upper()]: value for key, value in env.items() if key.upper() in names}
            return cls.model_validate(data)
        except ValidationError as error:
            raise ConfigError(_one_line(error)) from None


def _one_line(error: ValidationError) -> str:
    """`PORT must be a number from 1 to 65535, not 'http'`: the first problem, in one line."""
    problem: Any = error.errors()[0]
    name = str(problem["loc"][0]) if problem["loc"] else "a setting"
    field = Settings.model_fields.get(name)
    expected = field.description if field is not None and field.description else problem["msg"]
    return f"{name.upper()} must be {expected}, not {problem['input']!r}"
