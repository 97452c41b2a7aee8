"""Settings shared by every part of errutil, changed only through `configure`."""

from __future__ import annotations

import re
from collections.abc import Iterable

from ._app_packages import APP_PACKAGES
from .redact import Redactor

__all__ = ["Config", "configure", "current", "default_app_packages", "use"]

_UNSET: object = object()


def default_app_packages() -> tuple[str, ...]:
    """The package that contains errutil, and the repository's other packages and modules.

    A repository errutil was added to may have several packages and root modules (a `main.py`
    that uvicorn serves beside a `lib/` package): all of them are the app's code.
    """
    errutil_package = __name__.rpartition(".")[0]
    parent = errutil_package.rpartition(".")[0]
    return tuple(dict.fromkeys(((parent,) if parent else ()) + APP_PACKAGES))


def _strings(label: str, values: Iterable[str]) -> tuple[str, ...]:
    if isinstance(values, str):
        raise TypeError(f"{label} must be a list of strings, not one string")
    out = tuple(values)
    if not all(isinstance(value, str) and value for value in out):
        raise ValueError(f"{label} must hold non-empty strings, got {out!r}")
    return out


class Config:
    """Immutable settings; `configure` swaps in a new instance.

    app_packages: module-name prefixes whose frames are the app's (``name == p`` or
        ``name.startswith(p + ".")``); everything else is hidden and counted.
    max_message: characters of an exception message kept; the rest is cut and the cut shown.
    repeat_window: seconds during which repeats of one fingerprint are counted, not logged
        again in full; 0 logs every crash in full.
    report_budget / budget_window: at most *report_budget* full reports per *budget_window*
        seconds, across all fingerprints; beyond it a crash gets a one-line record (event
        ``crash_over_budget``) with its error_id and fingerprint. 0 turns the budget off.
    redact_keys: words, besides the built-in ones (password, token, ...), whose
        ``key=value`` / ``"key": "value"`` values are redacted from messages.
    redact_patterns: regular expressions whose matches are redacted from messages.
    logger_name: stdlib logger that receives every report.
    max_chain / max_group_width / max_group_depth: caps on causes and ExceptionGroup leaves.
    """

    __slots__ = (
        "app_packages",
        "budget_window",
        "logger_name",
        "max_chain",
        "max_group_depth",
        "max_group_width",
        "max_message",
        "redact_keys",
        "redact_patterns",
        "redactor",
        "repeat_window",
        "report_budget",
    )
    # What replace() copies: every setting, not the redactor built from two of them.
    _FIELDS = tuple(name for name in __slots__ if name != "redactor")

    def __init__(
        self,
        app_packages: Iterable[str] | None = None,
        *,
        max_message: int = 2000,
        repeat_window: float = 60.0,
        logger_name: str = "errutil",
        max_chain: int = 8,
        max_group_width: int = 10,
        max_group_depth: int = 4,
        report_budget: int = 100,
        budget_window: float = 60.0,
        redact_keys: Iterable[str] = (),
        redact_patterns: Iterable[str] = (),
    ) -> None:
        if isinstance(app_packages, str):
            raise TypeError("app_packages must be a list of package names, not one string")
        packages = default_app_packages() if app_packages is None else tuple(app_packages)
        for name in packages:
            if not isinstance(name, str) or not name or name.startswith(".") or name.endswith("."):
                raise ValueError(f"app_packages: {name!r} is not a dotted module name")
        for label, value in (
            ("max_message", max_message),
            ("max_chain", max_chain),
            ("max_group_width", max_group_width),
            ("max_group_depth", max_group_depth),
        ):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{label} must be a positive integer, got {value!r}")
        if not isinstance(repeat_window, (int, float)) or repeat_window < 0:
            raise ValueError(
                f"repeat_window must be a number of seconds >= 0, got {repeat_window!r}"
            )
        if not isinstance(report_budget, int) or report_budget < 0:
            raise ValueError(f"report_budget must be an integer >= 0, got {report_budget!r}")
        if not isinstance(budget_window, (int, float)) or budget_window <= 0:
            raise ValueError(
                f"budget_window must be a number of seconds > 0, got {budget_window!r}"
            )
        keys = _strings("redact_keys", redact_keys)
        patterns = _strings("redact_patterns", redact_patterns)
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as error:
                raise ValueError(
                    f"redact_patterns: {pattern!r} is not a regular expression: {error}"
                ) from None
        self.app_packages: tuple[str, ...] = packages
        self.max_message = max_message
        self.repeat_window = float(repeat_window)
        self.logger_name = logger_name
        self.max_chain = max_chain
        self.max_group_width = max_group_width
        self.max_group_depth = max_group_depth
        self.report_budget = report_budget
        self.budget_window = float(budget_window)
        self.redact_keys = keys
        self.redact_patterns = patterns
        self.redactor = Redactor(keys, patterns)

    def replace(self, **changes: object) -> Config:
        values: dict[str, object] = {name: getattr(self, name) for name in self._FIELDS}
        values.update(changes)
        app_packages = values.pop("app_packages")
        return Config(app_packages, **values)  # type: ignore[arg-type]


_current = Config()


def current() -> Config:
    """The settings in force."""
    return _current


def configure(
    app_packages: Iterable[str] | object = _UNSET,
    *,
    max_message: int | object = _UNSET,
    repeat_window: float | object = _UNSET,
    logger_name: str | object = _UNSET,
    max_chain: int | object = _UNSET,
    max_group_width: int | object = _UNSET,
    max_group_depth: int | object = _UNSET,
    report_budget: int | object = _UNSET,
    budget_window: float | object = _UNSET,
    redact_keys: Iterable[str] | object = _UNSET,
    redact_patterns: Iterable[str] | object = _UNSET,
) -> Config:
    """Change some settings, keep the others; a bad value raises before anything changes."""
    global _current  # noqa: PLW0603 - one process-wide setting, swapped whole
    given = {
        "app_packages": app_packages,
        "max_message": max_message,
        "repeat_window": repeat_window,
        "logger_name": logger_name,
        "max_chain": max_chain,
        "max_group_width": max_group_width,
        "max_group_depth": max_group_depth,
        "report_budget": report_budget,
        "budget_window": budget_window,
        "redact_keys": redact_keys,
        "redact_patterns": redact_patterns,
    }
    changes = {key: value for key, value in given.items() if value is not _UNSET}
    _current = _current.replace(**changes)
    return _current


def use(config: Config) -> Config:
    """Put *config* in force whole and return the settings it replaces (tests restore those)."""
    global _current
    if not isinstance(config, Config):
        raise TypeError(f"use() needs a Config, got {type(config).__name__}")
    previous, _current = _current, config
    return previous
