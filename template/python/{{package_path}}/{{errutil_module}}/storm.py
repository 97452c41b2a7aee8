"""Storm control: a crash in a loop, or thousands of different crashes, must not flood the logs.

Two limits, both per window:

- **Repeats.** The first report of a fingerprint is logged in full. Repeats within
  ``repeat_window`` are counted; when that window ends (noticed at the next crash, or on
  `flush`: process exit, SIGTERM) one ``crash_repeated`` summary per fingerprint is logged.
- **Budget.** At most ``report_budget`` full reports per ``budget_window``, across all
  fingerprints. A new fingerprint beyond the budget gets a one-line record carrying its
  error_id and fingerprint (so an id a client quotes is still found); its repeats are counted.

Memory is bounded: at most *max_fingerprints* are tracked; the oldest window is closed
(summary logged) to make room. The crash that ends the process (``force``) is always full.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

__all__ = ["BRIEF", "FULL", "REPEAT", "Decision", "RepeatTracker", "Summary"]

FULL = "full"  # log the whole report
REPEAT = "repeat"  # counted; a request still gets a one-line mention with its error_id
BRIEF = "brief"  # over the budget: a one-line record with error_id and fingerprint

Summary = tuple[str, str, int, float]  # fingerprint, label (error type), repeats, seconds


class Decision:
    """What to log for one crash, and the repeat summaries of windows that ended before it."""

    __slots__ = ("kind", "summaries")

    def __init__(self, kind: str, summaries: list[Summary] | None = None) -> None:
        self.kind = kind
        self.summaries: list[Summary] = summaries or []

    @property
    def full(self) -> bool:
        return self.kind == FULL


class _Entry:
    __slots__ = ("label", "repeats", "started")

    def __init__(self, started: float, label: str) -> None:
        self.label = label
        self.started = started
        self.repeats = 0


class RepeatTracker:
    """Thread-safe repeat windows and report budget; *clock* is injectable for tests."""

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, max_fingerprints: int = 1000
    ) -> None:
        self._clock = clock
        self._max = max_fingerprints
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}  # in window-start order: the oldest first
        self._budget_started = float("-inf")
        self._budget_used = 0

    def __len__(self) -> int:
        return len(self._entries)

    def decide(
        self,
        fingerprint: str,
        window: float,
        label: str = "",
        *,
        budget: int = 0,
        budget_window: float = 60.0,
        force: bool = False,
    ) -> Decision:
        """Full, repeat or brief for one crash; *budget* 0 means no budget, *window* 0 no
        repeat counting; *force* (the crash that ends the process) is always full."""
        now = self._clock()
        with self._lock:
            summaries = self._close_ended(now, window)
            entry = self._entries.get(fingerprint) if window > 0 else None
            if entry is not None and not force:
                entry.repeats += 1
                return Decision(REPEAT, summaries)
            if now - self._budget_started >= budget_window:
                self._budget_started, self._budget_used = now, 0
            within = budget <= 0 or self._budget_used < budget
            if within or force:
                self._budget_used += 1
            if window > 0 and entry is None:
                if len(self._entries) >= self._max:
                    summaries += self._evict_oldest(now)
                self._entries[fingerprint] = _Entry(now, label)
            return Decision(FULL if within or force else BRIEF, summaries)

    def drain(self) -> list[Summary]:
        """The repeats not yet summarised, one per fingerprint; their windows are closed."""
        now = self._clock()
        with self._lock:
            out = [
                (fp, e.label, e.repeats, now - e.started)
                for fp, e in self._entries.items()
                if e.repeats
            ]
            self._entries.clear()
            return out

    def reset(self) -> None:
        """Forget everything and take a new lock: in a forked child, whose parent may have
        held the lock while forking, and whose crashes are not repeats of the parent's."""
        self._lock = threading.Lock()
        self._entries = {}
        self._budget_started = float("-inf")
        self._budget_used = 0

    def _close_ended(self, now: float, window: float) -> list[Summary]:
        out: list[Summary] = []
        entries = self._entries
        while entries:
            fingerprint, entry = next(iter(entries.items()))
            if window > 0 and now - entry.started < window:
                break
            del entries[fingerprint]
            if entry.repeats:
                out.append((fingerprint, entry.label, entry.repeats, now - entry.started))
        return out

    def _evict_oldest(self, now: float) -> list[Summary]:
        fingerprint, entry = next(iter(self._entries.items()))
        del self._entries[fingerprint]
        if not entry.repeats:
            return []
        return [(fingerprint, entry.label, entry.repeats, now - entry.started)]
