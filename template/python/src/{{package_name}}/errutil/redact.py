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

The patterns are precompiled, ASCII-only and free of look-arounds and back-references (the
Go side uses the same expressions with RE2), and each is tried only when a cheap substring
test says it could match, so a message without secrets costs a few substring scans.
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

_FLAGS = re.ASCII
_PEM = re.compile(
    r"-----BEGIN[A-Z ]*PRIVATE KEY-----(?:[\s\S]*?-----END[A-Z ]*PRIVATE KEY-----|[\s\S]*)", _FLAGS
)
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*", _FLAGS)
_AWS = re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b", _FLAGS)
_USERINFO = re.compile(r"\b([A-Za-z][A-Za-z0-9+.-]*://)[^\s/?#@]+@", _FLAGS)
_AUTH_SCHEME = re.compile(
    r"\b(Bearer|bearer|BEARER|Basic|basic|BASIC)(\s+)[A-Za-z0-9._~+/=-]{8,}", _FLAGS
)

_Rule = tuple[Callable[[str], bool], "re.Pattern[str]", str]


def _key_rules(keys: Iterable[str]) -> list[_Rule]:
    words = "|".join(re.escape(key) for key in sorted(set(keys), key=len, reverse=True))
    name = rf"[\w.-]*(?:{words})[\w.-]*"
    double = re.compile(rf'("{name}"\s*:\s*)(?:"(?:[^"\\]|\\.)*"|[^\s,}}\]]+)', _FLAGS | re.I)
    single = re.compile(rf"('{name}'\s*:\s*)(?:'(?:[^'\\]|\\.)*'|[^\s,}}\]]+)", _FLAGS | re.I)
    assign = re.compile(rf"\b({name}\s*=\s*)(?:\"[^\"]*\"|'[^']*'|[^\s&;,\"']+)", _FLAGS | re.I)
    return [
        (lambda text: '"' in text, double, rf'\1"{MARK}"'),
        (lambda text: "'" in text, single, rf"\1'{MARK}'"),
        (lambda text: "=" in text, assign, rf"\1{MARK}"),
    ]


class Redactor:
    """Applies the rules above; build one per configuration (compiling costs, calling does not)."""

    __slots__ = ("_rules",)

    def __init__(self, keys: Iterable[str] = (), patterns: Iterable[str] = ()) -> None:
        rules: list[_Rule] = [
            (lambda text: "-----BEGIN" in text, _PEM, MARK),
            (lambda text: "eyJ" in text, _JWT, MARK),
            (lambda text: "AKIA" in text or "ASIA" in text, _AWS, MARK),
            (lambda text: "://" in text, _USERINFO, rf"\1{MARK}@"),
            (_could_be_auth_scheme, _AUTH_SCHEME, rf"\1\2{MARK}"),
        ]
        rules += _key_rules((*DEFAULT_KEYS, *keys))
        rules += [(_always, re.compile(pattern), MARK) for pattern in patterns]
        self._rules = tuple(rules)

    def __call__(self, text: str) -> str:
        for could_match, pattern, replacement in self._rules:
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
