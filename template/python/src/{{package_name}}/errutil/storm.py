"""Repeat suppression: one crash in a loop must not flood the logs.

The first report of a fingerprint is logged in full. Repeats within the window are
counted; a one-line summary is logged when the count reaches 10, 100, 1000, ... and when
the next repeat arrives after the window (which then starts a new window with a full
report). A new fingerprint is never suppressed. (A repeat inside a request still gets a
one-line mention from emit.py, so the client's error_id can be found.)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

__all__ = ["Decision", "RepeatTracker"]


class Decision:
    """What to log for one crash: the full report or not, and a repeat summary before it or not."""

    __slots__ = ("full", "summary_count", "summary_seconds")

    def __init__(self, full: bool, summary_count: int = 0, summary_seconds: float = 0.0) -> None:
        self.full = full
        self.summary_count = summary_count  # repeats to summarise now (0: none)
        self.summary_seconds = summary_seconds  # over how long they happened


class _Entry:
    __slots__ = ("label", "last_summary", "repeats", "started")

    def __init__(self, started: float, label: str) -> None:
        self.label = label
        self.started = started
        self.repeats = 0
        self.last_summary = 0


class RepeatTracker:
    """Thread-safe per-fingerprint counters; *clock* is injectable for tests."""

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, max_fingerprints: int = 1000
    ) -> None:
        self._clock = clock
        self._max = max_fingerprints
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def decide(self, fingerprint: str, window: float, label: str = "") -> Decision:
        if window <= 0:
            return Decision(full=True)
        now = self._clock()
        with self._lock:
            entry = self._entries.get(fingerprint)
            if entry is None or now - entry.started >= window:
                pending = entry.repeats - entry.last_summary if entry is not None else 0
                seconds = now - entry.started if entry is not None else 0.0
                self._entries.pop(fingerprint, None)
                if len(self._entries) >= self._max:  # forget the oldest fingerprint
                    self._entries.pop(next(iter(self._entries)))
                self._entries[fingerprint] = _Entry(now, label)
                return Decision(True, pending, seconds)
            entry.repeats += 1
            if _is_milestone(entry.repeats):
                pending = entry.repeats - entry.last_summary
                entry.last_summary = entry.repeats
                return Decision(False, pending, now - entry.started)
            return Decision(False)

    def drain(self) -> list[tuple[str, str, int, float]]:
        """(fingerprint, label, unsummarised repeats, seconds) for each fingerprint; resets them."""
        now = self._clock()
        with self._lock:
            out = [
                (fp, e.label, e.repeats - e.last_summary, now - e.started)
                for fp, e in self._entries.items()
                if e.repeats > e.last_summary
            ]
            for entry in self._entries.values():
                entry.last_summary = entry.repeats
            return out


def _is_milestone(count: int) -> bool:
    if count < 10:
        return False
    while count % 10 == 0:
        count //= 10
    return count == 1
