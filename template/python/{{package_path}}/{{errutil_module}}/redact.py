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
from collections.abc import Iterable

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


class _Rules:
    """The compiled expressions of one Redactor."""

    __slots__ = (
        "assigned",
        "auth_scheme",
        "aws",
        "double_quoted",
        "extra",
        "jwt",
        "pem",
        "single_quoted",
        "userinfo",
        "words",
    )

    def __init__(self, keys: tuple[str, ...], patterns: tuple[str, ...]) -> None:
        words = sorted({key.lower() for key in keys}, key=len, reverse=True)
        name = _NAME.format(words="|".join(re.escape(word) for word in words))
        self.words = tuple(words)
        self.pem = re.compile(_PEM, re.ASCII)
        self.jwt = re.compile(_JWT, re.ASCII)
        self.aws = re.compile(_AWS, re.ASCII)
        self.userinfo = re.compile(_USERINFO, re.ASCII)
        self.auth_scheme = re.compile(_AUTH_SCHEME, re.ASCII)
        self.double_quoted = re.compile(_DOUBLE_QUOTED.format(name=name), re.ASCII | re.I)
        self.single_quoted = re.compile(_SINGLE_QUOTED.format(name=name), re.ASCII | re.I)
        self.assigned = re.compile(_ASSIGNED.format(name=name), re.ASCII | re.I)
        self.extra = tuple(re.compile(pattern) for pattern in patterns)


class Redactor:
    """Applies the rules above, with extra *keys* and *patterns*; compiled at the first call."""

    __slots__ = ("_keys", "_patterns", "_rules")

    def __init__(self, keys: Iterable[str] = (), patterns: Iterable[str] = ()) -> None:
        self._keys = (*DEFAULT_KEYS, *keys)
        self._patterns = tuple(patterns)
        self._rules: _Rules | None = None

    def __call__(self, text: str) -> str:
        rules = self._rules
        if rules is None:  # two threads may both compile: the same result, no lock needed
            rules = self._rules = _Rules(self._keys, self._patterns)
        # Each expression runs only when a substring it needs is there: a message without
        # secrets costs about a dozen substring scans and one lower().
        if "-----BEGIN" in text:
            text = rules.pem.sub(MARK, text)
        if "eyJ" in text:
            text = rules.jwt.sub(MARK, text)
        if "AKIA" in text or "ASIA" in text:
            text = rules.aws.sub(MARK, text)
        if "://" in text:
            text = rules.userinfo.sub(rf"\1{MARK}@", text)
        if "earer" in text or "asic" in text or "EARER" in text or "ASIC" in text:
            text = rules.auth_scheme.sub(rf"\1\2{MARK}", text)
        if ("=" in text or ":" in text) and _has_word(text.lower(), rules.words):
            if '"' in text:
                text = rules.double_quoted.sub(rf'\1"{MARK}"', text)
            if "'" in text:
                text = rules.single_quoted.sub(rf"\1'{MARK}'", text)
            if "=" in text:
                text = rules.assigned.sub(rf"\1{MARK}", text)
        for pattern in rules.extra:
            text = pattern.sub(MARK, text)
        return text


def _has_word(lowered: str, words: tuple[str, ...]) -> bool:
    for word in words:  # noqa: SIM110 - faster than any() over a generator, on every crash
        if word in lowered:
            return True
    return False


_default = Redactor()


def redact(text: str) -> str:
    """*text* with the secrets the default rules know replaced by ``[REDACTED]``."""
    return _default(text)
