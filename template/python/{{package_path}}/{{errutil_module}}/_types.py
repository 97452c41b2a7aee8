"""The values a crash report is made of: plain records, no behaviour but rendering.

They are hand-written ``__slots__`` classes, not dataclasses: importing ``dataclasses``
(and the ``inspect`` machinery it pulls in) took 7-20 ms on Python 3.11 with logging already
loaded, several times errutil's whole import budget (``make bench`` prints it), and a frozen
slotted dataclass took 3x as long to build as `Frame` (4.9 against 1.6 us), a cost the crash
path pays per frame. They are read-only by
convention, not enforced: errutil builds them once and never changes them, and it shares
`Frame` tuples between reports of the same stack (report.py's walk cache), so code that
receives one must not assign to its attributes either.

Rendering lives in ``render`` (pure functions over these records); this module calls down
into it and ``render`` imports nothing of errutil at run time.
"""

from __future__ import annotations

from collections.abc import Mapping

from . import render as _render

__all__ = ["CrashReport", "ErrorInfo", "Frame"]


class Frame:
    """One kept stack frame: where (file relative to its package root, line) and in what."""

    __slots__ = ("file", "function", "library", "line", "path", "repeated")

    def __init__(
        self,
        file: str,
        line: int,
        function: str,
        *,
        library: bool = False,
        repeated: int = 1,
        path: str = "",
    ) -> None:
        # report._frames sets these same fields without calling __init__: keep the two alike.
        self.file = file
        self.path = path or file  # the file as the interpreter knows it (for source lines)
        self.line = line
        self.function = function
        self.library = library  # a library frame kept because the exception was raised there
        self.repeated = repeated  # > 1 when recursion repeated this frame, collapsed into one

    def __repr__(self) -> str:
        return f"Frame({self.file!r}, {self.line}, {self.function!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Frame):
            return NotImplemented
        return (self.file, self.line, self.function, self.library, self.repeated) == (
            other.file,
            other.line,
            other.function,
            other.library,
            other.repeated,
        )

    def __hash__(self) -> int:
        return hash((self.file, self.line, self.function))


class ErrorInfo:
    """One exception: its type, message, kept frames (innermost first) and what it links to."""

    __slots__ = (
        "cause",
        "frames",
        "hidden",
        "implicit",
        "leaves",
        "leaves_hidden",
        "message",
        "type",
    )

    def __init__(
        self,
        type: str,
        message: str,
        frames: tuple[Frame, ...],
        hidden: int,
        *,
        cause: ErrorInfo | None = None,
        implicit: bool = False,
        leaves: tuple[ErrorInfo, ...] = (),
        leaves_hidden: int = 0,
    ) -> None:
        self.type = type
        self.message = message
        self.frames = frames
        self.hidden = hidden  # frames not shown (library, framework, __tracebackhide__)
        self.cause = cause  # the chained exception (__cause__, or __context__ when implicit)
        self.implicit = implicit  # True: cause came from __context__ ("while handling")
        self.leaves = leaves  # sub-exceptions of an ExceptionGroup, capped
        self.leaves_hidden = leaves_hidden  # sub-exceptions beyond the cap

    @property
    def raise_site(self) -> Frame | None:
        return self.frames[0] if self.frames else None

    def __repr__(self) -> str:
        return f"ErrorInfo({self.type!r}, {self.message!r}, {len(self.frames)} frames)"


class CrashReport:
    """Everything logged about one crash; `to_dict` is the JSON shape, `text` the short form."""

    __slots__ = ("context", "error", "error_id", "fallback", "fingerprint", "http", "origin")

    def __init__(
        self,
        error: ErrorInfo,
        error_id: str,
        fingerprint: str,
        origin: str,
        *,
        http: Mapping[str, object] | None = None,
        context: Mapping[str, str] | None = None,
        fallback: str | None = None,
    ) -> None:
        self.error = error
        self.error_id = error_id
        self.fingerprint = fingerprint
        self.origin = origin
        self.http = http
        self.context: Mapping[str, str] = context or {}  # thread, task, trace_id, span_id, ...
        self.fallback = fallback  # the standard traceback, when errutil failed to analyse it

    def to_dict(self) -> dict[str, object]:
        """The JSON form: the fields of one log line."""
        return _render.report_dict(self)

    def text(self, *, show_id: bool = True, source: bool = False) -> str:
        """The short text form, innermost frame first."""
        return _render.report_text(self, show_id=show_id, source=source)

    def __str__(self) -> str:
        return self.text()

    def __repr__(self) -> str:
        return (
            f"CrashReport({self.error.type!r}, error_id={self.error_id!r}, origin={self.origin!r})"
        )
