"""Redaction: secrets in exception messages never reach a log line or a metric.

Applied to every message of a report (the exception, its causes, ExceptionGroup leaves)
before anything is logged or counted. What is replaced by ``[REDACTED]``, in this order:

- PEM private key blocks (``-----BEGIN ... PRIVATE KEY-----`` to its END line, or to the
  end of a cut message);
- JSON Web Tokens (``eyJ...``.``eyJ...``.``...``) and AWS access key ids (``AKIA``/``ASIA`` + 16);
- URL userinfo: ``scheme://user:pass@host`` becomes ``scheme://[REDACTED]@host``;
- ``Bearer``/``Basic`` credentials of 8 characters or more (the word as written, in lower
  or upper case);
- ``"key": "value"`` / ``'key': 'value'`` and ``key=value`` where the key contains one of
  the secret words (password, passwd, secret, token, api_key, apikey, access_key,
  authorization, cookie, session, and those added with ``configure(redact_keys=...)``);
- anything matching a pattern added with ``configure(redact_patterns=...)``.

The patterns are ASCII-only and free of look-arounds and back-references (the Go side uses
the same expressions with RE2). They are compiled once, at the first message (compiling
them at import would cost milliseconds of every service's start-up), and each is tried
only when a cheap substring test says it could match, so a message without secrets costs a
few substring scans.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

__all__ = ["DEFAULT_KEYS", "MARK", "Redactor", "redact"]

MARK = "[REDACTED]"
DEFAULT_KEYS = (
    "password",
    "passwd",
    "secret",
    "token",
    "api_key",
    "apikey",
    "access_key",
    "authorization",
    "cookie",
    "session",
)

_PEM = r"-----BEGIN[A-Z ]*PRIVATE KEY-----(?:[\s\S]*?-----END[A-Z ]*PRIVATE KEY-----|[\s\S]*)"
_JWT = r"\beyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"
_AWS = r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"
_USERINFO = r"\b([A-Za-z][A-Za-z0-9+.-]*://)[^\s/?#@]+@"
_AUTH_SCHEME = r"\b(Bearer|bearer|BEARER|Basic|basic|BASIC)(\s+)[A-Za-z0-9._~+/=-]{8,}"
# The key rules: {name} is any word holding a secret key ("db_password", "X-Api-Key").
_NAME = r"[\w.-]*(?:{words})[\w.-]*"
_DOUBLE_QUOTED = r'("{name}"\s*:\s*)(?:"(?:[^"\\]|\\.)*"|[^\s,}}\]]+)'
_SINGLE_QUOTED = r"('{name}'\s*:\s*)(?:'(?:[^'\\]|\\.)*'|[^\s,}}\]]+)"
_ASSIGNED = r"""\b({name}\s*=\s*)(?:"[^"]*"|'[^']*'|[^\s&;,"']+)"""

_Rule = tuple[Callable[[str], bool], "re.Pattern[str]", str]


def _compile(keys: tuple[str, ...], patterns: tuple[str, ...]) -> tuple[_Rule, ...]:
    words = "|".join(re.escape(key) for key in sorted(set(keys), key=len, reverse=True))
    name = _NAME.format(words=words)

    def ascii_re(pattern: str, flags: int = 0) -> re.Pattern[str]:
        return re.compile(pattern, re.ASCII | flags)

    return (
        (lambda text: "-----BEGIN" in text, ascii_re(_PEM), MARK),
        (lambda text: "eyJ" in text, ascii_re(_JWT), MARK),
        (lambda text: "AKIA" in text or "ASIA" in text, ascii_re(_AWS), MARK),
        (lambda text: "://" in text, ascii_re(_USERINFO), rf"\1{MARK}@"),
        (_could_be_auth_scheme, ascii_re(_AUTH_SCHEME), rf"\1\2{MARK}"),
        (
            lambda text: '"' in text,
            ascii_re(_DOUBLE_QUOTED.format(name=name), re.IGNORECASE),
            rf'\1"{MARK}"',
        ),
        (
            lambda text: "'" in text,
            ascii_re(_SINGLE_QUOTED.format(name=name), re.IGNORECASE),
            rf"\1'{MARK}'",
        ),
        (
            lambda text: "=" in text,
            ascii_re(_ASSIGNED.format(name=name), re.IGNORECASE),
            rf"\1{MARK}",
        ),
        *((_always, re.compile(pattern), MARK) for pattern in patterns),
    )


class Redactor:
    """Applies the rules above, with extra *keys* and *patterns*; compiled at the first call."""

    __slots__ = ("_keys", "_patterns", "_rules")

    def __init__(self, keys: Iterable[str] = (), patterns: Iterable[str] = ()) -> None:
        self._keys = (*DEFAULT_KEYS, *keys)
        self._patterns = tuple(patterns)
        self._rules: tuple[_Rule, ...] | None = None

    def __call__(self, text: str) -> str:
        rules = self._rules
        if rules is None:  # two threads may both compile: the same result, no lock needed
            rules = self._rules = _compile(self._keys, self._patterns)
        for could_match, pattern, replacement in rules:
            if could_match(text):
                text = pattern.sub(replacement, text)
        return text


def _could_be_auth_scheme(text: str) -> bool:
    return "earer" in text or "asic" in text or "EARER" in text or "ASIC" in text


def _always(text: str) -> bool:
    return True


_default = Redactor()


def redact(text: str) -> str:
    """*text* with the secrets the default rules know replaced by ``[REDACTED]``."""
    return _default(text)
